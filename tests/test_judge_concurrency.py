"""The benchmark judges (HallusionBench original with its consistency diagnosis, MMHal-Bench,
Object HalBench), POPE's judge fallback and the verification of claims and FaithScore (claims
split by rules or by the judge, then checked) ask their questions concurrently, up to
judge_max_connections: each record asked its judge one call at a time before, so the option did
nothing (HallusionBench original: ~60 s at 50 ms a call, about an hour at GPT-4's latency). The
questions of a chunk are asked ahead and each record still takes its answer in turn, so the
items, numbers, judge counters and cache entries are those of one call at a time, failed calls
(replies cut at max_tokens) and unreadable answers reported as they were."""

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


@pytest.mark.parametrize("metric", ["hallusionbench", "mmhal", "objhal", "pope", "claims",
                                    "claims_split"])
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
    if metric in ("pope", "claims", "claims_split"):    # failed calls and unreadable answers
        name = "pope" if metric == "pope" else "claims"
        uses = json.loads(together["results"])["metrics"][name]["info"]["judge"]["stats"]["uses"]
        assert all(u["cut_replies"] and u["parse_failures"] for u in uses.values()), uses
        assert all(u["cached"] for u in uses.values() if metric != "claims_split"), uses


@pytest.mark.parametrize("engine", [["--workers", "2"], ["--engine", "ray", "--workers", "2"]])
@pytest.mark.parametrize("metric", ["mmhal", "pope", "claims_split"])
def test_worker_processes_overlap_their_judge_calls_with_the_same_items(tmp_path, engine,
                                                                        metric):
    if "ray" in engine:
        pytest.importorskip("ray")
    args = write_inputs(tmp_path, 24, odd_rows=True)[metric]
    serial = _audit(args, tmp_path / "one", 1)
    workers = _audit(args, tmp_path / "w", 4, *engine)
    assert workers["peak"] > 1
    for key in ("asked", "items", "cache"):
        assert workers[key] == serial[key], key
    names = {"pope": ["pope"], "claims_split": ["claims", "faithscore"]}.get(metric, [metric])
    for name in names:
        res = [json.loads(r["results"])["metrics"][name] for r in (serial, workers)]
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


#: The audit keywords of the resume test's metrics besides the answers and the judge.
RESUMED = {"mmhal": {"metrics": "mmhal"},
           "claims_split": {"metrics": "claims,faithscore", "claim_splitter": "judge"}}


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("metric", list(RESUMED))
def test_a_resume_after_a_kill_inside_a_chunk_gives_the_uninterrupted_run(tmp_path, workers,
                                                                          metric):
    """A kill after 5 records, while the rest of the chunk's questions had been asked ahead:
    --resume gives the uninterrupted run's items and results (the judge counters included but
    'cached': the resumed part reads from the cache what the killed part asked)."""
    from halluscope.api import audit
    inputs = write_inputs(tmp_path, 30, odd_rows=True)
    answers = inputs[metric][0]
    judge = inputs[metric][inputs[metric].index("--judge") + 1]
    extra = RESUMED[metric] if metric == "mmhal" else \
        dict(RESUMED[metric], annotations=[str(tmp_path / "ann.json")])

    def run(out, **kw):
        return audit(answers, out=out, judge=judge, n_boot=20,
                     options={"judge_base_url": server.url, "judge_max_connections": 4},
                     cache_dir=str(tmp_path / out.name / "cache"), workers=workers,
                     write_report=False, **extra, **kw)

    with FakeServer(latency=0.02, responder=judge_reply) as server:
        run(tmp_path / "whole")
        with pytest.raises(Stop):
            run(tmp_path / "cut", on_progress=stop_after(5))
        run(tmp_path / "cut", resume=True)
    results = {}
    for name in ("whole", "cut"):
        data = json.loads((tmp_path / name / "results.json").read_text())
        for info in (m["info"] for m in data["metrics"].values()):
            info["judge"]["cache"].pop("path")
            info["judge_reliability"].pop("cached")
            for use in info["judge"]["stats"]["uses"].values():
                use.pop("cached")
        results[name] = {k: v for k, v in data.items() if k not in ("run_id", "outputs", "digest")}
    assert results["cut"] == results["whole"]
    assert (tmp_path / "cut" / "items.jsonl").read_text() == \
        (tmp_path / "whole" / "items.jsonl").read_text()


def test_splits_and_checks_asked_ahead_are_read_without_counting_and_counted_when_taken(
        tmp_path):
    """The judge's split of a response asked ahead is read (to find the checks to ask ahead)
    without taking or counting it; the split and the checks count when verifying asks them,
    and nothing reaches the server twice."""
    from halluscope.judges.fallback import claim_questions, judge_claims
    from halluscope.records import record_from_dict
    from halluscope.types import Verdict
    write_inputs(tmp_path, 4)
    text = "A brown dog sits on a red sofa next to 1 cats near window 0."
    record = record_from_dict({"id": "c0", "image": str(tmp_path / "img" / "0.png"),
                               "prompt": "Describe the image.", "response": text},
                              file="c.jsonl", line=1)
    with FakeServer(latency=0.02, responder=judge_reply) as server:
        judge = load_judge("gpt-4o-2024-08-06", base_url=server.url,
                           cache_dir=tmp_path / "c", max_connections=4)
        assert judge.decomposed_ahead(text) is None             # not asked ahead
        judge.ask_ahead([("decompose", {"text": text})])
        claims = judge.decomposed_ahead(text)
        assert claims and judge.decomposed_ahead(text) == claims
        assert judge.stats.to_dict()["uses"] == {} and len(server.requests) == 1
        assert judge.decompose_sync(text) == claims
        assert judge.stats.use("decompose").calls == 1 and len(server.requests) == 1
        verdicts = [Verdict(c, "unverifiable", None, (), "no evidence", "none") for c in claims]
        assert judge.ask_ahead(claim_questions(judge, record, verdicts)) == len(claims)
        judged, asked = judge_claims(judge, record, verdicts)
        assert judge.stats.use("verify").calls == len(claims) == asked
        assert all(v.checker.startswith("judge-") for v in judged)
        assert len(server.requests) == 1 + len(claims) and not judge._held
        judge.close()


class CountingFacts:
    """An evidence source that knows nothing (every claim left to the judge) and counts how
    often it is asked, as a detector's passes count its runs."""

    name = "counting"

    def __init__(self):
        self.asked = 0

    def facts(self, record, claims):
        self.asked += 1
        return None


def test_facts_found_while_asking_ahead_are_gathered_once_per_record(tmp_path, monkeypatch):
    """The facts gathered to work out a chunk's checks are the ones verification uses: an
    evidence source (a detector) is asked once per record, as one call at a time asked it."""
    from halluscope import verification_ahead
    from halluscope.engines import LocalEngine
    from halluscope.metrics.claims import ClaimsMetric
    from halluscope.records import record_from_dict
    prepare, prepared = verification_ahead._prepare, []

    def counted(*args):
        out = prepare(*args)
        prepared.append(len(out[0]))
        return out

    monkeypatch.setattr(verification_ahead, "_prepare", counted)
    write_inputs(tmp_path, 12)
    lines = (tmp_path / "captions.jsonl").read_text().splitlines()
    records = [record_from_dict(dict(json.loads(line), image=str(tmp_path / json.loads(line)[
        "image"])), file="captions.jsonl", line=n) for n, line in enumerate(lines, 1)]
    seen = {}
    with FakeServer(latency=0.01, responder=judge_reply) as server:
        for connections in (1, 4):
            source = CountingFacts()
            judge = load_judge("gpt-4o-2024-08-06", base_url=server.url,
                               cache_dir=tmp_path / f"c{connections}",
                               max_connections=connections)
            metric = ClaimsMetric(providers=[source], judge=judge, n_boot=0)
            scored = list(LocalEngine([metric]).run(records))
            assert source.asked == len(records)
            seen[connections] = [(o[0][0], o[0][1].top, o[0][1].payload) for _, o, _ in scored]
            judge.close()
    assert seen[4] == seen[1] and prepared == [len(records), len(records)]
    assert any(c["checker"] == "judge-attribute" for _, top, _ in seen[1]
               for c in top["claims"])
