"""A record that kills the worker process scoring it (a crash in native code, the OOM killer)
is found, listed as a bad record at its line, and the other records are scored as in one
process; the audit used to stop with an internal error (BrokenProcessPool), losing them all."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from halluscope import engines
from halluscope.api import audit

KILLER = '''
import os
from typing import ClassVar

from halluscope.metrics.base import ItemScore, Metric
from halluscope.metrics.stats import rate, ratio


class Killer(Metric):
    """Share of long answers; an answer saying DIE ends the process scoring it."""

    name: ClassVar[str] = "killer"
    columns: ClassVar[tuple[str, ...]] = ("n", "long")
    statistics: ClassVar[dict] = {"long_rate": rate(lambda s: ratio(s["long"], s["n"]))}

    def score(self, record):
        if "DIE" in (record.response or ""):
            os._exit(9)
        return ItemScore(payload={}, row=(1.0, float(len(record.response or "") > 12)))
'''


def _inputs(tmp_path: Path, die: set[int], n: int = 120) -> tuple[Path, Path, str]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    metric = tmp_path / "killer.py"
    metric.write_text(KILLER)
    rows = [{"id": str(i), "caption": "DIE" if i in die else "a caption" + " x" * (i % 5)}
            for i in range(1, n + 1)]
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    clean = tmp_path / "clean.jsonl"
    clean.write_text("".join(json.dumps(r) + "\n" for r in rows if int(r["id"]) not in die))
    return path, clean, f"{metric}:Killer"


@pytest.mark.parametrize("start", ["fork", "spawn"])
def test_the_record_that_kills_its_worker_is_a_bad_record(tmp_path, monkeypatch, start):
    if start == "spawn":
        monkeypatch.setattr(engines, "fork_is_safe", lambda: False)
    path, clean, metric = _inputs(tmp_path, die={40, 97})
    two = audit(path, metrics=metric, out=tmp_path / "w", workers=2, n_boot=50,
                write_report=False)
    assert [(e["line"], e["metric"]) for e in two.errors] == [(40, "killer"), (97, "killer")]
    assert "the process scoring this record died while scoring it alone" in \
        two.errors[0]["message"]
    ex = two.runsheet["execution"]
    # forked where this process has no thread running (earlier tests may have left one)
    assert ex["workers"] == 2 and ex["processes"]["start"] in (start, "spawn")
    assert ex["processes"]["restarts_after_a_worker_died"] >= 2
    # the other 118 records: the numbers one process gives on the file without the two
    one = audit(clean, metrics=metric, out=tmp_path / "o", workers=1, n_boot=50,
                write_report=False)
    a, b = two.metrics["killer"].results["long_rate"], one.metrics["killer"].results["long_rate"]
    assert (a.value, a.n) == (b.value, b.n) and a.n == 118
    items = [json.loads(x) for x in (tmp_path / "w" / "items.jsonl").read_text().splitlines()]
    assert len(items) == 120
    assert [i["error_detail"]["line"] for i in items if "error" in i] == [40, 97]


def test_a_chunk_sent_to_a_pool_broken_meanwhile_is_rescued_too(tmp_path):
    """A worker that dies while the next chunk is being sent breaks the pool under that
    ``submit``, which raised BrokenProcessPool at once (exit 3) instead of rescuing the chunk
    like the ones in flight; small inputs with several such records met it every time."""
    path, clean, metric = _inputs(tmp_path, die={6, 10, 14, 18, 22})
    for k in range(3):
        two = audit(path, metrics=metric, out=tmp_path / f"w{k}", workers=2, n_boot=0,
                    write_report=False)
        assert [e["line"] for e in two.errors] == [6, 10, 14, 18, 22]
    one = audit(clean, metrics=metric, out=tmp_path / "o", workers=1, n_boot=0,
                write_report=False)
    a, b = two.metrics["killer"].results["long_rate"], one.metrics["killer"].results["long_rate"]
    assert (a.value, a.n) == (b.value, b.n) and a.n == 115


def test_no_innocent_record_is_blamed_for_a_death(tmp_path):
    """A dead worker's chunk used to be scored one record at a time in the main pool, while a
    chunk sent there after its restart could kill a worker too: the record being rescued then
    was listed as the one that died (line 6 of 25, by chance). Now the rescue runs where
    nothing else does; many patterns of deaths, the same lines every time."""
    import random
    rng = random.Random(1)
    for k in range(12):
        n = rng.choice([10, 25, 60])
        die = {i for i in range(2, n + 1, 3) if rng.random() < 0.3}   # apart: a chunk where
        # most records die is the rule for "workers that cannot work" (next test)
        path, _, metric = _inputs(tmp_path / str(k), die=die, n=n)
        two = audit(path, metrics=metric, out=tmp_path / str(k) / "w", workers=2, n_boot=0,
                    write_report=False)
        assert [e["line"] for e in two.errors] == sorted(die), (n, sorted(die))


def test_workers_that_die_on_every_record_stop_the_audit(tmp_path):
    """When most records kill their worker it is no record's fault (a worker that cannot start,
    too little memory): an internal error, not every record listed as bad."""
    from concurrent.futures.process import BrokenProcessPool
    # the first record is scored here, warming the metrics before the workers fork
    path, _, metric = _inputs(tmp_path, die=set(range(2, 121)))
    with pytest.raises(BrokenProcessPool, match="keep dying"):
        audit(path, metrics=metric, out=tmp_path / "w", workers=2, n_boot=0,
              write_report=False)


LATE = '''
import multiprocessing
import os
import sys
from typing import ClassVar

from halluscope.metrics.base import ItemScore, Metric
from halluscope.metrics.stats import rate, ratio

DOOMED = []


def _elsewhere():
    """In a worker process or a Ray actor (one process, which the death would end, is not)."""
    ray = sys.modules.get("ray")
    return multiprocessing.parent_process() is not None or (
        ray is not None and ray.is_initialized() and bool(ray.get_runtime_context().get_actor_id()))


class Late(Metric):
    """Share of long answers; an answer saying LATE dooms the process scoring it elsewhere,
    which dies while scoring its next record: a death that lands after its cause (a thread's
    crash, the OOM killer's choice)."""

    name: ClassVar[str] = "late"
    columns: ClassVar[tuple[str, ...]] = ("n", "long")
    statistics: ClassVar[dict] = {"long_rate": rate(lambda s: ratio(s["long"], s["n"]))}

    def score(self, record):
        if DOOMED:
            os._exit(9)
        if "LATE" in (record.response or "") and _elsewhere():
            DOOMED.append(record.id)
        return ItemScore(payload={}, row=(1.0, float(len(record.response or "") > 12)))
'''


def late_inputs(tmp_path: Path, late: set[int], n: int = 30) -> tuple[Path, str]:
    """``n`` answers, those at the lines ``late`` saying LATE, and the :class:`Late` metric."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    metric = tmp_path / "late.py"
    metric.write_text(LATE)
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps({"id": str(i), "caption": (
        "LATE " if i in late else "a caption") + " x" * (i % 5)}) + "\n" for i in range(1, n + 1)))
    return path, f"{metric}:Late"


def test_a_death_that_lands_late_blames_no_innocent_record(tmp_path):
    """The record a worker died on was named at once: when the death came from the record
    before it (landing late), that innocent record was listed as bad. Now a record is named
    only when a fresh worker that scored nothing before it died on it: here none is, and the
    results are one process's."""
    path, metric = late_inputs(tmp_path, late={9, 20})
    two = audit(path, metrics=metric, out=tmp_path / "w", workers=2, n_boot=0,
                write_report=False)
    assert two.errors == []
    assert two.runsheet["execution"]["processes"]["restarts_after_a_worker_died"] >= 2
    one = audit(path, metrics=metric, out=tmp_path / "o", workers=1, n_boot=0,
                write_report=False)
    assert (tmp_path / "w" / "items.jsonl").read_bytes() == \
        (tmp_path / "o" / "items.jsonl").read_bytes()
    a, b = two.metrics["late"].results["long_rate"], one.metrics["late"].results["long_rate"]
    assert (a.value, a.n) == (b.value, b.n) and a.n == 30
