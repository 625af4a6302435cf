"""The ``query`` -> ``audit`` workflow as a user runs it (queryhunt): an audit of a query run
that did not finish says so and records who answered; prompts reach the model in prompt
order, so the output file grows as answers arrive. Servers are loopback ones (127.0.0.1)."""

from __future__ import annotations

import json
import logging

import pytest
from PIL import Image

import halluscope


@pytest.fixture
def pope_prompts(tmp_path):
    """Eight POPE questions (labels alternate no/yes) on two tiny images."""
    for n in range(2):
        Image.new("RGB", (8, 8), (40 * n, 90, 200)).save(tmp_path / f"img{n}.png")
    path = tmp_path / "pope.jsonl"
    path.write_text("".join(json.dumps({
        "question_id": i, "image": f"img{i % 2}.png", "text": f"Is there a dog {i} in the image?",
        "label": "yes" if i % 2 else "no"}) + "\n" for i in range(8)))
    return path


def _stop_after(n):
    def progress(counts):
        if counts.new >= n:
            raise KeyboardInterrupt
    return progress


def test_an_audit_of_a_query_run_that_did_not_finish_says_so(pope_prompts, tmp_path, caplog):
    """An interrupted query leaves the answers it got; the prompts it never asked are in no
    line. The audit scored those answers as if they were the whole benchmark, exit 0, without a
    word: it now warns (naming the file, how many of how many requests were answered) and the
    run sheet's ``query_runs`` records the run as unfinished, with the model that answered."""
    out = tmp_path / "out.jsonl"
    with pytest.raises(KeyboardInterrupt):
        halluscope.query(pope_prompts, "mock/yes-no", out=out, cache=False,
                         progress=_stop_after(3))
    held = len(out.read_text().splitlines())
    assert 3 <= held < 8
    with caplog.at_level(logging.WARNING):
        result = halluscope.audit(out, metrics=["pope"], out=tmp_path / "audit", n_boot=0)
    assert result.metrics["pope"].results["tp"].value + result.metrics["pope"].results[
        "fn"].value + result.metrics["pope"].results["fp"].value + result.metrics[
        "pope"].results["tn"].value == held
    notes = [r.getMessage() for r in caplog.records if "did not finish" in r.getMessage()]
    assert len(notes) == 1 and str(out) in notes[0]
    assert f"answers to {held} of the 8 requests" in notes[0]
    assert "interrupted (Ctrl-C)" in notes[0]
    sheet = json.loads((tmp_path / "audit" / "runsheet.json").read_text())
    (run,) = sheet["query_runs"]
    assert run["finished"] is False and run["answered"] == held and run["requests"] == 8
    assert run["model"]["provider"] == "mock" and run["decoding"]["temperature"] == 0.0

    # finished by a resume: the same audit is quiet, and the run sheet says it finished
    halluscope.query(pope_prompts, "mock/yes-no", out=out, cache=False)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        halluscope.audit(out, metrics=["pope"], out=tmp_path / "audit2", n_boot=0)
    assert not [r for r in caplog.records if "did not finish" in r.getMessage()]
    sheet = json.loads((tmp_path / "audit2" / "runsheet.json").read_text())
    assert sheet["query_runs"][0]["finished"] is True
    assert sheet["query_runs"][0]["answered"] == 8


def test_a_killed_query_run_and_an_unreadable_query_run_sheet_are_said(pope_prompts, tmp_path,
                                                                      caplog):
    """A run killed (kill -9) leaves only the run sheet written at its start: no counts, but
    not finished. A query run sheet that cannot be read is said, not guessed at. A file with
    no query run sheet beside it is audited as before, with no ``query_runs``."""
    out = tmp_path / "out.jsonl"
    halluscope.query(pope_prompts, "mock/yes-no", out=out, cache=False)
    sheet_path = tmp_path / "out.jsonl.runsheet.json"
    sheet = json.loads(sheet_path.read_text())
    started = {k: sheet[k] for k in ("halluscope_runsheet", "kind", "model", "decoding",
                                     "system_prompt", "samples", "detail")}
    sheet_path.write_text(json.dumps({**started, "aborted": "the run did not finish (killed "
                                                            "before it wrote its run sheet)"}))
    with caplog.at_level(logging.WARNING):
        halluscope.audit(out, metrics=["pope"], out=tmp_path / "a1", n_boot=0)
    (note,) = [r.getMessage() for r in caplog.records if "did not finish" in r.getMessage()]
    assert "killed" in note and "some of its prompts only" in note

    sheet_path.write_text('{"kind": "query", "model": ')
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        halluscope.audit(out, metrics=["pope"], out=tmp_path / "a2", n_boot=0)
    (note,) = [r.getMessage() for r in caplog.records if "cannot be read" in r.getMessage()]
    assert str(sheet_path) in note
    run = json.loads((tmp_path / "a2" / "runsheet.json").read_text())["query_runs"][0]
    assert run["finished"] is None

    sheet_path.unlink()
    halluscope.audit(out, metrics=["pope"], out=tmp_path / "a3", n_boot=0)
    assert "query_runs" not in json.loads((tmp_path / "a3" / "runsheet.json").read_text())

