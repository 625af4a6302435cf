"""POPE answer files: looked at before scoring (how many answers a file holds, where its blank
lines are and what its first answer looks like, for by-order alignment, see
:meth:`halluscope.metrics.pope.PopeMetric.begin`), and scored (:func:`score_answers`)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from halluscope.errors import AlignmentError, ReadingStopped, RecordError
from halluscope.finish_reasons import FinishScreen, finish_notes
from halluscope.metrics.pope_columns import score_columns, scores_columns
from halluscope.records import iter_json_values, iter_records, open_binary
from halluscope.textfiles import BLANK_LINE, drop_bom, is_blank_bytes

logger = logging.getLogger(__name__)

__all__ = ["AnswerFile", "answers_counted", "first_answer", "scan_answers", "score_answers"]


class AnswerFile:
    """What :meth:`PopeMetric.begin` learned about one answer file: whether it aligns by order
    (``by_order``) or by question id (``by_id``: its first answer carries a question_id, or the
    table has a question_id column), and (counted when first asked for: at once for a file
    that aligns by order, only if some line needs it for one aligned by id) its answers and
    blank lines. A table's answers are not counted here (``n_answers`` is ``None``: its rows
    are the table reader's) and it has no blank lines (its rows are numbered: ``index``)."""

    def __init__(self, path: str, by_order: bool, scan: tuple[int, list[int]] | None = None,
                 *, by_id: bool = False, table: bool = False):
        self.path, self.by_order, self.by_id, self.table = path, by_order, by_id, table
        self._scan = scan

    def _counted(self) -> tuple[int, list[int]]:
        if self._scan is None:
            scan = scan_answers(Path(self.path))
            self._scan = (0, []) if scan is None else (scan[0], scan[1])
        return self._scan

    @property
    def n_answers(self) -> int | None:
        return None if self.table else self._counted()[0]

    @property
    def blank_lines(self) -> list[int]:
        return [] if self.table else self._counted()[1]


def answers_counted(path: str | Path, n: int) -> str:
    """``"2,999 answers (non-blank lines)"``, or ``"2,999 answers (JSON array elements)"`` for
    an answer file that is a JSON array: what a by-order count mismatch says was counted (it
    said lines of an array too, whose answers may all sit on one line)."""
    from halluscope.records import first_char
    try:
        array = first_char(path) == "["
    except OSError:
        array = False
    return f"{n:,} answers ({'JSON array elements' if array else 'non-blank lines'})"


def _count_lines(fh) -> tuple[int, list[int], dict | None] | None:
    """The scan of a file without blank lines, read in blocks (``None`` when it has one: those
    are found line by line). Blank is the reader's blank (:mod:`halluscope.textfiles`)."""
    count, first, tail, start = 0, None, b"", True
    for block in iter(lambda: fh.read(1 << 20), b""):
        if start:
            block, start = drop_bom(block), False
        block = tail + block
        cut = block.rfind(b"\n") + 1
        whole, tail = block[:cut], block[cut:]
        if BLANK_LINE.search(b"\n" + whole):     # (the block's first line too)
            return None
        if first is None and whole:
            first = whole[:whole.index(b"\n")]
        count += whole.count(b"\n")
    if tail:
        if is_blank_bytes(tail):
            return None
        first = tail if first is None else first
        count += 1
    return count, [], _parsed(first)


def _parsed(line: bytes | None) -> Any:
    """``line`` parsed as JSON; ``None`` for no line or one that is not JSON."""
    try:
        return json.loads(line) if line is not None else None
    except (ValueError, RecursionError):
        return None


def first_answer(path: Path) -> tuple[Any, tuple[int, list[int]] | None] | None:
    """``(first object, scan)`` of an answer file, as the reader reads it: its first non-blank
    line (``None`` when that is not JSON; the scan, as :func:`scan_answers` gives it, only for a
    JSON array, which is read whole anyway); ``None`` if unreadable."""
    try:
        array, scan = _read_array(path)
        if array:
            return None if scan is None else (scan[2], (scan[0], scan[1]))
        for _line, _index, item in iter_json_values(path):
            return (None if isinstance(item, RecordError) else item), None
    except OSError:
        return None
    return None, None


def scan_answers(path: Path) -> tuple[int, list[int], dict | None] | None:
    """(answers, line numbers of blank lines, first object) or ``None`` if unreadable: the
    lines the reader yields (blank ones skipped, a BOM dropped: :mod:`halluscope.textfiles`),
    or a JSON array's elements."""
    try:
        array, scan = _read_array(path)
        if array:
            return scan
        fh = open_binary(path)
    except OSError:
        return None
    count, blanks, first = 0, [], None
    with fh:
        counted = _count_lines(fh)
        if counted is not None:
            return counted
        fh.seek(0)
        for lineno, line in enumerate(fh, 1):
            if lineno == 1:
                line = drop_bom(line)
            if is_blank_bytes(line):
                blanks.append(lineno)
                continue
            if count == 0:
                first = _parsed(line)
            count += 1
    return count, blanks, first


def _read_array(path: Path) -> tuple[bool, tuple[int, list[int], Any] | None]:
    """Whether ``path`` is a JSON array (its first non-blank character is ``[``, as
    :func:`~halluscope.records.first_char` says) and, for one, its scan (its elements),
    reading the file once: a one-line array was read three times (its first line twice to
    find the ``[``, then whole). An array that is not valid JSON has its elements counted from
    its commas and brackets (:func:`~halluscope.json_array.count_array_elements`) and no first
    object: it was "0 answers", and an audit aligned by order refused it for that count, not
    for the syntax error the reader finds (which stops the reading: read in part, exit 2)."""
    with open_binary(path) as fh:
        lines = []
        for raw in fh:
            lines.append(drop_bom(raw) if not lines else raw)
            text = lines[-1].decode("utf-8", "surrogateescape").strip()
            if text:
                break
        else:
            return False, None                   # blank: first_char's ""
        if text[0] != "[":
            return False, None
        data = b"".join(lines) + fh.read()
    try:
        arr = json.loads(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError):
        import io
        from halluscope.json_array import count_array_elements
        count = count_array_elements(io.BytesIO(data))
        return True, (None if count is None else (count, [], None))
    if not isinstance(arr, list):
        return True, None
    return True, (len(arr), [], (arr[0] if arr else None))


def score_answers(answers_path: str | Path, questions_path: str | Path | None,
                  parser: str = "original", align: str = "auto", *,
                  check_questions: bool = True, n_boot: int = 0, seed: int = 0,
                  complete_only: bool = False) -> dict[str, Any]:
    """Score one answer file against one question file (every line as a POPE answer).

    Returns ``metrics`` (see :func:`pope_scores`), ``predictions`` (one per answer line, ``None``
    for a line that could not be scored), ``labels``, ``errors`` (the lines that could not be
    scored, as dicts with file, line, field and message), ``results`` (each statistic with its
    bootstrap interval when ``n_boot`` > 0), ``groups`` (metrics per split and object),
    ``info`` (parser, alignment, question file version) and ``finish``: the answers' finish
    reasons as an audit's run sheet counts them (``truncated``, ``filtered``,
    ``unrecognised_finish``; ``{}`` when every answer finished or none says),
    :mod:`halluscope.finish_reasons`. A withheld answer is an error; one cut at the token limit
    or of an unknown finish reason is scored as written, counted and logged as a warning, and
    ``complete_only`` makes it an error instead, as ``--complete-only`` does. A flat answer
    file is scored as columns a chunk at a time, as an audit reads it
    (:mod:`halluscope.column_chunks`, :mod:`halluscope.metrics.pope_columns`: memory does not
    grow with the file, but for the lists returned; a few bad lines, and answers not known to
    be whole, are read line by line in their place), any other line by line, with the same
    result.

    A file whose first line holds only an answer (``{"answer": ...}``, the original
    evaluate.py's input) aligns by order under ``align="auto"``, as evaluate.py aligns it (an
    audit asks for ``--pope-align order``: its inputs need not all be POPE answers).

    Raises :class:`~halluscope.errors.AlignmentError` when by-order alignment is impossible,
    and :class:`~halluscope.errors.ReadingStopped` (an input error) when a syntax error inside
    a JSON array stopped the reading of the answers: the answers after it were not read, so no
    number would be the file's (``halluscope audit`` exits 2 for it, "input read in part").
    """
    from halluscope.metrics.pope import PopeMetric, pope_scores
    if align == "auto" and questions_path is not None and _answers_alone(Path(answers_path)):
        align = "order"
    metric = PopeMetric(questions_path, parser=parser, align=align,
                        check_questions=check_questions, n_boot=n_boot, seed=seed)
    metric.begin([answers_path])
    screen = FinishScreen(complete_only)     # (the columns' answers all finished)
    chunked = _score_chunks(metric, answers_path, screen) if scores_columns(metric) else None
    if chunked is not None:
        predictions, labels, errors, counts = chunked
    else:
        screen = FinishScreen(complete_only)     # (what chunks undone had counted: anew)
        predictions, labels, errors, counts = _score_lines(metric, answers_path, screen)
    finish = screen.counts()
    for note in finish_notes(finish, complete_only):
        logger.warning("pope: %s: %s", answers_path, note)
    metric.finish()
    metrics = pope_scores(_scored(predictions, predictions, counts),
                          _scored(labels, predictions, counts), unknowns=metric.parser.unknowns)
    summary = metric.compute()
    groups = {g: {k: r.value for k, r in res.items()} for g, res in summary.groups.items()}
    return {"metrics": metrics, "predictions": predictions, "labels": labels, "errors": errors,
            "results": {k: r.to_dict() for k, r in summary.results.items()},
            "groups": groups, "info": metric.describe(), "finish": finish}


def _scored(values: list, predictions: list[str | None], counts: list[int]) -> list:
    """``values`` of the scored answers (those with a prediction), each as many times as it
    counts (an answer listed in several splits counts once per split: pope_splits). Two flat
    lists, not one of (prediction, label) pairs: a million pairs held 60-80 MB more."""
    return [v for v, p, k in zip(values, predictions, counts) if p is not None
            for _ in range(k)]


def _score_chunks(metric: Any, answers_path: str | Path, screen: FinishScreen
                  ) -> tuple[list[str | None], list[str | None], list[dict], list[int]] | None:
    """(predictions, labels, errors, counts) of a flat answer file scored as columns a chunk
    at a time, by the reader an audit uses (:mod:`halluscope.column_chunks`): memory holds a
    chunk, not the file (a million answers read whole peaked at 571 MiB, in chunks at
    252 MiB); its bad lines, and the few beside them, are scored line by line in their place
    (:func:`_score_records`). ``None`` when the file is read line by line; a chunk past the
    first that shows it must be leaves ``metric`` reset."""
    from halluscope.column_chunks import (ChunkGroup, LineRun, Mixing, NotColumns,
                                          chunk_memory, open_record_pieces)
    out: tuple[list, list, list, list] = ([], [], [], [])
    with chunk_memory():
        chunks = open_record_pieces(answers_path)
        if chunks is None:
            return None
        mixing = Mixing(metric)
        try:
            for cols in chunks.groups():
                pieces = cols.pieces if isinstance(cols, ChunkGroup) else [cols]
                for piece in pieces:
                    (mixing.lines if isinstance(piece, LineRun) else mixing.columns)(piece)
                if not isinstance(cols, ChunkGroup) or not _score_group(metric, cols, out,
                                                                        screen):
                    for piece in pieces:
                        if isinstance(piece, LineRun):
                            _score_records(metric, screen.screen(piece.records()), out)
                        else:
                            _add_rows(score_columns(metric, piece, every_line=True), 0,
                                      piece.n, out)
        except NotColumns:
            metric.reset()          # what the chunks before scored is undone
            return None
        finally:
            chunks.close()
    return out


def _score_group(metric: Any, group: Any, out: tuple[list, list, list, list],
                 screen: FinishScreen) -> bool:
    """A chunk's columns scored as one (:class:`~halluscope.column_chunks.ChunkGroup`), its
    runs of lines scored in their place (the state is the same in any order: exact integer
    sums); ``False``, nothing changed, where the columns must be scored a piece at a time
    (:class:`~halluscope.columns.NotInOrder`, an alignment error: raised in its place then)."""
    from halluscope.columns import NotInOrder
    try:
        scored = score_columns(metric, group.cols, every_line=True)
    except (NotInOrder, AlignmentError):
        return False
    done = 0
    for at, run in group.runs:
        _add_rows(scored, done, at, out)
        _score_records(metric, screen.screen(run.records()), out)
        done = at
    _add_rows(scored, done, group.cols.n, out)
    return True


def _add_rows(scored: Any, first: int, last: int, out: tuple[list, list, list, list]) -> None:
    """Add rows ``first`` to ``last`` (not included) of columns ``scored`` to the lists
    ``out`` (:func:`_score_records`)."""
    predictions, labels, errors, counts = out
    predictions += scored.predictions[first:last]
    labels += scored.labels[first:last]
    errors += [scored.errors[i].to_dict() for i in sorted(scored.errors) if first <= i < last]
    counts += [1] * (last - first)


def _answers_alone(path: Path) -> bool:
    """Whether an answer file's first line holds only an answer (no question, id or label)."""
    from halluscope.records import record_from_dict
    head = first_answer(path)
    if head is None or not isinstance(head[0], dict):
        return False
    try:
        rec = record_from_dict(head[0], file=str(path), line=1, require_response=False)
    except RecordError:
        return False
    return rec.task == "caption" and rec.prompt is None and rec.question_id is None


def _score_lines(metric: Any, answers_path: str | Path, screen: FinishScreen
                 ) -> tuple[list[str | None], list[str | None], list[dict], list[int]]:
    """(predictions, labels, errors, counts) of every line, one record at a time, through
    ``screen`` (which counts their finish reasons); a line's count is how many times the
    metric counts it (once per split it lists, or once)."""
    out: tuple[list, list, list, list] = ([], [], [], [])
    _score_records(metric, screen.screen(iter_records(answers_path)), out)
    return out


def _score_records(metric: Any, records: Any, out: tuple[list, list, list, list]) -> None:
    """Add each record's (prediction, label, error, count) to the lists ``out``. Raises the
    :class:`~halluscope.errors.ReadingStopped` of a file read only in part (:func:`_stopped`)."""
    predictions, labels, errors, counts = out
    for item in records:
        if isinstance(item, ReadingStopped):
            raise _stopped(item)
        try:
            if isinstance(item, RecordError):
                raise item
            score = metric.update(item)
        except RecordError as exc:
            errors.append(exc.to_dict())
            predictions.append(None)
            labels.append(None)
            counts.append(1)
            continue
        predictions.append(score.payload["prediction"])
        labels.append(score.payload["label"])
        counts.append(len(score.notes.get("splits", ())) or 1)


def _stopped(err: ReadingStopped) -> ReadingStopped:
    """The error :func:`score_answers` raises for an answer file whose reading a syntax error
    stopped (a JSON array): numbers over the answers before it would look like the file's (an
    audit writes them and exits 2, saying the input was read in part; a dict returned has no
    such say). Where, and about how many answers were not read, as the reader said."""
    out = ReadingStopped(f"input read in part: {err.message}; score_answers gives no numbers "
                         f"for a file read only in part (fix the file and score it again)",
                         file=err.location.file, line=err.location.line,
                         field=err.location.field)
    out.element, out.unread = err.element, err.unread
    return out
