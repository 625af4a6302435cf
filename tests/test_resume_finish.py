"""``--resume`` after an interrupt in the metrics' finish step (the journal used to go before
it, so the resume scored everything again), and resumes that change only how outcomes are
folded (seed, replicates, ``--by``), or refusals that name what differs."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from halluscope.api import audit
from halluscope.errors import ConfigError

SLOW_FINISH = '''
import os
from pathlib import Path
from typing import ClassVar

from halluscope.metrics.base import ItemScore, Metric
from halluscope.metrics.stats import rate, ratio


class Finisher(Metric):
    """Share of long answers; each score() and finish() call is logged, and the first finish()
    is interrupted as a Ctrl-C in a slow finish step (a judge's questions) would be."""

    name: ClassVar[str] = "finisher"
    columns: ClassVar[tuple[str, ...]] = ("n", "long")
    statistics: ClassVar[dict] = {"long_rate": rate(lambda s: ratio(s["long"], s["n"]))}

    def _log(self, what):
        with open(os.environ["FINISHER_LOG"], "a") as fh:
            fh.write(what + "\\n")

    def score(self, record):
        self._log("score " + str(record.id))
        return ItemScore(payload={}, row=(1.0, float(len(record.response or "") > 12)))

    def finish(self):
        flag = Path(os.environ["FINISHER_LOG"] + ".interrupted")
        self._log("finish")
        if not flag.exists():
            flag.write_text("once")
            raise KeyboardInterrupt
'''


def _inputs(tmp_path: Path, n: int = 30) -> tuple[Path, str]:
    metric = tmp_path / "finisher.py"
    metric.write_text(SLOW_FINISH)
    rows = [{"id": str(i), "caption": "a caption" + " x" * (i % 5),
             "model": "m1" if i % 3 else "m2", "task": "caption"} for i in range(1, n + 1)]
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path, f"{metric}:Finisher"


def _comparable(out: Path) -> tuple[dict, str]:
    data = json.loads((out / "results.json").read_text())
    data.pop("run_id")
    data.pop("outputs")
    return data, (out / "items.jsonl").read_text()


def _interrupted_after(done: int, path: Path, **kw) -> None:
    """An audit of ``path`` in one process, stopped (as by Ctrl-C) once ``done`` records were
    scored, its journal left in ``kw["out"]``."""
    def stop(progress):
        if progress.done == done:
            raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        audit(path, workers=1, write_report=False, on_progress=stop, **kw)


def test_an_interrupt_in_finish_resumes_only_the_finish_step(tmp_path, monkeypatch):
    path, metric = _inputs(tmp_path)
    log = tmp_path / "calls.log"
    monkeypatch.setenv("FINISHER_LOG", str(log))
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        audit(path, metrics=metric, out=out, n_boot=50, workers=1, write_report=False)
    assert (out / "items.journal.part").is_file() and not (out / "results.json").exists()
    assert log.read_text().splitlines().count("finish") == 1
    log.write_text("")
    audit(path, metrics=metric, out=out, n_boot=50, workers=1, write_report=False,
          resume=True)
    assert log.read_text().splitlines() == ["finish"]     # not one record scored again
    assert not (out / "items.journal.part").exists()       # gone once results.json is written
    whole = tmp_path / "whole"
    audit(path, metrics=metric, out=whole, n_boot=50, workers=1, write_report=False)
    assert _comparable(out) == _comparable(whole)


def test_a_resume_may_change_what_only_folds_the_outcomes(tmp_path, monkeypatch):
    """Seed, replicates and --by change only how the journaled outcomes are folded: the
    resumed results are those of a fresh run with the new settings, and nothing journaled is
    scored again."""
    path, metric = _inputs(tmp_path)
    log = tmp_path / "calls.log"
    monkeypatch.setenv("FINISHER_LOG", str(log))
    (tmp_path / "calls.log.interrupted").write_text("no interrupt in finish here")
    out = tmp_path / "out"

    _interrupted_after(17, path, metrics=metric, out=out, n_boot=50)
    log.write_text("")
    new = dict(n_boot=80, seed=5, by=("model", "task"), confidence=0.9)
    audit(path, metrics=metric, out=out, workers=1, write_report=False, resume=True, **new)
    scored = [x.split()[1] for x in log.read_text().splitlines() if x.startswith("score")]
    assert scored == [str(i) for i in range(18, 31)]
    fresh = tmp_path / "fresh"
    audit(path, metrics=metric, out=fresh, workers=1, write_report=False, **new)
    assert _comparable(out) == _comparable(fresh)
    assert set(json.loads((out / "results.json").read_text())["metrics"]["finisher"]["groups"]) \
        >= {"model:m1", "model:m2", "task:caption"}


def test_a_refused_resume_names_each_option_with_both_values(tmp_path, monkeypatch):
    path, metric = _inputs(tmp_path)
    monkeypatch.setenv("FINISHER_LOG", str(tmp_path / "calls.log"))
    (tmp_path / "calls.log.interrupted").write_text("no interrupt in finish here")
    out = tmp_path / "out"

    _interrupted_after(5, path, metrics=metric, out=out, n_boot=20,
                       options={"max_image_pixels": 1000})
    with pytest.raises(ConfigError) as caught:
        audit(path, metrics=metric, out=out, n_boot=20, workers=1, write_report=False,
              resume=True, cluster_by="item", options={"max_image_pixels": 2000})
    message = str(caught.value)
    assert "cluster_by: expected 'image' as journaled, got 'item'" in message
    assert "--option max_image_pixels: expected 1000 as journaled, got 2000" in message
    assert "options differ" not in message
    assert os.path.isfile(out / "items.journal.part")      # left for a resume that matches
