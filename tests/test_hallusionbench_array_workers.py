"""HallusionBench's own answer layout (one JSON array of every answer, as its evaluation.py
reads and ``json.dump`` writes it, on one line) spread over ``--workers`` as JSON Lines are.
The audit counted the records of a file by its lines, so a one-line array was one record and
``--workers 2`` ran one process ("capped at the 1 records"), and Ray cut it into blocks of
the fewest rows; an indented array counted ~14 "records" an answer. Now an array counts its
elements (:func:`halluscope.json_array.count_array_elements`), and the results are the ones
one process writes."""

from __future__ import annotations

import gzip
import io
import json
import random
from pathlib import Path

import pytest

import halluscope
from halluscope import json_array
from halluscope.errors import RecordError
from halluscope.readers import count_input_records, iter_input_records
from tests.test_workers import comparable


def hb_rows(sets: int = 6) -> list[dict]:
    """VD question sets (two figures by three questions), answered by a rule of their ids:
    rows of HallusionBench.json plus ``model_prediction``, as the original reads them."""
    rows = []
    for s in range(sets):
        for fig in ("0", "1"):
            for q in ("0", "1", "2"):
                right = (s + int(fig) + int(q)) % 3 != 0
                truth = (s + int(q)) % 2
                yes = bool(truth) == right
                rows.append({"category": "VD", "subcategory": ["illusion", "math"][s % 2],
                             "visual_input": "1" if fig == "0" else "2", "set_id": str(s),
                             "figure_id": fig, "question_id": q,
                             "question": f"Is it so ({s}, {fig}, {q})?",
                             "gt_answer_details": "It is so.", "gt_answer": str(truth),
                             "model_prediction": "Yes, it is." if yes else "No."})
    return rows


def _audit(answers: Path, out: Path, **kw):
    return halluscope.audit(answers, metrics="hallusionbench", n_boot=200, out=out,
                            write_report=False,
                            options={"hallusionbench_variant": "vlmevalkit"}, **kw)


# -- counting ----------------------------------------------------------------------------------
def _counted(data: bytes, block: int, monkeypatch) -> int | None:
    monkeypatch.setattr(json_array, "_COUNT_BLOCK", block)
    return json_array.count_array_elements(io.BytesIO(data))


def test_an_array_is_counted_by_its_elements_on_any_lines(tmp_path):
    rows = hb_rows(2)
    files = {"one-line.json": json.dumps(rows), "indented.json": json.dumps(rows, indent=4),
             "bom.json": "\ufeff \n" + json.dumps(rows), "lines.jsonl":
             "".join(json.dumps(r) + "\n" for r in rows)}
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    with gzip.open(tmp_path / "one-line.json.gz", "wt") as fh:
        fh.write(json.dumps(rows))
    for path in tmp_path.iterdir():
        read = list(iter_input_records(path))
        assert len(read) == count_input_records(path) == len(rows), path.name
    (tmp_path / "empty.json").write_text(" [ \n ] \n")
    assert count_input_records(tmp_path / "empty.json") == 0


def test_strings_and_block_ends_do_not_move_the_count(monkeypatch):
    """Brackets, commas, quotes and backslashes inside strings are not the array's; a block
    may end anywhere (inside a string, an escape, a BOM), the count is the same."""
    rng = random.Random(3)
    letters = 'ab,[]{}":\\ \u00e9\u2028'

    def value(depth: int = 0):
        pick = rng.random()
        if depth < 3 and pick < 0.2:
            return [value(depth + 1) for _ in range(rng.randint(0, 3))]
        if depth < 3 and pick < 0.4:
            return {"".join(rng.choice(letters) for _ in range(3)) + str(k): value(depth + 1)
                    for k in range(rng.randint(0, 3))}
        if pick < 0.8:
            return "".join(rng.choice(letters) for _ in range(rng.randint(0, 6)))
        return rng.choice([0, -1.5, True, None, 1e20])

    for _ in range(300):
        items = [value() for _ in range(rng.randint(0, 5))]
        data = json.dumps(items, indent=rng.choice([None, 1]),
                          ensure_ascii=rng.random() < 0.5).encode()
        data = (b"\xef\xbb\xbf" if rng.random() < 0.3 else b"") + data + b"\n"
        for block in (1, 2, 5, 1 << 20):
            assert _counted(data, block, monkeypatch) == len(items), (block, data)
    assert _counted(b'{"id": 1}\n', 4, monkeypatch) is None         # JSON lines
    assert _counted(b"  \n", 4, monkeypatch) is None


# -- workers -----------------------------------------------------------------------------------
def test_the_array_layout_spreads_over_workers_with_the_one_process_results(tmp_path):
    rows = hb_rows()
    rows.insert(9, "not an answer row")             # a bad entry, named by file and position
    answers = tmp_path / "HallusionBench_result.json"
    answers.write_text(json.dumps(rows))            # one line
    one = _audit(answers, tmp_path / "one", workers=1)
    two = _audit(answers, tmp_path / "two", workers=2)
    assert two.runsheet["execution"]["engine"] == "processes"
    assert two.runsheet["execution"]["workers"] == 2
    assert two.runsheet["execution"]["workers_from"] == "--workers"
    assert comparable(tmp_path / "one") == comparable(tmp_path / "two")
    assert one.metrics["hallusionbench"].n == 36
    errors = comparable(tmp_path / "two")[0]["errors"]
    assert [(e["file"], e["line"]) for e in errors] == [(str(answers), 1)]
    assert "element 10 of the array" in errors[0]["message"]


def test_an_interrupted_array_audit_on_workers_resumes_to_the_same_results(tmp_path):
    answers = tmp_path / "HallusionBench_result.json"
    answers.write_text(json.dumps(hb_rows()))
    _audit(answers, tmp_path / "one", workers=1)

    def stop_at(progress):
        if progress.done == 20:
            raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        _audit(answers, tmp_path / "cut", workers=2, on_progress=stop_at)
    assert (tmp_path / "cut" / "items.journal.part").exists()
    resumed = _audit(answers, tmp_path / "cut", workers=2, resume=True)
    assert resumed.runsheet["execution"]["workers"] == 2
    assert comparable(tmp_path / "one") == comparable(tmp_path / "cut")


def test_a_broken_array_is_still_read_up_to_the_break(tmp_path):
    """A count past the break is only a progress bar's: the reader's bad record says where."""
    answers = tmp_path / "cut.json"
    text = json.dumps(hb_rows(1))
    answers.write_text(text[: len(text) // 2])
    read = list(iter_input_records(answers))
    assert isinstance(read[-1], RecordError) and read[-1].location.file == str(answers)
    assert count_input_records(answers) >= len(read)
