"""``halluscope metrics``: the registered metrics, POPE parsers and CHAIR variants."""

from __future__ import annotations

import re

import typer
from rich.markup import escape
from rich.text import Text

from halluscope.cli.common import make_console
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


def list_metrics() -> None:
    """List the registered metrics, what each computes and the options it reads.

    Also whether a metric needs claims checked, and each option's type, default and how to set it.
    """
    import inspect

    from halluscope.cli.audit import audit
    from halluscope.metrics.base import available_metrics, metric_class
    audit_params = set(inspect.signature(audit).parameters) - {"option", "ctx"}
    console = make_console()
    names = sorted(available_metrics())
    console.print("[bold]metrics:[/] " + ", ".join(names))
    for name in names:
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
    console.print(Text("Any metric not installed: --metric module:Class or "
                       "--metric path/to/file.py:Class"), highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``metrics`` to ``app``."""
    app.command("metrics", cls=PanelledCommand)(list_metrics)
