"""HallusionBench's Yes/No bias and per-figure consistency, as evaluation.py's last table
prints them (judged variants: ``original`` and ``refined``).

* ``yes_no_pct_diff`` -- evaluation.py's "Yes/No Bias (Pct Diff)": the share of questions
  read as answered Yes less the share whose truth is Yes, over every decided question (the
  image-less VS ones included). There is no parsed Yes/No: an answer reads as Yes when it is
  right on a Yes question or wrong on a No one, so an unclear answer counts as the opposite of
  the truth (and, on an image-less VS question, where unclear counts as right, as the truth).
  A signed fraction (not a percentage, whatever the name says), printed unrounded.
* ``yes_no_fp_ratio`` -- "Yes/No Bias (FP Ratio)": of the wrong answers, the share whose truth
  is No. Unrounded fraction.
* ``consistency_inconsistent`` / ``consistency_wrong`` -- "Consistency Test (inconsistent /
  wrong)": the share of figures (fAcc's figures, image-less VS rows left out) with some but not
  all / none of their questions right. evaluation.py prints them, and "Consistency Test
  (correct)", which is fAcc itself (the same count over the same figures), in percent rounded
  to 4 places; the three add up to 1. (``refined``'s shares are over its whole, decided
  figures only, where fAcc also counts wrong a figure lacking an answer, or holding an
  unverifiable one, beside a wrong one: one wrong answer does not say whether the figure is
  inconsistent or all wrong. There fAcc and the two shares need not add up to 1.)
* ``figure_score`` -- the "Score" column of evaluation.py's per-figure table (utils.py's
  ``get_eval_fig``): the mean, over fAcc's figures, of the share of each figure's questions
  answered right (a figure with 2 of 3 right adds 2/3). Printed rounded to 4 places, as a
  fraction; higher is better. Over the same figures as the consistency shares (``refined``:
  its whole, decided figures only).

Denominators as utils.py's ``yes_ratio_stats`` / ``get_eval_fig``; a question the judge left
undecided (``refined``'s unverifiable, a failed call) is left out, as from aAcc, with the
figure it belongs to. Where utils.py divides by zero (no question, no wrong answer, no figure)
or cannot read a truth (``int(gt_answer)``), the statistic has no value and ``why_no_value``
says why; never a number made from nothing.

The keyword variants report none of them: VLMEvalKit's ``Hallusion_rating`` gives aAcc, fAcc
and qAcc only, and a number it never prints would be reported under its name.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from halluscope.metrics.draws import block_replicates
from halluscope.metrics.hallusionbench_units import (UNIT_PREFIX, GroupTally, Unit,
                                                     easy_and_hard, group_tallies,
                                                     units_from_items)
from halluscope.metrics.intervals import decide_interval
from halluscope.metrics.stats import (MIN_UNITS, NO_ITEM_COUNTED, MetricResult, Statistic,
                                      rate, ratio)

#: The statistics this module adds, in the order they are reported.
BIAS_STATISTICS = ("yes_no_pct_diff", "yes_no_fp_ratio", "consistency_inconsistent",
                   "consistency_wrong", "figure_score")
# per question set: decided questions, read as Yes, truth Yes, wrong, wrong on a No truth,
# figures counted, inconsistent figures, wrong figures, the figures' shares right summed
_Q, _YES, _TRUE, _WRONG, _WRONG_NO, _F, _F_INC, _F_WRONG, _F_SCORE = range(9)

NO_WRONG = ("no wrong answer: the FP Ratio is the share of the wrong answers whose truth is "
            "No, a share of none (utils.py's yes_ratio_stats divides by zero)")
NO_DECIDED = ("no decided question: the Pct Diff is over the decided questions "
              "(utils.py's yes_ratio_stats divides by zero)")
NO_FIGURE = ("no figure counted: the consistency shares are over fAcc's figures "
             "(evaluation.py divides by zero)")


def truth_of(value: Any) -> bool | None:
    """A row's ``gt_answer`` as utils.py reads it with ``int()``: ``True`` for 1 (Yes),
    ``False`` for 0 (No), ``None`` for anything else (no truth to count)."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):    # (an infinite float: 1e400 in JSON)
        return None
    return {1: True, 0: False}.get(number)


def _counts(units: list[Unit], whole_only: bool) -> tuple[list[str], np.ndarray, float]:
    """Each question set's row of the columns above, and the figures' shares right summed
    one by one in the order the figures first appear, as utils.py's get_eval_fig sums them
    (so figure_score equals its value to the last bit, not only as it prints it)."""
    clusters = sorted({u.cluster for u in units})
    index = {c: i for i, c in enumerate(clusters)}
    counts = np.zeros((len(clusters), 9))
    for u in units:
        if u.correct is None or u.truth is None:
            continue
        row = counts[index[u.cluster]]
        row[_Q] += 1
        row[_YES] += u.correct == u.truth     # right on Yes, or wrong on No
        row[_TRUE] += u.truth
        row[_WRONG] += not u.correct
        row[_WRONG_NO] += not u.correct and not u.truth
    shares = consistency_tallies(units, whole_only)
    score_sum = 0.0
    for key, (_, inconsistent, counted, cluster) in shares["consistency_inconsistent"].items():
        if not counted:
            continue
        score_sum += shares["figure_score"][key][1]
        row = counts[index[cluster]]
        row[_F] += 1
        row[_F_INC] += inconsistent
        row[_F_WRONG] += shares["consistency_wrong"][key][1]
        row[_F_SCORE] += shares["figure_score"][key][1]
    return clusters, counts, score_sum


def consistency_tallies(units: list[Unit], whole_only: bool) -> dict[str, dict[str, GroupTally]]:
    """Each figure's tally for the two consistency shares and ``figure_score``, by its key:
    (whose answers, inconsistent -- some but not all of its questions right -- or all wrong
    (0/1), or the share of its questions right (utils.py's ``v[0] / v[1]``), counted (0/1), its
    question set). Counted as fAcc counts a figure, except that an incomplete one is left out
    even where it holds a wrong answer (:func:`group_tallies` with ``determined=False``). The
    audit sums these; ``compare`` pairs them figure by figure."""
    members: dict[str, list[Unit]] = {}
    for u in units:
        if u.figure is not None:
            members.setdefault(u.figure, []).append(u)
    out: dict[str, dict[str, GroupTally]] = {"consistency_inconsistent": {},
                                             "consistency_wrong": {}, "figure_score": {}}
    for key, (part, _, counted, cluster) in group_tallies(
            units, whole_only, determined=False)[0].items():
        right = sum(bool(u.correct) for u in members[key])
        flags = (0 < right < len(members[key]), right == 0)
        for stat, flag in zip(out, flags):
            out[stat][key] = (part, int(bool(counted and flag)), int(counted), cluster)
        share = right / len(members[key]) if counted else 0.0
        out["figure_score"][key] = (part, share, int(counted), cluster)     # type: ignore
    return out


def _missing_truth(units: list[Unit]) -> str | None:
    lacking = [u for u in units if u.correct is not None and u.truth is None]
    if not lacking:
        return None
    first = f"{lacking[0].cluster}, figure {lacking[0].cell[0]}, question {lacking[0].cell[1]}"
    return (f"{len(lacking)} decided question(s) have no gt_answer 1 (Yes) or 0 (No) (first: "
            f"{first}); utils.py's yes_ratio_stats reads every row's with int()")


def bias_scores(units: list[Unit], n_boot: int = 0, seed: int = 0, confidence: float = 0.95,
                min_units: int = MIN_UNITS, whole_only: bool = True) -> dict[str, MetricResult]:
    """The five statistics of the module docstring over ``units``, with intervals from the
    same cluster bootstrap as aAcc / fAcc / qAcc (each question set's weights drawn from its
    key); a statistic utils.py cannot compute has value ``None`` and ``why_no_value``."""
    clusters, counts, score_sum = _counts(units, whole_only)
    reps = None
    if n_boot and clusters:
        reps = block_replicates(counts, [UNIT_PREFIX + c for c in clusters], n_boot, seed,
                                integers=True)
    total = counts.sum(axis=0)
    no_truth = _missing_truth(units)
    specs = {   # name: (numerator column(s), denominator column, proportion, why none)
        "yes_no_pct_diff": ((_YES, _TRUE), _Q, False, no_truth or (
            NO_DECIDED if units else NO_ITEM_COUNTED)),
        "yes_no_fp_ratio": ((_WRONG_NO,), _WRONG, True, no_truth or (
            NO_WRONG if total[_Q] else NO_DECIDED if units else NO_ITEM_COUNTED)),
        "consistency_inconsistent": ((_F_INC,), _F, True, NO_FIGURE),
        "consistency_wrong": ((_F_WRONG,), _F, True, NO_FIGURE),
        # a mean of shares, not a share of units: the percentile bootstrap's interval
        "figure_score": ((_F_SCORE,), _F, None, NO_FIGURE)}
    out = {}
    for name, (num, den_col, proportion, why) in specs.items():
        den = int(total[den_col])
        better = {"higher_is_better": True} if proportion is None else {"direction": False}
        if not den or (name.startswith("yes_no") and no_truth):
            out[name] = MetricResult(name, None, den, bounds=_bounds(proportion),
                                     why_no_value=why, **better)
            continue
        value = score_sum / den if proportion is None else _value(total, num, den_col)
        over = int((counts[:, den_col] > 0).sum())
        ci = reason = None
        if reps is not None:
            ci, reason = decide_interval(
                den, over, min_units, confidence,
                lambda num=num, den_col=den_col: _value(reps, num, den_col),
                score=(value, over) if proportion else None)
        out[name] = MetricResult(name, value, den, ci=ci, confidence=confidence if ci else None,
                                 bounds=_bounds(proportion), ci_note=reason.note if reason
                                 else None, clusters=over, ci_reason=reason,
                                 ci_method=reason.method if ci is not None and reason else None,
                                 **better)
    return out


#: A question's row for the Yes/No bias in ``compare`` (:func:`bias_row`): decided with a
#: truth read, read as Yes, truth Yes, wrong, wrong on a No truth, decided with no truth read.
BIAS_COLUMNS = ("decided", "read_yes", "truth_yes", "wrong", "wrong_no", "no_truth")


def _with_truths(value_of):
    """``value_of(sums)``, NaN (no value) where a decided question has no truth to read, as
    :func:`bias_scores` gives none there."""
    def fn(sums):
        value = np.asarray(value_of(sums), dtype=float)
        out = np.where(np.asarray(sums["no_truth"]) > 0, np.nan, value)
        return out if out.ndim else float(out)
    return fn


#: Pct Diff and FP Ratio as sums over questions (:data:`BIAS_COLUMNS`), which ``compare``
#: pairs question by question as it pairs aAcc's: the same value as :func:`bias_scores`.
BIAS_PAIRED: dict[str, Statistic] = {
    "yes_no_pct_diff": Statistic(_with_truths(lambda s: ratio(s["read_yes"], s["decided"])
                                              - ratio(s["truth_yes"], s["decided"])),
                                 bounds=(-1.0, 1.0), units="decided", direction=False,
                                 why_none=lambda s: _why_none(s, "decided", NO_DECIDED)),
    "yes_no_fp_ratio": dataclasses.replace(
        rate(_with_truths(lambda s: ratio(s["wrong_no"], s["wrong"])), units="wrong",
             proportion=True, direction=False),
        why_none=lambda s: _why_none(s, "wrong", NO_WRONG))}


def variant_statistics(judged: bool) -> dict[str, Statistic]:
    """The statistics a HallusionBench audit reports, in the order it reports them, known
    before it scores (gates are checked against them first, so a misspelled statistic costs a
    second, not the judge's calls): aAcc, fAcc, qAcc and the unverifiable count; the judged
    variants (``judged``: original, refined) add easy / hard qAcc and this module's five; then
    the count of the benchmark's questions left unanswered."""
    share = rate(lambda s: s, higher_is_better=True, proportion=True)
    count = Statistic(lambda s: s, count=True)
    out = {"aacc": share, "facc": share, "qacc": share, "unverifiable": count}
    if judged:
        figures = rate(lambda s: s, proportion=True, direction=False)
        out.update(easy_qacc=share, hard_qacc=share, **BIAS_PAIRED,
                   consistency_inconsistent=figures, consistency_wrong=figures,
                   figure_score=rate(lambda s: s, higher_is_better=True))
    out["unanswered"] = count
    return out


#: What each statistic a HallusionBench audit reports is, in words (report.html, ``halluscope
#: metrics``): aAcc, fAcc, qAcc as the paper defines them, the rest as evaluation.py prints them.
MEANINGS: dict[str, str] = {
    "aacc": "all-question accuracy: share of the decided questions answered right; higher is "
            "better",
    "facc": "figure accuracy: share of the figures whose questions are all answered right "
            "(image-less VS questions left out); higher is better",
    "qacc": "question-pair accuracy: share of the questions answered right on every figure "
            "they are asked of (original and edited); higher is better",
    "easy_qacc": "qAcc over the questions asked with no figure or the original one "
                 "(evaluation.py's 'easy aAcc')",
    "hard_qacc": "qAcc over the questions asked of edited figures (evaluation.py's 'hard aAcc')",
    "yes_no_pct_diff": "share of the questions answered Yes less the share whose truth is Yes: "
                       "above 0 leans to Yes, below to No",
    "yes_no_fp_ratio": "share of the wrong answers whose truth is No (a wrong Yes): above 0.5 "
                       "leans to Yes",
    "consistency_inconsistent": "share of the figures with some but not all of their questions "
                                "answered right",
    "consistency_wrong": "share of the figures with none of their questions answered right",
    "figure_score": "mean over the figures of the share of each one's questions answered "
                    "right; higher is better",
    "unverifiable": "questions left undecided (the judge call failed; refined: a verdict "
                    "other than correct, incorrect or unclear), out of every accuracy",
    "unanswered": "the benchmark's questions (1,129; VLMEvalKit's rows: 951) that no scored "
                  "answer answered, counted per model"}


def _why_none(sums, units: str, none: str) -> str | None:
    """Why a bias statistic over the paired questions has no value (:data:`BIAS_PAIRED`)."""
    if float(np.sum(sums["no_truth"])):
        return (f"{int(np.sum(sums['no_truth']))} decided question(s) have no gt_answer 1 "
                f"(Yes) or 0 (No); utils.py's yes_ratio_stats reads every row's with int()")
    return none if not float(np.sum(sums[units])) else None


def bias_row(row: Sequence[float], item: Mapping[str, Any]) -> list[float]:
    """The :data:`BIAS_COLUMNS` row of an items.jsonl line (``row``: its hallusionbench row,
    questions, correct, unverifiable, decided), its truth read from the payload's
    ``gt_answer`` as utils.py reads it. ValueError where the payload does not keep it (a run
    audited before it did)."""
    payload = item.get("hallusionbench")
    if not isinstance(payload, Mapping) or "gt_answer" not in payload:
        where = item.get("source") or f"item {item.get('id')!r}"
        raise ValueError(f"{where}: its hallusionbench payload does not keep the question's "
                         f"gt_answer (the Yes/No bias needs each question's truth); it was "
                         f"audited by an earlier halluscope: audit it again to compare it")
    if not row[3]:      # undecided: left out, as from aAcc
        return [0.0] * len(BIAS_COLUMNS)
    truth, right = truth_of(payload["gt_answer"]), bool(row[1])
    if truth is None:
        return [0.0, 0.0, 0.0, 0.0, 0.0, 1.0]
    return [1.0, float(right == truth), float(truth), float(not right),
            float(not right and not truth), 0.0]


def items_tallies(scored: Sequence[tuple[Sequence[float], Any, Mapping[str, Any]]],
                  keyword: bool, whole_only: bool) -> dict[str, dict[str, GroupTally]]:
    """What ``compare`` pairs group by group, rebuilt from a run's items.jsonl lines
    (``scored``: row, unit, line; :func:`units_from_items`) and tallied as the audit tallies
    them: fAcc's figures and qAcc's question pairs (:func:`group_tallies`) and, for the judged
    variants (not ``keyword``), easy / hard qAcc's pairs and the consistency shares' figures
    (:func:`consistency_tallies`): statistic -> key -> (whose answers, right, counted, the
    question set's bootstrap key). ValueError where the lines cannot say."""
    units = units_from_items(scored, keyword)
    tallies = dict(zip(("facc", "qacc"), group_tallies(units, whole_only)))
    if not keyword:
        for stat, part in easy_and_hard(units):
            tallies[stat] = group_tallies(part, whole_only)[1]
        tallies.update(consistency_tallies(units, whole_only))
    return {stat: {k: (part, right, counted, UNIT_PREFIX + cluster)
                   for k, (part, right, counted, cluster) in table.items()}
            for stat, table in tallies.items()}


def question_truth(item: Mapping[str, Any]) -> Any:
    """The truth an items.jsonl line's question was scored against, as its payload keeps it
    (``gt_answer``; VLMEvalKit's rows: ``answer``), which ``compare`` checks alike in both
    runs for each paired question; ``None`` where the line does not keep one."""
    payload = item.get("hallusionbench")
    if not isinstance(payload, Mapping):
        return None
    return payload.get("gt_answer", payload.get("answer"))


def _bounds(proportion: bool | None) -> tuple[float, float]:
    """[0, 1] for a share or a mean of shares (``None``: figure_score), [-1, 1] for the Pct
    Diff."""
    return (-1.0, 1.0) if proportion is False else (0.0, 1.0)


def _value(sums: np.ndarray, num: tuple[int, ...], den: int):
    """A share (one numerator) or Pct Diff (two: Yes read less Yes true), computed as
    utils.py computes it (``a/n - b/n``), over the last axis of ``sums``."""
    with np.errstate(invalid="ignore", divide="ignore"):
        if len(num) == 2:
            got = sums[..., num[0]] / sums[..., den] - sums[..., num[1]] / sums[..., den]
        else:
            got = sums[..., num[0]] / sums[..., den]
    return float(got) if np.ndim(got) == 0 else got


def set_ratios(reps: np.ndarray, col: int) -> np.ndarray:
    """The replicates of column ``col`` over column ``col + 1`` (undefined with no unit)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return reps[:, col] / reps[:, col + 1]


__all__ = ["BIAS_COLUMNS", "BIAS_PAIRED", "BIAS_STATISTICS", "MEANINGS", "bias_row",
           "bias_scores", "consistency_tallies", "items_tallies", "question_truth", "set_ratios", "truth_of",
           "variant_statistics"]
