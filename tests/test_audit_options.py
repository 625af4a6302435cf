"""Every ``--option`` key is read by something: a misspelled one changed nothing and the audit
ran with the default (a reefknot_varient=corrected audit scored the original variant)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

import halluscope
from halluscope.errors import ConfigError, UnknownNameError

DATA = Path(__file__).resolve().parents[1] / "data"


def test_a_misspelled_option_is_a_usage_error_naming_the_nearest(tmp_path):
    with pytest.raises(UnknownNameError, match="unknown option 'chair_vocabulary_fil'; did "
                                               "you mean 'chair_vocabulary_file'"):
        halluscope.audit(DATA, metrics="chair", options={"chair_vocabulary_fil": "x"},
                         out=tmp_path / "o")
    assert not (tmp_path / "o").exists()


def test_an_audit_setting_given_as_an_option_says_how_to_set_it(tmp_path):
    with pytest.raises(ConfigError, match="option 'chair_variant' is an audit setting, not an "
                                          "--option: pass chair_variant=..."):
        halluscope.audit(DATA, metrics="chair", options={"chair_variant": "original"},
                         out=tmp_path / "o")


@pytest.mark.parametrize("setting,flag", [("n_boot", "--bootstrap"), ("input_format", "--format"),
                                          ("metrics", "--metric"),
                                          ("chair_variant", "--chair-variant")])
def test_the_cli_names_the_real_flag_of_a_setting_given_as_an_option(tmp_path, setting, flag):
    """The flag was made from the setting's name (--n-boot, --input-format, --metrics: no such
    flags); it is read from the command's own options now, and the advice works."""
    from typer.testing import CliRunner

    from halluscope.cli import app
    res = CliRunner().invoke(app, ["audit", str(DATA), "--metric", "chair", "--option",
                                   f"{setting}=5", "--out", str(tmp_path / "o")])
    assert res.exit_code == 2, res.output
    assert f"pass {flag}" in " ".join(res.output.split()), res.output
    assert flag in CliRunner().invoke(app, ["audit", "--help"]).output


def test_every_setting_has_a_flag_or_says_it_has_none():
    import typer

    from halluscope.cli import app
    from halluscope.cli.audit import setting_flag
    from halluscope.config import AuditConfig
    params = typer.main.get_command(app).commands["audit"].params
    opts = {o for p in params for o in p.opts}
    for setting in AuditConfig.model_fields:
        flag = setting_flag(setting, params)
        assert flag is None or flag in opts
    assert setting_flag("n_boot", params) == "--bootstrap"


def test_known_options_pass_and_another_metrics_option_is_a_warning(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="halluscope.pipeline"):
        result = halluscope.audit(DATA, metrics="chair", write_report=False, out=tmp_path / "o",
                                  options={"max_image_pixels": 10**8,
                                           "reefknot_variant": "corrected"})
    assert result.metrics["chair"].n
    assert "option 'reefknot_variant' is read by metric 'reefknot', which this audit does " \
           "not run" in caplog.text


def test_a_custom_metrics_declared_option_is_known(tmp_path):
    metric = f"{DATA.parent / 'examples' / 'custom_metric.py'}:WordCount"
    result = halluscope.audit(DATA, metrics=metric, options={"wordcount_min_words": 3},
                              write_report=False, out=tmp_path / "o")
    assert result.metrics["wordcount"].n


def test_the_cli_exits_2_on_an_unknown_option(tmp_path):
    from typer.testing import CliRunner

    from halluscope.cli import app
    res = CliRunner().invoke(app, ["audit", str(DATA), "--metric", "chair", "--option",
                                   "detector_presnt=0.5", "--out", str(tmp_path / "o")])
    assert res.exit_code == 2, res.output
    assert "did you mean 'detector_present'" in res.output
    assert not (tmp_path / "o" / "results.json").exists()


def test_cluster_by_a_field_no_record_has_is_a_usage_error(tmp_path, caplog):
    """A misspelled --cluster-by made every item its own resampling unit, silently, and the
    intervals changed; a misspelled --by gave no group without a word."""
    with pytest.raises(ConfigError, match="--cluster-by modle: none of the first 25 records "
                                          "has a field or metadata key 'modle'"):
        halluscope.audit(DATA, metrics="chair", cluster_by="modle", out=tmp_path / "o")
    with caplog.at_level(logging.WARNING, logger="halluscope.pipeline"):
        halluscope.audit(DATA, metrics="chair", by=["modle"], out=tmp_path / "p",
                         write_report=False)
    assert "--by modle: none of the first 25 records" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="halluscope.pipeline"):
        halluscope.audit(DATA, metrics="chair", cluster_by="model", by=["model"],
                         out=tmp_path / "q", write_report=False)
    assert "none of the first" not in caplog.text


def test_a_flag_option_that_is_no_flag_is_a_usage_error(tmp_path):
    """offline=maybe was taken for true (failing safe, but silently)."""
    from halluscope.adapters.offline import as_flag
    with pytest.raises(ConfigError, match="option 'offline': expected a flag .* got 'maybe'"):
        halluscope.audit(DATA, metrics="chair", options={"offline": "maybe"},
                         out=tmp_path / "o")
    assert [as_flag(v) for v in ("yes", "Off", 1, 0, "TRUE", None)] == [True, False, True,
                                                                      False, True, None]


@pytest.mark.parametrize("args,message", [
    (["--metric", "page", "--ocr", "nosuch"], "unknown OCR engine 'nosuch'"),
    (["--metric", "claims", "--option", "claims_analytic=bogus"],
     "expected claims_analytic in ('skip', 'include'), got 'bogus'"),
])
def test_option_values_no_metric_reads_are_usage_errors(tmp_path, args, message):
    """claims_analytic=bogus was taken for 'skip', and --ocr nosuch went unnoticed on PDFs
    with a text layer: exit 0 either way."""
    from typer.testing import CliRunner

    from halluscope.cli import app
    res = CliRunner().invoke(app, ["audit", str(DATA), *args, "--out", str(tmp_path / "o"),
                                   "--no-report", "-q"], env={"COLUMNS": "300"})
    assert res.exit_code == 2 and message in res.output, res.output


def test_a_setting_no_metric_of_the_audit_reads_is_a_warning_naming_its_readers(tmp_path,
                                                                                caplog):
    """``--gt-objects`` with ``--metric claims`` was left unused in silence (claims reads
    annotations and detectors, not CHAIR's ground truth): every claim came out unverifiable."""
    gt = tmp_path / "gt.json"
    gt.write_text('{"imid_to_objects": {"1": ["dog"]}}')
    with caplog.at_level(logging.WARNING, logger="halluscope.pipeline"):
        result = halluscope.audit(DATA, metrics="pope", write_report=False, gt_objects=gt,
                                  detector="coco-ssd", out=tmp_path / "o")
    assert result.metrics["pope"].n
    assert "--gt-objects (gt_objects) is read by chair, objhal; this audit runs pope, which " \
           "does not read it: it is left unused" in caplog.text
    assert "--detector (detector) is read by claims, faithscore, region" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="halluscope.pipeline"):
        halluscope.audit(DATA, metrics=("pope", "chair"), write_report=False, gt_objects=gt,
                         chair_variant="original", out=tmp_path / "p")
    assert "left unused" not in caplog.text
