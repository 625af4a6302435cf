"""Regressions for small defects bug hunts found: a resumed ``halluscope query --samples N``
that called every answer "not in prompts", the CHAIR ground-truth cache's keys, ``judges list``
exiting 0 over invalid specs, and ``$HALLUSCOPE_DATA`` naming a missing folder unnoticed."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from halluscope.cli import app


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _sheet(out):
    return json.loads(out.with_name(out.name + ".runsheet.json").read_text())


# -- 1. a resumed run with several samples per prompt ---------------------------------------
def _query(prompts, out, *extra):
    res = CliRunner().invoke(app, ["query", str(prompts), "-m", "mock/echo", "--no-cache",
                                   "-o", str(out), "--quiet", *extra])
    assert res.exit_code == 0, res.output
    return res


def test_a_resumed_run_with_samples_finds_its_answers_in_the_prompts(tmp_path, caplog):
    """Answers ``q0#0``, ``q0#1`` belong to prompt ``q0``: a resume must not call them
    answers to prompts the file no longer holds (it did, every one of them)."""
    prompts = _write(tmp_path / "p.jsonl", [{"id": f"q{i}", "prompt": f"say {i}"}
                                            for i in range(3)])
    out = tmp_path / "o.jsonl"
    _query(prompts, out, "--samples", "2", "--temperature", "0.7")
    res = _query(prompts, out, "--samples", "2", "--temperature", "0.7")
    assert "not in the prompts file" not in res.output
    assert "not in the prompts file" not in caplog.text
    assert "not_in_prompts" not in _sheet(out)
    ids = [json.loads(line)["id"] for line in out.read_text().splitlines()]
    assert ids == [f"q{i}#{k}" for i in range(3) for k in range(2)]


def test_samples_of_a_prompt_that_left_are_still_counted(tmp_path):
    """The fix compares the prompt an answer belongs to: samples of a prompt that left the
    prompts file are still named, and ids with their own '#' are not cut at it."""
    first = _write(tmp_path / "p1.jsonl", [{"id": "a#1", "prompt": "x"},
                                           {"id": "gone", "prompt": "y"}])
    second = _write(tmp_path / "p2.jsonl", [{"id": "a#1", "prompt": "x"}])
    out = tmp_path / "o.jsonl"
    _query(first, out, "--samples", "2", "--temperature", "0.7")
    res = _query(second, out, "--samples", "2", "--temperature", "0.7")
    assert _sheet(out)["not_in_prompts"] == {"count": 2, "examples": ["gone#0", "gone#1"]}
    assert "keeps 2 answer line(s)" in res.output


def test_an_id_with_a_hash_is_not_read_as_a_sample_of_another_prompt(tmp_path):
    """With one sample per prompt, the answer id ``a#1`` is the prompt id ``a#1``: when that
    prompt left and ``a`` stayed, ``a#1`` is not in the prompts (not a sample of ``a``)."""
    first = _write(tmp_path / "p1.jsonl", [{"id": "a", "prompt": "x"},
                                           {"id": "a#1", "prompt": "y"}])
    second = _write(tmp_path / "p2.jsonl", [{"id": "a", "prompt": "x"}])
    out = tmp_path / "o.jsonl"
    _query(first, out)
    _query(second, out)
    assert _sheet(out)["not_in_prompts"] == {"count": 1, "examples": ["a#1"]}
