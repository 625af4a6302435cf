"""POPE over whole columns: a flat answer file scored at once, the same as line by line.

:meth:`~halluscope.metrics.pope.PopeMetric.update` scores one record at a time; an answer file
read as columns (:func:`~halluscope.columns.read_record_columns`) is scored here in one pass:
alignment by id as one dictionary lookup per answer, each distinct answer text parsed once, each
distinct question's groups and unit worked out once, and the rows folded into the metric's state
with one draw of weights per image (:meth:`~halluscope.metrics.base.Metric.add_block`). Every
number, interval bound, error and item is the one the line-by-line path gives (tested); what this
path does not cover (a judge, a grouping field outside the record's own fields) is scored line by
line. The alignment errors are written here, for both paths.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from halluscope.columns import Coded, NotInOrder, arrow_bools, arrow_ints, integers
from halluscope.errors import AlignmentError, RecordError
from halluscope.metrics.base import ItemScore
from halluscope.metrics.group_fold import group_members
from halluscope.metrics.pope_coverage import (LABEL_CONFLICT, Answered, conflict_of,
                                              image_mismatch, image_mismatches, unchecked_rows)
from halluscope.metrics.pope_parsers import NO, UNKNOWN, YES
from halluscope.metrics.pope_questions import float_id_problem, normalise_question, object_of
from halluscope.metrics.units import CLUSTER_DEFAULT, image_unit, unit_of
from halluscope.redact import redact_url

if TYPE_CHECKING:
    from halluscope.columns import RecordColumns
    from halluscope.metrics.pope import PopeMetric
    from halluscope.metrics.pope_questions import QuestionSet
    from halluscope.records import Record

ROW = {(YES, YES): 0, (YES, NO): 1, (NO, NO): 2, (NO, YES): 3,
       (UNKNOWN, YES): 4, (UNKNOWN, NO): 5}  # (prediction, label) -> column
ONE_HOT = tuple(tuple(float(i == c) for i in range(len(ROW))) for c in range(len(ROW)))
_FIELDS = ("id", "task", "image", "image_id", "model", "label", "question_id")


# -- the errors of aligning an answer, for both paths ---------------------------------------------
ALONE_BY_ORDER = ("a line holding only an answer, with no question, question_id or label, is "
                  "aligned by its position only with --pope-align order, as POPE's "
                  "evaluate.py aligns its answers")


BY_ID_FILE = ("this file's answers carry a question_id, so they align by it: aligning this one "
              "by its position would be a guess")


def no_question_id(where: dict, alone: bool = False, by_id: bool = False) -> RecordError:
    """No id to align by; ``alone``: the line holds only an answer (a caption-shaped record);
    ``by_id``: the other answers of its file align by id (``--pope-align auto``)."""
    hints = [text for text, on in ((BY_ID_FILE, by_id), (ALONE_BY_ORDER, alone)) if on]
    hint = f" ({'; '.join(hints)})" if hints else ""
    return RecordError("expected a question_id to align the answer with the question file, "
                       f"found none{hint}", field="question_id", **where)


def unknown_question_id(qs: QuestionSet, question_id: str, where: dict) -> RecordError:
    as_float = float_id_problem(question_id, qs.by_id)
    if as_float is not None:
        return RecordError(f"{as_float} (question file {qs.path})", field="question_id",
                           **where)
    span = f", ids {qs.value('ids', 0)}..{qs.value('ids', -1)}" if qs.has_ids else ""
    return RecordError(f"question_id {question_id} is not in question file {qs.path} "
                       f"({qs.label_for_messages()}{span})", field="question_id", **where)


def past_the_questions(qs: QuestionSet, index: int, where: dict) -> AlignmentError:
    return AlignmentError(
        f"{where['file']}:{where['line']}: answer number {index + 1:,} has no question: "
        f"question file {qs.path} ({qs.label_for_messages()}) has {len(qs):,}; aligning by "
        f"order would mis-score; pass the matching question file or answers with question_id")


def asks_another(text: str | None, prompt: str | None) -> bool:
    """Whether an answer line's own question ``prompt`` is not the question ``text``."""
    return bool(prompt and text and prompt != text and
                normalise_question(text) not in normalise_question(prompt))


def asks_otherwise(qs: QuestionSet, index: int, prompt: str | None, mode: str
                   ) -> str | None:
    """Why the answer's own question is not question ``index`` (``None`` when it is)."""
    text = qs.value("texts", index)
    if not asks_another(text, prompt):
        return None
    return (f"expected the question {text!r} (question file {qs.path} line "
            f"{qs.line(index)}), got {prompt!r:.120}: answers and questions are misaligned "
            f"(aligned by {mode})")


def label_conflict(label: str, question_id: str | None, question_label: str,
                   where: dict) -> RecordError:
    return RecordError(f"{LABEL_CONFLICT} {label!r} but question {question_id} says "
                       f"{question_label!r}", field="label", **where)


def no_label(where: dict) -> RecordError:
    return RecordError("expected a yes/no label: pass a question file with labels or put "
                       "'label' on each answer line", field="label", **where)


def takes(metric: PopeMetric, record: Record) -> bool:
    """Whether POPE scores ``record`` (:meth:`PopeMetric.applies_to`; :func:`_applies` is the
    same over columns): a yes/no question or an answer with a yes/no label, whatever its prompt
    says; with a question file, also an answer to a free-form question (a prompt the record
    reader does not read as yes/no) whose ``question_id`` the file holds and whose prompt asks
    that question, in whatever template (``Look closely. Is there...``), an answer read as a
    caption (no question beside it) with a ``question_id``, or an answer alone (``{"answer"}``,
    evaluate.py's input: aligned by order under ``align="order"``, else a bad line saying so).
    No caption otherwise."""
    if record.task == "yes-no" or record.label is not None:
        return True
    qs = metric.questions
    if qs is None:
        return False
    if record.task == "vqa":
        index = None if record.question_id is None else qs.by_id.get(record.question_id)
        return index is not None and not (metric.check_questions and
                                          asks_another(qs.value("texts", index),
                                                       record.prompt))
    if record.task != "caption":
        return False
    return record.question_id is not None or record.prompt is None and _alone(record)


def _alone(record: Record) -> bool:
    """Whether a line holds nothing but the model's answer: no image or document either."""
    return record.image is None and record.image_id is None and record.document is None


def refused(metric: PopeMetric, record: Record) -> RecordError | None:
    """Why an answer to a free-form question that POPE passed by (:func:`takes`) is still a
    POPE answer it cannot score, for a run that names ``pope`` and where no other metric scored
    it (:meth:`~halluscope.metrics.base.Metric.refusal`): its ``question_id`` is in the question
    file but its prompt asks another question, or it is not and its prompt asks a POPE question
    (``Is there a dog in the image?``: the wrong question file?); ``None`` otherwise."""
    qs = metric.questions
    if qs is None or record.task != "vqa" or record.question_id is None or \
            record.response is None:
        return None
    where = {"file": record.source.file, "line": record.source.line}
    index = qs.by_id.get(record.question_id)
    if index is not None:
        return RecordError(asks_otherwise(qs, index, record.prompt, "id"), field="question",
                           **where)
    if object_of(record.prompt) is not None:
        return unknown_question_id(qs, record.question_id, where)
    return None


# -- whole columns ----------------------------------------------------------------------------
def scores_columns(metric: PopeMetric) -> bool:
    """Whether ``metric`` can score an answer file as columns (no judge; groups by the record's
    own fields or top-level metadata keys only; a parser that counts an answer once per split
    it lists, :mod:`~halluscope.metrics.pope_splits`, folds it line by line)."""
    return metric.judge is None and not metric.parser.explodes_categories and \
        all("." not in name for name in metric.by)


_LABEL = {YES: 0, NO: 1}
_PREDICTION = {YES: 0, NO: 1, UNKNOWN: 2}
_ROW_OF = np.array([[ROW[(p, y)] for y in (YES, NO)] for p in (YES, NO, UNKNOWN)])


def _codes(coded: Coded | None, table: dict[Any, int], n: int) -> np.ndarray:
    """Each line's code in ``table`` (-1: no value, or one outside the table)."""
    if coded is None or not coded.values:
        return np.full(n, -1, dtype=np.intp)
    return np.array([table.get(v, -1) for v in coded.values], dtype=np.intp)[coded.codes]


@dataclass
class ItemColumns:
    """Every line's :class:`ItemScore` as columns, for writing the items whole
    (:mod:`halluscope.column_json`): ``row``, ``unit`` and ``groups`` as :class:`Coded`, and the
    payload's keys in order, each :class:`Coded` or a pyarrow array. Only the scored lines'
    values mean anything."""

    row: Coded
    unit: Coded
    groups: Coded
    payload: dict[str, Any]


class ColumnScores:
    """What POPE made of each line of a :class:`~halluscope.columns.RecordColumns`:
    ``outcome[i]`` is ``ok``, ``error`` (``errors[i]`` says why) or ``skip`` (``skips[i]``: not a
    yes/no question); :meth:`item` is a scored line's :class:`ItemScore`."""

    def __init__(self, cols: RecordColumns, qs: QuestionSet | None, parser: str, mode: str):
        n = cols.n
        self.cols, self.question_set, self.parser, self.mode = cols, qs, parser, mode
        self.errors: dict[int, RecordError] = {}
        self.skips: dict[int, str] = {}
        self.question = np.full(n, -1, dtype=np.intp)     # index in the question file
        self.label = np.full(n, -1, dtype=np.intp)        # 0 yes, 1 no
        self.prediction = np.full(n, -1, dtype=np.intp)   # 0 yes, 1 no, 2 unknown
        self.ok = np.zeros(n, dtype=bool)
        self.signature = np.full(n, -1, dtype=np.intp)    # index into signatures (groups)
        self.signatures: list[tuple[str, ...]] = []
        self.unit = np.full(n, -1, dtype=np.intp)         # index into units
        self.units: list[str] = []

    @cached_property
    def outcome(self) -> list[str]:
        out = ["skip"] * self.cols.n
        for i in self.errors:
            out[i] = "error"
        for i in np.flatnonzero(self.ok).tolist():
            out[i] = "ok"
        return out

    def _coded(self, codes: np.ndarray, values: list) -> Coded:
        """A column of the scored lines (``None`` on the others)."""
        return Coded(np.where(self.ok, codes, -1), [*values, None])

    @cached_property
    def _predictions(self) -> Coded:
        return self._coded(self.prediction, [YES, NO, UNKNOWN])

    @cached_property
    def _labels(self) -> Coded:
        return self._coded(self.label, [YES, NO])

    @cached_property
    def predictions(self) -> list[str | None]:
        return self._predictions.tolist()

    @cached_property
    def labels(self) -> list[str | None]:
        return self._labels.tolist()

    @cached_property
    def item_columns(self) -> ItemColumns:
        """Every scored line's score as columns (what :meth:`item` gives line by line)."""
        row = _ROW_OF[np.maximum(self.prediction, 0), np.maximum(self.label, 0)]
        payload = {"prediction": self._predictions, "label": self._labels,
                   "question_id": self._question_ids(), "question": self._questions(),
                   "parser": Coded(np.zeros(self.cols.n, dtype=np.intp), [self.parser])}
        return ItemColumns(row=self._coded(row, list(ONE_HOT)),
                           unit=self._coded(self.unit, self.units),
                           groups=self._coded(self.signature, self.signatures), payload=payload)

    def _question_ids(self) -> Any:
        """Each line's question id (pyarrow strings): its question's, else its own."""
        import pyarrow as pa
        import pyarrow.compute as pc
        own = self.cols.array("question_id")
        own = pa.nulls(self.cols.n, type=pa.string()) if own is None else own
        qs = self.question_set
        if qs is None or not len(qs):
            return own
        given = qs.id_array().take(arrow_ints(np.maximum(self.question, 0)))
        return pc.if_else(pc.and_(arrow_bools(self.question >= 0), pc.is_valid(given)), given,
                          own)

    def _questions(self) -> Coded:
        """Each line's question text: its question's (when not empty), else its own prompt."""
        qs, q, n = self.question_set, self.question, self.cols.n
        texts = qs.coded("texts") if qs is not None else Coded(np.zeros(0, np.intp), [])
        prompts = self.cols.coded("prompt")
        code = np.full(n, -1, dtype=np.intp)
        if prompts is not None:
            code = len(texts.values) + prompts.codes
        truthy = np.array([bool(v) for v in texts.values] + [False], dtype=bool)
        text = _on_questions(texts, q)
        code = np.where(truthy[text], text, code)
        return Coded(code, [*texts.values, *(prompts.values if prompts else ()), None])

    def payload(self, i: int) -> dict[str, Any]:
        """Line ``i``'s POPE payload, as :meth:`PopeMetric.score` writes it."""
        return {key: column.values[column.codes[i]] if isinstance(column, Coded)
                else column[i].as_py() for key, column in self.item_columns.payload.items()}

    def item(self, i: int) -> ItemScore:
        """Line ``i``'s score, as :meth:`PopeMetric.score` and :meth:`Metric.add` make it."""
        columns, q = self.item_columns, int(self.question[i])
        row, unit, groups = (c.values[c.codes[i]] for c in (columns.row, columns.unit,
                                                             columns.groups))
        return ItemScore(payload=self.payload(i), row=row, groups=groups, unit=unit,
                         notes={"mode": self.mode, "index": q if q >= 0 else None})

    def fail(self, rows: np.ndarray, error) -> None:
        """Lines ``rows`` (still alive) fail with ``error(i)``."""
        for i in rows.tolist():
            self.errors[i] = error(i)
        self.ok[rows] = False


def _where(cols: RecordColumns, i: int) -> dict[str, Any]:
    return {"file": cols.file, "line": cols.line(i)}


def _align(metric: PopeMetric, cols: RecordColumns, out: ColumnScores) -> None:
    """Each line's question (``out.question``); lines that have none fail."""
    qs = metric.questions
    if qs is None:
        return
    alive = np.flatnonzero(out.ok)
    alone = _captions(cols)
    if out.mode == "order":
        _by_order(metric, cols, out, alive, alone)
        return
    qids = cols.array("question_id")
    if qids is None:
        out.fail(alive, lambda i: no_question_id(_where(cols, i), alone=bool(alone[i])))
        return
    missing = alive[~cols.present("question_id")[alive]]
    by_id = metric.align == "auto"        # (as line by line: the file aligns by id)
    out.fail(missing, lambda i: no_question_id(_where(cols, i), alone=bool(alone[i]),
                                               by_id=by_id))
    alive = np.flatnonzero(out.ok)
    numbers, known = cols.numbers("question_id"), qs.id_numbers
    if numbers is not None and known is not None:     # integers on both sides
        index = index_of_numbers(numbers, known)
    else:
        import pyarrow.compute as pc
        index = integers(pc.index_in(qids, value_set=qs.id_array()))
    out.question[alive] = index[alive]
    out.fail(alive[index[alive] < 0], lambda i: unknown_question_id(
        qs, qids[i].as_py(), _where(cols, i)))


def _by_order(metric: PopeMetric, cols: RecordColumns, out: ColumnScores, alive: np.ndarray,
              alone: np.ndarray) -> None:
    """Each line's question by its place, as :meth:`PopeMetric._align` finds it line by line
    (refused as there): its line less the blank lines before it (bad ones count)."""
    qs, info = metric.questions, metric._file_info(cols.file)
    if info is not None and info.by_id:
        out.fail(alive, lambda i: no_question_id(_where(cols, i), alone=bool(alone[i]),
                                                 by_id=True))
        return
    if metric.align == "auto":          # by order only when asked
        wrong = alone[alive] | (info is not None and not info.by_order
                                and info.n_answers != len(qs))
        out.fail(alive[wrong], lambda i: no_question_id(_where(cols, i), alone=bool(alone[i])))
        alive = np.flatnonzero(out.ok)
    if not alive.size:
        return
    blanks = np.asarray(metric._file_info(cols.file, scan=True).blank_lines, dtype=np.intp)
    lines = cols.line_numbers()[alive]
    index = lines - 1 - np.searchsorted(blanks, lines, side="left")
    past = np.flatnonzero(index >= len(qs))
    if past.size:
        at = int(past[0])
        raise past_the_questions(qs, int(index[at]), _where(cols, int(alive[at])))
    out.question[alive] = index


def index_of_numbers(values: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Each of ``values``' index in ``keys`` (distinct integers), -1 where it is not there:
    what ``pyarrow.compute.index_in`` gives for their decimal strings (an integer has one), by
    a binary search in the sorted keys instead of hashing 300,000 strings twice."""
    if not len(keys):
        return np.full(len(values), -1, dtype=np.intp)
    order = None if bool(np.all(keys[1:] > keys[:-1])) else np.argsort(keys, kind="stable")
    ordered = keys if order is None else keys[order]
    at = np.minimum(np.searchsorted(ordered, values), len(keys) - 1)
    found = ordered[at] == values
    at = at if order is None else order[at]
    return np.where(found, at, -1).astype(np.intp)


def _check_and_label(metric: PopeMetric, cols: RecordColumns, out: ColumnScores) -> None:
    """The question check, then each line's label (``out.label``); lines that fail them fail."""
    qs, n = metric.questions, cols.n
    has_q = out.ok & (out.question >= 0)
    prompts = cols.coded("prompt")
    if qs is not None and metric.check_questions and prompts is not None and has_q.any():
        texts = qs.coded("texts")
        rows = np.flatnonzero(has_q)
        pair = prompts.codes[rows] * len(texts.values) + texts.codes[out.question[rows]]
        pairs, inverse = np.unique(pair, return_inverse=True)
        other = np.array([asks_another(texts.values[p % len(texts.values)],
                                       prompts.values[p // len(texts.values)])
                          for p in pairs.tolist()], dtype=bool)[inverse]
        out.fail(rows[other], lambda i: RecordError(
            asks_otherwise(qs, int(out.question[i]), prompts.values[prompts.codes[i]],
                           out.mode), field="question", **_where(cols, i)))
        if other.any():
            has_q = out.ok & (out.question >= 0)
    images = cols.coded("image")
    if qs is not None and metric.check_questions and images is not None and has_q.any():
        other = image_mismatches(qs, images, np.flatnonzero(has_q), out.question)
        out.fail(other, lambda i: image_mismatch(qs, int(out.question[i]), images.values[
            images.codes[i]], out.mode, _where(cols, i)))
        has_q = out.ok & (out.question >= 0)
    own = _codes(cols.coded("label"), _LABEL, n)
    given = np.full(n, -1, dtype=np.intp)
    if qs is not None:
        given[has_q] = _codes(qs.coded("labels"), _LABEL, len(qs))[out.question[has_q]]
    conflict = out.ok & (own >= 0) & (given >= 0) & (own != given)
    out.fail(np.flatnonzero(conflict), lambda i: label_conflict(
        (YES, NO)[own[i]], qs.value("ids", int(out.question[i])), (YES, NO)[given[i]],
        _where(cols, i)))
    out.label = np.where(given >= 0, given, own)
    out.fail(np.flatnonzero(out.ok & (out.label < 0)), lambda i: no_label(_where(cols, i)))


def _captions(cols: RecordColumns) -> np.ndarray:
    """Which lines are caption-shaped records without a ``question_id``: answers alone."""
    tasks = cols.coded("task")
    caption = np.array([t == "caption" for t in tasks.values], dtype=bool)[tasks.codes]
    return caption & ~cols.present("question_id")


def _applies(metric: PopeMetric, cols: RecordColumns) -> np.ndarray:
    """Which lines :meth:`PopeMetric.applies_to` takes (:func:`takes`): yes/no questions and,
    with a question file, answers read as captions (no question beside them) that carry a
    ``question_id`` or hold nothing but the answer (no prompt, no image), and answers to
    free-form questions whose ``question_id`` the file holds, asking its question."""
    tasks = cols.coded("task")
    yes_no = np.array([t == "yes-no" for t in tasks.values], dtype=bool)[tasks.codes]
    if metric.questions is None:
        return yes_no
    caption = np.array([t == "caption" for t in tasks.values], dtype=bool)[tasks.codes]
    bare = ~cols.present("prompt") & ~cols.present("image")
    vqa = np.array([t == "vqa" for t in tasks.values], dtype=bool)[tasks.codes]
    return yes_no | (caption & (cols.present("question_id") | bare)) | _asked(metric, cols, vqa)


def _asked(metric: PopeMetric, cols: RecordColumns, vqa: np.ndarray) -> np.ndarray:
    """Which of the ``vqa`` lines (answers to free-form questions) :func:`takes`: those whose
    ``question_id`` the question file holds, asking its question."""
    out = np.zeros(cols.n, dtype=bool)
    if not vqa.any():           # (before encoding 300,000 distinct ids for nothing)
        return out
    qs, ids, prompts = metric.questions, cols.coded("question_id"), cols.coded("prompt")
    if ids is None:
        return out
    verdicts: dict[tuple[int, int], bool] = {}
    for i in np.flatnonzero(vqa & (ids.codes >= 0)).tolist():
        key = (int(ids.codes[i]), -1 if prompts is None else int(prompts.codes[i]))
        if key not in verdicts:
            index = qs.by_id.get(ids.values[key[0]])
            prompt = None if key[1] < 0 else prompts.values[key[1]]
            verdicts[key] = index is not None and not (
                metric.check_questions and asks_another(qs.value("texts", index), prompt))
        out[i] = verdicts[key]
    return out


def score_columns(metric: PopeMetric, cols: RecordColumns, *, every_line: bool = False,
                  fold: bool = True) -> ColumnScores:
    """Score every yes/no line of ``cols`` (``every_line``: every line, whatever its task) and
    fold the scored ones into ``metric`` in one block (unless not ``fold``: then
    :func:`fold_columns` does, later): what :meth:`PopeMetric.update` line by line would do,
    errors and bookkeeping included."""
    qs = metric.questions
    mode = "label" if qs is None else metric._mode_for(cols.array("question_id") is not None)
    out = ColumnScores(cols, qs, metric.parser.name, mode)
    tasks = cols.coded("task")
    out.ok[:] = True if every_line else _applies(metric, cols)
    for code, task in enumerate(tasks.values):
        rows = np.flatnonzero((tasks.codes == code) & ~out.ok)
        if rows.size:
            reason = metric.skip_reason(cols.record(int(rows[0])))
            out.skips.update(dict.fromkeys(rows.tolist(), reason))
    _align(metric, cols, out)
    _check_and_label(metric, cols, out)
    responses = cols.coded("response")
    parsed = [_PREDICTION[metric.parser(text)] for text in responses.values]
    out.prediction = np.array(parsed, dtype=np.intp)[responses.codes] if parsed else \
        out.prediction
    _groups_and_units(metric, cols, out)
    if fold:
        fold_columns(metric, cols, out)
    return out


def _groups(split: str | None, qtext: str | None) -> tuple[str, ...]:
    """The groups POPE gives an answer: its split and the object it asks about."""
    obj = object_of(qtext)
    return tuple(g for g in (split and f"split:{split}", obj and f"object:{obj}") if g)


def _on_questions(coded: Coded, q: np.ndarray) -> np.ndarray:
    """The code of each scored line's question in a question column (-1: no question)."""
    return np.where(q >= 0, coded.codes[np.maximum(q, 0)], -1) if len(coded.codes) else \
        np.full(len(q), -1, dtype=np.intp)


def _distinct_rows(columns: list[np.ndarray]) -> tuple[list[list[int]], np.ndarray]:
    """The distinct rows of integer ``columns`` (as lists) and each row's index among them,
    factorising one column at a time (a sort of integers, not of rows)."""
    inverse = np.zeros(len(columns[0]), dtype=np.int64)
    for column in columns:
        low = int(column.min()) if len(column) else 0
        codes, inverse = np.unique(inverse * (int(column.max(initial=0)) - low + 1)
                                   + (column - low), return_inverse=True)
    some = np.zeros(len(codes), dtype=np.intp)
    some[inverse] = np.arange(len(inverse))      # a line of each distinct row (all alike)
    return np.stack(columns, axis=1)[some].tolist(), inverse.reshape(-1)


def _splits(qs: QuestionSet | None, cols: RecordColumns, rows: np.ndarray, q: np.ndarray
            ) -> tuple[np.ndarray, list[str | None]]:
    """Each scored line's split (a code into the values returned; -1: none): its question's,
    else the line's own ``split`` (or ``category``) field."""
    values: list[str | None] = list(qs.coded("splits").values) if qs is not None else []
    split = _on_questions(qs.coded("splits"), q) if qs is not None else np.full(len(q), -1)
    split = np.where(np.array([v is not None for v in values] + [False], dtype=bool)[split],
                     split, -1)
    own = cols.meta("split") if "split" in cols.metadata else cols.meta("category")
    if own is not None:
        own = own.map(lambda v: str(v).lower() if v else None)
        split = np.where(split >= 0, split, len(values) + own.codes[rows])
        values += own.values
    return split, values


def _groups_and_units(metric: PopeMetric, cols: RecordColumns, out: ColumnScores) -> None:
    """Each scored line's groups (``out.signature``) and resampling unit (``out.unit``), as
    :meth:`Metric.add` gives them: worked out once per distinct (split, question text, grouping
    fields) and once per image."""
    qs, rows = metric.questions, np.flatnonzero(out.ok)
    q = out.question[rows]
    prompts = cols.coded("prompt")
    prompt = prompts.codes[rows] if prompts is not None else np.zeros(len(rows), dtype=np.intp)
    prompt_values = prompts.values if prompts is not None else [None]
    texts = qs.coded("texts") if qs is not None else Coded(np.zeros(0, np.intp), [])
    text = _on_questions(texts, q)
    truthy = np.array([bool(v) for v in texts.values] + [False], dtype=bool)[text]
    split, split_values = _splits(qs, cols, rows, q)
    # a question's text where it has one, else the line's own prompt (codes after the texts)
    key = [split, np.where(truthy, text, len(texts.values) + prompt)]
    by = [(name, coded) for name in metric.by if (coded := cols.coded(name) if name in _FIELDS
                                                  else cols.meta(name)) is not None]
    key += [coded.codes[rows] for _, coded in by]
    distinct, inverse = _distinct_rows(key)
    for split, t, *extra in distinct:
        own = _groups(split_values[split] if split >= 0 else None,
                      texts.values[t] if t < len(texts.values)
                      else prompt_values[t - len(texts.values)])
        for (name, coded), code in zip(by, extra):
            value = coded.values[code]
            if type(value) is str:          # as group_names writes it: no URL credentials
                value = redact_url(value)
            if value not in (None, "") and f"{name}:{value}" not in own:
                own += (f"{name}:{value}",)
        out.signatures.append(own)
    out.signature[rows] = inverse.reshape(-1)
    _units(metric, cols, out, rows, q)


def _units(metric: PopeMetric, cols: RecordColumns, out: ColumnScores, rows: np.ndarray,
           q: np.ndarray) -> None:
    """Each scored line's unit: its question's image, else :func:`unit_of` its record."""
    qs = metric.questions
    image = np.full(len(rows), -1, dtype=np.intp)
    images: list[Any] = []
    if qs is not None and metric.cluster_by == CLUSTER_DEFAULT:
        images = qs.coded("images").values
        code = _on_questions(qs.coded("images"), q)
        named = np.unique(code[code >= 0])      # (the images of these lines, not the file's)
        usable = np.zeros(len(images) + 1, dtype=bool)
        usable[named] = [bool(images[c]) for c in named.tolist()]
        image = np.where(usable[code], code, -1)
    if cols.lines is not None and (image < 0).any():   # (unit_of keeps input order)
        raise NotInOrder(cols.file)
    used, local = np.unique(image[image >= 0], return_inverse=True)
    out.units = [image_unit(images[c]) for c in used.tolist()]
    out.unit[rows[image >= 0]] = local.reshape(-1)
    index: dict[str, int] = {}
    for i in rows[image < 0].tolist():
        unit = unit_of(cols.record(i), metric.cluster_by, metric._own_units, metric._images)
        out.unit[i] = index.setdefault(unit, len(out.units) + len(index))
    out.units += list(index)


def fold_columns(metric: PopeMetric, cols: RecordColumns, out: ColumnScores) -> None:
    """Fold the lines :func:`score_columns` scored into the metric's state (the bootstrap's
    replicates included) and its alignment bookkeeping. It reads ``cols`` and ``out`` and
    changes only ``metric``, so it may run beside work that reads them (the items)."""
    rows = np.flatnonzero(out.ok)
    row_code = _ROW_OF[out.prediction[rows], out.label[rows]]
    signature = out.signature[rows]
    members = group_members(out.signatures, signature)
    metric.add_block(np.eye(len(ROW)), out.unit[rows], out.units, members, codes=row_code)
    if len(rows):           # (as line by line: a mode no answer was aligned by is not named)
        metric._used[out.mode] = metric._used.get(out.mode, 0) + len(rows)
    if metric.questions is not None and len(rows):
        seen = (metric._order_seen.setdefault(cols.file, Answered()) if out.mode == "order"
                else metric._id_seen)
        answered = np.flatnonzero(np.bincount(out.question[rows]))     # distinct, aligned
        metric._repeats += len(rows) - seen.add_new(answered)
        if out.mode == "id":
            metric._unchecked += unchecked_rows(cols, rows)
    for field in filter(None, map(conflict_of, out.errors.values())):
        metric._conflicts[field] += 1
