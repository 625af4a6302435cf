"""Whole-file, columnar reading of simple JSON-lines files: the fast path beside :mod:`records`.

:func:`iter_records` builds one :class:`~halluscope.records.Record` per line, which costs a few
microseconds a line; scorers that work on whole columns (POPE over 30,000 answers, a question
file) read flat files here instead, with pyarrow's multi-threaded JSON reader, into plain lists.

A file is read here only when every one of its lines would come out of the line-by-line reader
the same way, and :func:`read_json_columns` returns ``None`` otherwise (the caller then reads the
file line by line, with its per-line errors). It must be uncompressed JSON lines, with no blank
line and one flat object per line; every object has the same keys, none null, each column of one
JSON type (strings, or integers in the columns that may hold them); no line is invalid UTF-8 or
invalid JSON (pyarrow refuses what the line reader would refuse: repeated keys, lone surrogates,
a type that changes between lines). pyarrow comes with the ``tables`` extra; without it every file
is read line by line.

:func:`read_record_columns` goes one step further for answer files: it derives each column's
role (prompt, response, question id, ...) by handing :func:`~halluscope.records.record_from_dict`
one probe line of the file's shape, so the columns mean exactly what the records would.
"""

from __future__ import annotations

import codecs
import io
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from halluscope.records import Record, Source, _image_of, _task_of, record_from_dict

__all__ = ["RecordColumns", "read_json_columns", "read_record_columns"]

_BLANK_LINE = re.compile(rb"\n[ \t\r\f\v]*\n")    # (a blank first line: see read_json_columns)

#: Keys an answer line may have for the columnar path (all also read by record_from_dict;
#: anything else goes to ``metadata`` or changes how a line is read, so the file goes line by line).
RECORD_KEYS = frozenset({"id", "question_id", "question", "prompt", "answer", "response", "text",
                         "label", "image", "model", "model_id"})
_INTEGER_KEYS = frozenset({"id", "question_id"})


def _pyarrow_json():
    try:
        import pyarrow.json as pa_json
    except ImportError:
        return None
    return pa_json


def read_json_columns(path: str | Path, keys: frozenset[str],
                      integer_keys: frozenset[str] = frozenset()
                      ) -> tuple[dict[str, list], dict[str, bool]] | None:
    """``(columns, is_integer)`` of a JSON-lines file whose lines are all flat objects with the
    same keys, all drawn from ``keys``, every value a string (or an integer, in ``integer_keys``);
    ``None`` when the file is not such a file (or pyarrow is not installed)."""
    pa_json = _pyarrow_json()
    path = Path(path)
    if pa_json is None or path.suffix == ".gz":
        return None
    try:
        raw = path.read_bytes()
    except OSError:
        return None
    if raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8):]
    if not raw or raw[:1] != b"{" or _BLANK_LINE.search(raw):
        return None
    lines = raw.count(b"\n") + (not raw.endswith(b"\n"))
    try:
        table = pa_json.read_json(io.BytesIO(raw))
    except Exception:      # noqa: BLE001 - whatever pyarrow refuses is read line by line
        return None
    if table.num_rows != lines or not set(table.column_names) <= keys:
        return None        # two objects on a line, an object over several lines, other keys
    columns: dict[str, list] = {}
    is_integer: dict[str, bool] = {}
    for name in table.column_names:
        column = table.column(name)
        kind = str(column.type)
        if column.null_count or not (kind in ("string", "large_string") or
                                     (kind == "int64" and name in integer_keys)):
            return None
        try:
            columns[name] = column.to_pylist()
        except UnicodeDecodeError:      # pyarrow does not check UTF-8 while parsing
            return None
        is_integer[name] = kind == "int64"
    return columns, is_integer


@dataclass
class RecordColumns:
    """The records of one answer file as columns: element ``i`` of every list is what
    :func:`~halluscope.records.record_from_dict` gives for line ``i + 1`` (there is no blank line
    and no bad line: such files are read line by line). A column the file lacks is ``None``."""

    file: str
    n: int
    ids: list[str]
    tasks: list[str]
    question_ids: list[str] | None
    prompts: list[str] | None
    responses: list[str] | None
    labels: list[str] | None
    images: list[str] | None
    image_ids: list[int | None] | None
    models: list[str] | None

    def record(self, i: int) -> Record:
        """Row ``i`` as the :class:`~halluscope.records.Record` the line reader gives."""
        def at(values: list | None) -> Any:
            return None if values is None else values[i]
        return Record(id=self.ids[i], task=self.tasks[i], image=at(self.images),
                      image_id=at(self.image_ids), prompt=at(self.prompts),
                      response=at(self.responses), label=at(self.labels), model=at(self.models),
                      question_id=at(self.question_ids), source=Source(self.file, i + 1))

    def column(self, name: str) -> list | None:
        """The column of a record field (``id``, ``task``, ``image``, ``image_id``, ``model``,
        ``label``, ``question_id``, ``prompt``, ``response``)."""
        return {"id": self.ids, "task": self.tasks, "question_id": self.question_ids,
                "prompt": self.prompts, "response": self.responses, "label": self.labels,
                "image": self.images, "image_id": self.image_ids, "model": self.models}[name]


_FIELDS = ("question_id", "prompt", "response", "label", "image", "model")


@lru_cache(maxsize=64)
def _roles(keys: tuple[str, ...]) -> dict[str, str | None] | None:
    """Which key each record field is read from, for lines with exactly ``keys`` (every value a
    non-empty string, labels ``yes``/``no``): one probe line through the record reader, each key
    holding its own name as value. ``None`` when a line of this shape is not an answer."""
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


def read_record_columns(path: str | Path) -> RecordColumns | None:
    """The records of a flat answer file as :class:`RecordColumns`, or ``None`` when the file
    must be read line by line (see the module docstring)."""
    read = read_json_columns(path, RECORD_KEYS, _INTEGER_KEYS)
    if read is None:
        return None
    columns, is_integer = read
    roles = _roles(tuple(sorted(columns)))
    if roles is None:
        return None
    n = len(next(iter(columns.values())))

    def column(field: str) -> list | None:
        key = roles[field]
        if key is None:
            return None
        values = columns[key]
        return [str(v) for v in values] if is_integer.get(key) else values

    labels = column("label")
    if labels is not None and not set(labels) <= {"yes", "no"}:
        return None        # labels to normalise (" Yes", True, "B"): line by line
    prompts, responses, images, models = (column(f) for f in ("prompt", "response", "image",
                                                               "model"))
    question_ids = column("question_id")
    ids = column("id") if roles["id"] else (question_ids or [str(i) for i in range(1, n + 1)])
    return RecordColumns(
        file=str(path), n=n, ids=ids, tasks=_tasks(prompts, labels, n),
        question_ids=question_ids, prompts=prompts, responses=responses, labels=labels,
        images=images, image_ids=_image_ids(images), models=models)


def _tasks(prompts: list[str] | None, labels: list[str] | None, n: int) -> list[str]:
    """Each line's task, as the record reader infers it (once per distinct prompt)."""
    where = {"file": None, "line": None}
    if prompts is None:
        return [_task_of({}, "yes" if labels else None, None, where)] * n
    label = "yes" if labels is not None else None
    memo = {p: _task_of({}, label, p, where) for p in set(prompts)}
    return [memo[p] for p in prompts]


def _image_ids(images: list[str] | None) -> list[int | None] | None:
    """Each line's COCO image id, read from its image as the record reader does."""
    if images is None:
        return None
    where = {"file": None, "line": None}
    memo = {im: _image_of({"image": im}, where)[1] for im in set(images)}
    return [memo[im] for im in images]
