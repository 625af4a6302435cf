"""How an audit stops: SIGTERM taken as an interruption, and worker processes that never
outlive the audit that started them.

* :func:`sigterm_as_interruption`: while the block runs, SIGTERM (``kill PID``, a supervisor,
  a CI runner's cancel) raises :class:`~halluscope._ray.Terminated`, a ``KeyboardInterrupt``:
  the audit stops as on Ctrl-C (its worker pool shut down, the journal kept for ``--resume``)
  and the CLI says "terminated" and exits 143. By default SIGTERM ended the process at once,
  and its ``--workers`` processes ran on for ever, re-parented to init. SIGHUP (the terminal
  closed) does the same, exit 129, unless it is ignored (``nohup``).
* :class:`InFlight`: while the parent waits for a worker's chunk, a first Ctrl-C or SIGTERM is
  noted rather than raised, and the chunks already in flight that finish within
  :data:`GRACE_SECONDS` are handed on (journaled) before the interruption is raised; before,
  the ~0.5 s of work each worker had in hand was done and thrown away, and scored again on
  ``--resume``. A second signal, or one that lands elsewhere, is raised at once, as before.
  ``--engine ray`` defers it too (``drain``), to journal the batches its actors scored and
  those they finish within the grace (:meth:`~halluscope.ray_engine.RayEngine._salvage`).
* :func:`die_with_parent`: a worker asks Linux to SIGKILL it when its parent dies
  (``PR_SET_PDEATHSIG``), so that even a parent killed with SIGKILL (the OOM killer) takes its
  workers with it; elsewhere it does nothing.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from collections.abc import Iterator
from typing import Any
from contextlib import contextmanager

__all__ = ["GRACE_SECONDS", "InFlight", "die_with_parent", "in_grace", "sigterm_as_interruption"]

log = logging.getLogger(__name__)

#: ``prctl`` option: the signal this process gets when the thread that created it ends.
PR_SET_PDEATHSIG = 1


@contextmanager
def sigterm_as_interruption() -> Iterator[None]:
    """SIGTERM raises :class:`~halluscope._ray.Terminated` within the block (in the main thread
    only: elsewhere signals cannot be handled), and so does SIGHUP (a closed terminal) unless
    it is ignored (``nohup``); the previous handlers are put back after it."""
    import threading
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    from halluscope._ray import _on_sigterm
    previous = {signal.SIGTERM: signal.signal(signal.SIGTERM, _on_sigterm)}
    hangup = getattr(signal, "SIGHUP", None)
    if hangup is not None and signal.getsignal(hangup) == signal.SIG_DFL:   # not under nohup
        previous[hangup] = signal.signal(hangup, _on_sigterm)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def die_with_parent(parent: int) -> None:
    """Have Linux SIGKILL this process when its parent (``parent``, the pid that started it)
    dies, by ``prctl(PR_SET_PDEATHSIG, SIGKILL)``. A parent that died before the request took
    effect is not signalled for: then this process is already another's child, and ends now.
    A no-op where ``prctl`` does not exist."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        failed = libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) != 0
    except (OSError, AttributeError):      # no libc with prctl (another C library)
        failed = True
    if failed:
        log.debug("prctl(PR_SET_PDEATHSIG) unavailable: this worker may outlive its parent")
        return
    if os.getppid() != parent:             # the parent died before the request
        os._exit(1)


#: The signals that stop an audit as an interruption (SIGHUP: a terminal that closed).
_STOPPING = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP")
                  if hasattr(signal, name))

GRACE_SECONDS = 2.0
"""How long a stopping audit waits for the chunks its workers are scoring, to journal them."""


class Interrupted(Exception):
    """A first signal was noted while waiting (:meth:`InFlight.result`): drain, then raise."""


class InFlight:
    """Defers the first SIGINT (Ctrl-C) or SIGTERM that lands while the parent waits for a
    chunk (:meth:`result`) to the next chunk boundary (:meth:`raise_noted`), so that the chunks
    in flight can be journaled first; only where the handler in place is Python's own Ctrl-C
    handler or the audit's SIGTERM one (both raise), in the main thread. Any other signal, a
    second one, or one that lands while the parent folds, is raised at once by that handler.

    ``drain``: where the wait cannot be polled (Ray Data's rows), a first signal noted while the
    caller is :attr:`blocked` in that wait runs ``drain(seconds)`` in a thread (it returns once
    the work in flight is done or the grace is over), then sends the signal to the main thread
    again if it is still blocked there, to be raised there; unless the caller has
    :meth:`settled <settle>` by then. A signal noted while the caller is not blocked is taken
    by the caller at its next check of :attr:`noted`, which drains itself: the drain runs in
    one thread, the main one unless it is blocked. (The thread cannot go: raising in Ray
    Data's wait shuts its executor down, which cancels the batches being scored, and the
    wait has no timeout to poll with.)"""

    def __init__(self, what: str = "the chunks the workers are scoring",
                 drain: Any = None) -> None:
        import threading
        self.what = what        # what is journaled before the interruption is raised
        self.noted: int | None = None
        self.at = 0.0
        self.waiting = False
        self.blocked = False    # (``drain``) in a wait that only a signal ends
        self.drain = drain
        self._echo = False      # the noted signal was sent again (:meth:`_again`)
        self._lock = threading.Lock()
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> InFlight:
        import threading
        if threading.current_thread() is not threading.main_thread():
            return self
        from halluscope._ray import _on_sigterm
        for sig in _STOPPING:
            handler = signal.getsignal(sig)
            if handler in (signal.default_int_handler, _on_sigterm):
                self._previous[sig] = handler
                signal.signal(sig, self._on_signal)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.settle()
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()

    def _on_signal(self, signum: int, frame: Any) -> None:
        if self._echo:          # sent again by _again: raised where the caller still waits
            self._echo = False
            if not self.waiting:    # (it settled meanwhile: it raises once it has drained)
                return
        elif self.waiting and self.noted is None:
            import time
            self.noted, self.at = signum, time.monotonic()
            self.announce()
            if self.drain is not None and self.blocked:
                import threading
                threading.Thread(target=self._again, args=(threading.main_thread().ident,),
                                 daemon=True, name="halluscope-drain").start()
            return
        self._previous[signum](signum, frame)

    def announce(self) -> None:
        """Say that the audit stops after journaling :attr:`what` it can within the grace."""
        log.warning("stopping: journaling %s (up to %.0f s; again to stop at once)", self.what,
                    GRACE_SECONDS)

    def _again(self, main: int) -> None:
        """(``drain``) Once drained: the noted signal again, if the caller still waits."""
        try:
            self.drain(self.left())
        except Exception:  # noqa: BLE001 - a failed drain still ends the wait
            log.debug("draining the work in flight failed", exc_info=True)
        with self._lock:
            if self.waiting and self.blocked and self.noted is not None:
                self._echo = True
                signal.pthread_kill(main, self.noted)

    def settle(self) -> float:
        """Stop deferring (a signal from now on is raised at once); the seconds of the grace
        left, a whole grace when no signal was noted (the first one was raised)."""
        with self._lock:
            self.waiting = self.blocked = False
        return self.left() if self.noted is not None else GRACE_SECONDS

    def result(self, future: Any) -> Any:
        """``future.result()``; :class:`Interrupted` when a first signal is noted before it is
        done."""
        from concurrent.futures import wait
        self.waiting = True
        try:
            while not future.done() and self.noted is None:
                wait([future], timeout=0.2)
        finally:
            self.waiting = False
        if not future.done():
            raise Interrupted
        return future.result()

    def left(self) -> float:
        """Seconds of the grace left."""
        import time
        return max(0.0, self.at + GRACE_SECONDS - time.monotonic())

    def raise_noted(self) -> None:
        """Raise what the noted signal's own handler raises (nothing when none was noted)."""
        if self.noted is not None:
            self._previous[self.noted](self.noted, None)
            raise KeyboardInterrupt     # (both handlers raise)


def in_grace(pending: Any, stop: InFlight, drain_one: Any) -> Iterator[Any]:
    """After a first signal: hand on, in order, the chunks in flight that finish within the
    grace (journaled as scored), none after the first that does not; the ones not yet begun
    are cancelled. ``pending`` holds ``(chunk, records, future)`` in input order and
    ``drain_one(True)`` hands its first on. The caller then raises the interruption."""
    from concurrent.futures import wait
    for *_, future in pending:
        if future is not None:
            future.cancel()
    while pending and (pending[0][2] is None or (
            wait([pending[0][2]], timeout=stop.left()) and pending[0][2].done()
            and not pending[0][2].cancelled() and pending[0][2].exception() is None)):
        yield from drain_one(True)
