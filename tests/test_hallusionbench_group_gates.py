"""Per-group gates on HallusionBench's fAcc and qAcc, as a demanding user writes them.

* ``halluscope compare --fail-below diff.hallusionbench.qacc@VS_chart=-0.05``: compare paired
  aAcc group by group but not fAcc / qAcc (rebuilt from whole figures and question pairs), so
  the gate was refused ("no group 'VS_chart' of hallusionbench.qacc in the comparison") though
  the audit reports qAcc per group. Each group's figures and pairs are now rebuilt from that
  group's items, as the audit rebuilds them, and paired.
* ``halluscope audit --fail-below hallusionbench.qacc@category:VD=0.5`` (the FIELD:VALUE form
  other metrics' groups take) or ``@category`` was refused only after every answer had gone to
  the judge; now before, naming the group to write (``@VD``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fake_openai_server import FakeServer
from halluscope.cli import app

SETS = (("VD", "illusion", "0"), ("VD", "math", "1"), ("VS", "chart", "2"), ("VS", "map", "3"))


def _answers(path: Path, wrong: tuple[str, ...] = ()) -> Path:
    """Four question sets, two figures by two questions each, all answered right but in the
    subcategories ``wrong``, where figure 1's first question is answered wrong."""
    rows = []
    for cat, sub, set_id in SETS:
        for fig in ("0", "1"):
            for q in ("0", "1"):
                bad = sub in wrong and fig == "1" and q == "0"
                rows.append({"category": cat, "subcategory": sub, "set_id": set_id,
                             "figure_id": fig, "question_id": q,
                             "visual_input": "1" if fig == "0" else "2",
                             "question": f"Is it so ({set_id}, {fig}, {q})?",
                             "gt_answer_details": "It is so.", "gt_answer": "1",
                             "model_prediction": "No." if bad else "Yes."})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _cli(*args) -> tuple[int, str]:
    res = CliRunner().invoke(app, list(map(str, args)))
    return res.exit_code, " ".join(res.output.split())


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hbgroups")
    out = {}
    for name, wrong in (("a", ()), ("b", ("chart",))):
        code, text = _cli("audit", _answers(tmp / f"{name}.jsonl", wrong), "--metric",
                          "hallusionbench", "--option", "hallusionbench_variant=vlmevalkit",
                          "--bootstrap", "0", "--no-report", "--quiet", "--out", tmp / name)
        assert code == 0, text
        out[name] = tmp / name
    return out


def test_compare_pairs_facc_and_qacc_within_each_group(runs, tmp_path):
    code, text = _cli("compare", runs["a"], runs["b"], "--bootstrap", "0", "--out", tmp_path)
    assert code == 0, text
    groups = json.loads((tmp_path / "compare.json").read_text())["comparisons"][0]["groups"]
    results = [json.loads((runs[r] / "results.json").read_text())["metrics"]["hallusionbench"]
               for r in "ab"]
    for group in ("VD", "VS", "VD_illusion", "VS_chart"):
        for stat in ("facc", "qacc"):
            entry = groups[group][f"hallusionbench.{stat}"]
            # each side is what that run's audit reports for the group, over as many units
            assert [entry["a"], entry["b"]] == \
                [res["groups"][group][stat]["value"] for res in results], (group, stat)
            assert entry["n_paired"] == results[0]["groups"][group][stat]["n"], (group, stat)
    assert groups["VS_chart"]["hallusionbench.qacc"]["diff"] == -0.5      # 1 of 2 pairs
    assert groups["VS_chart"]["hallusionbench.facc"]["diff"] == -0.5      # 1 of 2 figures
    assert groups["VD"]["hallusionbench.qacc"]["diff"] == 0.0


@pytest.mark.parametrize("gate,code", [("diff.hallusionbench.qacc@VS_chart=-0.05", 1),
                                       ("diff.hallusionbench.facc@VS=-0.05", 1),
                                       ("diff.hallusionbench.qacc@VD=-0.05", 0),
                                       ("diff.hallusionbench.facc@VD_math=-0.05", 0)])
def test_a_diff_gate_on_one_groups_facc_or_qacc(runs, tmp_path, gate, code):
    got, text = _cli("compare", runs["a"], runs["b"], "--bootstrap", "0", "--out", tmp_path,
                     "--fail-below", gate)
    assert got == code, text
    if code:
        assert "gate failed" in text and gate.split("=")[0] in text, text


@pytest.mark.parametrize("group,said", [
    ("category:VD", "has no group 'category:VD'; did you mean @VD?"),
    ("subcategory:chart", "has no group 'subcategory:chart'; did you mean @VS_chart?"),
    ("category", "a gate names one group, and a category's group is named by its value alone"),
    ("chart", "did you mean @VS_chart?"),
])
def test_an_audit_gate_on_a_group_it_cannot_have_stops_before_the_judge(tmp_path, group, said):
    with FakeServer(responder=lambda prompt, body: "correct") as server:
        code, text = _cli("audit", _answers(tmp_path / "a.jsonl"), "--metric", "hallusionbench",
                          "--judge", "hallusionbench-gpt-4", "--option",
                          f"judge_base_url={server.url}", "--cache-dir", tmp_path / "jc",
                          "--bootstrap", "0", "--no-report", "--quiet", "--out", tmp_path / "o",
                          "--fail-below", f"hallusionbench.qacc@{group}=0.5")
        asked = len(server.requests)
    assert code == 2, text
    assert said in text and "nothing was scored" in text, text
    assert asked == 0                          # not one judge call paid for it
    assert not (tmp_path / "o" / "results.json").exists()


def test_an_audit_gate_on_a_category_or_subcategory_is_judged(runs, tmp_path):
    answers = _answers(tmp_path / "b.jsonl", ("chart",))
    common = ("audit", answers, "--metric", "hallusionbench", "--option",
              "hallusionbench_variant=vlmevalkit", "--bootstrap", "0", "--no-report", "--quiet",
              "--out", tmp_path / "o")
    assert _cli(*common, "--fail-below", "hallusionbench.qacc@VD=1")[0] == 0
    code, text = _cli(*common, "--fail-below", "hallusionbench.qacc@VS_chart=1")
    assert code == 1 and "hallusionbench.qacc@VS_chart: value 0.5000 is below" in text, text
    # a well-formed group that the answers do not hold is said after scoring, listing them
    code, text = _cli(*common, "--fail-below", "hallusionbench.facc@VS_table=0.5")
    assert code == 2 and "has no group 'VS_table'" in text, text
