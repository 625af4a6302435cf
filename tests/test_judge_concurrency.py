"""The benchmark judges (HallusionBench original with its consistency diagnosis, MMHal-Bench,
Object HalBench) ask their questions concurrently, up to judge_max_connections: each record
asked its judge one call at a time before, so the option did nothing (HallusionBench original:
~60 s at 50 ms a call, about an hour at GPT-4's latency). The questions of a chunk are asked
ahead and each record still takes its answer in turn, so the items, numbers, judge counters
and cache entries are those of one call at a time."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from benchmark_judges import judge_reply, write_inputs
from fake_openai_server import FakeServer
from test_workers import Stop, stop_after
from halluscope.cli import app
from halluscope.judges import load_judge


def _audit(args: list[str], out: Path, connections: int, *extra: str) -> dict:
    """Audit against a slow fake judge; what the server saw and what the run wrote."""
    with FakeServer(latency=0.05, responder=judge_reply) as server:
        res = CliRunner().invoke(app, [
            "audit", *args, "--option", f"judge_base_url={server.url}",
            "--option", f"judge_max_connections={connections}", "--cache-dir",
            str(out / "cache"), "--out", str(out / "o"), "--no-report", "--quiet",
            "--bootstrap", "20", *extra])
        peak, asked = server.peak_in_flight, len(server.requests)
    assert res.exit_code in (0, 1), res.output
    results = json.loads((out / "o" / "results.json").read_text())
    for key in ("run_id", "digest", "outputs"):
        results.pop(key)
    text = re.sub(r"127\.0\.0\.1:\d+", "SERVER", json.dumps(results, sort_keys=True))
    with sqlite3.connect(out / "cache" / "responses.sqlite3") as db:
        # the keys name the server (its port changes from run to run): the requests cached
        cached = sorted(re.sub(r"127\.0\.0\.1:\d+", "SERVER", request) for (request,)
                        in db.execute("SELECT request FROM responses"))
    return {"peak": peak, "asked": asked, "results": text.replace(str(out), "OUT"),
            "items": (out / "o" / "items.jsonl").read_text(), "cache": cached}


@pytest.mark.parametrize("metric", ["hallusionbench", "mmhal", "objhal"])
def test_judge_calls_overlap_and_give_what_one_at_a_time_gives(tmp_path, metric):
    args = write_inputs(tmp_path, 30, odd_rows=True)[metric]
    serial = _audit(args, tmp_path / "one", 1)
    together = _audit(args, tmp_path / "four", 4)
    assert serial["peak"] == 1
    assert together["peak"] == 4                # it was 1 whatever the option said
    for key in ("asked", "results", "items", "cache"):
        assert together[key] == serial[key], key
    if metric == "hallusionbench":              # the diagnosis's questions asked too
        info = json.loads(together["results"])["metrics"]["hallusionbench"]["info"]
        assert sum(info["diagnosis"]["same_replies"].values()) == 30


@pytest.mark.parametrize("engine", [["--workers", "2"], ["--engine", "ray", "--workers", "2"]])
def test_worker_processes_overlap_their_judge_calls_with_the_same_items(tmp_path, engine):
    if "ray" in engine:
        pytest.importorskip("ray")
    args = write_inputs(tmp_path, 24, odd_rows=True)["mmhal"]
    serial = _audit(args, tmp_path / "one", 1)
    workers = _audit(args, tmp_path / "w", 4, *engine)
    assert workers["peak"] > 1
    for key in ("asked", "items", "cache"):
        assert workers[key] == serial[key], key
    res = [json.loads(r["results"])["metrics"]["mmhal"] for r in (serial, workers)]
    assert res[0] == res[1]


def test_answers_asked_ahead_are_counted_when_taken(tmp_path):
    """A question asked ahead counts as a call only when it is asked (as its record is
    scored), a repeat asked in the same batch is the cache hit it is one at a time, and what
    no one asked for is dropped."""
    with FakeServer(latency=0.02, responder=judge_reply) as server:
        judge = load_judge("mmhal-gpt-4o-2024-08-06", base_url=server.url,
                           cache_dir=tmp_path / "c", max_connections=4)
        values = [{"image_content": "a", "question": f"q{i}", "standard_answer": "s",
                   "response": "r"} for i in (0, 1, 2, 0)]
        assert judge.ask_ahead([("mmhal_rating", v) for v in values]) == 3   # one per request
        assert len(server.requests) == 3 and judge.stats.to_dict()["uses"] == {}
        answers = [judge.ask_sync("mmhal_rating", **v) for v in values[:3]]
        assert all(a.parsed for a in answers)
        assert judge.ask_sync("mmhal_rating", **values[3]).raw == answers[0].raw
        use = judge.stats.use("mmhal_rating")
        assert (use.calls, use.cached, len(server.requests)) == (4, 1, 3)
        judge.ask_ahead([("mmhal_rating", dict(values[0], question="never asked"))])
        judge.forget_ahead()
        assert not judge._held
        judge.close()


@pytest.mark.parametrize("workers", [1, 2])
def test_a_resume_after_a_kill_inside_a_chunk_gives_the_uninterrupted_run(tmp_path, workers):
    """A kill after 5 records, while the rest of the chunk's questions had been asked ahead:
    --resume gives the uninterrupted run's items and results (the judge counters included but
    'cached': the resumed part reads from the cache what the killed part asked)."""
    from halluscope.api import audit
    answers = write_inputs(tmp_path, 30, odd_rows=True)["mmhal"][0]

    def run(out, **kw):
        return audit(answers, out=out, metrics="mmhal", judge="mmhal-gpt-4o-2024-08-06",
                     n_boot=20, options={"judge_base_url": server.url,
                                         "judge_max_connections": 4},
                     cache_dir=str(tmp_path / out.name / "cache"), workers=workers,
                     write_report=False, **kw)

    with FakeServer(latency=0.02, responder=judge_reply) as server:
        run(tmp_path / "whole")
        with pytest.raises(Stop):
            run(tmp_path / "cut", on_progress=stop_after(5))
        run(tmp_path / "cut", resume=True)
    results = {}
    for name in ("whole", "cut"):
        data = json.loads((tmp_path / name / "results.json").read_text())
        info = data["metrics"]["mmhal"]["info"]
        info["judge"]["cache"].pop("path")
        info["judge_reliability"].pop("cached")
        info["judge"]["stats"]["uses"]["mmhal_rating"].pop("cached")
        results[name] = {k: v for k, v in data.items() if k not in ("run_id", "outputs", "digest")}
    assert results["cut"] == results["whole"]
    assert (tmp_path / "cut" / "items.jsonl").read_text() == \
        (tmp_path / "whole" / "items.jsonl").read_text()
