"""MMHal-Bench fidelity: ``halluscope audit --metric mmhal`` equals LLaVA-RLHF's and RLAIF-V's
eval_gpt_mmhal.py (judge replayed from the loopback server by prompt sha256) on
../shared/data/reference/mmhal, in both input layouts; plus hand-worked rating parses."""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter

import pytest
from typer.testing import CliRunner

from conftest import shared_data_dir
from halluscope.cli import app
from halluscope.judges.parsers import parse_mmhal_rating
from halluscope.metrics.mmhal import original_rating
from replay_judge_server import ReplayServer

REF = "reference/mmhal"
needs_data = pytest.mark.skipif(
    shared_data_dir(f"{REF}/original/expected.json", "mmhal/mmhal-bench_answer_template.json")
    is None, reason="shared reference data for MMHal-Bench not found (../shared/data)")


def replies(ref):
    reviews = json.loads((ref / "judge/mmhal_review.synth.json").read_text())
    keys = [json.loads(x) for x in (ref / "judge/mmhal_review_prompts.synth.jsonl"
                                    ).read_text().splitlines() if x.strip()]
    return {k["prompt_sha256"]: reviews[k["index"]]["choices"][0]["message"]["content"]
            for k in keys}


def original_prompt(row, answer):
    """The review prompt as the original builds it: str.format on its own template file."""
    template = (shared_data_dir() / "mmhal/judge_prompt_template.txt").read_text()
    return template.format(", ".join(row["image_content"]), row["question"], row["gt_answer"],
                           answer)


def merged_replies(ref):
    """The replay plus, for answers RLAIF-V's JSONL merge changes ("Assistant:" removed,
    stripped), the same review under the prompt the merged answer gives; every other prompt
    must hash as the reference says (checks this construction)."""
    out = replies(ref)
    by_index = {json.loads(x)["index"]: json.loads(x)["prompt_sha256"] for x in
                (ref / "judge/mmhal_review_prompts.synth.jsonl").read_text().splitlines()}
    rows = json.loads((ref / "answers/mmhal_answers.synth.json").read_text())
    changed = []
    for i, row in enumerate(rows):
        raw = row["model_answer"]
        assert sha256(original_prompt(row, raw)) == by_index[i]
        merged = raw.replace("Assistant:", "").strip()
        if merged != raw:
            changed.append(i)
            out[sha256(original_prompt(row, merged))] = out[by_index[i]]
    return out, changed


def sha256(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def run(tmp, answers, variant, judge="mmhal-gpt-4-0314", *extra, replay=None,
        model="gpt-4-0314", requests=None):
    ref = shared_data_dir() / REF
    with ReplayServer(replay or replies(ref), model=model) as server:
        res = CliRunner().invoke(app, [str(a) for a in (
            "audit", answers, "--metric", "mmhal", "--option", f"mmhal_variant={variant}",
            "--judge", judge, "--option", f"judge_base_url={server.url}", "--cache-dir",
            tmp / "cache", "--bootstrap", "200", "--out", tmp / "out", "--quiet", *extra)])
        assert res.exit_code == 0, res.output
        assert not server.unknown, "halluscope sent a prompt the original never sends"
        assert set(server.roles) == {("user",)}
        if requests is not None:
            requests.update(server.requests)
    items = [json.loads(x) for x in (tmp / "out/items.jsonl").read_text().splitlines()]
    return json.loads((tmp / "out/results.json").read_text()), items


def check_original(res, items, expected):
    m = res["metrics"]["mmhal"]
    ref = expected["metrics"]
    assert math.isclose(m["average_score"]["value"], ref["average_score"], abs_tol=1e-12)
    assert math.isclose(m["hallucination_rate"]["value"], ref["hallucination_rate"],
                        abs_tol=1e-12)
    for qtype, value in ref["average_score_per_type"].items():
        assert math.isclose(m["groups"][qtype]["average_score"]["value"], value, abs_tol=1e-12)
    assert f"{m['average_score']['value']:.2f}" == "2.71"
    # RLAIF-V's summarize_gpt_mmhal_review.py prints "Informativeness: 34.03"
    assert f"{100 * m['informativeness']['value']:.2f}" == \
        expected["metrics"]["informativeness (C only)"]
    by_index = {it["mmhal"]["index"]: it["mmhal"] for it in items}
    assert len(by_index) == 96
    for ref_item in expected["items"]:
        ours = by_index[ref_item["index"]]
        assert ours["judge_raw"] == ref_item["judge_output"]
        assert ours["rating"] == ref_item["parsed_rating"], ref_item["index"]
        assert ours["hallucination"] == ref_item["hallucination"]
        assert ours["parse_fallback_to_0"] == ref_item["parse_fallback_to_0"]
        assert ours["question_type"] == ref_item["question_type"]
    fallbacks = sorted(i for i, it in by_index.items() if it["parse_fallback_to_0"])
    assert fallbacks == next(v for k, v in expected.items() if k.startswith("parse_warnings"))
    assert m["parse_fallback_to_0"]["value"] == len(fallbacks) == 10


@needs_data
def test_original_on_the_template_layout(tmp_path):
    ref = shared_data_dir() / REF
    res, items = run(tmp_path, ref / "answers/mmhal_answers.synth.json", "original")
    check_original(res, items, json.loads((ref / "original/expected.json").read_text()))
    info = res["metrics"]["mmhal"]["info"]
    assert info["judge"]["model"] == "gpt-4-0314"
    assert info["judge"]["prompts"]["mmhal_rating"]["sha256"] == \
        "1a4e34f36291fa43e5d42f73931d2f7f5177e673395b9df2760bbaa53d3719ff"


@needs_data
def test_original_on_the_rlaifv_jsonl_layout(tmp_path):
    data = shared_data_dir()
    ref = data / REF
    replay, changed = merged_replies(ref)
    assert changed, "expected some answers that RLAIF-V's merge strips"
    res, items = run(tmp_path, ref / "answers/mmhal_answers.synth.jsonl", "original",
                     "mmhal-gpt-4-0314", "--option",
                     f"mmhal_template={data / 'mmhal/mmhal-bench_answer_template.json'}",
                     replay=replay)
    check_original(res, items, json.loads((ref / "original/expected.json").read_text()))


@needs_data
def test_original_with_rlaifv_judge_spec(tmp_path):
    """RLAIF-V's run (eval_rlaifv_mmhal.sh: --is_jsonl, --gpt-model gpt-4-1106-preview) with
    its pinned judge: the same prompt, asked as gpt4_grpc.Chat asks it (temperature 0, top_p
    1, max_tokens 512), the same numbers, and the run sheet names that judge."""
    data = shared_data_dir()
    ref = data / REF
    replay, _ = merged_replies(ref)
    requests = Counter()
    res, items = run(tmp_path, ref / "answers/mmhal_answers.synth.jsonl", "original",
                     "mmhal-gpt-4-1106-preview", "--option",
                     f"mmhal_template={data / 'mmhal/mmhal-bench_answer_template.json'}",
                     replay=replay, model="gpt-4-1106-preview", requests=requests)
    check_original(res, items, json.loads((ref / "original/expected.json").read_text()))
    assert dict(requests) == {("gpt-4-1106-preview", 0.0, 1.0, 512): 96}
    judge = res["metrics"]["mmhal"]["info"]["judge"]
    assert (judge["name"], judge["model"], judge["pin"]) == (
        "mmhal-gpt-4-1106-preview", "gpt-4-1106-preview", "openai/gpt-4-1106-preview")
    assert judge["prompts"]["mmhal_rating"]["sha256"] == \
        "1a4e34f36291fa43e5d42f73931d2f7f5177e673395b9df2760bbaa53d3719ff"
    sheet = json.loads((tmp_path / "out/runsheet.json").read_text())["metrics"]["mmhal"]
    assert sheet["judge"]["name"] == "mmhal-gpt-4-1106-preview"
    assert sheet["judge"]["decoding"]["max_tokens"] == 512


@needs_data
def test_refined_counts_unparsable_ratings_apart(tmp_path):
    ref = shared_data_dir() / REF
    expected = json.loads((ref / "original/expected.json").read_text())
    res, items = run(tmp_path, ref / "answers/mmhal_answers.synth.json", "refined")
    m = res["metrics"]["mmhal"]
    strict = {i["index"]: parse_mmhal_rating(i["judge_output"]) for i in expected["items"]}
    kept = {i: p.value for i, p in strict.items() if p.ok}
    assert m["unverifiable"]["value"] == 96 - len(kept) > 0
    assert m["rated"]["value"] == len(kept)
    assert math.isclose(m["average_score"]["value"], sum(kept.values()) / len(kept))
    assert math.isclose(m["hallucination_rate"]["value"],
                        sum(v < 3 for v in kept.values()) / len(kept))
    lo, hi = m["average_score"]["ci"]
    assert lo <= m["average_score"]["value"] <= hi


# -- hand-worked parses (no shared data needed) ------------------------------------------------
@pytest.mark.parametrize("text,rating,fallback", [
    ("Explanation.\n\nRating: 4, somewhat informative", 4, False),
    ("**Rating: 4**", 4, False), ("Rating: 3.5", 3, False), ("Rating: 10", 1, False),
    ("Rating:4", 0, True), ("Score: 4", 0, True), ("Rating: six", 0, True), ("", 0, True),
    ("Rating: 2 ... on reflection Rating: 1", 0, True)])
def test_original_rating_parse(text, rating, fallback):
    assert original_rating(text) == (rating, fallback)


@pytest.mark.parametrize("text,value", [
    ("Explanation.\n\nRating: 4, somewhat informative", 4), ("**Rating: 4**", 4),
    ("Rating:4", 4), ("rating: 6.", 6), ("Rating: 3.5", None), ("Rating: 10", None),
    ("Score: 4", None), ("", None), ("Rating: 2 ... Rating: 1", None),
    ("Rating: 2, very informative. Final Rating: 2", 2)])
def test_refined_rating_parse(text, value):
    parsed = parse_mmhal_rating(text)
    assert parsed.ok == (value is not None)
    assert parsed.value == value


@needs_data
def test_original_on_fewer_rows_says_the_question_types_shift(tmp_path, caplog):
    """The original asserts 96 rows and takes each row's question type from its position; a
    missing row was only noted in the run sheet while every later type shifted."""
    import logging
    ref = shared_data_dir() / REF
    rows = json.loads((ref / "answers/mmhal_answers.synth.json").read_text())
    del rows[10]
    short = tmp_path / "short.json"
    short.write_text(json.dumps(rows))
    with caplog.at_level(logging.WARNING, logger="halluscope.metrics.mmhal"):
        res, _ = run(tmp_path, short, "original")
    assert "mmhal original: 95 records, but the original asserts 96" in caplog.text
    assert "got 95" in res["metrics"]["mmhal"]["info"]["warning"]


class _ListJudge:
    """Gives each answer the next of its judge texts."""

    def __init__(self, texts):
        from halluscope.judges.reliability import JudgeStats
        self.stats, self.texts = JudgeStats(), list(texts)

    def ask_sync(self, use, **values):
        from halluscope.judges.judge import JudgeAnswer
        from halluscope.judges.parsers import parse_mmhal_rating
        raw = self.texts.pop(0)
        parsed = parse_mmhal_rating(raw)
        return JudgeAnswer(parsed.value if parsed.ok else None, raw, parsed.ok, parsed.error)

    def describe(self):
        return {"name": "list"}

    def close(self):
        pass


@pytest.mark.parametrize("variant", ["original", "refined"])
def test_informativeness_as_rlaifv_summarizes_it(variant):
    """RLAIF-V's summarize_gpt_mmhal_review.py also prints Informativeness: the mean over the
    ratings of (s - 3 if s >= 3 else s), divided by 3 (in percent there). Ratings 6, 5, 4, 3,
    2, 1, 0 give 3, 2, 1, 0, 2, 1, 0: 9 / 7 / 3 = 0.428571...; an unreadable rating is 0 for
    the original (so 0 informative), left out by refined (9 / 7 / 3 again)."""
    from halluscope.metrics.mmhal import MMHalMetric
    from halluscope.records import Record, Source
    texts = [f"Rating: {s}" for s in (6, 5, 4, 3, 2, 1, 0)] + ["Rating: six"]
    metric = MMHalMetric(judge=_ListJudge(texts), variant=variant, n_boot=0)
    for i in range(8):
        metric.update(Record(id=str(i), task="vqa", prompt=f"Q{i}?", response="A.",
                             metadata={"image_content": ["x"], "gt_answer": "A."},
                             source=Source("a.json", i + 1)))
    got = metric.compute().results["informativeness"]
    assert got.value == pytest.approx(9 / (8 if variant == "original" else 7) / 3)
    assert got.n == (8 if variant == "original" else 7)
