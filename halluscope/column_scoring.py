"""Scoring flat answer files as columns, a chunk at a time (POPE's files).

:func:`score_columns` scores what :func:`~halluscope.scoring.score_stream` would score line by
line when the one metric asked for scores columns (:meth:`Metric.scores_columns`) and every input
is a flat JSON-lines file: each chunk of a file (:mod:`halluscope.column_chunks`) is scored at
once, folded into the metric on a thread of its own (the bootstrap: numpy, mostly without the
GIL) while its item lines are put together from whole columns and written
(:mod:`halluscope.column_json`). Memory holds a chunk or two, never the file: a million answers
audit in the memory of a few thousand. A file's bad lines (and the few beside them,
:class:`~halluscope.column_chunks.RecordPieces`) are read by the line reader's steps and scored
and written by :func:`~halluscope.scoring.score_stream` in their place, the rest as columns.
The items, tallies and metric state are those of the line-by-line path, to the byte and the bit
(tested, with chunks of a few lines too): the replicates of integer rows are exact sums in any
grouping, and each unit's weights come from its name, never from the chunk it falls in.
With an output folder, each chunk is journaled once folded and ``--resume`` goes on after the
last one journaled (:mod:`halluscope.column_journal`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from halluscope._json import dumps_finite
from halluscope.config import AuditConfig
from halluscope.errors import AlignmentError
from halluscope.finish_reasons import FinishScreen
from halluscope.metrics.base import Metric
from halluscope.readers import detect_format
from halluscope.redact import known_secrets
from halluscope.scoring import (Progress, StreamTally, _score_record, is_empty_answer,
                                shown_location, shown_source)

if TYPE_CHECKING:   # the columnar path (POPE's files) imports them when it runs
    from halluscope.column_chunks import ChunkGroup, LineRun, RecordPieces
    from halluscope.column_json import Pieces, Writer
    from halluscope.columns import RecordColumns

log = logging.getLogger(__name__)

__all__ = ["ITEM_CHUNK", "score_columns"]


def _quotes_a_secret(paths: list[Path]) -> bool:
    """Whether an input file holds a known secret (an API key in the environment, a
    registered credential): the whole-file path copies text into the items unchanged."""
    secrets = [s.encode("utf-8") for s in known_secrets()]
    if not secrets:
        return False
    from halluscope.records import open_binary
    overlap = max(map(len, secrets)) - 1
    for path in paths:
        with open_binary(path) as fh:
            tail = b""
            while block := fh.read(1 << 24):
                data = tail + block
                if any(secret in data for secret in secrets):
                    return True
                tail = data[-overlap:] if overlap else b""
    return False


def score_columns(paths: list[Path], cfg: AuditConfig, metrics: list[Metric], sink, *,
                  on_progress: Callable[[Progress], None] | None = None,
                  total: int | None = None, finish: FinishScreen | None = None,
                  journal: Any = None) -> StreamTally | None:
    """Score flat JSON-lines inputs as columns, when the one metric asked for can
    (:meth:`Metric.scores_columns`, POPE) and every input is such a file
    (:mod:`halluscope.column_chunks`); ``None`` otherwise, with nothing written to ``sink`` and
    the metric as it was (reset: a chunk past the first may show that a file is not flat, and
    what was scored before it is undone). The items, tallies and metric state are the ones
    :func:`~halluscope.scoring.score_stream` gives. With a ``journal``
    (:class:`~halluscope.journal.Journal`), each chunk is journaled once done, and the chunks
    it holds (a resume) are not scored again (:mod:`halluscope.column_journal`); a pass that
    ends up line by line forgets them (``sink`` emptied: the lines are scored from the first)."""
    tally = None
    if len(metrics) == 1 and metrics[0].scores_columns() and cfg.engine != "ray" and paths \
            and all((cfg.input_format or detect_format(p)) == "jsonl" for p in paths) \
            and not _quotes_a_secret(paths):    # (the line path redacts a secret in the items)
        from halluscope.column_chunks import chunk_memory
        with chunk_memory():
            tally = _score_chunked(paths, cfg, metrics, sink, on_progress, total,
                                   finish or FinishScreen(), journal)
    if tally is None and journal is not None and journal.chunks:
        journal.cut_chunks()
        sink.seek(0)
        sink.truncate()
    return tally


def _score_chunked(paths: list[Path], cfg: AuditConfig, metrics: list[Metric], sink,
                   on_progress: Callable[[Progress], None] | None, total: int | None,
                   finish: FinishScreen, journal: Any) -> StreamTally | None:
    """:func:`score_columns` once the metric and the inputs' format allow it."""
    from halluscope import column_chunks
    from halluscope.column_chunks import NotColumns, open_record_pieces
    from halluscope.column_journal import Checkpoints, fold_options, resume_plan
    points = plan = first = None
    if journal is not None:
        fold = fold_options(cfg)
        points = Checkpoints(journal, metrics[0], column_chunks.CHUNK_BYTES, fold)
        plan = points.plan = resume_plan(journal, sink, column_chunks.CHUNK_BYTES, fold)
    # the first chunk of every file is read here, so that a file read line by line is known
    # before anything is scored; the first file's is kept, the others' are read again when
    # their turn comes: kept, each would hold about 8 MiB until then (a 4 MiB chunk, parsed),
    # for every file, to save about 65 ms a file (a resume's files all passed this)
    if plan is None:
        first = open_record_pieces(paths[0])
        if first is None:
            return None
        for path in paths[1:]:
            chunks = open_record_pieces(path)
            if chunks is None:
                first.close()
                return None
            chunks.close()
    start = 0 if plan is not None else sink.tell()
    try:
        return _score_files(paths, first, cfg, metrics, sink, on_progress, total, finish,
                            points)
    except (NotColumns, AlignmentError) as exc:
        sink.seek(start)                # as if the files had not been read as columns
        sink.truncate()
        if isinstance(exc, NotColumns):
            metrics[0].reset()
            if journal is not None:
                journal.cut_chunks()
            return None
        raise
    finally:
        if first is not None:
            first.close()


def _score_files(paths: list[Path], first: RecordPieces | None, cfg: AuditConfig,
                 metrics: list[Metric], sink, on_progress: Callable[[Progress], None] | None,
                 total: int | None, finish: FinishScreen, points: Any = None) -> StreamTally:
    """:func:`score_columns` of every chunk of every file, in order (``first``: the first
    file's chunks): each chunk scored, then folded on a thread while its items are written (one
    fold at a time, in order), the next chunk read and scored beside that fold. Lines that are
    not read as columns (:class:`~halluscope.column_chunks.LineRun`: a bad line and a few
    beside it) are scored line by line in their place, once the folds before them are done;
    the columns of a chunk with such lines between them are scored as one
    (:class:`~halluscope.column_chunks.ChunkGroup`). With ``points``
    (:class:`~halluscope.column_journal.Checkpoints`), each chunk is journaled once folded,
    and a resume (``points.plan``) goes on after the last one journaled."""
    import hashlib
    from concurrent.futures import ThreadPoolExecutor

    from halluscope.column_chunks import NotColumns
    from halluscope.column_json import Writer
    tally = StreamTally()
    plan = points.plan if points is not None else None
    # the items are hashed as they are written (results.json lists their sha256), when every
    # byte of the file goes through the writers (a resume's hasher has read those before)
    hasher = plan.hasher if plan is not None else \
        hashlib.sha256() if Writer.hashes(sink) and sink.tell() == 0 else None
    # the fold (numpy, the bootstrap) runs beside the items (pyarrow, the file): both mostly
    # without the GIL; an error writing the items waits for the fold, then is raised
    with ThreadPoolExecutor(1, thread_name_prefix="halluscope-fold") as pool, \
            Writer(sink, hasher=hasher) as out:
        run = _InOrder(cfg, metrics, tally, out, pool, on_progress, total, finish)
        run.points = points
        if points is not None and points.journal.digests_due:
            # the journal's first entry lists the inputs' sha256 (as the run sheet does):
            # hashed here beside the first chunk's scoring, not on the items' thread then
            from halluscope.hashing import hash_ahead
            pool.submit(hash_ahead, list(paths))
        resumed = run.resume(plan, paths) if plan is not None else {}
        try:
            for k, path in enumerate(paths):
                if plan is None or k >= plan.last.file:
                    run.file(k, path, first if k == 0 else None, resumed)
            run.checkpoint()
        except BaseException as exc:
            if not isinstance(exc, NotColumns):
                run.rescue()        # the last chunk done, when the next one had not begun
            raise
        run.wait()
    tally.items_sha256 = hasher.hexdigest() if hasher is not None else None
    tally.finish = finish.counts()      # (of the lines read apart: the columns' are complete)
    note = tally.execution.get("resumed")
    if note is not None:    # (none: the interrupt came after the pass, in the finish step)
        note["items_scored_after_the_resume"] = tally.items - note["items_from_the_journal"]
        if not note["items_scored_after_the_resume"]:
            note["scored_from"] = None
    if run.apart:       # (the run sheet: a bad line and the few beside it, each)
        tally.execution["lines_read_line_by_line"] = run.apart
    return tally


class _InOrder:
    """The pieces of the inputs scored, written and folded in file order (one fold at a time,
    on ``pool``'s thread; ``folding``: the last one submitted), for :func:`_score_files`."""

    def __init__(self, cfg: AuditConfig, metrics: list[Metric], tally: StreamTally,
                 out: Writer, pool: Any, on_progress: Callable[[Progress], None] | None,
                 total: int | None, finish: FinishScreen):
        self.cfg, self.metrics, self.tally, self.out, self.pool = cfg, metrics, tally, out, pool
        self.on_progress, self.total, self.finish = on_progress, total, finish
        self.folding: Any = None
        self.apart = 0          # lines read apart
        self.mixed: Any = None  # the file's Mixing
        self.points: Any = None     # Checkpoints: the journal's chunks
        self.due: dict | None = None    # the chunk done whose entry is still to be taken

    def wait(self) -> None:
        if self.folding is not None:
            self.folding.result()

    def file(self, k: int, path: Path, chunks: RecordPieces | None, resumed: dict) -> None:
        """Every chunk of the ``k``-th input (``chunks``: its pieces, read already), or of
        those left after the last one journaled (``resumed``: :meth:`resume`'s)."""
        from halluscope.column_chunks import ChunkGroup, Mixing, RecordPieces
        from halluscope.hashing import hash_ahead
        plan = self.points.plan if self.points is not None else None
        self.mixed = Mixing(self.metrics[0])
        if plan is not None and k == plan.last.file:
            chunks = RecordPieces(path, after=(plan.sizes(k), resumed["reader"]))
            self.mixed.had_lines, self.mixed.refused = resumed["mixing"]
        elif chunks is None:
            chunks = RecordPieces(path)
        try:
            for chunk in chunks.chunk_groups():
                self.checkpoint()
                for piece in chunk:
                    if isinstance(piece, ChunkGroup):
                        self.group(piece)
                    else:
                        self.piece(piece)
                if self.points is not None:
                    self.due = {"file": k, "chunk": chunks.chunks_read - 1,
                                "lines": chunks.lines_read, "sizes": chunks.last_size,
                                "extra": {"reader": chunks.reader_state(), "apart": self.apart,
                                          "mixing": (self.mixed.had_lines, self.mixed.refused)}}
        finally:
            chunks.close()
        if self.folding is not None and not self.folding.done():   # the run sheet's hash
            hash_ahead([path])                                      # of the input

    def checkpoint(self) -> None:
        """Journal the chunk done (:attr:`due`), once folded: its entry is taken here, before
        the next chunk changes the state, and written on the items' thread after its items."""
        if self.due is None:
            return
        self.wait()
        points, journal = self.points, self.points.journal
        # the entry is taken without changing anything, then the chunk marked done, then the
        # names and bad records it lists counted as journaled: an interrupt anywhere in
        # between either takes the whole entry again (on the way out) or journals nothing
        entry = points.entry(self.due, self.tally, self.finish)
        self.due = None
        points.taken(entry)
        self.out.after(lambda size, digest: journal.append_chunk(
            replace(entry, items=size, items_sha256=digest)))

    def rescue(self) -> None:
        """On an interrupt: journal the chunk done if the next one had not begun."""
        try:
            self.checkpoint()
        except BaseException:       # noqa: BLE001 - (the fold's own failure): not journaled
            log.info("the last chunk scored as columns is not journaled", exc_info=True)

    def resume(self, plan: Any, paths: list[Path]) -> dict:
        """Take the state after the last chunk journaled; what the reader and the pass keep
        is returned (for :meth:`file`)."""
        data = plan.restore(self.metrics[0], self.tally, self.finish)
        self.apart = data["apart"]
        unit_names = getattr(self.metrics[0], "_unit_names", None)
        self.points.names_done = len(unit_names.names) if unit_names is not None else 0
        self.points.problems_done = len(self.tally.problems)
        self.tally.execution["resumed"] = plan.note(paths, self.tally.items)
        log.info("resuming: %d chunks (%d lines) already scored as columns",
                 len(plan.entries), plan.lines())
        return data

    def piece(self, piece: Any, checked: bool = False) -> None:
        """A run of lines or of columns, in its place (``checked``: by :class:`Mixing`)."""
        from halluscope.column_chunks import LineRun
        if isinstance(piece, LineRun):
            if not checked:
                self.mixed.lines(piece)
            self.out.text(self.lines(piece))
            return
        if not checked:
            self.mixed.columns(piece)
        metric = self.metrics[0]
        scored = metric.score_columns(piece, fold=False)
        _tally(self.tally, metric, piece, scored)
        self.wait()
        self.folding = self.pool.submit(metric.fold_columns, piece, scored)
        _write_column_items(piece, scored, self.metrics, self.tally, self.cfg.strict, self.out)
        self.progress()

    def lines(self, run: LineRun) -> str:
        """A run of lines scored line by line, once the folds before it are done: the text of
        its items."""
        self.wait()         # the state folds in file order
        text = _score_lines(self.finish.screen(run.records()), self.cfg, self.metrics,
                            self.tally, self.on_progress, self.total)
        self.apart += run.raw.count(b"\n") + (not run.raw.endswith(b"\n"))
        return text

    def group(self, group: ChunkGroup) -> None:
        """A chunk's columns scored as one, its items written with its runs of lines scored in
        their place, then the columns folded. The state is the one piece by piece gives: the
        rows fold as exact integer sums in any order, and what the metric keeps in input order
        (a unit numbered record by record) refuses a group (:class:`NotInOrder`, nothing
        changed), whose pieces are then scored one by one, as is a group an alignment error
        stops (raised in its place)."""
        from halluscope.column_chunks import LineRun
        from halluscope.columns import NotInOrder
        for piece in group.pieces:      # (the file's Mixing sees the pieces in order)
            (self.mixed.lines if isinstance(piece, LineRun) else self.mixed.columns)(piece)
        metric, cols = self.metrics[0], group.cols
        try:
            scored = metric.score_columns(cols, fold=False)
        except (NotInOrder, AlignmentError):
            for piece in group.pieces:
                self.piece(piece, checked=True)
            return
        _tally(self.tally, metric, cols, scored)
        self.wait()         # (the runs of lines fold here, on this thread)
        runs = [(at, lambda run=run: self.lines(run)) for at, run in group.runs]
        _write_column_items(cols, scored, self.metrics, self.tally, self.cfg.strict, self.out,
                            runs)
        self.folding = self.pool.submit(metric.fold_columns, cols, scored)
        self.progress()

    def progress(self) -> None:
        if self.on_progress is not None:
            self.on_progress(Progress(self.tally.items, self.total, len(self.tally.problems)))


class _Text(list):
    """The text sink :func:`~halluscope.scoring.score_stream` writes a run's lines to, handed
    to the item writer at once (a write each cost a hand-over to its thread)."""

    write = list.append


def _score_lines(records: Any, cfg: AuditConfig, metrics: list[Metric], tally: StreamTally,
                 on_progress: Callable[[Progress], None] | None, total: int | None) -> str:
    """Score the records of a run of lines as the line-by-line path does, into ``tally`` and
    ``out``: each line read by the line reader's own steps (:meth:`LineRun.records`), its
    finish reason screened as there (:class:`~halluscope.finish_reasons.FinishScreen`), scored
    by :func:`~halluscope.scoring.score_stream` (a blank line gives nothing): the text it
    writes, returned."""
    from halluscope.scoring import score_stream
    text = _Text()
    score_stream(records, metrics, text, strict=cfg.strict, on_progress=on_progress,
                 total=total, tally=tally)
    return "".join(text)


def _tally(tally: StreamTally, metric: Metric, cols: RecordColumns, scored: Any) -> None:
    """Count a chunk's lines, its scored lines and its scored empty answers."""
    tally.items += cols.n
    n_scored = int(np.count_nonzero(scored.ok))
    if n_scored:        # (as line by line: a metric that scored nothing has no count)
        tally.scored[metric.name] += n_scored
    responses = cols.coded("response")
    if responses is not None and len(responses.codes):
        empty = np.array([is_empty_answer(v) for v in responses.values], dtype=bool)
        n_empty = int(np.count_nonzero(empty[responses.codes] & scored.ok))
        if n_empty:
            tally.empty[metric.name] += n_empty


ITEM_CHUNK = 1 << 13
"""Lines whose items are put together at a time on the columnar path: their pieces, joined
lines and the writes waiting hold a few times 8,192 lines of text (65,536 held 60-80 MB)."""


def _write_column_items(cols: RecordColumns, scored: Any, metrics: list[Metric],
                        tally: StreamTally, strict: bool, out: Writer,
                        runs: list[tuple[int, Callable[[], str]]] = ()) -> None:
    """The item lines of ``cols``, in order, to ``out``: the scored ones put together from
    whole columns, the others (errors, skips) one by one as
    :func:`~halluscope.scoring.score_stream` writes them; each of ``runs`` (``(row, text)``:
    the lines read apart before row ``row``) called in its place for the text it writes."""
    from halluscope.column_json import join
    ok = np.asarray(scored.ok, dtype=bool)
    pieces = _item_pieces(cols, scored.item_columns, metrics[0].name)
    if not cols.n:
        out.text("".join(text() for _, text in runs))
        return
    for start in range(0, cols.n, ITEM_CHUNK):
        stop = min(start + ITEM_CHUNK, cols.n)
        lines = join([part for column in pieces for part in column.parts(start, stop)],
                     stop - start)
        events = sorted([(i, 1, k) for k, i in enumerate(
            (start + np.flatnonzero(~ok[start:stop])).tolist())] +
            [(at, 0, k) for k, (at, _) in enumerate(runs)
             if start <= at < stop or at == stop == cols.n])
        parts: list[tuple[int, int] | str] = []
        done = start
        try:        # (what came before an error strict raises is written, as line by line)
            for i, kind, k in events:
                if done < i:
                    parts.append((done - start, i - start))
                done = i
                if kind == 0:
                    parts.append(runs[k][1]())
                    continue
                # a line the columns did not score is never scored here, beside the fold
                outcome = (("error", scored.errors[i]) if i in scored.errors
                           else ("skip", scored.skips[i]))
                item = _score_record(cols.record(i), metrics, tally, strict,
                                     lambda m: outcome, folded=True)
                parts.append(dumps_finite(item) + "\n")
                done = i + 1
            if done < stop:
                parts.append((done - start, stop - start))
        finally:
            out.parts(lines, parts)


def _item_pieces(cols: RecordColumns, scores: Any, name: str) -> list[Pieces]:
    """The pieces of the item lines :func:`_score_record` writes for the scored lines of
    ``cols`` (``scores``: the metric's item columns), put together from whole columns
    (:mod:`halluscope.column_json`); the lines of rows not scored mean nothing."""
    from halluscope.column_json import Fixed, JsonColumn, LineNumbers

    def field(key: str, omit_none: bool = True) -> Pieces | None:
        """A record field as it is read (a plain column) or derived (id, task, image_id)."""
        column = cols.plain(key)
        column = cols.coded(key) if column is None else column
        if column is None:
            return None if omit_none else Fixed(f',"{key}":null')
        return JsonColumn(column, key, lead="{" if key == "id" else ",", omit_none=omit_none)

    pieces = [field("id", False), field("task", False), _shown_images(cols) or field("image"),
              field("image_id")]
    if cols.file:
        pieces += [Fixed(',"source":' + dumps_finite(shown_source(cols.file, ""))[:-1]),
                   LineNumbers(cols.start, cols.lines),
                   Fixed('"')]
    pieces += [field("prompt"), field("response", False),
               JsonColumn(scores.row, "row", lead=f',"scores":{{{dumps_finite(name)}:{{'),
               JsonColumn(scores.unit, "unit"), JsonColumn(scores.groups, "groups"), Fixed("}}")]
    lead = f",{dumps_finite(name)}:{{"
    for key, column in scores.payload.items():
        pieces.append(JsonColumn(column, key, lead=lead))
        lead = ","
    return [column for column in pieces + [Fixed("}}\n")] if column is not None]


def _shown_images(cols: RecordColumns) -> Pieces | None:
    """The ``image`` pieces when some image is a URL that carries a credential: each distinct
    image as :func:`~halluscope.scoring.shown_location` writes it (the line path's items, to the
    byte); ``None`` when every image is written as it is read (the plain column)."""
    from halluscope.column_json import JsonColumn
    column = cols.plain("image")
    if column is None:
        return None
    import pyarrow.compute as pc
    if all(shown_location(v) == v for v in pc.unique(column).to_pylist()):
        return None
    return JsonColumn(cols.coded("image").map(shown_location), "image", omit_none=True)
