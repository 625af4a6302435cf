"""POPE's numbers: the statistics of the confusion counts (halluscope's, lmms-eval's and
VLMEvalKit's definitions; see :mod:`halluscope.metrics.pope`) and the pure-function twin
:func:`pope_scores` that computes them from predictions and labels."""

from __future__ import annotations

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


__all__ = ["COLUMNS", "pope_scores"]
