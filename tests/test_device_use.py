"""``--device`` reaches only torch models (an hf:/groundingdino: detector, a sam:/hf-sam:
segmenter, a judge of provider hf); given to an audit that runs none, it was dropped in silence.
It is a warning now, as a setting no metric of the audit reads is."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from typer.testing import CliRunner

import halluscope
from halluscope.config import AuditConfig
from halluscope.device_use import device_notes

DATA = Path(__file__).resolve().parents[1] / "data"
LOOPBACK = Path(__file__).resolve().parent / "judges" / "loopback-judge.toml"


def notes(**settings):
    options = settings.pop("options", {})
    return device_notes(AuditConfig(options={"device": "cpu", **options}, **settings), [])


@pytest.mark.parametrize("settings", [
    dict(metrics=["claims"], detector="hf:/models/owlv2"),
    dict(metrics=["claims"], detector="groundingdino:cfg.py,w.pth"),
    dict(metrics=["claims"], detector="coco-ssd", segmenter="hf-sam:/models/sam"),
    dict(metrics=["region"], detector="gdino:cfg.py,w.pth"),
])
def test_a_torch_detector_or_segmenter_reads_the_device(settings):
    assert notes(**settings) == []


@pytest.mark.parametrize("settings, why", [
    (dict(metrics=["pope"]), "pope runs no detector, segmenter or judge"),
    (dict(metrics=["chair", "pope"]), "chair, pope run no detector"),
    (dict(metrics=["claims"], detector="coco-ssd"), "the detector coco-ssd runs on OpenCV"),
    (dict(metrics=["claims"], detector="coco-ssd", segmenter="grabcut"),
     "the segmenter grabcut runs on OpenCV"),
    # a detector no metric of the audit reads loads nothing (--detector is warned about too)
    (dict(metrics=["pope"], detector="hf:/models/owlv2"), "pope runs no detector"),
    (dict(metrics=["claims"], judge="gpt-4o-2024-08-06"),
     "the judge gpt-4o-2024-08-06 is a openai model, served elsewhere"),
    (dict(metrics=["pope"], judge=str(LOOPBACK)), "is a vllm model, served elsewhere"),
])
def test_a_device_no_torch_model_reads_is_a_warning(settings, why):
    said = notes(**settings)
    assert len(said) == 1 and said[0].startswith("--device cpu (option 'device') is read only "
                                                 "by models that run on torch"), said
    assert why in said[0] and said[0].endswith("it is left unused")


def local_spec(tmp_path, options="", name="local.toml", model=None):
    """The loopback spec made a judge of provider hf (``options``: its ``[options]`` lines)."""
    import shutil
    if not (tmp_path / "templates").exists():
        shutil.copytree(LOOPBACK.parent / "templates", tmp_path / "templates")
    text = LOOPBACK.read_text().replace('provider = "vllm"', 'provider = "hf"') \
        .replace('base_url = "http://127.0.0.1:8000/v1"\n', "") \
        .replace('policy = "openai"\n', "")
    if model is not None:
        text = text.replace('model = "loopback-judge-2025-01-01"', f"model = {str(model)!r}")
    if options:
        text = text.replace("[decoding]", f"[options]\n{options}\n\n[decoding]")
    spec = tmp_path / name
    spec.write_text(text)
    return spec


def test_a_local_judge_with_a_device_of_its_own_is_said(tmp_path):
    """A device the spec or judge_options names is kept, and --device is said not to reach the
    judge: with no other torch model it is unused; beside a torch detector, the judge is named
    as the one it does not reach."""
    own = local_spec(tmp_path, 'device = "cuda:0"', "own.toml")
    said = notes(metrics=["claims"], judge=str(own))
    assert len(said) == 1 and "left unused" in said[0]
    assert f"the judge {own} takes its device from its spec ('cuda:0'" in said[0]
    said = notes(metrics=["claims"], judge=str(own), detector="hf:/models/owlv2")
    assert said == [f"--device cpu (option 'device') does not reach the judge: the judge {own} "
                    f"takes its device from its spec ('cuda:0'; give judge_options="
                    f"{{\"device\": ...}} to run it elsewhere)"]
    spec = local_spec(tmp_path)
    assert notes(metrics=["claims"], judge=str(spec)) == []      # the hf judge reads it
    said = notes(metrics=["claims"], judge=str(spec),
                 options={"judge_options": {"device": "cuda:1"}})
    assert "takes its device from judge_options ('cuda:1')" in said[0]


def test_a_spec_device_auto_is_no_choice(tmp_path):
    """The shipped Qwen judge's spec sets device = "auto": --device replaced nothing there, so
    --device cuda:1 ran it on the first GPU (and was warned about). "auto" is no choice made:
    --device replaces it, and nothing is warned."""
    assert notes(metrics=["claims"], judge="qwen2.5-vl-7b-instruct") == []
    assert notes(metrics=["claims"], judge=str(local_spec(tmp_path, 'device = "AUTO"'))) == []


@pytest.mark.parametrize("spec_options, options, want", [
    ('device = "auto"', {"device": "cuda:1"}, "cuda:1"),           # --device replaces auto
    ("", {"device": "cuda:1"}, "cuda:1"),                          # ... and no device
    ('device = "cuda:0"', {"device": "cuda:1"}, None),             # the spec's own is kept
    ('device = "auto"', {"device": "cuda:1", "judge_options": {"device": "cpu"}}, "cpu"),
    ('device = "auto"', {}, None),                                 # no --device: auto stays
])
def test_the_device_handed_to_the_judge(tmp_path, monkeypatch, spec_options, options, want):
    import halluscope.judges.loading as loading
    handed = {}
    monkeypatch.setattr(loading, "load_judge", lambda spec, **kw: handed.update(kw))
    spec = local_spec(tmp_path, spec_options)
    loading.judge_from_config(AuditConfig(metrics=["claims"], judge=str(spec),
                                          cache_dir=tmp_path / "cache", options=options))
    assert handed.get("device") == want


def test_the_run_sheet_records_the_device_asked_for(tmp_path):
    """What the run sheet records of a local judge (``judge.describe()["adapter"]``) names the
    device --device gave in place of the spec's "auto"."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    import sys
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from tiny_vlms import tiny_vlm
    from halluscope.judges.loading import judge_from_config
    folder = tiny_vlm("llava", tmp_path / "vlms")
    spec = local_spec(tmp_path, 'device = "auto"', model=folder)
    judge = judge_from_config(AuditConfig(metrics=["claims"], judge=str(spec),
                                          cache_dir=tmp_path / "cache",
                                          options={"device": "cpu"}))
    try:
        adapter = judge.describe()["adapter"]
        assert adapter["device_requested"] == "cpu" and adapter["device"] == "cpu"
    finally:
        judge.close()


def test_no_device_or_a_metric_of_ones_own_says_nothing():
    assert device_notes(AuditConfig(metrics=["pope"]), []) == []
    custom = object()       # a metric object of the caller's own: it may read any option
    assert device_notes(AuditConfig(metrics=["pope"], options={"device": "cpu"}),
                        [custom]) == []


def test_the_audit_warns_and_goes_on(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="halluscope.device_use"):
        result = halluscope.audit(DATA, metrics="pope", options={"device": "cpu"},
                                  write_report=False, n_boot=0, out=tmp_path / "o")
    assert result.metrics["pope"].n
    assert "--device cpu (option 'device') is read only by models that run on torch" \
        in caplog.text and "pope runs no detector, segmenter or judge" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="halluscope.device_use"):
        halluscope.audit(DATA, metrics="pope", write_report=False, n_boot=0,
                         out=tmp_path / "p")
    assert "--device" not in caplog.text


def test_the_cli_flag_is_warned_about(tmp_path, caplog):
    from halluscope.cli import app
    with caplog.at_level(logging.WARNING, logger="halluscope.device_use"):
        res = CliRunner().invoke(app, ["audit", str(DATA), "--metric", "pope", "--device",
                                       "cpu", "--bootstrap", "0", "--no-report", "-q",
                                       "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    assert "--device cpu (option 'device') is read only by models that run on torch" \
        in caplog.text
