"""POPE question files: reading them, recognising the published ones, and what they ask.

The published POPE COCO question files are recognised by the sha256 of their bytes
(:data:`KNOWN_QUESTION_FILES`): the May 2023 release (v1, whose random split has 2,910 questions
and the typo "imange") and the November 2023 release (v3, 3,000 questions per split). Files are
JSON lines (``question_id``, ``image``, ``text``, ``label``; optionally ``category``/``split``),
a JSON array of such objects, or either gzip-compressed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from halluscope import _json as fast_json
from halluscope.columns import Coded, arrow_strings, int64_numbers, integers
from halluscope.errors import ConfigError, RecordError
from halluscope.hashing import remember_sha256
from halluscope.json_array import iter_json_elements
from halluscope.metrics.pope_parsers import NO, YES
from halluscope.record_fields import not_an_object
from halluscope.records import gunzip, is_gzip_name
from halluscope.textfiles import is_blank, split_lines

log = logging.getLogger(__name__)

#: sha256 of the published POPE question files -> what they are (raw bytes as published).
KNOWN_QUESTION_FILES: dict[str, str] = {
    "c16b65d2df6d70bb0814c8a4375833d39cdb09928fd936d3fc546491efa37f35":
        "POPE coco v1 (May 2023) random, 2,910 questions",
    "5b16653023bf4f64d57eb0d168259de6627f5cde7538b85ebed3cc33034aa6cc":
        "POPE coco v1 (May 2023) popular, 3,000 questions",
    "1d8f0906a9b50c05640f6f23abfac97523be2a1bed28f7eadc63b811699b2d26":
        "POPE coco v1 (May 2023) adversarial, 3,000 questions",
    "ac25245170b975a5bdf9080b23fd431dfe6be458bc038259c1f4f09a6bef7994":
        "POPE coco v3 (Nov 2023) random, 3,000 questions",
    "72c1a8ad45d0c13514f5f22598261df41d3b533854d29682e924db50ed8aa753":
        "POPE coco v3 (Nov 2023) popular, 3,000 questions",
    "420b3407db1fa9f1187a805dca41cb7b97fd91504e6c2179706188c107fb8ef8":
        "POPE coco v3 (Nov 2023) adversarial, 3,000 questions",
}
UNKNOWN_VERSION = "unknown (not a published POPE file)"

# "Is there a dog in the image?"; v1 files have the typo "imange" for objects after "an".
_OBJECT = re.compile(r"\bis there (?:an?|any) (.+?) in the (?:image|imange|picture|photo)\b",
                     re.IGNORECASE)
_SPLIT_IN_NAME = re.compile(r"pope_([a-z0-9]+)\.jsonl?(?:\.gz)?$", re.IGNORECASE)
_SPACES = re.compile(r"\s+")


_FLOAT_ID = re.compile(r"\s*([+-]?\d+)\.0+\s*")


def float_id_problem(question_id: str, known: Any) -> str | None:
    """Why an answer's ``question_id`` that no question has is not found, when it is an integer
    written as a float (``1.0``: pandas saves an integer column that had an empty cell so, and
    Excel may) whose integer ``known`` (the question file's ids) holds; ``None`` otherwise
    (``1.5`` is no integer's float). Never read as that integer unasked: a number is taken as
    written, so the answer is refused, saying how to write its ids."""
    found = _FLOAT_ID.fullmatch(question_id)
    if found is None or str(int(found.group(1))) not in known:
        return None
    return (f"question_id {question_id} is written as a float, and the question file's ids "
            f"are integers ({int(found.group(1))} is one): ids written as floats, e.g. by "
            f"pandas saving an integer column that had an empty cell (NaN), or by Excel, are "
            f"not read as integers unasked; write them as integers (pandas: "
            f"df['question_id'] = df['question_id'].astype('Int64') before saving)")


def answer_truth(line: Mapping[str, Any]) -> dict[str, Any] | None:
    """What an answer (its items.jsonl ``line``) must share with the answer ``compare`` pairs
    it with in another run: its label and the object its question asks about (``None`` where
    not known). POPE's random and popular files ask the same ids of the same images about
    other absent objects, all labelled ``no``: answer files carrying their labels inline (no
    question file whose sha256 compare checks) paired "a car?" with "a dining table?"."""
    payload = line.get("pope")
    if not isinstance(payload, Mapping):
        return None
    question = payload.get("question")
    return {"label": payload.get("label"),
            "object": object_of(question) if isinstance(question, str) else None}


@lru_cache(maxsize=1 << 16)         # a POPE file asks a few hundred distinct questions
def object_of(question: str | None) -> str | None:
    """The object a POPE question asks about (``"Is there a dog in the image?"`` -> ``dog``)."""
    if not question:
        return None
    m = _OBJECT.search(question)
    return m.group(1).strip().lower() if m else None


@lru_cache(maxsize=1 << 16)
def normalise_question(text: str) -> str:
    """Lower-cased, spaces collapsed, the v1 typo "imange" corrected: for comparing questions."""
    return _SPACES.sub(" ", text.replace("imange", "image")).strip().lower()


# -- question files ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Question:
    """One POPE question (``label`` may be ``None`` in files that carry no answers)."""

    question_id: str | None
    text: str | None
    label: str | None
    image: str | None = None
    split: str | None = None
    line: int | None = None

    @property
    def object(self) -> str | None:
        return object_of(self.text)


_COLUMNS = ("ids", "texts", "labels", "images", "splits")     # Question's fields, in order


class NumberIds(Mapping):
    """Question id -> index in the question file, over ids that are all JSON integers (their
    ids are the integers' decimal strings): a read-only mapping that answers as a dict of the
    strings would (``get``, ``in``, ``[]``, iteration in file order, equality), by a binary
    search in the integers (a string that is not an integer's own decimal form, ``"07"`` or
    ``"7.0"``, is no id)."""

    __slots__ = ("_numbers", "_sorted", "_order", "_first")

    def __init__(self, numbers: np.ndarray):
        ascending = bool(np.all(numbers[1:] > numbers[:-1]))
        self._numbers = numbers
        self._order = None if ascending else np.argsort(numbers, kind="stable")
        self._sorted = numbers if ascending else numbers[self._order]
        # ids first, first + 1, ... in file order (as files number them): found by a subtraction
        # (a search with a Python int took ~2 microseconds, numpy's cost of converting it)
        self._first = int(numbers[0]) if ascending and len(numbers) and \
            int(numbers[-1]) - int(numbers[0]) == len(numbers) - 1 else None

    def get(self, question_id: Any, default: Any = None) -> Any:
        if not isinstance(question_id, str) or not 0 < len(question_id) <= 20:
            return default
        try:
            number = int(question_id)
        except ValueError:
            return default
        if str(number) != question_id or not -(1 << 63) <= number < 1 << 63:
            return default
        if self._first is not None:
            at = number - self._first
            return at if 0 <= at < len(self._numbers) else default
        at = int(np.searchsorted(self._sorted, number))
        if at == len(self._sorted) or int(self._sorted[at]) != number:
            return default
        return at if self._order is None else int(self._order[at])

    def __getitem__(self, question_id: Any) -> int:
        index = self.get(question_id)
        if index is None:
            raise KeyError(question_id)
        return index

    def __contains__(self, question_id: Any) -> bool:
        return self.get(question_id) is not None

    def __iter__(self) -> Iterator[str]:
        return (str(number) for number in self._numbers.tolist())

    def __len__(self) -> int:
        return len(self._numbers)


class QuestionSet:
    """A question file, read once, as columns (:class:`~halluscope.columns.Coded`; element ``i``
    of each is the file's question ``i``, in file order): ``ids``, ``texts``, ``labels``,
    ``images``, ``splits`` and ``lines`` as lists, an index by question id (``by_id``, when
    every question has an id) and :attr:`questions` as objects, each made on first use."""

    def __init__(self, path: str, sha256: str, columns: dict[str, Any],
                 lines: list[int] | None = None, has_ids: bool = False,
                 id_numbers: np.ndarray | None = None):
        self.path = path
        self.sha256 = sha256
        self.columns = columns         # Coded; "ids" may be a pyarrow string array
        self.n = len(columns["texts"].codes)
        self._lines = lines
        self.has_ids = has_ids
        self.id_numbers = id_numbers
        """The ids as ``int64`` where the file writes every one as a JSON integer (``ids``
        are their decimal strings), else ``None``: answers with integer ids align by them."""

    def coded(self, name: str) -> Coded:
        """Column ``ids``, ``texts``, ``labels``, ``images`` or ``splits``, encoded."""
        column = self.columns[name]
        if not isinstance(column, Coded):
            column = self.columns[name] = Coded.of(column)
        return column

    def id_array(self) -> Any:
        """The question ids as a pyarrow string array (every question has one: ``has_ids``)."""
        column = self.columns["ids"]
        return arrow_strings(self.ids) if isinstance(column, Coded) else column

    @cached_property
    def ids(self) -> list[str | None]:
        return self._id_list()

    def _id_list(self) -> list[str | None]:
        column = self.columns["ids"]
        return column.tolist() if isinstance(column, Coded) else column.to_pylist()

    @cached_property
    def texts(self) -> list[str | None]:
        return self.columns["texts"].tolist()

    @cached_property
    def labels(self) -> list[str | None]:
        return self.columns["labels"].tolist()

    @cached_property
    def images(self) -> list[Any]:
        return self.columns["images"].tolist()

    @cached_property
    def splits(self) -> list[str | None]:
        return self.columns["splits"].tolist()

    @cached_property
    def lines(self) -> list[int]:
        return self._lines if self._lines is not None else list(range(1, self.n + 1))

    @cached_property
    def by_id(self) -> Mapping[str, int]:
        """Question id -> index (empty unless every question has an id): over integer ids, a
        :class:`NumberIds` on :attr:`id_numbers` (8 bytes a question, or 16 where they are not
        in increasing order) instead of a dict of their strings (~120 bytes a question)."""
        if not self.has_ids:
            return {}
        if self.id_numbers is not None:
            return NumberIds(self.id_numbers)
        return {qid: i for i, qid in enumerate(self._id_list())}     # (the list: not kept)

    def value(self, name: str, index: int) -> Any:
        """Element ``index`` of column ``name`` (``ids``, ``texts``, ``labels``, ``images``,
        ``splits``): what ``self.<name>[index]`` gives, without making that list of the whole
        file (an answer looks up its own question: the line-by-line path)."""
        column = self.columns[name]
        if isinstance(column, Coded):
            return column.values[column.codes[index]]
        return column[index].as_py()

    def line(self, index: int) -> int:
        """The file line of question ``index`` (``self.lines[index]``, without that list)."""
        return self._lines[index] if self._lines is not None else range(1, self.n + 1)[index]

    def question(self, index: int) -> Question:
        """Question ``index`` as a :class:`Question` (``self.questions[index]``), made alone."""
        return Question(*(self.value(name, index) for name in _COLUMNS), self.line(index))

    @cached_property
    def questions(self) -> list[Question]:
        """The questions as :class:`Question` objects (every one: for a few thousand; an answer
        looks up its own with :meth:`question`)."""
        return [Question(*row) for row in zip(self.ids, self.texts, self.labels, self.images,
                                              self.splits, self.lines)]

    def __len__(self) -> int:
        return self.n

    @property
    def version(self) -> str:
        """What the file is, recognised by content hash."""
        return KNOWN_QUESTION_FILES.get(self.sha256, UNKNOWN_VERSION)

    @property
    def known(self) -> bool:
        return self.sha256 in KNOWN_QUESTION_FILES

    def label_for_messages(self) -> str:
        if self.known:
            return self.version
        return f"not a published POPE file, {len(self):,} questions"

    def describe(self) -> dict[str, Any]:
        return {"path": self.path, "sha256": self.sha256, "version": self.version,
                "n_questions": len(self)}


def _parsed(text: str, name: str) -> list[tuple[int, Any]]:
    """(line number, parsed JSON) of every question in the file's text: JSON lines, split at
    ``\n`` only as the record reader splits them (a U+2028 inside a string is no line end), or
    a JSON array, each element numbered by the file line where it starts
    (:func:`~halluscope.json_array.iter_json_elements`, as the reader numbers them)."""
    from halluscope.records import json_problem
    if text.lstrip().startswith("["):
        items = []
        for _n, line, item in iter_json_elements(split_lines(text), name):
            if isinstance(item, RecordError):
                raise item
            items.append((line, item))
        return items
    items = []
    for lineno, line in split_lines(text):
        if is_blank(line):
            continue
        try:
            items.append((lineno, fast_json.loads(line)))
        except json.JSONDecodeError:
            raise RecordError(json_problem(line), file=name, line=lineno) from None
    return items


_QUESTION_KEYS = frozenset({"question_id", "text", "question", "prompt", "label", "answer",
                            "image", "split", "category"})


def _question_columns(items: list[tuple[int, Any]], name: str, split_from_name: str | None
                      ) -> dict[str, list]:
    """The question file's columns (see :class:`QuestionSet`), from its parsed lines."""
    cols: dict[str, list] = {k: [] for k in ("ids", "texts", "labels", "images", "splits",
                                              "lines")}
    seen: dict[str, int] = {}
    for lineno, obj in items:
        if not isinstance(obj, dict):
            raise RecordError(not_an_object(obj), file=name, line=lineno)
        qid = obj.get("question_id")
        qid = None if qid is None else str(qid)
        label = obj.get("label", obj.get("answer"))
        if label is not None:
            label = str(label).strip().lower()
            if label not in (YES, NO):
                raise RecordError(f"expected 'yes' or 'no', got {obj.get('label')!r:.60}",
                                  file=name, line=lineno, field="label")
        qtext = obj.get("text", obj.get("question", obj.get("prompt")))
        split = obj.get("split", obj.get("category"))
        if qid is not None:
            if qid in seen:
                raise RecordError(f"question_id {qid} appears twice (first on line "
                                  f"{seen[qid]})", file=name, line=lineno, field="question_id")
            seen[qid] = lineno
        cols["ids"].append(qid)
        cols["texts"].append(qtext if isinstance(qtext, str) else None)
        cols["labels"].append(label)
        cols["images"].append(obj.get("image"))
        cols["splits"].append(str(split).lower() if split else split_from_name)
        cols["lines"].append(lineno)
    return cols


def _flat_question_columns(path: Path, split_from_name: str | None, hasher: Any = None
                           ) -> dict[str, Any] | None:
    """The columns of a flat JSON-lines question file read as columns, a chunk at a time
    (:class:`~halluscope.column_chunks.TableChunks`: the file's bytes and table are never held
    whole), the same as :func:`_question_columns` would give; ``None`` when it must be read line
    by line (also to report a bad label or a repeated id at its line). ``hasher`` is given the
    bytes read as stored: the whole file's where there are columns."""
    from halluscope.column_chunks import chunk_memory, released
    from halluscope.columns import _pyarrow_json
    if _pyarrow_json() is None:
        return None
    with chunk_memory():
        parts, n = _question_parts(path, hasher)
        chunks = max((len(v) for v in (parts or {}).values()), default=0)
        coded = None if parts is None else _question_coded(parts, n, split_from_name)
        del parts
        if chunks > 1:          # (a file of one chunk: trimming the heap costs more than it gives)
            released()
    return coded


def _question_parts(path: Path, hasher: Any = None) -> tuple[dict[str, list] | None, int]:
    """Each chunk's question columns (:class:`Coded`; the ids as they are), and the rows in all;
    ``None`` when the file is not read as columns."""
    from halluscope.column_chunks import NotColumns, TableChunks
    from halluscope.columns import checked_arrays
    parts: dict[str, list] = {}
    n = 0
    try:
        tables = TableChunks(path, hasher=hasher)
        try:
            for _, table in tables:
                arrays = checked_arrays(table, _QUESTION_KEYS, frozenset({"question_id"}))
                if arrays is None:
                    return None, 0
                n += table.num_rows
                for key, column in arrays.items():
                    parts.setdefault(key, []).append(column if key == "question_id"
                                                     else Coded.of(column))
        finally:
            tables.close()
    except NotColumns:
        return None, 0
    return parts, n


def _merged(parts: list[Coded]) -> Coded:
    """One column of the chunks' columns ``parts``: its values in order of first appearance, as
    :meth:`Coded.of` encodes the whole column (codes in 32 bits: a question file's columns are
    kept for the whole run, 4 bytes a question each instead of 8)."""
    index: dict[Any, int] = {}
    codes = []
    for part in parts:
        remap = np.array([index.setdefault(v, len(index)) for v in part.values], dtype=np.int32)
        codes.append(remap[part.codes] if len(remap) else part.codes.astype(np.int32))
    return Coded(np.concatenate(codes), list(index))


def _question_coded(parts: dict[str, list], n: int, split_from_name: str | None
                    ) -> dict[str, Any] | None:
    """The question columns (see :class:`QuestionSet`) of the chunks' columns ``parts``
    (``n`` rows in all)."""

    def first(*keys: str) -> Coded | None:
        return next((_merged(parts[k]) for k in keys if k in parts), None)

    def constant(value: Any) -> Coded:
        return Coded(np.zeros(n, dtype=np.int32), [value])

    import pyarrow as pa
    import pyarrow.compute as pc
    ids = numbers = None
    if "question_id" in parts:
        given = pa.concat_arrays(parts.pop("question_id"))
        ids = pc.cast(given, "string")
        if not _distinct(given, ids):
            return None
        numbers = int64_numbers(given)
    labels = first("label", "answer")
    if labels is not None:
        labels = labels.map(lambda v: v.strip().lower())
        if not set(labels.values) <= {YES, NO}:
            return None
    splits = first("split", "category")
    texts = first("text", "question", "prompt")
    return {"ids": ids if ids is not None else constant(None),
            "texts": texts or constant(None), "labels": labels or constant(None),
            "images": first("image") or constant(None),
            "splits": splits.map(lambda v: v.lower() if v else split_from_name) if splits
            else constant(split_from_name), "id_numbers": numbers}


def _distinct(given: Any, ids: Any) -> bool:
    """Whether no question id repeats: integers in increasing order (as files number them) by
    one comparison, else by a sort (integers) or a hash count (strings)."""
    if str(given.type) == "int64":
        numbers = integers(given)
        return bool(np.all(numbers[1:] > numbers[:-1])) or len(np.unique(numbers)) == len(numbers)
    import pyarrow.compute as pc
    return pc.count_distinct(ids).as_py() == len(ids)


def load_questions(path: str | Path) -> QuestionSet:
    """Read a POPE question file (JSON lines, or a JSON array) and hash its bytes as they are
    read (the file is read once where it is read as columns)."""
    path = Path(path)
    if not path.is_file():      # (a folder was "not found")
        raise ConfigError(f"POPE question file {path} is a folder, not a file" if path.is_dir()
                          else f"POPE question file not found: {path}")
    before = path.stat()
    name = str(path)
    split_from_name = None
    m = _SPLIT_IN_NAME.search(path.name)
    if m:
        split_from_name = m.group(1).lower()

    hasher = hashlib.sha256()
    coded = _flat_question_columns(path, split_from_name, hasher)
    if coded is None:           # read line by line: its bytes are read (and hashed) whole
        raw = path.read_bytes()
        hasher = hashlib.sha256(raw)
    sha = hasher.hexdigest()
    remember_sha256(path, sha, before)       # the run sheet's hash of the file, unless it changes
    lines = numbers = None
    if coded is not None:
        numbers = coded.pop("id_numbers")
    else:
        data = gunzip(raw, name) if is_gzip_name(path) else raw
        with fast_json.gc_paused():   # ~30,000 small dicts: no collector rescans
            try:
                text = data.decode("utf-8-sig")   # a BOM is not part of the first question
            except UnicodeDecodeError as exc:
                raise ConfigError(f"POPE question file {path}: expected UTF-8 JSON, got a byte "
                                  f"that is not UTF-8 at offset {exc.start}") from None
            cols = _question_columns(_parsed(text, name), name, split_from_name)
        lines = cols.pop("lines")
        coded = {key: Coded.of(values) for key, values in cols.items()}
    if not len(coded["texts"].codes):
        raise ConfigError(f"POPE question file {path} holds no questions")
    ids = coded["ids"]
    with_id = not isinstance(ids, Coded) or None not in ids.values
    if not with_id and ids.values != [None]:
        # ids on some lines only: they cannot be trusted for alignment
        log.warning("%s: question_id missing on some lines; aligning by order only", path)
    return QuestionSet(name, sha, coded, lines, has_ids=with_id, id_numbers=numbers)
