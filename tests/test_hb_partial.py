"""HallusionBench's refined variant on partial answer files, worked by hand: a figure or
question pair lacking some of its set's questions is counted wrong when an answer it has is
already wrong (whatever the missing ones are, it is not all right: determined), and left out
when it could still be right (every answer it has is right or unverifiable); never counted
right. A whole group holding a wrong answer beside an unverifiable one is counted wrong too.
The peers' variants count such groups over the questions they have (unchanged), and the
consistency shares keep to whole figures (a wrong answer alone does not settle them)."""

from __future__ import annotations

import logging
import math

import pytest

from halluscope.metrics.hallusionbench import hallusionbench_scores
from halluscope.metrics.hallusionbench_units import (Unit, coverage, group_tallies,
                                                     warn_coverage)

T, F, U = True, False, None     # right, wrong, unverifiable


def _units(cells: dict[tuple[str, str], bool | None], cluster: str = "s",
           part: str = "A") -> list[Unit]:
    return [Unit(cluster, f"{part}|{cluster}_f{f}", f"{part}|{cluster}_q{q}", ok, ("VD",),
                 part=part, cell=(f, q), truth=True)
            for (f, q), ok in cells.items()]


def _fq(units: list[Unit], **kw) -> tuple[tuple[float, int], tuple[float, int]]:
    r = hallusionbench_scores(units, **kw)
    return (r["facc"].value, r["facc"].n), (r["qacc"].value, r["qacc"].n)


def test_a_partial_figure_and_pair_holding_a_wrong_answer_are_counted_wrong():
    """Figures 0-2 x questions 0-1, (2, 1) unanswered. Figure 0 (T, T) right; figure 1 (T, F)
    wrong; figure 2 holds only (2, 0) F: wrong whatever (2, 1) is, counted wrong. Pair 0
    (T, T, F) whole, wrong; pair 1 holds (T, F) and lacks figure 2: already wrong, counted.
    fAcc 1/3, qAcc 0/2 (it was 1/2 and 0/1, the partial groups left out)."""
    units = _units({("0", "0"): T, ("0", "1"): T, ("1", "0"): T, ("1", "1"): F,
                    ("2", "0"): F})
    assert _fq(units) == ((pytest.approx(1 / 3), 3), (0.0, 2))
    cov = coverage(units, 6, whole_only=True)
    assert (cov["incomplete_figures"], cov["incomplete_figures_counted_wrong"]) == (1, 1)
    assert (cov["incomplete_pairs"], cov["incomplete_pairs_counted_wrong"]) == (1, 1)


def test_a_partial_group_whose_answers_are_all_right_is_left_out():
    """As above with (2, 0) right: figure 2 (only T) could be right or wrong, so it is left
    out: fAcc 1/2 (figure 0 right, figure 1 wrong). Pair 0 (T, T, T) whole, right; pair 1
    (T, F) partial, wrong: qAcc 1/2."""
    units = _units({("0", "0"): T, ("0", "1"): T, ("1", "0"): T, ("1", "1"): F,
                    ("2", "0"): T})
    assert _fq(units) == ((0.5, 2), (0.5, 2))
    cov = coverage(units, 6, whole_only=True)
    assert (cov["incomplete_figures_counted_wrong"], cov["incomplete_pairs_counted_wrong"]) \
        == (0, 1)


def test_an_unverifiable_answer_leaves_its_group_out_unless_a_wrong_one_settles_it():
    """A figure or pair holding an unverifiable answer is left out (it could still be right),
    unless it also holds a wrong answer: then it is wrong whatever the unverifiable (or
    missing) answer is, and counted wrong, partial or whole (leaving it out raised fAcc/qAcc).
    (2, 0) unverifiable: figure 2 out, pair 0 (T, T, U) out; pair 1 (T, F, missing) counted
    wrong. Then (0, 1) unverifiable too: figure 0 (T, U) out; pair 1 holds (U, F): counted
    wrong, qAcc 0/1 (it was left out: no qAcc at all)."""
    cells = {("0", "0"): T, ("0", "1"): T, ("1", "0"): T, ("1", "1"): F, ("2", "0"): U}
    assert _fq(_units(cells)) == ((0.5, 2), (0.0, 1))
    cells[("0", "1")] = U
    units = _units(cells)
    assert _fq(units) == ((0.0, 1), (0.0, 1))
    cov = coverage(units, 6, whole_only=True)
    assert (cov["incomplete_figures_counted_wrong"], cov["incomplete_pairs_counted_wrong"]) \
        == (0, 1)


def test_a_whole_group_with_a_wrong_and_an_unverifiable_answer_is_counted_wrong():
    """Figures 0-1 x questions 0-1, all answered. Figure 1 holds (T, U): left out; figure 0
    holds (F, U): wrong whatever U is, counted. Pairs: q0 (F, T) wrong; q1 (U, U) out.
    fAcc 0/1, qAcc 0/1 (figure 0 was left out: 0/0, no fAcc). The peers' variants never see
    an unverifiable answer (their judges retry until they answer), and keep their rule."""
    units = _units({("0", "0"): F, ("0", "1"): U, ("1", "0"): T, ("1", "1"): U})
    assert _fq(units) == ((0.0, 1), (0.0, 1))
    figures, _ = group_tallies(units, whole_only=False)
    assert sorted(t[2] for t in figures.values()) == [0, 0]


def test_the_peers_rule_is_unchanged_and_coverage_adds_nothing_for_them():
    """Without whole_only (original, vlmevalkit*) every group counts over what it has:
    figure 2 (F) wrong, pair 1 (T, F) wrong; the coverage has no refined-only counts."""
    units = _units({("0", "0"): T, ("0", "1"): T, ("1", "0"): T, ("1", "1"): F,
                    ("2", "0"): T})
    assert _fq(units, whole_only=False) == ((pytest.approx(2 / 3), 3), (0.5, 2))
    assert "incomplete_figures_counted_wrong" not in coverage(units, 6)


def test_denominators_and_bootstrap_sets_follow_the_counted_groups():
    """Set t's grid lacks (0, 0) and (1, 1): both its figures and both its pairs are partial,
    each holding one wrong answer, so all four are counted wrong and t is one of the sets fAcc
    and qAcc are over (it added none before). Set s is whole and right. fAcc 2/4, qAcc 2/4,
    over 2 sets; each group's set is its own, so the bootstrap resamples t's four with t."""
    units = _units({("0", "0"): T, ("0", "1"): T, ("1", "0"): T, ("1", "1"): T}, "s") + \
        _units({("0", "1"): F, ("1", "0"): F}, "t")
    r = hallusionbench_scores(units, n_boot=300, seed=1, min_units=2)
    for stat in ("facc", "qacc"):
        assert (r[stat].value, r[stat].n, r[stat].clusters) == (0.5, 4, 2)
        assert r[stat].ci is not None
    figures, pairs = group_tallies(units)
    assert {k: v[1:] for k, v in figures.items() if "|t_" in k} == \
        {"A|t_f0": (0, 1, "t"), "A|t_f1": (0, 1, "t")}
    assert {k: v[1:] for k, v in pairs.items() if "|t_" in k} == \
        {"A|t_q0": (0, 1, "t"), "A|t_q1": (0, 1, "t")}


def test_consistency_shares_keep_to_whole_figures():
    """The consistency shares (some but not all / none right) are not settled by one wrong
    answer: a partial figure stays out of them (determined=False). Figure 2 holds only F: fAcc
    counts it (1/3) while the consistency shares are over figures 0 and 1 alone."""
    units = _units({("0", "0"): T, ("0", "1"): T, ("1", "0"): T, ("1", "1"): F,
                    ("2", "0"): F})
    assert sum(v[2] for v in group_tallies(units, determined=False)[0].values()) == 2
    r = hallusionbench_scores(units, bias=True)
    assert r["consistency_inconsistent"].n == 2
    assert r["consistency_inconsistent"].value == 0.5       # figure 1; figure 0 right


def test_the_warning_says_both_counts(caplog):
    units = _units({("0", "0"): T, ("0", "1"): T, ("1", "0"): T, ("1", "1"): F,
                    ("2", "0"): T})
    with caplog.at_level(logging.WARNING):
        warn_coverage(coverage(units, 6, whole_only=True), whole_only=True)
    said = caplog.text
    assert "1 figure(s) and 1 question pair(s) lack some of their questions" in said
    assert "0 incomplete figure(s) and 1 pair(s) are counted wrong in fAcc / qAcc (already " \
        "determined" in said
    assert "1 figure(s) and 0 pair(s) left out (undetermined" in said
    assert "none counted as correct" in said
