"""Answer files read as columns a chunk at a time (halluscope.column_chunks): the same records,
results, interval bounds and item bytes as the file read whole, and a file that a later chunk
shows is not flat goes line by line, with nothing written twice."""

from __future__ import annotations

import gzip
import json
import random

import pytest

import halluscope
import halluscope.column_chunks as column_chunks
from halluscope.columns import read_record_columns

OBJECTS = ["dog", "cat", "car", "person", "umbrella", "dining table"]
ANSWERS = ["Yes", "No", "Yes, there is a {o}.", "No, there is no {o}.", "Not sure.", "NO"]


def _jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _files(tmp_path, n=240, *, ids=True, seed=0):
    rng = random.Random(seed)
    questions, answers = [], []
    for i in range(1, n + 1):
        o = OBJECTS[i % len(OBJECTS)]
        text = f"Is there a {o} in the image?"
        questions.append({"question_id": i, "image": f"{(i - 1) // 6}.jpg", "text": text,
                          "label": "yes" if i % 3 else "no"})
        row = {"question_id": i} if ids else {}
        row.update(question=text, answer=rng.choice(ANSWERS).format(o=o))
        answers.append(row)
    return (_jsonl(tmp_path / "answers.jsonl", answers),
            _jsonl(tmp_path / "coco_pope_random.json", questions))


def _audit(tmp_path, name, answers, **options):
    result = halluscope.audit(answers, metrics="pope", out=tmp_path / name, n_boot=200,
                              write_report=False, **options)
    results = json.loads((tmp_path / name / "results.json").read_text())
    for key in ("run_id", "outputs", "digest", "wall_time_s", "started", "finished"):
        results.pop(key, None)
    return result, results, (tmp_path / name / "items.jsonl").read_bytes()


def _no_volatile(value):
    if isinstance(value, dict):
        return {k: _no_volatile(v) for k, v in value.items()
                if k not in ("run_id", "outputs", "digest", "wall_time_s", "started", "finished")}
    if isinstance(value, list):
        return [_no_volatile(v) for v in value]
    return value


@pytest.mark.parametrize("ids, packed", [(True, False), (False, False), (True, True)])
def test_an_audit_read_a_few_lines_at_a_time_is_the_audit_read_whole(tmp_path, monkeypatch,
                                                                     ids, packed):
    """Every value, every interval bound and every byte of items.jsonl: the bootstrap weights
    come from each image's name, never from the chunk it falls in, and the replicates of
    one-hot rows are exact sums in any grouping (an image's six answers split over chunks)."""
    answers, questions = _files(tmp_path, ids=ids)
    if packed:
        answers = answers.with_name("answers.jsonl.gz")
        answers.write_bytes(gzip.compress(answers.with_name("answers.jsonl").read_bytes()))
    options = {"questions": questions} if ids else {"questions": questions,
                                                     "pope_align": "order"}
    whole, whole_results, whole_items = _audit(tmp_path, "whole", answers, **options)
    monkeypatch.setattr(column_chunks, "CHUNK_BYTES", 300)     # three or four lines a chunk
    chunked, chunked_results, chunked_items = _audit(tmp_path, "chunked", answers, **options)
    assert chunked.runsheet["execution"]["scored"] == "as columns (whole files)"
    assert chunked_items == whole_items
    assert _no_volatile(chunked_results) == _no_volatile(whole_results)
    pope = chunked.metrics["pope"]
    assert pope.results["accuracy"].ci is not None and pope.groups     # intervals, groups
    assert json.dumps(pope.to_dict(), sort_keys=True) == \
        json.dumps(whole.metrics["pope"].to_dict(), sort_keys=True)


def test_chunks_hold_the_records_of_the_whole_file(tmp_path):
    answers, _ = _files(tmp_path, n=50)
    lines = answers.read_bytes().replace(b'"question_id": 7,', b'"question_id": 7, "extra": 3,')
    answers.write_bytes(b"\xef\xbb\xbf" + lines.replace(b'"extra": 3, ', b""))  # a BOM first
    whole = read_record_columns(answers)
    chunks = column_chunks.RecordChunks(answers, size=120)
    seen = []
    for cols in chunks:
        assert cols.start == len(seen) and cols.n >= 1
        seen += [cols.record(i) for i in range(cols.n)]
    assert len(seen) == whole.n == 50
    assert seen == [whole.record(i) for i in range(whole.n)]
    assert [r.source.line for r in seen] == list(range(1, 51))


@pytest.mark.parametrize("bad", ["null", "missing", "blank", "type", "label", "dates", "gzip"])
def test_a_later_chunk_that_is_not_flat_is_scored_as_line_by_line(tmp_path, monkeypatch, bad):
    """What only the whole file tells shows in a chunk after the first: the lines that are not
    flat are scored line by line in their place and the rest as columns, to the items, values
    and bounds of the file scored line by line; a column of dates only (known at the end) and a
    cut gzip stream still undo what was written and send the file line by line."""
    answers, questions = _files(tmp_path)
    rows = [json.loads(line) for line in answers.read_text().splitlines()]
    text = None
    if bad == "null":
        rows[200]["answer"] = None
    elif bad == "missing":
        del rows[200]["question"]
    elif bad == "type":
        rows[200]["question_id"] = "201"
    elif bad == "label":
        for row in rows:
            row["label"] = "yes"
        rows[200]["label"] = "Yes"
    elif bad == "dates":            # every value of a column looks like a date
        for i, row in enumerate(rows):
            row["answer_id"] = f"2024-01-{i % 28 + 1:02d}"
    if bad == "blank":
        text = answers.read_text().replace("\n", "\n\n", 201).replace("\n\n", "\n", 200)
    answers.write_text(text or "".join(json.dumps(r) + "\n" for r in rows))
    if bad == "gzip":               # a stream that ends early, past the first chunk
        cut = answers.with_name("answers.jsonl.gz")
        cut.write_bytes(gzip.compress(answers.read_bytes())[:-40])
        answers = cut
    assert column_chunks.open_record_chunks(answers, size=300) is not None   # first chunk: ok
    monkeypatch.setattr(column_chunks, "CHUNK_BYTES", 300)
    if bad == "gzip":
        with pytest.raises(Exception):
            halluscope.audit(answers, metrics="pope", questions=questions, n_boot=50,
                             write_report=False)
        return
    result, results, items = _audit(tmp_path, "fast", answers, questions=questions)
    assert result.runsheet["execution"]["scored"].startswith(
        "record by record" if bad == "dates" else "as columns")
    import halluscope.pipeline as pipeline
    monkeypatch.setattr(pipeline, "score_columns", lambda *a, **k: None)
    _, slow_results, slow_items = _audit(tmp_path, "slow", answers, questions=questions)
    assert items == slow_items and len(items.splitlines()) == 240
    assert _no_volatile(results) == _no_volatile(slow_results)


def test_a_column_of_dates_and_words_is_read_as_the_strings_of_the_whole_file(tmp_path,
                                                                             monkeypatch):
    """pyarrow reads a chunk whose values all look like dates as timestamps, and widens the
    whole file's column to strings where one does not: the chunks give those strings."""
    answers, questions = _files(tmp_path)
    rows = [json.loads(line) for line in answers.read_text().splitlines()]
    for i, row in enumerate(rows):
        row["answer_id"] = f"2024-01-{i % 28 + 1:02d}" if i < 200 else f"a{i}"
    _jsonl(answers, rows)
    whole = read_record_columns(answers)
    assert whole is not None
    chunks = list(column_chunks.RecordChunks(answers, size=300))
    values = [v for cols in chunks for v in cols.meta("answer_id").tolist()]
    assert values == whole.meta("answer_id").tolist()
    monkeypatch.setattr(column_chunks, "CHUNK_BYTES", 300)
    result, _, _ = _audit(tmp_path, "fast", answers, questions=questions)
    assert result.runsheet["execution"]["scored"] == "as columns (whole files)"


def test_without_pyarrow_an_audit_reads_its_answers_line_by_line(tmp_path, monkeypatch):
    """pyarrow comes with the ``tables`` extra: without it the columnar path steps aside (it
    raised ModuleNotFoundError setting pyarrow's memory pool) and the lines give the same."""
    import sys
    answers, questions = _files(tmp_path, n=60)
    _, whole_results, whole_items = _audit(tmp_path, "columns", answers, questions=questions)
    for name in ("pyarrow", "pyarrow.json", "pyarrow.compute"):
        monkeypatch.setitem(sys.modules, name, None)     # import pyarrow: ImportError
    result, results, items = _audit(tmp_path, "lines", answers, questions=questions)
    assert result.runsheet["execution"]["scored"].startswith("record by record")
    assert items == whole_items
    assert _no_volatile(results) == _no_volatile(whole_results)


@pytest.mark.parametrize("ids", [True, False])
def test_score_answers_reads_in_chunks_and_gives_what_the_audit_gives(tmp_path, monkeypatch,
                                                                     ids):
    """The Python API reads a flat answer file with the audit's chunked reader: chunks of a
    few lines give every value, interval bound and group of the file read as one chunk, and
    those of the audit of the same file (by id, and by order: an answer-only file)."""
    from halluscope.metrics import pope_answers
    from halluscope.metrics.pope import score_answers
    answers, questions = _files(tmp_path, ids=ids)
    rows = [json.loads(line) for line in answers.read_text().splitlines()]
    if ids:
        rows[17]["question_id"] = 9999        # an error, reported at its line
    else:
        rows = [{"answer": row["answer"]} for row in rows]
    _jsonl(answers, rows)
    options = {} if ids else {"pope_align": "order"}
    audited, _, items = _audit(tmp_path, "audit", answers, questions=questions, **options)
    assert audited.runsheet["execution"]["scored"] == "as columns (whole files)"
    whole = score_answers(answers, questions, n_boot=200)
    calls = []
    real = pope_answers.score_columns
    monkeypatch.setattr(pope_answers, "score_columns",
                        lambda *a, **k: calls.append(a[1].start) or real(*a, **k))
    monkeypatch.setattr(column_chunks, "CHUNK_BYTES", 300)
    chunked = score_answers(answers, questions, n_boot=200)
    assert len(calls) > 10 and calls[0] == 0 and calls == sorted(set(calls))   # in chunks
    assert json.dumps(chunked, sort_keys=True) == json.dumps(whole, sort_keys=True)
    pope = audited.metrics["pope"]
    assert pope.results["accuracy"].ci is not None

    def same(a, b):         # (NaN is not NaN)
        return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)

    assert same(chunked["results"], {k: r.to_dict() for k, r in pope.results.items()})
    assert same(chunked["groups"], {g: {k: r.value for k, r in res.items()}
                                    for g, res in pope.groups.items()})
    lines = [json.loads(line) for line in items.splitlines()]
    assert chunked["predictions"] == [item.get("pope", {}).get("prediction") for item in lines]
    assert chunked["errors"] == [{k: e[k] for k in chunked["errors"][0]}
                                 for e in audited.errors] if ids else not chunked["errors"]
    if ids:
        assert [e["line"] for e in chunked["errors"]] == [18]


@pytest.mark.parametrize("bad", ["null", "type"])
def test_score_answers_goes_line_by_line_when_a_later_chunk_is_not_flat(tmp_path, monkeypatch,
                                                                       bad):
    """What the chunks before scored is undone: the result is the line-by-line one, the bad
    line reported at its line once."""
    from halluscope.metrics import pope_answers
    from halluscope.metrics.pope import score_answers
    answers, questions = _files(tmp_path)
    rows = [json.loads(line) for line in answers.read_text().splitlines()]
    if bad == "null":
        rows[200]["answer"] = None
    else:
        rows[200]["question_id"] = "201"
    _jsonl(answers, rows)
    monkeypatch.setattr(column_chunks, "CHUNK_BYTES", 300)
    assert column_chunks.open_record_chunks(answers) is not None      # the first chunk: flat
    chunked = score_answers(answers, questions, n_boot=100)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pope_answers, "_score_chunks", lambda *args: None)
        lines = score_answers(answers, questions, n_boot=100)
    assert json.dumps(chunked, sort_keys=True) == json.dumps(lines, sort_keys=True)
    assert len(chunked["predictions"]) == 240
    assert [e["line"] for e in chunked["errors"]] == ([201] if bad == "null" else [])


@pytest.mark.parametrize("packed", [False, True])
def test_a_file_over_the_whole_file_limit_is_read_in_chunks_too(tmp_path, monkeypatch, packed):
    """columns.MAX_BYTES bounds the file read at once, not the chunked reader: a larger answer
    file (gzip or not) is still read as columns, a chunk at a time, with the line path's result
    (it went line by line, 16-26 times slower a line)."""
    import halluscope.columns as columns
    import halluscope.pipeline as pipeline
    from halluscope.metrics import pope_answers
    from halluscope.metrics.pope import score_answers
    answers, questions = _files(tmp_path)
    if packed:
        answers = answers.with_name("answers.jsonl.gz")
        answers.write_bytes(gzip.compress(answers.with_name("answers.jsonl").read_bytes()))
    monkeypatch.setattr(columns, "MAX_BYTES", 1000)          # both files are over it
    monkeypatch.setattr(column_chunks, "CHUNK_BYTES", 600)
    assert read_record_columns(answers) is None
    fast, fast_results, fast_items = _audit(tmp_path, "fast", answers, questions=questions)
    assert fast.runsheet["execution"]["scored"] == "as columns (whole files)"
    api = score_answers(answers, questions, n_boot=200)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pipeline, "score_columns", lambda *a, **k: None)
        mp.setattr(pope_answers, "_score_chunks", lambda *args: None)
        _, slow_results, slow_items = _audit(tmp_path, "slow", answers, questions=questions)
        slow_api = score_answers(answers, questions, n_boot=200)
    assert fast_items == slow_items and len(fast_items.splitlines()) == 240
    assert _no_volatile(fast_results) == _no_volatile(slow_results)
    assert json.dumps(api, sort_keys=True) == json.dumps(slow_api, sort_keys=True)
