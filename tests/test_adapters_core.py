"""Adapter building blocks: registry, Retry-After, images, cache keys, limiter, client."""

from __future__ import annotations

import asyncio
import email.utils
import io
import sqlite3
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PIL import Image

import halluscope.adapters.cache as cache_module
from halluscope.adapters.cache import ResponseCache, hash_material, key_material
from halluscope.adapters.client import ModelClient, RetryPolicy
from halluscope.adapters.images import POLICIES, ImageLoader, ImagePolicy, prepare
from halluscope.adapters.limiter import AdaptiveLimiter
from halluscope.adapters.mock import MockModel
from halluscope.adapters.registry import (BUILTIN, available_providers, get_model, parse_model,
                                          provider_factory)
from halluscope.adapters.types import (AuthError, Decoding, ImageError, Message, RateLimited,
                                       Request, Response, ServerError, parse_retry_after)
from halluscope.errors import ConfigError


def png_bytes(size=(64, 48), mode="RGB", fmt="PNG", **save) -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, (10, 120, 200) if mode == "RGB" else None).save(buf, format=fmt,
                                                                           **save)
    return buf.getvalue()


# -- registry ---------------------------------------------------------------------------------
def test_parse_model_splits_at_first_slash():
    assert parse_model("openai/gpt-4o-2024-08-06") == ("openai", "gpt-4o-2024-08-06")
    assert parse_model("vllm/Qwen/Qwen2.5-VL-7B-Instruct") == ("vllm",
                                                               "Qwen/Qwen2.5-VL-7B-Instruct")
    with pytest.raises(ConfigError, match="PROVIDER/MODEL"):
        parse_model("gpt-4o")


def test_registry_has_builtins_and_rejects_unknown():
    names = available_providers()
    for name in ("openai", "vllm", "sglang", "ollama", "tgi", "lmstudio", "azure", "anthropic",
                 "gemini", "hf", "mock"):
        assert name in names
    assert set(BUILTIN) <= set(names)
    with pytest.raises(ConfigError, match="unknown provider 'nope'"):
        provider_factory("nope")
    model = get_model("mock/yes")
    assert isinstance(model, MockModel) and model.pin == "mock-yes"


# -- Retry-After --------------------------------------------------------------------------------
def test_parse_retry_after_forms():
    assert parse_retry_after({"Retry-After": "3"}) == 3.0
    assert parse_retry_after({"retry-after": "0.25"}) == 0.25
    assert parse_retry_after({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    now = time.time()
    date = email.utils.formatdate(now + 10, usegmt=True)
    assert 8.0 <= parse_retry_after({"Retry-After": date}, now=now) <= 10.0
    assert parse_retry_after({"Retry-After": "soon"}) is None
    assert parse_retry_after({}) is None


# -- images -------------------------------------------------------------------------------------
def test_prepare_keeps_small_images_as_they_are():
    data = png_bytes((64, 48))
    img = prepare(data, POLICIES["openai"])
    assert img.data == data and img.mime == "image/png" and not img.resized


def test_prepare_applies_openai_high_detail_sizes():
    img = prepare(png_bytes((3000, 1000)), POLICIES["openai"])
    assert img.resized and max(img.width, img.height) <= 2048 and min(img.width, img.height) <= 768
    assert abs(img.width / img.height - 3.0) < 0.02
    low = prepare(png_bytes((3000, 1000)), POLICIES["openai-low"])
    assert max(low.width, low.height) == 512


def test_prepare_anthropic_pixels_and_bytes():
    img = prepare(png_bytes((1500, 1500)), POLICIES["anthropic"])
    assert img.width * img.height <= 1_150_000
    tiny = ImagePolicy("tiny", max_bytes=3000, formats=("jpeg",))
    noisy = Image.effect_noise((400, 400), 100).convert("RGB")
    buf = io.BytesIO()
    noisy.save(buf, format="PNG")
    out = prepare(buf.getvalue(), tiny)
    assert out.mime == "image/jpeg" and len(out.data) <= 3000


def test_prepare_reencodes_unsupported_formats_and_keeps_alpha():
    bmp = png_bytes((40, 30), fmt="BMP")
    assert prepare(bmp, POLICIES["openai"]).mime == "image/jpeg"
    rgba = png_bytes((40, 30), mode="RGBA")
    assert prepare(rgba, POLICIES["gemini"]).mime == "image/png"


def test_prepare_applies_exif_rotation():
    img = Image.new("RGB", (80, 40), (1, 2, 3))
    exif = img.getexif()
    exif[0x0112] = 6  # rotate 90 degrees
    buf = io.BytesIO()
    img.save(buf, format="JPEG", exif=exif)
    out = prepare(buf.getvalue(), POLICIES["openai"])
    assert out.resized and (out.width, out.height) == (40, 80)


def test_prepare_rejects_garbage():
    with pytest.raises(ImageError, match="cannot decode"):
        prepare(b"not an image", POLICIES["openai"])


def test_loader_hashes_and_refuses_urls(tmp_path):
    p = tmp_path / "a.png"
    p.write_bytes(png_bytes())
    loader = ImageLoader()
    h = loader.sha256(str(p))
    assert len(h) == 64 and loader.sha256(str(p)) == h
    with pytest.raises(ImageError, match="not found"):
        loader.sha256(str(tmp_path / "missing.png"))
    with pytest.raises(ImageError, match="--allow-urls"):
        loader.read("https://example.com/x.png")


def test_loader_fetches_urls_from_loopback_when_allowed():
    data = png_bytes((20, 20))

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200 if self.path == "/img.png" else 404)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *a):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/img.png"
        loader = ImageLoader(allow_urls=True)
        assert loader.read(url) == data
        with pytest.raises(ImageError, match="HTTP 404"):
            loader.read(url.replace("img.png", "nope.png"))
    finally:
        server.shutdown()
        server.server_close()


# -- cache --------------------------------------------------------------------------------------
def _request(text="hi", temperature=0.0, sample=0, replicate=0, images=()):
    return Request((Message.user(text, images),), Decoding(temperature=temperature, seed=1),
                   sample_index=sample, replicate=replicate)


def test_cache_key_rules():
    def key(req, hashes=()):
        return hash_material(key_material("openai", "m", req, list(hashes), {"name": "openai"}))
    assert key(_request()) == key(_request())
    assert key(_request(sample=0)) == key(_request(sample=3))          # greedy: one answer
    assert key(_request(temperature=0.7, sample=0)) != key(_request(temperature=0.7, sample=1))
    assert key(_request(replicate=1)) != key(_request())
    assert key(_request("other")) != key(_request())
    a = key(_request(images=("x.png",)), ["a" * 64])
    assert a != key(_request(images=("x.png",)), ["b" * 64])           # content, not path
    assert a == key(_request(images=("elsewhere/y.png",)), ["a" * 64])
    doc = key_material("openai", "m", _request(), [], None)
    assert "timeout" not in str(doc) and "base_url" not in str(doc)
    # pinned: an adapter without settings keeps the keys of the caches users already hold
    assert a == "2cf86329ad4bd66c57ed74f93d401cc20ee6e6bd898343885f705c68dc3c20fe"


def test_cache_is_sqlite_wal_and_first_answer_wins(tmp_path):
    cache = ResponseCache(tmp_path / "c")
    doc = {"provider": "p", "model": "m"}
    cache.put("k", doc, Response("first", "m"))
    cache.put("k", doc, Response("second", "m"))
    hit = cache.get("k")
    assert hit.text == "first" and hit.cached and len(cache) == 1
    assert cache.get("missing") is None
    cache.close()
    conn = sqlite3.connect(tmp_path / "c" / "responses.sqlite3")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_batched_cache_rows_are_answered_while_waiting_and_written_together(tmp_path,
                                                                          monkeypatch):
    """Inside batched() (query's run) rows wait BATCH_DELAY for others: get() answers them
    meanwhile, the first answer for a key still wins, another thread's row is written at
    once, and describe() and the end of the block write what waits. The delay is stretched
    to 0.5 s so that a loaded machine's slow thread hop does not fire the timer early."""
    monkeypatch.setattr(cache_module, "BATCH_DELAY", 0.5)
    path = tmp_path / "c" / "responses.sqlite3"
    doc = {"provider": "p", "model": "m"}

    def on_disk() -> set:
        with sqlite3.connect(path) as conn:
            return {k for (k,) in conn.execute("SELECT key FROM responses")}

    async def run(cache):
        with cache.batched():
            cache.put("a", doc, Response("first", "m"))
            cache.put("a", doc, Response("second", "m"))
            cache.put("b", doc, Response("bee", "m"))
            assert on_disk() == set()                       # waiting for the transaction
            assert cache.get("a").text == "first" and cache.get("a").cached
            await asyncio.to_thread(cache.put, "t", doc, Response("thread", "m"))
            assert on_disk() == {"t"}
            for _ in range(200):                            # past BATCH_DELAY: written
                await asyncio.sleep(0.05)
                if on_disk() == {"a", "b", "t"}:
                    break
            assert on_disk() == {"a", "b", "t"}
            cache.put("c", doc, Response("sea", "m"))
            assert cache.describe()["writes"] == 5 and on_disk() == {"a", "b", "c", "t"}
            cache.put("d", doc, Response("dee", "m"))
        assert on_disk() == {"a", "b", "c", "d", "t"}
        assert cache.get("a").text == "first" and len(cache) == 5

    cache = ResponseCache(tmp_path / "c")
    asyncio.run(run(cache))
    cache.close()


def test_batched_rows_are_found_by_another_thread_while_they_are_written(tmp_path):
    """flush() forgot the waiting rows before writing them: a get() on another thread in
    between found them in neither place, a miss that asked the model again."""
    doc = {"provider": "p", "model": "m"}
    cache = ResponseCache(tmp_path / "c")
    seen = []
    real_write = cache._write

    def write(rows):
        reader = threading.Thread(target=lambda: seen.append(cache.get("a")))
        reader.start()
        reader.join()
        real_write(rows)

    async def run():
        with cache.batched():
            cache.put("a", doc, Response("first", "m"))
            cache.put("b", doc, Response("bee", "m"))
            cache._write = write
    asyncio.run(run())
    assert seen[0] is not None and seen[0].text == "first"
    cache.close()


class _CommitInterrupted:
    """A connection whose first COMMIT is interrupted (a SIGTERM turned KeyboardInterrupt)."""

    def __init__(self, conn):
        self.conn, self.fired = conn, False

    def execute(self, sql, *args):
        if sql == "COMMIT" and not self.fired:
            self.fired = True
            raise KeyboardInterrupt
        return self.conn.execute(sql, *args)

    def __getattr__(self, name):
        return getattr(self.conn, name)


def test_batched_rows_survive_an_interruption_of_their_transaction(tmp_path):
    """A Ctrl-C/SIGTERM between the insert and the commit left the transaction open and the
    rows taken out of the batch: closing the cache rolled them back, so a run stopped that
    way lost answers it had paid for (and later rows joined the open transaction)."""
    doc = {"provider": "p", "model": "m"}
    cache = ResponseCache(tmp_path / "c")

    async def run():
        with cache.batched():
            cache.put("a", doc, Response("first", "m"))
            cache.put("b", doc, Response("bee", "m"))
            cache._conn = _CommitInterrupted(cache._conn)
            with pytest.raises(KeyboardInterrupt):
                cache.flush()
            assert cache.get("a").text == "first"      # still waiting, still answered
            cache.put("c", doc, Response("sea", "m"))
    asyncio.run(run())
    cache._conn = cache._conn.conn
    cache.close()
    with sqlite3.connect(tmp_path / "c" / "responses.sqlite3") as conn:
        assert {k for (k,) in conn.execute("SELECT key FROM responses")} == {"a", "b", "c"}


# -- limiter ------------------------------------------------------------------------------------
def test_limiter_halves_once_per_generation_and_grows_back():
    lim = AdaptiveLimiter(16)
    gen = lim.generation
    lim.on_rate_limited(gen)
    lim.on_rate_limited(gen)      # same burst: no second cut
    assert lim.limit == 8
    lim.on_rate_limited(lim.generation)
    assert lim.limit == 4
    for _ in range(4):
        lim.on_success()
    assert lim.limit == 5
    for _ in range(200):
        lim.on_success()
    assert lim.limit == 16
    lim2 = AdaptiveLimiter(2, min_limit=2)
    lim2.on_rate_limited(0)
    assert lim2.limit == 2


def test_limiter_bounds_concurrency_and_pauses_for_retry_after():
    async def main():
        lim = AdaptiveLimiter(3)
        active = peak = 0

        async def job():
            nonlocal active, peak
            async with lim.slot():
                active += 1
                peak = max(peak, active)
                await asyncio.sleep(0.01)
                active -= 1
        await asyncio.gather(*[job() for _ in range(20)])
        assert peak == 3
        lim.on_rate_limited(lim.generation, retry_after=0.2)
        t0 = time.monotonic()
        async with lim.slot():
            pass
        assert time.monotonic() - t0 >= 0.18
    asyncio.run(main())


def test_limiter_hands_slots_first_come_first_served_and_survives_cancellation():
    """A freed slot goes to the call that waited longest, never to one that came later; a
    waiting call that is cancelled (queued, or handed a slot it never used) leaks no slot; calls
    queued during a Retry-After pause start when it ends."""
    async def main():
        lim = AdaptiveLimiter(2)
        order = []
        gate = asyncio.Event()

        async def job(name):
            async with lim.slot():
                order.append(name)
                await gate.wait()
        first = [asyncio.create_task(job(n)) for n in ("a", "b")]
        await asyncio.sleep(0)
        queued = [asyncio.create_task(job(n)) for n in ("c", "d", "e")]
        await asyncio.sleep(0)
        assert lim.waiting == 3 and order == ["a", "b"]
        queued[1].cancel()                  # "d" leaves the queue
        gate.set()
        late = asyncio.create_task(job("f"))    # comes after c and e: must not jump ahead
        await asyncio.gather(*first, queued[0], queued[2], late)
        assert order == ["a", "b", "c", "e", "f"]
        assert (lim.in_flight, lim.waiting) == (0, 0)

        # handed a slot, then cancelled before running: the slot goes to the next one
        gate.clear()
        holders = [asyncio.create_task(job(n)) for n in ("g", "h")]
        await asyncio.sleep(0)
        waiter, after = asyncio.create_task(job("i")), asyncio.create_task(job("j"))
        await asyncio.sleep(0)
        gate.set()
        await asyncio.sleep(0)              # g and h leave; i and j are handed the slots
        waiter.cancel()
        await asyncio.gather(*holders, after)
        assert "j" in order and lim.in_flight == 0
        await asyncio.wait_for(lim.acquire(), 1)     # nothing leaked: a slot is free at once
        lim.release()

        # a pause holds the queue until it ends
        gate.clear()
        holders = [asyncio.create_task(job(n)) for n in ("k", "l")]
        await asyncio.sleep(0)
        queued = asyncio.create_task(job("m"))
        await asyncio.sleep(0)
        lim.on_rate_limited(lim.generation - 1, retry_after=0.15)   # a pause, no cut
        t0 = time.monotonic()
        gate.set()
        await asyncio.gather(*holders)
        assert "m" not in order
        await queued
        assert time.monotonic() - t0 >= 0.13 and order[-1] == "m"
    asyncio.run(main())


# -- client -------------------------------------------------------------------------------------
class Flaky(MockModel):
    """Fails with the given errors first, then answers."""

    def __init__(self, errors, latency=0.0):
        super().__init__("echo", latency=latency)
        self.errors = list(errors)

    async def generate(self, request):
        self.calls += 1
        if self.latency:
            await asyncio.sleep(self.latency)
        if self.errors:
            raise self.errors.pop(0)
        return Response("ok", "flaky")


FAST = RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.05)


def test_client_retries_retryable_errors():
    api = Flaky([RateLimited("429", retry_after=0.01), ServerError("500")])
    client = ModelClient(api, retry=FAST)
    resp = asyncio.run(client.generate(_request()))
    assert resp.text == "ok" and resp.attempts == 3 and api.calls == 3
    assert client.limiter.decreases == 1


def test_client_gives_up_with_attempt_count():
    api = Flaky([ServerError("boom")] * 10)
    client = ModelClient(api, retry=FAST)
    with pytest.raises(ServerError, match="gave up after 4 attempts") as info:
        asyncio.run(client.generate(_request()))
    assert info.value.attempts == 4 and api.calls == 4


def test_client_never_retries_auth_errors():
    api = Flaky([AuthError("bad key")])
    with pytest.raises(AuthError):
        asyncio.run(ModelClient(api, retry=FAST).generate(_request()))
    assert api.calls == 1


def test_client_times_out_and_retries():
    class Slow(Flaky):
        async def generate(self, request):
            self.calls += 1
            if self.calls == 1:
                await asyncio.sleep(1.0)
            return Response("ok", "slow")
    api = Slow([])
    resp = asyncio.run(ModelClient(api, retry=FAST, timeout=0.05).generate(_request()))
    assert resp.text == "ok" and resp.attempts == 2


def test_client_joins_identical_requests_and_caches(tmp_path):
    async def main():
        api = MockModel("echo", latency=0.05)
        cache = ResponseCache(tmp_path)
        client = ModelClient(api, cache=cache)
        answers = await asyncio.gather(*[client.generate(_request("same")) for _ in range(5)])
        assert {a.text for a in answers} == {"same"} and api.calls == 1
        again = await client.generate(_request("same"))
        assert again.cached and api.calls == 1
        sampled = await asyncio.gather(*[client.generate(_request("s", 0.8, sample=k))
                                         for k in range(3)])
        assert api.calls == 4 and len(sampled) == 3
        cache.close()
    asyncio.run(main())


def test_client_hashes_image_content(tmp_path):
    async def main():
        a, b = tmp_path / "a.png", tmp_path / "b.png"
        a.write_bytes(png_bytes((30, 30)))
        b.write_bytes(png_bytes((30, 30)))
        api = MockModel("yes-no")
        client = ModelClient(api, cache=ResponseCache(tmp_path / "cache"))
        await client.generate(_request("q", images=(str(a),)))
        second = await client.generate(_request("q", images=(str(b),)))  # same bytes
        assert second.cached and api.calls == 1
    asyncio.run(main())


def test_rows_written_by_many_threads_at_once_are_all_counted(tmp_path):
    """The cache's ``writes`` count was raised outside its lock: threads writing at once (a
    judge's worker threads) could lose counts, so the run sheet's cache figures fell short
    of the rows on disk. Every row is counted, and the count is the rows on disk."""
    from concurrent.futures import ThreadPoolExecutor
    doc = {"provider": "p", "model": "m"}
    cache = ResponseCache(tmp_path / "c")

    def put_many(t):
        for i in range(100):
            cache.put(f"{t}-{i}", doc, Response(f"answer {i}", "m"))
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(put_many, range(8)))
    assert cache.describe()["writes"] == len(cache) == 800
    cache.close()
