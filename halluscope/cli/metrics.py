"""``halluscope metrics``: the registered metrics, POPE parsers and CHAIR variants."""

from __future__ import annotations

import re
from typing import Optional

import typer
from rich.markup import escape
from rich.text import Text

from halluscope.cli.common import exit_usage, make_console
from halluscope.cli.helpformat import PanelledCommand


#: "(see the module docstring)", "(module docstring)": a pointer a command-line reader could
#: not follow; said as the command that shows that docstring
_MODULE_DOC = re.compile(r"\((?:see )?(?:the )?module docstring\)")


def readable(text: str, module: str) -> str:
    """A metric's docstring text for the terminal: a reference to its module's docstring says
    how to read it, and reST's double backquotes are single (```page``` -> ``page``)."""
    return _MODULE_DOC.sub(f"(python -m pydoc {module})", text).replace("``", "`")


def option_flag(opt, audit_params: set[str]) -> str:
    """How ``opt`` is set: its own flag, else ``--option NAME=VALUE``, with the audit flag that
    sets it where audit has one (``--region-iou``, ``--box-format``, ``--ocr``), which the
    listing left out."""
    if not opt.config_field and opt.name in audit_params:
        return f"--{opt.name.replace('_', '-')} or {opt.flag}"
    return opt.flag


def hanging(line: str, width: int) -> Text:
    """``line`` wrapped to ``width`` columns, the lines after the first indented two more than
    it (a statistic's meaning reads as its own paragraph, not from column 0)."""
    import textwrap
    indent = " " * (len(line) - len(line.lstrip()) + 2)
    return Text("\n".join(textwrap.wrap(line, max(width, 40), subsequent_indent=indent,
                                         break_on_hyphens=False, break_long_words=False)))


def _statistic_lines(cls, meanings: bool) -> list[str]:
    """The statistics ``cls`` can report: their names on one line, or (``meanings``) one line
    each with what it is (``cls.meanings``)."""
    from halluscope.metrics.statistic_names import reportable_statistics
    names = reportable_statistics(cls)
    if not names:
        return []
    if not meanings:
        return [f"  statistics: {', '.join(names)}"]
    said = getattr(cls, "meanings", None) or {}
    return ["  statistics:"] + [f"    {n}: {said.get(n) or '(not described)'}" for n in names]


def list_metrics(
    names: Optional[list[str]] = typer.Argument(  # noqa: UP007 - typer reads Optional
        None, metavar="METRIC", help="Only these metrics: registered names, module:Class or "
        "path/to/file.py:Class (default: every registered one).",
        show_default=False),
    statistics: bool = typer.Option(
        False, "--statistics", "-s",
        help="Each statistic on its own line with what it means (default: their names)."),
) -> None:
    """List the registered metrics, what each computes and the options it reads.

    Also whether a metric needs claims checked, each option's type, default and how to set it,
    and the statistics it reports (what each means with --statistics).
    """
    import inspect

    from halluscope.cli.audit import audit
    from halluscope.metrics.base import available_metrics, metric_class
    audit_params = set(inspect.signature(audit).parameters) - {"option", "ctx"}
    console = make_console()
    registered = sorted(available_metrics())
    for name in names or ():    # a name not registered, or a reference that does not load
        if name not in registered:
            try:
                metric_class(name)
            except Exception as exc:  # noqa: BLE001 - said as a usage error (exit 2)
                exit_usage(exc)
    chosen = list(dict.fromkeys(names)) if names else registered
    if not names:
        console.print("[bold]metrics:[/] " + ", ".join(registered))
    for name in chosen:
        try:
            cls = metric_class(name)
        except Exception as exc:  # noqa: BLE001 - a broken third-party metric is named, not fatal
            console.print(f"[bold]{name}[/]: cannot be loaded ({type(exc).__name__}: "
                          f"{escape(str(exc))})", highlight=False)
            continue
        head = Text()
        head.append(name, style="bold")
        line = readable(cls.summary_line(), cls.__module__)
        if line:
            head.append(f": {line}")
        if cls.needs_verification:
            head.append(" [checks claims]", style="dim")
        console.print(head, highlight=False)
        for opt in cls.options:
            flag = option_flag(opt, audit_params)
            console.print(Text(readable(f"  {opt.describe()} ({flag})", cls.__module__)),
                          highlight=False)
        console.print(Text(readable(f"  empty answer: {cls.empty_answer}", cls.__module__)),
                      highlight=False)
        for extra in cls.listing():
            console.print(Text(readable(f"  {extra}", cls.__module__)), highlight=False)
        for stat in _statistic_lines(cls, statistics):
            console.print(hanging(readable(stat, cls.__module__), console.width),
                          highlight=False, soft_wrap=True)
    if not names:
        console.print(Text("Any metric not installed: --metric module:Class or "
                           "--metric path/to/file.py:Class"), highlight=False)
    if not statistics:
        console.print(Text("What each statistic means: halluscope metrics [METRIC]... "
                           "--statistics"), highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``metrics`` to ``app``."""
    app.command("metrics", cls=PanelledCommand)(list_metrics)
