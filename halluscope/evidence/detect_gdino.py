"""The original GroundingDINO code (``groundingdino-py``) with its ``.pth`` checkpoints.

Spec: ``groundingdino:<config.py>,<weights.pth>[,<text encoder folder>]``.

Two things stand between ``groundingdino-py`` 0.4.0 and today's stack, and this module fixes
both without touching the installed package:

* Its BERT wrapper (``BertModelWarper``) calls BERT internals that transformers 5 removed
  (``get_head_mask``, the old encoder signature). :class:`TextEncoderShim` replaces it while
  a model is being built: it keeps the same submodules (``embeddings``, ``encoder``,
  ``pooler``, so the checkpoint's ``bert.*`` weights load unchanged) and turns GroundingDINO's
  ``[batch, tokens, tokens]`` sub-sentence attention mask into the additive 4-D mask the
  transformers 5 encoder takes. It works with transformers 4 as well.
* Its config names the text encoder ``bert-base-uncased``, a hub id. Pass a local folder as the
  third spec element (or set ``$HALLUSCOPE_GDINO_TEXT_ENCODER``): it needs the tokenizer files
  and ``config.json``; weights are optional, because GroundingDINO checkpoints carry their own
  BERT weights (a folder without weights gets a BERT built from its config, which the
  checkpoint then fills).

The package's other pins (``supervision``, ``opencv-python``) are only needed by its drawing
helpers, which halluscope does not import; its model code needs ``torch``, ``torchvision``,
``timm``, ``addict`` and ``yapf`` (the ``gdino`` extra).
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from halluscope.errors import ConfigError
from halluscope.evidence.detect import (THRESHOLDS, Detection, caption_for, chunk_phrases,
                                        cxcywh_to_xyxy,
                                        detections_from_scores, load_rgb, phrase_scores,
                                        require, torch_device)

log = logging.getLogger(__name__)

TEXT_ENCODER_ENV = "HALLUSCOPE_GDINO_TEXT_ENCODER"
_WHAT = "the groundingdino-py detector"
_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin", "model.safetensors.index.json",
                 "pytorch_model.bin.index.json")


def _shim_class():
    torch = require("torch", _WHAT, "gdino", "torch")
    nn = torch.nn

    class TextEncoderShim(nn.Module):
        """Drop-in for groundingdino's ``BertModelWarper`` that runs on transformers 4 and 5."""

        def __init__(self, bert_model):
            super().__init__()
            self.config = bert_model.config
            self.embeddings = bert_model.embeddings
            self.encoder = bert_model.encoder
            self.pooler = bert_model.pooler

        def forward(self, input_ids=None, attention_mask=None, token_type_ids=None,
                    position_ids=None, **_):
            if attention_mask is None:
                attention_mask = torch.ones_like(input_ids)
            if attention_mask.dim() == 2:     # padding mask -> pairwise mask
                attention_mask = (attention_mask[:, None, :].bool()
                                  & attention_mask[:, :, None].bool())
            allowed = attention_mask[:, None].bool()
            dtype = self.embeddings.word_embeddings.weight.dtype
            additive = torch.zeros(allowed.shape, dtype=dtype, device=allowed.device)
            additive = additive.masked_fill(~allowed, torch.finfo(dtype).min)
            hidden = self.embeddings(input_ids=input_ids, token_type_ids=token_type_ids,
                                     position_ids=position_ids)
            out = self.encoder(hidden, attention_mask=additive)
            seq = out[0] if isinstance(out, (tuple, list)) else out.last_hidden_state
            pooled = self.pooler(seq) if self.pooler is not None else None
            return {"last_hidden_state": seq, "pooler_output": pooled}

    return TextEncoderShim


def _language_model(text_encoder_type: str):
    """BERT from a local folder: its weights when it has them, else built from its config."""
    transformers = require("transformers", _WHAT, "gdino", "transformers")
    folder = Path(text_encoder_type)
    if folder.is_dir() and not any((folder / f).exists() for f in _WEIGHT_FILES):
        log.info("text encoder folder %s has no weights; building BERT from its config (the "
                 "GroundingDINO checkpoint supplies the weights)", folder)
        return transformers.BertModel(transformers.BertConfig.from_pretrained(str(folder)))
    return transformers.BertModel.from_pretrained(text_encoder_type)


@contextlib.contextmanager
def _patched(gmod, tokmod):
    saved = (gmod.BertModelWarper, tokmod.get_pretrained_language_model)
    gmod.BertModelWarper = _shim_class()
    tokmod.get_pretrained_language_model = _language_model
    try:
        yield
    finally:
        gmod.BertModelWarper, tokmod.get_pretrained_language_model = saved


def build_model(config_path: str | os.PathLike, text_encoder: str | None = None,
                device: str = "cpu"):
    """Build a GroundingDINO model from its config file with the text-encoder shim.

    Returns ``(model, args)``; weights are random until a checkpoint is loaded.
    """
    require("groundingdino", _WHAT, "gdino", "groundingdino-py")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)   # timm.models.layers deprecation
        slconfig = require("groundingdino.util.slconfig", _WHAT, "gdino", "groundingdino-py")
        models = require("groundingdino.models", _WHAT, "gdino", "groundingdino-py")
        gmod = require("groundingdino.models.GroundingDINO.groundingdino", _WHAT, "gdino",
                       "groundingdino-py")
        tokmod = require("groundingdino.util.get_tokenlizer", _WHAT, "gdino",
                         "groundingdino-py")
    config_path = Path(config_path)
    if not config_path.is_file():
        raise ConfigError(f"expected a GroundingDINO config file, got {config_path} (not found)")
    args = slconfig.SLConfig.fromfile(str(config_path))
    args.device = device
    text_encoder = text_encoder or os.environ.get(TEXT_ENCODER_ENV)
    if text_encoder:
        if not Path(text_encoder).is_dir():
            raise ConfigError(f"expected a text-encoder folder (tokenizer files and "
                              f"config.json), got {text_encoder} (not a folder)")
        args.text_encoder_type = str(Path(text_encoder).resolve())
    elif not Path(str(args.text_encoder_type)).is_dir():
        log.warning("%s names the text encoder %r; without a local folder (third spec "
                    "element or $%s) it must already be in the Hugging Face cache",
                    config_path.name, args.text_encoder_type, TEXT_ENCODER_ENV)
    with _patched(gmod, tokmod), contextlib.redirect_stdout(io.StringIO()):
        try:
            model = models.build_model(args)
        except OSError as exc:
            raise ConfigError(f"cannot load GroundingDINO's text encoder "
                              f"{args.text_encoder_type!r}: {exc}") from exc
    return model, args


class GroundingDinoPyDetector:
    """GroundingDINO through ``groundingdino-py`` (open vocabulary).

    Args:
        config: The model's Python config file (e.g. ``GroundingDINO_SwinT_OGC.py``).
        weights: The ``.pth`` checkpoint (``{"model": state_dict}`` or a bare state dict).
        text_encoder: Local BERT folder (see the module docstring).
        image_size: Shorter side the image is resized to (800 in the original demos).
        max_size: Upper bound of the longer side (1333).
    """

    backend = "groundingdino"
    vocabulary = None

    def __init__(self, config: str | os.PathLike, weights: str | os.PathLike, *,
                 text_encoder: str | None = None, device: str | None = None,
                 image_size: int = 800, max_size: int = 1333, floor: float | None = None,
                 **_: Any):
        self._torch = torch = require("torch", _WHAT, "gdino", "torch")
        self.device = torch_device(device)
        weights = Path(weights)
        if not weights.is_file():
            raise ConfigError(f"expected a GroundingDINO checkpoint (.pth), got {weights} "
                              f"(not found)")
        self.config_path, self.weights_path = Path(config), weights
        self.text_encoder = text_encoder or os.environ.get(TEXT_ENCODER_ENV)
        self.name = f"groundingdino:{config},{weights}"
        model, self.args = build_model(config, self.text_encoder, self.device)
        try:
            ckpt = torch.load(weights, map_location="cpu", weights_only=True)
        except Exception as exc:                      # noqa: BLE001 - pickled extras
            log.warning("%s is not a plain tensor checkpoint (%s); loading it with pickle "
                        "because you named it", weights, type(exc).__name__)
            ckpt = torch.load(weights, map_location="cpu", weights_only=False)
        state = ckpt.get("model", ckpt) if isinstance(ckpt, dict) else ckpt
        state = {k[7:] if k.startswith("module.") else k: v for k, v in state.items()}
        result = model.load_state_dict(state, strict=False)
        if result.missing_keys:
            log.warning("%s: %d weights missing from the checkpoint (e.g. %s)", weights.name,
                        len(result.missing_keys), result.missing_keys[0])
        self.model = model.to(self.device).eval()
        self.image_size, self.max_size = int(image_size), int(max_size)
        self.thresholds = THRESHOLDS["groundingdino"]
        self.floor = self.thresholds.floor if floor is None else float(floor)
        self.max_text_len = int(getattr(self.args, "max_text_len", 256))
        self.calls = 0
        self._provenance: dict[str, Any] | None = None

    def _tensor(self, rgb):
        torch = self._torch
        from PIL import Image

        h, w = rgb.shape[:2]
        scale = self.image_size / min(h, w)
        if max(h, w) * scale > self.max_size:
            scale = self.max_size / max(h, w)
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        im = Image.fromarray(rgb).resize(size, Image.BILINEAR)
        x = torch.from_numpy(np.asarray(im, dtype=np.float32) / 255.0)
        x = x.permute(2, 0, 1)
        mean = torch.tensor([0.485, 0.456, 0.406])[:, None, None]
        std = torch.tensor([0.229, 0.224, 0.225])[:, None, None]
        return ((x - mean) / std).to(self.device)

    def detect(self, image: Any, phrases: Sequence[str]) -> list[Detection]:
        phrases = list(dict.fromkeys(p.strip() for p in phrases if p and p.strip()))
        if not phrases:
            return []
        rgb = load_rgb(image)
        h, w = rgb.shape[:2]
        x = self._tensor(rgb)
        out: list[Detection] = []
        for chunk in chunk_phrases(self.model.tokenizer, phrases, self.max_text_len):
            caption, spans = caption_for(chunk)
            with self._torch.inference_mode():
                res = self.model(x[None], captions=[caption])
            self.calls += 1
            enc = self.model.tokenizer(caption, return_offsets_mapping=True)
            probs = res["pred_logits"][0].sigmoid().float().cpu().numpy()
            scores = phrase_scores(probs, enc["offset_mapping"][:self.max_text_len], spans)
            boxes = cxcywh_to_xyxy(res["pred_boxes"][0].float().cpu().numpy(), w, h)
            out.extend(detections_from_scores(scores, boxes, chunk, w, h, self.floor))
        out.sort(key=lambda d: -d.score)
        return out

    def provenance(self) -> dict[str, Any]:
        if self._provenance is None:
            from importlib import metadata

            from halluscope.evidence.cache import config_hash, sha256_file, weights_hash
            try:
                version = metadata.version("groundingdino-py")
            except metadata.PackageNotFoundError:
                version = "?"
            self._provenance = {
                "component": "detector", "backend": self.backend, "name": self.name,
                "groundingdino-py": version, "weights_sha256": weights_hash(self.weights_path),
                "config_sha256": sha256_file(self.config_path)[:16],
                "text_encoder": (weights_hash(self.text_encoder) if self.text_encoder
                                 else str(self.args.text_encoder_type)),
                "preprocess": config_hash([self.image_size, self.max_size]),
                "floor": self.floor,
            }
        return self._provenance
