"""compare shows its per-group differences: compare.html a table per statistic (group, A, B,
B − A, interval, paired, only A, only B), worst change first, the groups' text escaped; the
console only the groups that got worse, worst first, at most ten, the rest counted."""

from __future__ import annotations

import html
import json
import re

import pytest
from typer.testing import CliRunner

import halluscope
from halluscope.cli import app
from halluscope.cli.compare import MAX_GROUPS_SHOWN
from halluscope.compare_by_group import change_rank

MODEL = "<b>m&1</b>"


def _rows(wrong: dict[str, int], model: str = MODEL):
    """POPE answers of ``model``: split ``sNN`` of 10 images, 2 questions each; in B, split
    ``s`` gets its first ``wrong[s]`` images' answers wrong."""
    rows = []
    for s in range(14):
        split = f"s{s:02d}"
        for img in range(10):
            for q in range(2):
                label = "yes" if q == 0 else "no"
                bad = img < wrong.get(split, 0)
                rows.append({"question_id": f"{split}-{img}-{q}", "image_id": f"{split}-{img}",
                             "label": label, "split": split, "model": model,
                             "prompt": "Is there a dog in the image?",
                             "response": ("no" if label == "yes" else "yes") if bad else label})
    return rows


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("runs")
    worse = {f"s{s:02d}": s % 7 for s in range(14)}      # s06 and s13 worst (6 of 10 wrong)
    out = []
    for name, wrong in (("a", {}), ("b", worse)):
        halluscope.audit(records=_rows(wrong), metrics="pope", n_boot=0, out=tmp / name,
                         write_report=False)
        out.append(tmp / name)
    return out


def _compare(tmp_path, runs, width=200):
    res = CliRunner().invoke(app, ["compare", *map(str, runs), "--out", str(tmp_path / "c"),
                                   "--bootstrap", "200"], env={"COLUMNS": str(width)})
    assert res.exit_code == 0, res.output
    return res.output, (tmp_path / "c" / "compare.html").read_text(encoding="utf-8")


def test_html_has_a_table_per_statistic_worst_group_first(tmp_path, runs):
    _, page = _compare(tmp_path, runs)
    section = page[page.index("<h3>pope.accuracy by group"):]
    section = section[:section.index("</table>")]
    groups = re.findall(r"<tr[^>]*><td>([^<]*)</td>", section)
    # the 14 splits, the model and object:dog, each once, the worst change first
    assert len(groups) == 16 and len(set(groups)) == 16
    splits = [g for g in groups if g.startswith("split:")]
    # worse beyond doubt first, by change over the interval's half width: the two splits of
    # 6 wrong in 10 (s06, s13) and those of 5 (s05, s12) lead, in an order the intervals set
    assert set(splits[:4]) == {"split:s06", "split:s13", "split:s05", "split:s12"}
    assert set(splits[-2:]) == {"split:s00", "split:s07"}
    entries = json.loads((tmp_path / "c" / "compare.json").read_text())["comparisons"][0]
    ranks = [change_rank(entries["groups"][html.unescape(g)]["pope.accuracy"]) for g in groups]
    assert ranks == sorted(ranks)
    # s06: 20 of 20 right in A, 8 of 20 in B; paired 20, none in one run only; coloured worse
    row = re.search(r"<tr class='([^']*)'><td>split:s06</td>(.*?)</tr>", section)
    assert "worse" in row.group(1)
    cells = re.findall(r"<td>([^<]*)</td>", row.group(2))
    assert cells[:3] == ["1.0000", "0.4000", "-0.6000"] and cells[-3:] == ["20", "0", "0"]
    # the model's name is the group's text, escaped, never markup
    assert "<b>m&1</b>" not in page and "model:&lt;b&gt;m&amp;1&lt;/b&gt;" in page
    assert page.index("pope.accuracy by group") < page.index("pope.f1 by group")


def test_console_shows_the_worst_groups_only_and_counts_the_rest(tmp_path, runs):
    text, _ = _compare(tmp_path, runs)
    table = text[text.index("by group, worst change first"):]
    shown = re.findall(r"│ (\S+)\s+│ (pope\.\w+)\*?\s+│", table)
    assert len(shown) == MAX_GROUPS_SHOWN
    # worst first by change_rank, whichever statistic: a 6-of-10 split leads
    assert shown[0][0] in ("split:s06", "split:s13")
    groups = json.loads((tmp_path / "c" / "compare.json").read_text())["comparisons"][0]["groups"]
    ranks = [change_rank(groups[g][key]) for g, key in shown]
    assert ranks == sorted(ranks) and ranks[0][0] == 0
    assert all(g != "split:s00" and g != "split:s07" for g, _ in shown)     # unchanged
    # a group holding every paired item (the one model, the one object) is the table above
    assert not any(g.startswith(("model:", "object:")) for g, _ in shown)
    assert re.search(r"\d+ more group differences in compare\.json and compare\.html", table)


def test_console_on_a_narrow_terminal_cuts_no_number(tmp_path, runs):
    text, _ = _compare(tmp_path, runs, width=50)
    flat = " ".join(text.split())
    assert "…" not in text
    assert "split:s06 pope.accuracy*: A 1.0000, B 0.4000, B − A -0.6000" in flat
    assert "more group differences in compare.json" in flat


def test_console_says_in_one_line_that_no_group_got_worse(tmp_path, runs):
    text, page = _compare(tmp_path, [runs[0], runs[0]])
    flat = " ".join(text.split())
    assert "by group: none got worse in B beyond the table above (" in flat
    assert "┃ group" not in text
    assert "split:s00" in page          # compare.html lists every group all the same


def test_the_caption_counts_in_the_singular_where_one(tmp_path):
    """One group difference not shown, with no difference: "1 more group difference ...; 1
    has no difference" (it said "1 more group differences ...; 1 have no difference")."""
    from types import SimpleNamespace

    from halluscope.cli.compare import _group_table
    worse = {"a": 0.9, "b": 0.5, "diff": -0.4, "n_paired": 10, "only_a": 0, "only_b": 0,
             "higher_is_better": True, "ci": None}
    none = {"a": 0.9, "b": None, "diff": None, "n_paired": 10, "only_a": 0, "only_b": 0,
            "higher_is_better": True, "ci": None}
    comp = SimpleNamespace(groups={"split:x": {"pope.f1": worse}, "split:y": {"pope.f1": none}},
                           metrics={})
    caption = _group_table(comp).caption
    assert caption == ("1 more group difference in compare.json and compare.html; 1 has no "
                       "difference (see compare.html)"), caption
