"""``@FIELD:*`` diff gates over HallusionBench's groups, which are named bare (``VD``,
``VS_chart``): ``@category:*`` gates each category, ``@subcategory:*`` (or VLMEvalKit's
``@l2-category:*``) each subcategory, as ``@split:*`` gates each of POPE's splits; a group
one run alone holds has no value for any statistic, fAcc's and qAcc's included, so its gate
fails, never passes (it was skipped, and the gate passed on the groups both runs hold)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from halluscope.cli import EXIT_GATE, EXIT_USAGE, app
from halluscope.comparison import compare
from halluscope.gates.diff import diff_gate_failures
from test_hb_compare_splits import GRID_A, GRID_B, _grid, judged_runs


def _failed(cmp, gate, **kw):
    return [f.split(" ")[0] for f in diff_gate_failures(cmp, **{k: {gate: v} for k, v in
                                                               kw.items()})]


def test_a_field_pattern_gates_each_bare_group_of_the_field(tmp_path):
    runs, _ = judged_runs(tmp_path, {"a": _grid(GRID_A, "m"), "b": _grid(GRID_B, "m")})
    cmp = compare(runs, n_boot=0)
    for stat in ("aacc", "qacc", "facc", "yes_no_pct_diff"):
        assert _failed(cmp, f"diff.hallusionbench.{stat}@category:*", above=-1) == [
            f"diff.hallusionbench.{stat}@VD", f"diff.hallusionbench.{stat}@VS"], stat
    for field in ("subcategory", "l2-category"):
        assert _failed(cmp, f"diff.hallusionbench.aacc@{field}:*", above=-1) == [
            "diff.hallusionbench.aacc@VD_illusion", "diff.hallusionbench.aacc@VS_chart"]
    # by hand: VD aAcc 5/6 -> 4/6, VS 4/6 -> 5/6; only VD got worse
    assert _failed(cmp, "diff.hallusionbench.aacc@category:*", below=-0.1) == [
        "diff.hallusionbench.aacc@VD"]


def test_a_group_of_one_run_only_fails_every_statistics_gate(tmp_path):
    """B answers VD only: VS is A's alone; each statistic's gate on it fails (exit 1)."""
    vd_only = {k: v for k, v in GRID_B.items() if k[0] == "VD"}
    runs, _ = judged_runs(tmp_path, {"a": _grid(GRID_A, "m"), "b": _grid(vd_only, "m")})
    cmp = compare(runs, n_boot=0)
    for stat in ("aacc", "facc", "qacc", "easy_qacc", "figure_score"):
        failures = diff_gate_failures(cmp, below={f"diff.hallusionbench.{stat}@category:*": -1})
        assert len(failures) == 1, (stat, failures)
        assert failures[0].startswith(f"diff.hallusionbench.{stat}@VS has no value"), failures
    vs = cmp.comparisons[0].groups["VS"]["hallusionbench.facc"]
    assert vs["why_no_value"]["a"] == "none of the group's figures pairs"
    assert vs["unpaired"].startswith("no figures of A are in B (2 in A")
    out = CliRunner().invoke(app, ["compare", *map(str, runs), "--out", str(tmp_path / "c"),
                                   "-q", "--fail-below",
                                   "diff.hallusionbench.facc@category:*=-1"])
    assert out.exit_code == EXIT_GATE, out.output
    assert "@VS has no value" in " ".join(out.output.split())


def test_a_misspelled_field_is_a_usage_error_naming_the_fields(tmp_path):
    runs, _ = judged_runs(tmp_path, {"a": _grid(GRID_A, "m"), "b": _grid(GRID_B, "m")})
    out = CliRunner().invoke(app, ["compare", *map(str, runs), "--out", str(tmp_path / "c"),
                                   "-q", "--fail-below", "diff.hallusionbench.qacc@categry:*=0"])
    assert out.exit_code == EXIT_USAGE, out.output
    text = " ".join(out.output.split())
    assert "did you mean 'category:*'" in text, text
    assert not (tmp_path / "c" / "compare.json").exists()


@pytest.mark.parametrize("pattern", ["category:*", "subcategory:*"])
def test_diff_value_says_how_many_groups_a_pattern_names(tmp_path, pattern):
    from halluscope.gates.diff import diff_value
    runs, _ = judged_runs(tmp_path, {"a": _grid(GRID_A, "m"), "b": _grid(GRID_B, "m")})
    with pytest.raises(KeyError, match="names 2 groups"):
        diff_value(compare(runs, n_boot=0), f"diff.hallusionbench.aacc@{pattern}")


def test_a_misspelled_bare_group_is_suggested_by_name(tmp_path):
    """``@VS_chrat`` (HallusionBench's groups are named bare) said "expected @upper or @lower
    ..., or a group @FIELD:VALUE", as if bare names were not groups; it names the nearest."""
    runs, _ = judged_runs(tmp_path, {"a": _grid(GRID_A, "m"), "b": _grid(GRID_B, "m")})
    out = CliRunner().invoke(app, ["compare", *map(str, runs), "--out", str(tmp_path / "c"),
                                   "-q", "--fail-below", "diff.hallusionbench.aacc@VS_chrat=0"])
    assert out.exit_code == EXIT_USAGE, out.output
    text = " ".join(out.output.split())
    assert "no group 'VS_chrat' of hallusionbench.aacc in the comparison; did you mean " \
           "'VS_chart'" in text, text
    out = CliRunner().invoke(app, ["compare", *map(str, runs), "--out", str(tmp_path / "c"),
                                   "-q", "--fail-below", "diff.hallusionbench.aacc@lowr=0"])
    assert out.exit_code == EXIT_USAGE
    assert "expected @upper or @lower after hallusionbench.aacc" in " ".join(out.output.split())
