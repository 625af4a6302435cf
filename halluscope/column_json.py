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

__all__ = ["Piece", "constant", "join", "numbers", "piece", "write_rows"]

#: What orjson escapes in a string (``"``, ``\\`` and control characters): a string array
#: holding none of them is quoted as it is.
_NEEDS_ESCAPE = r'["\\\x00-\x1f]'

Piece = Any
"""A column of text, one value per row (a pyarrow string array)."""


def _key(key: str | None, lead: str) -> str:
    return lead if key is None else f"{lead}{dumps_finite(key)}:"


def piece(column: Coded | Any, key: str | None = None, *, lead: str = ",",
          omit_none: bool = False, rows: slice = slice(None)) -> Piece:
    """Each row's ``lead`` + ``"key":`` + JSON text of its value, for the rows ``rows`` of a
    :class:`Coded` column (a negative code counts from the end of its values) or of a pyarrow
    array (a null is JSON ``null``). With ``omit_none`` a row whose value is ``None`` gives the
    empty text (the key is left out of its line)."""
    prefix = _key(key, lead)
    if isinstance(column, Coded):
        texts = ["" if value is None and omit_none else prefix + dumps_finite(value)
                 for value in column.values]
        codes = column.codes[rows]
        if len(texts) and codes.size and codes.min() < 0:
            codes = codes % len(texts)
        return arrow_strings(texts).take(arrow_ints(codes))
    return _array_piece(column[rows], prefix, omit_none)


def _array_piece(values: Any, prefix: str, omit_none: bool) -> Piece:
    """A pyarrow array's rows as pieces: strings quoted where nothing needs an escape (else
    encoded once per distinct value), integers as their digits; nulls as ``null`` (or, with
    ``omit_none``, the empty text)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    n, kind = len(values), str(values.type)
    if kind == "int64":
        text = join([constant(prefix, n), pc.cast(values, pa.string())])
    elif kind == "string" and not pc.any(pc.match_substring_regex(values, _NEEDS_ESCAPE)
                                         ).as_py():
        text = join([constant(prefix + '"', n), values, constant('"', n)])
    else:
        text = piece(Coded.of(values), None, lead=prefix)
    if not values.null_count:
        return text
    return pc.if_else(pc.is_valid(values), text, constant("" if omit_none else prefix + "null",
                                                          n))


def constant(text: str, n: int) -> Piece:
    """The same text on ``n`` rows."""
    return arrow_strings([text]).take(arrow_ints(np.zeros(n, dtype=np.int64)))


def numbers(start: int, stop: int) -> Piece:
    """The integers ``start`` to ``stop`` (not included), as text."""
    import pyarrow as pa
    import pyarrow.compute as pc
    return pc.cast(arrow_ints(np.arange(start, stop, dtype=np.int64)), pa.string())


def join(pieces: list[Piece]) -> Piece:
    """Each row's pieces put together, in order (no piece is a pyarrow scalar or a Python
    string: converting those imports pandas)."""
    import pyarrow.compute as pc
    return pc.binary_join_element_wise(*pieces, constant("", len(pieces[0])))


def write_rows(sink: Any, lines: Piece, start: int, stop: int) -> None:
    """Rows ``start`` to ``stop`` (not included) of ``lines`` (each ending in its newline) to a
    text ``sink``, in one write: their UTF-8 bytes straight to a UTF-8 file's binary buffer
    (after what the text layer holds), else as text."""
    if stop <= start:
        return
    part = lines.slice(start, stop - start)
    width = 8 if str(part.type) == "large_string" else 4
    offsets = np.frombuffer(part.buffers()[1], dtype=f"<i{width}", count=len(part) + 1,
                            offset=part.offset * width)
    data = part.buffers()[2][int(offsets[0]):int(offsets[-1])]
    raw = getattr(sink, "buffer", None)
    utf8 = (getattr(sink, "encoding", "") or "").lower().replace("-", "") == "utf8"
    if raw is not None and utf8 and os.linesep == "\n":
        sink.flush()
        raw.write(data)
    else:
        sink.write(data.to_pybytes().decode("utf-8"))
