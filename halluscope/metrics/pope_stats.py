"""POPE's numbers: the statistics of the confusion counts (halluscope's, lmms-eval's and
VLMEvalKit's definitions; see :mod:`halluscope.metrics.pope`) and the pure-function twin
:func:`pope_scores` that computes them from predictions and labels."""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from halluscope.errors import AlignmentError, ConfigError
from halluscope.metrics.pope_columns import ROW
from halluscope.metrics.pope_parsers import UNKNOWN_TREATMENTS
from halluscope.metrics.stats import rate, ratio

#: The confusion counts (the metric's columns), in :data:`ROW`'s order.
COLUMNS = ("tp", "fp", "tn", "fn", "unknown_yes", "unknown_no")


def _answers(s):
    return s["tp"] + s["fp"] + s["tn"] + s["fn"] + s["unknown_yes"] + s["unknown_no"]


def _precision(s):
    return ratio(s["tp"], s["tp"] + s["fp"])


def _recall(s):
    return ratio(s["tp"], s["tp"] + s["fn"] + s["unknown_yes"])


def _f1(s):
    p, r = _precision(s), _recall(s)
    return ratio(2 * p * r, p + r)  # the original's formula, so that values match to the bit


def _zero_if_undefined(x):
    return np.nan_to_num(x, nan=0.0)  # lmms-eval: "... if denominator > 0 else 0"


def _lmms_recall(s):
    return _zero_if_undefined(ratio(s["tp"], s["tp"] + s["fn"]))  # unknowns left out


def _lmms_f1(s):
    p, r = _zero_if_undefined(_precision(s)), _lmms_recall(s)
    return _zero_if_undefined(ratio(2 * (p * r), p + r))


def _zero_when_undefined(stats: dict) -> dict:
    """VLMEvalKit's definitions: a precision, recall or F1 with a zero denominator is 0."""
    return {**stats, **{k: rate(lambda s, f=stats[k].fn: _zero_if_undefined(f(s)),
                                higher_is_better=True, units=stats[k].units,
                                proportion=stats[k].proportion)
                        for k in ("precision", "recall", "f1")}}


def _yes_labels(s):
    return s["tp"] + s["fn"] + s["unknown_yes"]


def _n(x) -> int:
    return int(round(float(np.sum(x))))


#: What a POPE statistic with no answer scored says (every formula divides by nothing).
_NOTHING = "has nothing to divide by: no answer was scored"


def _why_precision(s) -> str | None:
    if _n(s["tp"] + s["fp"]):
        return None
    answers, unknown = _n(_answers(s)), _n(s["unknown_yes"] + s["unknown_no"])
    if not answers:
        return f"precision = TP/(TP+FP) {_NOTHING}"
    return (f'precision = TP/(TP+FP) has no positive predictions (0 of the {answers} scored '
            "answers read as yes" + (f"; {unknown} as neither" if unknown else "") + ")")


def _why_recall(s) -> str | None:
    if _n(_yes_labels(s)):
        return None
    answers = _n(_answers(s))
    if not answers:
        return f"recall = TP/(TP+FN) {_NOTHING}"
    return (f"recall = TP/(TP+FN) has no positive ground truth (0 of the {answers} scored "
            "questions labelled yes)")


def _why_f1(s) -> str | None:
    """Why F1 = 2PR/(P+R) has no value: precision or recall has none, or both are 0 (no true
    positive), where the original's formula divides 0 by 0."""
    if not _n(_answers(s)):
        return f"f1 = 2PR/(P+R) {_NOTHING}"
    missing = [why for why in (_why_precision(s), _why_recall(s)) if why]
    if missing:
        return f"f1 = 2PR/(P+R) has no value because {' and '.join(missing)}"
    if _n(s["tp"]):
        return None
    return (f"f1 = 2PR/(P+R) is 0/0: precision and recall are both 0 (no true positive among "
            f'the {_n(s["tp"] + s["fp"])} yes answers and the {_n(_yes_labels(s))} '
            "questions labelled yes)")


def _over_answers(formula: str):
    """Why a statistic over all answers (accuracy, yes_ratio, unknown_rate) has no value."""
    return lambda s: None if _n(_answers(s)) else f"{formula} {_NOTHING}"


_WHY_NONE = {"precision": _why_precision, "recall": _why_recall, "f1": _why_f1,
             "accuracy": _over_answers("accuracy = (TP+TN)/answers"),
             "yes_ratio": _over_answers("yes_ratio = yes answers/answers"),
             "unknown_rate": _over_answers("unknown_rate = unknown answers/answers")}


def with_reasons(stats: dict) -> dict:
    """POPE's statistics, each saying why it has no value as its formula sees it: precision
    with no "yes" answer, recall with no question labelled "yes", F1 with either or with no
    true positive, a share of answers with no answer scored."""
    return {k: dataclasses.replace(v, why_none=_WHY_NONE[k]) if k in _WHY_NONE else v
            for k, v in stats.items()}


def pope_scores(predictions: Sequence[str], labels: Sequence[str],
                unknowns: str = "halluscope") -> dict[str, Any]:
    """POPE numbers from parsed predictions (``yes``/``no``/``unknown``) and labels.

    Counts and formulas are the original scorer's (unknown answers as in the module docstring);
    an undefined ratio is NaN (``unknowns="vlmevalkit"``: 0 for precision, recall and F1, as
    VLMEvalKit). With ``unknowns="lmms-eval"`` the numbers are lmms-eval's: unknown
    answers are outside recall's denominator, yes_ratio is the share of yes labels and an
    undefined ratio is 0.
    """
    if unknowns not in UNKNOWN_TREATMENTS:
        raise ConfigError(f"expected unknowns to be one of {', '.join(UNKNOWN_TREATMENTS)}, "
                          f"got {unknowns!r}")
    if len(predictions) != len(labels):
        raise AlignmentError(f"expected as many predictions as labels, got {len(predictions)} "
                             f"and {len(labels)}")
    counts = dict.fromkeys(COLUMNS, 0)
    for (p, y), n in Counter(zip(predictions, labels)).items():
        key = ROW.get((p, y))
        if key is None:
            i = next(i for i, pair in enumerate(zip(predictions, labels)) if pair == (p, y))
            raise ValueError(f"item {i}: expected prediction yes/no/unknown and label yes/no, "
                             f"got {p!r} and {y!r}")
        counts[COLUMNS[key]] += n
    tp, fp, tn, fn = counts["tp"], counts["fp"], counts["tn"], counts["fn"]
    n = len(labels)

    def div(a, b):
        return a / b if b else math.nan

    precision = div(float(tp), float(tp + fp))
    recall = div(float(tp), float(tp + fn + counts["unknown_yes"]))
    f1 = div(2 * precision * recall, precision + recall) \
        if not (math.isnan(precision) or math.isnan(recall)) else math.nan
    yes_ratio = div(tp + fp, n)
    if unknowns == "lmms-eval":
        def or_zero(a, b):  # lmms-eval's "a / b if b > 0 else 0"
            return a / b if b else 0
        precision = or_zero(tp, tp + fp)
        recall = or_zero(tp, tp + fn)
        f1 = or_zero(2 * (precision * recall), precision + recall)
        yes_ratio = or_zero(tp + fn + counts["unknown_yes"], n)
    elif unknowns == "vlmevalkit":
        precision, recall, f1 = (0.0 if math.isnan(v) else v for v in (precision, recall, f1))
    return {"tp": tp, "fp": fp, "tn": tn, "fn": fn,
            "accuracy": div(tp + tn, n), "precision": precision, "recall": recall, "f1": f1,
            "yes_ratio": yes_ratio,
            "unknown_rate": div(counts["unknown_yes"] + counts["unknown_no"], n), "n": n}


#: What each statistic is, in words (report.html shows it beside the name).
MEANINGS = {"tp": "questions about a present object answered yes",
            "fp": "questions about an absent object answered yes: hallucinations",
            "tn": "questions about an absent object answered no",
            "fn": "questions about a present object answered no",
            "accuracy": "share of the answers that are right",
            "precision": "share of the yes answers whose object is present",
            "recall": "share of the questions about a present object answered yes",
            "f1": "harmonic mean of precision and recall",
            "yes_ratio": "share of the answers read as yes, 0.5 on POPE's balanced splits "
                         "(lmms-eval's parser: of the questions labelled yes)",
            "unknown_rate": "share of the answers read as neither yes nor no"}

__all__ = ["COLUMNS", "MEANINGS", "pope_scores", "with_reasons"]
