"""Anthropic, Gemini and mock providers through their real SDKs against the loopback server,
and the secrets guarantee: an API key appears in no cache row, log line, output or run sheet."""

from __future__ import annotations

import base64
import json
import logging

import pytest
from PIL import Image

from fake_openai_server import FakeServer, ask_once
from halluscope.adapters.cache import ResponseCache
from halluscope.adapters.client import RetryPolicy
from halluscope.adapters.mock import MockModel
from halluscope.adapters.query import query
from halluscope.adapters.registry import get_model
from halluscope.adapters.types import AuthError, Decoding, Message, Request

ANTHROPIC_KEY = "sk-ant-test-0123456789"
GEMINI_KEY = "gemini-test-0123456789"
OPENAI_KEY = "sk-proj-SECRET-9876543210"


@pytest.fixture
def image(tmp_path):
    path = tmp_path / "wide.png"
    Image.new("RGB", (2400, 600), (0, 90, 200)).save(path)
    return path


def _request(image):
    from halluscope.adapters.types import ImagePart
    from halluscope.adapters.images import ImageLoader
    data = ImageLoader().read(str(image))
    user = Message("user", (ImagePart(str(image), data=data), *Message.user("What is it?").content))
    return Request((Message.system("Be brief."), user),
                   Decoding(temperature=0.0, max_tokens=50, seed=3, stop=("END",)))


def test_anthropic_payload_and_answer(monkeypatch, image):
    monkeypatch.setenv("ANTHROPIC_API_KEY", ANTHROPIC_KEY)
    with FakeServer(api_key=ANTHROPIC_KEY) as server:
        api = get_model("anthropic/claude-test-20250101", base_url=server.base)
        resp = ask_once(api, _request(image))
        body = server.requests[0]
    assert resp.text == "echo: What is it?" and resp.model == "claude-test-20250101"
    assert resp.usage == {"input_tokens": 3, "output_tokens": 4}
    assert body["system"] == "Be brief." and body["max_tokens"] == 50
    assert body["stop_sequences"] == ["END"] and "temperature" not in body
    img, text = body["messages"][0]["content"]
    assert text == {"type": "text", "text": "What is it?"}
    assert img["type"] == "image" and img["source"]["type"] == "base64"
    from io import BytesIO
    sent = Image.open(BytesIO(base64.b64decode(img["source"]["data"])))
    assert max(sent.size) <= 1568                       # the anthropic policy was applied


def test_anthropic_sampling_params_are_opt_in(monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", ANTHROPIC_KEY)
    with FakeServer() as server:
        api = get_model("anthropic/c", base_url=server.base, send_sampling_params=True)
        ask_once(api, Request((Message.user("x"),), Decoding(temperature=0.5, top_p=0.9)))
        assert server.requests[0]["temperature"] == 0.5 and server.requests[0]["top_p"] == 0.9


def test_anthropic_errors_map(monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", ANTHROPIC_KEY)
    from halluscope.adapters.types import RateLimited
    with FakeServer(script={"x": ["429"]}, retry_after="7") as server:
        api = get_model("anthropic/c", base_url=server.base)
        with pytest.raises(RateLimited) as info:
            ask_once(api, Request((Message.user("x"),)))
    assert info.value.retry_after == 7.0
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    with pytest.raises(AuthError, match="ANTHROPIC_API_KEY"):
        get_model("anthropic/c")


def test_gemini_payload_and_answer(monkeypatch, image):
    monkeypatch.setenv("GEMINI_API_KEY", GEMINI_KEY)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    with FakeServer(api_key=GEMINI_KEY) as server:
        api = get_model("gemini/gemini-test-001", base_url=server.base)
        resp = ask_once(api, _request(image))
        body = server.requests[0]
    assert resp.text == "echo: What is it?" and resp.model == "gemini-test-001"
    assert resp.usage == {"input_tokens": 3, "output_tokens": 4}
    cfg = body["generationConfig"]
    assert cfg["temperature"] == 0.0 and cfg["maxOutputTokens"] == 50 and cfg["seed"] == 3
    assert cfg["stopSequences"] == ["END"]
    assert body["systemInstruction"]["parts"][0]["text"] == "Be brief."
    parts = body["contents"][0]["parts"]
    inline = parts[0]["inlineData"]
    assert inline.get("mimeType", inline.get("mime_type")) == "image/png"
    assert parts[1]["text"] == "What is it?"


def test_gemini_errors_map(monkeypatch):
    monkeypatch.setenv("GEMINI_API_KEY", GEMINI_KEY)
    from halluscope.adapters.types import ServerError
    with FakeServer(script={"x": ["503"], "y": ["401"]}) as server:
        with pytest.raises(ServerError):
            ask_once(get_model("gemini/g", base_url=server.base), Request((Message.user("x"),)))
        with pytest.raises(AuthError):
            ask_once(get_model("gemini/g", base_url=server.base), Request((Message.user("y"),)))


def test_mock_behaviours_are_deterministic():
    req = Request((Message.user("Is there a cat?"),))
    assert ask_once(MockModel("echo"), req).text == "Is there a cat?"
    assert ask_once(MockModel("yes"), req).text == "Yes."
    a = ask_once(MockModel("yes-no"), req).text
    assert a in ("Yes.", "No.") and ask_once(MockModel("yes-no"), req).text == a
    cap = ask_once(MockModel("caption"), req).text
    assert cap.startswith("A ") and cap.endswith(".")
    scripted = MockModel("script", responses={"cat": "No cat."}, default="?")
    assert ask_once(scripted, req).text == "No cat."


@pytest.mark.parametrize("provider", ["openai", "anthropic", "gemini"])
def test_api_key_never_leaves_the_request(provider, tmp_path, monkeypatch, caplog):
    key = {"openai": OPENAI_KEY, "anthropic": ANTHROPIC_KEY, "gemini": GEMINI_KEY}[provider]
    env = {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY",
           "gemini": "GEMINI_API_KEY"}[provider]
    monkeypatch.setenv(env, key)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    monkeypatch.setenv("OPENAI_LOG", "debug")
    Image.new("RGB", (40, 40)).save(tmp_path / "i.png")
    src = tmp_path / "p.jsonl"
    with open(src, "w") as fh:
        for i in range(12):
            fh.write(json.dumps({"id": f"k{i}", "image": "i.png", "prompt": f"item {i}"}) + "\n")
    caplog.set_level(logging.DEBUG)
    script = {"item 1": ["leak", "leak"], "item 2": ["429", "500"], "item 3": ["leak"] * 9}
    with FakeServer(api_key=key, script=script) as server:
        base = server.url if provider == "openai" else server.base
        records = query(src, f"{provider}/model-x", out=tmp_path / "out.jsonl", base_url=base,
                        cache=tmp_path / "cache", retry=RetryPolicy(max_attempts=3,
                                                                    base_delay=0.01))
        assert any(key in json.dumps(h) for h in server.headers)  # it was sent...
    assert any("error" in r and "<redacted>" in r["error"] for r in records)
    texts = {
        "outputs": (tmp_path / "out.jsonl").read_text(),
        "run sheet": (tmp_path / "out.jsonl.runsheet.json").read_text(),
        "logs": "\n".join(r.getMessage() for r in caplog.records) + caplog.text,
        "records": json.dumps(records),
    }
    with ResponseCache(tmp_path / "cache") as cache:
        texts["cache rows"] = json.dumps(cache.rows())
    texts["cache file"] = (tmp_path / "cache" / "responses.sqlite3").read_bytes().decode(
        "latin-1")
    assert len(caplog.records) > 12          # the SDKs' and our own debug logging was on
    for where, text in texts.items():
        assert key not in text, f"the API key leaked into the {where}"  # ...and nowhere else


def test_a_gemini_thought_summary_is_no_part_of_the_answer(monkeypatch):
    """A thinking model's thought part was glued onto its answer ("Let me think: maybeA dog.");
    an answer stopped at the token limit says so."""
    monkeypatch.setenv("GEMINI_API_KEY", GEMINI_KEY)
    reply = {"text": "A dog.", "thought": "Let me think: maybe", "finish_reason": "length"}
    with FakeServer(api_key=GEMINI_KEY, responder=lambda prompt, body: reply) as server:
        resp = ask_once(get_model("gemini/g", base_url=server.base),
                    Request((Message.user("What is it?"),)))
    assert resp.text == "A dog." and resp.finish_reason.lower() == "max_tokens"


def test_filtered_and_truncated_openai_answers(tmp_path, monkeypatch):
    """A content-filtered empty answer was written as "response": "" and scored; an answer cut
    at the token limit looked complete."""
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    replies = {"a": {"text": "", "finish_reason": "content_filter"},
               "b": {"text": "A dog sits on a", "finish_reason": "length"},
               "c": {"text": "A cat.", "finish_reason": "stop"}}
    prompts = tmp_path / "p.jsonl"
    prompts.write_text("".join(json.dumps({"id": k, "prompt": f"Describe {k}."}) + "\n"
                               for k in replies))
    with FakeServer(responder=lambda prompt, body: replies[prompt.split()[-1][0]]) as server:
        result = query(prompts, "openai/gpt-test", base_url=server.url, cache=None,
                       out=tmp_path / "out.jsonl", max_attempts=1)
    lines = {r["id"]: r for r in map(json.loads, (tmp_path / "out.jsonl").read_text()
                                     .splitlines())}
    assert "response" not in lines["a"] and "content filter" in lines["a"]["error"]
    assert lines["b"]["response"] == "A dog sits on a" and lines["b"]["finish_reason"] == "length"
    assert lines["c"]["finish_reason"] == "stop"
    assert len(result) == 3
    sheet = json.loads((tmp_path / "out.jsonl.runsheet.json").read_text())
    assert sheet["counts"]["failed"] == 1 and sheet["counts"]["truncated"] == 1
