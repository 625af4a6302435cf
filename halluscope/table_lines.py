"""Where the rows of a CSV/TSV table are in its file: the line each data row starts on (a
quoted cell may span lines; blank lines and lines of only spaces are skipped, as pandas skips
them), and the rows a stray quote made swallow the lines after them (:class:`BrokenRow`). The
record reader (:mod:`halluscope.readers`) names rows by these lines and lists such rows as bad
records.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from halluscope.errors import InputError
from halluscope.textfiles import open_text

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BrokenRow:
    """A CSV/TSV row that runs over the lines after it: a quote opening one of its cells is
    closed mid-cell on a later line, so those lines were read into the cell, not as rows.
    pandas, and VLMEvalKit's ``read_csv`` with it, read such a file so; halluscope reads it the
    same way and lists the row as a bad record instead of scoring it."""

    first: int                     # the file line where the row starts
    last: int                      # the line where it ends
    column: str | None             # the cell that swallowed the lines
    why: str                       # what a strict CSV reader says of the row


@contextmanager
def _csv_fields_unlimited() -> Iterator[None]:
    """Python's csv refuses a field over 131,072 characters by default (pandas has no such
    limit, and a base64 image cell of a VLMEvalKit TSV passes it from ~96 KB of image): lifted
    while this module's own pass reads a table, then set back."""
    before = csv.field_size_limit(2**31 - 1)
    try:
        yield
    finally:
        csv.field_size_limit(before)


def physical_records(path: Path, delimiter: str
                      ) -> Iterator[tuple[int, int, list[str], list[str]]]:
    """``(first line, last line, cells, raw lines)`` of every record a CSV reader finds in
    ``path``, leaving out the lines pandas skips: blank lines and lines of nothing but spaces
    and tabs (tabs only where they are not the delimiter). No field is too long for it
    (:func:`_csv_fields_unlimited`, also for :func:`_quote_problem` on the records yielded)."""
    blank = " \t".replace(delimiter, "")
    taken: list[str] = []
    with _csv_fields_unlimited(), open_text(path) as fh:
        def lines() -> Iterator[str]:
            for line in fh:
                taken.append(line)     # the reader asks for no line past its record's end
                yield line
        read = 0
        for cells in csv.reader(lines(), delimiter=delimiter):
            raw = taken[:]
            taken.clear()
            first, read = read + 1, read + len(raw)
            if not cells or (len(raw) == 1 and not raw[0].rstrip("\r\n").strip(blank)):
                continue
            yield first, read, cells, raw


def _quote_problem(raw: list[str], delimiter: str) -> str | None:
    """What a strict CSV reader says of a record that spans ``raw`` lines; ``None`` when its
    quotes are well formed (a quoted cell holding line ends, closed at the cell's end)."""
    try:
        for _ in csv.reader(raw, delimiter=delimiter, strict=True):
            pass
    except csv.Error as exc:
        return str(exc).replace("\t", "\\t")       # "'\t' expected after '\"'"
    return None


def extra_cells(path: Path, table: str) -> InputError:
    """The error for a CSV/TSV table one of whose rows holds more cells than its header names
    (a delimiter inside an unquoted cell, or one more at the end of each line): pandas, and
    VLMEvalKit's ``read_csv`` with it, take the first column for the rows' labels and shift
    every cell one column (when the first row has one cell more: an answer read from the
    wrong column, in silence), or refuse the file ("Error tokenizing data", said as a file in
    no known format). The error names the first such row's line."""
    delimiter = "\t" if table == "tsv" else ","
    header: list[str] | None = None
    where, got = str(path), ""
    try:
        for first, _, cells, _ in physical_records(path, delimiter):
            if header is None:
                header = cells
            elif len(cells) > len(header):
                names = ", ".join(header)
                where, got = f"{path}:{first}", (f"{len(cells)} cells where the header names "
                                                 f"{len(header)} ({names:.80})")
                break
    except (OSError, UnicodeDecodeError, csv.Error, InputError):
        pass
    return InputError(f"{where}: expected each row to hold at most the cells its header names, "
                      f"got {got or 'a row with more'}: pandas (and VLMEvalKit's read_csv) "
                      f"would shift its cells into other columns or refuse the file; quote a "
                      f"cell that holds {'a tab' if table == 'tsv' else 'a comma'}, or remove "
                      f"the delimiter that ends the line")


def _header(path: Path, table: str) -> tuple[str, list[str | None]] | None:
    """Where a table's column names are (``path:line`` of the header, the sheet's first row, or
    the Parquet file) and the names, each in its column's place (None for an empty cell);
    None where they cannot be read (the table reader says why when it reads the file)."""
    try:
        if table in ("csv", "tsv"):
            first, _, header, _ = next(physical_records(path, "\t" if table == "tsv" else ","))
            return f"{path}:{first}", list(header)
        if table == "parquet":
            import pyarrow.parquet as pq
            return str(path), list(pq.read_schema(path).names)
        if table == "xlsx":
            import openpyxl
            book = openpyxl.load_workbook(path, read_only=True)
            try:        # the first sheet, the one pandas reads
                row = next(book.worksheets[0].iter_rows(max_row=1, values_only=True), ())
            finally:
                book.close()
            return f"{path}:1", [None if c is None else str(c) for c in row]
    except Exception:      # noqa: BLE001 - unreadable: the table reader reports it, as it reads
        return None
    return None


#: What a column named twice becomes, per table: pandas renames the second ``NAME.1`` (a CSV,
#: TSV or workbook, as VLMEvalKit's readers do); pyarrow refuses to make a frame of it.
_TWICE = {"csv": "pandas (and VLMEvalKit's read_csv) would read the first and rename the "
                 "other {renamed}",
          "tsv": "pandas (and VLMEvalKit's read_csv) would read the first and rename the "
                 "other {renamed}",
          "xlsx": "pandas (and VLMEvalKit's read_excel) would read the first and rename the "
                  "other {renamed}",
          "parquet": "pandas cannot tell them apart (pyarrow: 'Multiple matches for "
                     "FieldRef.Name')"}


def repeated_column(path: Path, table: str) -> InputError | None:
    """The error for a table whose header (a workbook's first row, a Parquet file's schema)
    names a column twice: pandas (and VLMEvalKit's ``read_csv``, ``read_excel``) reads the
    first and renames the other ``NAME.1``, so one of two answers (or ids, labels) was scored
    and the other kept as metadata, in silence; a Parquet file so named cannot be read into a
    frame at all. ``None`` for a header that names each column once (empty names aside: pandas
    names them by their position)."""
    found = _header(path, table) if table in _TWICE else None
    if found is None:
        return None
    where, header = found
    seen: dict[str, int] = {}
    for j, name in enumerate(header, 1):
        if name is None or not name.strip():
            continue
        if name in seen:
            cols = f"columns {seen[name]} and {j}"
            if table == "xlsx":
                cols += f", {_letters(seen[name])} and {_letters(j)} in the sheet"
            what = "schema" if table == "parquet" else "header"
            return InputError(
                f"{where}: expected each column named once in the {what}, got {name!r:.60}"
                f" twice ({cols}): " + _TWICE[table].format(renamed=repr(name + ".1")[:64])
                + "; rename or remove one")
        seen[name] = j
    return None


def _letters(column: int) -> str:
    """A spreadsheet's name of column ``column`` (from 1): A, ..., Z, AA, ..."""
    out = ""
    while column:
        column, rest = divmod(column - 1, 26)
        out = chr(65 + rest) + out
    return out


def table_lines(path: Path, table: str, n_rows: int
                 ) -> tuple[list[int] | None, dict[int, BrokenRow]]:
    """The file line where each data row of a CSV/TSV table starts (a quoted cell may span
    lines; blank and whitespace-only lines are skipped, as pandas does), and the rows that run
    over later lines because of a quote (:class:`BrokenRow`, by row number from 1). ``None``
    lines for other tables, or when the rows counted here differ from pandas' ``n_rows``
    (then each row is named by its number + 1, as if the header and each row were a line)."""
    if table not in ("csv", "tsv"):
        return None, {}
    delimiter = "\t" if table == "tsv" else ","
    header: list[str] | None = None
    starts: list[int] = []
    broken: dict[int, BrokenRow] = {}
    try:
        for first, last, cells, raw in physical_records(path, delimiter):
            if header is None:
                header = cells
                continue
            starts.append(first)
            why = _quote_problem(raw, delimiter) if last > first else None
            if why is not None:
                column = next((header[j] for j, cell in enumerate(cells)
                               if "\n" in cell and j < len(header)), None)
                broken[len(starts)] = BrokenRow(first, last, column, why)
    except (OSError, UnicodeDecodeError, csv.Error, InputError):
        return None, {}
    if len(starts) != n_rows:
        logger.warning("%s: counted %d rows, pandas read %d: rows are named by their number "
                       "+ 1, not their line", path, len(starts), n_rows)
        return None, {}
    return starts, broken


__all__ = ["BrokenRow", "extra_cells", "physical_records", "repeated_column", "table_lines"]
