"""--resume and the device a torch detector or segmenter runs on: the evidence cache keyed
detections by the device type they were computed on, but the journal did not, so a run killed
on cuda and resumed on cpu (HALLUSCOPE_DEVICE=cpu) mixed two devices' detections in one
result."""
from __future__ import annotations

import pytest

from halluscope.errors import ConfigError
from tests.tiny_detectors import isolated_cache, owl_folder  # noqa: F401
from tests.tiny_detectors import as_if_cuda, interrupted_audit
from tests.tiny_detectors import captioned_photos as _photos


def test_a_resume_on_another_device_type_is_refused_saying_what_to_do(tmp_path, monkeypatch,
                                                                      owl_folder):
    from halluscope.api import audit
    path = _photos(tmp_path, 4)
    out = tmp_path / "run"
    kw = dict(metrics="claims", detector=f"hf:{owl_folder}", out=out, workers=1, n_boot=0,
              write_report=False)
    monkeypatch.delenv("HALLUSCOPE_DEVICE", raising=False)
    as_if_cuda(monkeypatch, False)                     # the first run: no GPU, so cpu
    interrupted_audit(path, **kw)
    as_if_cuda(monkeypatch, True)                      # resumed where torch sees a GPU
    with pytest.raises(ConfigError) as caught:
        audit(path, resume=True, **kw)
    said = str(caught.value)
    assert "device changed: cpu as journaled, cuda now" in said, said
    assert "--device" in said and "start over without --resume" in said, said
    assert "weights or versions" not in said, said
    assert (out / "items.journal.part").is_file()       # left for a resume that matches
    monkeypatch.setenv("HALLUSCOPE_DEVICE", "cpu")      # the first run's device again
    audit(path, resume=True, **kw)
    audit(path, **dict(kw, out=tmp_path / "fresh"))
    assert (out / "items.jsonl").read_text() == (tmp_path / "fresh" / "items.jsonl").read_text()


def test_the_device_enters_the_journal_only_with_a_torch_detector_or_segmenter(
        tmp_path, monkeypatch):
    from types import SimpleNamespace

    from halluscope.evidence.detector_facts import model_identities
    pytest.importorskip("torch")
    monkeypatch.delenv("HALLUSCOPE_DEVICE", raising=False)
    ckpt = tmp_path / "sam.pth"
    ckpt.write_bytes(b"weights")

    def device(detector=None, segmenter=None, **options):
        cfg = SimpleNamespace(detector=detector, segmenter=segmenter, options=options)
        return model_identities(cfg).get("device", "absent")

    for cuda, resolved in ((True, "cuda"), (False, "cpu")):
        as_if_cuda(monkeypatch, cuda)
        assert device(f"hf:{tmp_path}") == device(segmenter=f"sam:{ckpt}") == resolved
        assert device(f"gdino:{tmp_path}") == resolved
        assert device(f"hf:{tmp_path}", device="cpu") == "cpu"
        # OpenCV's detector and GrabCut run on no torch device; nor does an audit without
        # either (its journal is as before, so its resume is too)
        assert device("coco-ssd") == device("coco-ssd", "grabcut") == device() == "absent"
    monkeypatch.setenv("HALLUSCOPE_DEVICE", "cpu")
    as_if_cuda(monkeypatch, True)
    assert device(f"hf:{tmp_path}") == "cpu"
    assert device(f"hf:{tmp_path}", device="cuda:0") == "cuda"


def test_a_resume_without_a_detector_ignores_the_device(tmp_path, monkeypatch):
    from halluscope.api import audit
    pytest.importorskip("torch")
    path = _photos(tmp_path, 6)
    out = tmp_path / "run"
    kw = dict(metrics="claims", out=out, workers=1, n_boot=0, write_report=False)
    monkeypatch.delenv("HALLUSCOPE_DEVICE", raising=False)
    as_if_cuda(monkeypatch, True)
    interrupted_audit(path, **kw)
    monkeypatch.setenv("HALLUSCOPE_DEVICE", "cpu")
    as_if_cuda(monkeypatch, False)
    audit(path, resume=True, **kw)
    assert (out / "results.json").is_file()
