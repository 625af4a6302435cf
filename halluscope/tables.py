"""The tables the audit reads (CSV, TSV, Parquet, Excel: one row a record or an answer) and
their header, read without reading the table: the record reader (:mod:`halluscope.readers`)
tells a VLMEvalKit table by it, and POPE (:mod:`halluscope.metrics.pope`) whether a table of
answers carries question ids.

Only the header is read: the first line of a CSV or TSV, the schema of a Parquet file, the
first row of the active sheet of a workbook. Standard library here; pyarrow and openpyxl are
imported when such a file is asked about.
"""

from __future__ import annotations

import csv
from pathlib import Path

from halluscope.textfiles import is_gzip_name, open_text

#: The suffixes of the tables the audit reads (any case), one row an answer.
TABLE_SUFFIXES = (".csv", ".tsv", ".parquet", ".xlsx")


def table_suffix(path: str | Path) -> str:
    """``path``'s suffix in lower case; a gzipped name's inner one (``x.tsv.gz``: ``.tsv``), so
    that every reader takes a gzipped table for the table it holds, not for gzipped JSON."""
    path = Path(path)
    return Path(path.stem).suffix.lower() if is_gzip_name(path) else path.suffix.lower()


def is_table(path: str | Path) -> bool:
    """Whether ``path`` is named as a table the audit reads (gzipped or not)."""
    return table_suffix(path) in TABLE_SUFFIXES


def table_columns(path: Path) -> list[str] | None:
    """The column names of a table (its header, as written), ``None`` when they cannot be read
    (not a table, unreadable, its reader not installed: the table reader reports the file when
    it reads it). A gzipped CSV or TSV is read through gzip."""
    suffix = table_suffix(path)
    try:
        if suffix in (".csv", ".tsv"):
            with open_text(path) as fh:
                return next(csv.reader(fh, delimiter="\t" if suffix == ".tsv" else ","), None)
        if suffix == ".parquet":
            import pyarrow.parquet as pq
            return list(pq.read_schema(path).names)
        if suffix == ".xlsx":
            import openpyxl
            book = openpyxl.load_workbook(path, read_only=True)
            try:
                # the first sheet, which pandas (and VLMEvalKit) read; not the active one
                row = next(book.worksheets[0].iter_rows(max_row=1, values_only=True), ())
            finally:
                book.close()
            return [str(c) for c in row if c is not None]
    except Exception:      # noqa: BLE001 - unreadable: the table reader reports it, as it reads
        return None
    return None


def first_image(value: object) -> str | None:
    """The image of a VLMEvalKit ``image_path`` cell: the first of a list (parsed from JSON,
    or written as Python's repr, ``['a.jpg', 'b.jpg']``, as pandas writes a list column and
    VLMEvalKit reads it back with ``eval``; read here as a literal, never run), else the
    cell's text; ``None`` for an empty list."""
    if isinstance(value, str) and value.startswith("[") and value.endswith("]"):
        import ast
        try:
            value = ast.literal_eval(value)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return value
    if isinstance(value, list):
        return str(value[0]) if value else None
    return str(value)


__all__ = ["TABLE_SUFFIXES", "first_image", "is_table", "table_columns", "table_suffix"]
