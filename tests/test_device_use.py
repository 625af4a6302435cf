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


def test_a_local_judge_with_a_device_of_its_own_is_said(tmp_path):
    """The shipped Qwen judge's spec sets device = "auto", which --device does not replace:
    with no other torch model the device is unused; beside a torch detector, the judge is
    named as the one it does not reach."""
    qwen = "qwen2.5-vl-7b-instruct"
    said = notes(metrics=["claims"], judge=qwen)
    assert len(said) == 1 and "left unused" in said[0]
    assert f"the judge {qwen} takes its device from its spec ('auto'" in said[0]
    said = notes(metrics=["claims"], judge=qwen, detector="hf:/models/owlv2")
    assert said == [f"--device cpu (option 'device') does not reach the judge: the judge {qwen} "
                    f"takes its device from its spec ('auto'; give judge_options="
                    f"{{\"device\": ...}} to run it elsewhere)"]
    spec = tmp_path / "local.toml"
    import shutil
    shutil.copytree(LOOPBACK.parent / "templates", tmp_path / "templates")
    spec.write_text(LOOPBACK.read_text().replace('provider = "vllm"', 'provider = "hf"')
                    .replace('base_url = "http://127.0.0.1:8000/v1"\n', ""))
    assert notes(metrics=["claims"], judge=str(spec)) == []      # the hf judge reads it
    said = notes(metrics=["claims"], judge=str(spec),
                 options={"judge_options": {"device": "cuda:1"}})
    assert "takes its device from judge_options ('cuda:1')" in said[0]


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
