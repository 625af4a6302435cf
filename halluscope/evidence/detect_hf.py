"""Zero-shot detectors from transformers: GroundingDINO, OWL-ViT, OWLv2 and kin.

``hf:<path or hub id>`` loads ``AutoProcessor`` and ``AutoModelForZeroShotObjectDetection`` from
a local folder (what ``save_pretrained`` writes) or a hub id already in the local Hugging Face
cache. Nothing is downloaded unless the detector is built with ``allow_download=True``
(``AuditConfig.options["allow_download"]``).

All phrases a record needs go into one forward pass:

* GroundingDINO (``grounding-dino``, ``mm-grounding-dino``): the caption ``"cat . dog ."``;
  a query's score for a phrase is the highest sigmoid probability among the phrase's tokens
  (the original ``get_phrases_from_posmap`` takes tokens above ``text_threshold`` instead; a
  per-phrase maximum gives one score per phrase, which thresholds can use). Captions longer
  than the model's ``max_text_len`` are split into several passes.
* OWL-ViT / OWLv2: one text query per phrase; scores are the sigmoid of the class logits. OWLv2
  pads images to a square, so its normalised boxes are scaled by the longer side.
* other zero-shot models: the processor's ``post_process_grounded_object_detection``. NaN in
  the model's logits or boxes (or NaN or infinity in what the processor keeps) is a bad record
  naming the model and image, as on the two paths above: the processor's threshold dropped a
  NaN score unseen, and its object was read as absent.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from halluscope.errors import ConfigError
from halluscope.evidence.detect import (THRESHOLDS, Detection, caption_for, check_finite,
                                        chunk_phrases, clip_box, cxcywh_to_xyxy,
                                        detections_from_scores, has_area, load_rgb,
                                        phrase_scores, require, torch_device)

log = logging.getLogger(__name__)

GDINO_TYPES = ("grounding-dino", "mm-grounding-dino", "llmdet")
OWL_TYPES = ("owlv2", "owlvit")


def nan_in_output(out: Any, torch: Any) -> None:
    """A ``ValueError`` (made a bad record naming the image and model by the caller) when a
    model's output holds NaN in a ``*logits*`` tensor, or NaN or infinity in a box one
    (``*box*``, ``*coord*``): ``-inf`` logits are masks (padded text tokens), no fault."""
    for key, value in (out.items() if hasattr(out, "items") else ()):
        if not (torch.is_tensor(value) and value.is_floating_point()):
            continue
        if "logit" in key and "coord" not in key:
            bad, kind = int(torch.isnan(value).sum()), "NaN"
        elif "box" in key or "coord" in key:
            bad, kind = int((~torch.isfinite(value)).sum()), "NaN or infinite"
        else:
            continue
        if bad:
            raise ValueError(f"expected finite {key} from the model, got {bad} {kind} "
                             f"value{'s' * (bad != 1)} of {value.numel()}")


class HFZeroShotDetector:
    """A transformers zero-shot object detector (open vocabulary).

    Args:
        model_id: A local folder or a hub id (resolved offline unless transformers is told
            otherwise).
        device: ``cpu``, ``cuda``, ...; default :func:`~halluscope.evidence.detect.torch_device`.
        revision: Hub revision, recorded in the provenance.
        floor: Lowest score kept (default: the backend's floor).
        allow_download: Let transformers fetch a hub id that is not in the local cache.
    """

    backend = "hf"
    vocabulary = None

    def __init__(self, model_id: str, *, device: str | None = None, revision: str | None = None,
                 floor: float | None = None, allow_download: bool = False, **_: Any):
        self._torch = require("torch", "transformers zero-shot detectors", "hf", "torch")
        transformers = require("transformers", "transformers zero-shot detectors", "hf",
                               "transformers")
        self.model_id = model_id
        self.name = f"hf:{model_id}"
        self.device = torch_device(device)
        kw: dict[str, Any] = {"revision": revision} if revision else {}
        local = Path(model_id).expanduser()
        source = str(local) if local.exists() else model_id
        if not local.exists():
            if model_id.startswith((".", "/", "~")):
                raise ConfigError(f"expected a model folder or a hub id for hf:, got "
                                  f"{model_id!r} (no such folder)")
            kw["local_files_only"] = not allow_download
        try:
            self.processor = transformers.AutoProcessor.from_pretrained(source, **kw)
            self.model = transformers.AutoModelForZeroShotObjectDetection.from_pretrained(
                source, **kw).to(self.device).eval()
        except (OSError, ValueError) as exc:
            hint = "" if local.exists() or allow_download else \
                " (it is not in the local Hugging Face cache and downloads are off)"
            raise ConfigError(f"cannot load the zero-shot detector {model_id!r}{hint}: "
                              f"{exc}") from exc
        self.model_type = getattr(self.model.config, "model_type", "")
        self.thresholds = THRESHOLDS.get(f"hf:{self.model_type}", THRESHOLDS["hf"])
        self.floor = self.thresholds.floor if floor is None else float(floor)
        self.revision = revision or getattr(self.model.config, "_commit_hash", None)
        self._local = local if local.exists() else None
        self.calls = 0
        self._measured: set[str] = set()         # labels whose tokens were counted (once)
        self._provenance: dict[str, Any] | None = None

    # -- passes --------------------------------------------------------------------------------
    def detect(self, image: Any, phrases: Sequence[str]) -> list[Detection]:
        phrases = list(dict.fromkeys(p.strip() for p in phrases if p and p.strip()))
        if not phrases:
            return []
        rgb = load_rgb(image)
        if self.model_type in GDINO_TYPES:
            out = []
            limit = int(getattr(self.model.config, "max_text_len", 256))
            for chunk in chunk_phrases(self.processor.tokenizer, phrases, limit):
                out.extend(self._grounding_dino(rgb, chunk))
            out.sort(key=lambda d: -d.score)
            return out
        if self.model_type in OWL_TYPES:
            return self._owl(rgb, phrases)
        return self._generic(rgb, phrases)

    def _forward(self, inputs):
        torch = self._torch
        inputs = inputs.to(self.device)
        with torch.inference_mode():
            out = self.model(**inputs)
        self.calls += 1
        return out

    def _grounding_dino(self, rgb: np.ndarray, phrases: list[str]) -> list[Detection]:
        from PIL import Image

        h, w = rgb.shape[:2]
        caption, spans = caption_for(phrases)
        inputs = self.processor(images=Image.fromarray(rgb), text=caption, return_tensors="pt")
        out = self._forward(inputs)
        enc = self.processor.tokenizer(caption, return_offsets_mapping=True)
        probs = out.logits[0].sigmoid().float().cpu().numpy()
        scores = phrase_scores(probs, enc["offset_mapping"], spans)
        boxes = cxcywh_to_xyxy(out.pred_boxes[0].float().cpu().numpy(), w, h)
        return detections_from_scores(scores, boxes, phrases, w, h, self.floor)

    def _owl(self, rgb: np.ndarray, phrases: list[str]) -> list[Detection]:
        from PIL import Image

        h, w = rgb.shape[:2]
        limit = self._owl_text_limit(phrases)
        # truncated to the text model's positions, as OWL's own query tokenizer does: a cited
        # label of more than 16 tokens stopped the audit ("size of tensor a (19) must match")
        inputs = self.processor(text=[phrases], images=Image.fromarray(rgb), return_tensors="pt",
                                truncation=True, max_length=limit)
        out = self._forward(inputs)
        scores = out.logits[0].sigmoid().float().cpu().numpy()[:, :len(phrases)]
        side = max(w, h) if self.model_type == "owlv2" else None
        boxes = cxcywh_to_xyxy(out.pred_boxes[0].float().cpu().numpy(),
                               side or w, side or h)
        return detections_from_scores(scores, boxes, phrases, w, h, self.floor)

    def _owl_text_limit(self, phrases: list[str]) -> int:
        """The most tokens an OWL text query may have (the text model's position embeddings,
        or the tokenizer's limit when lower); phrases longer than that are logged, once each (each
        phrase is tokenized once per detector to find out)."""
        text = getattr(self.model.config, "text_config", None)
        limit = int(getattr(text, "max_position_embeddings", 0) or 16)
        tok = self.processor.tokenizer
        if 0 < getattr(tok, "model_max_length", limit) < limit:
            limit = int(tok.model_max_length)
        for p in phrases:           # each label tokenized once, not once per image
            if p in self._measured:
                continue
            self._measured.add(p)
            if len(tok(p)["input_ids"]) > limit:
                log.warning("%s: the label %r is longer than the %d tokens an OWL query may "
                            "have; it was truncated to %d tokens", self.name,
                            p[:80], limit, limit)
        return limit

    def _generic(self, rgb: np.ndarray, phrases: list[str]) -> list[Detection]:
        from PIL import Image

        h, w = rgb.shape[:2]
        inputs = self.processor(text=[phrases], images=Image.fromarray(rgb), return_tensors="pt")
        out = self._forward(inputs)
        # before the processor's threshold: a NaN score fails it and was dropped unseen, its
        # object read as absent, where the GroundingDINO and OWL paths make a bad record
        nan_in_output(out, self._torch)
        post = getattr(self.processor, "post_process_grounded_object_detection", None)
        if post is None:
            raise ConfigError(f"{self.model_id}: expected a zero-shot detection processor with "
                              f"post_process_grounded_object_detection")
        res = post(out, threshold=self.floor, target_sizes=[(h, w)], text_labels=[phrases])[0]
        check_finite(res["scores"], "scores")
        check_finite(res["boxes"], "boxes")
        norm = {" ".join(p.lower().split()): p for p in phrases}
        dets = []
        # an empty list of text labels is no cue to read ids: `[] or None` failed the image
        texts = res.get("text_labels")
        texts = res.get("labels") if texts is None else texts
        for box, score, text in zip(res["boxes"].tolist(), res["scores"].tolist(), texts):
            label = norm.get(" ".join(str(text).lower().split()), str(text))
            box = clip_box(box, w, h)
            if has_area(box):               # a box outside the image is no object in it
                dets.append(Detection(label, box, float(score)))
        dets.sort(key=lambda d: -d.score)
        return dets

    def provenance(self) -> dict[str, Any]:
        if self._provenance is None:
            import transformers

            prov: dict[str, Any] = {"component": "detector", "backend": self.backend,
                                    "name": self.name, "model_type": self.model_type,
                                    "transformers": transformers.__version__,
                                    "floor": self.floor}
            if self._local is not None:
                from halluscope.evidence.cache import weights_hash
                prov["weights_sha256"] = weights_hash(self._local)
            else:
                prov["revision"] = self.revision
            self._provenance = prov
        return self._provenance
