"""Whether an audit's ``--device`` (option ``device``) reaches a model that runs on torch.

Only torch models read the device: a ``hf:`` or ``groundingdino:`` detector, a ``sam:`` or
``hf-sam:`` segmenter, and a judge of provider ``hf`` whose spec and ``judge_options`` name no
device of their own (a spec's ``device = "auto"`` names none: ``--device`` replaces it). ``--device cuda`` given to an audit with none of these (the packaged
``coco-ssd`` detector runs on OpenCV, an API judge on its server) was dropped in silence; it is a
warning, as a setting no metric of the audit reads is
(:func:`~halluscope.pipeline.warn_unread_settings`).
"""

from __future__ import annotations

import logging
from typing import Any

from halluscope.config import AuditConfig
from halluscope.errors import HalluscopeError
from halluscope.metrics.base import Metric, available_metrics, metric_class

log = logging.getLogger(__name__)

#: Detector and segmenter backends that run a torch model (the rest run on OpenCV).
TORCH_DETECTORS = frozenset({"hf", "groundingdino", "gdino"})
TORCH_SEGMENTERS = frozenset({"sam", "hf-sam"})


def _backend(spec: Any) -> str:
    return spec.strip().partition(":")[0].lower() if isinstance(spec, str) else ""


def _judge_device(cfg: AuditConfig) -> tuple[str, str]:
    """``("reads", "")`` when the configured judge reads ``--device``; else ``("served", why)``
    for a judge served elsewhere, ``("own", why)`` for a local one given its own device."""
    from halluscope.judges.loading import find_spec, spec_sets_device
    from halluscope.judges.spec import load_spec
    try:
        spec = load_spec(find_spec(cfg.judge))
    except HalluscopeError:         # a bad spec: the metric that loads it says why
        return "reads", ""
    if spec.provider.lower() != "hf":
        return "served", f"the judge {cfg.judge} is a {spec.provider} model, served elsewhere"
    options = (cfg.options or {}).get("judge_options")
    if isinstance(options, dict) and "device" in options:
        return "own", (f"the judge {cfg.judge} takes its device from judge_options "
                       f"({options['device']!r})")
    if spec_sets_device(spec):          # device = "auto" is no choice: --device replaces it
        return "own", (f"the judge {cfg.judge} takes its device from its spec "
                       f"({spec.options['device']!r}; give judge_options={{\"device\": ...}} "
                       f"to run it elsewhere)")
    return "reads", ""


def device_notes(cfg: AuditConfig, custom: list[Metric]) -> list[str]:
    """What to warn about ``cfg.options["device"]``: that no model of the audit reads it, or
    that a local judge does not (it takes its device from elsewhere). Nothing when no device is
    given, or when a metric of the caller's own (or one not installed) may read it."""
    device = (cfg.options or {}).get("device")
    installed = set(available_metrics())
    if not device or custom or any(m not in installed for m in cfg.metrics):
        return []
    read = {opt.name for m in cfg.metrics for opt in getattr(metric_class(m), "options", ())
            if opt.config_field}
    used, why, judge_note = False, [], None
    if "detector" in read and cfg.detector:
        used = _backend(cfg.detector) in TORCH_DETECTORS
        why.append(f"the detector {cfg.detector} runs on OpenCV")
        if "segmenter" in read and cfg.segmenter:
            used = used or _backend(cfg.segmenter) in TORCH_SEGMENTERS
            why.append(f"the segmenter {cfg.segmenter} runs on OpenCV")
    if "judge" in read and cfg.judge:
        state, reason = _judge_device(cfg)
        used = used or state == "reads"
        why.append(reason)
        judge_note = reason if state == "own" else None
    head = f"--device {device} (option 'device')"
    if not used:
        why = "; ".join(why) or (f"{', '.join(cfg.metrics)} run"
                                 f"{'s' * (len(cfg.metrics) == 1)} no detector, segmenter or "
                                 f"judge")
        return [f"{head} is read only by models that run on torch (an hf: or groundingdino: "
                f"detector, a sam: or hf-sam: segmenter, a judge of provider hf); this audit "
                f"has none ({why}): it is left unused"]
    return [f"{head} does not reach the judge: {judge_note}"] if judge_note else []


#: Detector backends that read the ``image_size`` option (the shorter side the image is resized
#: to); the others take the input size their model or processor fixes.
SIZED_DETECTORS = frozenset({"groundingdino", "gdino"})


def image_size_notes(cfg: AuditConfig, custom: list[Metric]) -> list[str]:
    """What to warn about ``cfg.options["image_size"]``: that the audit's detector does not
    read it. A ``coco-ssd`` or ``hf:`` detector ran at its own input size in silence while the
    run sheet recorded ``image_size`` among the detector's options, as if it had been used."""
    size = (cfg.options or {}).get("image_size")
    if size is None or custom or any(m not in set(available_metrics()) for m in cfg.metrics):
        return []
    if cfg.detector and _backend(cfg.detector) in SIZED_DETECTORS:
        return []
    why = (f"the detector {cfg.detector} takes the input size its model fixes" if cfg.detector
           else "this audit has no detector")
    return [f"option 'image_size' ({size}) is read only by a groundingdino: detector; {why}: "
            f"it is left unused"]


def warn_unused_model_options(cfg: AuditConfig, custom: list[Metric]) -> None:
    """Log :func:`device_notes` and :func:`image_size_notes` as warnings."""
    for note in device_notes(cfg, custom) + image_size_notes(cfg, custom):
        log.warning("%s", note)


__all__ = ["SIZED_DETECTORS", "TORCH_DETECTORS", "TORCH_SEGMENTERS", "device_notes",
           "image_size_notes", "warn_unused_model_options"]
