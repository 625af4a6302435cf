"""How an audit with ``--workers`` stops when a signal reaches its process alone (``kill PID``,
a supervisor, the OOM killer): SIGTERM is an interruption (journal kept, "terminated", exit
143, the pool shut down) and no worker outlives its parent, even one killed with SIGKILL. Both
used to leave the workers running for ever, re-parented to init, holding the terminal's pipes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="reads /proc; PR_SET_PDEATHSIG is Linux's")

SLOW = '''
import time
from typing import ClassVar

from halluscope.metrics.base import ItemScore, Metric
from halluscope.metrics.stats import rate, ratio


class Slow(Metric):
    """Share of long answers, 0.1 s a record."""

    name: ClassVar[str] = "slow"
    columns: ClassVar[tuple[str, ...]] = ("n", "long")
    statistics: ClassVar[dict] = {"long_rate": rate(lambda s: ratio(s["long"], s["n"]))}

    def score(self, record):
        time.sleep(0.1)
        return ItemScore(payload={}, row=(1.0, float(len(record.response or "") > 12)))
'''


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting for init to reap it does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry))
    return out


def _start(tmp_path: Path) -> tuple[subprocess.Popen, list[int], Path]:
    """An audit of 400 records at 0.1 s each with two workers, once both workers run."""
    metric = tmp_path / "slow.py"
    metric.write_text(SLOW)
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps({"id": str(i), "caption": "a caption" + " x" * (i % 5)})
                            + "\n" for i in range(400)))
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.Popen([sys.executable, "-m", "halluscope", "audit", str(path), "--metric",
                             f"{metric}:Slow", "--out", str(out), "--workers", "2", "-q",
                             "--no-report", "--bootstrap", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    deadline = time.monotonic() + 60
    kids: list[int] = []
    while time.monotonic() < deadline and proc.poll() is None:
        kids = [k for k in _children(proc.pid) if _alive(k)]
        if len(kids) >= 2 and (out / "items.journal.part").is_file():
            break
        time.sleep(0.2)
    assert proc.poll() is None and len(kids) >= 2, (kids, proc.poll())
    time.sleep(1.0)          # some chunks scored and journaled
    return proc, kids, out


def _gone(pids: list[int], seconds: float = 10.0) -> list[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        left = [p for p in pids if _alive(p)]
        if not left:
            return []
        time.sleep(0.1)
    for p in left:              # do not leave them behind for the rest of the suite
        os.kill(p, signal.SIGKILL)
    return left


def test_sigterm_to_the_audit_alone_is_an_interruption_that_ends_its_workers(tmp_path):
    proc, kids, out = _start(tmp_path)
    proc.send_signal(signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=30)    # no worker holds the pipes open
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    assert proc.returncode == 143, err
    assert "halluscope: terminated" in err
    assert _gone(kids) == []
    # as after Ctrl-C: no results, the journal kept for --resume
    assert not (out / "results.json").exists() and (out / "items.journal.part").is_file()


def test_workers_die_with_a_parent_killed_by_sigkill(tmp_path):
    proc, kids, _ = _start(tmp_path)
    proc.kill()
    proc.wait(timeout=30)
    assert _gone(kids) == []
    proc.communicate(timeout=10)        # the pipes' last holders are gone: they close


# -- one audit per output folder -------------------------------------------------------------
HOLD = """
import sys
from pathlib import Path
from halluscope.result import hold_outputs
with hold_outputs(Path(sys.argv[1])):
    print("held", flush=True)
    sys.stdin.read()
"""


def _holder(out: Path) -> subprocess.Popen:
    """Another process holding ``out`` as an audit does, until its stdin closes."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(out)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, env=env, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_audit_into_the_same_folder_is_refused_up_front(tmp_path, monkeypatch):
    """Two audits writing one --out (a retried CI job resuming while the first still ran):
    the second scored everything again, then failed over the first's files with a raw
    'No such file or directory: items.jsonl.part'. Now it is refused before it scores."""
    from typer.testing import CliRunner

    from halluscope.adapters.outlock import OutputLocked
    from halluscope.api import audit
    from halluscope.cli import EXIT_USAGE, app
    from halluscope.metrics.chair import ChairMetric
    data = Path(__file__).resolve().parents[1] / "data"
    out = tmp_path / "out"
    audit(data, out=out, metrics="pope", n_boot=20, write_report=False)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert ".audit.lock" not in before           # released and removed after the run
    holder = _holder(out)
    try:
        scored = []
        monkeypatch.setattr(ChairMetric, "score", lambda self, rec: scored.append(rec))
        with pytest.raises(OutputLocked, match=rf"another audit \(pid {holder.pid}\) is "
                                               rf"writing to {out}"):
            audit(data, out=out, metrics="chair", n_boot=20, write_report=False)
        res = CliRunner().invoke(app, ["audit", str(data), "--metric", "chair", "--out",
                                       str(out), "--resume", "-q"])
        assert res.exit_code == EXIT_USAGE and f"another audit (pid {holder.pid})" in res.output
        assert scored == []
        # the first audit's folder as it was (its lock file aside)
        assert {p.name: p.read_bytes() for p in out.iterdir() if p.name != ".audit.lock"} \
            == before
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    audit(data, out=out, metrics="pope", n_boot=20, write_report=False)    # free again
    assert not (out / ".audit.lock").exists()


def test_a_killed_holder_leaves_the_folder_free_and_a_thread_is_refused(tmp_path):
    """The OS releases the lock of a process killed with SIGKILL (its file stays, unlocked);
    another thread of the same process is refused as another process is."""
    import threading

    from halluscope.adapters.outlock import OutputLocked
    from halluscope.result import hold_outputs
    out = tmp_path / "out"
    holder = _holder(out)
    holder.kill()
    holder.wait(timeout=30)
    assert (out / ".audit.lock").is_file()
    errors = []
    with hold_outputs(out):
        with hold_outputs(out):            # the same thread again (audit around run_audit)
            pass

        def other():
            try:
                with hold_outputs(out):
                    pass
            except OutputLocked as exc:
                errors.append(str(exc))
        t = threading.Thread(target=other)
        t.start()
        t.join()
    assert len(errors) == 1 and "another thread" in errors[0]
    assert not (out / ".audit.lock").exists()


def test_a_usage_error_leaves_no_folder(tmp_path):
    """The lock is taken before the options are read; an audit refused for its options still
    leaves no output folder behind, as before."""
    from halluscope.api import audit
    from halluscope.errors import HalluscopeError
    data = Path(__file__).resolve().parents[1] / "data"
    with pytest.raises(HalluscopeError):
        audit(data, out=tmp_path / "new" / "out", metrics="no-such-metric")
    assert not (tmp_path / "new" / "out").exists()


def test_a_lock_file_removed_before_it_is_locked_is_opened_again(tmp_path, monkeypatch):
    """The holder removes the lock file as it releases it: a process that opened the old file
    just before would lock a file no one else sees; it must lock the one at the path."""
    import fcntl

    from halluscope.adapters.outlock import lock_output, unlock_output
    lock = tmp_path / ".audit.lock"
    real, calls = fcntl.flock, []

    def flock(fd, op):
        if not calls:                   # the holder releases and removes it meanwhile
            lock.unlink()
        calls.append(op)
        return real(fd, op)
    monkeypatch.setattr(fcntl, "flock", flock)
    fh = lock_output(tmp_path, lock_path=lock)
    try:
        assert len(calls) == 2 and os.path.samestat(os.fstat(fh.fileno()), os.stat(lock))
        assert lock.read_text().strip() == str(os.getpid())
    finally:
        unlock_output(fh, remove=lock)
    assert not lock.exists()
