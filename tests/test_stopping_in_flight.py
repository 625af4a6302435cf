"""Ctrl-C with ``--workers``: the chunks the workers were scoring when it came are journaled
before the audit stops (they were finished by the workers and thrown away, ~0.5 s of work
each, and scored again on ``--resume``); the resume still ends with an uninterrupted run's
results, and scores no record twice."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from pathlib import Path

import pytest

from halluscope.api import audit

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="forks, signals")

LOGGED = '''
import os
import time
from typing import ClassVar

from halluscope.metrics.base import ItemScore, Metric
from halluscope.metrics.stats import rate, ratio


class Logged(Metric):
    """Share of long answers, 0.1 s a record; each record scored is logged."""

    name: ClassVar[str] = "logged"
    columns: ClassVar[tuple[str, ...]] = ("n", "long")
    statistics: ClassVar[dict] = {"long_rate": rate(lambda s: ratio(s["long"], s["n"]))}

    def score(self, record):
        time.sleep(0.1)
        with open(os.environ["LOGGED_TO"], "a") as fh:
            fh.write(str(record.id) + "\\n")
        return ItemScore(payload={}, row=(1.0, float(len(record.response or "") > 12)))
'''


def _inputs(tmp_path: Path) -> tuple[Path, str]:
    metric = tmp_path / "logged.py"
    metric.write_text(LOGGED)
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps({"id": str(i), "caption": "a caption" + " x" * (i % 5)})
                            + "\n" for i in range(80)))
    return path, f"{metric}:Logged"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_the_chunks_in_flight_are_journaled_before_the_audit_stops(tmp_path, monkeypatch, sig):
    from halluscope._ray import Terminated
    from halluscope.stopping import sigterm_as_interruption
    path, ref = _inputs(tmp_path)
    log = tmp_path / "scored.log"
    monkeypatch.setenv("LOGGED_TO", str(log))
    opts = dict(metrics=ref, n_boot=0, write_report=False, workers=2)
    timer: list[threading.Timer] = []

    def signal_soon(progress):
        if not timer:       # while the workers score: the parent mostly waits for them
            timer.append(threading.Timer(1.5, os.kill, (os.getpid(), sig)))
            timer[0].start()
    try:
        with sigterm_as_interruption(), pytest.raises(KeyboardInterrupt) as stopped:
            audit(path, out=tmp_path / "out", on_progress=signal_soon, **opts)
    finally:
        timer[0].cancel()
    assert isinstance(stopped.value, Terminated) == (sig == signal.SIGTERM)
    first = log.read_text().split()
    assert 0 < len(first) < 80
    resumed = audit(path, out=tmp_path / "out", resume=True, **opts)
    again = log.read_text().split()[len(first):]
    # every record the workers scored before the stop was journaled: none is scored twice
    assert sorted(first + again, key=int) == [str(i) for i in range(80)]
    assert resumed.runsheet["execution"]["resumed"]["lines_from_the_journal"] == len(first)
    monkeypatch.setenv("LOGGED_TO", str(tmp_path / "whole.log"))
    whole = audit(path, out=tmp_path / "whole", metrics=ref, n_boot=0, write_report=False)
    assert resumed.summary == whole.summary
    assert (tmp_path / "out" / "items.jsonl").read_bytes() == \
        (tmp_path / "whole" / "items.jsonl").read_bytes()


def test_a_drain_runs_in_a_thread_only_for_a_caller_blocked_in_the_wait():
    """``InFlight(drain=...)`` (the Ray engine's) drained in a second thread on every first
    signal, also when the caller was not blocked in Ray Data's wait and so took the signal at
    its next check and drained itself: two drains at once. The thread is now only for a caller
    blocked in the wait, which it ends (the signal sent again) once drained."""
    import time

    from halluscope.stopping import InFlight
    drained: list[str] = []

    def drain(seconds):
        drained.append(threading.current_thread().name)

    with InFlight(drain=drain) as stop:     # folding rows: noted, left to the caller
        stop.waiting = True
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.3)
        assert stop.noted == signal.SIGINT
        stop.settle()
    assert drained == []
    with InFlight(drain=drain) as stop:     # blocked in the wait: drained, then raised there
        stop.waiting = stop.blocked = True
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)
        stop.settle()
    assert drained == ["halluscope-drain"]
