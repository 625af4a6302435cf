"""Flat answer files read as columns a chunk at a time: memory bounded by a chunk, not the file.

:func:`~halluscope.columns.read_record_columns` reads a whole file at once: its bytes, its
pyarrow table and every column derived from them are held together, which grew an audit of
300,000 POPE answers to half a gigabyte. :class:`RecordChunks` reads the same file in blocks of
about :data:`CHUNK_BYTES`, each cut after a line end, parses each with pyarrow and checks it as
:func:`~halluscope.columns.read_json_table` checks a whole file, and gives each as a
:class:`~halluscope.columns.RecordColumns` whose ``start`` counts the lines before it.

The chunks read as the whole file would: the same keys and types on every chunk (a key whose
order differs between chunks is put in the first chunk's order), the same checks, and a column
pyarrow reads as timestamps in one chunk (every value looks like a date) read as the strings the
whole file would give unless every chunk reads it so (pyarrow widens such a column to strings
where one value is not a date). What only the whole file tells (a bad line, a key missing on one
line, a type that changes) may show in a later chunk: iterating then raises :class:`NotColumns`,
and the caller starts over line by line. The audit reads with :class:`RecordPieces` instead,
which cuts such a chunk into pieces read as columns and runs of lines (:class:`LineRun`: a bad
line and a few beside it) that the caller reads line by line in their place.

A file of any size is read this way: :data:`~halluscope.columns.MAX_BYTES` bounds only the whole
file read at once. Files over it (256 MiB) went line by line too, 16-26 times slower a line and
not in flat memory (3.2 million POPE answers, 307 MiB: 545 s and 1.5 GiB against 14 s and
0.4 GiB for 2.15 million answers, 205 MiB, read in chunks).
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from halluscope import columns as _columns
from halluscope.columns import (_INTEGER_KEYS, RECORD_KEYS, RecordColumns,
                                checked_arrays, parsed_table, record_columns)
from halluscope.errors import InputError
from halluscope.records import open_binary

__all__ = ["CHUNK_BYTES", "LEAF_LINES", "ChunkGroup", "LineRun", "Mixing", "NotColumns", "RecordChunks",
           "RecordPieces", "TableChunks", "chunk_memory", "json_lines_file", "open_record_chunks",
           "open_record_pieces", "released"]

CHUNK_BYTES = 4 << 20
"""Bytes of an answer file read, scored and written at a time on the columnar path (about
40,000 POPE answers): large enough that the work per chunk hides its fixed costs, small enough
that an audit's memory does not grow with its input."""

_POOL_SET = False


@contextmanager
def chunk_memory() -> Iterator[None]:
    """A context in which pyarrow allocates from the system allocator (unless the user chose
    one, ``ARROW_DEFAULT_MEMORY_POOL``), whose freed memory is given back (:func:`released`).
    pyarrow's default, mimalloc, keeps what a chunk freed on each of its threads' heaps: an
    audit of a million POPE answers read in chunks peaked 60-70 MB higher with it, and spent
    more time in the system. The pool in use before comes back on exit. Without pyarrow (the
    ``tables`` extra) it does nothing: every file is read line by line then."""
    global _POOL_SET
    import os
    try:
        import pyarrow as pa
    except ImportError:
        pa = None
    if pa is None or _POOL_SET or os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        yield
        return
    before = pa.default_memory_pool()
    _POOL_SET = True
    pa.set_memory_pool(pa.system_memory_pool())
    try:
        yield
    finally:
        pa.set_memory_pool(before)
        _POOL_SET = False


def released() -> None:
    """Give the memory pyarrow's pool freed back to the system (after a question file is read:
    not after every chunk of answers, where trimming the heap cost 0.7 s of system time over a
    million answers for 20 MB less at the peak)."""
    import pyarrow as pa
    pa.default_memory_pool().release_unused()


class NotColumns(Exception):
    """A chunk after the first shows that the file is not one read as columns."""


def _blocks(path: Path, size: int, hasher: Any = None) -> Iterator[bytes]:
    """The file's bytes (decompressed) in blocks of about ``size``, each ending after a line end
    (the last one where the file ends); :class:`NotColumns` when the file cannot be read (the
    line reader says why); ``hasher`` is given the file's bytes as stored (:func:`open_binary`)."""
    tail = b""
    try:
        with open_binary(path, hasher) as fh:
            while block := fh.read(size):
                data = tail + block if tail else block
                cut = data.rfind(b"\n") + 1
                if cut:
                    yield data[:cut] if cut < len(data) else data
                tail = data[cut:]
    except (OSError, InputError) as exc:     # a truncated or corrupt gzip stream too
        raise NotColumns(str(exc)) from None
    if tail:
        yield tail


class TableChunks:
    """The pyarrow tables of a JSON-lines file of flat objects, a chunk at a time, each checked
    against the first as the whole file's lines are (see the module docstring): the same keys,
    in the first chunk's order, and the same types. The first chunk is read on construction
    (:class:`NotColumns` when it shows the file is not flat); iterating gives ``(lines before,
    table)`` for every chunk, in order, once. ``hasher``: given the file's bytes as stored as
    they are read (all of them once every chunk is read)."""

    def __init__(self, path: str | Path, size: int | None = None, hasher: Any = None):
        self.file = str(path)
        self._blocks = _blocks(Path(path), size or CHUNK_BYTES, hasher)
        self._names: list[str] = []
        self._types: dict[str, str] = {}
        self._dates: set[str] = set()       # columns every chunk so far read as timestamps
        raw = next(self._blocks, b"")
        if raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8):]
        self._first: Any = self._table(raw, 0, first=True)

    def _table(self, raw: bytes, start: int, first: bool = False) -> Any:
        table = parsed_table(raw, first)
        if table is None:
            raise NotColumns(f"{self.file}: line {start + 1} on is not flat JSON lines")
        dates = [name for name in table.column_names if str(table.column(name).type)
                 .startswith("timestamp")]
        if dates:           # as strings, as the whole file gives them unless all are dates
            import pyarrow as pa
            names = table.column_names
            table = parsed_table(raw, first, pa.schema([(name, pa.string()) for name in dates]))
            if table is None or set(table.column_names) != set(names):
                raise NotColumns(f"{self.file}: line {start + 1} on is not flat JSON lines")
            table = table.select(names)
        if first:
            self._names = list(table.column_names)
            self._types = {name: str(table.column(name).type) for name in self._names}
            self._dates = set(dates)
            return table
        if set(table.column_names) != set(self._names) or any(
                str(table.column(name).type) != self._types[name] for name in self._names):
            raise NotColumns(f"{self.file}: line {start + 1} on: other keys or types")
        self._dates &= set(dates)
        return table.select(self._names)

    def __iter__(self) -> Iterator[tuple[int, Any]]:
        table, self._first = self._first, None
        if table is None:
            raise RuntimeError(f"{self.file}: its chunks are read once")
        start = table.num_rows
        yield 0, table
        for raw in self._blocks:
            table = self._table(raw, start)
            yield start, table
            start += table.num_rows
        if self._dates:         # every value a date: the whole file's column is no strings
            raise NotColumns(f"{self.file}: column {sorted(self._dates)[0]} holds only dates")

    def close(self) -> None:
        self._blocks.close()
        self._first = None


class RecordChunks:
    """The records of a flat answer file as :class:`~halluscope.columns.RecordColumns`, a chunk
    at a time (:class:`TableChunks`; a chunk whose columns are not read as records raises
    :class:`NotColumns`)."""

    def __init__(self, path: str | Path, size: int | None = None):
        self.file = str(path)
        self._tables = TableChunks(path, size)
        self._first = self._records(0, self._tables._first)

    def _records(self, start: int, table: Any) -> RecordColumns:
        arrays = checked_arrays(table, RECORD_KEYS, _INTEGER_KEYS, "flat")
        cols = record_columns(self.file, arrays, start) if arrays else None
        if cols is None:
            raise NotColumns(f"{self.file}: line {start + 1} on is not read as columns")
        return cols

    def __iter__(self) -> Iterator[RecordColumns]:
        for start, table in self._tables:
            cols, self._first = (self._first, None) if start == 0 else (None, None)
            yield cols if cols is not None else self._records(start, table)

    def close(self) -> None:
        self._tables.close()
        self._first = None


def open_record_chunks(path: str | Path, size: int | None = None) -> RecordChunks | None:
    """:class:`RecordChunks` of a file whose first chunk is flat, whatever its size; ``None``
    when the file is read line by line (pyarrow missing, its first chunk not flat)."""
    return _opened(RecordChunks, Path(path), size)



# -- files with lines that are not read as columns --------------------------------------------
LEAF_LINES = 8
"""A piece of a chunk that is not flat is halved until it holds at most this many lines: those
are read line by line (a bad line and the few beside it), the rest as columns."""


class LineRun:
    """Consecutive lines of a file read line by line (:mod:`halluscope.column_scoring` reads
    them as the line reader does): ``raw`` their bytes (the file's BOM already dropped),
    ``start`` the lines of the file before them."""

    __slots__ = ("file", "raw", "start")

    def __init__(self, file: str, start: int, raw: bytes):
        self.file, self.start, self.raw = file, start, raw

    def lines(self) -> Iterator[tuple[int, bytes]]:
        """``(line number, raw line)``, cut after each ``\\n`` only, as a file is read."""
        import io
        for k, raw in enumerate(io.BytesIO(self.raw), self.start + 1):
            yield k, raw

    def records(self) -> Iterator[Any]:
        """Each line's record or :class:`~halluscope.errors.RecordError`, read by the line
        reader's own steps (:func:`~halluscope.textfiles.json_line`, then
        :func:`~halluscope.records.record_from_dict`); a blank line gives nothing."""
        from halluscope.errors import RecordError
        from halluscope.records import record_from_dict
        from halluscope.textfiles import BLANK, json_line
        text_name = str(Path(self.file))      # (as iter_json_values names a line not read)
        for line, raw in self.lines():
            value = json_line(raw, line, text_name)
            if value is BLANK:
                continue
            if isinstance(value, RecordError):
                yield value
                continue
            try:
                yield record_from_dict(value, file=self.file, line=line)
            except RecordError as exc:
                yield exc


class Mixing:
    """Whether a file's columns and its lines read one by one (:class:`LineRun`) may be scored
    side by side: not where the metric says such columns must not
    (``metric.columns_beside_lines(cols)``, for a metric whose columns would not see what the
    lines apart change: a line's place, the file's first line; a metric that does not say,
    never), nor where the line reader would not read the file as JSON lines; then
    :class:`NotColumns` (read it line by line)."""

    def __init__(self, metric: Any):
        self.beside = getattr(metric, "columns_beside_lines", lambda cols: False)
        self.had_lines, self.refused = False, False

    def lines(self, run: LineRun) -> None:
        """Note that ``run`` comes next, before it is scored."""
        if self.refused:
            raise NotColumns(f"{run.file}: line {run.start + 1} is read line by line")
        if run.start == 0 and not json_lines_file(run.file):
            raise NotColumns(f"{run.file}: not JSON lines (an array, or one document)")
        self.had_lines = True

    def columns(self, cols: RecordColumns) -> None:
        """Note that ``cols`` come next, before they are scored."""
        self.refused = self.refused or not self.beside(cols)
        if self.refused and self.had_lines:
            raise NotColumns(f"{cols.file}: lines before line {cols.start + 1} were read "
                             f"line by line")


def json_lines_file(file: str) -> bool:
    """Whether the line reader reads ``file`` as JSON lines: its first non-blank line neither
    opens a JSON array (``[``) nor is ``{`` alone (one document over several lines)."""
    from halluscope.records import iter_text_lines
    for _, text in iter_text_lines(file, errors="surrogateescape"):
        stripped = (text[0] if isinstance(text, tuple) else text).strip()
        if stripped:
            return not (stripped.startswith("[") or stripped == "{")
    return True


def _looks_flat(lines: list[bytes], names: list[str], types: dict[str, str]
                ) -> list[bool] | None:
    """Which ``lines`` look like a flat file's of keys ``names`` and pyarrow ``types``: one
    JSON object each, of those keys, each value of its column's JSON type (``None`` where a
    type is not one to look at). Only a guess at what pyarrow reads: what it reads is checked."""
    kinds = {"string": str, "int64": int}
    if any(types[name] not in kinds for name in names):
        return None
    try:
        from orjson import loads
    except ImportError:
        from json import loads
    want = [(name, kinds[types[name]]) for name in names]
    keys, kinds_in_order = tuple(names), tuple(kind for _, kind in want)
    good = []
    for line in lines:
        try:
            obj = loads(line)
        except (ValueError, RecursionError):
            good.append(False)
            continue
        if type(obj) is dict and tuple(obj) == keys:    # (the keys in the file's order)
            good.append(tuple(map(type, obj.values())) == kinds_in_order)
            continue
        good.append(type(obj) is dict and len(obj) == len(want) and all(
            type(obj.get(name)) is kind for name, kind in want))
    return good


def _line_count(raw: bytes) -> int:
    return raw.count(b"\n") + (bool(raw) and not raw.endswith(b"\n"))


class RecordPieces:
    """The records of an answer file, a chunk at a time, as :class:`RecordChunks` reads them,
    except that a chunk that is not flat is not the end of reading as columns: its lines that
    look like the file's are read as columns together (:meth:`_screened`), and what that look
    gets wrong (or a chunk before the file's keys are known) is halved until each piece either
    reads as columns of the file's keys and types (the first such piece's) or holds at most
    :data:`LEAF_LINES` lines; adjacent pieces of a kind are joined again. Iterating gives, in file order, :class:`~halluscope.columns.RecordColumns`
    (whose ``start`` counts every line before it, blank and bad ones too) and
    :class:`LineRun`. A file whose first chunk is less than half columns raises
    :class:`NotColumns` on construction (it is read line by line, with its journal); a column
    every piece reads as dates raises it once read (as :class:`TableChunks`)."""

    def __init__(self, path: str | Path, size: int | None = None, after: Any = None):
        self.file = str(path)
        self._blocks = _blocks(Path(path), size or CHUNK_BYTES)
        self._names: list[str] | None = None
        self._types: dict[str, str] = {}
        self._dates: set[str] = set()
        # chunks given so far, the file's lines up to the last one's end, its bytes and lines
        self.chunks_read, self.lines_read, self.last_size = 0, 0, (0, 0)
        if after is not None:
            self._skip(*after)
            return
        raw = next(self._blocks, b"")
        if raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8):]
        self._lines = _line_count(raw)
        self.last_size = (len(raw), self._lines)
        self._first: list[Any] | None = self._pieces(raw, 0)
        flat = sum(p.n for p in self._first if isinstance(p, RecordColumns))
        if not raw or 2 * flat < self._lines:
            raise NotColumns(f"{self.file}: its first lines are mostly not flat JSON lines")

    def _table(self, raw: bytes, start: int) -> Any:
        """The checked table of lines ``start + 1`` on (``None``: not flat, or other keys or
        types than the file's), its date columns read as strings."""
        first = start == 0
        table = parsed_table(raw, first)
        if table is None:
            return None
        dates = {name for name in table.column_names
                 if str(table.column(name).type).startswith("timestamp")}
        if dates:
            import pyarrow as pa
            names = table.column_names
            table = parsed_table(raw, first, pa.schema([(name, pa.string()) for name in dates]))
            if table is None or set(table.column_names) != set(names):
                return None
            table = table.select(names)
        if self._names is not None and (set(table.column_names) != set(self._names) or any(
                str(table.column(name).type) != self._types[name] for name in self._names)):
            return None
        return table, dates

    def _columns(self, table: Any, start: int) -> RecordColumns | None:
        arrays = checked_arrays(table, RECORD_KEYS, _INTEGER_KEYS, "flat")
        return record_columns(self.file, arrays, start) if arrays else None

    def _classify(self, raw: bytes, start: int, marks: list[tuple], screen: bool = True
                  ) -> None:
        """``(start, raw, table, columns)`` of ``raw``'s pieces, in order (``None``, ``None``
        for a piece read line by line): ``raw`` whole when it reads as columns, else the
        pieces :meth:`_screened` finds (once the file's keys are known), else its halves'."""
        checked = self._table(raw, start)
        if checked is not None:
            table, dates = checked
            if self._names is not None:
                table = table.select(self._names)
            cols = self._columns(table, start)
            if cols is not None:
                if self._names is None:         # the file's keys and types: the first piece's
                    self._names = list(table.column_names)
                    self._types = {n: str(table.column(n).type) for n in self._names}
                    self._dates = set(dates)
                else:
                    self._dates &= dates
                marks.append((start, raw, table, cols))
                return
        if _line_count(raw) <= LEAF_LINES:
            marks.append((start, raw, None, None))
            return
        if screen and self._names is not None:
            if self._screened(raw, start, marks):
                return
            screen = False
        cut = raw.rfind(b"\n", 0, len(raw) // 2) + 1 or raw.index(b"\n") + 1
        self._classify(raw[:cut], start, marks, screen)
        self._classify(raw[cut:], start + raw.count(b"\n", 0, cut), marks, screen)

    def _screened(self, raw: bytes, start: int, marks: list[tuple]) -> bool:
        """The pieces of ``raw`` found by looking at each line in Python (each halving parses
        again, and a pyarrow call costs ~0.3 ms: a chunk with 400 bad lines took 2,600): the
        lines that look like the file's (a JSON object of its keys and value types) are read
        as columns together, each run of them a piece; the others are read line by line.
        ``False`` (nothing marked) when those lines do not read as columns together."""
        lines = raw.split(b"\n")
        if raw.endswith(b"\n"):
            lines.pop()
        good = _looks_flat(lines, self._names, self._types)
        if good is None:
            return False
        ends = [b"\n"] * len(lines)
        ends[-1] = b"\n" if raw.endswith(b"\n") else b""
        checked = self._table(b"".join(line + b"\n" for line, ok in zip(lines, good) if ok),
                              start if good[0] else -1) if any(good) else None
        if checked is None and any(good):
            return False
        table = checked[0].select(self._names) if checked else None
        at, k, found = 0, 0, []
        while k < len(lines):
            j = k + 1
            while j < len(lines) and good[j] == good[k]:
                j += 1
            text = b"".join(line + end for line, end in zip(lines[k:j], ends[k:j]))
            part = table.slice(at, j - k) if good[k] else None
            cols = self._columns(part, start + k) if good[k] else None
            if good[k] and cols is None:
                self._classify(text, start + k, found, screen=False)
            else:
                found.append((start + k, text, part if cols is not None else None, cols))
            at, k = at + (j - k if good[k] else 0), j
        self._dates &= checked[1] if checked else self._dates
        marks.extend(found)
        return True

    def _pieces(self, raw: bytes, start: int) -> list[Any]:
        """The pieces of one chunk: runs of columns joined into one, runs of lines into one."""
        marks: list[tuple] = []
        if raw:
            self._classify(raw, start, marks)
        pieces: list[Any] = []
        i = 0
        while i < len(marks):
            j = i + 1
            while j < len(marks) and (marks[j][3] is None) == (marks[i][3] is None):
                j += 1
            run, i = marks[i:j], j
            if run[0][3] is None:
                pieces.append(LineRun(self.file, run[0][0], b"".join(m[1] for m in run)))
            else:
                pieces.extend(self._joined(run))
        return pieces

    def _joined(self, run: list[tuple]) -> list[RecordColumns]:
        """The columns of adjacent pieces as one (each alone if, joined, they are not)."""
        if len(run) > 1:
            import pyarrow as pa
            try:
                cols = self._columns(pa.concat_tables([m[2] for m in run]), run[0][0])
            except (pa.ArrowInvalid, pa.ArrowTypeError):
                cols = None
            if cols is not None:
                return [cols]
        return [m[3] for m in run]

    def reader_state(self) -> tuple[list[str] | None, dict[str, str], list[str]]:
        """What reading the chunks so far taught (the file's keys and types, the columns
        every piece read as dates), for a resume to go on from (``after``)."""
        return self._names, dict(self._types), sorted(self._dates)

    def _skip(self, sizes: list[tuple[int, int]], state: tuple) -> None:
        """Pass the chunks of ``sizes`` (each one's bytes and lines, as journaled) unread,
        and take ``state`` (:meth:`reader_state` after them): a resume goes on from there.
        A chunk of another size means another file: :class:`ConfigError`, naming it."""
        from halluscope.errors import ConfigError
        for k, size in enumerate(sizes):
            raw = next(self._blocks, b"")
            if not k and raw.startswith(codecs.BOM_UTF8):
                raw = raw[len(codecs.BOM_UTF8):]
            if (len(raw), _line_count(raw)) != tuple(size):
                raise ConfigError(
                    f"{self.file}: cannot resume: line {self.lines_read + 1:,} on is not what "
                    f"the interrupted run read there ({size[1]:,} lines, {size[0]:,} bytes "
                    f"journaled; {_line_count(raw):,} lines, {len(raw):,} bytes now); run "
                    f"without --resume to start again")
            self.chunks_read, self.lines_read = k + 1, self.lines_read + size[1]
        names, types, dates = state
        self._names, self._types, self._dates = names, dict(types), set(dates)
        self._first = []

    def _chunks(self) -> Iterator[list[Any]]:
        """Each chunk's pieces, in order (``chunks_read``, ``lines_read`` and ``last_size``
        say where the one given ends)."""
        pieces, self._first = self._first, None
        if pieces is None:
            raise RuntimeError(f"{self.file}: its chunks are read once")
        if not self.chunks_read:        # (the first, read on construction)
            self.chunks_read, self.lines_read = 1, self._lines
            yield pieces
        for raw in self._blocks:
            pieces = self._pieces(raw, self.lines_read)
            self.last_size = (len(raw), _line_count(raw))
            self.chunks_read += 1
            self.lines_read += self.last_size[1]
            yield pieces
        if self._dates:
            raise NotColumns(f"{self.file}: column {sorted(self._dates)[0]} holds only dates")

    def __iter__(self) -> Iterator[Any]:
        for pieces in self._chunks():
            yield from pieces

    def groups(self) -> Iterator[Any]:
        """The pieces as iterating gives them, except that a chunk whose columns have runs of
        lines between them is one :class:`ChunkGroup` (where its columns join)."""
        for pieces in self.chunk_groups():
            yield from pieces

    def chunk_groups(self) -> Iterator[list[Any]]:
        """What :meth:`groups` gives, a list a chunk."""
        for pieces in self._chunks():
            group = ChunkGroup.of(self.file, pieces)
            yield pieces if group is None else [group]

    def close(self) -> None:
        self._blocks.close()
        self._first = None


class ChunkGroup:
    """A chunk's pieces (``pieces``, in order) whose columns have runs of lines between them,
    its columns also joined as one :class:`~halluscope.columns.RecordColumns` (``cols``, each
    element's line in ``cols.lines``) and each run (``runs``) with the elements of ``cols``
    before it: scored at once, written and folded with the runs in their place
    (:mod:`halluscope.column_scoring`). Each run of columns had its fixed costs (scoring, the
    fold's draws, the items): 1,000 bad lines spread over 100,000 answers cost 7 times the
    clean file. ``pieces`` are there to score one by one where the columns cannot be scored
    together (:class:`~halluscope.columns.NotInOrder`, an alignment error)."""

    __slots__ = ("cols", "pieces", "runs")

    def __init__(self, cols: RecordColumns, runs: list[tuple[int, LineRun]], pieces: list[Any]):
        self.cols, self.runs, self.pieces = cols, runs, pieces

    @classmethod
    def of(cls, file: str, pieces: list[Any]) -> ChunkGroup | None:
        """The group of one chunk's ``pieces``; ``None`` where there is nothing to join (a
        single run of columns) or its columns do not join."""
        cols = [p for p in pieces if isinstance(p, RecordColumns)]
        if len(cols) < 2 or len(cols) == len(pieces):
            return None
        keys = list(cols[0]._arrays)
        if any(list(c._arrays) != keys for c in cols):
            return None
        import numpy as np
        import pyarrow as pa
        try:
            arrays = {k: pa.concat_arrays([c._arrays[k] for c in cols]) for k in keys}
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            return None
        joined = record_columns(file, arrays, cols[0].start)
        if joined is None or joined.n != sum(c.n for c in cols):
            return None
        joined.lines = np.concatenate([c.line_numbers() for c in cols])
        runs, at = [], 0
        for piece in pieces:
            if isinstance(piece, LineRun):
                runs.append((at, piece))
            else:
                at += piece.n
        return cls(joined, runs, pieces)


def open_record_pieces(path: str | Path, size: int | None = None) -> RecordPieces | None:
    """:class:`RecordPieces` of a file whose first chunk is mostly flat; ``None`` when the
    file is read line by line (pyarrow missing, its first chunk mostly not flat)."""
    return _opened(RecordPieces, path, size)


def _opened(cls: Any, path: str | Path, size: int | None) -> Any:
    """``cls(path, size)``, or ``None`` when the file is read line by line instead (pyarrow
    missing, the file unreadable, its first chunk not flat enough)."""
    if _columns._pyarrow_json() is None:
        return None
    try:
        return cls(path, size)
    except (OSError, NotColumns):
        return None
