"""Small judge leftovers: the confidence scale a template declares, one warning per shared
judge, and the judge named in the console summary."""

from __future__ import annotations

import pytest

from halluscope.judges.parsers import PARSERS, parse_verdict_json, parse_verdict_json_percent


@pytest.mark.parametrize("given", ["4", "5", "10", "7", "90", "100"])
def test_a_rating_off_the_unit_scale_is_no_confidence_not_a_percentage(given):
    """`"confidence": 4` (a 1-5 or 1-10 rating) was read as 4% (0.04); the shipped template
    (judges/templates/verify_claim.txt) asks for a number from 0 to 1, so it is none given."""
    got = parse_verdict_json('{"verdict": "supported", "confidence": %s}' % given)
    assert got.ok and got.value == "supported" and got.confidence is None


def test_the_shipped_verify_template_declares_the_unit_scale():
    from pathlib import Path
    text = (Path(__file__).parent.parent / "judges/templates/verify_claim.txt").read_text()
    assert '"confidence": a number from 0 to 1' in text


@pytest.mark.parametrize("given,read", [
    ("90", 0.9), ("4", 0.04), ("100", 1.0), ("0", 0.0), ("37.5", 0.375), ("1", 0.01),
    ("0.7", None), ("101", None), ("-3", None), ("true", None)])
def test_a_percent_template_reads_percentages(given, read):
    """`verdict-json-percent` is for a template asking for 0 to 100: a fraction below 1 there
    (0.7: 0.7% or 70%?) is ambiguous and reads as none."""
    got = parse_verdict_json_percent('{"verdict": "hallucinated", "confidence": %s}' % given)
    assert got.ok and got.value == "hallucinated"
    assert got.confidence == (pytest.approx(read) if read is not None else None)
    assert PARSERS["verify"]["verdict-json-percent"] is parse_verdict_json_percent


def _shared_judge_audit(tmp_path, caplog, model_name, responder):
    import json
    import logging

    import halluscope
    from fake_openai_server import FakeServer
    from PIL import Image
    Image.new("RGB", (64, 64), "white").save(tmp_path / "a.png")
    (tmp_path / "ann.json").write_text(json.dumps({"images": {"a.png": {
        "size": [64, 64], "objects": [{"label": "dog", "box": [0, 0, 30, 30]}]}}}))
    from pathlib import Path
    spec = Path(__file__).resolve().parent / "judges" / "loopback-judge.toml"
    records = [{"id": "c1", "image": str(tmp_path / "a.png"), "task": "caption",
                "response": "A purple dog sits next to a zebra."}]
    caplog.set_level(logging.WARNING)
    with FakeServer(responder=responder, model_name=model_name) as server:
        return halluscope.audit(
            records=records, metrics="claims,faithscore", annotations=[tmp_path / "ann.json"],
            judge=str(spec), n_boot=0, cache_dir=tmp_path / "cache",
            options={"judge_base_url": server.url})


def test_a_shared_judges_warnings_are_said_once_naming_both_metrics(tmp_path, caplog):
    """claims and faithscore ask one judge; each of its warnings (pin mismatch, answers no
    parser reads, no confidence) was printed twice, once per metric, with the same counts."""
    _shared_judge_audit(tmp_path, caplog, "served-model", lambda p, b: "no idea")
    text = caplog.text
    assert "claims and faithscore (one shared judge): the judge is pinned to" in text
    assert "could not be parsed" in text
    for warning in ("the judge is pinned to", "could not be parsed"):
        assert text.count(warning) == 1, text
    assert "\nclaims: the judge" not in text and "faithscore: the judge" not in text


def test_warnings_that_differ_per_metric_stay_per_metric():
    """Only a line both metrics would say word for word is merged."""
    from halluscope.scoring import judge_failures_note
    judge = {"pin_mismatch": True, "model": "m", "reported_models": {"x": 2}, "provider": "o"}
    infos = {"claims": {"judge": judge, "judge_reliability": {"calls": 4, "call_failures": 1}},
             "faithscore": {"judge": judge, "judge_reliability": {"calls": 4, "call_failures": 2}},
             "pope": {"judge": judge, "judge_reliability": {"calls": 1}}}
    lines = judge_failures_note(infos, [["claims", "faithscore"]])
    assert [ln.split(":")[0] for ln in lines] == [
        "claims", "claims and faithscore (one shared judge)", "faithscore", "pope"]
    assert "failed 1 of 4" in lines[0] and "failed 2 of 4" in lines[2]
    # without the sharing known, two judges with equal counts are not merged
    assert len(judge_failures_note(infos)) == 5


def _cli_audit(tmp_path, model_name, faults=None, *extra):
    import json
    from pathlib import Path

    from fake_openai_server import FakeServer
    from PIL import Image
    from typer.testing import CliRunner

    from halluscope.cli import app
    Image.new("RGB", (64, 64), "white").save(tmp_path / "a.png")
    (tmp_path / "ann.json").write_text(json.dumps({"images": {"a.png": {
        "size": [64, 64], "objects": [{"label": "dog", "box": [0, 0, 30, 30]}]}}}))
    (tmp_path / "out.jsonl").write_text(json.dumps(
        {"id": "c1", "image": str(tmp_path / "a.png"), "task": "caption",
         "response": "A purple dog sits next to a zebra."}) + "\n")
    spec = Path(__file__).resolve().parent / "judges" / "loopback-judge.toml"
    verdict = json.dumps({"verdict": "hallucinated", "confidence": 0.8, "reason": "no"})
    with FakeServer(responder=lambda p, b: verdict, model_name=model_name,
                    faults=faults or {}) as server:
        return CliRunner().invoke(app, [
            "audit", str(tmp_path / "out.jsonl"), "--metric", "claims,faithscore",
            "--annotations", str(tmp_path / "ann.json"), "--judge", str(spec),
            "--option", f"judge_base_url={server.url}", "--cache-dir", str(tmp_path / "cache"),
            "--bootstrap", "0", "--out", str(tmp_path / "run"), *extra], env={"COLUMNS": "80"})


@pytest.mark.parametrize("served,faults,status", [
    ("loopback-judge-2025-01-01", None, "pin verified"),
    ("other-model", None, "pin MISMATCH"),
    ("loopback-judge-2025-01-01", {"no_model": 1.0}, "pin unverified (3 answers)")])
def test_the_console_summary_names_the_judge_and_its_pin(tmp_path, served, faults, status):
    """Only the run sheet and the report named the judge; the console said nothing of which
    judge decided the claims nor whether its server bore the pin out."""
    res = _cli_audit(tmp_path, served, faults)
    line = next((ln for ln in res.output.splitlines() if ln.startswith("judge ")), None)
    assert line is not None, res.output
    assert line == f"judge loopback-judge@1 · loopback-judge-2025-01-01 · {status}", line
    assert len(line) <= 80 and res.output.count("\njudge loopback-judge@1") == 1


@pytest.mark.parametrize("served,status", [("loopback-judge-2025-01-01", "pin verified"),
                                           ("other-model", "pin MISMATCH")])
def test_a_quiet_audit_still_names_its_judge_and_pin(tmp_path, served, status):
    """``--quiet`` printed nothing of which judge decided the claims nor whether its server
    bore the pin out (a pin that held said nothing at all): the judge line is part of the
    numbers' trust, so quiet keeps it, on stderr as its other lines, stdout left empty."""
    res = _cli_audit(tmp_path, served, None, "--quiet")
    assert res.exit_code == 0, res.output
    lines = [ln for ln in res.stderr.splitlines() if ln.startswith("judge ")]
    assert lines == [f"judge loopback-judge@1 · loopback-judge-2025-01-01 · {status}"]
    assert res.stdout == ""


def test_several_judges_each_get_a_line_naming_their_metrics():
    from types import SimpleNamespace as NS

    from halluscope.report.console import judge_lines
    a = {"name": "a", "version": 2, "pin": "openai/m", "model": "m", "reported_models": {"m": 1}}
    b = {"name": "b", "version": 1, "pin": "hf/q@" + "c" * 40, "model": "q",
         "revision": "c" * 40, "reported_models": {}}
    result = NS(metrics={"claims": NS(info={"judge": a}), "faithscore": NS(info={"judge": a}),
                         "mmhal": NS(info={"judge": b}), "chair": NS(info={})})
    assert [t.plain for t in judge_lines(result)] == [
        "judge a@2 · m · pin verified (claims, faithscore)",
        "judge b@1 · q@cccccccccccc · pin unverified (no model named) (mmhal)"]
