"""POPE (Li et al., 2023): polling-based object probing with yes/no questions.

A model answers "Is there a <object> in the image?" for objects that are present (label yes) and
absent (label no); POPE reports the confusion counts, accuracy, precision, recall, F1 and the share
of yes answers. This module scores answer files against a question file.

Answers to labels. An answer gets its label from the question file (aligned by ``question_id``, or
by line order as the original scorer does), or from a ``label`` field on the answer line itself.
Alignment ``auto`` uses the id where both sides have one, else the line order. By-order alignment
is refused when the answer and question counts differ (:meth:`PopeMetric.begin`): POPE's random
split was published with 2,910 questions (May 2023) and later with 3,000 (Nov 2023), and scoring
one against the other by order silently mis-scores. When the answer line repeats its question,
the text is checked against the question file too, and so are its own label and image; how
the answers covered and matched the file (unanswered questions, answers nothing could check,
the refusal of a wrong question file) is :mod:`halluscope.metrics.pope_coverage`'s.

Answer to prediction. A named parser (:mod:`halluscope.metrics.pope_parsers`) reads each answer as
yes, no or unknown. The ``original`` parser, the default, reproduces RUCAIBox/POPE's
``evaluate.py`` number for number.

Unknown answers. An unknown answer is neither a positive nor a negative prediction:

* accuracy = (TP + TN) / all answers: an unknown answer is wrong;
* precision = TP / (TP + FP): unknown answers are not in the denominator;
* recall = TP / answers labelled yes: an unknown answer to a yes question is a miss;
* F1 = 2PR / (P + R) from those; yes_ratio = yes predictions / all answers;
* unknown_rate = unknown predictions / all answers.

``tp``, ``fp``, ``tn`` and ``fn`` count yes/no predictions only, so with unknown answers they add
up to fewer than the answers. With parsers that never say unknown this is exactly the original.
That is halluscope's treatment; the ``lmms-eval`` parser is scored with lmms-eval's own
definitions instead (unknown answers outside recall's denominator too, yes_ratio the share of yes
labels, 0 where a denominator is 0): each parser names its treatment (``unknowns``).

Judge fallback. With a judge (``AuditConfig.judge``, ``--judge SPEC``), an answer the named
parser maps to ``unknown`` is put to the judge (:mod:`halluscope.metrics.pope_judge`).

Groups: ``split:<name>`` (a ``split`` or ``category`` field of the question or the answer, else
``coco_pope_<name>.json`` in the question file's name) and ``object:<name>`` (from the question
"Is there a <name> in the image?").
"""

from __future__ import annotations

import bisect
import logging
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from halluscope.errors import AlignmentError, ConfigError, RecordError
from halluscope.metrics.base import ItemScore, Metric, MetricOption
from halluscope.metrics.explain import explain_yes_no
from halluscope.metrics.pope_answers import (AnswerFile, answers_counted, first_answer,
                                             score_answers)
from halluscope.metrics.pope_columns import (ROW, asks_otherwise, fold_columns, label_conflict,
                                             no_label, no_question_id, past_the_questions, refused,
                                             image_unit, score_columns, scores_columns, takes,
                                             unknown_question_id)
from halluscope.metrics.pope_build import build_command, build_questions, write_questions
from halluscope.metrics.pope_coverage import (MISMATCH_FIELDS, Answered, conflict_of, coverage,
                                              image_key, image_mismatch)
from halluscope.metrics.pope_parsers import (NO, PARSERS, UNKNOWN, UNKNOWN_TREATMENTS, YES,
                                             AnswerParser, get_parser)
from halluscope.metrics.pope_splits import copies, split_names
from halluscope.metrics.pope_questions import (KNOWN_QUESTION_FILES, Question, QuestionSet,
                                               answer_truth, load_questions,
                                               normalise_question, object_of)
from halluscope.metrics.pope_stats import (COLUMNS, _answers, _f1, _lmms_f1, _lmms_recall,
                                           _precision, _recall, _yes_labels,
                                           _zero_if_undefined, _zero_when_undefined,
                                           MEANINGS, pope_scores, with_reasons)
from halluscope.metrics.stats import DEFAULT_BOOTSTRAP, Statistic, rate, ratio
from halluscope.records import Record, record_from_dict
from halluscope.tables import is_table, table_columns

if TYPE_CHECKING:
    from halluscope.config import AuditConfig

__all__ = ["KNOWN_QUESTION_FILES", "PARSERS", "PopeMetric", "Question", "QuestionSet",
           "build_command", "build_questions", "load_questions", "object_of", "pope_scores",
           "score_answers", "write_questions"]

log = logging.getLogger(__name__)

ALIGN_MODES = ("auto", "id", "order")
#: The source file of records given in memory (``audit(records=...)``: dicts, a DataFrame).
IN_MEMORY = "<records>"


_ONE_HOT = {key: tuple(float(i == col) for i in range(6)) for key, col in ROW.items()}


def _where(record: Record) -> dict[str, Any]:
    return {"file": record.source.file, "line": record.source.line}


class PopeMetric(Metric):
    """POPE scores of yes/no answers.

    Args:
        questions: The question file (path or loaded :class:`QuestionSet`); ``None`` when every
            answer line carries its own ``label``.
        parser: Name of the answer parser (see :data:`PARSERS`), or an :class:`AnswerParser`.
        align: ``auto`` (by question id where the answer and the question file both have one,
            else by line order), ``id`` or ``order``.
        check_questions: Refuse an answer whose own question text differs from the question it is
            aligned with.
        judge: A :class:`~halluscope.judges.judge.Judge` asked about answers the parser maps to
            unknown (see "Judge fallback" in the module docstring).
    """

    name = "pope"
    own_group_fields = ("split", "object")     # its groups beside --by's
    empty_answer = ("read by the --pope-parser rule: original, llava and opera read it as yes, "
                    "as their scorers do; vlmevalkit (either release), lmms-eval, exact and "
                    "strict as unknown")
    headline = ("accuracy", "f1")
    report_view = "yes-no"
    options = (
        MetricOption("questions", Path, None, "question file the answers are aligned with "
                     "(none: every answer carries its own label)", config_field=True),
        MetricOption("pope_parser", str, "original", "yes/no answer parser (listed below)",
                     config_field=True, choices=tuple(PARSERS)),
        MetricOption("pope_align", str, "auto", "align answers to questions by id, by order, "
                     "or auto", config_field=True, choices=("auto", "id", "order")),
        MetricOption("judge", str, None, "judge asked about answers the parser reads as "
                     "unknown", config_field=True),
    )
    columns, meanings = COLUMNS, MEANINGS
    statistics = with_reasons({      # (each says why it has no value, when it has none)
        "tp": Statistic(lambda s: s["tp"], higher_is_better=True, count=True),
        "fp": Statistic(lambda s: s["fp"], count=True),
        "tn": Statistic(lambda s: s["tn"], higher_is_better=True, count=True),
        "fn": Statistic(lambda s: s["fn"], count=True),
        "accuracy": rate(lambda s: ratio(s["tp"] + s["tn"], _answers(s)),
                         higher_is_better=True, proportion=True),
        # n: the answers a ratio is over (ten needed for an interval, as everywhere)
        "precision": rate(_precision, higher_is_better=True, units=("tp", "fp"),
                          proportion=True),
        "recall": rate(_recall, higher_is_better=True, units=("tp", "fn", "unknown_yes"),
                       proportion=True),
        "f1": rate(_f1, higher_is_better=True, units=("tp", "fp", "fn", "unknown_yes")),
        # no better direction: 0.5 is ideal on POPE's balanced splits
        "yes_ratio": rate(lambda s: ratio(s["tp"] + s["fp"], _answers(s)), direction=False,
                          proportion=True),
        "unknown_rate": rate(lambda s: ratio(s["unknown_yes"] + s["unknown_no"],
                                             _answers(s)), proportion=True),
    })

    #: lmms-eval's metric definitions (``pope_aggregate_*`` in its ``tasks/pope/utils.py``),
    #: used for parsers whose ``unknowns`` is ``lmms-eval``.
    lmms_eval_statistics = {
        **statistics,
        "accuracy": rate(lambda s: _zero_if_undefined(ratio(s["tp"] + s["tn"], _answers(s))),
                         higher_is_better=True, proportion=True),
        "precision": rate(lambda s: _zero_if_undefined(_precision(s)), higher_is_better=True,
                          units=("tp", "fp"), proportion=True),
        "recall": rate(_lmms_recall, higher_is_better=True, units=("tp", "fn"), proportion=True),
        "f1": rate(_lmms_f1, higher_is_better=True, units=("tp", "fp", "fn")),
        "yes_ratio": rate(lambda s: _zero_if_undefined(ratio(_yes_labels(s), _answers(s))),
                          direction=False, proportion=True),
    }
    #: VLMEvalKit's (``POPE_rating``'s ``cal_f1_score``): halluscope's, an undefined ratio 0.
    vlmevalkit_statistics = _zero_when_undefined(statistics)
    compare_truth = staticmethod(answer_truth)      # compare: the same label and object

    @classmethod
    def statistics_for(cls, info: Mapping[str, Any]) -> dict[str, Statistic] | None:
        """The definitions of the treatment of unknowns a run's parser names."""
        return {"lmms-eval": cls.lmms_eval_statistics, "vlmevalkit": cls.vlmevalkit_statistics
                }.get(info.get("unknowns"), cls.statistics)

    def __init__(self, questions: str | Path | QuestionSet | None = None, *,
                 parser: str | AnswerParser = "original", align: str = "auto",
                 check_questions: bool = True, n_boot: int = DEFAULT_BOOTSTRAP, seed: int = 0,
                 confidence: float = 0.95, judge: Any = None):
        self.judge = judge
        self._judge_info: dict[str, Any] | None = None
        if align not in ALIGN_MODES:
            raise ConfigError(f"expected POPE alignment auto, id or order, got {align!r}")
        self.parser = get_parser(parser)
        if self.parser.unknowns not in UNKNOWN_TREATMENTS:
            raise ConfigError(f"parser {self.parser.name!r}: expected unknowns to be one of "
                              f"{', '.join(UNKNOWN_TREATMENTS)}, got {self.parser.unknowns!r}")
        self.statistics = self.statistics_for({"unknowns": self.parser.unknowns})
        self.align = align
        self.check_questions = check_questions
        if questions is None or isinstance(questions, QuestionSet):
            self.questions = questions
        else:
            self.questions = load_questions(questions)
        self._files: dict[str, AnswerFile] = {}
        self._resolved: dict[str, str] = {}
        super().__init__(n_boot=n_boot, seed=seed, confidence=confidence)

    @classmethod
    def from_config(cls, config: AuditConfig, **kw) -> PopeMetric:
        """Build the metric from an :class:`~halluscope.config.AuditConfig` (``kw`` wins)."""
        args: dict[str, Any] = {"questions": config.questions, "parser": config.pope_parser,
                                "align": config.pope_align, "n_boot": config.n_boot,
                                "seed": config.seed, "confidence": config.confidence}
        args.update(kw)
        if "judge" not in args and config.judge:
            from halluscope.judges.loading import judge_from_config
            args["judge"] = judge_from_config(config)
        return cls(**args)

    infer_rank = 10

    @classmethod
    def fits(cls, sample, config) -> bool:
        """Inferred for yes/no questions."""
        return "yes-no" in sample.tasks

    @classmethod
    def listing(cls) -> list[str]:
        """The answer parsers (and how each scores unknown answers) and the treatments."""
        from halluscope.metrics.pope_parsers import describe_parsers
        return describe_parsers()

    @classmethod
    def explain_item(cls, item: dict, statistic: str, group: str | None):
        """A wrong answer; false positives (a yes for an absent object) first."""
        return explain_yes_no(item, cls.name, statistic, group)

    # -- state ----------------------------------------------------------------------------------
    def reset(self) -> None:
        super().reset()
        self._used: dict[str, int] = {}            # alignment mode -> answers aligned that way
        self._order_seen: dict[str | None, Answered] = {}
        self._id_seen = Answered()              # (question indices, one flag each)
        self._repeats = 0
        self._conflicts = dict.fromkeys(MISMATCH_FIELDS, 0)   # answers unlike their question
        self._unchecked = 0        # answers aligned by id with nothing to check them by
        self._coverage: dict[str, Any] = {}
        self._judged = {"asked": 0, "resolved": 0}
        self._split_copies = 0                     # extra rows of answers in several splits

    def merge(self, other: Metric) -> None:
        super().merge(other)
        if isinstance(other, PopeMetric):
            for mode, n in other._used.items():
                self._used[mode] = self._used.get(mode, 0) + n
            for f, seen in other._order_seen.items():
                self._order_seen.setdefault(f, Answered()).update(seen)
            self._repeats += other._repeats + len(self._id_seen & other._id_seen)
            for k, n in other._conflicts.items():
                self._conflicts[k] += n
            self._unchecked += other._unchecked
            self._split_copies += other._split_copies
            self._id_seen |= other._id_seen
            for k, n in other._judged.items():
                self._judged[k] += n

    def applies_to(self, record: Record) -> bool:
        """A POPE answer, whatever its prompt's wording (:func:`.pope_columns.takes`)."""
        return takes(self, record)

    def refusal(self, record: Record) -> RecordError | None:
        """A POPE answer passed by that it cannot score (:func:`.pope_columns.refused`)."""
        return refused(self, record)

    def skip_reason(self, record: Record) -> str:
        return f"not a yes/no question ({record.task} record)"

    # -- alignment ------------------------------------------------------------------------------
    def _file_info(self, file: str | None, *, scan: bool = False) -> AnswerFile | None:
        """What :meth:`begin` learned about ``file``; with ``scan``, a file it did not look at
        (its first line is not a readable answer) is looked at now, as aligned by order (its
        blank lines and its count are the reader's, never guessed)."""
        if file is None:
            return None
        info = self._files.get(file)
        if info is None:    # (a file begin did not note: resolved once, not for every line)
            resolved = self._resolved.get(file)
            if resolved is None:
                resolved = self._resolved[file] = str(Path(file).resolve())
            info = self._files.get(resolved)
        if info is None and scan:
            info = self._files[file] = AnswerFile(
                file, True, table=is_table(file))
        return info

    def _mode_for(self, has_question_id: bool) -> str:
        if self.align != "auto":
            return self.align
        return "id" if has_question_id and self.questions is not None \
            and self.questions.has_ids else "order"

    def begin(self, inputs: Iterable[str | Path]) -> None:
        """Note how each answer file aligns (by its first answer, or a table's columns) and
        refuse a by-order alignment whose answer count differs from the question count."""
        if self.questions is None:
            return
        n_questions = len(self.questions)
        for path in inputs:
            path = Path(path)
            info = self._look_at(path)
            if info is None:
                continue
            self._files[str(path)] = info
            self._files[str(path.resolve())] = info
            if info.by_order and (n_answers := info.n_answers) not in (None, n_questions):
                raise AlignmentError(
                    f"answers file {path} has {answers_counted(path, n_answers)} but "
                    f"question file {self.questions.path} "
                    f"({self.questions.label_for_messages()}) has {n_questions:,}: aligning "
                    f"by order would mis-score; pass the matching question file or answers "
                    f"with question_id")

    def begin_records(self, n: int) -> None:
        """``n`` records given in memory, aligned by order when asked (``pope_align="order"``):
        record N answers question N. Counted here: the reader counted the lines of a file
        named "<records>", which is none, and refused every such audit for its "0 answers"."""
        if self.questions is not None and self.align == "order":
            self._files[IN_MEMORY] = AnswerFile(IN_MEMORY, True, (n, []))
            self._check_count(IN_MEMORY, self._files[IN_MEMORY], set(), len(self.questions))

    def _look_at(self, path: Path) -> AnswerFile | None:
        """How the answer file ``path`` aligns; ``None`` for a file that is not one (captions
        for CHAIR, ...) or whose first answer cannot be read."""
        if is_table(path):
            # rows the table reader reads: a question_id column means answers by id
            columns = table_columns(path)
            if columns is None:
                return None
            mode = self._mode_for("question_id" in columns)
            return AnswerFile(str(path), mode == "order", by_id=mode == "id", table=True)
        head = first_answer(path)
        if head is None:
            return None
        first, scan = head
        try:
            rec = record_from_dict(first, file=str(path), line=1, require_response=False)
        except RecordError:
            return None
        if not self.applies_to(rec):
            return None
        mode = self._mode_for(rec.question_id is not None)
        # (a file of answers alone aligns by order only when asked: else each is refused)
        by_order = mode == "order" and not (
            self.align == "auto" and rec.task == "caption" and rec.question_id is None)
        return AnswerFile(str(path), by_order, scan, by_id=mode == "id")

    def _ordinal(self, record: Record) -> int:
        if record.source.index is not None:
            return record.source.index - 1     # a JSON array's element, a table's row
        line = record.source.line
        if line is None:
            raise AlignmentError(f"cannot align answer {record.id!r} by order: it has no line "
                                 f"number; pass answers with question_id")
        info = self._file_info(record.source.file, scan=True)
        blanks = info.blank_lines if info else ()
        return line - 1 - bisect.bisect_left(blanks, line)

    def _align(self, record: Record) -> tuple[Question | None, str, int | None]:
        """(question, mode, index in the question file) for one answer."""
        qs = self.questions
        if qs is None:
            return None, "label", None
        mode = self._mode_for(record.question_id is not None)
        where = _where(record)
        info = self._file_info(record.source.file)
        alone = record.task == "caption" and record.question_id is None
        if mode == "order" and info is not None and info.by_id:
            # the file's answers align by id: by its position this one would be a guess
            raise no_question_id(where, alone=alone, by_id=True)
        if mode == "order" and self.align == "auto" and (
                alone or record.source.file == IN_MEMORY and info is None
                or info is not None and not info.by_order and info.n_answers != len(qs)):
            # by order it would mis-align, or nothing in the line could check it, or it is a
            # record in memory (no file whose lines begin() counted: its place in a list is
            # no line of the question file): a bad line
            raise no_question_id(where, alone=alone)
        if mode == "id":
            if record.question_id is None:
                raise no_question_id(where, alone=alone)
            index = qs.by_id.get(record.question_id)
            if index is None:
                raise unknown_question_id(qs, record.question_id, where)
        else:
            index = self._ordinal(record)
            if index >= len(qs):
                raise past_the_questions(qs, index, where)
        if self.check_questions:
            why = asks_otherwise(qs, index, record.prompt, mode)
            if why is not None:
                raise RecordError(why, field="question", **where)
            other = image_mismatch(qs, index, record.image, mode, where, record.image_id)
            if other is not None:
                raise other
        return qs.question(index), mode, index

    # -- scoring --------------------------------------------------------------------------------
    def _read(self, record: Record) -> tuple[Question | None, str, int | None, str, str,
                                               str | None]:
        """(question, alignment mode, index, label, the parser's prediction, the question's
        text) of an answer: all that scoring it finds before any judge is asked (pure)."""
        if record.response is None:
            raise RecordError("expected the model's answer, found none", field="response",
                              **_where(record))
        question, mode, index = self._align(record)
        label = record.label
        if question is not None and question.label is not None:
            if label is not None and label != question.label:
                raise label_conflict(label, question.question_id, question.label,
                                     _where(record))
            label = question.label
        if label is None:
            raise no_label(_where(record))
        qtext = question.text if question is not None and question.text else record.prompt
        return question, mode, index, label, self.parser(record.response), qtext

    def ask_judge_ahead(self, records: list[Record]) -> Any:
        """Ask the judge about the answers of ``records`` it will be asked about, together
        (:func:`halluscope.metrics.pope_judge.ask_judge_ahead`); the judge asked."""
        from halluscope.metrics.pope_judge import ask_judge_ahead
        return ask_judge_ahead(self, records)

    def _score(self, record: Record) -> tuple[ItemScore, str, int | None]:
        question, mode, index, label, prediction, qtext = self._read(record)
        judged = None
        if prediction == UNKNOWN and self.judge is not None:
            from halluscope.metrics.pope_judge import judge_answer
            judged = judge_answer(self, record, qtext)
            if judged.label in (YES, NO):
                prediction = judged.label
        row = _ONE_HOT[(prediction, label)]

        split = question.split if question is not None else None
        splits = [split] if split else []
        if split is None:
            meta = record.metadata
            value = meta.get("split", meta.get("category"))
            splits = split_names(str(value).lower() if value else None,
                                 self.parser.explodes_categories)
        notes = {}
        if len(splits) > 1:         # counted once per split, overall too (pope_splits)
            notes["splits"] = splits
            row = tuple(v * len(splits) for v in row)
        groups = list(dict.fromkeys(f"split:{s}" for s in splits if s))
        obj = object_of(qtext)
        if obj:
            groups.append(f"object:{obj}")
        qid = question.question_id if question is not None else None
        payload = {"prediction": prediction, "label": label,
                   "question_id": qid if qid is not None else record.question_id,
                   "question": qtext, "parser": self.parser.name}
        if judged is not None:
            payload.update(judged=True, judge_label=judged.label, judge_raw=judged.raw)
            if judged.error:
                payload["judge_error"] = judged.error
        # the image the question is about is the resampling unit (answer files often carry no
        # image: the six questions of an image are not independent)
        unit = image_unit(question.image) if question is not None and question.image else None
        return (ItemScore(payload=payload, row=row, groups=tuple(groups), unit=unit,
                          notes=notes), mode, index)

    def score(self, record: Record) -> ItemScore:
        item, mode, index = self._score(record)
        item.notes.update(mode=mode, index=index)
        return item

    def fold_error(self, record: Record, error: Exception) -> None:
        super().fold_error(record, error)
        field = conflict_of(error)
        if field is not None:
            self._conflicts[field] += 1

    def update(self, record: Record) -> ItemScore:
        try:
            item = self.score(record)
        except RecordError as exc:
            self.fold_error(record, exc)
            raise
        self.fold(record, item)
        return item

    def fold(self, record: Record, item: ItemScore) -> None:
        """Fold the item (an answer listed in several splits: one copy per split,
        :mod:`~halluscope.metrics.pope_splits`) and keep the alignment bookkeeping (modes,
        repeats, judged answers)."""
        if "splits" in item.notes:
            one_hot = _ONE_HOT[(item.payload["prediction"], item.payload["label"])]
            for part in copies(item, one_hot):
                self.add(part, record=record)
            item.unit = part.unit      # and the groups add() gave it (--by)
            item.groups += tuple(g for g in part.groups if g not in item.groups
                                 and not g.startswith("split:"))
            self._split_copies += len(item.notes["splits"]) - 1
        else:
            self.add(item, record=record)
        mode, index = item.notes["mode"], item.notes["index"]
        if item.payload.get("judged"):
            self._judged["asked"] += 1
            self._judged["resolved"] += item.payload["judge_label"] in (YES, NO)
        self._used[mode] = self._used.get(mode, 0) + 1
        self._unchecked += mode == "id" and not record.prompt and record.label is None and \
            record.image_id is None and image_key(record.image) is None
        if index is not None:
            if mode == "order":
                seen = self._order_seen.setdefault(record.source.file, Answered())
            else:
                seen = self._id_seen
            if index in seen:
                self._repeats += 1
            seen.add(index)

    def finish(self) -> None:
        """Check that by-order alignment consumed exactly all questions; release the judge."""
        if self.judge is not None and self._judge_info is None:
            from halluscope.judges.fallback import judge_info
            self._judge_info = judge_info(self.judge, "classify_yes_no")
            self.judge.close()
        if self.questions is None:
            return
        n = len(self.questions)
        for file, seen in self._order_seen.items():
            info = self._file_info(file, scan=True)
            self._check_count(file, info, seen, n)
            if len(seen) < n and len(self._order_seen) > 1:
                log.warning("%s: %d of %d questions got no scorable answer (bad lines are "
                            "reported as errors)", file, n - len(seen), n)
        if self._repeats:
            log.warning("pope: %d answers repeat a question already answered", self._repeats)
        if self._conflicts["question"]:
            log.warning("pope: %d answers ask a different question than the question file says "
                        "for them (%s): is it the right question file?",
                        self._conflicts["question"], self.questions.label_for_messages())
        self._coverage, warnings = coverage(self)
        for line in warnings:
            log.warning("%s", line)

    def _check_count(self, file: str, info: AnswerFile | None, seen: Answered, n: int) -> None:
        """Refuse a file aligned by order whose answers are not as many as the questions (a
        table's rows are the table reader's: its last row aligned by order is what is known)."""
        n_answers = info.n_answers if info is not None else None
        where = f"question file {self.questions.path} ({self.questions.label_for_messages()})"
        if n_answers is None and seen and max(seen) + 1 < n:
            raise AlignmentError(
                f"answers table {file}: its last answer aligned by order is row "
                f"{max(seen) + 1:,} (rows after it, if any, were bad records) but {where} has "
                f"{n:,} questions: aligning by order would mis-score; pass the matching "
                f"question file or answers with question_id")
        if n_answers is not None and n_answers != n:
            said = f"{n_answers:,} records given in memory" if file == IN_MEMORY else \
                f"answers file {file} has {answers_counted(file, n_answers)}"
            raise AlignmentError(
                f"{said} but {where} "
                f"has {n:,}: aligning by order would mis-score; pass the matching question "
                f"file or answers with question_id")

    def scores_columns(self) -> bool:
        return scores_columns(self)

    def score_columns(self, cols: Any, fold: bool = True) -> Any:
        """A flat answer file scored as columns (:mod:`halluscope.metrics.pope_columns`)."""
        return score_columns(self, cols, fold=fold)

    def fold_columns(self, cols: Any, scores: Any) -> None:
        fold_columns(self, cols, scores)

    def columns_beside_lines(self, cols: Any) -> bool:
        """Whether a file's columns ``cols`` may be scored as columns while other lines of it
        (bad ones) are scored line by line: yes, by id, by label and by order alike (a line's
        place counts the blank lines before it, and the file's first answer says how it
        aligns, on both paths: :func:`.pope_columns._by_order`)."""
        return True

    def describe(self) -> dict[str, Any]:
        info: dict[str, Any] = {
            "parser": self.parser.name,
            "parser_description": self.parser.description,
            "align": self.align,
            "aligned_by": dict(sorted(self._used.items())),
            "unknowns": self.parser.unknowns,
            "unknown_answers": UNKNOWN_TREATMENTS[self.parser.unknowns],
        }
        if self.parser.alias_of:
            info["parser_alias_of"] = self.parser.alias_of
        info["questions"] = self.questions.describe() if self.questions is not None else None
        if self._repeats:
            info["repeated_answers"] = self._repeats
        info.update(self._coverage)
        for key, field in (("question_mismatches", "question"), ("image_mismatches", "image"),
                           ("label_conflicts", "label")):
            if self._conflicts[field]:
                info[key] = self._conflicts[field]
        if self._split_copies:
            info["rows_added_for_several_splits"] = self._split_copies
        if self.judge is not None:
            from halluscope.judges.fallback import judge_info
            info.update(self._judge_info or judge_info(self.judge, "classify_yes_no"))
            info["judge_answers"] = dict(self._judged)
        return info


