"""Gates are checked inside the audit's own plan (``run_audit``'s ``check_plan``), once, against
the metrics it builds: the CLI, the Python API and the pytest plugin's auditor share it. It
was a preflight of the CLI's own that resolved the inputs and inferred the metrics a second
time (a table read whole twice) and that notebooks and the plugin never ran."""

from __future__ import annotations

import builtins
import json
import os
from pathlib import Path

import pytest

import halluscope
from halluscope.errors import UnknownNameError
from halluscope.gates import check_gates, parse_gates
from test_plugin_hunt import pope_project  # noqa: F401 - the plugin hunt's POPE project
from words_metric import RECORDS, Words

pytest_plugins = ["pytester"]


def test_the_api_stops_at_a_wrong_gate_before_it_scores_or_writes(tmp_path, monkeypatch):
    scored = []
    monkeypatch.setattr(Words, "score", lambda self, rec: scored.append(rec.id))
    out = tmp_path / "out"
    with pytest.raises(UnknownNameError, match=r"^parse_gates\(above=\['words.rat=0.1'\]\): "
                                               r"metric 'words' has no statistic 'rat'; did you "
                                               r"mean 'rate'"):
        halluscope.audit(records=RECORDS, metrics=[Words(n_boot=0)], out=out,
                         gates=parse_gates(above=["words.rat=0.1"]))
    with pytest.raises(UnknownNameError, match=r"no metric 'word' in this audit; did you mean "
                                               r"'words'\? \(it runs: words\)"):
        halluscope.audit(records=RECORDS, metrics=[Words(n_boot=0)], out=out,
                         gates=parse_gates(below=["word.rate=0.1"]))
    assert scored == [] and not out.exists()


def test_a_weak_gate_is_warned_about_once_through_the_api(caplog):
    """Warned before scoring, and ``check_gates`` with the result's ``gates_warned`` does not
    say it again; a gate the audit was not given is warned about when it is judged."""
    gates = parse_gates(above=["words.rate@lower=0.9"])
    with caplog.at_level("WARNING"):
        result = halluscope.audit(records=RECORDS, metrics=[Words(n_boot=200)], gates=gates)
    said = [r.getMessage() for r in caplog.records if "passes more easily" in r.getMessage()]
    assert len(said) == 1 and said[0].startswith("parse_gates(above=['words.rate@lower=0.9']): ")
    assert result.gates_warned == {"words.rate@lower=0.9"}
    caplog.clear()
    with caplog.at_level("WARNING"):
        assert check_gates(result, gates, warned=result.gates_warned) == []
    assert caplog.text == ""
    with caplog.at_level("WARNING"):
        assert check_gates(result, parse_gates(above=["words.rate@lower=0.95"])) == []
    assert "passes more easily" in caplog.text


def _pope_table(folder: Path, n: int = 60) -> tuple[Path, Path]:
    questions, answers = folder / "questions.jsonl", folder / "answers.csv"
    questions.write_text("".join(json.dumps(
        {"question_id": i, "image": f"COCO_val2014_{i // 6:012d}.jpg",
         "text": "Is there a dog in the image?", "label": "yes" if i % 2 else "no"}) + "\n"
        for i in range(1, n + 1)), encoding="utf-8")
    answers.write_text("question_id,question,answer\n" + "".join(
        f"{i},Is there a dog in the image?,{'Yes' if i % 3 else 'No'}\n"
        for i in range(1, n + 1)), encoding="utf-8")
    return questions, answers


def test_gates_add_no_read_of_the_inputs(tmp_path, monkeypatch):
    """The CLI's preflight opened a table three more times and read it whole once more (the
    metrics inferred from it again); the check in the plan reads nothing of its own."""
    from typer.testing import CliRunner

    import halluscope.gates.preflight as preflight
    from halluscope.cli import app
    questions, answers = _pope_table(tmp_path)
    opens, checks = [], []
    real_open, real_check = builtins.open, preflight.check_gates_ahead

    def counting_open(file, *args, **kwargs):
        if isinstance(file, (str, os.PathLike)) and Path(file) == answers:
            opens.append(file)
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", counting_open)
    monkeypatch.setattr(preflight, "check_gates_ahead",
                        lambda *a: checks.append(a) or real_check(*a))
    counted = {}
    import halluscope.hashing as hashing
    for gate in ([], ["--fail-below", "pope.f1=0.1", "--fail-above", "pope.yes_ratio=0.9"]):
        opens.clear()
        # each run as a fresh process: digests one audit took are not the next one's to reuse
        monkeypatch.setattr(hashing, "_KNOWN", {})
        res = CliRunner().invoke(app, ["audit", str(answers), "--questions", str(questions),
                                       "--quiet", "--bootstrap", "0", "--no-report",
                                       "--out", str(tmp_path / "out"), *gate])
        assert res.exit_code == 0, res.output
        counted[bool(gate)] = len(opens)
    assert counted[True] == counted[False] > 0, counted
    assert len(checks) == 1                 # once, for both gates
    [(gates, config, built)] = checks
    assert [g.spec for g in gates] == ["pope.yes_ratio=0.9", "pope.f1=0.1"]
    assert config.metrics == ("pope",) and [m.name for m in built] == ["pope"]


def test_the_plugins_auditor_passes_gates_to_the_audit(pope_project):
    pope_project.makepyfile(test_gate='''
from halluscope.gates import check_gates, parse_gates

def test_wrong(halluscope_auditor):
    halluscope_auditor.audit(n_boot=0, gates=parse_gates(below=["pope.f11=0.5"]))

def test_right(halluscope_auditor):
    gates = parse_gates(below=["pope.f1=0.5"])
    result = halluscope_auditor.audit(n_boot=0, gates=gates)
    assert check_gates(result, gates, warned=result.gates_warned) == []
''')
    result = pope_project.runpytest()
    result.assert_outcomes(failed=1, passed=1)
    assert ("halluscope audit failed: parse_gates(below=['pope.f11=0.5']): metric 'pope' has no "
            "statistic 'f11'; did you mean 'f1'?") in result.stdout.str()


def test_gate_messages_name_the_gate_as_the_caller_wrote_it():
    """Gates given in Python were named by the command line's flags (``--fail-above ...``),
    which the caller never wrote (the command line keeps its flags: test_gate_doubts.py)."""
    from halluscope.errors import ConfigError
    from halluscope.gates import Gate
    audit = dict(records=RECORDS, metrics=[Words(n_boot=0)])
    with pytest.raises(ConfigError) as err:
        halluscope.audit(**audit, gates=parse_gates(below=["words.rate=12"]))
    said = str(err.value)
    assert said.startswith("parse_gates(below=['words.rate=12']): ") and "--fail" not in said
    with pytest.raises(ConfigError) as err:
        parse_gates(above=["words.rate@lowr=0.1"])
    assert str(err.value).startswith("parse_gates(above=...): unknown bound 'lowr'")
    with pytest.raises(UnknownNameError) as err:       # a Gate built by hand
        halluscope.audit(**audit, gates=[Gate("words.rat", "below", 0.1)])
    assert str(err.value).startswith("gate 'words.rat=0.1': metric 'words' has no statistic")


@pytest.mark.parametrize("bound,meant", [("UPPER", "upper"), ("Lower", "lower")])
def test_a_bound_in_capitals_is_refused_before_scoring(bound, meant):
    """``chair.chair_i@UPPER=0.2`` was taken for a group named 'UPPER': the whole audit ran,
    then "no group 'UPPER' (groups: none)". It is now an unknown bound at once, naming @upper."""
    from halluscope.errors import ConfigError
    with pytest.raises(ConfigError, match=rf"unknown bound '{bound}' .*did you mean @{meant}\?"):
        parse_gates(above=[f"words.rate@{bound}=0.1"])


def test_a_group_named_like_a_bound_is_a_group():
    """MMHal's question-type groups are plain words: ``--fail-above
    mmhal.hallucination_rate@other=0.5`` was refused as "unknown bound 'other': did you mean
    @lower?", so the 'other' questions could not be gated."""
    (gate,) = parse_gates(above=["mmhal.hallucination_rate@other=0.5"])
    assert gate.name == "mmhal.hallucination_rate@other" and gate.bound is None
    (gate,) = parse_gates(above=["mmhal.hallucination_rate@other@upper=0.5"])
    assert gate.name == "mmhal.hallucination_rate@other" and gate.bound == "upper"


@pytest.mark.parametrize("gate", ["words.rate@lower@upper=0.1", "words.rate@=0.1",
                                  "words.rate@@upper=0.1", "words.rate@upper@=0.1"])
def test_two_bounds_or_an_empty_group_are_refused_before_scoring(gate):
    """``pope.f1@lower@upper=0.8`` read 'lower' as a group and ``pope.f1@=0.8`` an empty one:
    both were looked up after the whole audit had run ("no group 'lower'")."""
    from halluscope.errors import ConfigError
    with pytest.raises(ConfigError, match=r"expected one @GROUP and one "
                                          r"@BOUND at most"):
        parse_gates(below=[gate])
    assert parse_gates(below=["words.rate@model:a@2024@upper=0.1"])[0].name == \
        "words.rate@model:a@2024"


def test_a_crossed_gate_says_by_how_much():
    """The command line prints a failed gate's first line, which said the value and the
    threshold but not how far apart (the full assertion message does): it now ends "(by X)".
    A gate that failed for want of a value or an interval gets no margin."""
    result = halluscope.audit(records=RECORDS, metrics=[Words(n_boot=0)])
    rate = result.get("words.rate").value
    [line] = check_gates(result, parse_gates(below=[f"words.rate={rate + 0.05:.4f}"]),
                         warn=False)
    assert line == (f"words.rate: value {rate:.4f} is below the threshold {rate + 0.05:g} "
                    f"(by 0.0500)")
    [line] = check_gates(result, parse_gates(above=["words.rate@upper=0.99"]), warn=False)
    assert "no confidence interval" in line and "(by" not in line
