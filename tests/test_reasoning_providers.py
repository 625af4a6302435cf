"""A reasoning model's thoughts are kept out of the answer with every provider, fresh or cached.

* Anthropic: extended thinking's ``thinking`` blocks are ``reasoning``; a ``redacted_thinking``
  block is noted there, its encrypted data written nowhere (output, run sheet, cache).
* Gemini: a ``"thought": true`` part (a thought summary) is ``reasoning``.
* Local transformers: a decoded ``<think>`` block is split off by the OpenAI path's function.
* OpenAI-compatible: no content, finish_reason ``stop`` and only reasoning is an empty answer.
* The cache: a fresh answer replaces a row no answer could be read from.

Servers are the loopback :class:`FakeServer` (tests/fake_openai_server.py); the local model is a
fake one.
"""

from __future__ import annotations

import json

import pytest

from fake_openai_server import FakeServer
from tests.test_adapters_faults import _lines, _prompts
from halluscope.adapters.client import RetryPolicy
from halluscope.adapters.query import query

FAST = RetryPolicy(max_attempts=6, base_delay=0.01, max_delay=0.02)
THOUGHT = "The user asks what is shown. I see a dog on a sofa."
SECRET_BLOB = "EqQBCkgIARABGAIiQL0encryptedthinkingpayloadZZZ0123456789"


def _run_twice(tmp_path, model, server, **options):
    """The same prompts asked twice with one cache: (first run's lines, second run's lines)."""
    prompts = _prompts(tmp_path, {"a": "What is it?"})
    runs = []
    for n in (1, 2):
        out = tmp_path / f"out{n}.jsonl"
        query(prompts, model, base_url=server.base, cache=tmp_path / "cache", retry=FAST,
              out=out, **options)
        runs.append(_lines(out)["a"])
    return runs


# -- Anthropic extended thinking --------------------------------------------------------------
def _claude(blocks, stop="end_turn"):
    return {"body": {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-t",
                     "content": blocks, "stop_reason": stop, "stop_sequence": None,
                     "usage": {"input_tokens": 5, "output_tokens": 7}}}


def test_claude_thinking_is_reasoning_and_redacted_thinking_is_only_noted(tmp_path,
                                                                          monkeypatch):
    """Claude's thinking blocks were dropped (the text blocks alone were the answer); they are
    now ``reasoning``, and a redacted block is said to have been there, its encrypted data
    kept nowhere. Served from the cache the line is the same."""
    from halluscope.adapters.anthropic import REDACTED_THINKING
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-think-0123456789")
    blocks = [{"type": "thinking", "thinking": THOUGHT, "signature": "sig-abc"},
              {"type": "redacted_thinking", "data": SECRET_BLOB},
              {"type": "text", "text": "A dog "}, {"type": "text", "text": "on a sofa."}]
    with FakeServer(responder=lambda prompt, body: _claude(blocks)) as server:
        first, second = _run_twice(tmp_path, "anthropic/claude-t", server)
        assert len(server.requests) == 1                       # the second run: from the cache
    assert first["response"] == "A dog on a sofa."
    assert first["reasoning"] == f"{THOUGHT}\n\n{REDACTED_THINKING}"
    assert second == first
    written = [p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()
               and p.name != "p.jsonl"]
    assert not any(SECRET_BLOB.encode() in data or b"sig-abc" in data for data in written)
    sheet = json.loads((tmp_path / "out1.jsonl.runsheet.json").read_text())
    assert sheet["counts"]["reasoning"] == 1


def test_claude_thinking_only_is_an_empty_answer_with_its_reasoning(tmp_path, monkeypatch):
    """Thinking that used all of max_tokens leaves no text block: an empty answer cut short,
    as before, now with the thoughts beside it; no thinking at all leaves no ``reasoning``."""
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-think-0123456789")
    replies = {"cut": _claude([{"type": "thinking", "thinking": THOUGHT, "signature": "s"}],
                              stop="max_tokens"),
               "plain": _claude([{"type": "text", "text": "A cat."}])}
    prompts = _prompts(tmp_path, {"cut": "cut", "plain": "plain"})
    with FakeServer(responder=lambda prompt, body: replies[prompt]) as server:
        query(prompts, "anthropic/claude-t", base_url=server.base, cache=None, retry=FAST,
              out=tmp_path / "out.jsonl")
    lines = _lines(tmp_path / "out.jsonl")
    assert lines["cut"]["response"] == "" and lines["cut"]["reasoning"] == THOUGHT
    assert lines["cut"]["finish_reason"] == "max_tokens" and "error" not in lines["cut"]
    assert lines["plain"]["response"] == "A cat." and "reasoning" not in lines["plain"]


# -- Gemini thought summaries -------------------------------------------------------------------
def test_a_gemini_thought_summary_is_reasoning_fresh_and_cached(tmp_path, monkeypatch):
    """A ``"thought": true`` part was left out of the answer and lost; it is now ``reasoning``,
    the same when served from the cache. Thoughts alone (no answer text) are an empty answer
    with its reasoning."""
    monkeypatch.setenv("GEMINI_API_KEY", "gemini-think-0123456789")
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    reply = {"text": "A dog.", "thought": f"  {THOUGHT}\n"}
    with FakeServer(responder=lambda prompt, body: reply) as server:
        first, second = _run_twice(tmp_path, "gemini/g", server)
        assert len(server.requests) == 1
    assert first["response"] == "A dog." and first["reasoning"] == THOUGHT
    assert second == first
    only = {"text": "", "thought": THOUGHT}
    with FakeServer(responder=lambda prompt, body: only) as server:
        query(_prompts(tmp_path, {"b": "x"}), "gemini/g", base_url=server.base, cache=None,
              retry=FAST, out=tmp_path / "only.jsonl")
    line = _lines(tmp_path / "only.jsonl")["b"]
    assert line["response"] == "" and line["reasoning"] == THOUGHT and "error" not in line


# -- local transformers models ------------------------------------------------------------------
@pytest.fixture(scope="module")
def llava(tmp_path_factory):
    pytest.importorskip("torch")
    from tiny_vlms import tiny_vlm
    return tiny_vlm("llava", tmp_path_factory.mktemp("tiny"))


def _local(llava, monkeypatch, decoded, opens=False):
    """The tiny local model, its decoded reply replaced by ``decoded`` and, with ``opens``, its
    chat template made to end the generation prompt with ``<think>`` (as DeepSeek-R1's)."""
    from halluscope.adapters.registry import get_model
    api = get_model(f"hf/{llava}", device="cpu", dtype="float32")
    api.load()
    tokenizer = getattr(api._processor, "tokenizer", api._processor)
    monkeypatch.setattr(tokenizer, "decode", lambda ids, **kw: decoded)
    if opens:
        prompt = api._prompt
        monkeypatch.setattr(api, "_prompt", lambda conv: prompt(conv) + "<think>\n")
    return api


def _generate(api, cache=None):
    import asyncio

    from halluscope.adapters.client import ModelClient
    from halluscope.adapters.types import Decoding, Message, Request

    async def main():
        client = ModelClient(api, cache=cache)
        return await client.generate(Request((Message.user("Describe a cat."),),
                                             Decoding(max_tokens=4)))
    return asyncio.run(main())


def test_a_local_models_think_block_is_split_off_as_the_openai_path_splits_it(llava,
                                                                              monkeypatch):
    """A Qwen3 answer decoded with its ``<think>`` block was audited whole, thoughts included;
    the block is now ``reasoning``, split by the shared rule (an unclosed block leaves an empty
    answer). A template that opens the block itself (DeepSeek-R1 distills) leaves only the
    ``</think>`` in the decoded text: what comes before it is a thought too."""
    from halluscope.adapters import types
    replies = {f"<think>\n{THOUGHT}\n</think>\n\nA cat. ": ("A cat.", THOUGHT, False),
               f"<think>{THOUGHT}": ("", THOUGHT, False),
               f"{THOUGHT}\n</think>\n\nA cat.": ("A cat.", THOUGHT, True),
               " A cat. ": ("A cat.", None, False)}
    seen = []
    real = types.finish_reply
    monkeypatch.setattr("halluscope.adapters.hf_local.finish_reply",
                        lambda *a: seen.append(a) or real(*a))
    for decoded, (answer, reasoning, opens) in replies.items():
        with monkeypatch.context() as m:
            resp = _generate(_local(llava, m, decoded, opens))
        assert (resp.text, resp.reasoning) == (answer, reasoning), decoded
    assert len(seen) == len(replies)                       # the one shared rule, every time


def test_a_local_answer_cached_with_its_think_block_is_served_split(llava, monkeypatch,
                                                                    tmp_path):
    """An answer a local model gave before the split was cached whole; read now it is split
    (no generation); a fresh one is cached so that a hit gives the same answer."""
    import sqlite3

    from halluscope.adapters.cache import ResponseCache
    from halluscope.adapters.types import Response
    api = _local(llava, monkeypatch, f"<think>{THOUGHT}</think>A cat.")
    with ResponseCache(tmp_path) as cache:
        fresh = _generate(api, cache)
    with ResponseCache(tmp_path) as cache:
        hit = _generate(api, cache)
    assert hit.cached and (hit.text, hit.reasoning) == (fresh.text, fresh.reasoning) \
        == ("A cat.", THOUGHT)
    old = Response(text=f"<think>{THOUGHT}</think>A dog.", model="m").to_cache()
    with sqlite3.connect(tmp_path / "responses.sqlite3") as conn:
        conn.execute("UPDATE responses SET response = ?", (json.dumps(old),))
    monkeypatch.setattr(api, "generate_sync", lambda request: pytest.fail("asked again"))
    with ResponseCache(tmp_path) as cache:
        hit = _generate(api, cache)
    assert (hit.text, hit.reasoning) == ("A dog.", THOUGHT)


# -- OpenAI-compatible: reasoning alone ---------------------------------------------------------
def test_reasoning_alone_with_finish_stop_is_an_empty_answer_not_retried(tmp_path, monkeypatch):
    """A reasoning model that stops after its thoughts sends no content, ``reasoning_content``
    and finish_reason ``stop``. That was a malformed body, asked 6 times and then a failed
    record; asking again spends the output the same way. It is an empty answer with its
    reasoning (as content that is all ``<think>`` block is), counted apart, and an audit of
    it scores the empty answer by its rule and says so, never as an answer given silently."""
    import halluscope
    monkeypatch.setenv("OPENAI_API_KEY", "sk-thoughtonly-0123456789")
    body = {"model": "m", "choices": [{"finish_reason": "stop", "message": {
        "role": "assistant", "content": None, "reasoning_content": THOUGHT}}]}
    with FakeServer(responder=lambda prompt, b: {"body": body}) as server:
        prompts = tmp_path / "p.jsonl"
        prompts.write_text(json.dumps({"id": "a", "prompt": "Is there a dog in the image?",
                                       "label": "yes"}) + "\n")
        query(prompts, "vllm/m", base_url=server.base, cache=None, retry=FAST,
              out=tmp_path / "out.jsonl")
        assert len(server.requests) == 1                       # not retried
    line = _lines(tmp_path / "out.jsonl")["a"]
    assert line["response"] == "" and line["reasoning"] == THOUGHT
    assert line["finish_reason"] == "stop" and "error" not in line
    counts = json.loads((tmp_path / "out.jsonl.runsheet.json").read_text())["counts"]
    assert counts["reasoning"] == counts["thought_only"] == 1 and counts["failed"] == 0
    result = halluscope.audit(tmp_path / "out.jsonl", metrics="pope", n_boot=0)
    assert result.runsheet["counts"]["empty_answers_scored"] == {"pope": 1}


def test_an_answer_holding_the_close_of_a_template_opened_think_block_is_kept_and_said(
        tmp_path, monkeypatch):
    """An R1 distill behind a server without a reasoning parser: its chat template opened the
    ``<think>`` block, so the content is ``thoughts</think>answer``. The tag alone cannot tell
    such thoughts from an answer that mentions it, so the answer is kept as written, but it is
    counted (``think_close``) and ``halluscope query`` says what it likely is."""
    from typer.testing import CliRunner

    from halluscope.cli import app
    monkeypatch.setenv("OPENAI_API_KEY", "sk-thinkclose-0123456789")
    text = f"{THOUGHT}\n</think>\n\nYes, there is a dog."
    body = {"model": "m", "choices": [{"finish_reason": "stop", "message": {
        "role": "assistant", "content": text}}]}
    with FakeServer(responder=lambda prompt, b: {"body": body}) as server:
        prompts = tmp_path / "p.jsonl"
        prompts.write_text(json.dumps({"id": "a", "prompt": "Is there a dog in the image?",
                                       "label": "yes"}) + "\n")
        res = CliRunner().invoke(app, ["query", str(prompts), "--model", "vllm/m",
                                       "--base-url", server.base, "--no-cache",
                                       "--out", str(tmp_path / "out.jsonl")])
    assert res.exit_code == 0, res.output
    line = _lines(tmp_path / "out.jsonl")["a"]
    assert line["response"] == text and "reasoning" not in line
    counts = json.loads((tmp_path / "out.jsonl.runsheet.json").read_text())["counts"]
    assert counts["think_close"] == 1 and counts["reasoning"] == 0
    said = " ".join(res.output.split())
    assert "1 answer(s) hold a '</think>' with no '<think>' before it" in said
    assert "--reasoning-parser" in said


# -- the cache: an unreadable row gives way to a fresh answer ------------------------------------
def _cached_rows(tmp_path):
    import sqlite3
    with sqlite3.connect(tmp_path / "cache" / "responses.sqlite3") as conn:
        return [json.loads(r[0]) if r[0].startswith("{") else r[0]
                for r in conn.execute("SELECT response FROM responses")]


@pytest.mark.parametrize("unreadable", ['{"text": 5}', "not json", '["a dog"]'] + [
    # a reply as sent (`content`, which a read splits again) that is not text stopped the
    # query in the split (AttributeError: exit 3): a row no answer can be read from too
    json.dumps({"text": "A dog.", "content": c}) for c in (5, ["a dog"], {"text": "a dog"})])
def test_a_fresh_answer_replaces_a_cache_row_no_answer_could_be_read_from(tmp_path, monkeypatch,
                                                                          unreadable):
    """A row with no readable answer was a miss, but the fresh answer was not written over it
    (the first answer written wins): the same prompt was asked again on every run. The fresh
    answer now takes its place; the next run is served from the cache."""
    import sqlite3
    monkeypatch.setenv("OPENAI_API_KEY", "sk-unreadable-0123456789")
    prompts = _prompts(tmp_path, {"a": "What is it?"})
    with FakeServer(responder=lambda prompt, body: "A dog.") as server:
        query(prompts, "vllm/m", base_url=server.base, cache=tmp_path / "cache", retry=FAST,
              out=tmp_path / "o1.jsonl")
        with sqlite3.connect(tmp_path / "cache" / "responses.sqlite3") as conn:
            conn.execute("UPDATE responses SET response = ?", (unreadable,))
        for n in (2, 3):
            query(prompts, "vllm/m", base_url=server.base, cache=tmp_path / "cache",
                  retry=FAST, out=tmp_path / f"o{n}.jsonl")
            assert _lines(tmp_path / f"o{n}.jsonl")["a"]["response"] == "A dog."
            sheet = json.loads((tmp_path / f"o{n}.jsonl.runsheet.json").read_text())
            assert sheet["cache"].get("replaced") == (1 if n == 2 else None)
        assert len(server.requests) == 2                     # runs 1 and 2; run 3 is a hit
    assert [row["text"] for row in _cached_rows(tmp_path)] == ["A dog."]


def test_only_the_unreadable_row_is_replaced_never_an_answer(tmp_path):
    """A readable row is never overwritten, and an unreadable one that another process has
    answered since it was read stays that process's answer (the first answer wins)."""
    import sqlite3

    from halluscope.adapters.cache import ResponseCache
    from halluscope.adapters.types import Response
    (tmp_path / "cache").mkdir()
    with ResponseCache(tmp_path / "cache") as cache:
        cache.put("k", {}, Response(text="first", model="m"))
        cache.put("k", {}, Response(text="second", model="m"))
        assert cache.get("k").text == "first"
        with sqlite3.connect(cache.path) as conn:
            conn.execute("UPDATE responses SET response = '{}'")
        assert cache.get("k") is None                         # unreadable: a miss
        with sqlite3.connect(cache.path) as conn:             # another process answers it
            conn.execute("UPDATE responses SET response = ?",
                         (json.dumps(Response(text="theirs", model="m").to_cache()),))
        cache.put("k", {}, Response(text="mine", model="m"))
        assert cache.get("k").text == "theirs" and cache.replaced == 0
