"""The response cache serves only what the current code would have produced from the same request.

* Reply post-processing (the ``<think>`` split, a reasoning parser's field) is applied again when
  an entry is read: an entry cached before the split existed is served split, without a call.
* An image's key names what is sent in its place (prepared bytes, a local model's pixels): an
  answer asked with the old preparation of a 16-bit image (clipped white) is not served; an
  image sent as its own bytes keeps the key it always had.
* ``reasoning_content`` / ``reasoning`` of an OpenAI-compatible reply lands in ``reasoning``.

Each test talks to the loopback fake OpenAI server (tests/fake_openai_server.py).
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import sqlite3

import numpy as np
import pytest
from PIL import Image

from fake_openai_server import FakeServer
from halluscope.adapters.cache import ResponseCache, hash_material, key_material
from halluscope.adapters.client import ModelClient
from halluscope.adapters.openai_compat import OpenAICompatible, parse_completion
from halluscope.adapters.query import query
from halluscope.adapters.types import Decoding, Message, Request, Response

THOUGHT = "The user asks about the picture. I see a dog."
SIGN = "It reads code=SUMMER2024 and Basic Training101."      # model text, not credentials


@pytest.fixture(autouse=True)
def _key(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-cachefresh-0123456789")


def _ask(server, cache, request):
    """One ``ModelClient.generate`` against ``server`` with ``cache``; (response, client)."""
    api = OpenAICompatible("gpt-x", provider="openai", base_url=server.base)
    client = ModelClient(api, cache=cache)

    async def main():
        try:
            return await client.generate(request)
        finally:
            await client.aclose()
    return asyncio.run(main()), client


def _key_of(server, request):
    api = OpenAICompatible("gpt-x", provider="openai", base_url=server.base)
    return asyncio.run(ModelClient(api).key(request))


def _store(cache_path, key, doc, entry):
    """Write ``entry`` (a response as some halluscope once stored it) under ``key``."""
    with ResponseCache(cache_path) as cache:
        cache.put(key, doc, Response(text="placeholder", model="gpt-x"))
    with sqlite3.connect(cache_path / "responses.sqlite3") as conn:
        conn.execute("UPDATE responses SET response = ? WHERE key = ?", (json.dumps(entry), key))


# -- (b) post-processing is applied again when an entry is read ----------------------------------
def test_an_old_entry_with_an_unsplit_think_block_is_served_split(tmp_path):
    """An answer cached before the ``<think>`` split existed held the thoughts in ``text``
    and no ``reasoning``; it was served so, the thoughts audited as the answer. Read now, it is
    split by today's rule, from the cache (no call, counted as cached)."""
    request = Request((Message.user("Describe it."),))
    with FakeServer(responder=lambda prompt, body: "FRESH ANSWER") as server:
        key, doc = _key_of(server, request)
        old = {"text": f"<think>\n{THOUGHT}\n</think>\n\nA dog.", "model": "gpt-x",
               "usage": {"input_tokens": 3, "output_tokens": 9}, "latency_s": 0.5,
               "finish_reason": "stop"}
        _store(tmp_path, key, doc, old)
        with ResponseCache(tmp_path) as cache:
            response, client = _ask(server, cache, request)
            assert (cache.hits, cache.misses) == (1, 0)
        assert server.requests == []
    assert response.cached and client.calls == 0 and client.cache_hits == 1
    assert (response.text, response.reasoning) == ("A dog.", THOUGHT)


def test_entries_are_derived_again_from_the_reply_as_sent(tmp_path):
    """A new entry keeps the reply as the server sent it (``content``, ``reasoning_content``); what
    a read serves is derived from that by today's rules, whatever ``text`` says. An old entry
    split when it was cached (it has ``reasoning``) is served as stored."""
    request = Request((Message.user("Describe it."),))
    with FakeServer(responder=lambda prompt, body: "FRESH ANSWER") as server:
        key, doc = _key_of(server, request)
        _store(tmp_path, key, doc, {"text": "stale derivation", "model": "gpt-x",
                                    "content": f"<think>{THOUGHT}</think> A dog.",
                                    "reasoning_content": "Parser's part."})
        with ResponseCache(tmp_path) as cache:
            response, _ = _ask(server, cache, request)
        assert response.text == "A dog."
        assert response.reasoning == f"Parser's part.\n\n{THOUGHT}"
        _store(tmp_path, key, doc, {"text": "<think>kept</think> as split", "model": "gpt-x",
                                    "reasoning": "split then"})
        with ResponseCache(tmp_path) as cache:
            response, _ = _ask(server, cache, request)
        assert (response.text, response.reasoning) == ("<think>kept</think> as split",
                                                       "split then")
        assert server.requests == []


def test_a_fresh_answer_is_cached_with_its_raw_reply(tmp_path):
    request = Request((Message.user("Describe it."),))
    reply = f"<think>{THOUGHT}</think>A dog."
    with FakeServer(responder=lambda prompt, body: reply) as server:
        with ResponseCache(tmp_path) as cache:
            first, _ = _ask(server, cache, request)
            second, _ = _ask(server, cache, request)
            (row,) = cache.rows()
        assert len(server.requests) == 1
    stored = json.loads(row["response"])
    assert stored["content"] == reply and stored["text"] == "A dog."
    assert stored["reasoning"] == THOUGHT
    assert (first.text, first.reasoning) == (second.text, second.reasoning) == ("A dog.", THOUGHT)
    assert second.cached and not first.cached


def test_a_cache_row_without_an_answer_is_a_miss_not_a_crash(tmp_path):
    request = Request((Message.user("Describe it."),))
    with FakeServer(responder=lambda prompt, body: "FRESH ANSWER") as server:
        key, doc = _key_of(server, request)
        _store(tmp_path, key, doc, {"model": "gpt-x"})
        with ResponseCache(tmp_path) as cache:
            response, client = _ask(server, cache, request)
            assert cache.misses == 1
        assert response.text == "FRESH ANSWER" and client.calls == 1


# -- (a) the key names what is sent --------------------------------------------------------------
def _sixteen_bit_png(path, width=1000, height=900):
    """A full-range 16-bit greyscale gradient that the openai policy must shrink (its short
    side is over 768): Pillow's own conversion clipped it to a white picture."""
    ramp = np.linspace(0, 65535, width * height).reshape(height, width).astype(np.uint16)
    Image.fromarray(ramp).save(path)
    assert Image.open(path).mode == "I;16"
    return path


def _old_key(doc):
    """The key the same request had before the key named what is sent: no ``sent``."""
    old = json.loads(json.dumps(doc))
    for message in old["messages"]:
        for part in message["content"]:
            part.pop("sent", None)
    return hash_material(old), old


def test_an_answer_keyed_by_the_old_preparation_is_not_served_for_a_16_bit_image(tmp_path,
                                                                                 caplog):
    """The answer cached for a 16-bit scan was asked with the picture clipped white; its key
    named only the file's bytes and the policy, both unchanged, so it was served after the
    fix. The key now names the prepared bytes: the old entry misses (counted), the model is
    asked with the scaled picture, and the new answer is cached under the new key; the
    re-ask is counted (``superseded``) and warned about."""
    image = _sixteen_bit_png(tmp_path / "scan.png")
    request = Request((Message.user("What is shown?", (str(image),)),), Decoding(max_tokens=20))
    with FakeServer(responder=lambda prompt, body: "A grey gradient.") as server:
        key, doc = _key_of(server, request)
        (part,) = doc["messages"][0]["content"][:1]
        assert "sent" in part and part["sent"] != part["image"]
        old_key, old_doc = _old_key(doc)
        assert old_key != key
        _store(tmp_path / "c", old_key, old_doc, {"text": "A white picture.", "model": "gpt-x"})
        with ResponseCache(tmp_path / "c") as cache:
            response, client = _ask(server, cache, request)
            assert (cache.hits, cache.misses, cache.writes) == (0, 1, 1)
            assert cache.describe()["superseded"] == 1          # the re-ask is counted
            assert {r["key"] for r in cache.rows()} == {old_key, key}
        assert "asked with images as an older halluscope prepared them" in caplog.text
        with ResponseCache(tmp_path / "c") as cache:
            again, _ = _ask(server, cache, request)
            assert again.cached and cache.hits == 1 and "superseded" not in cache.describe()
        assert response.text == "A grey gradient." and not response.cached
        assert client.calls == 1 and client.cache_hits == 0
        (sent,) = [p for p in server.requests[0]["messages"][0]["content"]
                   if p["type"] == "image_url"]
    payload = sent["image_url"]["url"].split(",", 1)[1]
    seen = np.asarray(Image.open(io.BytesIO(base64.b64decode(payload))).convert("L"))
    assert seen.shape == (768, 853) and 100 < seen.mean() < 155      # a gradient, not white


def test_an_image_sent_as_its_own_bytes_keeps_its_key(tmp_path):
    """Only requests that truly changed miss: a picture the policy leaves alone is sent as
    its bytes, as before, and an answer cached under the key it always had is served."""
    image = tmp_path / "small.jpg"
    Image.new("RGB", (64, 48), (200, 30, 30)).save(image)
    request = Request((Message.user("What colour?", (str(image),)),))
    with FakeServer(responder=lambda prompt, body: "FRESH ANSWER") as server:
        key, doc = _key_of(server, request)
        assert "sent" not in doc["messages"][0]["content"][0]
        assert _old_key(doc)[0] == key
        _store(tmp_path / "c", key, doc, {"text": "Red.", "model": "gpt-x"})
        with ResponseCache(tmp_path / "c") as cache:
            response, _ = _ask(server, cache, request)
        assert response.text == "Red." and response.cached and server.requests == []


def test_a_change_of_preparation_changes_only_the_keys_of_prepared_images(tmp_path,
                                                                           monkeypatch):
    """The key follows the prepared bytes, not a version number: a preparation that gives
    other bytes for one image moves that image's key alone."""
    from halluscope.adapters import images
    big = _sixteen_bit_png(tmp_path / "scan.png")
    small = tmp_path / "small.jpg"
    Image.new("RGB", (64, 48), (200, 30, 30)).save(small)
    requests = [Request((Message.user("?", (str(p),)),)) for p in (big, small)]
    with FakeServer() as server:
        before = [_key_of(server, r)[0] for r in requests]
        real = images.prepare

        def other_rule(data, pol, *, name="<bytes>"):
            prepared = real(data, pol, name=name)
            if not prepared.resized:
                return prepared
            return images.PreparedImage(prepared.data + b"\0", prepared.mime, prepared.width,
                                        prepared.height, True)
        monkeypatch.setattr(images, "prepare", other_rule)
        after = [_key_of(server, r)[0] for r in requests]
    assert after[0] != before[0] and after[1] == before[1]


def test_a_warm_cache_names_a_prepared_image_without_preparing_it(tmp_path, monkeypatch):
    """Naming what is sent costs a preparation (over a second for a large photo); the cache file
    remembers each image's digest under the identity of the code that prepares it, so a re-run
    (another client, another process) is served without preparing, and other preparing code
    works the digest out anew."""
    from halluscope.adapters import client as client_module
    from halluscope.adapters import images
    image = _sixteen_bit_png(tmp_path / "scan.png")
    request = Request((Message.user("What is shown?", (str(image),)),))
    calls = []
    real = images.prepare

    def counted(data, pol, *, name="<bytes>"):
        calls.append(name)
        return real(data, pol, name=name)
    monkeypatch.setattr(images, "prepare", counted)   # the send reuses the key's preparation
    with FakeServer(responder=lambda prompt, body: "A grey gradient.") as server:
        with ResponseCache(tmp_path / "c") as cache:
            first, _ = _ask(server, cache, request)
        assert len(calls) == 1
        with ResponseCache(tmp_path / "c") as cache:
            again, _ = _ask(server, cache, request)
        assert again.cached and len(calls) == 1                  # remembered, not prepared
        monkeypatch.setattr(client_module, "preparer_identity", lambda api: "edited code")
        with ResponseCache(tmp_path / "c") as cache:
            third, _ = _ask(server, cache, request)
        assert third.cached and len(calls) == 2                  # the same picture: a hit
        assert len(server.requests) == 1


# -- (c) a reasoning parser's field is reasoning, never the answer --------------------------------
def _body(message, finish="stop"):
    return {"body": {"id": "chatcmpl-r", "object": "chat.completion", "model": "gpt-x",
                     "choices": [{"index": 0, "finish_reason": finish,
                                  "message": {"role": "assistant", **message}}],
                     "usage": {"prompt_tokens": 3, "completion_tokens": 5}}}


REPLIES = {
    "vllm": _body({"content": "A dog.", "reasoning_content": THOUGHT}),
    "newer": _body({"content": "A dog.", "reasoning": THOUGHT}),
    "cut": _body({"content": None, "reasoning_content": THOUGHT}, finish="length"),
    "blank": _body({"content": "A dog.", "reasoning_content": ""}),
    "both": _body({"content": "<think>inline</think>A dog.", "reasoning_content": THOUGHT}),
    "sign": _body({"content": "A sign.", "reasoning_content": SIGN}),
}


def test_reasoning_content_lands_in_reasoning(tmp_path):
    """vLLM's reasoning parser sends the thoughts in ``message.reasoning_content`` (newer
    servers: ``message.reasoning``); the adapter dropped them. They are written as the line's
    ``reasoning`` and counted, never joined to the answer, fresh and from the cache alike."""
    prompts = tmp_path / "p.jsonl"
    prompts.write_text("".join(json.dumps({"id": k, "prompt": f"q {k}"}) + "\n"
                               for k in REPLIES))
    server = FakeServer(responder=lambda prompt, body: REPLIES[prompt.split()[-1]]).start()
    for run in ("fresh", "cached"):
        out = tmp_path / f"{run}.jsonl"
        try:
            query(prompts, "vllm/gpt-x", base_url=server.base, cache=tmp_path / "c", out=out)
        finally:
            if run == "cached":
                server.stop()
        assert len(server.requests) == len(REPLIES)         # the second run asked nothing
        lines = {r["id"]: r for r in map(json.loads, out.read_text().splitlines())}
        for name in ("vllm", "newer"):
            assert (lines[name]["response"], lines[name]["reasoning"]) == ("A dog.", THOUGHT)
        assert lines["cut"]["reasoning"] == THOUGHT
        assert lines["cut"]["response"] == "" and lines["cut"]["finish_reason"] == "length"
        assert lines["blank"]["response"] == "A dog." and "reasoning" not in lines["blank"]
        assert lines["both"]["response"] == "A dog."
        assert lines["both"]["reasoning"] == f"{THOUGHT}\n\ninline"
        sheet = json.loads(out.with_name(out.name + ".runsheet.json").read_text())
        # the model's reasoning is model text: redaction's patterns leave it, in the output
        # and in the cache, as they leave the answer
        assert lines["sign"]["reasoning"] == SIGN
        assert sheet["counts"]["reasoning"] == 5
        assert sheet["counts"]["cached" if run == "cached" else "new"] == len(REPLIES)


def test_a_reasoning_field_that_is_no_text_is_left_out():
    body = json.dumps(_body({"content": "A dog.", "reasoning_content": {"x": 1}})["body"])
    response = parse_completion(body)
    assert (response.text, response.reasoning) == ("A dog.", None)


def test_key_material_without_sent_digests_is_unchanged():
    """Callers that name no ``sent_images`` get the documents they always got."""
    request = Request((Message.user("?", ("a.png",)),))
    doc = key_material("openai", "m", request, ["abc"], {"name": "openai"})
    assert doc["messages"][0]["content"][0] == {"image": "abc", "detail": None}
    assert key_material("openai", "m", request, ["abc"], {"name": "openai"},
                        sent_images=[None]) == doc
