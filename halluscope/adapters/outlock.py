"""The lock that keeps two ``halluscope query`` runs from writing one output file:
``<out>.lock``, held with ``fcntl.flock`` (exclusive, non-blocking) and holding the writer's
process id; none where ``fcntl`` does not exist (Windows)."""

from __future__ import annotations

import os
from pathlib import Path

from halluscope.errors import InputError


class OutputLocked(InputError):
    """Another process is writing the same output file."""


def lock_output(out_path: Path):
    """Hold ``<out>.lock`` (exclusive, non-blocking); :class:`OutputLocked` when another
    process holds it. Returns the open lock file (None where ``fcntl`` does not exist)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no lock
        return None
    lock_path = out_path.with_name(out_path.name + ".lock")
    fh = open(lock_path, "a+", encoding="utf-8")
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        fh.seek(0)
        holder = fh.read().strip() or "?"
        fh.close()
        raise OutputLocked(f"{out_path} is being written by another halluscope query "
                           f"(process {holder}, lock {lock_path}); wait for it to finish or "
                           f"pass another --out") from None
    fh.seek(0)
    fh.truncate()
    fh.write(f"{os.getpid()}\n")
    fh.flush()
    return fh


def unlock_output(fh) -> None:
    """Empty and release the lock file that :func:`lock_output` returned, and close it."""
    import fcntl
    try:
        fh.seek(0)
        fh.truncate()
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
    finally:
        fh.close()


__all__ = ["OutputLocked", "lock_output", "unlock_output"]
