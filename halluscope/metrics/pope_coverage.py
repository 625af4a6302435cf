"""How well POPE's answers cover and match their question file, for both scoring paths.

Aligning answers by ``question_id`` is only as good as the question file: POPE's COCO random
split exists with 2,910 questions (v1, May 2023) and with 3,000 (v3, Nov 2023), the same ids
asking about other images and objects. What an answer line carries besides its id is checked
against the question it is aligned with: its question text (:func:`.pope_columns.asks_otherwise`),
its own label (:func:`.pope_columns.label_conflict`) and its image (:func:`image_mismatch`).
When the run ends (:func:`coverage`):

* questions no scored answer was aligned with are counted (``unanswered_questions``) and said as
  a warning: the scores are over the answered ones only;
* answers aligned by id that carry nothing to check (no question, image or label) are counted
  (``unchecked_answers``) and said as a warning: a wrong question file would pass unnoticed;
* the run is refused (:class:`~halluscope.errors.AlignmentError`) when more than half of the
  answers that could be aligned disagree with their question (the wrong question file: what
  is scored is the chance overlap), and, under ``--pope-align auto``, when unchecked answers
  cover exactly the first questions of a published file as many as another published file of
  the same split holds (v1 random's 2,910 against v3 random: ``--pope-align id`` scores them).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import numpy as np

from halluscope.errors import AlignmentError, RecordError
from halluscope.metrics.pope_questions import KNOWN_QUESTION_FILES
from halluscope.record_fields import file_name
from halluscope.records import coco_image_id

if TYPE_CHECKING:
    from halluscope.metrics.pope import PopeMetric
    from halluscope.metrics.pope_questions import QuestionSet

#: Fields of a bad record that say an answer disagrees with its aligned question.
MISMATCH_FIELDS = ("question", "image", "label")
#: How :func:`.pope_columns.label_conflict` begins its message.
LABEL_CONFLICT = "the answer line says label"
_LABEL = re.compile(r"\) (\w+), ([\d,]+) questions$")     # "... (Nov 2023) random, 3,000 ..."


def conflict_of(error: Exception) -> str | None:
    """The field in which a bad record disagrees with its aligned question (question, image,
    label), or ``None`` for any other bad record (a missing label is no disagreement)."""
    if not isinstance(error, RecordError):
        return None
    field = error.location.field
    if field == "label" and not error.message.startswith(LABEL_CONFLICT):
        return None
    return field if field in MISMATCH_FIELDS else None


def image_key(image: Any) -> Any:
    """What identifies an image for comparison: the COCO id in its file name (``139``,
    ``COCO_val2014_000000000139.jpg``, ``coco/val2014/000000000139.jpg``), else its file
    name (a URL's without its query: ``https://host/img.jpg?sig=a/b`` is ``img.jpg``, not
    ``b``); ``None`` for no image."""
    if image is None or isinstance(image, bool):
        return None
    if isinstance(image, int):
        return image
    name = file_name(str(image))
    if not name:
        return None
    found = coco_image_id(name)
    return found if found is not None else name


def image_mismatch(qs: QuestionSet, index: int, image: Any, mode: str,
                   where: dict[str, Any], image_id: Any = None) -> RecordError | None:
    """The bad record for an answer whose own image (``image``, else ``image_id``) is not its
    question's (``None`` when it is, or when either side names none)."""
    if image is None:
        image = image_id
    own = image_key(image)
    if own is None:             # (most answer lines name no image: the question's not looked at)
        return None
    theirs_image = qs.value("images", index)
    theirs = image_key(theirs_image)
    if theirs is None or own == theirs:
        return None
    return RecordError(f"expected the image {theirs_image!r} (question file {qs.path} line "
                       f"{qs.line(index)}), got {image!r:.120}: answers and questions are "
                       f"misaligned (aligned by {mode})", field="image", **where)


class Answered:
    """The questions answered so far, by their index in the question file: the set of ``int``
    that POPE's bookkeeping kept (``in``, ``add``, ``|=``, ``&``, ``len``, iteration in
    ascending order), held as one flag per question (a million answered questions: 1 MB
    instead of 60). :meth:`add_new` adds many at once and says how many were new."""

    __slots__ = ("_flags", "_n")

    def __init__(self, indices: Any = ()):
        self._flags = np.zeros(0, dtype=bool)
        self._n = 0
        self.add_new(np.fromiter(indices, dtype=np.int64))

    def _room(self, top: int) -> None:
        if top >= len(self._flags):
            grown = np.zeros(max(top + 1, 2 * len(self._flags), 1024), dtype=bool)
            grown[:len(self._flags)] = self._flags
            self._flags = grown

    def add_new(self, indices: np.ndarray) -> int:
        """Add ``indices`` (distinct, not negative); how many of them were not here before."""
        indices = np.asarray(indices, dtype=np.int64)
        if not len(indices):
            return 0
        if indices.min() < 0:
            raise ValueError(f"expected questions' indices, got {int(indices.min())}")
        self._room(int(indices.max()))
        new = int(len(indices) - np.count_nonzero(self._flags[indices]))
        self._flags[indices] = True
        self._n += new
        return new

    def add(self, index: int) -> None:
        if index < 0:
            raise ValueError(f"expected a question's index, got {index}")
        self._room(index)
        if not self._flags[index]:
            self._flags[index] = True
            self._n += 1

    def update(self, other: Any) -> None:
        self |= other

    def indices(self) -> np.ndarray:
        return np.flatnonzero(self._flags)

    def __contains__(self, index: object) -> bool:
        return isinstance(index, (int, np.integer)) and 0 <= index < len(self._flags) and \
            bool(self._flags[index])

    def __len__(self) -> int:
        return self._n

    def __iter__(self):
        return iter(self.indices().tolist())

    def __ior__(self, other: Any) -> Answered:
        self.add_new(other.indices() if isinstance(other, Answered)
                     else np.fromiter(other, dtype=np.int64))
        return self

    def __and__(self, other: Answered) -> Answered:
        return Answered(index for index in other.indices().tolist() if index in self)

    def union(self, *others: Any) -> Answered:
        out = Answered()
        for part in (self, *others):
            out |= part
        return out

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (Answered, set, frozenset)):
            return len(self) == len(other) and all(index in other for index in self)
        return NotImplemented

    __hash__ = None     # type: ignore[assignment]


def _published_sizes(qs: QuestionSet) -> set[int]:
    """Sizes of the other published files of ``qs``'s split (``qs`` being a published one)."""
    mine = _LABEL.search(qs.version) if qs.known else None
    if mine is None:
        return set()
    sizes = {int(m.group(2).replace(",", "")) for m in map(_LABEL.search,
                                                          KNOWN_QUESTION_FILES.values())
             if m is not None and m.group(1) == mine.group(1)}
    return sizes - {len(qs)}


def coverage(metric: PopeMetric) -> tuple[dict[str, Any], list[str]]:
    """``(run sheet fields, warnings)`` on how the answers covered the question file; raises
    :class:`AlignmentError` where the module docstring says the run is refused."""
    qs = metric.questions
    if qs is None:
        return {}, []
    n = len(qs)
    answered = (metric._id_seen.union(*metric._order_seen.values()) if metric._order_seen
                else metric._id_seen)                   # (read only: no copy of 300,000)
    missing = n - len(answered)
    scored = sum(metric._used.values())
    wrong = sum(metric._conflicts.values())
    name = f"question file {qs.path} ({qs.label_for_messages()})"
    if wrong and wrong * 2 > wrong + scored:
        said = ", ".join(f"{k} {v:,}" for k, v in sorted(metric._conflicts.items()) if v)
        raise AlignmentError(
            f"{wrong:,} of {wrong + scored:,} answers disagree with what {name} says of "
            f"their questions ({said}): it is not the question file they answer (POPE's COCO "
            f"files exist in a 2,910- and a 3,000-question version, the same ids asking other "
            f"questions); pass the matching question file")
    info = {"answered_questions": len(answered), "unanswered_questions": missing,
            "unchecked_answers": metric._unchecked}
    warnings = []
    if missing:
        warnings.append(f"pope: {missing:,} of {n:,} questions of {name} have no scored answer "
                        f"(none was aligned with them, or theirs is a bad record): the scores "
                        f"are over the {len(answered):,} answered questions only")
    if metric._unchecked:
        first = not answered or max(answered) == len(answered) - 1   # exactly 0..len-1
        if metric.align == "auto" and missing and first and \
                len(answered) in _published_sizes(qs):
            raise AlignmentError(
                f"{metric._unchecked:,} answers carry only a question_id (no question, image or "
                f"label to check) and answer exactly the first {len(answered):,} questions of "
                f"{name}, as many as another published version of this split holds: they look "
                f"like answers to that file; pass it as --questions, or --pope-align id to "
                f"score them against this one")
        warnings.append(
            f"pope: {metric._unchecked:,} answers were aligned with {name} by question_id "
            f"alone: they carry no question, image or label, so nothing checked that they "
            f"answer this file's questions (answers to another version of the file would be "
            f"mis-scored unnoticed)")
    return info, warnings


# -- the same over columns (pope_columns) --------------------------------------------------------
def _key_codes(coded: Any) -> tuple[np.ndarray, dict[Any, int]]:
    """Each distinct value's :func:`image_key` as an integer (-1: none), and the keys seen."""
    keys: dict[Any, int] = {}
    codes = [-1 if (k := image_key(v)) is None else keys.setdefault(k, len(keys))
             for v in coded.values]
    return np.array(codes + [-1], dtype=np.intp), keys


def image_mismatches(qs: QuestionSet, images: Any, rows: np.ndarray, question: np.ndarray
                     ) -> np.ndarray:
    """Which of ``rows`` (lines aligned with questions ``question[rows]``) name an image other
    than their question's (:func:`image_mismatch` over columns; ``images`` the lines' Coded)."""
    mine, keys = _key_codes(images)
    theirs_coded = qs.coded("images")
    theirs = np.array([-1 if (k := image_key(v)) is None else keys.get(k, -2)
                       for v in theirs_coded.values] + [-1], dtype=np.intp)
    a = mine[images.codes[rows]]
    b = theirs[theirs_coded.codes[question[rows]]]
    return rows[(a >= 0) & (b != -1) & (a != b)]


def unchecked_rows(cols: Any, rows: np.ndarray) -> int:
    """How many of ``rows`` carry no question, label or image (nothing to check them by)."""
    bare = np.ones(len(rows), dtype=bool)
    for name in ("prompt", "label", "image"):
        coded = cols.coded(name)
        if coded is None:
            continue
        usable = np.array([(image_key(v) if name == "image" else v) not in (None, "")
                           for v in coded.values] + [False], dtype=bool)
        bare &= ~usable[coded.codes[rows]]
    return int(bare.sum())
