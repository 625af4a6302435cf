"""Doubts left by the hunt of peer input formats (test_formats_hunt.py), each a defect fixed
here: VLMEvalKit answers 1/0 read as yes/no in every dataset; ids written as floats ("1.0");
POPE splits of lmms-eval >= 0.4 logs pooled; a progress total counting a v0.1-v0.2 log's lines."""

from __future__ import annotations

import json
from pathlib import Path

import halluscope
from halluscope.readers import count_input_records, iter_input_records, vlmevalkit_row


def _tsv(path: Path, rows: list[tuple[str, ...]]) -> Path:
    path.write_text("".join("\t".join(r) + "\n" for r in rows))
    return path


# -- 1. VLMEvalKit answers 1/0 -----------------------------------------------------------------
def test_a_vlmevalkit_answer_of_1_or_0_is_no_yes_no_label(tmp_path):
    """VLMEvalKit scores ``answer == extracted`` (Yes/No/Unknown: image_yorn.py), so no dataset
    of its has a truth 1/0 read as yes/no; a counting dataset's answers 0 and 1 became labels,
    made the rows yes-no items, and POPE could be inferred from them."""
    path = _tsv(tmp_path / "model_CountBench.tsv", [
        ("index", "question", "answer", "prediction", "category"),
        ("0", "How many dogs are there?", "1", "1", "count"),
        ("1", "How many cats are there?", "0", "2", "count"),
        ("2", "Is there a cat?", "Yes", "No", "existence")])
    recs = list(iter_input_records(path))
    assert [r.label for r in recs] == [None, None, "yes"]
    assert [r.metadata.get("answer") for r in recs[:2]] == ["1", "0"]
    assert [r.task for r in recs[:2]] == ["vqa", "vqa"]
    assert "label" not in vlmevalkit_row({"index": 3, "answer": 1, "prediction": "1"})


def test_hallusionbench_rows_keep_their_1_or_0_truth():
    row = vlmevalkit_row({"index": "VD_illusion_1_0_0_0", "question": "Is it?", "answer": "1",
                          "prediction": "Yes", "l2-category": "VD_illusion"})
    assert row["label"] == "yes"
    row = vlmevalkit_row({"index": 4, "answer": 0, "prediction": "No", "figure_id": 1})
    assert row["label"] == "no"


# -- 4. the progress total of an lmms-eval v0.1-v0.2 <task>.json --------------------------------
def _v02_log(path: Path, n: int) -> Path:
    samples = [{"doc_id": i, "doc": {"question_id": str(i), "question": "Is there a dog?",
                                     "answer": "yes", "category": "adversarial"},
                "target": "yes", "arguments": [["Is there a dog?", {"max_new_tokens": 8}]],
                "resps": [["Yes"]], "filtered_resps": ["Yes"]} for i in range(n)]
    path.write_text(json.dumps({"args": {"tasks": "pope_adv"}, "model_configs": {},
                                "logs": samples, "time": "0123_1456"}, indent=4))
    return path


def test_a_v02_task_json_counts_its_samples_not_its_lines(tmp_path):
    """count_input_records (the progress bar's total, by-order alignment checks) counted the
    non-blank lines of a v0.1-v0.2 ``<task>.json`` written with indent=4: ~30 per sample."""
    path = _v02_log(tmp_path / "pope_adv.json", 3)
    assert len(list(iter_input_records(path))) == 3
    assert count_input_records(path) == 3
    assert count_input_records(path, "lmms-eval") == 3


def test_a_v02_task_json_is_read_and_parsed_once(tmp_path, monkeypatch):
    """one_document read such a log 3 times whole (json.load, then line by line for the
    samples' lines; a large one's head a fourth time) and parsed it once: now it reads and
    parses it once, the lines found in the same text, as before (a BOM, Windows line ends)."""
    import halluscope.lmms_eval_log as lmms
    from halluscope.readers import _SMALL_JSON_BYTES
    path = _v02_log(tmp_path / "pope_adv.json", 4)
    crlf = tmp_path / "pope_adv_crlf.json"
    crlf.write_bytes(b"\xef\xbb\xbf" + path.read_bytes().replace(b"\n", b"\r\n"))
    opened, parsed = [], []
    real_open, real_loads = lmms.open_binary, json.loads
    monkeypatch.setattr(lmms, "open_binary", lambda p: opened.append(p) or real_open(p))
    monkeypatch.setattr(lmms.json, "loads", lambda t: parsed.append(1) or real_loads(t))
    for file in (path, crlf):
        opened.clear(), parsed.clear()
        logs = lmms.one_document(file, _SMALL_JSON_BYTES)
        starts = [n for n, line in enumerate(file.read_bytes().split(b"\n"), 1)
                  if line.rstrip(b"\r") == b" " * 8 + b"{"]
        assert [line for line, _ in logs] == starts and len(starts) == 4
        assert [obj["doc_id"] for _, obj in logs] == [0, 1, 2, 3]
        assert (opened, parsed) == ([file], [1])
        opened.clear()
        assert lmms.one_document(file, 100) is not None and opened == [file]   # read as large


# -- 2. ids written as floats ----------------------------------------------------------------
_QUESTIONS = [(1, "Is there a dog in the image?", "yes"), (2, "Is there a cat in the image?", "no"),
              (3, "Is there a car in the image?", "no")]


def _questions(tmp_path: Path) -> Path:
    path = tmp_path / "coco_pope_random.json"
    path.write_text("".join(json.dumps({"question_id": q, "image": "COCO_val2014_000000000139"
                                        ".jpg", "text": t, "label": lab}) + "\n"
                            for q, t, lab in _QUESTIONS))
    return path


def test_float_ids_are_refused_saying_they_are_floats(tmp_path):
    """An id written "1.0" (pandas saving an integer column that had a NaN; Excel) was refused
    as "question_id 1.0 is not in question file", which sends the user hunting for a wrong
    question file; it is refused (never read as 1 unasked) saying the ids are floats and how
    to write them; "1.5" is not an integer's float and keeps the plain message."""
    answers = tmp_path / "answers.csv"
    answers.write_text("question_id,text\n1.0,Yes\n2.0,No\n1.5,No\n3,No\n")
    res = halluscope.audit(answers, metrics="pope", questions=_questions(tmp_path), n_boot=0,
                           out=tmp_path / "o", write_report=False)
    messages = {e["line"]: e["message"] for e in res.errors}
    assert set(messages) == {2, 3, 4}
    for line in (2, 3):
        assert "written as a float" in messages[line] and "pandas" in messages[line]
        assert "Int64" in messages[line]
    assert "written as a float" not in messages[4] and "is not in question file" in messages[4]
    assert res.metrics["pope"].results["accuracy"].n == 1


def test_float_id_problem_names_only_an_integers_float_the_file_holds():
    from halluscope.metrics.pope_questions import float_id_problem
    assert "written as a float" in float_id_problem("7.00", {"7": 0})
    assert float_id_problem("7.5", {"7": 0}) is None          # never 1.5 -> 1
    assert float_id_problem("8.0", {"7": 0}) is None          # no such question either way
    assert float_id_problem("7", {"7": 0}) is None


# -- 3. POPE splits of lmms-eval >= 0.4 logs ----------------------------------------------------
def _v04_pope(path: Path, qids: list[str]) -> Path:
    lines = [{"doc_id": i, "target": "yes", "filtered_resps": "Yes",
              "input": "Is there a dog in the image?",
              "pope_accuracy": {"question_id": q, "score": 1.0, "prediction": "yes",
                                "ground_truth": "yes"}} for i, q in enumerate(qids)]
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return path


def test_lmms_eval_v04_pope_split_comes_from_the_file_name(tmp_path, caplog):
    """lmms-eval >= 0.4 drops doc.category: a POPE sample was in no split group. The split is
    taken from the file's name (dated as lmms-eval writes it), and said."""
    path = _v04_pope(tmp_path / "20250101_120000_samples_pope_adv.jsonl", ["1", "2"])
    with caplog.at_level("WARNING"):
        recs = list(iter_input_records(path))
    assert [(r.metadata.get("category"), r.metadata.get("split_from")) for r in recs] == \
        [("adversarial", "file name")] * 2
    assert sum("split 'adversarial' taken from the file's name" in m
               for m in caplog.messages) == 1
    res = halluscope.audit(path, metrics="pope", n_boot=0, out=tmp_path / "o",
                           write_report=False)
    assert res.metrics["pope"].groups["split:adversarial"]["accuracy"].n == 2
    for name, split in (("samples_pope_pop.jsonl", "popular"),
                        ("samples_pope_random_2024.jsonl", "random")):
        rec = next(iter_input_records(_v04_pope(tmp_path / name, ["1"])))
        assert rec.metadata["category"] == split


def test_lmms_eval_v04_pooled_pope_log_warns_splits_are_pooled(tmp_path, caplog):
    path = _v04_pope(tmp_path / "20250101_120000_samples_pope.jsonl", ["1", "1"])
    with caplog.at_level("WARNING"):
        recs = list(iter_input_records(path))
    assert all("category" not in r.metadata for r in recs)
    assert sum("splits cannot be told apart" in m for m in caplog.messages) == 1
