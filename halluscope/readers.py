"""Readers for the files users already have: tables, peers' logs, in-memory frames.

:func:`iter_input_records` is the one entry point the pipeline calls per input file; it detects
the format from the file (name, first bytes, first row) unless one is forced:

================  ==========================================================================
format            what it is
================  ==========================================================================
``jsonl``         halluscope's own JSON Lines (and the peer layouts :mod:`halluscope.records`
                  reads: CHAIR caption logs, LLaVA answer files, POPE files; ``.gz``, arrays)
``lmms-eval``     lmms-eval ``samples_*.jsonl`` from ``--log_samples``: the current layout
                  (``doc_id``, ``target``, ``filtered_resps``, per-metric dicts holding
                  ``question_id``) and the pre-0.4 one (``doc``, ``resps``, ``arguments``)
``coco-caption``  coco-caption's evaluation file (``overall``, ``imgToEval``: image id -> caption
                  and metrics), as the original CHAIR reads it (:mod:`halluscope.coco_caption`)
``vlmevalkit``    VLMEvalKit prediction files (``.xlsx`` or ``.tsv`` with ``index``,
                  ``question``, ``answer``, ``prediction``, ``category``, ...); such rows
                  written as JSON (lines) are read as JSON, as when detected
``csv``/``tsv``   tables whose columns are named like the JSON fields
``parquet``       the same, as Parquet (needs the ``tables`` extra: pyarrow)
``xlsx``          the same, as Excel (needs the ``tables`` extra: openpyxl)
================  ==========================================================================

In memory, :func:`rows_of` turns a pandas ``DataFrame``, a Hugging Face ``datasets.Dataset`` or
any iterable of mappings into rows for ``audit(records=...)``.

Every row goes through :func:`halluscope.records.record_from_dict`, so a bad row is reported
with file, row number and field like a bad JSON line. Cells are read as written: text columns
(:data:`TEXT_COLUMNS`) are never parsed as JSON, other columns are when a cell holds a JSON
object or array (VLMEvalKit tables: :data:`VLMEVALKIT_JSON_COLUMNS` only); an empty cell of a
column the answer may come from (:data:`ANSWER_COLUMNS`) is a null answer, not an absent
column; a CSV/TSV row that a stray quote made swallow the lines after it is a bad record.
"""

from __future__ import annotations

import csv
import json
import logging
import math
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from halluscope.coco_caption import coco_caption_rows, count_coco_caption, is_coco_caption
from halluscope.errors import ConfigError, InputError, MissingExtraError, RecordError
from halluscope.finish_reasons import withheld_error
from halluscope.lmms_eval_log import (PopeSplitOfFile, is_lmms_eval, lmms_eval_line,
                                      lmms_eval_row, one_document, yes_no)
from halluscope.records import (ANSWER_FIELDS, Record, drop_bom, id_hint, is_gzip_name,
                                is_request_error, iter_json_values, open_binary, open_text,
                                record_from_dict)
from halluscope.table_lines import (BrokenRow, extra_cells, physical_records, repeated_column,
                                    table_lines)
from halluscope.tables import TABLE_SUFFIXES, first_image, table_columns, table_suffix
from halluscope.textfiles import is_blank_file

logger = logging.getLogger(__name__)

FORMATS: tuple[str, ...] = ("jsonl", "lmms-eval", "coco-caption", "vlmevalkit", "csv", "tsv",
                           "parquet", "xlsx")
_JSON_SUFFIXES = {".jsonl", ".json", ".ndjson"}         # and gzip (is_gzip_name)
_VLMEVALKIT_COLUMNS = {"index", "prediction"}
# bulky columns of VLMEvalKit tables that are never needed for scoring (base64 images)
_DROPPED_COLUMNS = frozenset({"image"})
# a JSON file of one object over many lines is parsed whole up to this size, to say what it is
_SMALL_JSON_BYTES = 64 << 20

#: Columns of tables and in-memory rows read as text, exactly as written, even when a cell
#: looks like JSON: the fields the record reader takes as strings (a model's answer written as
#: ``{"answer": "no"}`` is that text, as in a JSON line). A cell of any other column holding a
#: JSON object or array is parsed (``metadata``, ``document``, ``samples``, ``regions``,
#: ``objects``, ``absent`` and the like carry structure in a table this way only).
TEXT_COLUMNS = frozenset({
    "id", "question_id", "index", "image", "image_id", "task", "model", "model_id", "error",
    "prompt", "question", "response", "prediction", "model_prediction", "model_answer",
    "answer", "caption", "text", "label"})
#: The columns of a VLMEvalKit table whose JSON cells are parsed: ``image_path`` (a list of
#: images) alone; VLMEvalKit reads every other cell as text, and so does halluscope.
VLMEVALKIT_JSON_COLUMNS = frozenset({"image_path"})
#: Columns the record reader may take the model's answer from: their empty or NaN cell is
#: kept as ``None`` (a missing answer, listed as a bad record) instead of being left out, which
#: made the row look as if it had no such column and let the reader fall back on another one
#: (the truth in ``answer``). Empty cells of other columns are left out.
ANSWER_COLUMNS = frozenset(ANSWER_FIELDS) | {"text", "answer"}     # and the fallbacks
#: Keys whose ``""`` and NaN a dict record keeps, as a JSON line's (a bad record): a table's or
#: a DataFrame's such cell is a missing cell (pandas writes one as NaN), as if left out.
_ID_KEYS = frozenset({"id", "question_id", "image_id", "index"})


_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def _unknown(path: Path, why: str) -> ConfigError:
    return ConfigError(f"{path}: cannot read this file ({why}); expected one of the formats "
                       f"{', '.join(FORMATS)} (pass --format to force one)")


def detect_format(path: str | Path) -> str:
    """The format of ``path``: from its suffix, then its first bytes, then its first row."""
    path = Path(path)
    suffix = table_suffix(path)
    if suffix in TABLE_SUFFIXES:
        # its header alone (a table it cannot read is the table's format: its reader says why)
        return ("vlmevalkit" if _VLMEVALKIT_COLUMNS <= set(table_columns(path) or ())
                else suffix[1:])
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head == _ZSTD_MAGIC or path.suffix.lower() in (".zst", ".zstd"):
        raise ConfigError(f"{path}: a zstd-compressed file; decompress it first (zstd -d "
                          f"{path.name}), or gzip it: halluscope reads plain and .gz files")
    if suffix not in _JSON_SUFFIXES and not is_gzip_name(path) \
            and not head.lstrip()[:1] in (b"{", b"[", b"\xef", b""):
        raise _unknown(path, f"suffix {suffix or 'none'!r} and first bytes {head!r} match none")
    if is_coco_caption(path):
        return "coco-caption"
    for _, _, obj in iter_json_values(path):
        if isinstance(obj, dict):
            return "lmms-eval" if is_lmms_eval(obj) else "jsonl"
        break
    return "jsonl"


def _json_file(path: Path) -> bool:
    """Whether ``path`` holds JSON (lines or an array, gzipped or not) rather than a table: its
    suffix, else its first bytes (``--format vlmevalkit`` covers VLMEvalKit rows written as
    JSON lines, which are read as JSON, not as a TSV whose header is the first line)."""
    suffix = table_suffix(path)
    if suffix in TABLE_SUFFIXES:
        return False
    if suffix in _JSON_SUFFIXES or is_gzip_name(path):
        return True
    with open(path, "rb") as fh:
        head = fh.read(8).lstrip()
    return head[:1] in (b"{", b"[") or head.startswith(b"\xef\xbb\xbf{")


# --- tables -----------------------------------------------------------------------------------

def _pandas():
    try:
        import pandas
    except ImportError as exc:  # pragma: no cover - pandas is a core dependency of the report
        raise MissingExtraError("reading tables", "tables", "pandas") from exc
    return pandas


def _read_table(path: Path, fmt: str, dropped: frozenset[str] = frozenset(), *,
                quiet: bool = False):
    """``path`` as a pandas frame; a CSV/TSV's ``dropped`` columns are never stored (a
    VLMEvalKit table's base64 ``image`` cells: a 460 MB TSV of them took 1.7 GB, not 0.6).
    ``quiet``: the rows are only counted (the sheet read is said when they are read). An
    empty file (0 bytes, or a CSV/TSV of blank lines only; said by ``check_readable``) has no
    rows, as an empty JSONL file."""
    pd = _pandas()
    try:
        # (it was "cannot read ... as xlsx: format cannot be determined", "No columns to
        # parse"; for a CSV/TSV of blank lines too: said by ``check_readable``)
        if path.stat().st_size == 0 or fmt in ("csv", "tsv") and is_blank_file(path):
            return pd.DataFrame()
        _refuse_repeated(path, fmt)     # before pandas renames the second NAME.1 (or pyarrow
        #                                 refuses, listing the whole schema)
        if fmt == "parquet":
            try:
                import pyarrow  # noqa: F401
            except ImportError as exc:
                raise MissingExtraError("reading .parquet files", "tables", "pyarrow") from exc
            return pd.read_parquet(path)
        if fmt == "xlsx":
            try:
                import openpyxl  # noqa: F401
            except ImportError as exc:
                raise MissingExtraError("reading .xlsx files", "tables", "openpyxl") from exc
            with pd.ExcelFile(path) as book:
                if len(book.sheet_names) > 1 and not quiet:
                    logger.warning("%s: read its first sheet %r of %d (%s), as pandas and "
                                   "VLMEvalKit do", path, book.sheet_names[0],
                                   len(book.sheet_names), ", ".join(book.sheet_names))
                # only an empty cell is missing: the text "None", "N/A", "NA", "null", "nan"
                # pandas reads as NaN by default is an answer (as in a CSV/TSV, as written)
                return pd.read_excel(book, sheet_name=0, keep_default_na=False,
                                     na_values=[""])
        sep = "\t" if fmt == "tsv" else ","
        frame = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False,
                            quoting=csv.QUOTE_MINIMAL,
                            usecols=(lambda c: c not in dropped) if dropped else None)
        if not isinstance(frame.index, pd.RangeIndex):  # its first column taken for labels
            raise extra_cells(path, fmt)
        return frame
    except (MissingExtraError, ConfigError, InputError):
        raise
    except Exception as exc:  # pandas raises many types for unreadable files
        if fmt in ("csv", "tsv") and "EOF inside string" in str(exc):
            raise _unclosed_quote(path, fmt) from exc
        if fmt in ("csv", "tsv") and "Expected" in str(exc) and " fields in line " in str(exc):
            raise extra_cells(path, fmt) from None
        if fmt in ("csv", "tsv") and isinstance(exc, UnicodeDecodeError):
            raise _not_utf8_table(path) from None
        raise _unknown(path, f"as {fmt}: {type(exc).__name__}: {exc}") from exc


def _refuse_repeated(path: Path, fmt: str) -> None:
    """Raise :func:`~halluscope.table_lines.repeated_column`'s error for a table (CSV, TSV,
    workbook, Parquet file) that names a column twice, before it is read (counted or scored)."""
    problem = repeated_column(path, fmt)
    if problem is not None:
        raise problem


def _cell(value: Any, parse_json: bool = False) -> Any:
    """A table cell as a plain JSON-like value; empty and NaN cells become ``None``. A text
    cell holding a JSON object or array is parsed only with ``parse_json`` (see
    :data:`TEXT_COLUMNS`); otherwise it stays the text as written."""
    if value is None:
        return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            value = value.item()                       # numpy scalar -> Python
        except (ValueError, AttributeError):
            value = value.tolist() if hasattr(value, "tolist") else value
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, str):
        if value == "":
            return None
        text = value.strip()
        if parse_json and text[:1] in "[{" and text[-1:] in "]}":
            try:
                return json.loads(text)
            except (ValueError, RecursionError):    # (an integer over 4,300 digits too)
                return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _row_dict(row: Mapping[str, Any], json_columns: Any = None, *,
              mapping: bool = False) -> dict[str, Any]:
    """A table row (or an in-memory mapping) as a record dict: empty and NaN cells are left
    out, except in :data:`ANSWER_COLUMNS` (kept as ``None``: a missing answer, not a missing
    column). ``json_columns``: the columns whose JSON cells are parsed (a set), or ``None``
    for every column outside :data:`TEXT_COLUMNS`. A ``mapping`` (a dict record, not a table
    cell) keeps an answer ``""``: the empty answer a JSON line's ``""`` is, not "null"; and an
    id (:data:`_ID_KEYS`) of ``""`` or NaN: the bad record it is in a JSON line, not no id."""
    out = {}
    for key, value in row.items():
        key = str(key)
        parse = key not in TEXT_COLUMNS if json_columns is None else key in json_columns
        blank = isinstance(value, str) and not value
        kept = mapping and (blank if key in ANSWER_COLUMNS else key in _ID_KEYS and (
            blank or isinstance(value, float) and math.isnan(value)))
        value = value if kept else _cell(value, parse)
        if value is not None or key in ANSWER_COLUMNS:
            out[key] = value
    return out


def _frame_rows(frame, json_columns: Any = None) -> Iterator[dict[str, Any]]:
    for row in frame.to_dict(orient="records"):
        yield _row_dict(row, json_columns)


def rows_of(obj: Any) -> list[Any]:
    """Rows (dicts or :class:`Record` objects) of a pandas ``DataFrame``, a Hugging Face
    ``datasets.Dataset`` or any iterable of mappings, for ``audit(records=...)``."""
    module = type(obj).__module__ or ""
    if module.startswith("pandas") and hasattr(obj, "to_dict") and hasattr(obj, "columns"):
        return list(_frame_rows(obj))
    if module.startswith("datasets") and hasattr(obj, "column_names"):
        return [_row_dict(row) for row in obj]
    if isinstance(obj, (str, bytes, Mapping)) or not hasattr(obj, "__iter__"):
        raise ConfigError(f"expected records as a list of dicts, a pandas DataFrame or a "
                          f"datasets.Dataset, got {type(obj).__name__}")
    return [_record_row(row) if isinstance(row, Record) else (_row_dict(row, mapping=True)
                                                              if isinstance(row, Mapping) else row)
            for row in obj]


def _record_row(record: Record) -> Record | dict[str, Any]:
    """``record``, or, when its metadata carries a request ``"error"`` or a finish reason that
    says a filter withheld the answer, the dict that :func:`record_from_dict` refuses as it
    refuses that JSON line: a hand-built ``Record(response=..., metadata={"error": ...})`` was
    scored, the same dict was a bad record."""
    meta = record.metadata if isinstance(record.metadata, Mapping) else {}
    failure = meta.get("error")
    if is_request_error(failure):
        return {**record.to_dict(), "error": failure}
    if withheld_error(meta, {}) is not None:
        return record.to_dict()
    return record


# --- peers' layouts ---------------------------------------------------------------------------

def vlmevalkit_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """A VLMEvalKit prediction row as a halluscope record dict.

    ``index`` is the id, ``question`` the prompt, ``prediction`` the answer (kept as written;
    an empty cell stays ``None``: a row without an answer); ``answer`` is the yes/no label
    when it says ``Yes``/``No``, or ``1``/``0`` in a HallusionBench row alone
    (:func:`_hallusionbench_row`: its own files write the truth so); any other truth is
    metadata (VLMEvalKit scores ``answer == extracted``, Yes/No, reading no number as yes/no,
    and a counting dataset's 0 and 1 are counts, not labels); ``image_path`` the image (the
    first of a JSON list); the base64 ``image`` column is dropped; every other column
    (``category``, ``l2-category``, ``split``, ...) is kept as metadata, as text.
    """
    out: dict[str, Any] = {}
    meta: dict[str, Any] = {}
    for key, value in row.items():
        if key == "prediction" and value is None:
            out["prediction"] = None       # an empty cell: no answer, listed as a bad record
            continue
        if key in _DROPPED_COLUMNS or value is None:
            continue
        if key == "index":
            out["id"] = str(value)
            meta["index"] = value          # benchmark scorers key rows by it, as from JSON
        elif key == "question":
            out["prompt"] = str(value)
        elif key == "prediction":   # text as written (a number of Excel's as its digits);
            if isinstance(value, (dict, list)):     # never a Python repr of a structure:
                out["prediction"] = value           # the record reader says it is no text
            else:
                out["response"] = str(value)
        elif key == "answer":
            label = yes_no(value, numeric=_hallusionbench_row(row))
            if label is not None:
                out["label"] = label
            else:
                meta["answer"] = value
        elif key == "image_path":
            out["image"] = first_image(value)     # (a JSON list, or Python's repr of one)
        elif key in ("image_id", "question_id", "model"):
            out[key] = value
        else:
            meta[key] = value
    if meta:
        out["metadata"] = meta
    return out


def _hallusionbench_row(row: Mapping[str, Any]) -> bool:
    """Whether a VLMEvalKit-like row is HallusionBench's (whose truth 1/0 means yes/no): it
    has HallusionBench's ``set_id`` or ``figure_id``, or its category VD/VS (``category`` or
    ``l2-category`` ``VD_...``)."""
    if row.get("set_id") is not None or row.get("figure_id") is not None:
        return True
    l2 = str(row.get("l2-category") or "")
    return str(row.get("category") or "") in ("VD", "VS") or l2.startswith(("VD_", "VS_"))


def _unclosed_quote(path: Path, table: str) -> InputError:
    """The error for a CSV/TSV file whose last quoted cell is never closed (pandas reads no
    row of it): it names the line where that cell's row starts."""
    first = None
    try:
        for first, _, _, _ in physical_records(path, "\t" if table == "tsv" else ","):
            pass
    except (OSError, UnicodeDecodeError, csv.Error, InputError):
        first = None
    where = f"{path}:{first}" if first is not None else str(path)
    return InputError(f"{where}: expected the quote opening a cell of this row closed, got the "
                      f"end of the file: every line after it would be that cell's text (pandas "
                      f"and VLMEvalKit's read_csv refuse the file); close or double the quote")


def _not_utf8_table(path: Path) -> InputError:
    """The error for a CSV/TSV file that is not UTF-8 (pandas stops at the first such byte and
    names no line, and the file is in a known format): the first line holding one; a workbook
    or Parquet file read so (``--format tsv``) is said to be one."""
    with open_binary(path) as fh:
        binary = {b"PK\x03\x04": "xlsx", b"PAR1": "parquet"}.get(fh.read(4))
        if binary is not None:
            return InputError(f"{path}: expected a CSV/TSV text table, got a .{binary} file: "
                              f"leave --format out (it is detected) or pass --format {binary}")
        fh.seek(0)
        for lineno, raw in enumerate(fh, 1):
            try:
                (drop_bom(raw) if lineno == 1 else raw).decode("utf-8")
            except UnicodeDecodeError as exc:
                where, byte = f"{path}:{lineno}", f"byte 0x{raw[exc.start]:02x}"
                break
        else:                                   # (pandas decodes in blocks: not expected)
            where, byte = str(path), "a byte"
    return InputError(f"{where}: expected a table in UTF-8 (as pandas and VLMEvalKit read it), "
                      f"got {byte}, which is not UTF-8: save the file as UTF-8 (a CSV saved "
                      f"by Excel is often Windows-1252)")


def _broken_row_error(name: str, broken: BrokenRow, row: Mapping[str, Any]) -> RecordError:
    """The bad record for a row that swallowed the lines after it."""
    lines = (f"line {broken.last}" if broken.last == broken.first + 1
             else f"lines {broken.first + 1}-{broken.last}")
    err = RecordError(
        f"expected each quote in a cell closed at the cell's end (or doubled: \"\"), got a "
        f"quote closed mid-cell ({broken.why}): {lines} of the file were read into this cell, "
        f"not as rows (pandas and VLMEvalKit's read_csv read them so)",
        file=name, line=broken.first, field=broken.column)
    err.record_id = id_hint(row.get("index", row.get("id", row.get("question_id"))))
    return err


# --- the entry point --------------------------------------------------------------------------

_DELIMITER_NAMES = {",": "commas", ";": "semicolons", "\t": "tabs", "|": "pipes"}


def _one_column_error(path: Path, table: str, columns: Any) -> InputError | None:
    """The error for a CSV/TSV that pandas read as one column whose name holds another
    delimiter (Excel's semicolon "CSV" where the decimal mark is a comma, a TSV named .csv):
    every row would be a bad record that does not say why. ``None`` for any other table."""
    if table not in ("csv", "tsv") or len(columns) != 1:
        return None
    name = str(columns[0])
    own = "\t" if table == "tsv" else ","
    found = next((d for d in _DELIMITER_NAMES
                  if d != own and sum(bool(part.strip()) for part in name.split(d)) >= 2), None)
    if found is None:
        return None
    return InputError(f"{path}:1: expected columns separated by "
                      f"{'a tab' if table == 'tsv' else 'commas'} (a .{table}), got one column "
                      f"{name!r:.80}, whose name is separated by {_DELIMITER_NAMES[found]}: "
                      f"save the table with commas as .csv, or with tabs as .tsv")


def _table_of(path: Path, fmt: str) -> str:
    """The table format a file of format ``fmt`` (not JSON) is read as."""
    table = table_suffix(path)[1:] if fmt == "vlmevalkit" else fmt
    return table if table in ("csv", "tsv", "parquet", "xlsx") else "tsv"


def _rows(path: Path, fmt: str, detected: bool = False
          ) -> Iterator[tuple[int | None, int | None, Any]]:
    """``(line, index, dict or RecordError)`` of ``path`` read as ``fmt``: the file line where
    the row starts and, for tables and JSON arrays, the row's number among them (see
    :class:`~halluscope.records.Source`). ``detected``: ``fmt`` was detected from the file
    (said in the reason of a line of another format), not forced."""
    if fmt == "vlmevalkit" and _json_file(path):
        fmt = "jsonl"       # VLMEvalKit rows as JSON: read as when detected (records.py)
    if fmt == "coco-caption":
        yield from coco_caption_rows(path)
        return
    if fmt in ("jsonl", "lmms-eval"):
        splits = PopeSplitOfFile(path)          # (for lmms-eval >= 0.4's POPE samples)
        logs = one_document(path, _SMALL_JSON_BYTES)    # (an error, for another document)
        if logs is not None:                          # an lmms-eval v0.1-v0.2 <task>.json
            for n, (line, obj) in enumerate(logs, 1):
                yield line, n, (lmms_eval_line(obj, str(path), line, "its 'logs' are", splits)
                                if isinstance(obj, dict) else obj)
            return
        first = None
        for lineno, index, obj in iter_json_values(path):
            if fmt == "lmms-eval" and isinstance(obj, dict):
                first = lineno if first is None else first
                origin = (f"this file's format was detected from line {first}" if detected
                          else "--format lmms-eval says")
                obj = lmms_eval_line(obj, str(path), lineno, origin, splits)
            yield lineno, index, obj
        return
    table = _table_of(path, fmt)
    frame = _read_table(path, table, _DROPPED_COLUMNS if fmt == "vlmevalkit" else frozenset())
    one_column = _one_column_error(path, table, frame.columns)
    if one_column is not None:
        raise one_column
    # data rows are numbered from 1 (the header is not counted: ``index``), so that a POPE
    # answer table aligns by order with its question file exactly as a JSON Lines file does;
    # ``line`` is the row's line in the file (the sheet's row for Excel, the header being its
    # first; Parquet has no lines: its row number)
    starts, broken = table_lines(path, table, len(frame))
    json_columns = VLMEVALKIT_JSON_COLUMNS if fmt == "vlmevalkit" else None
    n = 0       # data rows but the blank ones (every cell empty), as blank CSV lines
    for i, row in enumerate(_frame_rows(frame, json_columns), 1):
        line = starts[i - 1] if starts else i + 1 if table != "parquet" else i
        if i not in broken and all(value is None for value in row.values()):
            continue        # an .xlsx's blank row, a CSV line of commas (Excel's blank row)
        n += 1
        if i in broken:
            yield line, n, _broken_row_error(str(path), broken[i], row)
        else:
            yield line, n, vlmevalkit_row(row) if fmt == "vlmevalkit" else row


def iter_input_records(path: str | Path, fmt: str | None = None, *,
                       require_response: bool = True) -> Iterator[Record | RecordError]:
    """Stream the records of ``path`` in format ``fmt`` (detected when ``None``); bad rows come
    out as :class:`RecordError` values naming file and row."""
    path = Path(path)
    detected = fmt is None
    if fmt is None:
        fmt = detect_format(path)
    elif fmt not in FORMATS:
        raise ConfigError(f"expected --format one of {', '.join(FORMATS)}, got {fmt!r}")
    name = str(path)
    # JSON's rows are numbered only in an array (its elements) or coco-caption's entries
    # (json.dump writes them all on line 1), a table's are its rows
    array = (fmt in ("jsonl", "lmms-eval", "coco-caption")
             or (fmt == "vlmevalkit" and _json_file(path)))
    for lineno, index, obj in _rows(path, fmt, detected):
        if isinstance(obj, RecordError):
            yield obj
            continue
        try:
            yield record_from_dict(obj, file=name, line=lineno, require_response=require_response,
                                   index=index, answer_field=getattr(obj, "answer_field", None),
                                   array=array and index is not None)
        except RecordError as exc:
            yield exc


def count_input_records(path: str | Path, fmt: str | None = None) -> int:
    """Rows of ``path`` (for progress bars, and the workers an audit starts): non-blank lines of
    JSON, a JSON array's elements (a one-line array was one row, and ``--workers 2`` one
    process), rows of tables, the samples of an lmms-eval v0.1-v0.2 ``<task>.json`` (its lines
    are ~30 a sample)."""
    path = Path(path)
    fmt = fmt or detect_format(path)
    if fmt == "coco-caption":
        return count_coco_caption(path)
    if fmt in ("jsonl", "lmms-eval") or fmt == "vlmevalkit" and _json_file(path):
        try:
            logs = one_document(path, _SMALL_JSON_BYTES)
        except InputError:
            logs = None                 # (the reader says what the file is)
        if logs is not None:
            return len(logs)
        from halluscope.json_array import count_array_elements
        with open_binary(path) as fh:       # a JSON array: its elements, on any lines
            elements = count_array_elements(fh)
        if elements is not None:
            return elements
        from halluscope.textfiles import is_blank_bytes
        n = 0
        with open_binary(path) as fh:       # bytes: a line that is not UTF-8 still counts
            for i, line in enumerate(fh):   # blank as the reader skips it (textfiles)
                if i == 0:
                    line = drop_bom(line)
                n += not (not line.strip() if line.isascii() else is_blank_bytes(line))
        return n
    frame = _read_table(path, _table_of(path, fmt), _DROPPED_COLUMNS, quiet=True)
    blank = (frame.isna() | frame.eq("")).all(axis=1) if len(frame.columns) else ()
    return len(frame) - int(sum(blank))


__all__ = ["FORMATS", "detect_format", "iter_input_records", "count_input_records", "rows_of",
           "lmms_eval_row", "vlmevalkit_row"]
