"""Processes that share a cache file ask a request once (issue 14): a judge question that fell in
two workers' chunks was sent by both (each chunk's questions are asked ahead together), so
``--workers 2`` paid the judge for 15 calls where ``--workers 1`` paid 12. A miss is now claimed
in the cache file; another process waits for its answer there, and stops waiting when the
claim is let go without one, when the process holding it is gone, or after a bound."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
import threading
import time

import pytest
from typer.testing import CliRunner

from benchmark_judges import judge_reply
from fake_openai_server import FakeServer
from halluscope.adapters import shared_calls
from halluscope.adapters.cache import ResponseCache
from halluscope.adapters.client import ModelClient
from halluscope.adapters.openai_compat import OpenAICompatible
from halluscope.adapters.types import Message, Request, Response
from halluscope.cli import app


def _pope_with_repeats(folder) -> str:
    """16 POPE answers no rule reads; lines 5-8 ask lines 1-4's questions again, in the chunk
    the second worker scores while the first scores lines 1-4."""
    things = ["dog", "cat", "sofa", "zebra"]
    rows = [{"question_id": i, "prompt": f"Is there a {things[i % 4]} in the image?",
             "label": "yes", "response": f"Perhaps, in a way ({i % 4 if 4 <= i < 8 else i})."}
            for i in range(16)]
    path = folder / "pope.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def _audit(answers: str, out, engine: list[str]) -> dict:
    with FakeServer(latency=1.0, responder=judge_reply) as server:     # the race: 1 s
        res = CliRunner().invoke(app, [
            "audit", answers, "--metric", "pope", "--judge", "gpt-4o-2024-08-06",
            "--pope-parser", "strict", "--option", f"judge_base_url={server.url}",
            "--cache-dir", str(out / "cache"), "--out", str(out / "o"), "--no-report",
            "--quiet", "--bootstrap", "20", *engine])
        asked = len(server.requests)
    assert res.exit_code == 0, res.output
    info = json.loads((out / "o" / "results.json").read_text())["metrics"]["pope"]["info"]
    with sqlite3.connect(out / "cache" / "responses.sqlite3") as db:
        left = db.execute("SELECT COUNT(*) FROM calls_in_flight").fetchone()[0]
    return {"asked": asked, "stats": info["judge"]["stats"]["uses"], "left": left,
            "items": (out / "o" / "items.jsonl").read_bytes()}


@pytest.mark.parametrize("engine", [["--workers", "2"], ["--engine", "ray", "--workers", "2"]])
def test_a_question_in_two_workers_chunks_is_asked_once(tmp_path, engine):
    if "ray" in engine:
        pytest.importorskip("ray")
    answers = _pope_with_repeats(tmp_path)
    one = _audit(answers, tmp_path / "one", ["--workers", "1"])
    two = _audit(answers, tmp_path / "two", engine)
    assert one["asked"] == 12                   # 16 answers, 4 of them asked again: cache hits
    assert two["asked"] == one["asked"]         # was 15 with --workers 2
    assert two["stats"] == one["stats"]         # the same calls and cache hits counted
    assert two["stats"]["classify_yes_no"]["cached"] == 4
    assert two["items"] == one["items"]
    assert one["left"] == two["left"] == 0      # every claim let go


# -- the claim, one request ------------------------------------------------------------------
REQUEST = Request((Message.user("Is there a dog?"),))


def _client(server, cache) -> ModelClient:
    return ModelClient(OpenAICompatible("gpt-x", provider="openai", base_url=server.base),
                       cache=cache)


def _generate(client: ModelClient) -> tuple[Response, float]:
    async def main():
        t0 = time.monotonic()
        try:
            return await client.generate(REQUEST), time.monotonic() - t0
        finally:
            await client.aclose()
    return asyncio.run(main())


def _claim_as(cache_dir, key: str, pid: int, started: str | None, since: float | None = None):
    """Write the claim another process holds on ``key`` into the cache file."""
    with sqlite3.connect(cache_dir / "responses.sqlite3") as db:
        db.execute("INSERT INTO calls_in_flight (key, host, pid, started, since) VALUES "
                   "(?, ?, ?, ?, ?)", (key, shared_calls.this_process()[0], pid, started,
                                       time.time() if since is None else since))


@pytest.fixture
def other_process():
    """A live process other than this one (the worker that claimed)."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()


def _let_go(cache_dir) -> None:
    with sqlite3.connect(cache_dir / "responses.sqlite3") as db:
        db.execute("DELETE FROM calls_in_flight")


def _held(cache_dir) -> list:
    with sqlite3.connect(cache_dir / "responses.sqlite3") as db:
        return db.execute("SELECT key, pid FROM calls_in_flight").fetchall()


def test_a_request_another_process_claimed_waits_for_its_answer(tmp_path, other_process):
    with FakeServer(responder=lambda p, b: "asked here") as server:
        with ResponseCache(tmp_path) as cache:
            client = _client(server, cache)
            key, doc = asyncio.run(client.key(REQUEST))
            _claim_as(tmp_path, key, other_process.pid,
                      shared_calls._started(other_process.pid))

            def answer_there():     # the other process's answer arrives, its claim let go
                time.sleep(0.4)
                with ResponseCache(tmp_path) as theirs:
                    theirs.put(key, doc, Response("asked there", "gpt-x"))
                _let_go(tmp_path)
            thread = threading.Thread(target=answer_there)
            thread.start()
            response, took = _generate(client)
            thread.join()
        assert server.requests == []
        assert response.text == "asked there" and response.cached and took >= 0.4
        assert client.cache_hits == 1 and client.calls == 0


def test_a_claim_let_go_without_an_answer_is_asked_here(tmp_path, other_process):
    """The other process's call failed (nothing cached): asked again, as one process at a
    time asks a failed question again."""
    with FakeServer(responder=lambda p, b: "asked here") as server:
        with ResponseCache(tmp_path) as cache:
            client = _client(server, cache)
            key, _ = asyncio.run(client.key(REQUEST))
            _claim_as(tmp_path, key, other_process.pid, None)
            threading.Timer(0.3, _let_go, (tmp_path,)).start()
            response, took = _generate(client)
        assert response.text == "asked here" and len(server.requests) == 1 and took >= 0.3
        assert _held(tmp_path) == []


def test_a_claim_of_a_process_that_is_gone_is_taken_over_at_once(tmp_path):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    with FakeServer(responder=lambda p, b: "asked here") as server:
        with ResponseCache(tmp_path) as cache:
            client = _client(server, cache)
            key, _ = asyncio.run(client.key(REQUEST))
            _claim_as(tmp_path, key, gone.pid, "1")     # a worker killed mid-call
            response, took = _generate(client)
        assert response.text == "asked here" and len(server.requests) == 1 and took < 2
        assert _held(tmp_path) == []


def test_a_reused_process_id_is_not_the_process_that_claimed(tmp_path, other_process):
    """A claim left by a crashed run whose process id a live process has now: not waited for
    (the start times differ)."""
    with FakeServer(responder=lambda p, b: "asked here") as server:
        with ResponseCache(tmp_path) as cache:
            client = _client(server, cache)
            key, _ = asyncio.run(client.key(REQUEST))
            _claim_as(tmp_path, key, other_process.pid, "not its start")
            response, took = _generate(client)
        assert response.text == "asked here" and took < 2


def test_a_live_process_that_never_answers_is_waited_for_a_bounded_time(tmp_path,
                                                                         other_process):
    with FakeServer(responder=lambda p, b: "asked here") as server:
        with ResponseCache(tmp_path) as cache:
            client = _client(server, cache)
            client.shared_wait_s = 0.5
            key, _ = asyncio.run(client.key(REQUEST))
            _claim_as(tmp_path, key, other_process.pid,
                      shared_calls._started(other_process.pid))
            response, took = _generate(client)
            assert response.text == "asked here" and 0.5 <= took < 3
            assert _held(tmp_path) == []
            _claim_as(tmp_path, "old", other_process.pid,      # claimed long ago: void
                      shared_calls._started(other_process.pid), since=time.time() - 999)
            t0 = time.monotonic()
            assert asyncio.run(shared_calls.claim_or_wait(cache, "old", 0.5)) is False
            assert time.monotonic() - t0 < 0.4


def test_no_claim_is_left_and_none_made_while_rows_are_batched(tmp_path):
    with FakeServer(responder=lambda p, b: "asked here") as server:
        with ResponseCache(tmp_path) as cache:
            _generate(_client(server, cache))
            assert _held(tmp_path) == [] and len(cache) == 1

            async def batched():
                with cache.batched():
                    assert not cache.claims_calls
            asyncio.run(batched())
            assert cache.claims_calls
