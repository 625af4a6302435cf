"""Whole-file, columnar reading of simple JSON-lines files: the fast path beside :mod:`records`.

:func:`~halluscope.records.iter_records` builds one :class:`~halluscope.records.Record` per line,
which costs a few microseconds a line; scorers that work on whole columns (POPE over 30,000
answers, a question file) read flat files here instead, with pyarrow's multi-threaded JSON
reader, into pyarrow arrays kept dictionary-encoded (:class:`Coded`: each distinct value once,
a code per line), turned into lists only where a caller asks for one.

A file is read here only when every one of its lines would come out of the line-by-line reader
the same way, and :func:`read_json_table` returns ``None`` otherwise (the caller then reads the
file line by line, with its per-line errors). It must be JSON lines (gzip-compressed or not, at
most :data:`MAX_BYTES` once decompressed), with no blank line and one flat object per line;
every object has the same keys, none null, each column of one JSON type (strings, or integers in
the columns that may hold them); no line is invalid UTF-8 or invalid JSON (pyarrow refuses what
the line reader would refuse: repeated keys, lone surrogates, a type that changes between
lines). pyarrow comes with the ``tables`` extra; without it every file is read line by line.

:func:`read_record_columns` goes one step further for answer files: it derives each column's
role (prompt, response, question id, ...) by handing :func:`~halluscope.records.record_from_dict`
one probe line of the file's shape, so the columns mean exactly what the records would; keys the
record reader does not know are the records' metadata (strings or integers; ``"metadata": {}``
on every line adds none). Columns whose finish reasons (:mod:`halluscope.finish_reasons`) are not
all ``complete`` (``stop``, ``end_turn``, ...) are not read here (``None``): the columnar scorer
reads such lines apart, line by line, where their answers are counted, refused or left out
(:mod:`halluscope.column_scoring`).
"""

from __future__ import annotations

import codecs
import io
import re
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from halluscope.errors import InputError
from halluscope.finish_reasons import FIELDS as FINISH_FIELDS, all_complete
from halluscope.record_fields import WHITESPACE
from halluscope.records import (_KNOWN, Record, Source, _image_of, _task_of, is_gzip_name,
                                open_binary, record_from_dict)

__all__ = ["Coded", "RecordColumns", "arrow_bools", "arrow_ints", "arrow_strings",
           "checked_arrays", "integers", "parsed_table", "read_json_table", "read_record_columns",
           "record_columns"]

_BLANK_LINE = re.compile(rb"\n[ \t\r\f\v]*\n")    # (a blank first line: see read_json_table)
_BLANK_START = re.compile(rb"[ \t\r\f\v]*\n")

#: Keys whose values a record takes as plain columns (a known key outside these changes how a
#: line is read, and the file goes line by line; an unknown key is metadata).
RECORD_KEYS = frozenset({"id", "question_id", "question", "prompt", "answer", "response", "text",
                         "label", "image", "model", "model_id"})
_INTEGER_KEYS = frozenset({"id", "question_id"})

MAX_BYTES = 256 << 20
"""Largest file read whole here (its bytes and its table are held at once); over it
:func:`read_json_table` says ``None``. Audits and ``score_answers`` read answer files a chunk
at a time instead, at any size (:mod:`halluscope.column_chunks`)."""


def _pyarrow_json():
    try:
        import pyarrow.json as pa_json
    except ImportError:
        return None
    return pa_json


def read_json_table(path: str | Path, keys: frozenset[str],
                    integer_keys: frozenset[str] = frozenset(), *, others: str = "refuse",
                    raw: bytes | None = None) -> dict[str, Any] | None:
    """The columns (pyarrow arrays) of a JSON-lines file whose lines are all flat objects with
    the same keys, drawn from ``keys``, every value a string (or an integer, in
    ``integer_keys``); ``None`` when the file is not such a file (or pyarrow is not installed).
    Other keys: ``refuse`` the file, ``ignore`` them (left out, whatever they hold) or take
    them as ``flat`` columns of strings or integers (and a ``metadata`` that is always ``{}``,
    left out). ``raw``: the file's content (decompressed), when the caller has read it already.
    A ``.gz`` file is read decompressed, as the line reader reads it."""
    pa_json = _pyarrow_json()
    path = Path(path)
    if pa_json is None:
        return None
    raw = _content(path) if raw is None else raw
    if raw is None:
        return None
    if raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8):]
    table = parsed_table(raw)
    return None if table is None else checked_arrays(table, keys, integer_keys, others)


def parsed_table(raw: bytes, first: bool = True, schema: Any = None) -> Any:
    """The pyarrow table of JSON-lines text ``raw`` (one row per line), or ``None`` when it is
    empty, has a blank line, is not one flat object per line or is refused by pyarrow (invalid
    JSON or UTF-8, a type that changes). ``first``: ``raw`` starts the file (it must start with
    ``{``), else it continues one (it must not start with a blank line); ``schema``: the types
    of some columns, given instead of inferred."""
    lines = _lines_if_none_blank(raw, first)
    if lines is None:
        return None
    pa_json = _pyarrow_json()
    options = None if schema is None else pa_json.ParseOptions(explicit_schema=schema)
    try:
        table = pa_json.read_json(io.BytesIO(raw), parse_options=options)
        table.validate(full=True)           # pyarrow checks UTF-8 here, not while parsing
    except Exception:      # noqa: BLE001 - whatever pyarrow refuses is read line by line
        return None
    return table if table.num_rows == lines else None   # (two objects on a line, or one over
    #                                                       several lines: not a flat file)


def checked_arrays(table: Any, keys: frozenset[str], integer_keys: frozenset[str] = frozenset(),
                   others: str = "refuse") -> dict[str, Any] | None:
    """The columns of ``table`` that :func:`read_json_table` returns (see there), or ``None``."""
    arrays: dict[str, Any] = {}
    for name in table.column_names:
        column = table.column(name)
        kind = str(column.type)
        known = name in keys
        if not known and others == "ignore":
            continue
        if not known and others == "flat" and name == "metadata" and kind == "struct<>" \
                and not column.null_count:
            continue       # "metadata": {} on every line adds nothing
        if (not known and others != "flat") or column.null_count or not (
                kind == "string" or (kind == "int64" and (name in integer_keys or not known))):
            return None
        arrays[name] = column.combine_chunks()
    return arrays


_SPACE_OR_NEWLINE = np.zeros(256, dtype=bool)
_SPACE_OR_NEWLINE[list(b" \t\r\f\v\n")] = True


def _lines_if_none_blank(raw: bytes, first: bool = True) -> int | None:
    """The number of lines of ``raw`` (a last one without its newline counted), or ``None``
    when it is empty, does not start with ``{`` (``first``; else: starts with a blank line, a
    chunk after the first of a file) or has a blank line (:data:`_BLANK_LINE`). One
    numpy pass finds the newlines; only a line that starts with a space or a newline is looked
    at with the pattern (0.045 -> 0.025 s for 300,000 lines: counting and searching the bytes
    took a pass each)."""
    if not raw or (raw[:1] != b"{" if first else _BLANK_START.match(raw) is not None):
        return None
    data = np.frombuffer(raw, dtype=np.uint8)
    ends = np.flatnonzero(data == 10)
    starts = ends[:-1] + 1 if len(ends) and ends[-1] == len(data) - 1 else ends + 1
    suspect = starts[_SPACE_OR_NEWLINE[data[starts]]]
    if len(suspect) > 64:
        if _BLANK_LINE.search(raw):
            return None
    elif any(_BLANK_LINE.match(raw, int(at) - 1) for at in suspect.tolist()):
        return None
    return len(ends) + (not raw.endswith(b"\n"))


def _content(path: Path) -> bytes | None:
    """The file's content (decompressed, for ``.gz`` in any case), or ``None`` when it is over
    :data:`MAX_BYTES` or cannot be read (the line reader then says why)."""
    try:
        if is_gzip_name(path):
            with open_binary(path) as fh:
                data = fh.read(MAX_BYTES + 1)
            return data if len(data) <= MAX_BYTES else None
        return path.read_bytes() if path.stat().st_size <= MAX_BYTES else None
    except (OSError, InputError):     # a truncated or corrupt gzip stream too
        return None


def integers(array: Any, missing: int = -1) -> np.ndarray:
    """A pyarrow integer array as a numpy ``intp`` array (nulls as ``missing``), read from its
    buffers (pyarrow's ``to_numpy`` and ``fill_null`` import pandas, a tenth of a second)."""
    width = array.type.bit_width // 8
    validity, data = array.buffers()[:2]
    values = np.frombuffer(data, dtype=f"<i{width}", count=len(array),
                           offset=array.offset * width).astype(np.intp)
    if validity is not None and array.null_count:
        bits = np.unpackbits(np.frombuffer(validity, dtype=np.uint8), bitorder="little")
        values[~bits[array.offset:array.offset + len(array)].astype(bool)] = missing
    return values


def int64_numbers(array: Any) -> np.ndarray | None:
    """A column of JSON whole numbers (pyarrow ``int64``: ``question_id`` written as numbers)
    as numpy ``int64``; ``None`` for a column of any other type (ids written as strings)."""
    if str(array.type) != "int64":
        return None
    return integers(array).astype(np.int64)


def arrow_ints(values: np.ndarray) -> Any:
    """A numpy integer array as a pyarrow ``int64`` array, made from its buffer (``pa.array``
    and pyarrow scalars import pandas, a tenth of a second, to check what they are given)."""
    import pyarrow as pa
    values = np.ascontiguousarray(values, dtype=np.int64)
    return pa.Array.from_buffers(pa.int64(), len(values), [None, pa.py_buffer(values)])


def arrow_bools(mask: np.ndarray) -> Any:
    """A numpy boolean array as a pyarrow ``bool`` array, made from its bits."""
    import pyarrow as pa
    bits = np.packbits(np.asarray(mask, dtype=bool), bitorder="little")
    return pa.Array.from_buffers(pa.bool_(), len(mask), [None, pa.py_buffer(bits)])


def arrow_strings(texts: list[str | None]) -> Any:
    """Python strings (``None``: null) as a pyarrow ``string`` array (``large_string`` past
    2 GiB of text), made from their UTF-8 bytes."""
    import pyarrow as pa
    data = [b"" if t is None else t.encode("utf-8") for t in texts]
    n = len(data)
    lengths = np.fromiter(map(len, data), dtype=np.int64, count=n)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    kind = pa.string() if offsets[-1] < 2 ** 31 else pa.large_string()
    if kind == pa.string():
        offsets = offsets.astype(np.int32)
    valid = None
    if any(t is None for t in texts):
        valid = pa.py_buffer(np.packbits(np.array([t is not None for t in texts], dtype=bool),
                                         bitorder="little"))
    return pa.Array.from_buffers(kind, n, [valid, pa.py_buffer(offsets),
                                           pa.py_buffer(b"".join(data))])


class Coded:
    """A column as codes into its distinct values (dictionary encoding): value ``i`` is
    ``values[codes[i]]``. Scorers work on the codes and look at each distinct value once."""

    __slots__ = ("codes", "values")

    def __init__(self, codes: np.ndarray, values: list):
        self.codes = codes
        self.values = values

    @classmethod
    def of(cls, column: Any) -> Coded:
        """Encode a list or a pyarrow array."""
        if isinstance(column, list):
            index: dict[Any, int] = {}
            codes = np.fromiter((index.setdefault(v, len(index)) for v in column),
                                dtype=np.intp, count=len(column))
            return cls(codes, list(index))
        encoded = column.dictionary_encode()
        return cls(integers(encoded.indices), encoded.dictionary.to_pylist())

    def map(self, fn: Any) -> Coded:
        """The column of ``fn(value)``, computed once per distinct value."""
        return Coded(self.codes, [fn(v) for v in self.values])

    def take(self, rows: np.ndarray) -> Coded:
        return Coded(self.codes[rows], self.values)

    def tolist(self) -> list:
        """The column as a list (a negative code counts from the end of ``values``)."""
        table = np.empty(len(self.values), dtype=object)
        for j, value in enumerate(self.values):    # one by one: tuples are not broadcast
            table[j] = value
        return table[self.codes].tolist()


class NotInOrder(Exception):
    """A metric cannot score the good lines of a chunk together (:attr:`RecordColumns.lines`
    set) without changing what it keeps in input order (a unit numbered record by record); it
    changed nothing: score them a run at a time."""


class RecordColumns:
    """The records of one answer file as columns: element ``i`` of every column is what
    :func:`~halluscope.records.record_from_dict` gives for line ``i + 1`` (there is no blank line
    and no bad line: such files are read line by line). A column the file lacks is ``None``.
    Columns come as lists (:meth:`column`) or encoded (:meth:`coded`), each made on first use.
    ``start``: the lines of the file before these (a chunk of it: element ``i`` is line
    ``start + i + 1``); ``lines``, where set, each element's line instead (the good lines of a
    chunk with bad ones between them: :class:`~halluscope.column_chunks.ChunkGroup`)."""

    def __init__(self, file: str, n: int, arrays: dict[str, Any], roles: dict[str, str | None],
                 metadata: list[str] | tuple[str, ...] = (), start: int = 0):
        self.file = file
        self.n = n
        self.start = start
        self.lines: np.ndarray | None = None
        self._arrays = arrays
        self._roles = roles
        self.metadata = list(metadata)     # keys whose values are the records' metadata
        self._lists: dict[str, list | None] = {}
        self._coded: dict[str, Coded | None] = {}
        self._strings: dict[str, Any] = {}     # integer columns cast to their decimal strings

    def line_numbers(self) -> np.ndarray:
        """Each element's line in the file (``int64``, from 1)."""
        if self.lines is not None:
            return self.lines
        return np.arange(self.start + 1, self.start + self.n + 1, dtype=np.int64)

    def line(self, i: int) -> int:
        """Element ``i``'s line in the file."""
        return int(self.lines[i]) if self.lines is not None else self.start + i + 1

    def meta(self, key: str) -> Coded | None:
        """A metadata key's values (strings or integers, as the line reader gives them)."""
        if key not in self.metadata:
            return None
        if f"meta:{key}" not in self._coded:
            self._coded[f"meta:{key}"] = Coded.of(self._arrays[key])
        return self._coded[f"meta:{key}"]

    def array(self, name: str) -> Any:
        """The pyarrow string array of a field read from the file (integer ids as their
        decimal strings), or ``None``."""
        key = self._roles.get(name)
        if key is None:
            return None
        values = self._arrays[key]
        if str(values.type) == "int64":      # cast once: ids are asked for several times
            if key not in self._strings:
                import pyarrow.compute as pc
                self._strings[key] = pc.cast(values, "string")
            values = self._strings[key]
        return values

    def numbers(self, name: str) -> np.ndarray | None:
        """A field read from a column of integers in the file (``question_id`` as JSON
        numbers), as numpy ``int64``; ``None`` for any other field, or one written as strings."""
        key = self._roles.get(name)
        return None if key is None else int64_numbers(self._arrays[key])

    def present(self, name: str) -> np.ndarray:
        """Which lines have a value of field ``name``: ``coded(name).codes >= 0``, without
        encoding a column read from the file as it is (such a column has no null: see
        :func:`read_json_table`), which for 300,000 distinct ids took a tenth of a second."""
        if name in _FIELDS:          # read from a column of the file, or absent
            values = self.array(name)
            if values is None:
                return np.zeros(self.n, dtype=bool)
            if not values.null_count:
                return np.ones(self.n, dtype=bool)
        coded = self.coded(name)
        return np.zeros(self.n, dtype=bool) if coded is None else coded.codes >= 0

    def plain(self, name: str) -> Any:
        """The pyarrow string array of a field whose values are a column of the file as it is
        (an ``id`` the file lacks is its ``question_id``), or ``None`` (a derived field:
        :meth:`coded`)."""
        if name == "id" and self._roles.get("id") is None:
            return self.array("question_id")
        return self.array(name)

    def coded(self, name: str) -> Coded | None:
        """A field (``id``, ``task``, ``image``, ``image_id``, ``model``, ``label``,
        ``question_id``, ``prompt``, ``response``) as :class:`Coded`."""
        if name not in self._coded:
            self._coded[name] = self._encode(name)
        return self._coded[name]

    def _encode(self, name: str) -> Coded | None:
        if name == "task":
            return self._tasks()
        if name == "image_id":
            images = self.coded("image")
            where = {"file": None, "line": None}
            return images.map(lambda im: _image_of({"image": im}, where)[1]) if images else None
        if name == "id" and self._roles.get("id") is None:
            qids = self.coded("question_id")
            return qids if qids is not None else Coded(
                np.arange(self.n), [str(i) for i in self.line_numbers().tolist()])
        values = self.array(name)
        return None if values is None else Coded.of(values)

    def _tasks(self) -> Coded:
        """Each line's task, as the record reader infers it (once per distinct prompt)."""
        where = {"file": None, "line": None}
        label = "yes" if self._roles.get("label") else None
        prompts = self.coded("prompt")
        if prompts is None:
            return Coded(np.zeros(self.n, dtype=np.intp), [_task_of({}, label, None, where)])
        return prompts.map(lambda p: _task_of({}, label, p, where))

    def column(self, name: str) -> list | None:
        """A field as a list (see :meth:`coded`)."""
        if name not in self._lists:
            coded = self.coded(name)
            self._lists[name] = None if coded is None else coded.tolist()
        return self._lists[name]

    @cached_property
    def _record_columns(self) -> tuple[list[list | None], list[list]]:
        return ([self.column(name) for name in _RECORD_FIELDS],
                [self.meta(key).tolist() for key in self.metadata])

    def record(self, i: int) -> Record:
        """Row ``i`` as the :class:`~halluscope.records.Record` the line reader gives."""
        fields, meta = self._record_columns
        values = [None if column is None else column[i] for column in fields]
        answer = self._roles.get("response")
        return Record(**dict(zip(_RECORD_FIELDS, values)),
                      source=Source(self.file, self.line(i)),
                      metadata={k: column[i] for k, column in zip(self.metadata, meta)},
                      id_from_line=self._roles.get("id") is None and values[-1] is None,
                      response_field=None if answer == "response" else answer)


_RECORD_FIELDS = ("id", "task", "image", "image_id", "prompt", "response", "label", "model",
                  "question_id")
_FIELDS = ("question_id", "prompt", "response", "label", "image", "model")


@lru_cache(maxsize=64)
def _roles(keys: tuple[str, ...]) -> dict[str, str | None] | None:
    """Which key each record field is read from, for lines with exactly ``keys`` (every value a
    string, labels ``yes``/``no``): one probe line through the record reader, each key holding
    its own name as value (the metadata keys too: a LLaVA question's ``category`` makes it a
    question). ``None`` when a line of this shape is not an answer."""
    probe: dict[str, Any] = {k: f"\x00{k}" for k in keys}
    if "label" in probe:
        probe["label"] = "yes"
    try:
        rec = record_from_dict(probe, line=1)
    except Exception:      # noqa: BLE001 - such a line is an error: read it line by line
        return None
    by_value = {v: k for k, v in probe.items() if isinstance(v, str)}
    roles: dict[str, str | None] = {}
    for name in _FIELDS:
        value = getattr(rec, name)
        roles[name] = None if value is None else by_value.get(value, "")
    roles["id"] = by_value.get(rec.id, None)
    if "" in roles.values() or (roles["label"] is not None and roles["label"] != "label"):
        return None        # a field read from a transformed value: not a plain column
    return roles


def _blank_ids(arrays: dict[str, Any], roles: dict[str, str | None]) -> bool:
    """Whether an id column of strings holds an empty or blank id (a bad record: line by line)."""
    import pyarrow.compute as pc
    for key in {roles.get("id"), roles.get("question_id")} - {None}:
        values = arrays[key]
        if str(values.type) != "int64" and len(values) and pc.min(pc.utf8_length(
                pc.utf8_trim(values, characters=WHITESPACE))).as_py() == 0:
            return True
    return False


def read_record_columns(path: str | Path) -> RecordColumns | None:
    """The records of a flat answer file as :class:`RecordColumns`, or ``None`` when the file
    must be read line by line (see the module docstring). Keys the record reader does not know
    become metadata columns (LLaVA's ``answer_id``); a known key outside :data:`RECORD_KEYS`
    (``caption``, ``error``, ``task``, ...) sends the file line by line."""
    arrays = read_json_table(path, RECORD_KEYS, _INTEGER_KEYS, others="flat")
    return record_columns(str(path), arrays) if arrays else None


def record_columns(file: str, arrays: dict[str, Any], start: int = 0) -> RecordColumns | None:
    """:func:`read_record_columns` of the columns ``arrays`` (:func:`checked_arrays`) of lines
    ``start + 1`` on of ``file``."""
    extra = [k for k in arrays if k not in RECORD_KEYS]
    if any(k in _KNOWN or k == "error" for k in extra):
        return None        # a key that changes how a line is read (a failed request, ...)
    roles = _roles(tuple(sorted(arrays)))      # every key: a question file's 'category' too
    if roles is None or _blank_ids(arrays, roles):
        return None
    cols = RecordColumns(file, len(next(iter(arrays.values()))), arrays, roles, extra, start)
    labels = cols.coded("label")
    if labels is not None and not set(labels.values) <= {"yes", "no"}:
        return None        # labels to normalise (" Yes", True, "B"): line by line
    finish = [k for k in FINISH_FIELDS if k in extra]    # (never null here; blank: the next)
    if finish and not all_complete(cols.meta(finish[0]).values, blank=len(finish) == 1):
        return None        # an answer cut short, withheld, of an unknown finish: line by line
    return cols
