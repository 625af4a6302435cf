"""Ctrl-C with ``--engine ray``: the batches the actors had scored (held back by Ray Data until
those before them were done) and those they were scoring are journaled before the audit
stops. They were lost, and ``--resume`` scored them again (about 140 of 610 records scored
before a Ctrl-C in a 3000-caption CHAIR audit); the resume still ends with an uninterrupted
run's results."""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path

import pytest

from halluscope.api import audit
from tests.test_workers import comparable

ray = pytest.importorskip("ray", reason="ray is not installed (pip install 'halluscope[ray]')")
pytest.importorskip("ray.data", reason="Ray Data is not installed")
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="signals")

#: A metric that logs each record it scores to a file named in its module (Ray's workers do
#: not see an environment variable set after the test's Ray instance started).
LOGGED = '''
import time
from typing import ClassVar

from halluscope.metrics.base import ItemScore, Metric
from halluscope.metrics.stats import rate, ratio


class Logged(Metric):
    """Share of long answers, 0.05 s a record; each record scored is logged."""

    name: ClassVar[str] = "logged"
    columns: ClassVar[tuple[str, ...]] = ("n", "long")
    statistics: ClassVar[dict] = {{"long_rate": rate(lambda s: ratio(s["long"], s["n"]))}}

    def score(self, record):
        time.sleep(0.05)
        with open({log!r}, "a") as fh:
            fh.write(str(record.id) + "\\n")
        return ItemScore(payload={{}}, row=(1.0, float(len(record.response or "") > 12)))
'''
RECORDS = 48


def _logged(path: Path) -> list[str]:
    return path.read_text().split() if path.exists() else []


def _interrupt_once_scored(log: Path, at_least: int, done: threading.Event) -> threading.Thread:
    """A thread that sends this process SIGINT once the actors logged ``at_least`` records."""
    def watch():
        while not done.wait(0.02):
            if len(_logged(log)) >= at_least:
                os.kill(os.getpid(), signal.SIGINT)
                return
    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def test_the_batches_scored_when_ray_is_interrupted_are_journaled(tmp_path, local_ray,
                                                                   monkeypatch):
    from halluscope import ray_engine
    monkeypatch.setattr(ray_engine, "MIN_BLOCK", 4)     # 12 batches of 4 records, 0.2 s each
    log = tmp_path / "scored.log"
    metric = tmp_path / "logged.py"
    metric.write_text(LOGGED.format(log=str(log)))
    path = tmp_path / "in.jsonl"
    path.write_text("".join(f'{{"id": "{i}", "caption": "a caption{" x" * (i % 5)}"}}\n'
                            for i in range(RECORDS)))
    opts = dict(metrics=f"{metric}:Logged", engine="ray", workers=2, n_boot=0,
                write_report=False)
    done = threading.Event()
    watcher = _interrupt_once_scored(log, 8, done)
    try:
        with pytest.raises(KeyboardInterrupt):
            audit(path, out=tmp_path / "out", **opts)
    finally:
        done.set()
        watcher.join()
    first = _logged(log)
    assert 8 <= len(first) < RECORDS
    resumed = audit(path, out=tmp_path / "out", resume=True, **opts)
    again = _logged(log)[len(first):]
    # every record scored before the stop was journaled: none is scored twice
    assert sorted(first + again, key=int) == [str(i) for i in range(RECORDS)]
    assert resumed.runsheet["execution"]["resumed"]["lines_from_the_journal"] == len(first)
    whole = audit(path, out=tmp_path / "whole", **opts)
    assert resumed.summary == whole.summary
    assert comparable(tmp_path / "out") == comparable(tmp_path / "whole")
    assert (tmp_path / "out" / "items.jsonl").read_bytes() == \
        (tmp_path / "whole" / "items.jsonl").read_bytes()
