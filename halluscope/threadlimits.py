"""How many threads a process's numeric libraries (OpenMP for torch, BLAS, OpenCV) start: the
cores divided among an engine's workers (:func:`limit_threads`), and a limit held while the
parent warms the metrics it forks its workers from (:class:`ThreadLimit`)."""

from __future__ import annotations

import os


def cores() -> int:
    """The machine's cores (those this process may use)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


#: Environment variables that size the thread pools of OpenMP (torch), BLAS and OpenCV; read
#: when those libraries start, so a worker sets them before it imports any of them.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "OPENCV_FOR_THREADS_NUM")


def limit_threads(threads: int) -> None:
    """Give this process's numeric libraries ``threads`` threads each (the cores divided among
    the workers, so that N workers do not run N x cores threads on the cores); a limit the user
    set in the environment is kept."""
    for var in THREAD_VARIABLES:
        os.environ.setdefault(var, str(threads))
    import sys

    def count(var: str) -> int:
        try:
            return max(1, int(os.environ[var]))
        except ValueError:   # a user's value in another syntax ("4,2"): ours
            return threads
    torch = sys.modules.get("torch")     # already started: set directly
    if torch is not None:
        torch.set_num_threads(count("OMP_NUM_THREADS"))
    cv2 = sys.modules.get("cv2")
    if cv2 is not None:
        cv2.setNumThreads(count("OPENCV_FOR_THREADS_NUM"))


class ThreadLimit:
    """Limits this process's numeric libraries to ``threads`` threads while it warms the
    workers' metrics (so that no thread pool exists when it forks), then restores them."""

    def __init__(self, threads: int):
        self.threads = threads

    def __enter__(self):
        import sys
        from contextlib import ExitStack

        from halluscope.environ import saved_environ
        torch, cv2 = sys.modules.get("torch"), sys.modules.get("cv2")
        self.torch = torch.get_num_threads() if torch is not None else None
        self.cv2 = cv2.getNumThreads() if cv2 is not None else None
        with ExitStack() as stack:      # a limit that fails half set is put back at once
            stack.callback(self._restore_pools)
            stack.enter_context(saved_environ(THREAD_VARIABLES))
            limit_threads(self.threads)
            self._undo = stack.pop_all()
        return self

    def __exit__(self, *exc):
        self._undo.close()              # the variables, then the pools

    def _restore_pools(self) -> None:
        """The thread pools as they were (a library loaded meanwhile: the machine's cores)."""
        import sys
        torch, cv2 = sys.modules.get("torch"), sys.modules.get("cv2")
        if torch is not None:
            torch.set_num_threads(self.torch if self.torch is not None else cores())
        if cv2 is not None:
            cv2.setNumThreads(self.cv2 if self.cv2 is not None else -1)
