"""Benchmark scorers against their originals on edge cases the shared reference data does not
reach, each worked by hand and checked by running the original's own code on the same tiny input
(outside this project). A number labelled with a peer's name must be that peer's number.

AMBER (junyangwang0410/AMBER@534babf ``inference.py``):

* ``metrics.txt`` starts every ``*_num`` counter at 0.001 and every ``*_score`` counter at 0;
  without the file beside the annotations halluscope started the scores at 0.001 too, so two
  existence questions answered "Yes" (truth no) gave existence precision 100.0 where the
  original prints 0.0.
* ``safe_words.txt`` is read in text mode (universal newlines), so a CRLF copy of it (a Windows
  checkout) keeps its safe words; halluscope split on "\\n" alone and kept "grass\\r", which
  then matched nothing: "A dog sits on the grass." scored CHAIR 50.0 / Hal 100.0 against the
  original's 0.0 / 0.1.
* P, R and F1 are printed with Python's ``round(x, 1)`` (correct rounding of the double);
  ``np.round`` rounds ``x * 10`` and differs on near-ties. Existence F1 adds 0.001 to its
  denominator, which makes ties: P 28.6, R 85.7 gives 0.4285 (``round`` -> 42.9, ``np.round``
  -> 42.8).

HallusionBench (tianyi-lab/HallusionBench@744007c ``utils.py``; VLMEvalKit ``Hallusion_rating``):

* both group whatever rows they are given into figures and question pairs, so on a partial
  answer file a figure or pair lacking some questions counts over the ones it has; halluscope
  left such groups out under the peers' names too (fAcc 0/1 and qAcc 1/1 where utils.py gives
  1/2 and 1/2). ``refined`` never counts one correct: it counts one already holding a wrong
  answer as wrong (determined) and leaves the others out (it used to leave all out: qAcc 1/1).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from halluscope.evidence import amber as amber_evidence
from halluscope.evidence.amber import AmberData, load_amber
from halluscope.metrics import amber as amber_mod
from halluscope.metrics.amber import AmberMetric
from halluscope.records import record_from_dict

#: AMBER's data/metrics.txt: every counter AMBER keeps, *_num at 0.001, *_score at 0
_QA = ("correct", "no", "ans_no")
AMBER_METRICS_TXT = "".join(
    [f"{k}={v}\n" for k, v in (("chair_num", 0.001), ("chair_score", 0),
                                ("safe_cover_num", 0.001), ("safe_cover_score", 0),
                                ("hallu_cover_num", 0.001), ("hallu_cover_score", 0),
                                ("non_hallu_score", 0), ("non_hallu_num", 0.001))]
    + [f"{p}{k}_{s}={0.001 if s == 'num' else 0}\n"
       for p in ("qa_", "as_qa_", "an_qa_", "aa_qa_", "asso_qa_", "ha_qa_")
       for k in _QA for s in ("score", "num")])


def _amber_folder(tmp: Path, items: list[dict], relation: dict, safe: bytes,
                  metrics: bool = True) -> Path:
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "annotations.json").write_text(json.dumps(items))
    (tmp / "relation.json").write_text(json.dumps(relation))
    (tmp / "safe_words.txt").write_bytes(safe)
    if metrics:
        (tmp / "metrics.txt").write_text(AMBER_METRICS_TXT)
    return tmp


def _results(metric: AmberMetric, responses: list[dict]) -> dict[str, float]:
    for i, r in enumerate(responses, 1):
        metric.update(record_from_dict(r, line=i))
    return {k: v.value for k, v in metric.compute().results.items()}


@pytest.fixture(autouse=True)
def _fresh_amber_cache(monkeypatch):
    """load_amber caches by path; each test's tmp folder is new, but keep the cache clean."""
    monkeypatch.setattr(amber_evidence, "_CACHE", {})


def test_amber_without_metrics_txt_starts_scores_at_zero_as_amber_does(tmp_path):
    """inference.py on annotation ids 8633 and 8634 (existence, truth no), both answered "Yes",
    type ``de``: Accuracy 0.0, Precision 0.0, Recall 0.0, F1 0.0 (0 / 0.001 for precision)."""
    items = {1: {"type": "discriminative-hallucination", "truth": "no"},
             2: {"type": "discriminative-hallucination", "truth": "no"}}
    data = AmberData(path=tmp_path / "annotations.json", items=items, association={})
    assert data.initial == {}                  # no metrics.txt beside the annotations
    res = _results(AmberMetric(data, variant="original", n_boot=0),
                   [{"id": 1, "response": "Yes"}, {"id": 2, "response": "Yes"}])
    for name in ("existence_accuracy", "existence_precision", "existence_recall",
                 "existence_f1", "precision"):
        assert res[name] == pytest.approx(0.0), name      # was 1.0 for the precisions
    # with AMBER's own metrics.txt the same
    folder = _amber_folder(tmp_path / "with", [{"id": 1, "type": "discriminative-hallucination",
                                                "truth": "no"},
                                               {"id": 2, "type": "discriminative-hallucination",
                                                "truth": "no"}], {}, b"")
    res = _results(AmberMetric(load_amber(folder), variant="original", n_boot=0),
                   [{"id": 1, "response": "Yes"}, {"id": 2, "response": "Yes"}])
    assert res["existence_precision"] == pytest.approx(0.0)


def test_amber_safe_words_file_with_crlf_line_ends_keeps_its_words(tmp_path, monkeypatch):
    """inference.py (type ``g``) on "A dog sits on the grass." (nouns dog, grass; truth dog,
    hallu cat; grass a safe word in a CRLF file): CHAIR 0.0, Cover 99.9, Hal 0.1, Cog 0.0."""
    folder = _amber_folder(tmp_path / "amber",
                           [{"id": 1, "type": "generative", "truth": ["dog"], "hallu": ["cat"]}],
                           {"dog": ["puppy"], "grass": ["lawn"], "cat": ["kitten"]},
                           b"grass\r\nsky\r\n")
    data = load_amber(folder)
    assert data.safe_words == ["grass", "sky"]
    # the nouns NLTK's tagger gives for the sentence (as inference.py's extract_nouns printed)
    monkeypatch.setattr(amber_mod, "extract_nouns", lambda text: ["dog", "grass"])
    res = _results(AmberMetric(data, variant="original", n_boot=0),
                   [{"id": 1, "response": "A dog sits on the grass."}])
    assert res["chair"] == pytest.approx(0.0)          # was 0.5
    assert res["cover"] == pytest.approx(0.999)
    assert res["hal"] == pytest.approx(0.001)          # was 1.0
    assert res["cog"] == pytest.approx(0.0)


def test_amber_existence_f1_rounds_as_python_round_does(tmp_path):
    """inference.py (type ``de``) on 22 existence questions of a custom annotation file: 7
    labelled no (6 answered No, 1 Yes) and 15 labelled yes, all answered No. Printed: Accuracy
    27.3, Precision 28.6, Recall 85.7, F1 42.9 (2 * .286 * .857 / 1.144 = 0.4285 as a double
    just above the tie; np.round gave 42.8)."""
    items = [{"id": i, "type": "discriminative-hallucination", "truth": "no" if i <= 7 else "yes"}
             for i in range(1, 23)]
    folder = _amber_folder(tmp_path / "amber", items, {}, b"")
    res = _results(AmberMetric(load_amber(folder), variant="original", n_boot=0),
                   [{"id": i, "response": "No" if i != 7 else "Yes"} for i in range(1, 23)])
    assert round(res["existence_accuracy"] * 100, 1) == 27.3
    assert round(res["existence_precision"] * 100, 1) == 28.6
    assert round(res["existence_recall"] * 100, 1) == 85.7
    assert round(res["existence_f1"] * 100, 1) == 42.9          # was 42.8


def test_amber_rounding_matches_python_round_on_every_near_tie():
    """The rounding used for the original's printed numbers is Python's round(x, 1) on every
    P, R pair on AMBER's 0.1 grid (existence's 0.001 and the others' 0.0001 in F1)."""
    import numpy as np
    grid = np.arange(0, 1001) / 10
    p, r = np.meshgrid(grid, grid)
    for eps in (0.001, 0.0001):
        with np.errstate(invalid="ignore", divide="ignore"):
            raw = 2 * (p / 100) * (r / 100) / ((p / 100) + (r / 100) + eps) * 100
        got = amber_mod._r1(raw)
        want = np.vectorize(lambda x: round(float(x), 1))(raw)
        assert np.array_equal(got, want, equal_nan=True)


# -- HallusionBench (tianyi-lab/HallusionBench@744007c utils.py) --------------------------------
def test_hallusionbench_original_repeat_is_keyed_as_utils_py_keys_a_question(tmp_path):
    """get_eval_all asserts each ``category_subcategory_set_figure_question`` once; visual_input
    is not part of that name. Two rows naming the same question but different visual_input made
    utils.py stop (AssertionError, no number) while halluscope's original variant scored both:
    aAcc 2/2 labelled as the original's."""
    from typer.testing import CliRunner

    from fake_openai_server import FakeServer
    from halluscope.cli import app

    def row(visual):
        return {"category": "VD", "subcategory": "illusion", "visual_input": visual,
                "set_id": "0", "figure_id": "1", "question_id": "0", "question": "Is it so?",
                "gt_answer_details": "It is so.", "gt_answer": "1", "model_prediction": "Yes."}
    path = tmp_path / "hb.jsonl"
    path.write_text("".join(json.dumps(row(v)) + "\n" for v in ("1", "2")))
    with FakeServer(responder=lambda prompt, body: "correct") as server:
        res = CliRunner().invoke(app, [str(a) for a in (
            "audit", path, "--metric", "hallusionbench", "--option",
            "hallusionbench_variant=original", "--judge", "hallusionbench-gpt-4", "--option",
            f"judge_base_url={server.url}", "--cache-dir", tmp_path / "jc", "--bootstrap", "0",
            "--quiet", "--out", tmp_path / "o")])
    assert res.exit_code == 2, res.output
    assert "repeat a question" in res.output and "hb.jsonl:2" in res.output
    assert not (tmp_path / "o/results.json").exists()


# -- HallusionBench on a partial answer file --------------------------------------------------
def _hb_partial_rows() -> list[dict]:
    """One VD set, figures 0 (visual_input 1) and 1 (visual_input 2) x questions 0 and 1, with
    (figure 1, question 1) unanswered: (0, 0) right, (0, 1) wrong, (1, 0) right."""
    def row(fig, qid, answer):
        return {"category": "VD", "subcategory": "chart", "visual_input": "2" if fig == "1"
                else "1", "set_id": "1", "figure_id": fig, "question_id": qid,
                "question": f"Is it so ({fig}, {qid})?", "gt_answer_details": "It is so.",
                "gt_answer": "1", "model_prediction": answer}
    return [row("0", "0", "Yes."), row("0", "1", "No."), row("1", "0", "Yes.")]


def _hb_audit(tmp_path, variant: str) -> dict:
    from typer.testing import CliRunner

    from fake_openai_server import FakeServer
    from halluscope.cli import app
    path = tmp_path / f"{variant}.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in _hb_partial_rows()))
    judge = []
    if variant in ("original", "refined"):
        judge = ["--judge", "hallusionbench-gpt-4", "--cache-dir", tmp_path / "jc"]
    with FakeServer(responder=lambda prompt, body: "incorrect" if "answer:No." in prompt
                    else "correct") as server:
        if judge:
            judge += ["--option", f"judge_base_url={server.url}"]
        res = CliRunner().invoke(app, [str(a) for a in (
            "audit", path, "--metric", "hallusionbench", "--option",
            f"hallusionbench_variant={variant}", *judge, "--bootstrap", "0", "--quiet",
            "--out", tmp_path / variant)])
    assert res.exit_code == 0, res.output
    return json.loads((tmp_path / variant / "results.json").read_text())["metrics"][
        "hallusionbench"]


@pytest.mark.parametrize("variant", ["original", "vlmevalkit", "vlmevalkit-v0.2"])
def test_hallusionbench_peer_variants_count_a_partial_figure_and_pair_as_the_peers_do(
        tmp_path, variant):
    """utils.py's get_eval_fig / get_eval_pair_all (and VLMEvalKit's calc_fAcc / calc_qAcc)
    group whatever rows they are given: figure 1, holding only (1, 0), right, is a correct
    figure, and pair 1, holding only (0, 1), wrong, a wrong pair. So fAcc is 1/2 (figure 0 has
    a wrong answer) and qAcc 1/2 (pair 0 right on both figures), as utils.py's own functions
    give on these rows. halluscope left both partial groups out under the peers' names: fAcc
    0/1 and qAcc 1/1 -- dropping the wrong pair raised qAcc from 50 to 100."""
    m = _hb_audit(tmp_path, variant)
    assert (m["aacc"]["value"], m["aacc"]["n"]) == (pytest.approx(2 / 3), 3)
    assert (m["facc"]["value"], m["facc"]["n"]) == (0.5, 2)
    assert (m["qacc"]["value"], m["qacc"]["n"]) == (0.5, 2)
    assert m["info"]["coverage"]["incomplete_figures"] == 1     # still said
    if variant == "original":       # pairs over the rows on no figure / the original figure
        assert (m["easy_qacc"]["value"], m["easy_qacc"]["n"]) == (0.5, 2)
        assert (m["hard_qacc"]["value"], m["hard_qacc"]["n"]) == (1.0, 1)


def test_hallusionbench_refined_counts_a_determined_partial_group_wrong(tmp_path, caplog):
    """The refined variant never counts a figure or pair lacking one of its set's questions as
    correct. It left every such group out, which raised qAcc: pair 1, holding only (0, 1),
    wrong, is wrong whatever (1, 1) would have been, yet was dropped (qAcc 1/1). Now a partial
    group already holding a wrong answer is counted wrong (determined) and one whose answers
    are all right is still left out (undetermined): figure 1, holding only (1, 0), right, stays
    out; fAcc 0/1 (figure 0 has the wrong (0, 1)), qAcc 1/2 (pair 0 right on both figures,
    pair 1 wrong), and the coverage says both counts."""
    with caplog.at_level(logging.WARNING):
        m = _hb_audit(tmp_path, "refined")
    assert (m["facc"]["value"], m["facc"]["n"]) == (0.0, 1)
    assert (m["qacc"]["value"], m["qacc"]["n"]) == (0.5, 2)
    assert (m["easy_qacc"]["value"], m["easy_qacc"]["n"]) == (0.5, 2)   # figure 0: whole
    assert (m["hard_qacc"]["value"], m["hard_qacc"]["n"]) == (1.0, 1)   # figure 1 alone
    cov = m["info"]["coverage"]
    assert (cov["incomplete_figures"], cov["incomplete_figures_counted_wrong"]) == (1, 0)
    assert (cov["incomplete_pairs"], cov["incomplete_pairs_counted_wrong"]) == (1, 1)
    assert ("0 incomplete figure(s) and 1 pair(s) are counted wrong in fAcc / qAcc (already "
            "determined" in caplog.text)
    assert "1 figure(s) and 0 pair(s) left out (undetermined" in caplog.text


def test_hallusionbench_original_refuses_a_pair_without_its_figure_0_answer(tmp_path):
    """utils.py compares every question with the answer to the same question on figure 0
    (check_same_by_chatgpt, then get_eval_pair_all look it up by the pair's name): a file that
    answers (figure 1, question 0) but not (figure 0, question 0) stops there with a KeyError
    and gives no number. halluscope's original variant gave aAcc 1/1, fAcc 1/1, qAcc 1/1
    under its name; now it stops with exit 2 naming the pair, as it does for a repeat. The
    refined variant scores the file."""
    from typer.testing import CliRunner

    from fake_openai_server import FakeServer
    from halluscope.cli import app
    rows = [r for r in _hb_partial_rows() if r["figure_id"] == "1"]
    path = tmp_path / "hb.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with FakeServer(responder=lambda prompt, body: "correct") as server:
        common = ["--judge", "hallusionbench-gpt-4", "--option", f"judge_base_url={server.url}",
                  "--cache-dir", tmp_path / "jc", "--bootstrap", "0", "--quiet"]
        res = CliRunner().invoke(app, [str(a) for a in (
            "audit", path, "--metric", "hallusionbench", "--option",
            "hallusionbench_variant=original", *common, "--out", tmp_path / "o")])
        assert res.exit_code == 2, res.output
        assert "figure 0" in res.output and "VD_chart_1_0" in res.output
        assert not (tmp_path / "o/results.json").exists()
        res = CliRunner().invoke(app, [str(a) for a in (
            "audit", path, "--metric", "hallusionbench", "--option",
            "hallusionbench_variant=refined", *common, "--out", tmp_path / "r")])
        assert res.exit_code == 0, res.output
