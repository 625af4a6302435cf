"""Benchmarks that align the i-th answer with the i-th question count answers, not lines: one
blank line moved every later answer onto the next question (Object HalBench, Reefknot's pairs,
MMHal-Bench's template) without a word."""

from __future__ import annotations

import json

import pytest

import halluscope
from tests.conftest import shared_data_dir


def _values(result, name):
    return {k: r.value for k, r in result.metrics[name].results.items()}


@pytest.mark.parametrize("metric", ["objhal", "reefknot"])
def test_a_blank_line_does_not_move_the_answers(tmp_path, metric):
    data = shared_data_dir()
    if data is None:
        pytest.skip("../shared/data is absent")
    ref = data / "reference" / metric / "answers"
    if metric == "objhal":
        lines = (ref / "objhal_answers.synth.jsonl").read_text().splitlines()[:20]
        kw = dict(questions=data / "objhal" / "questions_standin_300.jsonl",
                  gt_objects=ref / "gt_objects.json")
    else:
        lines = (ref / "YESNO.synth_answers.jsonl").read_text().splitlines()[:20]
        kw = dict(options={"reefknot_variant": "original"})
    plain, blank = tmp_path / "plain.jsonl", tmp_path / "blank.jsonl"
    plain.write_text("\n".join(lines) + "\n")
    blank.write_text(lines[0] + "\n\n" + "\n".join(lines[1:]) + "\n")
    a = halluscope.audit(plain, metrics=metric, out=tmp_path / "a", n_boot=0,
                         write_report=False, **kw)
    b = halluscope.audit(blank, metrics=metric, out=tmp_path / "b", n_boot=0,
                         write_report=False, **kw)
    assert json.dumps(_values(a, metric)) == json.dumps(_values(b, metric))


def test_position_counts_records_not_lines(tmp_path):
    from halluscope.metrics.positions import position
    from halluscope.records import iter_records
    path = tmp_path / "a.jsonl"
    path.write_text('{"id": "a", "caption": "x"}\n\n\n{"id": "b", "caption": "y"}\n'
                    '   \n{"id": "c", "caption": "z"}\n')
    assert [position(r) for r in iter_records(path)] == [0, 1, 2]
