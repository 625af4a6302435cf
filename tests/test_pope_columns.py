"""POPE scored as columns gives every number, interval bound, error and bookkeeping entry that
scoring line by line gives."""

from __future__ import annotations

import json
import random

import pytest

import halluscope.metrics.pope_answers as pope_answers
from halluscope.columns import read_record_columns
from halluscope.errors import AlignmentError, RecordError
from halluscope.metrics.pope import PopeMetric, score_answers
from halluscope.metrics.pope_columns import score_columns
from halluscope.records import iter_records

pytest.importorskip("pyarrow", reason="the columnar path needs pyarrow (the tables extra)")

OBJECTS = ["dog", "cat", "dining table", "person", "umbrella"]
ANSWERS = ["Yes", "No", "No, there is not.", "Not sure.", "I see a {o}.", "yes", "NO"]


def _jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _questions(tmp_path, n=60, *, ids=True, images=True, split=None):
    rows = []
    for i in range(1, n + 1):
        o = OBJECTS[i % len(OBJECTS)]
        row = {"text": f"Is there a {o} in the image?", "label": "yes" if i % 3 else "no"}
        if ids:
            row["question_id"] = i
        if images:
            row["image"] = f"{(i - 1) // 6}.jpg"
        if split:
            row["category"] = split
        rows.append(row)
    return _jsonl(tmp_path / "coco_pope_random.json", rows)


def _answers(tmp_path, questions, *, seed=0, drop=(), extra=(), model=None, ask=True, mess=()):
    rng = random.Random(seed)
    rows = []
    for line in questions.read_text().splitlines():
        q = json.loads(line)
        qid = q.get("question_id")
        if qid in drop:
            continue
        o = q["text"].split("a ", 1)[1].split(" in")[0]
        row = {"answer": rng.choice(ANSWERS).format(o=o)}
        if qid is not None:
            row["question_id"] = qid
        if ask:
            row["question"] = q["text"]
        if model:
            row["model_id"] = model
        rows.append(row)
    for i in mess:     # a different question asked
        rows[i]["question"] = "Is there a giraffe in the image?"
    rows.extend({**row, "model_id": model} if model else row for row in extra)
    return _jsonl(tmp_path / "answers.jsonl", rows)


def _both(answers, questions, **kw):
    assert read_record_columns(answers) is not None
    fast = score_answers(answers, questions, **kw)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pope_answers, "_score_chunks", lambda *args: None)
        slow = score_answers(answers, questions, **kw)
    assert json.dumps(fast, sort_keys=True) == json.dumps(slow, sort_keys=True)
    return fast


@pytest.mark.parametrize("kw", [{}, {"n_boot": 200, "seed": 3}, {"parser": "vlmevalkit"},
                                {"parser": "lmms-eval", "n_boot": 50}, {"align": "order"}])
def test_clean_answers_score_the_same(tmp_path, kw):
    q = _questions(tmp_path)
    out = _both(_answers(tmp_path, q), q, **kw)
    assert not out["errors"] and len(out["predictions"]) == 60


def test_unknown_ids_repeats_mismatches_and_conflicts_score_the_same(tmp_path):
    q = _questions(tmp_path)
    extra = [{"question_id": 999, "question": "Is there a dog in the image?", "answer": "Yes"},
             {"question_id": 4, "question": "Is there a umbrella in the image?", "answer": "No"},
             {"question_id": 5, "question": "Is there a person in the image?", "answer": "Yes"}]
    a = _answers(tmp_path, q, drop={7, 8}, extra=extra, mess=(2, 10), seed=1)
    out = _both(a, q, n_boot=100)
    fields = sorted(e["field"] for e in out["errors"])
    assert fields == ["question", "question", "question", "question_id"]
    assert out["info"]["repeated_answers"] == 1 and out["info"]["question_mismatches"] == 3
    assert _both(a, q, check_questions=False)["info"]["repeated_answers"] == 2


def test_integer_ids_align_as_their_strings_do(tmp_path):
    """Integer ids on both sides align by a search in the numbers: the index pyarrow's
    ``index_in`` gives for their decimal strings, sorted keys or not, found or not."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from halluscope.metrics.pope_columns import index_of_numbers
    rng = np.random.default_rng(5)
    for keys in (np.arange(1, 41), rng.permutation(np.arange(-20, 20) * 7), np.array([3]),
                 np.array([], dtype=np.int64)):
        values = rng.integers(-200, 200, 300)
        expected = pc.index_in(pa.array([str(v) for v in values]),
                               value_set=pa.array([str(k) for k in keys], pa.string()))
        assert index_of_numbers(values, keys).tolist() == \
            [-1 if i is None else i for i in expected.to_pylist()]
    # a question file numbered out of order, answers with unknown and string ids
    q = _questions(tmp_path)
    rows = [json.loads(line) for line in q.read_text().splitlines()]
    random.Random(2).shuffle(rows)
    q = _jsonl(q, rows)
    extra = [{"question_id": 999, "question": "Is there a dog in the image?", "answer": "Yes"},
             {"question_id": -3, "question": "Is there a dog in the image?", "answer": "No"}]
    out = _both(_answers(tmp_path, q, extra=extra, seed=4), q, n_boot=50)
    assert [e["field"] for e in out["errors"]] == ["question_id", "question_id"]
    assert len(out["predictions"]) == 62 and out["predictions"][60:] == [None, None]
    texts = _answers(tmp_path, q, seed=4).read_text().replace('"question_id": ', '"question_id": "')
    texts = texts.replace(', "question":', '", "question":')
    a = tmp_path / "answers.jsonl"
    a.write_text(texts)                             # string ids: they still align by their text
    assert not _both(a, q, n_boot=50)["errors"]


def test_answers_with_their_own_labels_and_no_question_file_score_the_same(tmp_path):
    rows = [{"question": f"Is there a {o} in the image?", "answer": a, "label": lab}
            for o, a, lab in zip(OBJECTS * 4, ANSWERS * 3, ["yes", "no"] * 10)]
    a = _jsonl(tmp_path / "answers.jsonl", rows)
    out = _both(a, None, n_boot=100)
    assert out["info"]["aligned_by"] == {"label": 20}


def test_a_question_file_without_ids_or_images_aligns_by_order_the_same(tmp_path):
    q = _questions(tmp_path, n=30, ids=False, images=False, split="adversarial")
    a = _answers(tmp_path, q, ask=False)
    out = _both(a, q, n_boot=100)
    assert out["info"]["aligned_by"] == {"order": 30}
    assert "split:adversarial" in out["groups"]


def test_answers_carrying_their_own_split_group_by_it_the_same(tmp_path):
    q = _jsonl(tmp_path / "questions.jsonl", [
        {"question_id": i, "text": f"Is there a {OBJECTS[i % 5]} in the image?",
         "label": "yes" if i % 2 else "no"} for i in range(1, 25)])
    rows = [json.loads(line) for line in _answers(tmp_path, q).read_text().splitlines()]
    a = _jsonl(tmp_path / "answers.jsonl", [
        {**r, "answer_id": i, "category": ["Random", "popular", ""][i % 3]}
        for i, r in enumerate(rows)])
    out = _both(a, q, n_boot=50)
    assert {"split:random", "split:popular"} <= set(out["groups"])


def test_answers_past_the_question_file_by_order_fail_the_same(tmp_path):
    q = _questions(tmp_path, n=12, ids=False)
    rows = [{"question": "Is there a dog in the image?", "answer": "Yes"} for _ in range(13)]
    a = _jsonl(tmp_path / "answers.jsonl", rows)
    metric = PopeMetric(q, n_boot=0, check_questions=False)   # no begin(): the line fails
    with pytest.raises(AlignmentError, match="answer number 13 has no question"):
        score_columns(metric, read_record_columns(a))
    slow = PopeMetric(q, n_boot=0, check_questions=False)
    with pytest.raises(AlignmentError, match="answer number 13 has no question"):
        for rec in iter_records(a):
            slow.update(rec)


def _stream(metric, path):
    errors = []
    for rec in iter_records(path):
        if not metric.applies_to(rec):
            continue
        try:
            metric.update(rec)
        except RecordError as exc:
            errors.append(exc.to_dict())
    return errors


@pytest.mark.parametrize("options", [{}, {"cluster_by": "item"}, {"by": ()},
                                     {"by": ("model", "image_id")}, {"by": ("answer_id",)},
                                     {"cluster_by": "answer_id"}])
def test_the_metric_state_is_the_same_as_line_by_line(tmp_path, options):
    q = _questions(tmp_path)
    a = _answers(tmp_path, q, model="llava-1.5", extra=[
        {"question_id": 77, "question": "Describe the image.", "answer": "A dog."}], seed=2)
    rows = [json.loads(line) for line in a.read_text().splitlines()]
    a = _jsonl(a, [{**r, "answer_id": f"x{i % 7}", "metadata": {}} for i, r in enumerate(rows)])
    fast, slow = PopeMetric(q, n_boot=100, seed=5), PopeMetric(q, n_boot=100, seed=5)
    for m in (fast, slow):
        for k, v in options.items():
            setattr(m, k, v)
        m.begin([a])
    scored = score_columns(fast, read_record_columns(a))
    assert scored.outcome.count("skip") == 1 and "vqa record" in scored.skips[60]
    errors = [scored.errors[i].to_dict() for i in sorted(scored.errors)]
    assert errors == _stream(slow, a)
    fast.finish()
    slow.finish()
    one, two = fast.compute().to_dict(), slow.compute().to_dict()
    assert json.dumps(one, sort_keys=True) == json.dumps(two, sort_keys=True)
    if options.get("by") == ("model", "image_id"):
        assert "model:llava-1.5" in one["groups"]


def _audit_both(tmp_path, inputs, **options):
    import halluscope
    import halluscope.pipeline as pipeline
    fast = halluscope.audit(inputs, metrics="pope", out=tmp_path / "fast", **options)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pipeline, "score_columns", lambda *a, **k: None)
        slow = halluscope.audit(inputs, metrics="pope", out=tmp_path / "slow", **options)
    for name in ("fast", "slow"):
        assert (tmp_path / name / "items.jsonl").is_file()
    items = [[json.loads(line) for line in open(tmp_path / name / "items.jsonl")]
             for name in ("fast", "slow")]
    assert items[0] == items[1]
    assert json.dumps(fast.metrics["pope"].to_dict(), sort_keys=True) == \
        json.dumps(slow.metrics["pope"].to_dict(), sort_keys=True)
    assert fast.errors == slow.errors
    assert (len(fast.items), fast.n_skipped) == (len(slow.items), slow.n_skipped)
    return fast, items[0]


def test_an_audit_of_flat_answer_files_gives_the_line_by_line_items_and_results(tmp_path):
    q = _questions(tmp_path)
    extra = [{"question_id": 999, "question": "Is there a dog in the image?", "answer": "Yes"},
             {"question_id": 61, "question": "Describe the image.", "answer": "A dog."}]
    a = _answers(tmp_path, q, extra=extra, mess=(2,), model="m1")
    other = tmp_path / "more"
    other.mkdir()
    b = _answers(other, _questions(other), seed=4, model="m2")
    result, items = _audit_both(tmp_path, [a, b], questions=q, n_boot=100)
    assert len(items) == 122 and result.n_skipped == 1
    assert sorted(e["field"] for e in result.errors) == ["question", "question_id"]
    assert items[61]["skipped"].startswith("no selected metric (pope) applies")
    groups = result.metrics["pope"].groups
    assert "model:m1" in groups and "model:m2" in groups


def test_a_strict_audit_stops_at_the_first_bad_answer_the_same(tmp_path):
    import halluscope
    from halluscope.errors import RecordError as Bad
    q = _questions(tmp_path)
    a = _answers(tmp_path, q, mess=(5, 9))
    with pytest.raises(Bad) as caught:
        halluscope.audit(a, metrics="pope", questions=q, strict=True, out=tmp_path / "o")
    assert caught.value.location.line == 6


def test_the_fold_beside_the_items_is_waited_for_and_its_failure_raised(tmp_path, monkeypatch):
    import threading

    import halluscope
    from halluscope.errors import RecordError as Bad
    q = _questions(tmp_path)
    a = _answers(tmp_path, q, mess=(5,))
    folded = []

    def slow_fold(self, cols, scores):
        threading.Event().wait(0.2)           # still folding when the bad line is written
        folded.append(scores)

    monkeypatch.setattr(PopeMetric, "fold_columns", slow_fold)
    with pytest.raises(Bad) as caught:      # the items' error, after the fold has ended
        halluscope.audit(a, metrics="pope", questions=q, strict=True, out=tmp_path / "o")
    assert caught.value.location.line == 6 and len(folded) == 1
    assert not [t for t in threading.enumerate() if t.name.startswith("halluscope-fold")]

    def failing_fold(self, cols, scores):
        raise MemoryError("no room for the replicates")

    monkeypatch.setattr(PopeMetric, "fold_columns", failing_fold)
    with pytest.raises(MemoryError, match="no room"):
        halluscope.audit(a, metrics="pope", questions=q, out=tmp_path / "o2")
    assert not (tmp_path / "o2" / "results.json").exists()


@pytest.mark.parametrize("rows", [
    [{"question_id": 1, "image": "a.jpg", "text": "Is there a dog in the image?",
      "label": " Yes", "category": "Popular"},
     {"question_id": 2, "image": "a.jpg", "text": "Is there a cat in the image?",
      "label": "no", "category": ""}],
    [{"question_id": "q1", "question": "Is there a dog in the image?", "answer": "NO"},
     {"question_id": "q2", "question": "Is there a car in the image?", "answer": "yes"}],
    [{"text": "Is there a dog in the image?", "label": "yes"}],
])
def test_question_files_read_whole_equal_those_read_line_by_line(tmp_path, rows):
    import gzip
    import hashlib

    from halluscope.metrics.pope_questions import load_questions
    import halluscope.metrics.pope_questions as pope_questions
    flat = _jsonl(tmp_path / "coco_pope_adversarial.json", rows)
    packed = tmp_path / "coco_pope_adversarial.json.gz"      # read whole, decompressed
    packed.write_bytes(gzip.compress(flat.read_bytes()))
    import halluscope.column_chunks as column_chunks
    assert pope_questions._flat_question_columns(flat, "adversarial") is not None
    assert pope_questions._flat_question_columns(packed, "adversarial") is not None
    whole, packed_whole = load_questions(flat), load_questions(packed)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(column_chunks, "CHUNK_BYTES", 90)      # a line or two per chunk
        chunked = load_questions(packed)
        mp.setattr(pope_questions, "_flat_question_columns", lambda *a, **k: None)
        by_line = load_questions(flat)
    assert packed_whole.sha256 != whole.sha256               # the bytes as stored
    for got, path in ((whole, flat), (packed_whole, packed), (chunked, packed), (by_line, flat)):
        assert got.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    for name in ("ids", "texts", "labels", "images", "splits", "lines", "by_id", "has_ids",
                 "questions"):
        assert getattr(whole, name) == getattr(by_line, name), name
        assert getattr(packed_whole, name) == getattr(by_line, name), name
        assert getattr(chunked, name) == getattr(by_line, name), name
    for name in ("texts", "labels", "images", "splits"):     # values in the same order too
        assert chunked.coded(name).values == whole.coded(name).values, name


@pytest.mark.parametrize("name", ["coco_pope_random.json", "coco_pope_random.json.gz"])
def test_a_question_file_read_as_columns_is_opened_once_and_hashed_as_read(
        tmp_path, monkeypatch, name):
    """Its sha256 (of the bytes as stored, compressed ones too) is taken from the chunks as
    they are read, not by reading the file a second time."""
    import builtins
    import gzip
    import hashlib

    import halluscope.column_chunks as column_chunks
    from halluscope.metrics.pope_questions import load_questions
    text = _questions(tmp_path).read_bytes()
    path = tmp_path / name
    path.write_bytes(gzip.compress(text) if name.endswith(".gz") else text)
    monkeypatch.setattr(column_chunks, "CHUNK_BYTES", 200)       # a few lines per chunk
    opened, real = [], builtins.open
    monkeypatch.setattr(builtins, "open", lambda f, *a, **k: opened.append(f) or real(f, *a, **k))
    got = load_questions(path)
    monkeypatch.undo()
    assert [f for f in opened if str(f) == str(path)] == [path] and len(got) == 60
    assert got.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_scoring_as_columns_does_not_import_pandas(tmp_path):
    import subprocess
    import sys
    q = _questions(tmp_path)
    a = _answers(tmp_path, q, drop={3})
    code = ("import sys\nfrom halluscope.metrics.pope import score_answers\n"
            f"out = score_answers({str(a)!r}, {str(q)!r}, n_boot=20)\n"
            "assert len(out['predictions']) == 59, out['errors']\n"
            "import halluscope\n"      # an audit writes its items from columns too
            f"res = halluscope.audit({str(a)!r}, metrics='pope', questions={str(q)!r}, "
            f"out={str(tmp_path / 'out')!r}, write_report=False)\n"
            "assert res.runsheet['execution']['scored'] == 'as columns (whole files)'\n"
            "print('pandas' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "False"


@pytest.mark.parametrize("chunk, packed, read", [(1 << 16, False, None), (5, False, None),
                                                 (1, False, None), (1 << 16, True, None),
                                                 (1 << 16, False, 700), (3, True, 300)])
def test_items_written_as_columns_are_the_line_by_line_items_to_the_byte(
        tmp_path, monkeypatch, chunk, packed, read):
    """Items put together from whole columns (halluscope.column_json) are, line for line, the
    bytes the line-by-line path writes (Ray, or any file not read whole, wrote them with
    spaces before): quotes, backslashes, control
    characters and non-ASCII text in ids, questions, answers and image names included, and
    error lines at any place in a chunk of lines (``chunk``) and in a file read a few lines at
    a time (``read`` bytes: halluscope.column_chunks)."""
    import halluscope.column_chunks as column_chunks
    import halluscope.column_scoring as column_scoring
    from halluscope._json import dumps_finite
    monkeypatch.setattr(column_scoring, "ITEM_CHUNK", chunk)
    if read:
        monkeypatch.setattr(column_chunks, "CHUNK_BYTES", read)
    q = _questions(tmp_path)
    rows = [json.loads(line) for line in _answers(tmp_path, q).read_text().splitlines()]
    odd = ['Yes "quoted" \\ back', "No\nnew line\ttab \x01", "Oui, é 日本 \u2028", 'No."']
    for i, row in enumerate(rows):
        row["answer"] = odd[i % len(odd)] if i % 3 == 0 else row["answer"]
        # (the question's image, named oddly: an answer naming another image is a bad record)
        row["image"] = f'd"ir\\{i // 6}.jpg' if i % 2 else f"{i // 6}.jpg"
    rows[4]["question"] = 'Is there a "dog" in the image?'       # a mismatch: an error line
    rows[5]["question_id"] = 7000                                 # at the end of a chunk
    rows.append({"question_id": 5000, "question": "Is there a cat in the image?",
                 "answer": "Yes", "image": "x.jpg"})              # an unknown id
    a = _jsonl(tmp_path / 'ans"wers.jsonl', rows)
    if packed:                          # gzip-compressed: read whole too, decompressed
        import gzip
        a = a.with_name(a.name + ".gz")
        a.write_bytes(gzip.compress(a.with_suffix("").read_bytes()))
    result, _ = _audit_both(tmp_path, a, questions=q, n_boot=20)
    assert result.runsheet["execution"]["scored"].startswith("as columns"), result.runsheet
    lines, slow = ((tmp_path / name / "items.jsonl").read_text(encoding="utf-8").split("\n")[:-1]
                   for name in ("fast", "slow"))     # (a U+2028 in a string is not a line end)
    assert len(lines) == len(slow) == 61
    assert lines == [dumps_finite(json.loads(line)) for line in slow]
    assert lines == slow            # and the line-by-line path writes the same bytes
    assert len(result.errors) == 3


@pytest.mark.parametrize("ids, whole", [([3, 1, 2], True), ([1, 2, 1], False), ([2, 5, 2], False),
                                        (["a", "b", "a"], False), (["b", "a", "c"], True)])
def test_a_question_file_with_a_repeated_id_is_read_line_by_line_to_name_the_line(
        tmp_path, ids, whole):
    from halluscope.metrics.pope_questions import _flat_question_columns, load_questions
    rows = [{"question_id": qid, "image": "a.jpg", "text": "Is there a dog in the image?",
             "label": "yes"} for qid in ids]
    path = _jsonl(tmp_path / "q.jsonl", rows)
    assert (_flat_question_columns(path, None) is not None) == whole
    if whole:
        assert load_questions(path).ids == [str(q) for q in ids]
    else:
        with pytest.raises(Exception, match=r"appears twice \(first on line 1\)"):
            load_questions(path)


def test_answers_that_do_not_repeat_the_question_are_pope_answers(tmp_path):
    """``{"question_id", "text"}``, as the README lists POPE answer files: nothing in the line
    says it answers a question, so it was read as a caption and skipped ('pope scored
    nothing'); with a question file, an answer to one of its numbered questions is scored,
    the same on the whole-file and the line-by-line path."""
    import halluscope
    questions = tmp_path / "q.jsonl"
    questions.write_text("".join(json.dumps({"question_id": i, "image": f"{i % 5}.jpg",
                                             "text": "Is there a dog in the image?",
                                             "label": "yes" if i % 2 else "no"}) + "\n"
                                 for i in range(1, 31)))
    flat = tmp_path / "a.jsonl"
    flat.write_text("".join(json.dumps({"question_id": i, "text": "Yes" if i % 3 else "No"})
                            + "\n" for i in range(1, 31)))
    mixed = tmp_path / "b.jsonl"                    # a list answer: read line by line
    mixed.write_text(flat.read_text() + json.dumps({"question_id": 31, "text": ["x"]}) + "\n")
    whole = halluscope.audit(flat, metrics="pope", questions=questions, out=tmp_path / "w",
                             n_boot=50, write_report=False)
    import halluscope.pipeline as pipeline
    with pytest.MonkeyPatch.context() as mp:      # (its bad line alone is read line by line)
        mp.setattr(pipeline, "score_columns", lambda *a, **k: None)
        lines = halluscope.audit(mixed, metrics="pope", questions=questions,
                                 out=tmp_path / "l", n_boot=50, write_report=False)
    assert whole.runsheet["execution"]["scored"].startswith("as columns")
    assert lines.runsheet["execution"]["scored"].startswith("record by record")
    # the engine is named either way (columns are scored in this process)
    assert whole.runsheet["execution"]["engine"] == lines.runsheet["execution"]["engine"] \
        == "local"
    assert whole.metrics["pope"].n == lines.metrics["pope"].n == 30
    assert whole.metrics["pope"].to_dict() == lines.metrics["pope"].to_dict()


def test_an_answer_without_its_id_in_a_file_aligned_by_id_is_one_bad_record(tmp_path):
    """It was aligned by order, and the whole audit stopped: 'has 10 answers but question
    file has 30' (a count of the file's lines, not the problem). By order stays where the
    file holds one answer per question (tests/test_pope.py)."""
    import halluscope
    questions = tmp_path / "q.jsonl"
    questions.write_text("".join(json.dumps({"question_id": i, "image": f"{i}.jpg",
                                             "text": "Is there a dog in the image?",
                                             "label": "yes"}) + "\n" for i in range(1, 31)))
    answers = tmp_path / "a.jsonl"
    rows = [{"question_id": i, "question": "Is there a dog in the image?", "answer": "Yes"}
            for i in range(1, 11)]
    rows[6]["question_id"] = None
    answers.write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = halluscope.audit(answers, metrics="pope", questions=questions, n_boot=0,
                              out=tmp_path / "o", write_report=False)
    assert result.metrics["pope"].n == 9
    assert [(e["line"], e["field"]) for e in result.errors] == [(7, "question_id")]


@pytest.mark.parametrize("key", ["text", "answer"])
@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz"])
def test_answer_files_in_shards_score_as_the_one_file_they_split(tmp_path, key, suffix):
    """Two ``{"question_id", "text"|"answer"}`` shards died with 'IndexError: index 1500 is out
    of bounds' (their lines were left to the line path, which added rows to the metric while
    the columns' fold ran beside it). Hand-worked: labels yes on odd ids; answers no on ids
    3, 6, 9, 12: tp 1 5 7 11, fn 3 9, fp 2 4 8 10, tn 6 12."""
    import gzip

    import halluscope
    questions = tmp_path / "q.jsonl"
    questions.write_text("".join(json.dumps({"question_id": i, "image": f"{(i - 1) // 3}.jpg",
                                             "text": "Is there a dog in the image?",
                                             "label": "yes" if i % 2 else "no"}) + "\n"
                                 for i in range(1, 13)))
    lines = [json.dumps({"question_id": i, key: "No" if i % 3 == 0 else "Yes"}) + "\n"
             for i in range(1, 13)]

    def write(name, part):
        path = tmp_path / (name + suffix)
        data = "".join(part).encode()
        path.write_bytes(gzip.compress(data) if suffix.endswith(".gz") else data)
        return path

    shards = [write("shard1", lines[:7]), write("shard2", lines[7:])]
    one = write("all", lines)
    run = {"metrics": "pope", "questions": questions, "n_boot": 200, "seed": 1,
           "write_report": False}
    two = halluscope.audit(shards, out=tmp_path / "two", **run)
    whole = halluscope.audit(one, out=tmp_path / "one", **run)
    pope = two.metrics["pope"].to_dict()
    assert [pope[k]["value"] for k in ("tp", "fp", "tn", "fn")] == [4, 4, 2, 2]
    assert pope["accuracy"]["value"] == 0.5 and pope["precision"]["value"] == 0.5
    assert pope["recall"]["value"] == pytest.approx(4 / 6)
    assert pope["f1"]["value"] == pytest.approx(4 / 7)
    assert pope == whole.metrics["pope"].to_dict()      # intervals and groups too
    assert two.runsheet["execution"]["scored"].startswith("as columns")

    def items(out):
        rows = [json.loads(line) for line in (out / "items.jsonl").read_text().splitlines()]
        return [{k: v for k, v in row.items() if k != "source"} for row in rows]

    assert items(tmp_path / "two") == items(tmp_path / "one")
    assert len(items(tmp_path / "two")) == 12


def _six_questions(tmp_path):
    """Six questions, labels yes on odd ids."""
    objects = ["dog", "cat", "car", "bus", "cup", "tie"]
    return _jsonl(tmp_path / "q.jsonl", [
        {"question_id": i, "image": f"{i}.jpg", "text": f"Is there a {objects[i - 1]} in the "
         "image?", "label": "yes" if i % 2 else "no"} for i in range(1, 7)])


# evaluate.py's input: answers alone, aligned by order. Hand-worked with the original parser:
# 1 yes/yes tp, 2 no/no tn, 3 no/yes fn, 4 yes/no fp, 5 yes/yes tp, 6 no/no tn
EVALUATE_ANSWERS = ["Yes", "No, there is not.", "no", "Yes, there is a cat.", "There is a bus.",
                    "No"]


def test_answers_alone_align_by_order_when_asked_as_evaluate_py_scores_them(tmp_path):
    """``{"answer"}`` lines were skipped as captions ('pope scored nothing'), even with
    ``--pope-align order``; score_answers scored them. Both paths now score them by order."""
    q = _six_questions(tmp_path)
    a = _jsonl(tmp_path / "answers.jsonl", [{"answer": t} for t in EVALUATE_ANSWERS])
    result, items = _audit_both(tmp_path, a, questions=q, pope_align="order", n_boot=0,
                                write_report=False)
    pope = {k: r.value for k, r in result.metrics["pope"].results.items()}
    assert [pope[k] for k in ("tp", "fp", "tn", "fn")] == [2, 1, 2, 1]
    assert pope["accuracy"] == pytest.approx(4 / 6) and pope["yes_ratio"] == 0.5
    assert pope["precision"] == pope["recall"] == pope["f1"] == pytest.approx(2 / 3)
    assert [i["pope"]["question_id"] for i in items] == [str(i) for i in range(1, 7)]
    assert result.errors == [] and result.n_skipped == 0
    captions = _jsonl(tmp_path / "captions.jsonl", [{"image_id": 1, "caption": "A dog."}] * 2)
    other = tmp_path / "with-captions"
    other.mkdir()
    both, _ = _audit_both(other, [captions, a], questions=q, pope_align="order", n_boot=0,
                          write_report=False)   # captions of images are no POPE answers
    assert both.metrics["pope"].n == 6 and both.n_skipped == 2 and both.errors == []
    api = score_answers(a, q)                        # every line a POPE answer: by order
    assert api["info"]["align"] == "order"
    assert [api["metrics"][k] for k in ("tp", "fp", "tn", "fn", "n")] == [2, 1, 2, 1, 6]


def test_answers_alone_without_align_order_are_refused_saying_how(tmp_path):
    """Without ``--pope-align order`` nothing checks such a line's position: each is a bad
    line saying to pass it, and the audit exits 2 (scored nothing)."""
    import subprocess
    import sys
    q = _six_questions(tmp_path)
    a = _jsonl(tmp_path / "answers.jsonl", [{"answer": t} for t in EVALUATE_ANSWERS])
    result, _ = _audit_both(tmp_path, a, questions=q, n_boot=0, write_report=False)
    assert [(e["line"], e["field"]) for e in result.errors] == [(i, "question_id")
                                                                 for i in range(1, 7)]
    assert all("--pope-align order" in e["message"] for e in result.errors)
    done = subprocess.run([sys.executable, "-m", "halluscope", "audit", str(a), "--metric",
                           "pope", "--questions", str(q), "--out", str(tmp_path / "cli"),
                           "--no-report", "--bootstrap", "0", "-q"],
                          capture_output=True, text=True, timeout=120)
    text = " ".join(done.stderr.split())
    assert done.returncode == 2 and "pope scored nothing" in text
    assert "--pope-align order" in text


def test_an_answer_alone_in_a_file_aligned_by_id_is_a_bad_line_and_counts_are_right(tmp_path):
    """The line without an id was skipped silently (exit 0); score_answers aligned it by order
    and then refused the file as having '2 answers' (it has 3)."""
    q = _six_questions(tmp_path)
    a = _jsonl(tmp_path / "mixed.jsonl", [{"question_id": 1, "answer": "Yes"},
                                          {"answer": "No"},
                                          {"question_id": 3, "answer": "Yes"}])
    result, items = _audit_both(tmp_path, a, questions=q, n_boot=0, write_report=False)
    assert result.metrics["pope"].results["tp"].value == 2
    assert result.metrics["pope"].n == 2 and result.n_skipped == 0
    assert [(e["line"], e["field"]) for e in result.errors] == [(2, "question_id")]
    api = score_answers(a, q)
    assert api["metrics"]["tp"] == 2 and api["predictions"] == ["yes", None, "yes"]
    assert [e["line"] for e in api["errors"]] == [2]
    with pytest.raises(AlignmentError,
                       match=r"has 3 answers \(non-blank lines\) but question file .* has 6"):
        score_answers(a, q, align="order")


def test_an_answer_nested_too_deep_is_one_bad_record_not_the_end_of_the_audit(tmp_path):
    """A line nested 2,000 deep sends the file line by line (not flat), where it made json raise
    RecursionError and the audit end with exit 3; it is one bad record, the rest scored."""
    import halluscope
    q = tmp_path / "q.jsonl"
    q.write_text('{"question_id": 1, "image": "a.jpg", "text": "Is there a dog?", "label": "yes"}\n'
                 '{"question_id": 2, "image": "a.jpg", "text": "Is there a cat?", "label": "no"}\n')
    a = tmp_path / "a.jsonl"
    a.write_text('{"question_id": 1, "answer": "Yes"}\n'
                 '{"question_id": 2, "answer": "No", "meta": ' + "[" * 2000 + "]" * 2000 + "}\n")
    assert read_record_columns(a) is None
    result = halluscope.audit(a, metrics="pope", questions=q, out=tmp_path / "o", n_boot=0)
    assert [(e["line"], e["message"][:30]) for e in result.errors] == \
        [(2, "invalid JSON: expected JSON ne")]
    assert result.metrics["pope"].results["accuracy"].value == 1.0
