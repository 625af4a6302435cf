"""JSON lines written from whole columns: each line's text put together from per-row pieces.

A scorer that works on columns (:mod:`halluscope.columns`) has its output as columns too; writing
it one ``dict`` and one ``json.dumps`` per line would cost more than the scoring. Here a line is
the concatenation of pieces, one per key, each the key and the JSON text of the row's value:
a :class:`~halluscope.columns.Coded` column is encoded once per distinct value (orjson, as
:func:`~halluscope._json.dumps_finite` writes a whole line), and a pyarrow string array (one
distinct value per row: ids, answers) is quoted in pyarrow where no value needs an escape. The
lines are joined and written by pyarrow. What comes out is, byte for byte, the text
:func:`~halluscope._json.dumps_finite` gives for the same ``dict`` (tested).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from halluscope._json import dumps_finite
from halluscope.columns import Coded, arrow_ints, arrow_strings

__all__ = ["Fixed", "JsonColumn", "LineNumbers", "Piece", "Pieces", "Writer", "constant", "join",
           "numbers", "piece", "write_rows"]


Piece = Any
"""A column of text, one value per row (a pyarrow string array)."""


def _key(key: str | None, lead: str) -> str:
    return lead if key is None else f"{lead}{dumps_finite(key)}:"


class Pieces:
    """Text for every row of a file, given a chunk of rows at a time."""

    def rows(self, start: int, stop: int) -> Piece:
        """The pieces of rows ``start`` to ``stop`` (not included)."""
        return join(self.parts(start, stop), stop - start)

    def parts(self, start: int, stop: int) -> list[Piece | str]:
        """:meth:`rows` as consecutive parts for :func:`join`, each a column of text or a
        ``str`` (the same text on every row, never made into a column of copies)."""
        return [self.rows(start, stop)]


class JsonColumn(Pieces):
    """A column's pieces (see :func:`piece`), prepared once for a whole file: a
    :class:`Coded` column's distinct values are encoded here, and :meth:`rows` takes each
    chunk's rows from them."""

    def __init__(self, column: Coded | Any, key: str | None = None, *, lead: str = ",",
                 omit_none: bool = False):
        self.prefix, self.omit_none = _key(key, lead), omit_none
        self._column, self._texts, self._same = column, None, None
        if isinstance(column, Coded):
            values = column.values
            self._texts = _quoted(values, self.prefix, omit_none)
            if self._texts is None:
                texts = ["" if value is None and omit_none else self.prefix + dumps_finite(value)
                         for value in values]
                if len(texts) == 1:         # one value (a task, a parser): the same text
                    self._same = texts[0]
                self._texts = arrow_strings(texts)
            self._codes = column.codes % len(values) if values else column.codes

    def parts(self, start: int, stop: int) -> list[Piece | str]:
        if self._same is not None:
            return [self._same]
        if self._texts is not None:
            return [self._texts.take(arrow_ints(self._codes[start:stop]))]
        return _array_parts(self._column[start:stop], self.prefix, self.omit_none)


class Fixed(Pieces):
    """The same text on every row."""

    def __init__(self, text: str):
        self.text = text

    def rows(self, start: int, stop: int) -> Piece:
        return constant(self.text, stop - start)

    def parts(self, start: int, stop: int) -> list[Piece | str]:
        return [self.text]


class LineNumbers(Pieces):
    """Each row's number, counted from ``first + 1`` (the rows of a chunk of a file: ``first``
    lines come before it), or each row's own (``lines``: a chunk's good lines, with gaps), as
    text."""

    def __init__(self, first: int = 0, lines: np.ndarray | None = None):
        self.first, self.lines = first, lines

    def rows(self, start: int, stop: int) -> Piece:
        if self.lines is not None:
            import pyarrow as pa
            import pyarrow.compute as pc
            return pc.cast(arrow_ints(np.ascontiguousarray(self.lines[start:stop],
                                                           dtype=np.int64)), pa.string())
        return numbers(self.first + start + 1, self.first + stop + 1)


def piece(column: Coded | Any, key: str | None = None, *, lead: str = ",",
          omit_none: bool = False, rows: slice = slice(None)) -> Piece:
    """Each row's ``lead`` + ``"key":`` + JSON text of its value, for the rows ``rows`` of a
    :class:`Coded` column (a negative code counts from the end of its values) or of a pyarrow
    array (a null is JSON ``null``). With ``omit_none`` a row whose value is ``None`` gives the
    empty text (the key is left out of its line)."""
    start, stop, _ = rows.indices(len(column.codes) if isinstance(column, Coded)
                                  else len(column))
    return JsonColumn(column, key, lead=lead, omit_none=omit_none).rows(start, stop)


def _quoted(values: list, prefix: str, omit_none: bool) -> Piece | None:
    """The texts of many distinct values that are all strings (or ``None``) that need no escape,
    quoted as they are in pyarrow (50,000 images' units: 0.05 s one ``dumps_finite`` at a
    time); ``None`` for other values, which are encoded one by one."""
    if len(values) < 256 or not all(type(v) is str or v is None for v in values):
        return None
    try:
        strings = arrow_strings(values)
    except UnicodeEncodeError:      # a lone surrogate: dumps_finite says what it says
        return None
    if str(strings.type) != "string" or _needs_escape(strings):
        return None
    return join(_array_parts(strings, prefix, omit_none), len(values))


def _array_parts(values: Any, prefix: str, omit_none: bool) -> list[Piece | str]:
    """A pyarrow array's rows as parts for :func:`join`: strings quoted where nothing needs an
    escape (else encoded once per distinct value), integers as their digits; nulls as ``null``
    (or, with ``omit_none``, the empty text)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    n, kind = len(values), str(values.type)
    if kind == "int64":
        parts = [prefix, pc.cast(values, pa.string())]
    elif kind == "string" and not _needs_escape(values):
        parts = [prefix + '"', values, '"']
    else:
        parts = [JsonColumn(Coded.of(values), None, lead=prefix).rows(0, n)]
    if not values.null_count:
        return parts
    return [pc.if_else(pc.is_valid(values), join(parts, n),
                       constant("" if omit_none else prefix + "null", n))]


def _needs_escape(values: Any) -> bool:
    """Whether any string of a pyarrow ``string`` array holds a character orjson escapes
    (``"``, ``\\``, a control character): one pass over the bytes of its values."""
    if not len(values) or values.buffers()[2] is None:
        return False
    offsets = np.frombuffer(values.buffers()[1], dtype="<i4", count=len(values) + 1,
                            offset=values.offset * 4)
    data = np.frombuffer(values.buffers()[2], dtype=np.uint8)[offsets[0]:offsets[-1]]
    return bool(((data < 0x20) | (data == 0x22) | (data == 0x5C)).any())


def constant(text: str, n: int) -> Piece:
    """The same text on ``n`` rows."""
    return arrow_strings([text]).take(arrow_ints(np.zeros(n, dtype=np.int64)))


def numbers(start: int, stop: int) -> Piece:
    """The integers ``start`` to ``stop`` (not included), as text."""
    import pyarrow as pa
    import pyarrow.compute as pc
    return pc.cast(arrow_ints(np.arange(start, stop, dtype=np.int64)), pa.string())


def join(pieces: list[Piece | str], n: int | None = None) -> Piece:
    """Each row's pieces put together, in order, for ``n`` rows (default: the first piece's
    length). A ``str`` piece is the same text on every row: adjacent ones are put together
    once, and each goes in as a pyarrow scalar taken from an array (``pa.scalar`` and Python
    strings given to pyarrow import pandas), never as a column of copies."""
    import pyarrow.compute as pc
    merged: list[Any] = []
    for part in pieces:
        if isinstance(part, str) and merged and isinstance(merged[-1], str):
            merged[-1] += part
        else:
            merged.append(part)
    columns = [part for part in merged if not isinstance(part, str)]
    n = len(columns[0] if columns else pieces[0]) if n is None else n
    if not columns:
        return constant("".join(merged), n)
    if len(merged) == 1:
        return columns[0]
    scalars = arrow_strings([part for part in merged if isinstance(part, str)] + [""])
    at = iter(range(len(scalars)))
    args = [scalars[next(at)] if isinstance(part, str) else part for part in merged]
    return pc.binary_join_element_wise(*args, scalars[len(scalars) - 1])


def _utf8_file(sink: Any) -> bool:
    """Whether ``sink`` is a UTF-8 text file whose ``\n`` stays ``\n`` (opened with the default
    ``newline``, as halluscope opens its outputs, on a system whose line ending is ``\n``)."""
    return getattr(sink, "buffer", None) is not None and os.linesep == "\n" and \
        (getattr(sink, "encoding", "") or "").lower().replace("-", "") == "utf8"


def write_rows(sink: Any, lines: Piece, start: int, stop: int, hasher: Any = None) -> None:
    """Rows ``start`` to ``stop`` (not included) of ``lines`` (each ending in its newline) to a
    text ``sink``, in one write: their UTF-8 bytes straight to a UTF-8 file's binary buffer
    (after what the text layer holds), else as text. ``hasher`` (a ``hashlib`` object) is
    updated with those UTF-8 bytes."""
    if stop <= start:
        return
    part = lines.slice(start, stop - start)
    width = 8 if str(part.type) == "large_string" else 4
    offsets = np.frombuffer(part.buffers()[1], dtype=f"<i{width}", count=len(part) + 1,
                            offset=part.offset * width)
    data = part.buffers()[2][int(offsets[0]):int(offsets[-1])]
    if _utf8_file(sink):
        sink.flush()
        sink.buffer.write(data)
    else:
        sink.write(data.to_pybytes().decode("utf-8"))
    if hasher is not None:
        hasher.update(data)


class Writer:
    """Writes to ``sink`` in the order they are asked for, on one background thread, so that
    the next chunk of lines is put together (pyarrow, without the GIL) while the last one goes
    to disk. At most ``ahead`` writes wait at a time; a failed write is raised by the next call
    or by :meth:`close`. With ``hasher`` (a ``hashlib`` object; for a UTF-8 file only, see
    :meth:`hashes`), every byte written is hashed on that thread, in order, as it is written:
    the file need not be read again to be hashed."""

    def __init__(self, sink: Any, ahead: int = 2, hasher: Any = None):
        from concurrent.futures import ThreadPoolExecutor
        if hasher is not None and not self.hashes(sink):
            raise ValueError("expected a UTF-8 text file to hash as it is written, got "
                             f"{type(sink).__name__} encoding {getattr(sink, 'encoding', None)}")
        self.sink, self.ahead, self.hasher = sink, ahead, hasher
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="halluscope-items")
        self._pending: list[Any] = []
        self._failed = False    # a write failed (on the writer's thread): nothing is whole

    def _submit(self, fn: Any, *args: Any) -> None:
        while self._pending and (len(self._pending) >= self.ahead or self._pending[0].done()):
            self._pending.pop(0).result()
        self._pending.append(self._pool.submit(self._run, fn, *args))

    def _run(self, fn: Any, *args: Any) -> None:
        """``fn(*args)`` on the writer's thread, noting that it failed (:meth:`after` then
        calls nothing: the file lacks what it should hold)."""
        try:
            fn(*args)
        except BaseException:
            self._failed = True
            raise

    @staticmethod
    def hashes(sink: Any) -> bool:
        """Whether what goes into ``sink`` can be hashed as it is stored: the UTF-8 bytes of the
        text (a UTF-8 file whose ``\n`` stays ``\n``, written with strict errors)."""
        return _utf8_file(sink) and (getattr(sink, "errors", "strict") or "strict") == "strict"

    def rows(self, lines: Piece, start: int, stop: int) -> None:
        """:func:`write_rows`, in turn."""
        if stop > start:
            self._submit(write_rows, self.sink, lines, start, stop, self.hasher)

    def text(self, text: str) -> None:
        self._submit(self._text, text)

    def parts(self, lines: Piece, parts: list[tuple[int, int] | str]) -> None:
        """Rows ``(start, stop)`` of ``lines`` and texts, in order, in one hand-over (a chunk's
        rows with the lines read apart between them: a hand-over each cost a thread switch)."""
        if parts:
            self._submit(self._parts, lines, parts)

    def _parts(self, lines: Piece, parts: list[tuple[int, int] | str]) -> None:
        for part in parts:
            if isinstance(part, str):
                self._text(part)
            else:
                write_rows(self.sink, lines, part[0], part[1], self.hasher)

    def after(self, fn: Any) -> None:
        """Call ``fn(size, sha256)`` on the writer's thread once every write asked for before
        it is done: the bytes in the file by then (flushed to it) and their sha256 (``None``
        without a hasher). Not called once a write has failed (the failure is raised on the
        main thread by a later call): the file is not what was asked for."""
        self._submit(self._after, fn)

    def _after(self, fn: Any) -> None:
        if self._failed:
            return
        self.sink.flush()
        raw = getattr(self.sink, "buffer", None)
        size = raw.tell() if raw is not None else self.sink.tell()
        fn(size, self.hasher.copy().hexdigest() if self.hasher is not None else None)

    def _text(self, text: str) -> None:
        self.sink.write(text)
        if self.hasher is not None:
            self.hasher.update(text.encode("utf-8"))

    def close(self) -> None:
        """Wait for every write (raising the first that failed)."""
        try:
            while self._pending:
                self._pending.pop(0).result()
        finally:
            self._pool.shutdown(wait=True)

    def __enter__(self) -> Writer:
        return self

    def __exit__(self, *exc: Any) -> None:
        if exc[0] is not None:      # already failing: wait for the writes, keep that error
            for future in self._pending:
                future.exception()
            self._pending.clear()
        self.close()
