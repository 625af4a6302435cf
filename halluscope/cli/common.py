"""What every ``halluscope`` command shares: the exit codes and the error line on stderr."""

from __future__ import annotations

import errno
from typing import NoReturn

from rich.console import Console
from rich.markup import escape

from halluscope.errors import WRITE_ERRNOS
from halluscope.report.visible import visible_controls

EXIT_OK, EXIT_GATE, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3
EXIT_FAILED = EXIT_GATE  # ``query``: some records failed after their retries

def make_console(**kw) -> Console:
    """A rich console for the CLI's output: no emoji codes read in text (a group such as
    ``model:smile:`` printed as an emoji), else rich's defaults."""
    return Console(emoji=False, **kw)


err_console = make_console(stderr=True)


def plain(text: object) -> str:
    """Text from the data (model, group and file names, messages) for a rich string: its markup
    escaped and its control characters shown, so that it prints as it is and nothing else."""
    return escape(visible_controls(str(text)))


def print_error(message: str, prefix: str = "error:") -> None:
    """Print one error line on stderr, unwrapped, with model or file text escaped and
    credentials cut (an address or URL quoted with its password or token)."""
    from halluscope.redact import redact_text
    err_console.print(f"[bold red]{prefix}[/] {plain(redact_text(message))}", highlight=False,
                      soft_wrap=True)


#: What an OSError says when the fault is the user's to mend (exit 2): a path that is missing,
#: a folder, or not allowed, and a disk that refuses the write (full, over quota, read-only).
#: Any other (an I/O error, a bad file descriptor, an invalid argument) is a crash, exit 3.
_USER_ERRNOS = WRITE_ERRNOS | frozenset(
    getattr(errno, name) for name in ("ENOENT", "EACCES", "EPERM", "EISDIR", "ENOTDIR",
                                      "ENAMETOOLONG", "ELOOP", "EEXIST", "ETXTBSY")
    if hasattr(errno, name))


def user_os_error(exc: OSError) -> bool:
    """Whether ``exc`` is a file or connection problem the user mends (exit 2), rather than
    a crash whose traceback must be kept (exit 3): an error of a path or of the disk by its
    errno, a missing or forbidden path raised without one, a server that did not answer."""
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return True
    if exc.errno is None:
        return isinstance(exc, (FileNotFoundError, PermissionError, IsADirectoryError,
                                NotADirectoryError))
    return exc.errno in _USER_ERRNOS


def exit_usage(exc: Exception) -> NoReturn:
    """Print ``exc`` as one error line and exit 2; an OSError that is not the user's to mend
    (:func:`user_os_error`) is raised again instead, to be reported as the crash it is (exit
    3, its traceback kept)."""
    if isinstance(exc, OSError) and not user_os_error(exc):
        raise exc
    import typer
    print_error(str(exc))
    raise typer.Exit(EXIT_USAGE) from None


def print_lost(name: str, what: str, *lines: str) -> None:
    """Say that a run lost a process or machine it ran on (a Ray query actor: ``WorkerLost``;
    the Ray cluster: ``ClusterLost``), for exit 3: ``halluscope: internal error: NAME: WHAT``
    as every internal error starts, then ``lines`` (what was kept, how to finish) indented, and
    no traceback file: a crash's traceback helps find a bug, this one shows only where the run
    waited on Ray when a process died outside it."""
    print_error(f"{name}: {what}", prefix="halluscope: internal error:")
    from halluscope.redact import redact_text
    for line in lines:
        err_console.print(f"  {plain(redact_text(line))}", highlight=False, soft_wrap=True)
