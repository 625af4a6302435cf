"""POPE's judge fallback: answers no rule reads, put to a judge.

With a judge (``AuditConfig.judge``, ``--judge SPEC``), an answer the named parser maps to
``unknown`` is put to the judge's ``classify_yes_no`` prompt with its question; a ``yes`` or
``no`` from the judge becomes the prediction; the judge's own ``unknown`` or an answer its
parser cannot read leaves it unknown. A failed call (the judge unreachable, every retry spent)
is no reading at all: the record is left out of POPE (a bad record for it, with the call's
error, counted by cause), neither a wrong nor a right answer; when every record is, POPE scored
nothing and the audit exits 2. The item's payload then has ``"judged": true``, ``judge_label``
and ``judge_raw`` (the judge's raw answer); answers the parser read are never sent. ``parser``
in the payload and the run sheet stays the rule's name, and the run sheet's ``metrics.pope``
adds ``judge`` (spec, pin, template sha256s, reported model names, mismatch flag),
``judge_reliability`` and ``judge_answers`` (asked, resolved to yes/no). This is VLMEvalKit's
"rules first, then an LLM" order; with the ``original`` parser no answer is ever unknown, so
the judge is never asked.

The questions of a batch of records (an engine's chunk) are asked ahead, concurrently, up to
``judge_max_connections`` in flight (:func:`ask_judge_ahead`, :mod:`halluscope.metrics.
judge_ahead`); each record still takes its answer in turn, so the items, numbers, judge counters
and cache entries are those of one call at a time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from halluscope.errors import RecordError
from halluscope.metrics.pope_parsers import UNKNOWN
from halluscope.records import Record

if TYPE_CHECKING:
    from halluscope.metrics.pope import PopeMetric


def judge_answer(metric: PopeMetric, record: Record, question: str | None) -> Any:
    """The judge's reading of the answer of ``record`` (a
    :class:`~halluscope.judges.judge.JudgeAnswer`); a call that failed is no reading at all:
    the record's error."""
    from halluscope.judges.fallback import judge_yes_no
    judged = judge_yes_no(metric.judge, record, question)
    if judged.raw is None and judged.error:     # the call failed: no reading at all
        raise RecordError(f"the judge could not be asked about this answer, which the "
                          f"{metric.parser.name} parser reads as unknown ({judged.error}); "
                          f"it is left out rather than scored as a wrong answer",
                          field="response", file=record.source.file, line=record.source.line)
    return judged


def ask_judge_ahead(metric: PopeMetric, records: list[Record]) -> Any:
    """Ask the judge, together, about the answers of ``records`` that scoring will put to it
    (those aligned and labelled that the parser reads as unknown; none for a bad record,
    which scoring reports and asks nothing for); the judge asked, or None without one."""
    from halluscope.judges.fallback import yes_no_question
    from halluscope.metrics.judge_ahead import asker
    ask = asker(metric.judge) if metric.judge is not None else None
    if ask is None:
        return None
    questions = []
    for record in records:
        try:        # what scoring finds before the judge is asked, in its order
            *_, prediction, qtext = metric._read(record)
        except Exception:       # a bad record: scoring says so, and asks nothing
            continue
        if prediction == UNKNOWN:
            questions.append(yes_no_question(record, qtext))
    ask(questions)
    return metric.judge


__all__ = ["ask_judge_ahead", "judge_answer"]
