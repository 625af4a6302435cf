"""Metric objects passed to ``halluscope.audit(metrics=[...])`` ask their judge questions ahead
as metrics named by string do (issue 14): the parent updates such objects itself, one record at
a time, and their judge calls never overlapped (MMHal-Bench, 24 answers, 4 connections: peak 1
in flight). The local engine asks their questions with each of its chunks; with worker processes
or Ray they are asked in windows of what the engine hands back. The items, numbers and judge
counters are those of one call at a time."""

from __future__ import annotations

import json
from typing import ClassVar

import pytest

from benchmark_judges import judge_reply, write_inputs
from fake_openai_server import FakeServer
from halluscope.api import audit
from halluscope.judges import load_judge
from halluscope.metrics.mmhal import MMHalMetric


class MMHalAgain(MMHalMetric):
    """MMHal-Bench under another name, to run beside ``mmhal`` named by string."""

    name: ClassVar[str] = "mmhal_again"


def _run(tmp_path, name: str, connections: int, cls=MMHalMetric, **kw) -> dict:
    """Audit with a metric object whose judge has a server and a cache of its own; what its
    server saw and what the run wrote for it."""
    answers = write_inputs(tmp_path, 24, odd_rows=True)["mmhal"][0]
    out = tmp_path / name
    with FakeServer(latency=0.05, responder=judge_reply) as server, \
            FakeServer(latency=0.05, responder=judge_reply) as named:
        judge = load_judge("mmhal-gpt-4o-2024-08-06", base_url=server.url,
                           cache_dir=out / "cache", max_connections=connections)
        extra = {}
        if "metrics" in kw:     # beside metrics named by string, scored by the engine
            extra = {"judge": "mmhal-gpt-4o-2024-08-06", "cache_dir": str(out / "named"),
                     "options": {"judge_base_url": named.url, "judge_max_connections": 4}}
        audit(answers, out=out, metrics=[*kw.pop("metrics", []), cls(judge=judge)],
              n_boot=20, write_report=False, **extra, **kw)
        peak, asked = server.peak_in_flight, len(server.requests)
    results = json.loads((out / "results.json").read_text())["metrics"][cls.name]
    results["info"]["judge"]["cache"].pop("path")
    results["info"]["judge"]["adapter"].pop("base_url")
    items = [json.loads(line) for line in (out / "items.jsonl").read_text().splitlines()]
    return {"peak": peak, "asked": asked, "results": results,
            "items": [item.get("metrics", {}).get(cls.name) for item in items]}


def test_a_metric_object_asks_its_judge_ahead(tmp_path):
    serial = _run(tmp_path, "one", 1)
    together = _run(tmp_path, "four", 4)
    assert serial["peak"] == 1
    assert together["peak"] == 4                # was 1 whatever max_connections said
    for key in ("asked", "results", "items"):
        assert together[key] == serial[key], key
    assert serial["asked"] == 24                # 25 rows: one repeated (a cache hit), one
    uses = together["results"]["info"]["judge"]["stats"]["uses"]    # asks nothing
    assert uses["mmhal_rating"]["cached"] == 1


@pytest.mark.parametrize("engine", [{"workers": 2}, {"engine": "ray", "workers": 2}])
def test_a_metric_object_beside_worker_processes_asks_ahead_in_windows(tmp_path, engine):
    if engine.get("engine") == "ray":
        pytest.importorskip("ray")
    serial = _run(tmp_path, "one", 1, MMHalAgain)
    workers = _run(tmp_path, "w", 4, MMHalAgain, metrics=["mmhal"], **engine)
    assert workers["peak"] == 4                 # its own calls overlap, beside the workers'
    for key in ("asked", "results", "items"):
        assert workers[key] == serial[key], key


class _Asking:
    """A metric that notes the records whose judge questions it was asked to put ahead."""

    needs_verification = False

    def __init__(self):
        self.asked: list[list[str]] = []
        self.forgotten = 0

    def applies_to(self, record):
        return True

    def ask_judge_ahead(self, records):
        self.asked.append([r.id for r in records])
        return self

    def forget_ahead(self):
        self.forgotten += 1


def test_entries_are_asked_ahead_in_windows_and_a_stop_hands_on_what_was_read():
    from halluscope.metrics.judge_ahead import asked_in_windows
    from halluscope.records import record_from_dict
    records = [record_from_dict({"id": str(i), "response": "r"}, file="f", line=i + 1)
               for i in range(5)]
    metric = _Asking()
    out = [e[0].id for e in asked_in_windows(((r, None) for r in records), [metric], 2)]
    assert out == ["0", "1", "2", "3", "4"]
    assert metric.asked == [["0", "1"], ["2", "3"], ["4"]] and metric.forgotten == 3

    def stopped():
        yield from ((r, None) for r in records[:3])
        raise KeyboardInterrupt
    metric = _Asking()
    handed = []
    with pytest.raises(KeyboardInterrupt):
        for entry in asked_in_windows(stopped(), [metric], 2):
            handed.append(entry[0].id)
    assert handed == ["0", "1", "2"]            # the one read before the stop, unasked
    assert metric.asked == [["0", "1"]]
