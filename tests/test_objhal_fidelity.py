"""Fidelity of Object HalBench ``original`` against RLAIF-V's own scorer, and hand-worked cases.

``shared/data/reference/objhal/original/expected.json`` is RLAIF-V @83d917b
``eval_gpt_obj_halbench.py`` run on 300 synthetic answers (stand-in question file, see the
shared README) with the judge's completions replayed by prompt sha256. Here the same completions
are served by a loopback OpenAI-compatible server keyed by the sha256 of the system message
halluscope sends: a prompt that differs by one byte gets HTTP 400 and the test fails.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import shared_data_dir
from halluscope.metrics.objhal import (ObjhalVocabulary, coco_mentions, count_item,
                                       phrases_to_objects)
from replay_judge_server import ReplayServer

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "judges" / "objhal-gpt-3.5-turbo-0613.toml"
DATA = shared_data_dir("reference/objhal/original/expected.json",
                       "objhal/questions_standin_300.jsonl")
needs_data = pytest.mark.skipif(DATA is None, reason="shared data with objhal/ and "
                                "reference/objhal/ not found (set HALLUSCOPE_SHARED_DATA or "
                                "place it at ../shared/data)")


@pytest.fixture(autouse=True)
def no_keys(monkeypatch):
    for var in ("OPENAI_API_KEY", "HALLUSCOPE_OFFLINE"):
        monkeypatch.delenv(var, raising=False)


def _nlp():
    from halluscope.metrics.objhal import _nlp as load
    try:
        return load()
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"no spaCy English pipeline: {exc}")


@needs_data
def test_audit_reproduces_every_number_and_item(tmp_path):
    from halluscope.cli import app
    ref = json.loads((DATA / "reference/objhal/original/expected.json").read_text("utf-8"))
    attempts = {}
    for line in (DATA / "reference/objhal/judge/objhal_extract.synth.jsonl").open(
            encoding="utf-8"):
        rec = json.loads(line)
        attempts[rec["prompt_sha256"]] = rec["attempts"]
    _nlp()
    answers = DATA / "reference/objhal/answers/objhal_answers.synth.jsonl"
    with ReplayServer(attempts, model="gpt-3.5-turbo-0613") as server:
        res = CliRunner().invoke(app, [
            "audit", str(answers), "--metric", "objhal",
            "--gt-objects", str(DATA / "reference/objhal/answers/gt_objects.json"),
            "--questions", str(DATA / "objhal/questions_standin_300.jsonl"),
            "--judge", str(SPEC), "--option", f"judge_base_url={server.url}",
            "--option", "objhal_variant=original", "--cache-dir", str(tmp_path / "cache"),
            "--bootstrap", "0", "--out", str(tmp_path / "run"), "--quiet"])
        assert res.exit_code == 0, res.output
        assert server.unknown == []                       # every prompt byte for byte
        assert set(server.roles) == {("system",)}         # sent as a system message
        # the original asks again for a prompt it has already asked (303 calls); halluscope's
        # response cache answers a repeated identical request itself
        assert sum(server.seen.values()) <= ref["judge_calls"] == 303
    results = json.loads((tmp_path / "run/results.json").read_text("utf-8"))
    got = results["metrics"]["objhal"]
    want = ref["overall_metrics"]
    for ours, theirs in (("chairs", "CHAIRs"), ("chairs_refine", "CHAIRs_refine"),
                         ("chairi", "CHAIRi"), ("obj_rec", "obj_rec"),
                         ("avg_len", "avg_word_len")):
        assert got[ours]["value"] == pytest.approx(want[theirs], abs=1e-12), ours
    assert round(got["chairs"]["value"], 4) == 0.3367
    assert round(got["chairs_refine"]["value"], 4) == 0.4654
    assert round(got["chairi"]["value"], 4) == 0.3125
    assert round(got["obj_rec"]["value"], 4) == 0.3578
    assert got["coco_answers"]["value"] == want["coco_sentence_num"] == 217
    # the scorer's correct_rate / object_correct_rate (1 - CHAIRs_refine, 1 - CHAIRi), which
    # summarize_gpt_obj_halbench_review.py prints as "Response Correct" / "Object Correct"
    assert got["correct_rate"]["value"] == want["correct_rate"]
    assert got["object_correct_rate"]["value"] == want["object_correct_rate"]
    assert (got["correct_rate"]["n"], got["object_correct_rate"]["n"]) == \
        (got["chairs_refine"]["n"], got["chairi"]["n"])
    printed = dict(line.split(":", 1) for line in ref["printed_summarize"])
    assert f"{100 * got['correct_rate']['value']:.2f}" == printed["Response Correct"].strip()
    assert f"{100 * got['object_correct_rate']['value']:.2f}" == \
        printed["Object Correct  "].strip()
    info = got["info"]
    assert info["variant"] == "original" and info["extractor"] == "judge"
    assert "en_core_web_sm" in info["spacy"]
    items = [json.loads(line) for line in (tmp_path / "run/items.jsonl").open(encoding="utf-8")]
    assert len(items) == 300
    for item, exp in zip(items, ref["items"], strict=True):
        mine = item["objhal"]
        assert mine["image_id"] == exp["image_id"]
        want_extracted = exp["extract_objs"] if exp["extract_objs"] is not None else []
        assert mine["extracted"] == want_extracted, exp["index"]
        assert mine["objects"] == exp["objs"], exp["index"]
        assert mine["coco_mentions"] == exp["mscoco_generated_words"], exp["index"]
        # the original stores each as (word, [word, COCO object])
        assert [[w, [w, n]] for w, n in mine["hallucinated"]] == \
            exp["mscoco_hallucinated_words"], exp["index"]


# -- hand-worked cases (no shared data needed) --------------------------------------------------
VOCAB = ObjhalVocabulary.from_lines([
    "person, girl, boy, man, people, player, pedestrian",
    "dining table, table, coffee table",
    "toilet, toilets",
    "chair, seat",
    "cat, kitten",
], "test")


def test_two_word_objects_and_noun_runs():
    nlp = _nlp()
    assert phrases_to_objects(["coffee table"], VOCAB, nlp) == ["coffee table"]
    assert phrases_to_objects(["baby cat"], VOCAB, nlp) == ["cat"]
    assert phrases_to_objects(["wooden table"], VOCAB, nlp) == ["table"]
    # an unknown noun run stays one phrase in the original, the refined variant takes its head
    assert phrases_to_objects(["baseball player"], VOCAB, nlp) == ["baseball player"]
    assert phrases_to_objects(["baseball player"], VOCAB, nlp, refined=True) == ["player"]
    # de-duplicated per answer
    assert phrases_to_objects(["table", "tables"], VOCAB, nlp) == ["table"]


def test_counts_by_hand():
    # mentions: man -> person (truth), table -> dining table (hallucinated), seat dropped next
    # to toilet, toilet (truth): CHAIRi 1/3, correct objects {person, toilet}
    c = count_item("A man at a table", ["man", "table", "seat", "toilet", "sky"],
                   ["person", "toilet", "cat"], VOCAB)
    assert c.mentions == (("man", "person"), ("table", "dining table"), ("toilet", "toilet"))
    assert c.hallucinated == (("table", "dining table"),)
    assert c.correct_objects == {"person", "toilet"} and c.gt_count == 3
    assert c.row["hallucinated_answers"] == 1 and c.row["coco_answers"] == 1
    assert c.words == 5
    assert coco_mentions(["sky"], VOCAB) == []


def test_metric_short_answers_and_variants(tmp_path):
    from halluscope.metrics.objhal import ObjhalMetric
    from halluscope.records import Record, Source
    _nlp()

    def extract(question, answer):          # a stand-in extractor: every word is a phrase
        return [w.strip(".") for w in answer.split()], []
    gt = {1: ["person"], 2: ["cat"]}
    recs = [Record(id="a", task="vqa", image_id=1, prompt="q", response="A man.",
                   source=Source("m", 1)),
            Record(id="b", task="vqa", image_id=2, prompt="q",
                   response="Assistant: a kitten near a table", source=Source("m", 2))]
    results = {}
    for variant in ("original", "refined"):
        m = ObjhalMetric(gt, extractor=extract, variant=variant, vocabulary=VOCAB, n_boot=0)
        for r in recs:
            m.update(r)
        results[variant] = {k: v.value for k, v in m.compute().results.items()}
    # original: "A man." is short -> no objects; b: kitten (cat, truth), table (hallucinated)
    o = results["original"]
    assert o["chairs"] == 0.5 and o["chairs_refine"] == 1.0 and o["chairi"] == 0.5
    assert o["obj_rec"] == 1 / 2
    # refined reads the short answer: man -> person (truth)
    r = results["refined"]
    assert r["chairs"] == 0.5 and r["chairs_refine"] == 0.5 and r["chairi"] == 1 / 3
    assert r["obj_rec"] == 2 / 2


def test_offline_rule_extractor_is_labelled_as_halluscopes_own():
    from halluscope.metrics.objhal import ObjhalMetric, rule_extractor
    from halluscope.records import Record, Source
    nlp = _nlp()
    phrases, raws = rule_extractor(nlp)("q", "A man sits at a wooden table with a cat.")
    assert phrases == ["man", "table", "cat"] and raws == []
    m = ObjhalMetric({7: ["person", "dining table"]}, vocabulary=VOCAB, n_boot=0)
    item = m.update(Record(id="x", task="vqa", image_id=7, prompt="Describe the image.",
                           response="A man sits at a wooden table with a cat.",
                           source=Source("m", 1)))
    assert item.payload["hallucinated"] == [["cat", "cat"]]
    res = m.compute()
    assert res.results["chairi"].value == 1 / 3
    assert "not the paper's" in res.info["extractor"]


def test_extraction_prompt_fills_the_question_first_then_every_answer_placeholder():
    """RLAIF-V builds the prompt with ``replace("{question}", q)`` and then
    ``replace("{answer}", a)`` on the result, so a question that holds the text ``{answer}``
    gets the answer there as well; the answer is not scanned again (its ``{question}`` stays).
    A prompt built otherwise is another prompt: another judge call, another replay key."""
    from types import SimpleNamespace

    from halluscope.judges.spec import load_spec
    from halluscope.metrics.objhal import JudgeExtractor
    extractor = JudgeExtractor(SimpleNamespace(spec=load_spec(SPEC)))
    prompt = extractor.prompt("What is {answer} here?", "A {question} cat.")
    assert "<image> What is A {question} cat. here?\n" in prompt
    assert "\n\nA {question} cat.\n\n[End of Examiner's Answer]" in prompt
    assert "{answer}" not in prompt and prompt.count("A {question} cat.") == 2
    # an ordinary question is filled in as written
    plain = extractor.prompt("Describe the image.", "A cat.")
    assert "<image> Describe the image.\n" in plain and plain.count("A cat.") == 1
