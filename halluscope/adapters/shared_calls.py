"""One call for a request that several processes sharing a cache file ask at once.

:class:`~halluscope.adapters.client.ModelClient` joins identical requests in flight within its
process, and a request already answered is a cache hit. Processes that share one cache file
(``--workers N``, Ray actors, two audits on one cache folder) could not see each other's
requests in flight: a judge question that fell in two workers' chunks was sent by both, each
chunk's questions being asked ahead together (the judge paid twice, and two answers where one
process at a time gets one and then its cache hit).

So a request that misses the cache is *claimed* in the cache file's ``calls_in_flight`` table
(key, host, process id and the process's start time, when it was claimed) before it is sent,
and the claim is let go once its answer is written (or its call failed). A process that finds
the request claimed by another waits for the answer in the cache instead of sending it, then
reads it as the cache hit it would have been one process at a time. It stops waiting and asks
itself when the claim is gone with no answer (the call failed: asked again, as one process at
a time asks again), when the process holding it no longer runs (a worker killed: its claim is
taken over at once), or when the claim was not renewed for :data:`WAIT_S` seconds (a process
on another host, whose life cannot be seen from here, or one that hangs).

A claim is taken at the first miss, while the request may still wait in its process's queue
for a connection (hundreds of requests asked ahead behind 8 connections), then for retries
(a 429's ``Retry-After``), then for its answer. Its holder renews it (:func:`refresh`, every
:data:`REFRESH_SHARE` of the wait bound, a client's claims in one transaction) for as
long as it holds it (its own claims only: one a call abandoned in this process left behind
goes void), so that a long queue is not taken for a hung process: a claim whose age
alone was the bound let another worker ask again a request still queued 300 s behind the
others (the call paid twice). The price: a worker whose request another queued first waits
for that worker's queue. Claiming when the request is sent would let the worker that reaches
it first send it, sooner, but a request finding it claimed then must give up its connection
slot to wait and queue again if the claim is let go without an answer; not done (yet).

Claims are made only where rows are written as their answers arrive (not inside
:meth:`ResponseCache.batched <halluscope.adapters.cache.ResponseCache.batched>`, where they
wait to share a transaction, and ``halluscope query`` guards its output files itself), and a
cache file that cannot take them (read-only, damaged) only means asking as before.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import sqlite3
import time
from typing import Any

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS calls_in_flight (
    key     TEXT PRIMARY KEY,
    host    TEXT NOT NULL,
    pid     INTEGER NOT NULL,
    started TEXT,
    since   REAL NOT NULL
)
"""
#: Seconds a claim that its holder did not renew is waited for (then it is void, and asked).
WAIT_S = 300.0
#: How often a holder renews its claims, as a share of the wait bound (every 75 s of 300).
REFRESH_SHARE = 0.25
#: First and longest pause between two looks at the cache file while waiting.
POLL_S = (0.01, 0.25)


def _started(pid: int) -> str | None:
    """When process ``pid`` started (Linux: its start time in clock ticks since boot), so
    that a process id reused after a crash is not taken for the process that claimed."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read().decode("ascii", "replace")
    except OSError:
        return None
    return stat.rpartition(")")[2].split()[19]


_ME: tuple[str, int, str | None] | None = None


def this_process() -> tuple[str, int, str | None]:
    """(host, process id, start time) of this process (computed again after a fork)."""
    global _ME
    if _ME is None or _ME[1] != os.getpid():
        _ME = (socket.gethostname(), os.getpid(), _started(os.getpid()))
    return _ME


def still_runs(host: str, pid: int, started: str | None) -> bool | None:
    """Whether the process that claimed still runs: ``None`` when that cannot be told from
    here (another host)."""
    if host != this_process()[0]:
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        pass                    # it exists (another user's)
    return started is None or _started(pid) in (None, started)


def _claim(cache: Any, key: str) -> tuple | None:
    """Claim ``key``; ``None`` when this process now holds it (or claims cannot be made),
    else the claim another process holds: (host, pid, started, since)."""
    host, pid, started = this_process()
    try:
        with cache.connection() as conn:
            done = conn.execute("INSERT OR IGNORE INTO calls_in_flight (key, host, pid, "
                                "started, since) VALUES (?, ?, ?, ?, ?)",
                                (key, host, pid, started, time.time())).rowcount
            if done:
                return None
            row = conn.execute("SELECT host, pid, started, since FROM calls_in_flight "
                               "WHERE key = ?", (key,)).fetchone()
    except sqlite3.Error:
        return None
    return tuple(row) if row is not None else ()     # (): let go meanwhile: claim again


def _take_over(cache: Any, key: str, held: tuple) -> bool:
    """Make the claim ``held`` (left by a process that is gone) this process's."""
    host, pid, started = this_process()
    try:
        with cache.connection() as conn:
            return conn.execute("UPDATE calls_in_flight SET host = ?, pid = ?, started = ?, "
                                "since = ? WHERE key = ? AND host = ? AND pid = ? AND "
                                "started IS ? AND since = ?",
                                (host, pid, started, time.time(), key, *held)).rowcount == 1
    except sqlite3.Error:
        return True


def release(cache: Any, key: str) -> None:
    """Let go of this process's claim on ``key`` (its answer written, or its call failed)."""
    host, pid, _ = this_process()
    try:
        with cache.connection() as conn:
            conn.execute("DELETE FROM calls_in_flight WHERE key = ? AND host = ? AND pid = ?",
                         (key, host, pid))
    except sqlite3.Error:
        pass


def refresh(cache: Any, keys: Any) -> None:
    """Renew this process's claims on ``keys`` in ``cache``'s file (their ``since`` set to
    now): they are being asked, or wait in line to be (see the module docstring)."""
    host, pid, started = this_process()
    now = time.time()
    try:
        with cache.connection() as conn:
            conn.executemany("UPDATE calls_in_flight SET since = ? WHERE key = ? AND host = ? "
                             "AND pid = ? AND started IS ?",
                             [(now, key, host, pid, started) for key in keys])
    except sqlite3.Error:
        pass


def _gone(held: tuple, wait_s: float) -> str | None:
    """Why the claim ``held`` is no longer worth waiting for, else None: its process is gone,
    or has not renewed it for ``wait_s`` seconds. A claim renewed is waited for however long
    its request waits in line there."""
    host, pid, started, since = held
    if still_runs(host, pid, started) is False:
        return f"process {pid} that claimed it no longer runs"
    if time.time() - since >= wait_s:
        return f"process {pid} on {host} did not renew its claim within {wait_s:g} s"
    return None


async def claim_or_wait(cache: Any, key: str, wait_s: float = WAIT_S) -> bool:
    """Claim ``key`` for this process, or wait while another holds it. ``True``: the answer is
    in the cache now (read it); ``False``: this process asks (it holds the claim, unless
    claims cannot be made: then it asks as before), and :func:`release` lets go after;
    meanwhile the caller renews it (:func:`refresh`)."""
    pause = POLL_S[0]
    while True:
        held = _claim(cache, key)
        if held is None:        # ours: answered between the miss and the claim?
            if cache.holds(key):
                release(cache, key)
                return True
            return False
        if held == ():
            continue
        if cache.holds(key):
            return True
        why = _gone(held, wait_s)
        if why is not None and _take_over(cache, key, held):
            log.info("asking a request another process claimed: %s", why)
            return False
        await asyncio.sleep(pause)
        pause = min(POLL_S[1], pause * 2)


__all__ = ["REFRESH_SHARE", "SCHEMA", "WAIT_S", "claim_or_wait", "refresh", "release",
           "still_runs", "this_process"]
