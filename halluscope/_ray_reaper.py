"""A watchdog beside a local Ray instance that halluscope started: once the driver (the audit
or query process) is gone, however it went (SIGKILL, the OOM killer, a hang-up, a crash), it
kills what is left of that instance.

Ray ties its node processes (GCS, raylet, dashboard, monitors) to the driver that started them
(``PR_SET_PDEATHSIG``), but not the raylet's own children: after a driver killed with SIGKILL
the actors ran on for about 2 s and the dashboard and runtime-env agents for about a minute
(each first tries to tell the dead GCS that the raylet died, and waits 60 s for it), and a
Ctrl-C while Ray started left both agents behind.

Run by :func:`halluscope._ray.start_ray` as a script, in its own session (no terminal's signal
reaches it)::

    python -I -S _ray_reaper.py DRIVER_PID RAY_TEMP_DIR RAY_PACKAGE_DIR STARTED_AT

Standard library only: it never imports halluscope (``-I`` leaves this folder off
``sys.path``, where ``types.py`` would shadow the standard module). On its standard input the
driver writes ``session PATH`` once Ray started (the instance's session folder), ``none`` when
Ray joined a cluster this process did not start (nothing to watch), and ``stop`` once Ray is
shut down. Where no session was named yet, the session is the folder Ray names after the
driver (``session_<date>_<pid>``) begun since the watchdog started.

A process is the session's when it is Ray's (its title starts with ``ray::``, or its command
line names Ray's package folder) and it names the session folder in its command line or holds
a file in it open (each actor's and agent's log); nothing else is ever signalled: not another
Ray instance on this machine, not a ``tail -f`` of the session's logs."""

from __future__ import annotations

import datetime
import os
import select
import signal
import sys
import time

#: Seconds between the checks that the driver still runs.
POLL_S = 0.2
#: Seconds the watchdog goes on killing what it finds before it gives up.
REAP_FOR_S = 5.0


def main(argv: list[str]) -> int:
    driver, root, package, started = int(argv[1]), argv[2], argv[3], float(argv[4])
    for sig in (signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    session: str | None = None
    said, listening = b"", True
    while os.getppid() == driver:
        if not listening:
            time.sleep(POLL_S)
            continue
        if not select.select([0], [], [], POLL_S)[0]:
            continue
        got = os.read(0, 4096)
        listening = bool(got)   # closed without a word: only the driver's death counts now
        *lines, said = (said + got).split(b"\n")
        for line in lines:
            word, _, rest = line.decode("utf-8", "surrogateescape").partition(" ")
            if word == "none":
                return 0
            if word == "stop":  # Ray is shut down: whatever is left of it goes now
                return _finish(session, root, package, driver, started)
            if word == "session":
                session = rest
    return _finish(session, root, package, driver, started)


def _finish(session: str | None, root: str, package: str, driver: int, started: float) -> int:
    session = session or find_session(root, driver, started)
    if session:
        reap(session, package, driver)
    return 0


def find_session(root: str, driver: int, started: float) -> str | None:
    """The session folder under ``root`` that Ray named after ``driver`` since ``started`` (a
    process id comes back, so older folders of the same id are not it)."""
    suffix = f"_{driver}"
    try:
        names = [n for n in os.listdir(root) if n.startswith("session_") and n.endswith(suffix)]
    except OSError:
        return None
    for name in sorted(names, reverse=True):    # the date in the name sorts
        path = os.path.join(root, name)
        if _begun(name, suffix, path) >= started - 1.0:
            return path
    return None


def _begun(name: str, suffix: str, path: str) -> float:
    """When the session ``name`` began: the date Ray wrote in it (local time, microseconds),
    else its folder's change time."""
    try:
        when = datetime.datetime.strptime(name[len("session_"):-len(suffix)],
                                          "%Y-%m-%d_%H-%M-%S_%f")
        return when.timestamp()
    except ValueError:
        try:
            return os.stat(path).st_ctime
        except OSError:
            return 0.0


def reap(session: str, package: str, driver: int) -> list[int]:
    """SIGKILL the processes of ``session`` until none is left (at most :data:`REAP_FOR_S`);
    the ids of those killed."""
    killed: list[int] = []
    until = time.monotonic() + REAP_FOR_S
    while time.monotonic() < until:
        found = [pid for pid in _pids() if pid not in (os.getpid(), driver)
                 and _kill_if_of(pid, session, package)]
        if not found:
            break
        killed += found
        time.sleep(0.1)
    return killed


def _pids() -> list[int]:
    try:
        return [int(e) for e in os.listdir("/proc") if e.isdigit()]
    except OSError:
        return []


def _kill_if_of(pid: int, session: str, package: str) -> bool:
    """SIGKILL ``pid`` if it is one of ``session``'s processes. The process is held by a pidfd
    while it is looked at, so that a process id used again meanwhile is not signalled."""
    handle = None
    try:
        handle = os.pidfd_open(pid)
    except (AttributeError, OSError):
        pass
    try:
        if not _of(pid, session, package):
            return False
        if handle is not None:
            signal.pidfd_send_signal(handle, signal.SIGKILL)
        else:
            os.kill(pid, signal.SIGKILL)
        return True
    except OSError:     # gone meanwhile, or not ours to signal
        return False
    finally:
        if handle is not None:
            os.close(handle)


def _of(pid: int, session: str, package: str) -> bool:
    """Whether ``pid`` is a Ray process of ``session`` (a zombie is no longer anything)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            argv = fh.read().decode("utf-8", "surrogateescape").split("\0")
    except OSError:
        return False
    line = " ".join(argv)
    if not (argv[0].startswith("ray::") or package + os.sep in line):
        return False
    inside = session.rstrip(os.sep) + os.sep
    if inside in line or line.endswith(session):
        return True
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            if os.readlink(f"/proc/{pid}/fd/{fd}").startswith(inside):
                return True
    except OSError:
        pass
    return False


if __name__ == "__main__":
    sys.exit(main(sys.argv))
