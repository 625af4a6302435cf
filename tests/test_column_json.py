"""JSON lines put together from columns are the text dumps_finite gives for the same dicts."""

from __future__ import annotations

import io
import random

import numpy as np
import pytest

from halluscope._json import dumps_finite
from halluscope.column_json import constant, join, numbers, piece, write_rows
from halluscope.columns import Coded

pa = pytest.importorskip("pyarrow", reason="columns need pyarrow (the tables extra)")

ODD = ["plain", 'q"uote', "back\\slash", "new\nline", "\x00nul\x1f", "é 日本", "\u2028", "", "/"]


def _lines(pieces, n):
    out = io.StringIO()
    write_rows(out, join([*pieces, constant("}\n", n)]), 0, n)
    return out.getvalue().split("\n")[:-1]


@pytest.mark.parametrize("seed", range(5))
def test_lines_from_pieces_equal_dumps_finite_of_each_row(seed):
    rng = random.Random(seed)
    n = 40
    strings = [rng.choice(ODD) + str(rng.randrange(3)) for _ in range(n)]
    safe = [f"id-{i}" for i in range(n)]
    maybe = [rng.choice([None, "a", 'b"']) for _ in range(n)]
    rows_ = [rng.choice([(1.0, 0.0), ("g:x", "g:y"), (), None]) for _ in range(n)]
    ints = [rng.choice([None, 0, -5, 2 ** 40]) for _ in range(n)]
    pieces = [piece(pa.array(safe), "id", lead="{"), piece(pa.array(strings), "text"),
              piece(Coded.of(maybe), "maybe", omit_none=True), piece(Coded.of(rows_), "row"),
              piece(pa.array(maybe), "nullable"), piece(pa.array(maybe), "gone", omit_none=True),
              piece(pa.array(ints, type=pa.int64()), "int")]
    expected = []
    for i in range(n):
        row = {"id": safe[i], "text": strings[i]}
        if maybe[i] is not None:
            row["maybe"] = maybe[i]
        row["row"] = list(rows_[i]) if rows_[i] is not None else None
        row["nullable"] = maybe[i]
        if maybe[i] is not None:
            row["gone"] = maybe[i]
        row["int"] = ints[i]
        expected.append(dumps_finite(row))
    assert _lines(pieces, n) == expected


def test_rows_slices_negative_codes_and_partial_writes():
    coded = Coded(np.array([0, -1, 1, 0, -1]), ["a", "b", None])
    got = piece(coded, "k", lead="{", omit_none=True, rows=slice(1, 4)).to_pylist()
    assert got == ["", '{"k":"b"', '{"k":"a"']
    assert numbers(3, 6).to_pylist() == ["3", "4", "5"]
    lines = join([piece(pa.array(["x", "y", "z"]), "v", lead="{"), constant("}\n", 3)])
    out = io.StringIO()
    write_rows(out, lines, 1, 3)
    write_rows(out, lines, 2, 2)                    # nothing
    assert out.getvalue() == '{"v":"y"}\n{"v":"z"}\n'
    sliced = io.StringIO()
    write_rows(sliced, lines.slice(1), 1, 2)        # an array that starts at an offset
    assert sliced.getvalue() == '{"v":"z"}\n'


def test_the_background_writer_keeps_the_order_and_raises_a_failed_write():
    from halluscope.column_json import Writer
    lines = join([piece(pa.array([str(i) for i in range(50)]), "n", lead="{"),
                  constant("}\n", 50)])
    out = io.StringIO()
    with Writer(out, ahead=2) as writer:
        for i in range(0, 50, 5):
            writer.rows(lines, i, i + 4)
            writer.text(f"# {i + 4}\n")
    expected = "".join(f'{{"n":"{j}"}}\n' if j % 5 != 4 else f"# {j}\n" for j in range(50))
    assert out.getvalue() == expected

    class Full(io.StringIO):
        def write(self, text):
            raise OSError("No space left on device")

    with pytest.raises(OSError, match="No space left"):
        with Writer(Full()) as writer:
            writer.text("a")
            writer.text("b")


def test_strings_are_quoted_as_they_are_only_where_nothing_needs_an_escape():
    from halluscope.column_json import _needs_escape
    values = pa.array(["ok", 'a"b', "fine", "", "c\\d", "\x1f", "é"])
    assert _needs_escape(values)
    assert not _needs_escape(values.slice(2, 2))       # "fine", "" (an offset into the bytes)
    assert _needs_escape(values.slice(3, 2)) and not _needs_escape(values.slice(6, 1))
    assert not _needs_escape(pa.array(["", ""])) and not _needs_escape(pa.array([], pa.string()))
    for start in range(7):
        part = values.slice(start, 7 - start)
        assert piece(part, "k", lead="").to_pylist() == \
            [f'"k":{dumps_finite(v)}' for v in part.to_pylist()]


def test_constant_parts_join_as_scalars_the_same_text_as_columns_of_copies():
    """Text that is the same on every row goes into a join as one scalar (adjacent ones put
    together first), and gives the lines a column of copies gives; a one-valued column is such
    text; a join of constants alone still has ``n`` rows."""
    from halluscope.column_json import Fixed, JsonColumn
    ids = pa.array(["a", "b", "c"])
    task = JsonColumn(Coded(np.zeros(3, dtype=np.intp), ["yes-no"]), "task")
    parts = [*JsonColumn(ids, "id", lead="{").parts(0, 3), *task.parts(0, 3),
             *Fixed(',"x":1').parts(0, 3), *Fixed("}\n").parts(0, 3)]
    assert sum(isinstance(p, str) for p in parts) == 5        # '{"id":"', '"', task, x, end
    columns = [piece(ids, "id", lead="{"), task.rows(0, 3), constant(',"x":1', 3),
               constant("}\n", 3)]
    assert join(parts, 3).to_pylist() == join(columns).to_pylist() == \
        [dumps_finite({"id": v, "task": "yes-no", "x": 1}) + "\n" for v in "abc"]
    assert join(["{", "}"], 2).to_pylist() == ["{}", "{}"]
    assert join([*task.parts(1, 3)], 2).to_pylist() == [',"task":"yes-no"'] * 2


def test_a_writer_hashes_every_byte_it_writes_in_order_only_into_a_utf8_file(tmp_path):
    """What a hashing writer saw is the file's sha256: chunks of lines and text lines
    (non-ASCII, an error line between chunks), in the order written; a sink whose bytes are not
    the text's UTF-8 bytes is refused."""
    import hashlib

    from halluscope.column_json import Writer
    lines = join([piece(pa.array([f"é{i}" for i in range(30)]), "n", lead="{"),
                  constant("}\n", 30)])
    hasher = hashlib.sha256()
    path = tmp_path / "items.jsonl"
    with open(path, "w", encoding="utf-8") as sink:
        with Writer(sink, hasher=hasher) as writer:
            writer.rows(lines, 0, 10)
            writer.text('{"error":"日本 \\u2028"}\n')
            writer.rows(lines, 10, 30)
    assert hasher.hexdigest() == hashlib.sha256(path.read_bytes()).hexdigest()
    assert path.read_text(encoding="utf-8").count("\n") == 31
    with pytest.raises(ValueError, match="UTF-8 text file"):
        Writer(io.StringIO(), hasher=hashlib.sha256())
    with open(tmp_path / "latin.jsonl", "w", encoding="latin-1") as sink:
        assert not Writer.hashes(sink)


@pytest.mark.parametrize("odd", [None, 'q"uote', "\x1f", "\ud800"])
def test_many_distinct_strings_quoted_whole_are_dumps_finite_of_each(odd):
    """A column of many distinct strings (the units of 50,000 images) is quoted in pyarrow
    when none needs an escape, with ``None`` as ``null`` or left out: the text ``dumps_finite``
    gives; one that needs an escape sends the column to ``dumps_finite`` value by value (a lone
    surrogate, which no UTF-8 file holds, raising what it raises)."""
    from halluscope.column_json import JsonColumn
    values = [f"image:{i}.jpg" for i in range(300)] + ["é 日本", "\u2028", "", None]
    if odd is not None:
        values[7] = odd
    codes = np.array([0, 3, 303, 7, 301, 299, 302, 300, 303], dtype=np.intp)
    coded = Coded(codes, values)
    for omit_none in (False, True):
        expected = ["" if values[c] is None and omit_none else ',"unit":' + dumps_finite(values[c])
                    for c in codes] if odd != "\ud800" else None
        if expected is None:
            with pytest.raises(Exception, match="surrogate"):
                JsonColumn(coded, "unit", omit_none=omit_none)
            continue
        column = JsonColumn(coded, "unit", omit_none=omit_none)
        assert join(column.parts(0, len(codes)), len(codes)).to_pylist() == expected
