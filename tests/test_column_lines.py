"""Answer files with a few bad lines on the columnar path (halluscope.column_chunks.RecordPieces,
halluscope.column_scoring): the bad lines, and the few beside them, are read and scored line by
line in their place, the rest as columns. Every case is held to the line-by-line path itself
(``score_columns`` switched off): results.json but for its volatile keys, every byte of
items.jsonl, the listed bad records (file, line, reason) and every value and interval bound,
compared as JSON text (a float's shortest repr: the same text is the same bits)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

import halluscope
import halluscope.column_chunks as column_chunks
import halluscope.pipeline as pipeline
from conftest import shared_data_dir
from halluscope.errors import AlignmentError, RecordError

OBJECTS = ["dog", "cat", "car", "person", "umbrella", "dining table"]
ANSWERS = ["Yes", "No", "Yes, there is a {o}.", "No, there is no {o}.", "Not sure.", "NO"]
VOLATILE = ("run_id", "outputs", "digest", "wall_time_s", "started", "finished")
SHARED = shared_data_dir("chair")    # $HALLUSCOPE_SHARED_DATA or ../shared/data, else None

BAD = {     # a bad line of each kind (the line reader's reasons: invalid JSON, not UTF-8, ...)
    "json": b'{"question_id": 3, "question": "Is there a dog in the image?", "answer": "Ye\n',
    "utf8": b'{"question_id": 3, "answer": "Ye\xff"}\n',
    "list": b'{"question_id": 3, "answer": ["Yes"]}\n',
    "null": b'{"question_id": 3, "question": null, "answer": null}\n',
    "blank": b"   \n",
    "wide blank": "\u3000\n".encode(),
    "number": b"17\n",
    "nested": b'{"question_id": 3, "answer": "Yes", "metadata": {"x": 1}}\n',
    "metadata": b'{"question_id": 3, "answer": "Yes", "metadata": "a note"}\n',
    "label": b'{"question_id": 3, "question": "Is there a dog in the image?", "answer": "No", '
             b'"label": " Yes"}\n',
    "withheld": b'{"question_id": 3, "answer": "", "finish_reason": "content_filter"}\n',
    "cut": b'{"question_id": 3, "question": "Is there a dog in the image?", "answer": "Ye", '
           b'"finish_reason": "length"}\n',
}


def _rows(n, *, ids=True, labels=False, seed=0):
    rng = random.Random(seed)
    questions, answers = [], []
    for i in range(1, n + 1):
        o = OBJECTS[i % len(OBJECTS)]
        text = f"Is there a {o} in the image?"
        label = "yes" if i % 3 else "no"
        questions.append({"question_id": i, "image": f"{(i - 1) // 6}.jpg", "text": text,
                          "label": label})
        row = {"question_id": i} if ids else {}
        row.update(question=text, answer=rng.choice(ANSWERS).format(o=o))
        if labels:
            row.update(label=label, image=f"{(i - 1) // 6}.jpg")
        answers.append(json.dumps(row).encode() + b"\n")
    return questions, answers


def _write(tmp_path, lines, name="answers.jsonl", questions=None):
    path = tmp_path / name
    path.write_bytes(b"".join(lines))
    if questions is not None:
        (tmp_path / "coco_pope_random.json").write_text(
            "".join(json.dumps(q) + "\n" for q in questions))
    return path


def _run(tmp_path, name, inputs, **options):
    try:
        result = halluscope.audit(inputs, metrics="pope", out=tmp_path / name, n_boot=200,
                                  write_report=False, **options)
    except (RecordError, AlignmentError) as exc:      # (strict; by order, refused)
        return None, f"{type(exc).__name__}: {exc}", None
    results = json.loads((tmp_path / name / "results.json").read_text())
    for key in VOLATILE:
        results.pop(key, None)
    items = (tmp_path / name / "items.jsonl").read_bytes()
    return result, json.dumps(results, sort_keys=True), items


def _both(tmp_path, inputs, *, chunk=None, scored="as columns", **options):
    """The audit on the columnar path (chunks of ``chunk`` bytes) and on the line path: the
    same in every way a user sees; the columnar one scored as ``scored`` says."""
    with pytest.MonkeyPatch.context() as mp:
        if chunk is not None:
            mp.setattr(column_chunks, "CHUNK_BYTES", chunk)
        fast, fast_results, fast_items = _run(tmp_path, "fast", inputs, **options)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pipeline, "score_columns", lambda *a, **k: None)
        slow, slow_results, slow_items = _run(tmp_path, "slow", inputs, **options)
    assert fast_results == slow_results
    assert fast_items == slow_items
    if fast is None:
        return None
    assert fast.runsheet["execution"]["scored"].startswith(scored), fast.runsheet["execution"]
    assert slow.runsheet["execution"]["scored"].startswith("record by record")
    assert fast.errors == slow.errors and fast.n_skipped == slow.n_skipped
    assert fast.runsheet["counts"] == slow.runsheet["counts"]     # (finish reasons too)
    for name, summary in fast.metrics.items():
        assert json.dumps(summary.to_dict(), sort_keys=True) == \
            json.dumps(slow.metrics[name].to_dict(), sort_keys=True)
    return fast


def _places(n, where):      # (a first chunk mostly bad goes line by line: chunks >= 25 lines)
    return {"start": [0], "middle": [n // 2], "end": [n - 1],
            "one chunk": [100, 101, 104, 110], "spread": [0, 7, 60, 61, 150, n - 1]}[where]


@pytest.mark.parametrize("where", ["start", "middle", "end", "one chunk", "spread"])
@pytest.mark.parametrize("chunk", [None, 2400])
def test_bad_lines_by_id_score_as_the_line_path(tmp_path, where, chunk):
    questions, answers = _rows(240)
    kinds = list(BAD)
    for k, at in enumerate(_places(240, where)):
        answers[at] = BAD[kinds[k % len(kinds)]]
    result = _both(tmp_path, _write(tmp_path, answers, questions=questions),
                   questions=tmp_path / "coco_pope_random.json", chunk=chunk)
    assert result.metrics["pope"].results["accuracy"].ci is not None
    assert 1 <= result.runsheet["execution"]["lines_read_line_by_line"] <= \
        len(_places(240, where)) * column_chunks.LEAF_LINES
    listed = [(e["file"], e["line"]) for e in result.errors]
    assert all(file.endswith("answers.jsonl") for file, _ in listed)


@pytest.mark.parametrize("kind", sorted(BAD))
@pytest.mark.parametrize("chunk", [500, 3000])      # (halved; lines looked at: _screened)
def test_every_kind_of_bad_line_in_a_later_chunk(tmp_path, kind, chunk):
    questions, answers = _rows(120)
    answers[70] = BAD[kind]
    answers[71] = BAD[kind]
    answers[90] = BAD[kind]
    _both(tmp_path, _write(tmp_path, answers, questions=questions),
          questions=tmp_path / "coco_pope_random.json", chunk=chunk)


def test_a_chunk_of_bad_lines_only(tmp_path):
    """Another file's lines pasted in: a whole chunk read line by line, found in one look."""
    questions, answers = _rows(200)
    answers[80:140] = [BAD["nested"]] * 60
    _both(tmp_path, _write(tmp_path, answers, questions=questions),
          questions=tmp_path / "coco_pope_random.json", chunk=3000)


def test_the_last_line_bad_and_without_its_line_end(tmp_path):
    questions, answers = _rows(90)
    answers[-1] = b'{"question_id": 90, "answer": '
    _both(tmp_path, _write(tmp_path, answers, questions=questions),
          questions=tmp_path / "coco_pope_random.json", chunk=400)


def test_a_bom_then_a_bad_first_line(tmp_path):
    questions, answers = _rows(60)
    answers[0] = b"\xef\xbb\xbf" + BAD["json"]
    _both(tmp_path, _write(tmp_path, answers, questions=questions),
          questions=tmp_path / "coco_pope_random.json")


@pytest.mark.parametrize("chunk", [None, 3000])
def test_labels_on_the_answers_and_no_question_file(tmp_path, chunk):
    _, answers = _rows(150, labels=True)
    for at in (0, 40, 41, 149):
        answers[at] = BAD["json"]
    _both(tmp_path, _write(tmp_path, answers), chunk=chunk)


def test_clustered_by_item_and_grouped_by_a_field(tmp_path):
    questions, answers = _rows(150)
    answers = [a.replace(b'"answer"', b'"model": "m%d", "answer"' % (i % 2))
               for i, a in enumerate(answers)]
    for at in (5, 80, 81):
        answers[at] = BAD["list"]
    _both(tmp_path, _write(tmp_path, answers, questions=questions), chunk=3000,
          questions=tmp_path / "coco_pope_random.json", cluster_by="item", by=["model"])


def test_two_files_with_bad_lines_in_the_second(tmp_path):
    questions, answers = _rows(180)
    first = _write(tmp_path, answers[:90], "a.jsonl", questions=questions)
    second_lines = answers[90:]
    second_lines[10] = BAD["utf8"]
    second_lines[-1] = BAD["blank"]
    second = _write(tmp_path, second_lines, "b.jsonl")
    _both(tmp_path, [first, second], questions=tmp_path / "coco_pope_random.json", chunk=900)


@pytest.mark.parametrize("align", ["order", "auto"])
@pytest.mark.parametrize("case", ["bad", "blank", "first bad", "alone", "first by id",
                                  "one more"])
def test_by_order_beside_bad_and_blank_lines(tmp_path, align, case):
    """By order, a line's place counts the bad lines before it but not the blank ones, and
    the file's first answer says how its lines align: the columns find both as the line path
    does (bad or blank lines anywhere; the first line by id; answers alone, which ``auto``
    refuses; one answer too many, refused up front)."""
    questions, answers = _rows(120, ids=False)
    if case == "alone":
        answers = [b'{"answer": "%s"}\n' % (b"Yes" if i % 2 else b"No") for i in range(120)]
    if case == "first by id":
        answers[0] = answers[0].replace(b"{", b'{"question_id": 1, ', 1)
    if case in ("bad", "alone", "first by id"):
        answers[60] = BAD["null"]
        answers[100] = BAD["json"]
    if case == "first bad":
        answers[0] = BAD["list"]
    if case in ("blank", "first bad"):
        answers[30:30] = [BAD["blank"], BAD["wide blank"]]
        answers[90:90] = [b"\n"]
        answers.append(b"  \n")
    if case == "one more":
        answers.insert(50, BAD["number"])
    _both(tmp_path, _write(tmp_path, answers, questions=questions), chunk=3000,
          questions=tmp_path / "coco_pope_random.json", pope_align=align)


def test_a_file_mostly_bad_goes_line_by_line(tmp_path):
    questions, answers = _rows(40)
    answers = [BAD["list"] if i % 3 else a for i, a in enumerate(answers)]
    _both(tmp_path, _write(tmp_path, answers, questions=questions),
          scored="record by record", questions=tmp_path / "coco_pope_random.json")


def test_strict_stops_at_the_same_first_bad_line(tmp_path):
    questions, answers = _rows(120)
    answers[70] = BAD["json"]
    assert _both(tmp_path, _write(tmp_path, answers, questions=questions), chunk=500,
                 questions=tmp_path / "coco_pope_random.json", strict=True) is None


def test_pieces_are_the_file_in_order(tmp_path):
    """Columns and line runs cover every line once, in order, each column piece starting at
    the lines before it (blank and bad ones counted)."""
    _, answers = _rows(200)
    for at in (0, 3, 99, 100, 150, 199):
        answers[at] = BAD["blank" if at == 99 else "json"]
    path = _write(tmp_path, answers)
    pieces = list(column_chunks.RecordPieces(path, size=1000))
    line = 0
    for piece in pieces:
        assert piece.start == line
        if isinstance(piece, column_chunks.LineRun):
            numbers = [k for k, _ in piece.lines()]
            assert numbers == list(range(line + 1, line + 1 + len(numbers)))
            line += len(numbers)
        else:
            assert [piece.record(i).source.line for i in range(piece.n)] == \
                list(range(line + 1, line + 1 + piece.n))
            line += piece.n
    assert line == 200
    runs = [p for p in pieces if isinstance(p, column_chunks.LineRun)]
    assert sum(len(list(r.lines())) for r in runs) <= 6 * column_chunks.LEAF_LINES


@pytest.mark.skipif(SHARED is None, reason="shared data with chair/ not found (set "
                    "HALLUSCOPE_SHARED_DATA or place it at ../shared/data)")
def test_chair_with_bad_lines_is_scored_line_by_line_as_before(tmp_path):
    """CHAIR has no columnar path: its bad lines are listed (file, line, reason) and the rest
    scored, record by record, whatever the columnar path does."""
    source = SHARED / "chair" / "captions" / "opera" / "llava-1.5_beam5.jsonl"
    lines = source.read_bytes().splitlines(keepends=True)[:60]
    lines[0], lines[30], lines[-1] = BAD["json"], BAD["utf8"], BAD["blank"]
    path = _write(tmp_path, lines, "captions.jsonl")
    result = halluscope.audit(path, metrics="chair", gt_objects=SHARED / "chair" /
                              "gt_objects_coco2014.json", chair_variant="original", n_boot=50,
                              out=tmp_path / "chair", write_report=False)
    assert result.runsheet["execution"]["scored"].startswith("record by record")
    assert [(e["line"], e["message"][:12]) for e in result.errors] == \
        [(1, "invalid JSON"), (31, "not UTF-8 at")]
    assert result.metrics["chair"].n == 57     # (60 lines, two bad, one blank)


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_bad_lines_anywhere_in_chunks_of_any_size(tmp_path, seed):
    rng = random.Random(seed)
    questions, answers = _rows(300, seed=seed)
    for at in rng.sample(range(300), rng.randint(1, 12)):
        answers[at] = BAD[rng.choice(sorted(BAD))]
    _both(tmp_path, _write(tmp_path, answers, questions=questions),
          questions=tmp_path / "coco_pope_random.json", chunk=rng.choice([2500, 4000, 9000]),
          scored="")


def test_a_line_that_looks_flat_but_does_not_read_as_columns(tmp_path):
    """A label to normalise (" Yes") looks like the file's other lines to the quick look
    (_screened) but its run does not read as columns: that run is halved instead."""
    _, answers = _rows(200, labels=True)
    for at in (5, 120):
        answers[at] = answers[at].replace(b'"label": "yes"', b'"label": " Yes"').replace(
            b'"label": "no"', b'"label": "No "')
    answers[60] = BAD["json"]
    calls = []
    screened = column_chunks.RecordPieces._screened

    def spy(self, *args):
        calls.append(screened(self, *args))
        return calls[-1]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(column_chunks.RecordPieces, "_screened", spy)
        _both(tmp_path, _write(tmp_path, answers), chunk=4000)
    assert calls and all(calls)


def test_line_ends_with_carriage_returns(tmp_path):
    questions, answers = _rows(150)
    answers = [a.replace(b"\n", b"\r\n") for a in answers]
    answers[40] = BAD["list"].replace(b"\n", b"\r\n")
    answers[41] = b"\r\n"
    _both(tmp_path, _write(tmp_path, answers, questions=questions),
          questions=tmp_path / "coco_pope_random.json", chunk=3000, scored="")


def test_a_lone_brace_first_is_read_as_the_line_reader_reads_it(tmp_path):
    """A first line ``{`` alone: the line reader reads the file as one JSON document (here
    refused as one), so the columns do not read the lines after it."""
    questions, answers = _rows(100)
    path = _write(tmp_path, [b"{\n"] + answers, questions=questions)
    errors = []
    for columns in (True, False):
        with pytest.MonkeyPatch.context() as mp:
            if not columns:
                mp.setattr(pipeline, "score_columns", lambda *a, **k: None)
            with pytest.raises(Exception) as caught:
                halluscope.audit(path, metrics="pope", questions=tmp_path /
                                 "coco_pope_random.json", n_boot=0, write_report=False)
            errors.append(f"{type(caught.value).__name__}: {caught.value}")
    assert errors[0] == errors[1] and "one JSON object per line" in errors[0]


def _spy(monkeypatch, module, name: str) -> list:
    """What ``module.name`` returns on each call from now on, in a list (it still runs)."""
    seen: list = []
    real = getattr(module, name)

    def spy(*args):
        seen.append(real(*args))
        return seen[-1]
    monkeypatch.setattr(module, name, spy)
    return seen


@pytest.mark.parametrize("where", ["start", "one chunk", "spread"])
def test_score_answers_reads_bad_lines_in_their_place_too(tmp_path, monkeypatch, where):
    """The Python API reads as the audit does: the same predictions, labels, errors, values
    and bounds as line by line."""
    from halluscope.metrics import pope_answers
    from halluscope.metrics.pope import score_answers
    questions, answers = _rows(240)
    kinds = list(BAD)
    for k, at in enumerate(_places(240, where)):
        answers[at] = BAD[kinds[k % len(kinds)]]
    path = _write(tmp_path, answers, questions=questions)
    monkeypatch.setattr(column_chunks, "CHUNK_BYTES", 2400)
    seen = _spy(monkeypatch, pope_answers, "_score_chunks")
    fast = score_answers(path, tmp_path / "coco_pope_random.json", n_boot=200)
    assert seen and seen[0] is not None           # (read as columns, with lines apart)
    monkeypatch.setattr(pope_answers, "_score_chunks", lambda *args: None)
    slow = score_answers(path, tmp_path / "coco_pope_random.json", n_boot=200)
    assert json.dumps(fast, sort_keys=True) == json.dumps(slow, sort_keys=True)
    assert len(fast["errors"]) >= 1


def _spy_groups(mp):
    """Count the chunk groups scored as one and those scored piece by piece."""
    from halluscope import column_scoring
    seen = {"groups": 0, "one by one": 0}
    group, piece = column_scoring._InOrder.group, column_scoring._InOrder.piece

    def spy_group(self, g):
        seen["groups"] += 1
        return group(self, g)

    def spy_piece(self, p, checked=False):
        seen["one by one"] += checked
        return piece(self, p, checked)
    mp.setattr(column_scoring._InOrder, "group", spy_group)
    mp.setattr(column_scoring._InOrder, "piece", spy_piece)
    return seen


@pytest.mark.parametrize("seed", [11, 12, 13, 14, 15, 16])
def test_many_scattered_bad_lines_score_as_the_line_path(tmp_path, seed):
    """Many bad lines at random places (runs of a few together too), chunks of random sizes:
    each chunk's good lines are scored as one group, its bad lines in their place, and
    every output is the line path's."""
    rng = random.Random(seed)
    n = rng.choice([400, 700])
    questions, answers = _rows(n, seed=seed)
    # (a first chunk mostly bad goes line by line: its first lines good)
    for at in rng.sample(range(40, n), rng.randint(n // 40, n // 10)):
        answers[at] = BAD[rng.choice(sorted(BAD))]
    for at in rng.sample(range(40, n - 3), 3):      # a few runs of bad lines together
        answers[at:at + 3] = [BAD[rng.choice(["json", "list", "blank"])]] * 3
    with pytest.MonkeyPatch.context() as mp:
        seen = _spy_groups(mp)
        _both(tmp_path, _write(tmp_path, answers, questions=questions), scored="",
              questions=tmp_path / "coco_pope_random.json",
              chunk=rng.choice([1500, 4000, 9000, None]))
    assert seen["groups"] >= 1 and seen["one by one"] == 0


@pytest.mark.parametrize("options", [{"cluster_by": "item", "by": ["model"]}, {},
                                     {"pope_align": "order"}])
@pytest.mark.parametrize("seed", [21, 22])
def test_many_bad_lines_grouped_or_one_by_one(tmp_path, options, seed):
    """Units numbered record by record (clustered by item, answers repeating an id; labels
    with no question file) keep input order: such a group is scored piece by piece; by order,
    the groups find each line's question by its own line. All as the line path."""
    rng = random.Random(seed)
    ids = options.get("pope_align") != "order"
    questions, answers = _rows(300, seed=seed, ids=ids, labels="cluster_by" not in options)
    answers = [a.replace(b'"answer"', b'"model": "m%d", "answer"' % (i % 2))
               for i, a in enumerate(answers)]
    if "cluster_by" in options:
        answers[200:210] = answers[20:30]       # the same ids again: other items
    for at in rng.sample(range(40, 300), 25):
        answers[at] = BAD[rng.choice(["json", "list", "null", "number", "nested"])]
    inputs = [_write(tmp_path, answers, questions=questions)]
    if ids and "cluster_by" not in options:     # labels on the answers, no question file
        _both(tmp_path, inputs, chunk=rng.choice([2000, 5000]), scored="", **options)
    with pytest.MonkeyPatch.context() as mp:
        seen = _spy_groups(mp)
        _both(tmp_path, inputs, chunk=rng.choice([2000, 5000]), scored="",
              questions=tmp_path / "coco_pope_random.json", **options)
    assert seen["groups"] >= 1
    if "cluster_by" in options:
        assert seen["one by one"] >= 1


def test_a_group_joins_the_chunks_good_lines_with_their_lines(tmp_path):
    """A chunk's good lines are one group whose rows carry their own lines; the runs of lines
    sit between them, in order."""
    _, answers = _rows(120)
    for at in (0, 10, 11, 50, 119):
        answers[at] = BAD["json"]
    pieces = list(column_chunks.RecordPieces(_write(tmp_path, answers)).groups())
    assert len(pieces) == 1 and isinstance(pieces[0], column_chunks.ChunkGroup)
    group = pieces[0]
    covered = sorted(group.cols.lines.tolist() + [k for _, run in group.runs
                                                   for k, _ in run.lines()])
    assert covered == list(range(1, 121))
    assert [group.cols.record(i).source.line for i in range(group.cols.n)] == \
        group.cols.lines.tolist()
    for at, run in group.runs:
        first = next(run.lines())[0]
        assert at == int((group.cols.lines < first).sum())


@pytest.mark.parametrize("seed", [31, 32, 33])
def test_score_answers_with_many_scattered_bad_lines(tmp_path, monkeypatch, seed):
    """The Python API scores a chunk's good lines as one group too: the same predictions,
    labels, errors, values and bounds as line by line."""
    from halluscope.metrics import pope_answers
    from halluscope.metrics.pope import score_answers
    rng = random.Random(seed)
    questions, answers = _rows(500, seed=seed)
    for at in rng.sample(range(40, 500), rng.randint(15, 50)):
        answers[at] = BAD[rng.choice(sorted(BAD))]
    path = _write(tmp_path, answers, questions=questions)
    monkeypatch.setattr(column_chunks, "CHUNK_BYTES", rng.choice([3000, 8000, 1 << 22]))
    grouped = _spy(monkeypatch, pope_answers, "_score_group")
    fast = score_answers(path, tmp_path / "coco_pope_random.json", n_boot=200)
    assert grouped and all(grouped)
    monkeypatch.setattr(pope_answers, "_score_chunks", lambda *args: None)
    slow = score_answers(path, tmp_path / "coco_pope_random.json", n_boot=200)
    assert json.dumps(fast, sort_keys=True) == json.dumps(slow, sort_keys=True)
