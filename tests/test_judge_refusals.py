"""A pinned judge's refusal (the model declined, or its provider's filter withheld the answer)
is its answer to that request: kept in the response cache with its text and reason, read back
the same on a rerun (which asked again before, and could get a verdict the first run did not),
and shown as a refusal, never scored as a verdict. Driven against a loopback server that
refuses the first time a question is asked and answers after."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from fake_openai_server import FakeServer

from halluscope.adapters.cache import ResponseCache
from halluscope.adapters.types import Declined, is_refusal
from halluscope.cli import app
from halluscope.judges.judge import Judge
from halluscope.types import Claim

HERE = Path(__file__).resolve().parent
SPEC = HERE / "judges" / "loopback-judge.toml"
JUDGE_MODEL = "loopback-judge-2025-01-01"
SUPPORTED = '{"verdict": "supported", "confidence": 0.9, "reason": "visible"}'
PURPLE = '{"verdict": "hallucinated", "confidence": 0.8, "reason": "the dog is brown"}'


def _refusal_body(refusal: str | None, finish: str = "stop") -> dict:
    message = {"role": "assistant", "content": None}
    if refusal is not None:
        message["refusal"] = refusal
    return {"body": {"id": "chatcmpl-r", "object": "chat.completion", "model": JUDGE_MODEL,
                     "choices": [{"index": 0, "finish_reason": finish, "message": message}]}}


class FirstRefuses:
    """A responder that refuses (``refusal``) the first time a prompt holding ``key`` comes,
    answers ``answer`` after, and answers anything else with ``other``."""

    def __init__(self, key: str, answer: str, refusal: dict, other: str = SUPPORTED):
        self.key, self.answer, self.refusal, self.other = key, answer, refusal, other
        self.asked = 0

    def __call__(self, prompt: str, body: dict):
        if self.key not in prompt:
            return self.other
        self.asked += 1
        return self.refusal if self.asked == 1 else self.answer


@pytest.fixture(autouse=True)
def _env(monkeypatch):
    for var in ("OPENAI_API_KEY", "VLLM_API_KEY", "HALLUSCOPE_OFFLINE"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def image(tmp_path) -> Path:
    Image.new("RGB", (32, 32), (120, 80, 40)).save(tmp_path / "a.png")
    return tmp_path / "a.png"


DOG = Claim(text="a dog", kind="existence", subject="dog")


def _verify(url: str, cache: Path, image: Path, **kw):
    judge = Judge(SPEC, base_url=url, cache=cache, **kw)
    try:
        return judge.verify_sync(DOG, image), judge.stats.use("verify").to_dict()
    finally:
        judge.close()


@pytest.mark.parametrize("refusal, said", [
    (_refusal_body("I can't help with that."), "the model declined to answer (message.refusal)"),
    (_refusal_body(None, "content_filter"), "the provider's content filter withheld the answer"),
])
def test_a_refusal_is_kept_and_read_back_the_same(tmp_path, image, refusal, said):
    responder = FirstRefuses("There is a dog", SUPPORTED, refusal)
    with FakeServer(responder=responder) as server:
        first, stats1 = _verify(server.url, tmp_path / "c", image)
        again, stats2 = _verify(server.url, tmp_path / "c", image)
        asked = len(server.requests)
    assert asked == 1 and responder.asked == 1      # the rerun read the refusal, asked nothing
    for verdict in (first, again):
        assert verdict.label == "unverifiable" and verdict.confidence is None
        assert verdict.reason.startswith(f"the judge refused: {said}")
        payload = verdict.evidence[0].payload
        assert payload["refused"] is True and payload["raw"] is None
        assert payload["error"] == verdict.reason
    assert first.evidence[0].payload == again.evidence[0].payload   # not "cached: true"
    assert first.evidence[0].payload["refusal"] == (
        "I can't help with that." if "refusal" in said else None)
    assert first.evidence[0].provenance["reported_model"] == JUDGE_MODEL
    assert stats1["refusals"] == stats2["refusals"] == 1
    assert stats1["call_failures"] == 1 and stats1["cached"] == 0 and stats2["cached"] == 1
    rows = ResponseCache(tmp_path / "c").rows("declined")
    assert len(rows) == 1 and json.loads(rows[0]["declined"])["model"] == JUDGE_MODEL


def test_a_kept_refusal_is_served_offline(tmp_path, image):
    with FakeServer(responder=FirstRefuses("There is a dog", SUPPORTED,
                                           _refusal_body("No."))) as server:
        url = server.url
        _verify(url, tmp_path / "c", image)
    verdict, stats = _verify(url, tmp_path / "c", image, offline=True)   # the server is gone
    assert verdict.evidence[0].payload["refused"] is True and stats["cached"] == 1


def test_other_failures_are_not_kept(tmp_path, image):
    """An HTTP 400 (a request the server rejects as sent: its configuration, not the judge's
    decision) and a 5xx are no refusal: asked again on the rerun, which gets the verdict."""
    with FakeServer(responder=lambda p, b: SUPPORTED,
                    script={"There is a dog": ["refuse", "500"]}) as server:
        first, _ = _verify(server.url, tmp_path / "c", image, max_attempts=1)
        second, _ = _verify(server.url, tmp_path / "c", image, max_attempts=1)
        third, _ = _verify(server.url, tmp_path / "c", image, max_attempts=1)
    assert "refused" not in first.evidence[0].payload and first.label == "unverifiable"
    assert "refused" not in second.evidence[0].payload and second.label == "unverifiable"
    assert third.label == "supported"
    assert ResponseCache(tmp_path / "c").rows("declined") == []


def test_an_unreadable_verdict_is_cached_and_read_back_the_same(tmp_path, image):
    """An answer the parser cannot read is an answer: cached, and the rerun shows the same
    raw text unverifiable, without asking (it was never asked again)."""
    answers = iter(["I cannot tell, sorry.", SUPPORTED])
    with FakeServer(responder=lambda p, b: next(answers)) as server:
        first, _ = _verify(server.url, tmp_path / "c", image)
        again, stats = _verify(server.url, tmp_path / "c", image)
        assert len(server.requests) == 1
    assert first == again and first.label == "unverifiable"
    assert "could not be parsed" in first.reason and stats["cached"] == 1


def test_other_uses_show_the_refusal(tmp_path):
    responder = FirstRefuses("Answer:", "Yes.", _refusal_body("Not allowed."))
    with FakeServer(responder=responder) as server:
        for _ in range(2):
            judge = Judge(SPEC, base_url=server.url, cache=tmp_path / "c")
            got = judge.classify_yes_no_detailed_sync("I think so", "Is there a dog?")
            judge.close()
            assert got.label == "unknown" and got.refused and got.refusal == "Not allowed."
            assert got.raw is None and got.error.startswith("the judge refused: ")
        assert len(server.requests) == 1


def test_query_neither_keeps_nor_reads_refusals(tmp_path):
    """``halluscope query`` asks a refusal again with ``--retry-failed``: its model's
    refusals are kept in its output file, not the cache (a judge's cache entry under the same
    key is not served to it either)."""
    cache = ResponseCache(tmp_path / "c")
    cache.put_declined("k", {"provider": "vllm", "model": "m"}, Declined("no"))
    assert cache.get("k") is None and cache.misses == 1
    got = cache.get("k", declined=True)
    assert isinstance(got, Declined) and got.cached and str(got) == "no" and is_refusal(got)
    assert cache.holds("k")
    cache.close()
    (tmp_path / "p.jsonl").write_text('{"id": "a", "prompt": "Say no"}\n')
    responder = FirstRefuses("Say no", "fine", _refusal_body("Nope."))
    with FakeServer(responder=responder) as server:
        args = ["query", str(tmp_path / "p.jsonl"), "-m", "vllm/m", "--base-url", server.url,
                "--cache", str(tmp_path / "c"), "-q", "--retry-failed"]
        first = CliRunner().invoke(app, [*args, "-o", str(tmp_path / "o1.jsonl")])
        second = CliRunner().invoke(app, [*args, "-o", str(tmp_path / "o2.jsonl")])
        assert len(server.requests) == 2, (first.output, second.output)
    assert json.loads((tmp_path / "o1.jsonl").read_text())["error"].startswith(
        "Declined: the model declined to answer (message.refusal): Nope.")
    assert json.loads((tmp_path / "o2.jsonl").read_text())["response"] == "fine"
    with sqlite3.connect(tmp_path / "c" / "responses.sqlite3") as conn:
        assert conn.execute("SELECT COUNT(*) FROM declined").fetchone()[0] == 1  # "k" only


def test_an_unreadable_kept_refusal_is_asked_again(tmp_path, caplog):
    cache = ResponseCache(tmp_path / "c")
    cache.put_declined("k", {"provider": "vllm", "model": "m"}, Declined("no"))
    with cache.connection() as conn:
        conn.execute("UPDATE declined SET declined = 'not json'")
    assert cache.get("k", declined=True) is None and cache.misses == 1
    assert "cannot read a refusal in the response cache" in caplog.text
    cache.close()


def test_an_audit_rerun_reads_the_judge_refusal_and_says_so(tmp_path, caplog):
    """The user's view: an audit whose judge refused a claim, run again on the same cache,
    gives the same items.jsonl (the refusal, not the verdict a second roll would give), and
    each run says how many calls were refusals."""
    (tmp_path / "img").mkdir()
    Image.new("RGB", (64, 64), (120, 80, 40)).save(tmp_path / "img" / "a.png")
    (tmp_path / "out.jsonl").write_text(json.dumps(
        {"id": "c1", "image": "img/a.png", "prompt": "Describe the image.",
         "response": "A purple dog sits on a sofa."}) + "\n")
    (tmp_path / "ann.json").write_text(json.dumps({"images": {"a.png": {
        "size": [64, 64], "objects": [{"label": "dog", "box": [0, 0, 30, 30]},
                                      {"label": "sofa", "box": [0, 20, 64, 64]}]}}}))
    responder = FirstRefuses("Statement: The dog is purple.", PURPLE,
                             _refusal_body("I won't judge colours."))
    said = []
    with FakeServer(responder=responder) as server:
        for run in ("r1", "r2"):
            caplog.clear()
            res = CliRunner().invoke(app, [
                "audit", str(tmp_path / "out.jsonl"), "--annotations", str(tmp_path / "ann.json"),
                "--judge", str(SPEC), "--option", f"judge_base_url={server.url}",
                "--cache-dir", str(tmp_path / "cache"), "--bootstrap", "0",
                "--out", str(tmp_path / run)])
            assert res.exit_code == 0, res.output
            said.append(" ".join(caplog.text.split()))
        assert responder.asked == 1
    items = [(tmp_path / run / "items.jsonl").read_text() for run in ("r1", "r2")]
    assert items[0] == items[1]
    purple = [c for c in json.loads(items[0])["claims"] if c.get("value") == "purple"][0]
    assert purple["verdict"] == "unverifiable"
    assert purple["reason"].startswith("the judge refused: the model declined to answer")
    assert purple["evidence"][0]["refused"] is True
    assert purple["evidence"][0]["refusal"] == "I won't judge colours."
    for text in said:       # the warning each run gives
        assert "the judge failed 1 of 1 calls" in text and "1 of them refusals (the judge " \
            "declined, or its provider's filter withheld the answer: kept in the response " \
            "cache, so a rerun reads the same; no verdict)" in text, text


def test_object_halbench_extraction_says_the_judge_refused():
    """Object HalBench's extraction leaves a record out when the judge gives no reply; a
    refusal said "the judge could not be asked", which it was."""
    from types import SimpleNamespace

    from halluscope.errors import RecordError
    from halluscope.judges.judge import JudgeAnswer
    from halluscope.metrics.objhal_extract import USE, JudgeExtractor

    refused = JudgeAnswer(None, None, False, "the judge refused: the model declined to answer",
                          refused=True, refusal="No.")

    async def ask_prompt(use, prompt, *, replicate=0):
        return refused
    template = SimpleNamespace(render=lambda **values: "extract")
    judge = SimpleNamespace(spec=SimpleNamespace(prompts={USE: template},
                                                 prompt=lambda use: template),
                            ask_prompt=ask_prompt, _run=lambda coro: _run_now(coro))
    with pytest.raises(RecordError, match="field .response.: the judge refused: the model dec"):
        JudgeExtractor(judge)("What is there?", "A dog.")


def _run_now(coro):
    import asyncio
    return asyncio.run(coro)
