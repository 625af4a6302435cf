"""A local Ray instance that an audit started goes with the audit, however the audit ends.

Ray ties its GCS and raylet to the driver (``PR_SET_PDEATHSIG``), not the raylet's children:
after an audit killed with SIGKILL its actors ran on for about 2 s and the dashboard and
runtime-env agents for about a minute (each waits 60 s on the dead GCS first), and a Ctrl-C
while Ray started left both agents. A closing terminal hangs up its whole foreground group,
Ray's GCS and raylet with the audit, which died at once. Now a watchdog
(:mod:`halluscope._ray_reaper`) kills what is left once the audit is gone, Ray's processes
hold SIGHUP back as they do SIGINT, and the audit takes SIGHUP as an interruption (exit 129).

Each Ray test gives its instance a temporary folder of its own (``RAY_TMPDIR``): its processes
are found by that folder, and whatever is left of them is killed when the test ends; no other
Ray instance on the machine is touched."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from halluscope import _ray_reaper
from test_stopping import _alive

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="reads /proc; the watchdog is Linux's")

ROOT = Path(__file__).resolve().parents[1]


def _under(folder: str) -> list[int]:
    """The live processes that name ``folder`` in their command line or hold a file under it
    open."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        pid = int(entry)
        try:
            line = Path(f"/proc/{pid}/cmdline").read_bytes().decode("utf-8", "replace")
            opened = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
        except OSError:
            continue
        if (folder in line or any(o.startswith(folder + os.sep) for o in opened)) and _alive(pid):
            found.append(pid)
    return found


def _left_after(folder: str, seconds: float) -> list[int]:
    """The processes under ``folder`` still running ``seconds`` from now (sooner when none)."""
    deadline = time.monotonic() + seconds
    while (left := _under(folder)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


def _kill_all(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


@pytest.fixture
def own_folder():
    """A short temporary folder (Ray's socket paths must stay under 108 bytes); whatever runs
    from it is killed afterwards, so that nothing outlives the test."""
    folder = tempfile.mkdtemp(prefix="hsr", dir="/tmp")
    try:
        yield folder
    finally:
        _kill_all(_under(folder))
        shutil.rmtree(folder, ignore_errors=True)


# -- the watchdog alone (no Ray) ---------------------------------------------------------------
def _pretend(title: str, holding: Path) -> subprocess.Popen:
    """A process whose command line starts with ``title`` and that holds ``holding`` open."""
    return subprocess.Popen(["bash", "-c", f'exec -a "{title}" sleep 60'],
                            stdin=holding.open("rb"), stdout=subprocess.DEVNULL)


def test_the_watchdog_kills_its_sessions_ray_processes_and_nothing_else(tmp_path):
    mine, other = tmp_path / "session_a_1", tmp_path / "session_b_2"
    for session in (mine, other):
        (session / "logs").mkdir(parents=True)
        (session / "logs" / "worker.out").write_text("")
    actor = _pretend("ray::MapWorker", mine / "logs" / "worker.out")
    others = _pretend("ray::MapWorker", other / "logs" / "worker.out")
    tail = _pretend("tail", mine / "logs" / "worker.out")   # a user reading the log: not Ray's
    try:
        time.sleep(0.2)
        killed = _ray_reaper.reap(str(mine), "/nowhere/ray", driver=os.getpid())
        assert killed == [actor.pid]
        assert actor.wait(timeout=5) == -signal.SIGKILL
        assert others.poll() is None and tail.poll() is None
    finally:
        for proc in (actor, others, tail):
            proc.kill()
            proc.wait()


def test_the_session_is_the_one_ray_named_after_the_driver_since_the_watch_began(tmp_path):
    started = time.time()
    for name in ("session_2020-01-02_03-04-05_000001_4242",      # the same id, long ago
                 "session_2099-01-01_00-00-00_000000_999",       # another driver's
                 "session_latest"):
        (tmp_path / name).mkdir()
    assert _ray_reaper.find_session(str(tmp_path), 4242, started) is None
    now = time.strftime("%Y-%m-%d_%H-%M-%S", time.localtime(started + 1))
    (tmp_path / f"session_{now}_000000_4242").mkdir()
    assert _ray_reaper.find_session(str(tmp_path), 4242, started) == \
        str(tmp_path / f"session_{now}_000000_4242")


DRIVER = """
import os, subprocess, sys, time
from pathlib import Path
session, reaper, package = sys.argv[1], sys.argv[2], sys.argv[3]
watch = subprocess.Popen([sys.executable, "-I", "-S", reaper, str(os.getpid()),
                          str(Path(session).parent), package, repr(time.time())],
                         stdin=subprocess.PIPE, start_new_session=True)
watch.stdin.write(("session " + session + "\\n").encode()); watch.stdin.flush()
log = open(Path(session) / "logs" / "worker.out", "rb")
actor = subprocess.Popen(["bash", "-c", 'exec -a "ray::Actor" sleep 60'], stdin=log,
                         start_new_session=True)
print(watch.pid, actor.pid, flush=True)
time.sleep(60)
"""


@pytest.mark.parametrize("stop", ["sigkill", "stop"])
def test_what_a_driver_leaves_goes_once_it_is_gone_or_says_stop(tmp_path, stop):
    session = tmp_path / "session_x_1"
    (session / "logs").mkdir(parents=True)
    (session / "logs" / "worker.out").write_text("")
    if stop == "stop":      # as stop_ray does: the word, then a wait for the watchdog's end
        from halluscope import _ray
        proc = subprocess.Popen(["bash", "-c", 'exec -a "ray::Actor" sleep 60'],
                                stdin=(session / "logs" / "worker.out").open("rb"))
        try:
            _ray._reaper = subprocess.Popen(
                [sys.executable, "-I", "-S", _ray_reaper.__file__, str(os.getpid()),
                 str(tmp_path), "/nowhere/ray", repr(time.time())], stdin=subprocess.PIPE,
                start_new_session=True)
            _ray._tell_reaper(f"session {session}")
            _ray._tell_reaper("stop")
            assert _ray._reaper is None
            assert proc.wait(timeout=10) == -signal.SIGKILL
        finally:
            proc.kill()
            proc.wait()
            _ray._reaper = None
        return
    driver = subprocess.Popen([sys.executable, "-c", DRIVER, str(session), _ray_reaper.__file__,
                               "/nowhere/ray"], stdout=subprocess.PIPE, text=True)
    watch, actor = map(int, driver.stdout.readline().split())
    try:
        assert _alive(watch) and _alive(actor)
        time.sleep(0.5)
        assert _alive(actor)                    # nothing goes while the driver runs
        driver.kill()
        driver.wait()
        assert _left_after(str(session), 5) == []
        assert not _alive(actor)
        deadline = time.monotonic() + 5
        while _alive(watch) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(watch)                # its work done, the watchdog is gone too
    finally:
        _kill_all([watch, actor])


# -- a real audit on a local Ray instance ------------------------------------------------------
SLOW = '''
import os
import time
from typing import ClassVar

from halluscope.metrics.base import ItemScore, Metric
from halluscope.metrics.stats import rate, ratio


class Slow(Metric):
    """Share of long answers, ``$SLOW_S`` seconds a record (none unset); each record scored
    is logged."""

    name: ClassVar[str] = "slow"
    columns: ClassVar[tuple[str, ...]] = ("n", "long")
    statistics: ClassVar[dict] = {{"long_rate": rate(lambda s: ratio(s["long"], s["n"]))}}

    def score(self, record):
        time.sleep(float(os.environ.get("SLOW_S", 0)))
        with open({log!r}, "a") as fh:
            fh.write(str(record.id) + "\\n")
        return ItemScore(payload={{}}, row=(1.0, float(len(record.response or "") > 12)))
'''
#: The audit's CLI, on a local Ray instance of 2 CPUs whatever the machine has.
CLI = ("import functools, ray; ray.init = functools.partial(ray.init, num_cpus=2); "
       "from halluscope.cli import main; main()")


def _audit_on_ray(tmp_path: Path, folder: str) -> tuple[subprocess.Popen, Path, dict]:
    """An audit of 400 records at 0.05 s each on two Ray actors, in a session of its own (as a
    terminal's job), once its actors scored some records."""
    pytest.importorskip("ray", reason="ray is not installed (pip install 'halluscope[ray]')")
    log = tmp_path / "scored.log"
    metric = tmp_path / "slow.py"
    metric.write_text(SLOW.format(log=str(log)))
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps({"id": str(i), "caption": "a caption" + " x" * (i % 5)})
                            + "\n" for i in range(400)))
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RAY_TMPDIR": folder, "SLOW_S": "0.05"}
    env.pop("RAY_ADDRESS", None)
    proc = subprocess.Popen(
        [sys.executable, "-c", CLI, "audit", str(path), "--metric", f"{metric}:Slow", "--out",
         str(out), "--engine", "ray", "--ray-address", "local", "--workers", "2", "-q",
         "--no-report", "--bootstrap", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True,
        start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if log.exists() and len(log.read_text().split()) >= 8:
            break
        time.sleep(0.2)
    assert proc.poll() is None, proc.communicate()
    assert log.exists() and len(log.read_text().split()) >= 8, "Ray did not start in 120 s"
    return proc, out, dict(metrics=f"{metric}:Slow", n_boot=0, write_report=False)


@pytest.mark.slow
def test_a_local_ray_instance_dies_with_an_audit_killed_by_sigkill(tmp_path, own_folder):
    proc, *_ = _audit_on_ray(tmp_path, own_folder)
    assert len(_under(own_folder)) >= 5         # GCS, raylet, agents, actors, the watchdog
    proc.kill()
    proc.communicate(timeout=30)
    # before: the agents ran on for about a minute, the actors about 2 s
    assert _left_after(own_folder, 10) == []


@pytest.mark.slow
@pytest.mark.parametrize("sig, code, said", [(signal.SIGHUP, 129, "terminated (SIGHUP)"),
                                             (signal.SIGINT, 130, "interrupted")],
                         ids=["hang-up", "ctrl-c"])
def test_a_terminals_hang_up_or_ctrl_c_stops_the_audit_and_its_ray_instance(
        tmp_path, own_folder, sig, code, said):
    proc, out, opts = _audit_on_ray(tmp_path, own_folder)
    # Ray's GCS and raylet, in the terminal's group with the audit, hold the hang-up back (it
    # killed them at once, before the audit could journal what its actors had scored), as
    # Ray holds Ctrl-C back itself
    node = [pid for pid in _under(own_folder)
            if any(name in Path(f"/proc/{pid}/cmdline").read_text(errors="replace")
                   for name in ("gcs_server", "raylet/raylet"))]
    assert len(node) == 2
    for pid in node:
        blocked = next(line for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                       if line.startswith("SigBlk:"))
        assert int(blocked.split()[1], 16) & (1 << (signal.SIGHUP - 1)), blocked
    os.killpg(proc.pid, sig)        # what a terminal sends its foreground job
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert f"halluscope: {said}" in err and "Traceback" not in err
    assert _left_after(own_folder, 10) == []
    # an interruption: the journal kept, with what the actors had scored, and --resume (here
    # in this process) ends with the results of a run never stopped
    from halluscope.api import audit
    from halluscope.journal import Entry, journal_items
    from tests.test_workers import comparable
    assert not (out / "results.json").exists()
    with (out / "items.journal.part").open("rb") as fh:
        entries = [item for *_, item in journal_items(fh, out / "items.journal.part")
                   if isinstance(item, Entry)]
    assert entries
    inputs = tmp_path / "in.jsonl"
    resumed = audit(inputs, out=out, resume=True, **opts)
    assert resumed.runsheet["execution"]["resumed"]["lines_from_the_journal"] == len(entries)
    audit(inputs, out=tmp_path / "whole", **opts)
    assert comparable(out) == comparable(tmp_path / "whole")
