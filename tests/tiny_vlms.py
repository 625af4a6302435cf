"""Tiny random-weight vision-language models built from configs, for the local adapter tests.

Nothing comes from the hub: the tokenizer is a word-level ``tokenizers`` model wrapped in
``PreTrainedTokenizerFast`` with a ChatML-style chat template, the image processors are built from
their classes with small sizes, and everything is written with ``save_pretrained`` so that the
adapter loads it through the same ``from_pretrained`` path as a real model.
"""

from __future__ import annotations

import json
from pathlib import Path

WORDS = ("a an the is are there yes no unknown unsure in on of and with image picture photo dog "
         "cat person car what how many describe this that it to supported hallucinated "
         "verdict reason answer claim").split()
CHARS = list("abcdefghijklmnopqrstuvwxyz0123456789.,:;!?'\"()[]{}-_/")
KINDS = ("llava", "qwen2vl", "idefics3")

_CHAT = ("{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
         "{% if message['content'] is string %}{{ message['content'] }}{% else %}"
         "{% for c in message['content'] %}{% if c['type'] == 'image' %}IMAGE_MARK"
         "{% elif c['type'] == 'text' %}{{ c['text'] }}{% endif %}{% endfor %}{% endif %}"
         "<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


def make_tokenizer(specials: list[str], image_mark: str):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast
    vocab = {"[UNK]": 0, "[PAD]": 1}
    for w in WORDS + CHARS:
        vocab.setdefault(w, len(vocab))
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.decoder = decoders.WordPiece(prefix="##")
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]",
                                   eos_token="<|im_end|>")
    fast.add_special_tokens({"additional_special_tokens":
                             ["<|im_start|>", "<|im_end|>", "<|endoftext|>", *specials]})
    fast.chat_template = _CHAT.replace("IMAGE_MARK", image_mark)
    return fast


def _text_config(tok) -> dict:
    return dict(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=512,
                eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id, bos_token_id=None)


def _save(model, proc, tok, root: Path) -> Path:
    model.generation_config.eos_token_id = tok.eos_token_id
    model.generation_config.pad_token_id = tok.pad_token_id
    model.generation_config.bos_token_id = None
    model.save_pretrained(root)
    proc.save_pretrained(root)
    return root


def build_llava(root: Path) -> Path:
    import torch
    from transformers import (CLIPImageProcessor, CLIPVisionConfig, LlamaConfig, LlavaConfig,
                              LlavaForConditionalGeneration, LlavaProcessor)
    tok = make_tokenizer(["<image>"], "<image>\n")
    proc = LlavaProcessor(
        image_processor=CLIPImageProcessor(size={"shortest_edge": 28},
                                           crop_size={"height": 28, "width": 28}),
        tokenizer=tok, patch_size=14, vision_feature_select_strategy="default",
        num_additional_image_tokens=1, chat_template=tok.chat_template)
    vision = CLIPVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                              num_attention_heads=2, image_size=28, patch_size=14,
                              projection_dim=32)
    cfg = LlavaConfig(vision_config=vision.to_dict(),
                      text_config=LlamaConfig(**_text_config(tok)).to_dict(),
                      image_token_index=tok.convert_tokens_to_ids("<image>"),
                      image_seq_length=4)
    torch.manual_seed(0)
    return _save(LlavaForConditionalGeneration(cfg), proc, tok, root)


def build_qwen2vl(root: Path) -> Path:
    import torch
    from transformers import (Qwen2VLConfig, Qwen2VLForConditionalGeneration,
                              Qwen2VLImageProcessor, Qwen2VLProcessor, Qwen2VLVideoProcessor)
    sp = ["<|vision_start|>", "<|vision_end|>", "<|image_pad|>", "<|video_pad|>"]
    tok = make_tokenizer(sp, "<|vision_start|><|image_pad|><|vision_end|>")
    size = dict(min_pixels=56 * 56, max_pixels=56 * 56, patch_size=14, merge_size=2,
                temporal_patch_size=2)
    proc = Qwen2VLProcessor(image_processor=Qwen2VLImageProcessor(**size), tokenizer=tok,
                            video_processor=Qwen2VLVideoProcessor(**size),
                            chat_template=tok.chat_template)
    ids = {t: tok.convert_tokens_to_ids(t) for t in sp}
    text = _text_config(tok) | {"rope_parameters": {"rope_type": "default",
                                                    "rope_theta": 10000.0,
                                                    "mrope_section": [2, 3, 3]}}
    cfg = Qwen2VLConfig(
        text_config=text,
        vision_config=dict(depth=1, embed_dim=32, hidden_size=32, num_heads=2, mlp_ratio=2,
                           patch_size=14, spatial_merge_size=2, temporal_patch_size=2,
                           in_channels=3),
        image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"])
    torch.manual_seed(0)
    return _save(Qwen2VLForConditionalGeneration(cfg), proc, tok, root)


def build_idefics3(root: Path) -> Path:
    import torch
    from transformers import (Idefics3Config, Idefics3ForConditionalGeneration,
                              Idefics3ImageProcessor, Idefics3Processor)
    sp = (["<fake_token_around_image>", "<image>", "<end_of_utterance>", "<global-img>"]
          + [f"<row_{i + 1}_col_{j + 1}>" for i in range(6) for j in range(6)])
    tok = make_tokenizer(sp, "<image>")
    proc = Idefics3Processor(
        image_processor=Idefics3ImageProcessor(size={"longest_edge": 64},
                                               max_image_size={"longest_edge": 32},
                                               do_image_splitting=True),
        tokenizer=tok, image_seq_len=4, chat_template=tok.chat_template)
    cfg = Idefics3Config(
        vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                           num_attention_heads=2, image_size=32, patch_size=8),
        text_config=_text_config(tok) | {"model_type": "llama"},
        image_token_id=tok.convert_tokens_to_ids("<image>"), scale_factor=2)
    torch.manual_seed(0)
    return _save(Idefics3ForConditionalGeneration(cfg), proc, tok, root)


BUILDERS = {"llava": build_llava, "qwen2vl": build_qwen2vl, "idefics3": build_idefics3}
_BUILT: dict[tuple[str, str], Path] = {}


def tiny_vlm(kind: str, base: Path) -> Path:
    """Build (once per base folder) and return the folder of the tiny model ``kind``."""
    key = (kind, str(base))
    if key not in _BUILT:
        root = Path(base) / f"tiny-{kind}"
        root.mkdir(parents=True, exist_ok=True)
        BUILDERS[kind](root)
        (root / "BUILT.json").write_text(json.dumps({"kind": kind}))
        _BUILT[key] = root
    return _BUILT[key]
