"""Ray, imported only when a command asks for it (``--engine ray``), with a clear error when
the ``ray`` extra is missing. A low module so that every layer (adapters for ``halluscope
query``, the audit engines) can use it without importing the layers above."""

from __future__ import annotations

from halluscope.errors import ConfigError


def import_ray():
    """The ``ray`` module, or a usage error saying how to install it."""
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as exc:
        raise ConfigError("--engine ray needs Ray Data: pip install 'halluscope[ray]' "
                          f"(expected the ray package, got {exc})") from None
    return ray


def start_ray(ray, address: str | None) -> None:
    """Start a local Ray instance, or join the cluster at ``address``, for one command: no
    dashboard, workers' logs kept in Ray's session folder, and Ray's own messages on this
    terminal from warnings up (from INFO when halluscope logs at INFO, ``-v``), without the
    warning that progress bars are off (halluscope shows its own)."""
    import logging
    level = logging.INFO if logging.getLogger("halluscope").isEnabledFor(logging.INFO) \
        else logging.WARNING
    _check_reachable(address)
    ray.init(address=address, log_to_driver=False, include_dashboard=False,
             ignore_reinit_error=True, logging_level=level)
    logging.getLogger("ray.data").setLevel(level)
    logging.getLogger("ray.data._internal.progress").setLevel(logging.ERROR)
    if level > logging.INFO:    # the error reaches the user as halluscope's own, traced in
        for name in _TASK_ERRORS:   # its crash log
            logging.getLogger(name).addFilter(_drop_task_errors)
    _terminate_as_an_interruption()


#: Where Ray Data logs, with its traceback, an error that it then raises to the driver.
_TASK_ERRORS = ("ray.data._internal.execution.streaming_executor_state", "ray.data.exceptions")
_RAISED_ANYWAY = ("exception was raised from a task", "Exception occurred in Ray Data",
                  "Full stack trace")


def _drop_task_errors(record) -> bool:
    message = record.getMessage()
    return not any(text in message for text in _RAISED_ANYWAY)


def _check_reachable(address: str | None, timeout: float = 10.0) -> None:
    """A usage error for a cluster address nothing answers at: Ray itself waits and retries
    (well past a minute) with only its own warnings. ``auto`` and a local instance are Ray's
    to find."""
    if not address or address == "auto" or "://" in address and not address.startswith(
            "ray://"):
        return
    import socket
    from urllib.parse import urlsplit
    target = address if "://" in address else f"ray://{address}"
    try:
        parts = urlsplit(target)
        host, port = parts.hostname, parts.port
    except ValueError:
        host = port = None
    if not host or not port:
        raise ConfigError(f"expected --ray-address as host:port, ray://host:port or auto, got "
                          f"{address!r}")
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as exc:
        raise ConfigError(f"cannot reach the Ray cluster at {address} ({exc.strerror or exc}); "
                          f"is it running? (--ray-address auto joins the local one)") from None


class Terminated(KeyboardInterrupt):
    """SIGTERM while Ray runs: an interruption (the journal kept, the run sheet saying so),
    reported with exit 143 as for a process ended by SIGTERM."""


#: Set when SIGTERM arrived (Ray's code may turn the exception into a plain KeyboardInterrupt).
terminated = False


def _on_sigterm(signum, frame):
    global terminated
    terminated = True
    raise Terminated(f"terminated (signal {signum})")


def was_terminated(exc: BaseException | None = None) -> bool:
    """Whether an interruption came from SIGTERM (see :func:`_terminate_as_an_interruption`)."""
    return terminated or type(exc).__name__ == "Terminated"


def _terminate_as_an_interruption() -> None:
    """Take SIGTERM back from Ray: its handlers end the process with exit 1, the code of
    "some records failed" (query) and of a crossed gate (audit), and no run sheet written."""
    import signal
    import threading
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_sigterm)
