"""Each image is prepared once per request: the key names the prepared bytes and the request
sends the same preparation (:class:`~halluscope.adapters.images.PreparedMemo`); with no cache
the key names nothing prepared at all. The bytes sent and the keys are what they were.

Each test talks to the loopback fake OpenAI server (tests/fake_openai_server.py)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import threading

import numpy as np
import pytest
from PIL import Image

from fake_openai_server import FakeServer
from halluscope.adapters import images
from halluscope.adapters.cache import ResponseCache
from halluscope.adapters.client import ModelClient
from halluscope.adapters.openai_compat import OpenAICompatible
from halluscope.adapters.types import Message, Request


@pytest.fixture(autouse=True)
def _key(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-prepareonce-0123456789")


@pytest.fixture
def counted(monkeypatch):
    """Every preparation, by image name (the real :func:`images.prepare` does the work)."""
    calls: list[str] = []
    real = images.prepare

    def counting(data, pol, *, name="<bytes>"):
        calls.append(name)
        return real(data, pol, name=name)
    monkeypatch.setattr(images, "prepare", counting)
    return calls, real


def _photo(path, width=1200, height=900):
    """A noisy JPEG the openai policy must shrink (short side over 768)."""
    rng = np.random.default_rng(7)
    Image.fromarray(rng.integers(0, 255, (height, width, 3), dtype=np.uint8)).save(path)
    return path


def _ask(server, cache, *requests):
    """The answers to ``requests``, asked together by one fresh client; (answers, client)."""
    client = ModelClient(OpenAICompatible("gpt-x", provider="openai", base_url=server.base),
                         cache=cache)

    async def main():
        try:
            return await asyncio.gather(*(client.generate(r) for r in requests))
        finally:
            await client.aclose()
    return asyncio.run(main()), client


def _sent_bytes(body) -> bytes:
    (part,) = [p for p in body["messages"][0]["content"] if p["type"] == "image_url"]
    return base64.b64decode(part["image_url"]["url"].split(",", 1)[1])


def test_one_preparation_per_image_on_a_miss_none_on_a_hit_one_without_cache(tmp_path,
                                                                             counted):
    calls, real = counted
    photo = _photo(tmp_path / "photo.jpg")
    expected = real(photo.read_bytes(), images.POLICIES["openai"]).data
    request = Request((Message.user("What is shown?", (str(photo),)),))
    with FakeServer(responder=lambda prompt, body: "Noise.") as server:
        with ResponseCache(tmp_path / "c") as cache:
            (first,), client = _ask(server, cache, request)
        assert len(calls) == 1 and not first.cached            # named and sent: one preparation
        with ResponseCache(tmp_path / "c") as cache:
            (again,), _ = _ask(server, cache, request)
        assert again.cached and len(calls) == 1                # a hit prepares nothing
        (fresh,), _ = _ask(server, None, request)
        assert not fresh.cached and len(calls) == 2            # no cache: the send alone
        assert len(server.requests) == 2
        for body in server.requests:                           # the bytes sent: unchanged
            assert _sent_bytes(body) == expected
        _, doc = asyncio.run(ModelClient(OpenAICompatible(
            "gpt-x", provider="openai", base_url=server.base)).key(request))
    # the key names exactly those bytes, as sent_digest always did
    assert doc["messages"][0]["content"][0]["sent"] == hashlib.sha256(expected).hexdigest()
    assert doc["messages"][0]["content"][0]["sent"] == images.sent_digest(
        photo.read_bytes(), images.POLICIES["openai"])


def test_requests_asked_together_share_one_preparation(tmp_path, counted):
    """Several questions about one picture, asked at once (threads naming and sending it side
    by side): prepared once, and every request sends the same bytes."""
    calls, real = counted
    photo = _photo(tmp_path / "photo.jpg")
    expected = real(photo.read_bytes(), images.POLICIES["openai"]).data
    requests = [Request((Message.user(f"Question {i}?", (str(photo),)),)) for i in range(6)]
    with FakeServer(responder=lambda prompt, body: "Noise.") as server:
        with ResponseCache(tmp_path / "c") as cache:
            answers, client = _ask(server, cache, *requests)
        assert len(calls) == 1 and client.calls == 6
        assert [_sent_bytes(b) for b in server.requests] == [expected] * 6
        answers, client = _ask(server, None, *requests)
        assert len(calls) == 2 and client.calls == 6
        assert [_sent_bytes(b) for b in server.requests] == [expected] * 12


def test_an_image_sent_as_it_is_is_not_held(tmp_path):
    small = tmp_path / "small.jpg"
    Image.new("RGB", (64, 48), (200, 30, 30)).save(small)
    memo = images.PreparedMemo()
    out = memo.prepare(small.read_bytes(), images.POLICIES["openai"])
    assert not out.resized and out.data == small.read_bytes() and memo._held == 0


def test_the_memo_is_bounded_by_bytes_and_drops_the_least_lately_used(tmp_path, counted):
    calls, _ = counted
    pol = images.POLICIES["openai-low"]
    datas = [_photo(tmp_path / f"p{i}.jpg", 700 + i, 600).read_bytes() for i in range(5)]
    sizes = [len(images.PreparedMemo().prepare(d, pol).data) for d in datas]
    assert 5 * min(sizes) > 4 * max(sizes) + 1
    calls.clear()
    memo = images.PreparedMemo(budget=4 * max(sizes) + 1)   # room for 4 of them, not 5
    for d in datas[:4]:
        memo.prepare(d, pol)
    assert len(calls) == 4 and memo._held == sum(sizes[:4])
    memo.prepare(datas[0], pol)                              # used lately: kept
    memo.prepare(datas[4], pol)                              # drops the least lately used
    assert len(calls) == 5 and memo._held <= memo.budget
    for d in (datas[0], datas[2], datas[3], datas[4]):
        memo.prepare(d, pol)
    assert len(calls) == 5
    memo.prepare(datas[1], pol)
    assert len(calls) == 6
    small = images.PreparedMemo(budget=4 * min(sizes) - 1)  # over a quarter of it: not held
    assert small.prepare(datas[0], pol).resized and small._held == 0


def test_a_failed_preparation_is_reported_under_each_requests_own_name(counted):
    memo = images.PreparedMemo()
    errors = []

    def ask(name):
        try:
            memo.prepare(b"not an image", images.POLICIES["openai"], name=name)
        except images.ImageError as exc:
            errors.append(str(exc))
    threads = [threading.Thread(target=ask, args=(f"bad{i}.jpg",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(e.split()[3].rstrip(":") for e in errors) == [f"bad{i}.jpg" for i in range(4)]
