"""A claim on a request (:mod:`halluscope.adapters.shared_calls`) is taken at its first miss,
while the request may still wait in line for a connection. Its age alone was the bound another
worker waited for: a request queued longer than that (300 s; here 0.6 s) behind the others was
asked by a second worker as well, and paid twice. Its holder now renews the claim while it
holds it; a claim not renewed for the bound is still void."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

from fake_openai_server import FakeServer
from halluscope.adapters import shared_calls
from halluscope.adapters.cache import ResponseCache
from halluscope.adapters.client import ModelClient
from halluscope.adapters.openai_compat import OpenAICompatible
from halluscope.adapters.types import Message, Request, Response
from test_shared_calls import _claim_as, _held, _let_go, other_process  # noqa: F401

WAIT = 0.6

#: The other worker: one connection, five requests asked together (the last waits ~4 s in
#: line, well past WAIT), its claims renewed every WAIT / 4.
WORKER = """
import asyncio, sys
from halluscope.adapters.cache import ResponseCache
from halluscope.adapters.client import ModelClient
from halluscope.adapters.openai_compat import OpenAICompatible
from halluscope.adapters.types import Message, Request

async def main(folder, base, wait):
    with ResponseCache(folder) as cache:
        client = ModelClient(OpenAICompatible("gpt-x", provider="openai", base_url=base),
                             cache=cache, max_connections=1)
        client.shared_wait_s = wait
        try:
            await asyncio.gather(*(client.generate(Request((Message.user(f"q{i}"),)))
                                   for i in range(5)))
        finally:
            await client.aclose()

asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3])))
"""


def _asked(server) -> list[str]:
    return [m["content"] if isinstance(m["content"], str) else m["content"][0]["text"]
            for r in server.requests for m in r["messages"] if m["role"] == "user"]


def _ask(cache: ResponseCache, base: str, text: str, wait: float) -> tuple[Response, float]:
    async def main():
        client = ModelClient(OpenAICompatible("gpt-x", provider="openai", base_url=base),
                             cache=cache)
        client.shared_wait_s = wait
        t0 = time.monotonic()
        try:
            return await client.generate(Request((Message.user(text),))), time.monotonic() - t0
        finally:
            await client.aclose()
    return asyncio.run(main())


def test_a_request_queued_past_the_wait_bound_in_another_worker_is_asked_once(tmp_path):
    with FakeServer(latency=1.0, responder=lambda p, b: f"answer to {p}") as server:
        ResponseCache(tmp_path).close()         # the file and its tables, before both open it
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            [str(Path(__file__).resolve().parents[1]), os.environ.get("PYTHONPATH", "")])}
        worker = subprocess.Popen([sys.executable, "-c", WORKER, str(tmp_path), server.base,
                                   str(WAIT)], env=env)
        try:
            deadline = time.monotonic() + 30
            while len(_held(tmp_path)) < 5:     # every request of the worker claimed
                assert worker.poll() is None and time.monotonic() < deadline
                time.sleep(0.02)
            with ResponseCache(tmp_path) as cache:
                response, took = _ask(cache, server.base, "q4", WAIT)
        finally:
            assert worker.wait(timeout=30) == 0
    assert _asked(server).count("q4") == 1      # was 2: asked here once the claim was 0.6 s old
    assert response.cached and response.text == "answer to q4"
    assert took > WAIT                          # it waited past the bound, for the answer
    assert sorted(_asked(server)) == [f"q{i}" for i in range(5)]
    assert _held(tmp_path) == []


def test_a_renewed_claim_is_waited_for_and_one_not_renewed_is_void(tmp_path, other_process):
    with FakeServer(responder=lambda p, b: "asked here") as server:
        with ResponseCache(tmp_path) as cache:
            client = ModelClient(OpenAICompatible("gpt-x", provider="openai",
                                                  base_url=server.base), cache=cache)
            key, doc = asyncio.run(client.key(Request((Message.user("q"),))))
            _claim_as(tmp_path, key, other_process.pid,
                      shared_calls._started(other_process.pid))

            def renew_then_answer():        # the other worker: in line for 1 s, renewing
                for _ in range(10):
                    time.sleep(0.1)
                    with sqlite3.connect(tmp_path / "responses.sqlite3") as db:
                        db.execute("UPDATE calls_in_flight SET since = ?", (time.time(),))
                with ResponseCache(tmp_path) as theirs:
                    theirs.put(key, doc, Response("asked there", "gpt-x"))
                _let_go(tmp_path)
            thread = threading.Thread(target=renew_then_answer)
            thread.start()
            response, took = _ask(cache, server.base, "q", 0.3)
            thread.join()
            assert response.text == "asked there" and response.cached and took >= 1.0
            assert server.requests == []
            # the same claim left unrenewed (a process that hangs): void after the bound
            _claim_as(tmp_path, "other", other_process.pid,
                      shared_calls._started(other_process.pid))
            t0 = time.monotonic()
            assert asyncio.run(shared_calls.claim_or_wait(cache, "other", 0.3)) is False
            assert 0.3 <= time.monotonic() - t0 < 2


def test_refresh_renews_the_claims_named_that_this_process_holds_only(tmp_path,
                                                                      other_process):
    """Another process's claim is not renewed, nor one this process left behind (a call
    abandoned): renewing all of a process's claims kept such a one alive for ever, and a
    worker waiting for it waited for ever."""
    with ResponseCache(tmp_path) as cache:
        for key in ("mine", "left"):
            assert asyncio.run(shared_calls.claim_or_wait(cache, key, 1.0)) is False
        _claim_as(tmp_path, "theirs", other_process.pid, None, since=1.0)
        with sqlite3.connect(tmp_path / "responses.sqlite3") as db:
            db.execute("UPDATE calls_in_flight SET since = 2.0 WHERE key IN ('mine', 'left')")
        shared_calls.refresh(cache, ("mine", "theirs"))
        with sqlite3.connect(tmp_path / "responses.sqlite3") as db:
            since = dict(db.execute("SELECT key, since FROM calls_in_flight"))
        assert since["theirs"] == 1.0 and since["left"] == 2.0
        assert since["mine"] > time.time() - 5
        for key in ("mine", "left"):
            shared_calls.release(cache, key)
