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
and the caller starts over line by line.

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

__all__ = ["CHUNK_BYTES", "NotColumns", "RecordChunks", "TableChunks", "chunk_memory",
           "open_record_chunks", "released"]

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
    path = Path(path)
    if _columns._pyarrow_json() is None:
        return None
    try:
        return RecordChunks(path, size)
    except (OSError, NotColumns):
        return None

