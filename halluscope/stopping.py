"""How an audit stops: SIGTERM taken as an interruption, and worker processes that never
outlive the audit that started them.

* :func:`sigterm_as_interruption`: while the block runs, SIGTERM (``kill PID``, a supervisor,
  a CI runner's cancel) raises :class:`~halluscope._ray.Terminated`, a ``KeyboardInterrupt``:
  the audit stops as on Ctrl-C (its worker pool shut down, the journal kept for ``--resume``)
  and the CLI says "terminated" and exits 143. By default SIGTERM ended the process at once,
  and its ``--workers`` processes ran on for ever, re-parented to init.
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
from contextlib import contextmanager

__all__ = ["die_with_parent", "sigterm_as_interruption"]

log = logging.getLogger(__name__)

#: ``prctl`` option: the signal this process gets when the thread that created it ends.
PR_SET_PDEATHSIG = 1


@contextmanager
def sigterm_as_interruption() -> Iterator[None]:
    """SIGTERM raises :class:`~halluscope._ray.Terminated` within the block (in the main thread
    only: elsewhere signals cannot be handled); the previous handler is put back after it."""
    import threading
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    from halluscope._ray import _on_sigterm
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


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
