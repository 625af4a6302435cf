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
from halluscope.adapters.client import RetryPolicy
from halluscope.adapters.query import query

FAST = RetryPolicy(max_attempts=6, base_delay=0.01, max_delay=0.02)
THOUGHT = "The user asks what is shown. I see a dog on a sofa."
SECRET_BLOB = "EqQBCkgIARABGAIiQL0encryptedthinkingpayloadZZZ0123456789"


def _lines(path):
    return {r["id"]: r for r in map(json.loads, path.read_text().splitlines())}


def _prompts(tmp_path, texts):
    path = tmp_path / "p.jsonl"
    path.write_text("".join(json.dumps({"id": k, "prompt": v}) + "\n" for k, v in texts.items()))
    return path


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
