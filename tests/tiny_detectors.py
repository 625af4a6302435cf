"""Tiny random-weight detectors and segmenters, built from configs for the tests.

Each builder writes what a user's checkpoint folder or file holds (``save_pretrained`` output,
a ``.pth`` state dict, a GroundingDINO config file) so that the tests load them through the
same code path real checkpoints take. Tokenizers are built locally from small word lists.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

WORDS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", "?", "a", "the", "dog", "cat",
         "bed", "cup", "person", "table", "dining", "bowl", "teddy", "bear", "red", "blue",
         "helmet", "flag", "rocket", "car", "bird", "spoon", "cake", "laptop"]


def bert_tokenizer():
    from transformers import BertTokenizerFast
    return BertTokenizerFast(vocab={w: i for i, w in enumerate(WORDS)}, do_lower_case=True)


def build_grounding_dino(folder: Path) -> Path:
    """A tiny transformers GroundingDINO (Swin backbone, 1-layer BERT) and its processor."""
    import torch
    from transformers import (BertConfig, GroundingDinoConfig, GroundingDinoForObjectDetection,
                              GroundingDinoImageProcessor, GroundingDinoProcessor, SwinConfig)

    torch.manual_seed(0)
    cfg = GroundingDinoConfig(
        backbone_config=SwinConfig(embed_dim=16, depths=[1, 1, 1, 1], num_heads=[1, 1, 1, 1],
                                   window_size=4, image_size=64,
                                   out_features=["stage2", "stage3", "stage4"]),
        text_config=BertConfig(vocab_size=len(WORDS), hidden_size=32, num_hidden_layers=1,
                               num_attention_heads=2, intermediate_size=64,
                               max_position_embeddings=64),
        num_queries=12, encoder_layers=1, decoder_layers=2, encoder_ffn_dim=32,
        decoder_ffn_dim=32, d_model=32, encoder_attention_heads=2, decoder_attention_heads=2,
        max_text_len=32, num_feature_levels=4)
    model = GroundingDinoForObjectDetection(cfg).eval()
    proc = GroundingDinoProcessor(
        image_processor=GroundingDinoImageProcessor(size={"shortest_edge": 64,
                                                          "longest_edge": 96}),
        tokenizer=bert_tokenizer())
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    proc.save_pretrained(folder)
    return folder


def _clip_vocab(words=("dog", "cat", "bed", "cup", "person", "helmet", "flag")):
    chars = list("abcdefghijklmnopqrstuvwxyz.")
    vocab: dict[str, int] = {}
    for c in chars:
        vocab[c] = len(vocab)
    for c in chars:
        vocab[c + "</w>"] = len(vocab)
    merges = []
    for w in words:
        pieces = list(w[:-1]) + [w[-1] + "</w>"]
        while len(pieces) > 1:
            a, b = pieces[0], pieces[1]
            if (a, b) not in merges:
                merges.append((a, b))
            vocab.setdefault(a + b, len(vocab))
            pieces = [a + b] + pieces[2:]
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    return vocab, merges


def build_owlv2(folder: Path) -> Path:
    """A tiny OWLv2 with a tiny CLIP BPE tokenizer."""
    import torch
    from transformers import (CLIPTokenizer, Owlv2Config, Owlv2ForObjectDetection,
                              Owlv2ImageProcessor, Owlv2Processor)

    torch.manual_seed(0)
    vocab, merges = _clip_vocab()
    tok = CLIPTokenizer(vocab=vocab, merges=merges)
    eot = vocab["<|endoftext|>"]
    cfg = Owlv2Config(
        text_config=dict(vocab_size=len(vocab), hidden_size=32, intermediate_size=64,
                         num_hidden_layers=1, num_attention_heads=2, max_position_embeddings=16,
                         bos_token_id=vocab["<|startoftext|>"], eos_token_id=eot,
                         pad_token_id=eot),
        vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                           num_attention_heads=2, image_size=64, patch_size=16),
        projection_dim=32)
    model = Owlv2ForObjectDetection(cfg).eval()
    proc = Owlv2Processor(image_processor=Owlv2ImageProcessor(size={"height": 64, "width": 64}),
                          tokenizer=tok)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    proc.save_pretrained(folder)
    return folder


def build_hf_sam(folder: Path) -> Path:
    """A tiny transformers SAM (64 x 64 input) and its processor."""
    import torch
    from transformers import SamConfig, SamImageProcessor, SamModel, SamProcessor

    torch.manual_seed(0)
    cfg = SamConfig(
        vision_config=dict(hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                           image_size=64, patch_size=16, output_channels=16, mlp_dim=64,
                           global_attn_indexes=[0], window_size=2, num_pos_feats=8),
        prompt_encoder_config=dict(hidden_size=16, image_size=64, image_embedding_size=4,
                                   mask_input_channels=4),
        mask_decoder_config=dict(hidden_size=16, mlp_dim=32, num_hidden_layers=1,
                                 num_attention_heads=2, iou_head_hidden_dim=16))
    model = SamModel(cfg).eval()
    proc = SamProcessor(image_processor=SamImageProcessor(size={"longest_edge": 64},
                                                          pad_size={"height": 64, "width": 64}))
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    proc.save_pretrained(folder)
    return folder


def build_sam_checkpoint(path: Path) -> Path:
    """A segment-anything checkpoint with a tiny image encoder (dim 64, depth 2, 1 global
    attention block), built by segment-anything's own ``_build_sam``."""
    import torch
    from segment_anything.build_sam import _build_sam

    torch.manual_seed(0)
    sam = _build_sam(encoder_embed_dim=64, encoder_depth=2, encoder_num_heads=2,
                     encoder_global_attn_indexes=[1])
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(sam.state_dict(), path)
    return path


GDINO_CONFIG = """batch_size = 1
modelname = "groundingdino"
backbone = "swin_T_224_1k"
position_embedding = "sine"
pe_temperatureH = 20
pe_temperatureW = 20
return_interm_indices = [1, 2, 3]
backbone_freeze_keywords = None
enc_layers = 1
dec_layers = 1
pre_norm = False
dim_feedforward = 64
hidden_dim = 256
dropout = 0.0
nheads = 8
num_queries = 20
query_dim = 4
num_patterns = 0
num_feature_levels = 4
enc_n_points = 2
dec_n_points = 2
two_stage_type = "standard"
two_stage_bbox_embed_share = False
two_stage_class_embed_share = False
transformer_activation = "relu"
dec_pred_bbox_embed_share = True
dn_box_noise_scale = 1.0
dn_label_noise_ratio = 0.5
dn_label_coef = 1.0
dn_bbox_coef = 1.0
embed_init_tgt = True
dn_labelbook_size = 2000
max_text_len = 256
text_encoder_type = "bert-base-uncased"
use_text_enhancer = True
use_fusion_layer = True
use_checkpoint = False
use_transformer_ckpt = False
use_text_cross_attention = True
text_dropout = 0.0
fusion_dropout = 0.0
fusion_droppath = 0.1
sub_sentence_present = True
"""


def build_gdino_py(folder: Path, *, bert_weights: bool = False) -> tuple[Path, Path, Path]:
    """A GroundingDINO (groundingdino-py) config with 1 encoder/decoder layer, a tiny local
    BERT folder (config + tokenizer; weights only when ``bert_weights``), and a checkpoint
    ``{"model": state_dict}`` saved in half precision to keep it small.

    Returns ``(config, checkpoint, text encoder folder)``.
    """
    import torch
    from transformers import BertConfig, BertModel

    from halluscope.evidence.detect_gdino import build_model

    torch.manual_seed(0)
    folder.mkdir(parents=True, exist_ok=True)
    bert = folder / "bert"
    bert.mkdir(exist_ok=True)
    bert_tokenizer().save_pretrained(bert)
    bcfg = BertConfig(vocab_size=len(WORDS), hidden_size=32, num_hidden_layers=1,
                      num_attention_heads=2, intermediate_size=64, max_position_embeddings=300)
    if bert_weights:
        BertModel(bcfg).save_pretrained(bert)
    else:
        bcfg.save_pretrained(bert)
    cfg = folder / "GroundingDINO_tiny.py"
    cfg.write_text(GDINO_CONFIG)
    model, _ = build_model(cfg, str(bert))
    ckpt = folder / "groundingdino_tiny.pth"
    torch.save({"model": {k: v.half() if v.is_floating_point() else v
                          for k, v in model.state_dict().items()}}, ckpt)
    (folder / "meta.json").write_text(json.dumps({"words": WORDS}))
    return cfg, ckpt, bert


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path_factory, monkeypatch):
    """Keep the evidence cache and the weights-hash index out of the user's cache folder
    (import this name into a test module to use it there)."""
    monkeypatch.setenv("HALLUSCOPE_CACHE", str(tmp_path_factory.mktemp("hcache")))


@pytest.fixture(scope="module")
def owl_folder(tmp_path_factory):
    """A tiny OWLv2 folder, built once per test module (import this name to use it)."""
    pytest.importorskip("transformers")
    return build_owlv2(tmp_path_factory.mktemp("owl"))


def captioned_photos(tmp_path: Path, n: int) -> Path:
    """``n`` random 64 x 48 photos in ``tmp_path`` and an outputs file captioning each "A dog
    sits on a bed." (ids "0"...)."""
    import numpy as np
    from PIL import Image
    rng = np.random.default_rng(0)
    rows = []
    for i in range(n):
        Image.fromarray(rng.integers(0, 255, (48, 64, 3), np.uint8)).save(tmp_path / f"{i}.png")
        rows.append({"id": str(i), "image": f"{i}.png", "response": "A dog sits on a bed."})
    path = tmp_path / "out.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def as_if_cuda(monkeypatch, available: bool) -> None:
    """torch as on a machine with (or without) one CUDA GPU, for the device's resolution."""
    import torch
    monkeypatch.setattr(torch.cuda, "is_available", lambda: available)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: int(available))


def interrupted_audit(path: Path, **kw) -> None:
    """An audit of ``path`` stopped (Ctrl-C) after its second record, its journal left for a
    ``--resume``."""
    from halluscope.api import audit

    def stop(progress):
        if progress.done == 2:
            raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        audit(path, on_progress=stop, **kw)
    assert (kw["out"] / "items.journal.part").is_file()
