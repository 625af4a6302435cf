"""HallusionBench rows and answer files the original scorer would not score as given, worked by
hand: rows lacking what the judge's prompt or the category split needs, figure ids utils.py
cannot read, a question answered twice under the original variant, partial files, several
models in one file, lmms-eval samples, and the answer field named when it is missing."""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import shared_data_dir
from fake_openai_server import FakeServer
from halluscope.cli import app
from halluscope.errors import ConfigError, RecordError
from halluscope.metrics.hallusionbench import (HallusionBenchMetric, Unit, coverage,
                                               hallusionbench_scores)
from halluscope.metrics.hallusionbench_units import incomplete_groups
from halluscope.records import iter_records

import halluscope


def _row(cat="VD", sub="illusion", visual="1", set_id="0", fig="0", qid="0", truth="1",
         answer="Yes.", **extra) -> dict:
    return {"category": cat, "subcategory": sub, "visual_input": visual, "set_id": set_id,
            "figure_id": fig, "question_id": qid, "question": f"Is it so ({fig}, {qid})?",
            "gt_answer_details": "It is so.", "gt_answer": truth, "model_prediction": answer,
            **extra}


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


class _NoJudge:
    def ask_sync(self, *a, **kw):                 # never reached by the rows tested here
        raise AssertionError("the judge was asked")


def _invoke(args, expect=0):
    res = CliRunner().invoke(app, [str(a) for a in args])
    assert res.exit_code == expect, res.output
    return res


# -- bad rows (bugs 1, 9, 13) ---------------------------------------------------------------
@pytest.mark.parametrize("variant", ["original", "refined"])
def test_rows_the_original_never_scores_are_bad_records_naming_the_field(variant, tmp_path):
    """Without gt_answer_details or with a null question the judge was sent "Reference answer:
    " / "Question:" and the row scored (utils.py's prompt is joined with + and stops there); a
    category other than VD/VS was scored into aAcc (evaluation.py keeps only VD and VS); a VS
    figure_id int() cannot read ended the audit with exit 3."""
    rows = [_row(), _row(fig="1"), _row(fig="2", question=None), _row(fig="3", category=None),
            _row(cat="VS", sub="chart", fig="x"), _row(cat="VS", sub="chart", fig=None),
            _row(cat="VS", sub="chart", fig="0.0"), _row(cat="VS", sub="chart", fig=math.inf),
            _row(cat="VD", fig="x")]
    del rows[1]["gt_answer_details"]
    rows[3]["category"] = None
    path = _write(tmp_path / "a.jsonl", rows)      # (inf: 'Infinity', as 1e400 reads)
    metric = HallusionBenchMetric(variant=variant, judge=_NoJudge(), n_boot=0)
    found = []
    for record in list(iter_records(path))[1:8]:
        with pytest.raises(RecordError) as info:
            metric.score(record)
        found.append((info.value.location.line, info.value.location.field))
    assert found == [(2, "gt_answer_details"), (3, "question"), (4, "category"),
                     (5, "figure_id"), (6, "figure_id"), (7, "figure_id"), (8, "figure_id")]


def test_bad_rows_are_listed_and_never_reach_the_judge(tmp_path):
    rows = [_row(), _row(fig="1"), _row(fig="2", question=None),
            _row(cat="VS", sub="chart", fig="x")]
    del rows[1]["gt_answer_details"]
    path = _write(tmp_path / "a.jsonl", rows)
    with FakeServer(responder=lambda prompt, body: "correct") as server:
        _invoke(["audit", path, "--metric", "hallusionbench", "--option",
                 "hallusionbench_variant=original", "--judge", "hallusionbench-gpt-4",
                 "--option", f"judge_base_url={server.url}", "--cache-dir", tmp_path / "jc",
                 "--bootstrap", "0", "--out", tmp_path / "o", "--quiet"])
        asked = [r["messages"][0]["content"] for r in server.requests]
    results = json.loads((tmp_path / "o/results.json").read_text())
    assert [(e["line"], e["field"]) for e in results["errors"]] == [
        (2, "gt_answer_details"), (3, "question"), (4, "figure_id")]
    assert sum("Prediction answer:" in p for p in asked) == 1          # row 1 alone
    assert results["metrics"]["hallusionbench"]["aacc"]["n"] == 1


def test_a_missing_model_prediction_names_that_field(tmp_path):
    rows = [_row(), _row(fig="1")]
    del rows[1]["model_prediction"]
    path = _write(tmp_path / "a.jsonl", rows)
    res = halluscope.audit(path, metrics="hallusionbench", out=tmp_path / "o", n_boot=0,
                           write_report=False, options={"hallusionbench_variant": "vlmevalkit"})
    assert [(e["line"], e["field"]) for e in res.errors] == [(2, "model_prediction")]
    assert "'model_prediction'" in res.errors[0]["message"]


# -- lmms-eval samples (bug 11) -------------------------------------------------------------
def test_the_vlmevalkit_variant_reads_lmms_eval_samples(tmp_path):
    """lmms-eval's reader takes doc.gt_answer as the label and drops it from the metadata; the
    vlmevalkit variant looked only there and scored none of the samples (exit 2)."""
    rows = [_row(truth="1", answer="Yes."), _row(qid="1", truth="0", answer="Yes."),
            _row(fig="1", truth="0", answer="No, it is not."),
            _row(fig="1", qid="1", truth="1", answer="yes")]
    samples = []
    for d, r in enumerate(rows):
        doc = {k: v for k, v in r.items() if k != "model_prediction"}
        samples.append({"doc_id": d, "doc": doc, "target": r["gt_answer"],
                        "arguments": [r["question"]], "resps": [[r["model_prediction"]]],
                        "filtered_resps": [r["model_prediction"]]})
    lmms = halluscope.audit(_write(tmp_path / "s.jsonl", samples), metrics="hallusionbench",
                            out=tmp_path / "a", n_boot=0, write_report=False,
                            options={"hallusionbench_variant": "vlmevalkit"})
    own = halluscope.audit(_write(tmp_path / "own.jsonl", rows), metrics="hallusionbench",
                           out=tmp_path / "b", n_boot=0, write_report=False,
                           options={"hallusionbench_variant": "vlmevalkit"})
    got = {k: (r.value, r.n) for k, r in lmms.metrics["hallusionbench"].results.items()}
    # (0,0) right, (0,1) wrong, (1,0) right, (1,1) right: figure 0 broken, pair 1 broken
    assert got["aacc"] == (0.75, 4) and got["facc"] == (0.5, 2) and got["qacc"] == (0.5, 2)
    assert got == {k: (r.value, r.n) for k, r in own.metrics["hallusionbench"].results.items()}
    assert not lmms.errors


# -- several models in one file (bug 14) -----------------------------------------------------
def test_figures_and_pairs_are_each_models_own(tmp_path):
    """Two models on one 2 x 2 set (figures 0/1, questions 0/1). A is right everywhere; B is
    wrong on (figure 1, question 0). Pooled, figure 1 and pair 0 held both models' answers:
    fAcc 1/2, qAcc 1/2 over 2 figures and 2 pairs, no model groups, 4 "repeats"."""
    rows = []
    for model in ("A", "B"):
        for fig in ("0", "1"):
            for qid in ("0", "1"):
                wrong = model == "B" and (fig, qid) == ("1", "0")
                rows.append(_row(fig=fig, qid=qid, answer="No." if wrong else "Yes.",
                                 model=model))
    res = halluscope.audit(_write(tmp_path / "two.jsonl", rows), metrics="hallusionbench",
                           out=tmp_path / "o", n_boot=0, write_report=False,
                           options={"hallusionbench_variant": "vlmevalkit"})
    s = res.metrics["hallusionbench"]
    val = {k: (s.results[k].value, s.results[k].n) for k in ("aacc", "facc", "qacc")}
    assert val == {"aacc": (7 / 8, 8), "facc": (3 / 4, 4), "qacc": (3 / 4, 4)}
    a, b = s.groups["model:A"], s.groups["model:B"]
    assert (a["facc"].value, a["qacc"].value) == (1.0, 1.0)
    assert (b["aacc"].value, b["facc"].value, b["qacc"].value) == (0.75, 0.5, 0.5)
    assert (b["facc"].n, b["qacc"].n) == (2, 2)
    assert "repeated_answers" not in res.runsheet["metrics"]["hallusionbench"]


def test_another_cluster_by_is_refused_not_recorded_while_ignored(tmp_path):
    metric = HallusionBenchMetric(variant="vlmevalkit", n_boot=0)
    for field in ("item", "model", None):
        metric.cluster_by = field
        with pytest.raises(ConfigError, match="question sets"):
            metric.begin([])
    metric.cluster_by = "image"                               # the default: question sets
    metric.begin([])
    path = _write(tmp_path / "a.jsonl", [_row(model="A")])
    _invoke(["audit", path, "--metric", "hallusionbench", "--option",
             "hallusionbench_variant=vlmevalkit", "--cluster-by", "item", "--bootstrap", "0",
             "--out", tmp_path / "o", "--quiet"], expect=2)


def test_the_diagnosis_compares_each_models_answer_with_its_own_figure_0():
    """The consistency prompt pairs an answer with the same pair's figure-0 answer; with two
    models in one file, B's answers were compared with A's (the last figure-0 answer seen)."""
    from halluscope.metrics.hallusionbench_diagnosis import Answered, diagnose
    qs = [Answered("VD", "illusion", "0", fig, "0", "1", "1", f"{model} on {fig}", model)
          for model in ("model:A", "model:B") for fig in ("0", "1")]
    asked = []
    diagnose(qs, lambda first, second: asked.append((first, second)) or "same")
    assert ("model:B on 1", "model:B on 0") in asked
    assert all(first.split()[0] == second.split()[0] for first, second in asked)


@pytest.mark.skipif(shared_data_dir("hallusionbench/vlmevalkit/vila_8b_HallusionBench_score.csv")
                    is None, reason="shared HallusionBench data not found")
def test_two_published_models_in_one_file_give_each_published_score(tmp_path):
    """VILA-13B and VILA-8B (VLMEvalKit PR #320) in one file: each model's group is its
    published score.csv Overall row; pooled they gave fAcc 0.156 / qAcc 0.141."""
    import csv
    folder = shared_data_dir() / "hallusionbench/vlmevalkit"
    layout = [json.loads(x) for x in (folder / "HallusionBench_vlmevalkit_951.jsonl").open()]
    rows, published = [], {}
    for model in ("vila_13b", "vila_8b"):
        pred = {r["index"]: r["prediction"] for r in map(
            json.loads, (folder / f"{model}_HallusionBench_auxmatch.jsonl").open())}
        rows += [dict(r, model=model, prediction=pred[r["index"]]) for r in layout]
        with (folder / f"{model}_HallusionBench_score.csv").open() as fh:
            published[model] = next(r for r in csv.DictReader(fh) if r["split"] == "Overall")
    res = halluscope.audit(_write(tmp_path / "two.jsonl", rows), metrics="hallusionbench",
                           out=tmp_path / "o", n_boot=0, write_report=False,
                           options={"hallusionbench_variant": "vlmevalkit"})
    s = res.metrics["hallusionbench"]
    for model, ref in published.items():
        for ours, theirs in (("aacc", "aAcc"), ("facc", "fAcc"), ("qacc", "qAcc")):
            assert 100 * s.groups[f"model:{model}"][ours].value == pytest.approx(
                float(ref[theirs]), abs=1e-9)
    assert res.runsheet["metrics"]["hallusionbench"]["coverage"]["unanswered"] == 0


# -- partial files (bug 8) -------------------------------------------------------------------
def test_a_figure_or_pair_missing_a_question_is_said_and_counted_as_vlmevalkit_does(
        tmp_path, caplog):
    """A 2 x 2 set with (figure 1, question 1) unanswered and the rest right. VLMEvalKit's
    calc_fAcc / calc_qAcc group whatever rows they get, so figure 1 and pair 1 count over the
    one question each has: fAcc = qAcc = 1.0 over 2 figures and 2 pairs, the numbers its
    variant must give; the partial file is said (the 948 of VLMEvalKit's 951 questions without
    an answer, the incomplete figure and pair). The refined variant counts an incomplete
    figure or pair wrong where it holds a wrong answer and leaves the rest out
    (tests/test_bench_fidelity_hunt.py, tests/test_hb_partial.py)."""
    rows = [_row(fig=f, qid=q) for f, q in (("0", "0"), ("0", "1"), ("1", "0"))]
    with caplog.at_level(logging.WARNING):
        res = halluscope.audit(_write(tmp_path / "p.jsonl", rows), metrics="hallusionbench",
                               out=tmp_path / "o", n_boot=0, write_report=False,
                               options={"hallusionbench_variant": "vlmevalkit"})
    r = res.metrics["hallusionbench"].results
    assert (r["aacc"].value, r["aacc"].n) == (1.0, 3)
    assert (r["facc"].value, r["facc"].n) == (1.0, 2)
    assert (r["qacc"].value, r["qacc"].n) == (1.0, 2)
    assert (r["unanswered"].value, r["unanswered"].n) == (948, 951)
    cov = res.runsheet["metrics"]["hallusionbench"]["coverage"]
    assert cov == {"expected_questions": 951, "answered": 3, "unanswered": 948,
                   "incomplete_figures": 1, "incomplete_pairs": 1}
    said = caplog.text
    assert "948 of the benchmark's 951 questions have no answer" in said
    assert "1 figure(s) and 1 question pair(s) lack some of their questions" in said
    assert "counted in fAcc / qAcc over the questions they have" in said


def test_coverage_is_per_model_whatever_by_names(tmp_path, monkeypatch, caplog):
    """A complete grid of 8 questions (a 2 x 2 VD set and a 2 x 2 VS set, one model) audited
    with --by category: the benchmark is asked of the model, not of each category, so all 8
    are answered and none is missing. Keyed by the --by groups, each category counted its own 4
    against all 8: 8 "unanswered" of 16, an unanswered result and a warning."""
    import halluscope.metrics.hallusionbench as hb
    monkeypatch.setitem(hb.EXPECTED_QUESTIONS, "vlmevalkit", 8)
    rows = [_row(cat=c, sub="chart", fig=f, qid=q, model="A")
            for c in ("VD", "VS") for f in "01" for q in "01"]
    with caplog.at_level(logging.WARNING):
        res = halluscope.audit(_write(tmp_path / "g.jsonl", rows), metrics="hallusionbench",
                               out=tmp_path / "o", n_boot=0, write_report=False,
                               by=["category"],
                               options={"hallusionbench_variant": "vlmevalkit"})
    s = res.metrics["hallusionbench"]
    cov = res.runsheet["metrics"]["hallusionbench"]["coverage"]
    assert (cov["answered"], cov["unanswered"]) == (8, 0)
    assert cov["unanswered_by"] == {"model:A": 0}
    assert s.results["unanswered"].value == 0           # a count, 0 included
    assert "have no answer" not in caplog.text
    assert (s.results["facc"].n, s.results["qacc"].n) == (4, 4)     # 2 figures, 2 pairs a set
    assert set(s.groups) >= {"category:VD", "category:VS"}        # --by still reports


def test_incomplete_is_per_answerer_and_set():
    """The grid is checked per answerer: B's missing cell breaks B's figure and pair only."""
    def u(part, fig, qid, ok=True, cluster="s0"):
        return Unit(cluster, f"{part}|{cluster}_f{fig}", f"{part}|{cluster}_q{qid}", ok,
                    ("VD",), part=part, cell=(fig, qid))
    units = [u(p, f, q) for p in ("A", "B") for f in "01" for q in "01"
             if (p, f, q) != ("B", "1", "1")]
    assert set().union(*incomplete_groups(units)) == {"B|s0_f1", "B|s0_q1"}
    scores = hallusionbench_scores(units)
    assert (scores["facc"].n, scores["qacc"].n) == (3, 3)       # A's 2 + B's figure/pair 0
    cov = coverage(units, 4)
    assert (cov["unanswered"], cov["unanswered_by"]) == (1, {"A": 0, "B": 1})


# -- a repeated question (bug 2) -------------------------------------------------------------
def test_the_original_variant_refuses_a_repeated_question(tmp_path):
    """utils.py's get_eval_all asserts each question once: the original gives no number for
    such input, so the variant named after it stops with exit 2 naming the repeat; the refined
    variant scores every row and counts the repeat, as documented."""
    rows = [_row(), _row(qid="1"), _row()]
    path = _write(tmp_path / "d.jsonl", rows)
    with FakeServer(responder=lambda prompt, body: "correct") as server:
        common = ["--judge", "hallusionbench-gpt-4", "--option",
                  f"judge_base_url={server.url}", "--cache-dir", tmp_path / "jc",
                  "--bootstrap", "0", "--quiet"]
        res = _invoke(["audit", path, "--metric", "hallusionbench", "--option",
                       "hallusionbench_variant=original", *common, "--out", tmp_path / "o"],
                      expect=2)
        assert "repeat a question" in res.output and "d.jsonl:3" in res.output
        assert not (tmp_path / "o/results.json").exists()
        _invoke(["audit", path, "--metric", "hallusionbench", "--option",
                 "hallusionbench_variant=refined", *common, "--out", tmp_path / "r"])
    m = json.loads((tmp_path / "r/results.json").read_text())["metrics"]["hallusionbench"]
    assert m["aacc"]["n"] == 3 and m["info"]["repeated_answers"] == 1


def test_a_figure_and_a_pair_of_one_name_are_kept_apart():
    """Figure 1 and question 1 of a set have the same key text (``<set>_1``): B's grid lacking
    (figure 2, question 1) left figure 2 and pair 1 incomplete, and figure 1, whose questions
    were all answered, out of fAcc with them (coverage said 2 incomplete figures)."""
    cells = [(f, q) for f in "012" for q in "01" if (f, q) != ("2", "1")]
    units = [Unit("s", f"B|s_{f}", f"B|s_{q}", True, ("VD",), part="B", cell=(f, q))
             for f, q in cells]
    scores = hallusionbench_scores(units)
    assert (scores["facc"].value, scores["facc"].n) == (1.0, 2)     # figures 0 and 1
    assert (scores["qacc"].value, scores["qacc"].n) == (1.0, 1)     # pair 0
    cov = coverage(units, 6)
    assert (cov["incomplete_figures"], cov["incomplete_pairs"]) == (1, 1)
    assert set().union(*incomplete_groups(units)) == {"B|s_2", "B|s_1"}


def test_a_cluster_by_from_a_manifest_is_refused_naming_the_file_not_a_flag(tmp_path):
    _write(tmp_path / "a.jsonl", [_row(model="A")])
    (tmp_path / "halluscope.toml").write_text(
        '[audit]\ninputs = ["a.jsonl"]\nmetrics = ["hallusionbench"]\n'
        'options = {hallusionbench_variant = "vlmevalkit"}\ncluster_by = "item"\n')
    with pytest.raises(ConfigError) as caught:
        halluscope.audit(tmp_path, n_boot=0)
    said = str(caught.value)
    assert f"cluster_by = 'item' (set in {tmp_path / 'halluscope.toml'}:5)" in said
    assert "--cluster-by" not in said
    with pytest.raises(ConfigError, match="not by --cluster-by model: leave --cluster-by out"):
        halluscope.audit(tmp_path / "a.jsonl", n_boot=0, cluster_by="model")
