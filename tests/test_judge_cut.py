"""A judge reply cut at the token limit (OpenAI ``finish_reason`` "length", Anthropic
``max_tokens``, Gemini ``MAX_TOKENS``) is never read as a verdict: the call counts as failed,
with the reason naming the limit, and the metric is computed over the other items. Served by
the loopback OpenAI-compatible server (tests/fake_openai_server.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from fake_openai_server import FakeServer, scripted_responder
from halluscope.adapters.types import cut_at_token_limit, cut_by_filter, cut_short
from halluscope.cli import app
from halluscope.judges.judge import Judge, JudgeError, JudgeParseError
from halluscope.judges.spec import load_spec
from halluscope.types import Claim

SPEC = Path(__file__).resolve().parent / "judges" / "loopback-judge.toml"
CUT = "length"


def cut(text: str, finish: str = CUT) -> dict:
    return {"text": text, "finish_reason": finish}


@pytest.fixture
def image(tmp_path):
    path = tmp_path / "img.png"
    Image.new("RGB", (48, 48), (250, 250, 0)).save(path)
    return path


@pytest.mark.parametrize("finish,is_cut", [
    ("length", True), ("max_tokens", True), ("MAX_TOKENS", True),
    ("FinishReason.MAX_TOKENS", True), ("stop", False), ("end_turn", False), ("STOP", False),
    (None, False)])
def test_the_token_limit_is_recognised_from_every_provider(finish, is_cut):
    assert cut_at_token_limit(finish) is is_cut


@pytest.mark.parametrize("finish,by_filter", [
    ("content_filter", True), ("refusal", True), ("SAFETY", True), ("RECITATION", True),
    ("FinishReason.SAFETY", True), ("length", False), ("stop", False), ("end_turn", False),
    (None, False)])
def test_a_filter_cut_is_recognised_from_every_provider(finish, by_filter):
    assert cut_by_filter(finish) is by_filter
    assert cut_short(finish) is (by_filter or cut_at_token_limit(finish))


def test_every_reason_gemini_withholds_for_is_a_filter_cut():
    for reason in ("SAFETY", "RECITATION", "LANGUAGE", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII",
                   "IMAGE_SAFETY", "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION", "MODEL_ARMOR"):
        assert cut_by_filter(reason) and cut_by_filter(f"FinishReason.{reason}")


def test_a_verdict_cut_by_the_providers_filter_is_not_read(image, tmp_path):
    """A judge reply a content filter stopped after "supported" may have gone on to take it
    back: read as a verdict it was the judge's word on a reply the judge never finished."""
    text = '{"verdict": "supported", "confidence": 0.9, "reason": "a'
    with FakeServer(responder=scripted_responder(
            [("There is a cat in the image.", cut(text, "content_filter"))])) as server:
        judge = Judge.load(SPEC, base_url=server.url, cache=tmp_path / "c")
        verdict = judge.verify_sync(Claim("existence", "cat"), image)
        judge.close()
    assert verdict.label == "unverifiable" and verdict.confidence is None
    assert "cut by the provider's filter" in verdict.reason
    assert verdict.evidence[0].payload["cut_reply"] == text


def test_a_cut_verdict_is_not_read_even_from_the_cache(image, tmp_path):
    # the JSON object is whole, but the judge had not finished: it may have gone on to retract it
    text = '{"verdict": "supported", "confidence": 0.9, "reason": "a cat is on the'
    replies = [("There is a cat in the image.", cut(text)),
               ("There is a dog in the image.", '{"verdict": "hallucinated", "confidence": 1}')]
    with FakeServer(responder=scripted_responder(replies)) as server:
        judge = Judge.load(SPEC, base_url=server.url, cache=tmp_path / "c")
        verdicts = [judge.verify_sync(Claim("existence", s), image) for s in ("cat", "dog")]
        again = judge.verify_sync(Claim("existence", "cat"), image)       # from the cache
        judge.close()
        assert len(server.requests) == 2
    for v in (verdicts[0], again):
        assert v.label == "unverifiable" and v.confidence is None
        assert "cut at max_tokens=200" in v.reason and "could not be asked" not in v.reason
        payload = v.evidence[0].payload
        assert payload["raw"] is None and payload["cut_reply"] == text
        assert "cut at max_tokens=200" in payload["error"]
    assert verdicts[1].label == "hallucinated"                 # a finished reply is read
    stats = judge.describe()["stats"]["uses"]["verify"]
    assert stats["calls"] == 3 and stats["cached"] == 1
    assert stats["call_failures"] == stats["cut_replies"] == 2
    assert stats["parse_failures"] == 0


def test_a_cut_yes_no_reading_is_unknown_and_a_cut_decomposition_raises(image, tmp_path):
    replies = [("I think so, but", cut("Yes")),
               ("A dog sits.", cut('[{"kind": "existence", "subject": "dog"}]', "max_tokens"))]
    with FakeServer(responder=scripted_responder(replies)) as server:
        judge = Judge.load(SPEC, base_url=server.url, cache=False)
        got = judge.classify_yes_no_detailed_sync("I think so, but", "Is there a dog?")
        with pytest.raises(JudgeError) as info:
            judge.decompose_sync("A dog sits.")
        answer = judge.ask_sync("classify_yes_no", answer="I think so, but", question="Dog?")
        judge.close()
    assert (got.label, got.parsed, got.raw, got.cut) == ("unknown", False, None, "Yes")
    assert "cut at max_tokens=200" in got.error
    assert not isinstance(info.value, JudgeParseError)
    assert "cut at max_tokens=200" in str(info.value)
    assert answer.label is None and answer.raw is None and answer.cut == "Yes"
    uses = judge.describe()["stats"]["uses"]
    assert uses["classify_yes_no"]["cut_replies"] == uses["classify_yes_no"]["call_failures"] == 2
    assert uses["decompose"]["cut_replies"] == 1


def _row(i: int, answer: str) -> dict:
    return {"question_type": "attribute", "question_topic": "outdoor", "image_id": f"im{i}",
            "image_src": f"https://example.org/{i}.jpg", "image_content": ["Fire hydrant"],
            "question": f"What colour is hydrant {i}?", "gt_answer": "Red.",
            "model_answer": answer}


@pytest.mark.parametrize("variant", ["original", "refined"])
def test_an_mmhal_review_cut_before_its_rating_is_not_a_silent_0(variant, tmp_path):
    """The original reads a review without "Rating: N" as 0 (with hallucination): a review cut
    before its rating would have become a 0; it is an unverifiable item instead."""
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps([_row(0, "It is red, with a yellow cap."),
                                   _row(1, "It is red.")]))
    replies = [("It is red, with a yellow cap.",
                cut("The LMM says the cap is yellow, while the image contents")),
               ("It is red.", "The answer matches.\nRating: 4, somewhat informative")]
    with FakeServer(responder=scripted_responder(replies)) as server:
        res = CliRunner().invoke(app, [str(a) for a in (
            "audit", answers, "--metric", "mmhal", "--option", f"mmhal_variant={variant}",
            "--judge", "mmhal-gpt-4-0314", "--option", f"judge_base_url={server.url}",
            "--cache-dir", tmp_path / "c", "--bootstrap", "0", "--out", tmp_path / "o",
            "--quiet")])
        assert res.exit_code == 0, res.output
    items = [json.loads(x)["mmhal"]
             for x in (tmp_path / "o/items.jsonl").read_text().splitlines()]
    by_index = {it["index"]: it for it in items}
    first = by_index[0]
    assert first["rating"] is None and first["verdict"] == "unverifiable"
    assert "cut at max_tokens=1024" in first["judge_error"]
    assert first["judge_cut_reply"].startswith("The LMM says")
    assert not first.get("parse_fallback_to_0")
    assert by_index[1]["rating"] == 4
    m = json.loads((tmp_path / "o/results.json").read_text())["metrics"]["mmhal"]
    assert m["average_score"]["value"] == 4.0 and m["hallucination_rate"]["value"] == 0.0
    rel = m["info"]["judge_reliability"]
    assert rel["calls"] == 2 and rel["call_failures"] == rel["cut_replies"] == 1


def _hb_row(fig: str, answer: str) -> dict:
    return {"category": "VD", "subcategory": "illusion", "visual_input": "1", "set_id": "0",
            "figure_id": fig, "question_id": "0", "question": f"Is it so ({fig})?",
            "gt_answer_details": "It is so.", "gt_answer": "1", "model_prediction": answer}


@pytest.mark.parametrize("variant", ["original", "refined"])
def test_a_hallusionbench_reply_cut_mid_sentence_is_not_a_verdict(variant, tmp_path):
    """The original reads "incorrect" anywhere, else "correct": a reply cut before its
    "incorrect" would have been scored correct."""
    path = tmp_path / "hb.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in
                            (_hb_row("0", "Yes, it is so."), _hb_row("1", "No."))))
    replies = [("Is it so (0)?", cut("The prediction looks correct at first, but")),
               ("Is it so (1)?", "incorrect")]
    with FakeServer(responder=scripted_responder(replies)) as server:
        res = CliRunner().invoke(app, [str(a) for a in (
            "audit", path, "--metric", "hallusionbench", "--option",
            f"hallusionbench_variant={variant}", "--judge", "hallusionbench-gpt-4", "--option",
            f"judge_base_url={server.url}", "--cache-dir", tmp_path / "c", "--bootstrap", "0",
            "--out", tmp_path / "o", "--quiet")])
        assert res.exit_code == 0, res.output
    max_tokens = load_spec("hallusionbench-gpt-4").decoding.max_tokens
    items = [json.loads(x)["hallusionbench"]
             for x in (tmp_path / "o/items.jsonl").read_text().splitlines()]
    cut_item = next(it for it in items if it.get("judge_cut_reply"))
    assert cut_item["verdict"] == "unverifiable" and cut_item["judge_raw"] is None
    assert f"cut at max_tokens={max_tokens}" in cut_item["judge_error"]
    assert "gpt4v_output_gpt_check" not in cut_item
    m = json.loads((tmp_path / "o/results.json").read_text())["metrics"]["hallusionbench"]
    assert m["aacc"]["n"] == 1 and m["aacc"]["value"] == 0.0       # only the finished reply
    rel = m["info"]["judge_reliability"]
    assert rel["call_failures"] == rel["cut_replies"] == 1


def test_the_benchmark_specs_caps_are_documented_and_the_raised_one_is_bumped():
    hb = load_spec("hallusionbench-gpt-4")
    assert hb.version == 2 and hb.decoding.max_tokens == 1024     # was 1: 64 tokens
    assert hb.describe()["version"] == 2
    for name in ("hallusionbench-gpt-4", "mmhal-gpt-4-0314", "mmhal-gpt-4o-2024-08-06",
                 "mmhal-gpt-4-1106-preview", "objhal-gpt-3.5-turbo-0613"):
        header = load_spec(name).path.read_text().split("\nname = ")[0]
        assert "max_tokens" in header, name          # why its cap differs from the original's
    assert load_spec("mmhal-gpt-4-0314").version == 1


def test_cut_replies_add_up_over_workers():
    from halluscope.judges.reliability import JudgeStats
    mine, theirs = JudgeStats(), JudgeStats()
    for s, n in ((mine, 1), (theirs, 2)):
        s.use("verify").calls = s.use("verify").call_failures = s.use("verify").cut_replies = n
    mine.merge(theirs)
    got = mine.to_dict()["uses"]["verify"]
    assert got["cut_replies"] == got["call_failures"] == got["calls"] == 3
