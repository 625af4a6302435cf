"""Faults a provider's answer can have, each a regression found by the query bug hunt: a response
cut mid-way (a fault of one record, not an unreachable server), a withheld or empty answer per
provider, nonsense token counts, and undecodable images whose errors must name their own file.
Every server here is the loopback :class:`FakeServer`."""

from __future__ import annotations

import asyncio
import json
import logging
import socket

import httpx
import openai
import pytest
from PIL import Image

from fake_openai_server import FakeServer
from halluscope.adapters.client import ModelClient, RetryPolicy
from halluscope.adapters.images import POLICIES, part_bytes, prepare
from halluscope.adapters.mock import MockModel
from halluscope.adapters.openai_compat import parse_completion
from halluscope.adapters.query import query
from halluscope.adapters.registry import get_model
from halluscope.adapters.sdk_errors import map_sdk_error
from halluscope.adapters.types import (ConnectFailed, ConnectionLost, ImageError,
                                       MalformedResponse, Message, Request, RequestError,
                                       RequestTimeout, Response, ServerUnreachable)

KEY = "sk-faults-test-0123456789"
FAST = RetryPolicy(max_attempts=6, base_delay=0.01, max_delay=0.02)


def _ask(api, text="x"):
    async def main():
        try:
            return await api.generate(Request((Message.user(text),)))
        finally:
            await api.aclose()
    return asyncio.run(main())


def _lines(path):
    return {r["id"]: r for r in map(json.loads, path.read_text().splitlines())}


def _prompts(tmp_path, texts):
    path = tmp_path / "p.jsonl"
    path.write_text("".join(json.dumps({"id": k, "prompt": v}) + "\n" for k, v in texts.items()))
    return path


# -- 1: a response cut mid-way is that record's failure, not an unreachable server -------------
def _connection_error(cause: BaseException, timeout: bool = False) -> openai.APIConnectionError:
    """The SDK's error for ``cause`` as its client raises it (``raise ... from cause``)."""
    request = httpx.Request("POST", "http://127.0.0.1:9/v1/chat/completions")
    err = (openai.APITimeoutError(request=request) if timeout
           else openai.APIConnectionError(request=request))
    err.__cause__ = cause
    return err


@pytest.mark.parametrize("cause, timeout, expected", [
    (httpx.ConnectError("All connection attempts failed"), False, ConnectFailed),
    (httpx.ConnectError("[Errno -2] Name or service not known"), False, ConnectFailed),
    (httpx.ConnectTimeout("timed out"), True, ConnectFailed),
    (httpx.RemoteProtocolError("peer closed connection without sending complete message body "
                               "(received 20 bytes, expected 108)"), False, ConnectionLost),
    (httpx.ReadError("[Errno 104] Connection reset by peer"), False, ConnectionLost),
    (httpx.ReadTimeout("timed out"), True, RequestTimeout),
])
def test_sdk_transport_errors_say_what_broke(cause, timeout, expected):
    error = map_sdk_error(_connection_error(cause, timeout), openai)
    assert type(error) is expected
    assert type(cause).__name__ in str(error) and str(cause) in str(error)


def test_one_cut_response_fails_its_record_and_the_run_goes_on(tmp_path):
    """One prompt whose body the server always cuts short: its retries counted as "connection
    failures in a row" and after 4 the whole run stopped as ServerUnreachable, though the
    server was up and had answered every other prompt."""
    prompts = _prompts(tmp_path, {f"t{i}": f"question {i}" for i in range(6)})
    with FakeServer(script={"question 0": ["cut"] * 10}) as server:
        records = query(prompts, "vllm/m", base_url=server.url, cache=None, retry=FAST,
                        out=tmp_path / "out.jsonl")
        assert server.outcomes["cut"] == 6                    # asked max_attempts times
    lines = _lines(tmp_path / "out.jsonl")
    assert len(records) == len(lines) == 6
    assert lines["t0"]["error"].startswith("ConnectionLost: connection lost before the whole "
                                           "response arrived")
    assert "gave up after 6 attempts" in lines["t0"]["error"]
    assert all(lines[f"t{i}"]["response"] == f"echo: question {i}" for i in range(1, 6))


def test_a_refused_connection_still_stops_the_run(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]                             # closed again: refused
    prompts = _prompts(tmp_path, {f"t{i}": f"question {i}" for i in range(6)})
    with pytest.raises(ServerUnreachable, match="4 connection attempts in a row failed"):
        query(prompts, "vllm/m", base_url=f"http://127.0.0.1:{port}/v1", cache=None,
              retry=FAST, out=tmp_path / "out.jsonl", max_connections=1)


class _Scripted(MockModel):
    """Raises the scripted errors in turn, then answers."""

    def __init__(self, errors):
        super().__init__("echo")
        self.errors = list(errors)

    async def generate(self, request):
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return Response("ok", "m")


def test_a_lost_connection_shows_the_server_is_up():
    """Connection failures are counted in a row only while nothing shows the server is up."""
    api = _Scripted([ConnectFailed("refused")] * 3 + [ConnectionLost("cut")]
                    + [ConnectFailed("refused")] * 3)
    client = ModelClient(api, retry=RetryPolicy(max_attempts=10, base_delay=0.001,
                                                max_delay=0.002))
    answer = asyncio.run(client.generate(Request((Message.user("x"),))))
    assert answer.text == "ok" and answer.attempts == 8
    never = _Scripted([ConnectionLost("cut")] * 20)
    client = ModelClient(never, retry=RetryPolicy(max_attempts=10, base_delay=0.001,
                                                  max_delay=0.002))
    with pytest.raises(ConnectionLost, match="gave up after 10 attempts"):
        asyncio.run(client.generate(Request((Message.user("x"),))))


def test_a_judge_whose_server_cuts_responses_keeps_judging(tmp_path, monkeypatch):
    """Two claims whose judge answers are cut (two attempts each) made four connection
    failures in a row: every later claim failed as ServerUnreachable without a call."""
    from halluscope.judges.judge import Judge
    from halluscope.types import Claim
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    image = tmp_path / "i.png"
    Image.new("RGB", (32, 32), (200, 10, 10)).save(image)
    verdict = '{"verdict": "supported", "confidence": 1, "reason": "seen"}'
    script = {"a cat": ["cut", "cut"], "a bird": ["cut", "cut"]}
    with FakeServer(script=script, responder=lambda prompt, body: verdict,
                    model_name="gpt-4o-2024-08-06") as server:
        judge = Judge.load("gpt-4o-2024-08-06", base_url=server.url, cache=False,
                           max_attempts=2)
        cut = [judge.verify_sync(Claim("existence", name), image) for name in ("cat", "bird")]
        fine = judge.verify_sync(Claim("existence", "dog"), image)
        judge.close()
    assert [v.label for v in cut] == ["unverifiable"] * 2
    assert all("ConnectionLost" in v.evidence[0].payload["error"] for v in cut)
    assert fine.label == "supported"


# -- 4, 5: the OpenAI-compatible body ----------------------------------------------------------
def _completion(content, finish="stop", usage=None) -> str:
    body = {"model": "m", "choices": [{"message": {"role": "assistant", "content": content},
                                       "finish_reason": finish}]}
    if usage is not None:
        body["usage"] = usage
    return json.dumps(body)


@pytest.mark.parametrize("content", ["", None, [{"type": "text", "text": ""}], [],
                                     [{"type": "text", "text": None}]])
def test_a_filtered_answer_is_no_answer_whatever_its_content_shape(content):
    with pytest.raises(RequestError, match="content filter withheld the answer"):
        parse_completion(_completion(content, "content_filter"))


def test_content_parts_are_joined_and_a_filtered_partial_answer_is_kept():
    parts = [{"type": "text", "text": "A dog "}, {"type": "text", "text": "on a"}]
    assert parse_completion(_completion(parts)).text == "A dog on a"
    kept = parse_completion(_completion(parts, "content_filter"))
    assert kept.text == "A dog on a" and kept.finish_reason == "content_filter"


def test_nonsense_token_counts_are_left_out_and_the_answer_kept(caplog):
    caplog.set_level(logging.WARNING)
    body = _completion("a dog", usage={"prompt_tokens": 1, "completion_tokens": 2}).replace(
        '"prompt_tokens": 1', '"prompt_tokens": 1e400')       # JSON reads it as infinity
    resp = parse_completion(body)
    assert resp.text == "a dog" and resp.usage == {"output_tokens": 2}
    assert "'prompt_tokens'" in caplog.text and "got inf" in caplog.text
    for bad in (-3, "12", True, 2.5, float("nan"), [1], {"n": 1}, 10 ** 400, 2 ** 53 + 1):
        resp = parse_completion(_completion("a dog", usage={"prompt_tokens": 7,
                                                            "completion_tokens": bad}))
        assert resp.usage == {"input_tokens": 7}, bad
    assert parse_completion(_completion("a dog", usage={"prompt_tokens": 12.0})).usage == \
        {"input_tokens": 12}                                   # a whole number written as float
    assert parse_completion(_completion("a dog", usage={"completion_tokens": 3})).usage == \
        {"output_tokens": 3}                                   # not reported: not made 0
    assert parse_completion(_completion("a dog", usage="n/a")).usage == {}


def test_a_query_with_infinite_token_counts_writes_its_answers(tmp_path, monkeypatch):
    """usage.prompt_tokens 1e400 crashed the whole run (OverflowError, exit 3)."""
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    raw = ('{"model": "m", "choices": [{"message": {"role": "assistant", "content": "a dog"}, '
           '"finish_reason": "stop"}], "usage": {"prompt_tokens": 1e400, '
           '"completion_tokens": 2}}')
    prompts = _prompts(tmp_path, {"a": "hi", "b": "hi again"})
    with FakeServer(responder=lambda prompt, body: {"body": raw}) as server:
        query(prompts, "vllm/m", base_url=server.url, cache=tmp_path / "c", retry=FAST,
              out=tmp_path / "out.jsonl")
        assert len(server.requests) == 2                       # no retry
    assert {r["response"] for r in _lines(tmp_path / "out.jsonl").values()} == {"a dog"}


def _ask_each(tmp_path, bodies: dict[str, str]) -> tuple[dict, int]:
    """Query one prompt per entry of ``bodies`` (prompt ``q KEY`` answered with its body):
    the output lines by id (the key in lower case) and how many requests the server saw."""
    def responder(prompt, body):
        return {"body": bodies[prompt.split()[-1]]}
    prompts = _prompts(tmp_path, {k.lower(): f"q {k}" for k in bodies})
    with FakeServer(responder=responder) as server:
        query(prompts, "vllm/m", base_url=server.url, cache=None, retry=FAST,
              out=tmp_path / "out.jsonl")
        asked = len(server.requests)
    return _lines(tmp_path / "out.jsonl"), asked


def test_a_filtered_answer_in_content_parts_is_a_failed_record(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    bodies = {"PARTS": _completion([{"type": "text", "text": ""}], "content_filter"),
              "STRING": _completion("", "content_filter"), "EMPTY": _completion("")}
    lines, asked = _ask_each(tmp_path, bodies)
    assert asked == 3                                          # a filter is not retried
    for k in ("parts", "string"):
        assert "response" not in lines[k] and "content filter" in lines[k]["error"]
    assert lines["empty"]["response"] == ""                    # an empty answer is an answer


def _refused(content, refusal) -> str:
    body = json.loads(_completion(content))
    body["choices"][0]["message"]["refusal"] = refusal
    return json.dumps(body)


def test_an_openai_refusal_is_a_failed_record_not_asked_again(tmp_path, monkeypatch):
    """``message.refusal`` (the model declined; no content) was written as the answer, so
    the refusal sentence was scored as the model's caption; Anthropic's ``refusal`` is a
    failed record. An answer given with a refusal beside it is kept as the answer."""
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    said = "I'm sorry,\n  I can't help with that."
    bodies = {"NULL": _refused(None, said), "EMPTY": _refused("", said),
              "PARTS": _refused([{"type": "text", "text": ""}], said),
              "BOTH": _refused("A dog on a sofa.", said), "NONE": _refused("A cat.", None)}

    lines, asked = _ask_each(tmp_path, bodies)
    assert asked == 5                                          # a refusal is not retried
    for k in ("null", "empty", "parts"):
        assert "response" not in lines[k], lines[k]
        assert "declined" in lines[k]["error"] and "I can't help with that." in lines[k]["error"]
    assert lines["both"]["response"] == "A dog on a sofa."
    assert lines["none"]["response"] == "A cat."
    with pytest.raises(RequestError, match="declined to answer.*I'm sorry, I can't help"):
        parse_completion(_refused(None, said))


# -- 10: Gemini and Anthropic: withheld answers fail once, empty answers are kept --------------
def _gemini(candidate, usage=None) -> dict:
    body = {"candidates": [candidate], "modelVersion": "gemini-x-001"}
    if usage is not None:
        body["usageMetadata"] = usage
    return {"body": body}


GEMINI_CASES = {
    "safety": (_gemini({"finishReason": "SAFETY"}), RequestError, "withheld"),
    "recitation": (_gemini({"finishReason": "RECITATION", "content": {"role": "model"}}),
                   RequestError, "finish reason RECITATION"),
    "empty": (_gemini({"content": {"parts": [{"text": ""}], "role": "model"},
                       "finishReason": "STOP"}), "", "STOP"),
    "thoughts": (_gemini({"content": {"parts": [{"text": "hmm", "thought": True}],
                                      "role": "model"}, "finishReason": "STOP"}), "", "STOP"),
    "limit": (_gemini({"content": {"role": "model"}, "finishReason": "MAX_TOKENS"}), "",
              "MAX_TOKENS"),
    "nothing": (_gemini({"content": {"role": "model"}, "finishReason": "STOP"}),
                MalformedResponse, "no text"),
    "other": (_gemini({"finishReason": "OTHER"}), MalformedResponse, "finish reason OTHER"),
}


def _answers_as_expected(model, reply, expected, said):
    """``model`` given ``reply``: an answer with text ``expected`` and finish reason ``said``,
    or the error ``expected`` matching ``said``, retryable only when it is malformed."""
    with FakeServer(responder=lambda prompt, body: reply) as server:
        api = get_model(model, base_url=server.base)
        if isinstance(expected, str):
            resp = _ask(api)
            assert resp.text == expected and resp.finish_reason == said
        else:
            with pytest.raises(expected, match=said) as info:
                _ask(api)
            assert info.value.retryable is (expected is MalformedResponse)


@pytest.mark.parametrize("case", GEMINI_CASES)
def test_gemini_withheld_empty_and_unreadable_answers(case, monkeypatch):
    monkeypatch.setenv("GEMINI_API_KEY", "gemini-test-0123456789")
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    _answers_as_expected("gemini/gemini-x", *GEMINI_CASES[case])


def test_gemini_safety_block_is_asked_once_and_an_empty_answer_kept(tmp_path, monkeypatch):
    """Both were raised as the retryable MalformedResponse: asked 6 times each, and the empty
    answer ended as a failed record."""
    monkeypatch.setenv("GEMINI_API_KEY", "gemini-test-0123456789")
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    replies = {"SAFETY": GEMINI_CASES["safety"][0], "EMPTY": GEMINI_CASES["empty"][0]}
    prompts = _prompts(tmp_path, {"blocked": "q SAFETY", "empty": "q EMPTY"})
    with FakeServer(responder=lambda prompt, body: replies[prompt.split()[-1]]) as server:
        query(prompts, "gemini/gemini-x", base_url=server.base, cache=None, retry=FAST,
              out=tmp_path / "out.jsonl")
        assert len(server.requests) == 2
    lines = _lines(tmp_path / "out.jsonl")
    assert lines["blocked"]["error"] == ("Declined: Gemini withheld the answer "
                                         "(finish reason SAFETY)")
    assert lines["empty"]["response"] == "" and "error" not in lines["empty"]


def _anthropic(content, stop_reason, usage=None) -> dict:
    return {"body": {"id": "msg_1", "type": "message", "role": "assistant", "model": "c",
                     "content": content, "stop_reason": stop_reason, "stop_sequence": None,
                     "usage": usage or {"input_tokens": 3, "output_tokens": 0}}}


ANTHROPIC_CASES = {
    "refusal": (_anthropic([], "refusal"), RequestError, "declined"),
    "refusal-empty-text": (_anthropic([{"type": "text", "text": ""}], "refusal"),
                           RequestError, "declined"),
    "empty": (_anthropic([], "end_turn"), "", "end_turn"),
    "empty-text": (_anthropic([{"type": "text", "text": ""}], "end_turn"), "", "end_turn"),
    "partial-refusal": (_anthropic([{"type": "text", "text": "I see a"}], "refusal"),
                        "I see a", "refusal"),
    "tool": (_anthropic([], "tool_use"), MalformedResponse, "stop_reason tool_use"),
}


@pytest.mark.parametrize("case", ANTHROPIC_CASES)
def test_anthropic_refusal_and_empty_answers(case, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-0123456789")
    _answers_as_expected("anthropic/c", *ANTHROPIC_CASES[case])


def test_nonsense_token_counts_from_anthropic_and_gemini_keep_the_answer(monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-0123456789")
    monkeypatch.setenv("GEMINI_API_KEY", "gemini-test-0123456789")
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    claude = _anthropic([{"type": "text", "text": "a dog"}], "end_turn",
                        {"input_tokens": -4, "output_tokens": 2})
    with FakeServer(responder=lambda prompt, body: claude) as server:
        resp = _ask(get_model("anthropic/c", base_url=server.base))
    assert resp.text == "a dog" and resp.usage == {"output_tokens": 2}
    gemini = _gemini({"content": {"parts": [{"text": "a dog"}], "role": "model"},
                      "finishReason": "STOP"}, {"candidatesTokenCount": 2})
    with FakeServer(responder=lambda prompt, body: gemini) as server:
        resp = _ask(get_model("gemini/g", base_url=server.base))
    assert resp.text == "a dog" and resp.usage == {"output_tokens": 2}


# -- 8: an undecodable image's error names its own file, in the same words every run -----------
def test_image_errors_name_their_own_file_in_stable_words(tmp_path, monkeypatch):
    """Two files with the same bad bytes shared one in-flight request, and the second record's
    error named the first file; Pillow's message held a memory address
    (<_io.BytesIO object at 0x7f...>), different on every run."""
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    junk = bytes(range(7, 107))
    for name in ("bad1.png", "bad2.png"):
        (tmp_path / name).write_bytes(junk)
    (tmp_path / "bad3.png").write_bytes(junk[::-1])
    (tmp_path / "p.jsonl").write_text("".join(
        json.dumps({"id": k, "image": f"bad{i}.png", "prompt": "hi"}) + "\n"
        for i, k in enumerate("abc", 1)))
    errors = []
    with FakeServer() as server:
        for run in range(2):
            out = tmp_path / f"out{run}.jsonl"
            query(tmp_path / "p.jsonl", "vllm/m", base_url=server.url, cache=None, retry=FAST,
                  out=out)
            errors.append({k: r["error"] for k, r in _lines(out).items()})
        assert server.requests == []                           # nothing was sent
    assert errors[0] == errors[1]                              # the same words every run
    for i, k in enumerate("abc", 1):
        assert errors[0][k] == (f"ImageError: {tmp_path}/p.jsonl:{i}: field 'image': cannot "
                                f"decode image {tmp_path}/bad{i}.png: not an image format "
                                f"Pillow recognises")


class _Decoding(MockModel):
    """A mock that prepares its images as the HTTP providers do (and fails as they do)."""

    async def generate(self, request):
        for part in request.images():
            prepare(part_bytes(part), POLICIES["openai"], name=part.source)
        return await super().generate(request)


def test_identical_requests_share_an_answer_but_not_an_image_error(tmp_path):
    async def main():
        api = _Decoding("yes-no", latency=0.02)
        client = ModelClient(api, retry=FAST)
        junk = bytes(100)
        for name in ("x.png", "y.png", "z.png"):
            (tmp_path / name).write_bytes(junk)
        asks = [Request((Message.user("q", (str(tmp_path / n),)),)) for n in
                ("x.png", "y.png", "x.png")]
        outcomes = await asyncio.gather(*[client.generate(r) for r in asks],
                                        return_exceptions=True)
        assert all(isinstance(o, ImageError) for o in outcomes)
        assert [str(o).split(":")[0] for o in outcomes] == [
            f"cannot decode image {tmp_path / n}" for n in ("x.png", "y.png", "x.png")]
        good = tmp_path / "good.png"
        Image.new("RGB", (8, 8)).save(good)
        twin = tmp_path / "twin.png"
        twin.write_bytes(good.read_bytes())
        answers = await asyncio.gather(*[client.generate(Request((Message.user(
            "q", (str(p),)),))) for p in (good, twin, good)])
        assert len({a.text for a in answers}) == 1 and api.calls == 1  # one call for all three
    asyncio.run(main())
