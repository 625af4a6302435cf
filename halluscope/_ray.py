"""Ray, imported only when a command asks for it (``--engine ray``), with a clear error when
the ``ray`` extra is missing. A low module so that every layer (adapters for ``halluscope
query``, the audit engines) can use it without importing the layers above."""

from __future__ import annotations

import logging
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

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
    level = logging.INFO if logging.getLogger("halluscope").isEnabledFor(logging.INFO) \
        else logging.WARNING
    _check_reachable(address)
    try:
        _init(ray, address, level)
    except SystemExit as exc:
        # ray.init first sets a SIGTERM handler of its own, sys.exit(signum): a SIGTERM while
        # Ray starts (seconds) ended the command with exit 15 and a run sheet that did not say
        # it was interrupted. It is one, as after the start (Ray's exit handler shuts down
        # what it started).
        if exc.code != signal.SIGTERM:
            raise
        _terminate_as_an_interruption()
        global terminated
        terminated = int(signal.SIGTERM)
        raise Terminated("terminated (signal 15) while Ray started") from None
    except ConnectionError as exc:      # Ray's own: "Failed to connect to Ray cluster at ..."
        raise ConfigError(_not_joined(address, exc)) from None
    logging.getLogger("ray.data").setLevel(level)
    logging.getLogger("ray.data._internal.progress").setLevel(logging.ERROR)
    if level > logging.INFO:    # the error reaches the user as halluscope's own, traced in
        for name in _TASK_ERRORS:   # its crash log
            logging.getLogger(name).addFilter(_drop_task_errors)
    _terminate_as_an_interruption()


def _init(ray, address: str | None, level: int) -> None:
    """``ray.init``, watched over (:func:`_start_reaper`): the watchdog is told which session
    to watch once Ray runs; a start that failed (a Ctrl-C meanwhile, an error) takes what it
    had started of Ray with it (a Ctrl-C left the two agents running for a minute)."""
    _start_reaper(ray, address)
    try:
        with _hangups_held():
            ray.init(address=address, log_to_driver=False, include_dashboard=False,
                     ignore_reinit_error=True, logging_level=level)
    except BaseException:
        _tell_reaper("stop")
        raise
    _tell_reaper(_session_started(ray))


@contextmanager
def _hangups_held() -> Iterator[None]:
    """SIGHUP held back (blocked) in this thread while Ray starts its processes, which inherit
    the block: a closing terminal hangs up its whole foreground process group, where Ray's GCS,
    raylet and agents sit beside the audit, and they died at once, before the audit could
    journal what its actors had scored. (Ray holds SIGINT back in them the same way, for a
    Ctrl-C.) A hang-up that came meanwhile reaches this process once the block is lifted."""
    import threading
    if threading.current_thread() is not threading.main_thread() or \
            not hasattr(signal, "pthread_sigmask") or not hasattr(signal, "SIGHUP"):
        yield
        return
    held = signal.SIGHUP in signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGHUP})
    try:
        yield
    finally:
        if not held:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGHUP})


#: The watchdog (:mod:`halluscope._ray_reaper`) of the local Ray instance that this process
#: started, while it runs.
_reaper: Any = None


def _start_reaper(ray, address: str | None) -> None:
    """Start the watchdog that kills what is left of a local Ray instance that this process
    starts once this process is gone, whatever ended it (Linux: it reads ``/proc``). Only where
    Ray may start one (no address, or ``local``); one that Ray then joins instead says so
    (:func:`_tell_reaper`) and the watchdog ends."""
    global _reaper
    import os
    import subprocess
    import sys
    import time
    module = getattr(ray, "__file__", None)     # (none: a stand-in for Ray, starting nothing)
    if address not in (None, "local") or not sys.platform.startswith("linux") \
            or not sys.executable or not os.path.isdir("/proc") or not isinstance(module, str):
        return
    try:
        from ray._common.utils import get_default_ray_temp_dir
        root = get_default_ray_temp_dir()
    except (ImportError, AttributeError):
        return
    from halluscope import _ray_reaper
    package = os.path.dirname(os.path.abspath(module))
    try:
        _reaper = subprocess.Popen(
            [sys.executable, "-I", "-S", _ray_reaper.__file__, str(os.getpid()), root, package,
             repr(time.time())], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True)
    except OSError as exc:
        logging.getLogger("halluscope").debug("no watchdog for the local Ray instance: %s", exc)


def _session_started(ray) -> str | None:
    """What to tell the watchdog once Ray runs: ``session PATH`` for the local instance that
    this process started, ``none`` where it joined a running one, nothing where Ray does not
    say (the watchdog then finds the session by the name Ray gives it)."""
    node = getattr(getattr(getattr(ray, "_private", None), "worker", None), "_global_node", None)
    head = getattr(node, "head", None)
    if head is False:
        return "none"
    try:
        return f"session {node.get_session_dir_path()}" if head else None
    except (AttributeError, TypeError):
        return None


def _tell_reaper(word: str | None) -> None:
    """Tell the watchdog ``word`` (:mod:`halluscope._ray_reaper`); after ``none`` or ``stop``,
    wait for it to end (it kills what is left of Ray first)."""
    global _reaper
    import subprocess

    from halluscope._ray_reaper import REAP_FOR_S
    if _reaper is None or word is None:
        return
    try:
        _reaper.stdin.write(word.encode("utf-8", "surrogateescape") + b"\n")
        _reaper.stdin.flush()
    except OSError:     # it is gone
        pass
    if word in ("none", "stop"):
        reaper, _reaper = _reaper, None
        try:
            reaper.stdin.close()
            reaper.wait(timeout=REAP_FOR_S + 1.0)
        except (OSError, subprocess.TimeoutExpired):
            pass


def _not_joined(address: str | None, exc: BaseException) -> str:
    """Why Ray could not join the cluster at ``address``, and what to do. A cluster that asks
    for a token (Ray 2.5x's ``ray start`` makes one, ``~/.ray/auth_token``) refuses a driver
    given its address without ``RAY_AUTH_MODE=token``: Ray said only "Failed to connect",
    after 20 s of warnings."""
    from halluscope.redact import redact_text
    causes, seen = [], exc
    while seen is not None and len(causes) < 5:
        causes.append(f"{type(seen).__name__}: {seen}")
        seen = seen.__cause__ or seen.__context__
    said = " ".join(causes)
    where = redact_text(address) if address else "a local instance"
    if "InvalidAuthToken" in said or "AuthenticationError" in said:
        return (f"the Ray cluster at {where} asks for an authentication token, and this process "
                f"sent none or another: set RAY_AUTH_MODE=token and give the cluster's token "
                f"(~/.ray/auth_token, RAY_AUTH_TOKEN_PATH or RAY_AUTH_TOKEN); --ray-address auto "
                f"finds a local cluster's token itself")
    return f"cannot join the Ray cluster at {where}: {redact_text(str(exc))}"


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
    if not address or address == "auto":
        _check_found(address, timeout)
        return
    if address == "local":      # Ray's: a new local instance, whatever runs
        return
    import socket
    from urllib.parse import urlsplit

    from halluscope.redact import redact_text, register_url
    target = address if "://" in address else f"ray://{address}"
    register_url(address if "@" in address else target)
    address = redact_text(address)      # as the messages quote it: without its credentials
    scheme = address.partition("://")[0].lower() if "://" in address else ""
    if scheme in ("http", "https"):     # Ray's ValueError was an internal error (exit 3)
        raise ConfigError(f"expected --ray-address as host:port (the head node's GCS, 6379 "
                          f"unless changed), ray://host:port (the Ray Client) or auto, got "
                          f"{address!r}: an {scheme}:// address is the dashboard's (Ray "
                          f"Jobs); the audit joins the cluster itself")
    if scheme and scheme != "ray":      # another client's scheme: Ray's to connect
        return
    try:
        parts = urlsplit(target)
        host, port = parts.hostname, parts.port
    except ValueError:
        host = port = None
    if not host or not port:
        raise ConfigError(f"expected --ray-address as host:port, ray://host:port or auto, got "
                          f"{address!r}")
    if address.startswith("ray://"):
        _check_ray_client(address)
    try:
        conn = socket.create_connection((host, port), timeout=timeout)
    except OSError as exc:
        raise ConfigError(f"cannot reach the Ray cluster at {address} ({exc.strerror or exc}); "
                          f"is it running? (--ray-address auto joins the local one)") from None
    with conn:
        if not address.startswith("ray://") and not _speaks_grpc(conn, timeout):
            raise ConfigError(
                f"nothing at {address} answers as a Ray cluster's GCS (gRPC): expected the "
                f"head node's GCS address (port 6379 unless changed; ray://host:10001 is the "
                f"Ray Client's), got a server that did not answer an HTTP/2 greeting within "
                f"{timeout:g} s")


def _check_found(address: str | None, timeout: float) -> None:
    """Without an address (or ``auto``) Ray joins ``RAY_ADDRESS``, else the cluster the last
    ``ray start`` on this machine named in its ``ray_current_cluster`` file: one stopped
    without ``ray stop`` (killed, crashed, the machine restarted) left the file, and Ray tried
    to join it for more than ten minutes, with only its own warnings. The same check as a
    given address, with a message that says where the address came from."""
    import os
    env = os.environ.get("RAY_ADDRESS", "")
    if env:
        if env not in ("auto", "local"):
            _check_reachable(env, timeout)
        return
    try:
        from ray._common.utils import get_ray_address_file
        path = get_ray_address_file(None)
        with open(path, encoding="utf-8") as fh:
            found = fh.read().strip()
    except (ImportError, OSError):
        return
    if not found:
        return
    try:
        _check_reachable(found, timeout)
    except ConfigError as exc:
        how = "--ray-address auto" if address == "auto" else "no --ray-address"
        why = str(exc).split("; is it running?")[0]
        raise ConfigError(
            f"--engine ray with {how} joins the cluster that `ray start` last started on this "
            f"machine, {found} (named in {path}), which does not answer ({why}): start it "
            f"again, forget it (`ray stop`, or remove that file), or pass --ray-address local "
            f"for a new local instance") from None


def _check_ray_client(address: str) -> None:
    """A ``ray://`` address goes through the Ray Client, which needs ``ray[client]`` (grpcio):
    without it Ray raised a ValueError (exit 3, an internal error)."""
    try:
        import grpc  # noqa: F401
    except ImportError as exc:
        raise ConfigError(f"--ray-address {address} connects through the Ray Client, which needs "
                          f"pip install 'ray[client]' (expected the grpc package, got {exc}); "
                          f"or give the head node's GCS address, host:6379") from None


#: The client's HTTP/2 connection preface and an empty SETTINGS frame (RFC 9113, 3.4 and 6.5).
_H2_GREETING = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"


def _speaks_grpc(conn, timeout: float) -> bool:
    """Whether the server on ``conn`` answers an HTTP/2 greeting with a SETTINGS frame, as the
    GCS (a gRPC server) does: Ray itself retried a port that accepts and never answers (a
    Redis, a dashboard, a closed tunnel) for minutes. A GCS behind TLS (``RAY_USE_TLS``) is
    left to Ray."""
    import os
    if os.environ.get("RAY_USE_TLS", "0").lower() in ("1", "true"):
        return True
    try:
        conn.settimeout(timeout)
        conn.sendall(_H2_GREETING)
        head = b""
        while len(head) < 9:
            got = conn.recv(9 - len(head))
            if not got:
                break
            head += got
    except OSError:
        return False
    return len(head) == 9 and head[3] == 0x04


def this_driver(ray) -> tuple[str, int] | None:
    """This driver's Ray node id and process id, for its actors on the same node to check that
    it still runs (:class:`DriverWatch`); ``None`` through the Ray Client (the driver's process
    is on another machine)."""
    import os

    from ray.util.client import ray as client
    if client.is_connected():
        return None
    return ray.get_runtime_context().get_node_id(), os.getpid()


class DriverWatch:
    """In a Ray actor: whether the driver (:func:`this_driver`) is gone. A driver killed with
    SIGKILL left its actors working (sending model or judge requests) until Ray ended them,
    about 2 s later on a local instance. Only a driver on the actor's node that the actor could
    see when it started is watched: elsewhere Ray's own end of a dead driver's actors is all
    there is."""

    def __init__(self, driver: tuple[str, int] | None):
        import ray
        self.pid = None
        if driver is not None and driver[0] == ray.get_runtime_context().get_node_id() \
                and _runs(driver[1]):
            self.pid = driver[1]

    def gone(self) -> bool:
        return self.pid is not None and not _runs(self.pid)


def _runs(pid: int) -> bool:
    """Whether the process ``pid`` runs (on this machine)."""
    import os
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:     # another user's: it runs
        pass
    return True


def driver_folder() -> str:
    """This driver's working folder, for its actors to work in (:func:`enter_driver_folder`)."""
    import os
    return os.getcwd()


def enter_driver_folder(folder: str | None) -> None:
    """In a Ray actor: work in the driver's folder, so that a relative path the user gave (an
    input, an option file, a record's image, the cache folder, a local model) names there the
    file it names for the driver. An actor works in the folder its node's Ray started in (where
    ``ray start`` ran): ``--coco-annotations data/instances.json`` was not found there (exit 3)
    or, worse, named another file, and a relative cache folder was another cache. A node without
    that folder keeps its own, with a warning (absolute paths still work there)."""
    import os
    if not folder or os.path.realpath(folder) == os.path.realpath(os.getcwd()):
        return
    try:
        os.chdir(folder)
    except OSError as exc:
        logging.getLogger("halluscope").warning(
            "this Ray worker cannot work in the driver's folder %s (%s): relative paths are "
            "read from %s here; give absolute paths, readable on every node", folder,
            exc.strerror or exc, os.getcwd())


#: Seconds the cluster's GCS may refuse connections before a run stops as having lost it. Ray
#: ends a driver whose GCS is gone for 60 s itself, with exit 1 (the code of a crossed gate),
#: after a minute of warnings and with no word of what happened.
LOST_AFTER_S = 10.0
#: Seconds after the loss is noticed before this process ends itself (exit 3) if stopping
#: through the interruption did not end it: before Ray's own end (exit 1) comes.
FORCED_EXIT_S = 30.0


class ClusterLost(RuntimeError):
    """The Ray cluster's GCS stopped answering while the run went on (the head node died,
    ``ray stop``): an internal error (exit 3), the journal kept for ``--resume``."""


class ClusterWatch:
    """While a run waits on Ray: a thread that checks each second that the cluster's GCS
    accepts connections. Once it has refused them for :data:`LOST_AFTER_S`, :attr:`lost`
    says so and the main thread is interrupted as by a Ctrl-C (the run journals what it can
    and stops; the engine turns that into :class:`ClusterLost`); if the process still runs
    :data:`FORCED_EXIT_S` later (Ray's shutdown waiting on the lost cluster), it ends with exit
    3 unless :meth:`cancel` came first (Ray was shut down). Nothing is watched through the Ray
    Client (``ray://``), whose driver is another machine's."""

    def __init__(self, ray) -> None:
        import threading
        self.lost: str | None = None
        self.address = _gcs_address(ray)
        self._done = threading.Event()
        self._cancelled = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name="halluscope-cluster-watch")

    def __enter__(self) -> ClusterWatch:
        if self.address is not None:
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._done.set()

    def cancel(self) -> None:
        """Ray is shut down: nothing is left to end the process."""
        self._done.set()
        self._cancelled.set()

    def _run(self) -> None:
        import os
        import sys
        import threading
        import time
        down = None
        while not self._done.wait(1.0):
            if _accepts(self.address):
                down = None
            elif down is None:
                down = time.monotonic()
            elif time.monotonic() - down >= LOST_AFTER_S:
                break
        else:
            return
        from halluscope.redact import redact_text
        where = redact_text("%s:%d" % self.address)
        self.lost = (f"lost the Ray cluster: its GCS at {where} has "
                     f"refused connections for {LOST_AFTER_S:g} s (the head node died, or `ray "
                     f"stop` ran); what was scored or answered is kept: run the command again "
                     f"(an audit with --resume) once a cluster runs")
        logging.getLogger("halluscope").error("%s; stopping", self.lost)
        signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)
        if not self._cancelled.wait(FORCED_EXIT_S):
            sys.stderr.write(f"halluscope: internal error: ClusterLost: {self.lost}\n")
            sys.stderr.flush()
            os._exit(3)


def _gcs_address(ray) -> tuple[str, int] | None:
    """The connected cluster's GCS as ``(host, port)``; ``None`` through the Ray Client or
    where Ray does not say."""
    from ray.util.client import ray as client
    if client.is_connected():
        return None
    try:
        host, _, port = ray.get_runtime_context().gcs_address.rpartition(":")
        return host, int(port)
    except (AttributeError, ValueError):
        return None


def _accepts(address: tuple[str, int], timeout: float = 2.0) -> bool:
    """Whether something accepts a connection at ``address``."""
    import socket
    try:
        socket.create_connection(address, timeout=timeout).close()
    except OSError:
        return False
    return True


class Terminated(KeyboardInterrupt):
    """SIGTERM (or SIGHUP, a closed terminal) while Ray runs: an interruption (the journal
    kept, the run sheet saying so), reported with exit 128 + the signal's number (143, 129) as
    for a process ended by that signal."""


#: The number of the signal that stopped the run (SIGTERM, SIGHUP), 0 while none did (Ray's
#: code may turn the exception into a plain KeyboardInterrupt).
terminated = 0


def _on_sigterm(signum, frame):
    global terminated
    terminated = int(signum)
    raise Terminated(f"terminated (signal {signum})")


def was_terminated(exc: BaseException | None = None) -> bool:
    """Whether an interruption came from SIGTERM or SIGHUP (see
    :func:`_terminate_as_an_interruption`)."""
    return bool(terminated) or type(exc).__name__ == "Terminated"


def terminating_signal(exc: BaseException | None = None) -> signal.Signals | None:
    """The signal that stopped the run when it was not Ctrl-C: SIGTERM or SIGHUP."""
    if terminated:
        return signal.Signals(terminated)
    return signal.SIGTERM if type(exc).__name__ == "Terminated" else None


def stop_ray(ray) -> None:
    """``ray.shutdown()``, then SIGTERM's handler put back where Python thinks it is: Ray's core
    worker resets the signal to its default disposition as it shuts down, behind Python's back
    (``signal.getsignal`` still names the handler), so a SIGTERM while the run sheet was
    written killed the process (-15) instead of interrupting it."""
    import threading
    try:
        ray.shutdown()
    finally:
        _tell_reaper("stop")
        if threading.current_thread() is threading.main_thread():
            handler = signal.getsignal(signal.SIGTERM)
            if handler is not None:     # None: set outside Python, left alone
                signal.signal(signal.SIGTERM, handler)


def _terminate_as_an_interruption() -> None:
    """Take SIGTERM back from Ray: its handlers end the process with exit 1, the code of
    "some records failed" (query) and of a crossed gate (audit), and no run sheet written."""
    import threading
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_sigterm)
