"""Query actors that die mid-run (``--engine ray``), on a local Ray instance: one that Ray can
restart is restarted and its batches asked again, the run finishing whole; one that cannot
be restarted ends the run with :class:`WorkerLost` (exit 3) naming what it left unanswered,
every answer received written, and the same command asks what is left."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from fake_openai_server import FakeServer, default_responder
from halluscope.adapters import ray_query

ray = pytest.importorskip("ray", reason="ray is not installed (pip install 'halluscope[ray]')")

N = 24


@pytest.fixture
def prompts(tmp_path: Path) -> Path:
    path = tmp_path / "p.jsonl"
    path.write_text("".join(json.dumps({"id": f"p{i:02d}", "prompt": f"Q{i:02d}"}) + "\n"
                            for i in range(N)))
    return path


@pytest.fixture
def pools(monkeypatch) -> list:
    """The actor pools the runs start (to kill an actor of one)."""
    started: list = []
    start = ray_query.start_pool

    def keep(*args, **kwargs):
        started.append(start(*args, **kwargs))
        return started[-1]
    monkeypatch.setattr(ray_query, "start_pool", keep)
    return started


def killer(pools: list, restart: bool, when: str = "Q06"):
    """A responder that kills the pool's first actor the first time ``when`` is asked, before
    it answers (so that the kill lands while the run still has batches to ask, however loaded
    the machine: a kill sent from a thread of its own could land after the last batch, and an
    actor restarted with nothing left to ask is never seen), and answers slowly."""
    fired = threading.Event()

    def respond(prompt: str, body: dict) -> str:
        if when in prompt and not fired.is_set():
            fired.set()
            ray.kill(pools[0].actors[0], no_restart=not restart)
        return default_responder(prompt, body)
    return respond


def _lines(out: Path) -> list[dict]:
    return [json.loads(x) for x in out.read_text().splitlines() if x.strip()]


def _sheet(out: Path) -> dict:
    return json.loads(out.with_name(out.name + ".runsheet.json").read_text())


def test_an_actor_that_dies_is_restarted_and_its_batches_asked_again(
        prompts, tmp_path, local_ray, pools, caplog):
    """An actor killed mid-run (restartable, as a process the OOM killer ended) was never
    restarted: the run ended with Ray's error. Now Ray restarts it and the batches it was
    asking are asked again: every prompt answered once in the file, in order."""
    out = tmp_path / "out.jsonl"
    with FakeServer(latency=0.05, responder=killer(pools, restart=True)) as server:
        result = ray_query.query_ray(prompts, "openai/m", base_url=server.url, out=out,
                                     cache=False, workers=2, max_connections=2, batch_size=2)
    assert result.exit_code == 0 and not result.stopped
    assert [r["id"] for r in _lines(out)] == [f"p{i:02d}" for i in range(N)]
    assert all(r["response"] == f"echo: {r['prompt']}" for r in _lines(out))
    engine = _sheet(out)["engine"]
    assert engine["actor_restarts"] == 1 and engine["max_restarts"] == ray_query.MAX_RESTARTS
    assert _sheet(out)["aborted"] is None
    assert "Ray query actor 0 was restarted" in caplog.text


def test_an_actor_that_cannot_be_restarted_ends_the_run_naming_what_it_left(
        prompts, tmp_path, local_ray, pools):
    """An actor killed for good: WorkerLost (exit 3 from the command line) naming the
    requests it was asking; the answers received are written, the run sheet says the run did
    not finish, and the same call asks only what is missing."""
    out = tmp_path / "out.jsonl"
    with FakeServer(latency=0.05, responder=killer(pools, restart=False)) as server:
        with pytest.raises(ray_query.WorkerLost) as lost:
            ray_query.query_ray(prompts, "openai/m", base_url=server.url, out=out, cache=False,
                                workers=2, max_connections=2, batch_size=2)
        message = str(lost.value)
        assert "could not be restarted" in message and "run the same command again" in message
        kept = {r["id"] for r in _lines(out)}
        assert kept and len(kept) < N
        named = [i for i in (f"p{n:02d}" for n in range(N)) if i in message]
        assert named and not set(named) & kept        # it names requests it left unanswered
        # (and holds them all, for the command line's own lines: tests/test_query_polish.py)
        assert set(named) <= set(lost.value.unanswered) and not set(lost.value.unanswered) & kept
        assert "died" in lost.value.why or "killed" in lost.value.why, lost.value.why
        sheet = _sheet(out)
        assert sheet["aborted"].startswith("WorkerLost: a Ray query actor died")
        asked = len(server.requests)
        again = ray_query.query_ray(prompts, "openai/m", base_url=server.url, out=out,
                                    cache=False, workers=2, max_connections=2, batch_size=2)
    assert again.exit_code == 0
    assert [r["id"] for r in _lines(out)] == [f"p{i:02d}" for i in range(N)]
    assert len(server.requests) - asked == N - len(kept)     # only what was missing


def test_lost_message_names_the_first_requests_and_why():
    from halluscope.adapters.ray_actors import MAX_RESTARTS, actor_died, lost_message

    class RayActorError(Exception):
        pass

    class ActorDiedError(RayActorError):
        pass
    exc = ActorDiedError("The actor died unexpectedly before finishing this task.\n\t"
                         "pid: 1\nThe actor is dead because it was killed by `ray.kill`.")
    assert actor_died(exc) and not actor_died(RuntimeError("x"))
    text = lost_message([f"p{i}" for i in range(7)], exc)
    assert f"at most {MAX_RESTARTS} restarts each" in text
    assert "killed by `ray.kill`" in text
    assert "the 7 request(s) it was asking went unanswered (p0, p1, p2, p3, p4, ...)" in text
