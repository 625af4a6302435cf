"""compare on an audit of a query run that did not finish (partialdiff): the audit marks its
results.json partial and decides no gate on it, and a diff gate on a comparison with such a
run is not decided either, unless ``compare --allow-unfinished-query`` says to judge it."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from conftest import pope_prompt_file
import halluscope
from halluscope.cli import EXIT_GATE, EXIT_OK, app
from halluscope.comparison import compare, diff_gate_failures

runner = CliRunner()


@pytest.fixture
def runs(tmp_path):
    """``full``: an audit of a POPE query of 8 questions that finished; ``part``: of the same
    query interrupted after 5 answers or so (so that more than half of the items pair)."""
    prompts = pope_prompt_file(tmp_path)

    def stop(counts):
        if counts.new >= 5:
            raise KeyboardInterrupt
    halluscope.query(prompts, "mock/yes-no", out=tmp_path / "full.jsonl", cache=False)
    with pytest.raises(KeyboardInterrupt):
        halluscope.query(prompts, "mock/yes-no", out=tmp_path / "part.jsonl", cache=False,
                         progress=stop)
    for name in ("full", "part"):
        halluscope.audit(tmp_path / f"{name}.jsonl", metrics=["pope"], n_boot=0,
                         out=tmp_path / name)
    held = len((tmp_path / "part.jsonl").read_text().splitlines())
    assert 4 < held < 8
    return tmp_path / "full", tmp_path / "part", held


def _compare(a, b, out, *more):
    return runner.invoke(app, ["compare", str(a), str(b), "--out", str(out), "--bootstrap", "0",
                               "--fail-above", "diff.pope.accuracy=0.5", *more])


def test_a_diff_gate_on_a_partial_run_fails_as_not_decided(runs, tmp_path):
    """``compare full part --fail-above diff.pope.accuracy=0.5`` passed (exit 0) on 6 answers
    of 8 requests; it now exits 1 naming the partial side, its input and what it lacks, and
    says so beside the table, in compare.json and compare.html."""
    full, part, held = runs
    out = tmp_path / "cmp"
    res = _compare(full, part, out)
    assert res.exit_code == EXIT_GATE, res.output
    text = " ".join(res.output.split())
    said = (f"B ({part}) is partial: input {part}.jsonl is from a query run that did not "
            f"finish ({held} of 8 requests answered, {8 - held} missing; ")
    squashed = "".join(text.split())        # a long path may fold anywhere
    assert "".join(f"diff.pope.accuracy: not decided: {said}".split()) in squashed, text
    assert "compare --allow-unfinished-query" in text
    assert "PARTIAL:" in text and "no diff gate is decided on this comparison" in text
    data = json.loads((out / "compare.json").read_text())
    assert data["partial"] is True and data["allow_unfinished_query"] is False
    (entry,) = data["comparisons"][0]["partial"]["b"]
    assert "a" not in data["comparisons"][0]["partial"]
    assert (entry["input"], entry["requests"], entry["answered"], entry["missing"]) == (
        f"{part}.jsonl", 8, held, 8 - held)
    html = (out / "compare.html").read_text()
    assert "Partial:" in html and f"{held} of 8 requests answered" in html
    # the lead's gate parser on compare.json decides the same
    (failure,) = diff_gate_failures(data, above={"diff.pope.accuracy": 0.5})
    assert "not decided" in failure

    # the partial side as the baseline (A) too
    res = _compare(part, full, tmp_path / "cmp2")
    assert res.exit_code == EXIT_GATE
    assert f"A({part})ispartial" in "".join(res.output.split())


def test_the_opt_in_judges_the_gates_and_is_recorded(runs, tmp_path):
    full, part, _ = runs
    out = tmp_path / "cmp"
    res = _compare(full, part, out, "--allow-unfinished-query")
    assert res.exit_code == EXIT_OK, res.output
    assert "the diff gates were judged on them" in " ".join(res.output.split())
    data = json.loads((out / "compare.json").read_text())
    assert data["partial"] is True and data["allow_unfinished_query"] is True
    assert diff_gate_failures(data, above={"diff.pope.accuracy": 0.5}) == []
    assert "judged on them" in (out / "compare.html").read_text()
    # in Python, as the CLI
    result = compare([full, part], n_boot=0)
    assert "not decided" in diff_gate_failures(result, above={"diff.pope.accuracy": 0.5})[0]
    allowed = compare([full, part], n_boot=0, allow_unfinished_query=True)
    assert diff_gate_failures(allowed, above={"diff.pope.accuracy": 0.5}) == []


def test_finished_runs_compare_as_before(runs, tmp_path):
    full, _, _ = runs
    out = tmp_path / "cmp"
    res = _compare(full, full.with_name("full"), out)
    assert res.exit_code == EXIT_OK, res.output
    assert "PARTIAL" not in res.output
    data = json.loads((out / "compare.json").read_text())
    assert "partial" not in data and "allow_unfinished_query" not in data
    assert "partial" not in data["comparisons"][0]


def test_counts_are_written_whole_as_in_results_json(runs, tmp_path):
    """compare.json wrote POPE's tp as ``"a": 1.0`` where results.json writes ``1``; a count
    that is whole is now an int (its difference too), and a rate stays a float."""
    full, part, _ = runs
    result = compare([full, part], n_boot=0, out=tmp_path / "cmp",
                     allow_unfinished_query=True)
    data = json.loads((tmp_path / "cmp" / "compare.json").read_text())
    results = json.loads((full / "results.json").read_text())
    for stat in ("tp", "fp", "tn", "fn"):
        entry = data["metrics"][f"pope.{stat}"]
        assert entry["count"] is True
        assert [type(entry[k]) for k in ("a", "b", "diff")] == [int, int, int], entry
        assert type(results["metrics"]["pope"][stat]["value"]) is int
    assert entry["a"] == result.metrics["pope.fn"]["a"]
    accuracy = data["metrics"]["pope.accuracy"]
    assert [type(accuracy[k]) for k in ("a", "b", "diff")] == [float, float, float]


def test_a_partial_marker_without_its_inputs_is_refused(tmp_path):
    """A results.json saying partial but not which inputs (or the reverse) is damaged: it is
    refused naming the file and fields, never read as finished."""
    from halluscope.compare_runs import unfinished_of
    from halluscope.errors import ConfigError
    assert unfinished_of(tmp_path, {"metrics": {}}) == ()
    for bad in ({"partial": True}, {"unfinished_inputs": [{"input": "x"}]},
                {"partial": True, "unfinished_inputs": []}):
        with pytest.raises(ConfigError, match="results.json: fields 'partial' and "
                                              "'unfinished_inputs'"):
            unfinished_of(tmp_path, bad)
