"""The ``halluscope`` command.

Exit codes (every command): 0 fine; 1 a quality gate was crossed (``--fail-above`` /
``--fail-below``) or, for ``query``, some records failed; 2 usage or input errors (also an audit
in which a metric that was asked for scored nothing); 3 an internal error: one line on stderr
naming the file the traceback was written to (``--debug`` prints it instead), or, for a run
that lost a Ray actor or the Ray cluster (``WorkerLost``, ``ClusterLost``), what was lost, what
is kept and how to finish, with no traceback (:func:`~halluscope.cli.common.print_lost`).

One module per command: :mod:`~halluscope.cli.audit`, :mod:`~halluscope.cli.metrics`,
:mod:`~halluscope.cli.query`, :mod:`~halluscope.cli.compare`, :mod:`~halluscope.cli.benchmarks`
and the groups :mod:`~halluscope.cli.pope`, :mod:`~halluscope.cli.chair`,
:mod:`~halluscope.cli.judges`; each has a ``register(app)``. Shared pieces:
:mod:`~halluscope.cli.common` (exit codes, the error line), :mod:`~halluscope.cli.options`.
"""

from __future__ import annotations

import atexit
import gc
import logging
import sys
from typing import Annotated, Optional

import typer

from halluscope._version import __version__
from halluscope.cli import audit, benchmarks, chair, compare, judges, metrics, pope, query
from halluscope.cli.common import (EXIT_GATE, EXIT_INTERNAL, EXIT_OK, EXIT_USAGE, err_console,
                                   print_error)

__all__ = ["EXIT_GATE", "EXIT_INTERNAL", "EXIT_OK", "EXIT_USAGE", "ENV_DEBUG", "app", "main"]

ENV_DEBUG = "HALLUSCOPE_DEBUG"
_debug = False

app = typer.Typer(name="halluscope", no_args_is_help=True, add_completion=False,
                  help="Audit what multimodal models say about images and documents.",
                  rich_markup_mode="rich", pretty_exceptions_enable=False)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"halluscope {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[Optional[bool], typer.Option("--version", callback=_version,
                                                    is_eager=True, help="Print the version.")] = None,
    verbose: Annotated[int, typer.Option("--verbose", "-v", count=True,
                                         help="More log output (-vv for debug).")] = 0,
    debug: Annotated[bool, typer.Option("--debug", help="On an internal error, print the "
                                        "traceback (also HALLUSCOPE_DEBUG=1).")] = False,
) -> None:
    global _debug
    _debug = debug or _debug
    level = logging.WARNING - 10 * min(verbose, 2)
    from rich.logging import RichHandler
    logging.basicConfig(level=level, format="%(message)s", datefmt="[%X]",
                        handlers=[RichHandler(console=err_console, show_path=False)])
    from halluscope.redact import install_log_redaction
    install_log_redaction()


def _register_commands() -> None:
    """One module per command (groups after the plain commands, as ``--help`` lists them)."""
    for module in (audit, metrics, query, compare, benchmarks, pope, chair, judges):
        module.register(app)


_register_commands()


def _crash(exc: BaseException) -> int:
    """Report an unexpected exception: one line, the traceback in a log file; exit code 3."""
    import os
    import tempfile
    import time
    import traceback
    from halluscope.redact import redact_text
    text = redact_text("".join(traceback.format_exception(exc)))
    notes = "".join(f", {note}" for note in getattr(exc, "__notes__", ()) if isinstance(note, str))
    message = redact_text(f"{type(exc).__name__}: {exc}{notes}")    # (which record it was)
    if _debug or os.environ.get(ENV_DEBUG, "").strip() not in ("", "0", "false"):
        sys.stderr.write(text)
        print_error(f"internal error: {message}", prefix="halluscope:")
        return EXIT_INTERNAL
    where = "(the traceback could not be written)"
    try:
        fd, path = tempfile.mkstemp(prefix=f"halluscope-crash-{time.strftime('%Y%m%dT%H%M%S')}-",
                                    suffix=".log")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(f"halluscope {__version__}\n\n{text}")
        where = f"traceback in {path}"
    except OSError:
        pass
    print_error(f"internal error: {message} ({where}; --debug prints it)",
           prefix="halluscope:")
    return EXIT_INTERNAL


def _click_errors(kind: str) -> tuple[type, ...]:
    """Click's usage-error (``kind="ClickException"``) or abort (``"Abort"``) classes, from the
    copy typer vendors and from click itself. Called while an exception is matched, and only
    from modules already imported: an exception of a click that nothing imported cannot exist,
    and importing click for the match cost every command 6 ms at best on this machine."""
    found: list[type] = [typer.Abort] if kind == "Abort" else []
    for module in ("click.exceptions", "typer._click.exceptions"):
        cls = getattr(sys.modules.get(module), kind, None)
        if isinstance(cls, type):
            found.append(cls)
    return tuple(found)


def _interrupted(exc: BaseException | None) -> None:
    """Exit as an interrupted run: 130 for Ctrl-C, 143 for SIGTERM (taken from Ray), 129 for
    SIGHUP (a closed terminal)."""
    import signal

    from halluscope._ray import terminating_signal
    sig = terminating_signal(exc)
    if sig is not None:
        print_error("terminated" if sig == signal.SIGTERM else f"terminated ({sig.name})",
                    prefix="halluscope:")
        sys.exit(128 + int(sig))
    print_error("interrupted", prefix="halluscope:")
    sys.exit(130)


def _stdout_closed() -> bool:
    """Whether click met a closed stdout or stderr (it wraps them in PacifyFlushWrapper; rich
    raises SystemExit(1) from the BrokenPipeError instead)."""
    try:
        from click.utils import PacifyFlushWrapper
    except ImportError:  # pragma: no cover - another click
        return False
    return isinstance(sys.stdout, PacifyFlushWrapper) or isinstance(sys.stderr,
                                                                     PacifyFlushWrapper)


def _freeze_at_exit() -> None:
    """At exit, move every object still alive to the collector's permanent generation.

    The interpreter tears its modules down with several full collections, each of which scans
    every object still alive (NLTK's, numpy's, pydantic's); it skips the permanent generation.
    After a one-caption CHAIR audit the exit took 0.28-0.53 s, and takes 0.06-0.11 s, on a
    shared 2-core machine under heavy load (wall clock from the last exit handler). Exit
    handlers still run (this one runs before those registered earlier, logging's flush among them;
    ``weakref.finalize`` and temporary folders clean up through them), objects are still freed
    by reference counting, and stdout and stderr are flushed as usual. What it skips is the
    collection of cyclic garbage left at exit, whose finalizers Python does not promise to run.
    Registered once per process; a command run inside another program (a test calling
    :func:`main`) changes nothing before that program exits."""
    global _freezing
    if not _freezing:
        atexit.register(gc.freeze)
        _freezing = True


_freezing = False


def main() -> None:
    """The console script: every command, with an internal error reported as exit code 3."""
    # A command builds large acyclic data once (ground truth, vocabularies, parsed models): with
    # the default threshold (700 allocations) the cyclic collector rescans it again and again,
    # ~0.1 s of a one-caption audit. Objects are still freed by reference counting.
    gc.set_threshold(50_000, 20, 20)
    _freeze_at_exit()
    try:
        code = app(standalone_mode=False)
    except _click_errors("Abort") as exc:           # Ctrl-C, or end of input at a prompt
        if isinstance(exc.__cause__, EOFError):
            # click turns every EOFError into an abort; no command here reads a prompt, so it
            # is a failure inside the command, never a user's end of input: a crash, not 130
            sys.exit(_crash(exc.__cause__))
        _interrupted(exc.__cause__ or exc.__context__)
    except _click_errors("ClickException") as exc:  # usage errors: click's message, exit 2
        exc.show()
        sys.exit(exc.exit_code)
    except SystemExit as exc:
        if exc.code == 1 and (_stdout_closed() or isinstance(exc.__context__, BrokenPipeError)):
            # click answers a closed pipe (`halluscope audit ... | head -1`) with exit 1, the
            # code of a crossed gate; a reader that went away is no result: 141, as a shell
            # reports a process ended by SIGPIPE
            sys.exit(141)
        raise
    except KeyboardInterrupt as exc:
        _interrupted(exc)
    except Exception as exc:  # noqa: BLE001 - the one place that turns a crash into exit 3
        if isinstance(exc.__cause__, KeyboardInterrupt):
            # a Ctrl-C that a library wrapped (pydantic's serializer raises
            # PydanticSerializationError from it): an interrupt, not a crash
            _interrupted(exc.__cause__)
        sys.exit(_crash(exc))
    if code == 130:     # typer turns Ctrl-C inside a command into a silent Exit(130)
        _interrupted(None)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":  # pragma: no cover
    main()
