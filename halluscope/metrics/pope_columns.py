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

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from halluscope.errors import AlignmentError, RecordError
from halluscope.metrics.base import ItemScore
from halluscope.metrics.pope_parsers import NO, UNKNOWN, YES
from halluscope.metrics.pope_questions import normalise_question, object_of
from halluscope.metrics.units import CLUSTER_DEFAULT, unit_of

if TYPE_CHECKING:
    from halluscope.columns import RecordColumns
    from halluscope.metrics.pope import PopeMetric
    from halluscope.metrics.pope_questions import QuestionSet

ROW = {(YES, YES): 0, (YES, NO): 1, (NO, NO): 2, (NO, YES): 3,
       (UNKNOWN, YES): 4, (UNKNOWN, NO): 5}  # (prediction, label) -> column
ONE_HOT = tuple(tuple(float(i == c) for i in range(len(ROW))) for c in range(len(ROW)))
_FIELDS = ("id", "task", "image", "image_id", "model", "label", "question_id")


# -- the errors of aligning an answer, for both paths ---------------------------------------------
def no_question_id(where: dict) -> RecordError:
    return RecordError("expected a question_id to align the answer with the question file, "
                       "found none", field="question_id", **where)


def unknown_question_id(qs: QuestionSet, question_id: str, where: dict) -> RecordError:
    span = f", ids {qs.ids[0]}..{qs.ids[-1]}" if qs.has_ids else ""
    return RecordError(f"question_id {question_id} is not in question file {qs.path} "
                       f"({qs.label_for_messages()}{span})", field="question_id", **where)


def past_the_questions(qs: QuestionSet, index: int, where: dict) -> AlignmentError:
    return AlignmentError(
        f"{where['file']}:{where['line']}: answer number {index + 1:,} has no question: "
        f"question file {qs.path} ({qs.label_for_messages()}) has {len(qs):,}; aligning by "
        f"order would mis-score; pass the matching question file or answers with question_id")


def asks_otherwise(qs: QuestionSet, index: int, prompt: str | None, mode: str
                   ) -> str | None:
    """Why the answer's own question is not question ``index`` (``None`` when it is)."""
    text = qs.texts[index]
    if not prompt or not text or prompt == text or \
            normalise_question(text) in normalise_question(prompt):
        return None
    return (f"expected the question {text!r} (question file {qs.path} line "
            f"{qs.lines[index]}), got {prompt!r:.120}: answers and questions are misaligned "
            f"(aligned by {mode})")


def label_conflict(label: str, question_id: str | None, question_label: str,
                   where: dict) -> RecordError:
    return RecordError(f"the answer line says label {label!r} but question {question_id} says "
                       f"{question_label!r}", field="label", **where)


def no_label(where: dict) -> RecordError:
    return RecordError("expected a yes/no label: pass a question file with labels or put "
                       "'label' on each answer line", field="label", **where)


# -- whole columns ----------------------------------------------------------------------------
def scores_columns(metric: PopeMetric) -> bool:
    """Whether ``metric`` can score an answer file as columns (no judge; groups by the record's
    own fields only)."""
    return metric.judge is None and all(name in _FIELDS for name in metric.by)


@dataclass
class ColumnScores:
    """What POPE made of each line of a :class:`~halluscope.columns.RecordColumns`:
    ``outcome[i]`` is ``ok``, ``error`` (``errors[i]`` says why) or ``skip`` (not a yes/no
    question)."""

    cols: RecordColumns
    question_set: QuestionSet | None
    parser: str
    mode: str
    outcome: list[str]
    errors: dict[int, RecordError] = field(default_factory=dict)
    predictions: list[str | None] = field(default_factory=list)
    labels: list[str | None] = field(default_factory=list)
    questions: list[int | None] = field(default_factory=list)
    units: list[str | None] = field(default_factory=list)
    groups: list[tuple[str, ...]] = field(default_factory=list)
    rows: np.ndarray | None = None
    codes: dict[int, int] = field(default_factory=dict)      # line -> column of its one-hot row
    skips: dict[int, str] = field(default_factory=dict)

    def payload(self, i: int) -> dict[str, Any]:
        """Line ``i``'s POPE payload, as :meth:`PopeMetric.score` writes it."""
        q, qs = self.questions[i], self.question_set
        qtext = qs.texts[q] if q is not None else None
        qid = qs.ids[q] if q is not None else None
        cols = self.cols
        return {"prediction": self.predictions[i], "label": self.labels[i],
                "question_id": qid if qid is not None else _at(cols.question_ids, i),
                "question": qtext or _at(cols.prompts, i), "parser": self.parser}


    def item(self, i: int) -> ItemScore:
        """Line ``i``'s score, as :meth:`PopeMetric.score` and :meth:`Metric.add` make it."""
        return ItemScore(payload=self.payload(i), row=ONE_HOT[self.codes[i]],
                         groups=self.groups[i], unit=self.units[i],
                         notes={"mode": self.mode, "index": self.questions[i]})


def _at(values: list | None, i: int) -> Any:
    return None if values is None else values[i]


def _align(metric: PopeMetric, cols: RecordColumns, todo: list[int], out: ColumnScores
           ) -> list[int]:
    """Each line's question (``out.questions``); the lines still to score."""
    qs = metric.questions
    out.questions = [None] * cols.n
    if qs is None:
        return todo
    if out.mode == "order":
        for i in todo:
            if i >= len(qs):
                raise past_the_questions(qs, i, {"file": cols.file, "line": i + 1})
            out.questions[i] = i
        return todo
    if cols.question_ids is None:
        for i in todo:
            out.errors[i] = no_question_id({"file": cols.file, "line": i + 1})
        return []
    by_id, qids, left = qs.by_id, cols.question_ids, []
    for i in todo:
        q = out.questions[i] = by_id.get(qids[i])
        if q is None:
            out.errors[i] = unknown_question_id(qs, qids[i], {"file": cols.file, "line": i + 1})
        else:
            left.append(i)
    return left


def _labels(metric: PopeMetric, cols: RecordColumns, todo: list[int], out: ColumnScores
            ) -> list[int]:
    """Each line's label (``out.labels``), after the question check; the lines still to score."""
    qs, left = metric.questions, []
    own = cols.labels or [None] * cols.n
    out.labels = [None] * cols.n
    prompts = cols.prompts or [None] * cols.n
    for i in todo:
        q = out.questions[i]
        label = own[i]
        if q is not None:
            why = asks_otherwise(qs, q, prompts[i], out.mode) if metric.check_questions else None
            if why is not None:
                out.errors[i] = RecordError(why, field="question", file=cols.file, line=i + 1)
                continue
            ql = qs.labels[q]
            if ql is not None:
                if label is not None and label != ql:
                    out.errors[i] = label_conflict(label, qs.ids[q], ql,
                                                   {"file": cols.file, "line": i + 1})
                    continue
                label = ql
        if label is None:
            out.errors[i] = no_label({"file": cols.file, "line": i + 1})
            continue
        out.labels[i] = label
        left.append(i)
    return left


@dataclass
class _Block:
    """The scored lines' groups and units as codes: what :meth:`Metric.add_block` takes."""

    signature_of_row: np.ndarray        # row -> index into signatures (a tuple of groups)
    signatures: list[tuple[str, ...]]
    unit_of_row: np.ndarray             # row -> index into units
    units: list[str]

    def members(self) -> dict[str, np.ndarray]:
        """Each group's rows, ascending."""
        rows: dict[str, list[np.ndarray]] = {}
        for code, groups in enumerate(self.signatures):
            where = np.flatnonzero(self.signature_of_row == code)
            for g in groups:
                rows.setdefault(g, []).append(where)
        return {g: parts[0] if len(parts) == 1 else np.sort(np.concatenate(parts))
                for g, parts in rows.items()}


def _groups(split: str | None, qtext: str | None) -> tuple[str, ...]:
    """The groups POPE gives an answer: its split and the object it asks about."""
    obj = object_of(qtext)
    return tuple(g for g in (split and f"split:{split}", obj and f"object:{obj}") if g)


def _groups_and_units(metric: PopeMetric, cols: RecordColumns, ok: list[int],
                      out: ColumnScores) -> _Block:
    """Each scored line's groups and resampling unit, as :meth:`Metric.add` gives them."""
    qs = metric.questions
    n = cols.n
    prompts = cols.prompts or [None] * n
    by = [(name, values) for name in metric.by if (values := cols.column(name)) is not None]
    default = metric.cluster_by == CLUSTER_DEFAULT
    own: dict[tuple[str | None, str | None], tuple[str, ...]] = {}
    signatures: dict[tuple[str, ...], int] = {}
    units: dict[str | None, int] = {}
    signature_of_row = np.empty(len(ok), dtype=np.intp)
    unit_of_row = np.empty(len(ok), dtype=np.intp)
    out.groups, out.units = [()] * n, [None] * n
    for j, i in enumerate(ok):
        q = out.questions[i]
        if q is None:
            key, image = (None, prompts[i]), None
        else:
            key, image = (qs.splits[q], qs.texts[q] or prompts[i]), qs.images[q]
        groups = own.get(key)
        if groups is None:
            groups = own[key] = _groups(*key)
        unit = f"image:{image}" if image and default else unit_of(cols.record(i),
                                                                   metric.cluster_by)
        if by:
            groups = groups + tuple(g for name, values in by if values[i] not in (None, "")
                                    and (g := f"{name}:{values[i]}") not in groups)
        out.groups[i], out.units[i] = groups, unit
        signature_of_row[j] = signatures.setdefault(groups, len(signatures))
        unit_of_row[j] = units.setdefault(unit, len(units))
    return _Block(signature_of_row, list(signatures), unit_of_row, list(units))


def score_columns(metric: PopeMetric, cols: RecordColumns, *, every_line: bool = False
                  ) -> ColumnScores:
    """Score every yes/no line of ``cols`` (``every_line``: every line, whatever its task) and
    fold the scored ones into ``metric`` in one block: what :meth:`PopeMetric.update` line by
    line would do, errors and bookkeeping included."""
    qs = metric.questions
    mode = "label" if qs is None else metric._mode_for(cols.question_ids is not None)
    out = ColumnScores(cols, qs, metric.parser.name, mode, ["skip"] * cols.n)
    todo = [i for i, task in enumerate(cols.tasks) if every_line or task == "yes-no"]
    if len(todo) < cols.n:
        reasons: dict[str, str] = {}
        for i, task in enumerate(cols.tasks):
            if task != "yes-no":
                if task not in reasons:
                    reasons[task] = metric.skip_reason(cols.record(i))
                out.skips[i] = reasons[task]
    ok = _labels(metric, cols, _align(metric, cols, todo, out), out)
    for i in todo:
        out.outcome[i] = "error"
    parse, memo = metric.parser, {}
    out.predictions = [None] * cols.n
    codes = np.empty(len(ok), dtype=np.intp)
    for j, i in enumerate(ok):
        text = cols.responses[i]
        prediction = memo.get(text)
        if prediction is None:
            prediction = memo[text] = parse(text)
        out.predictions[i] = prediction
        out.outcome[i] = "ok"
        codes[j] = out.codes[i] = ROW[(prediction, out.labels[i])]
    block = _groups_and_units(metric, cols, ok, out)
    out.rows = np.eye(len(ROW))[codes]
    _fold(metric, cols, ok, out, block)
    return out


def _fold(metric: PopeMetric, cols: RecordColumns, ok: list[int], out: ColumnScores,
          block: _Block) -> None:
    """Fold the scored lines into the metric's state and its alignment bookkeeping."""
    metric.add_block(out.rows, block.unit_of_row, block.units, block.members())
    metric._used[out.mode] = metric._used.get(out.mode, 0) + len(ok)
    if metric.questions is not None and ok:
        seen = (metric._order_seen.setdefault(cols.file, set()) if out.mode == "order"
                else metric._id_seen)
        answered = [out.questions[i] for i in ok]
        new = set(answered) - seen
        metric._repeats += len(answered) - len(new)
        seen |= new
    metric._mismatches += sum(1 for e in out.errors.values() if e.location.field == "question")
