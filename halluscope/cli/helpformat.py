"""``--help`` of the commands with many options (``audit``, ``query``, ``compare``).

typer 0.29's rich help gives each option five columns (long names, short names, the ``--no-x``
of a ``--x/--no-x`` flag, its short form, a ``<list[Path]>`` type) before the description;
at 80 columns ``audit --help`` left the description about 18 columns and ran to 336 lines.
:class:`PanelledCommand` (given to ``app.command(cls=...)``, typer's documented hook) prints
the same page — usage, help, one panel per ``rich_help_panel`` — with two columns: an option's
names as click writes them (``--strict / --no-strict``, ``-m, --metric NAME``) and its
description; names too long for the first column take a line of their own above it. It reads
only click's public parameter API (``get_help_record``, ``opts``, ``help``) and typer's
``rich_help_panel``; without rich markup it leaves the page to typer.
"""

from __future__ import annotations

import inspect
import os

from typer.core import TyperCommand

__all__ = ["PANELS", "PanelledCommand", "NAMES_MAX"]

#: Panels in the order a page shows them (a panel not listed comes after, as first met).
PANELS = ("Arguments", "Inputs", "Metrics", "Statistics", "Evidence", "Judge", "Model",
          "Decoding", "Gates", "Run and scale", "Output", "Options")
#: The widest the names column gets; longer names go on a line of their own.
NAMES_MAX = 28


class PanelledCommand(TyperCommand):
    """A typer command whose rich ``--help`` keeps the description column readable."""

    def format_help(self, ctx, formatter) -> None:
        if self.rich_markup_mode != "rich":
            return super().format_help(ctx, formatter)
        print_help(self, ctx)
        return None


def _panels(command, ctx) -> list[tuple[str, list[tuple[str, object]]]]:
    """``[(title, [(names, help Text), ...]), ...]`` in :data:`PANELS` order."""
    from rich.text import Text
    found: dict[str, list[tuple[str, object]]] = {}
    for param in command.get_params(ctx):
        record = param.get_help_record(ctx)
        if record is None:
            continue
        names, full = record
        if param.param_type_name == "argument":    # its type as typer writes it: <list[Path]>
            names = (param.metavar or (param.name or "").upper()) + (
                "..." if param.nargs != 1 else "")
        default = "Arguments" if param.param_type_name == "argument" else "Options"
        title = getattr(param, "rich_help_panel", None) or default
        written = param.help or ""
        text = Text.from_markup(written) if written else Text()
        extra = full[len(written):].strip() if full.startswith(written) else full
        if extra:           # "[default: 8; x>=1]", "[required]": shown as they are
            text.append((" " if written else "") + extra, style="dim")
        found.setdefault(title, []).append((names, text))
    rank = {name: i for i, name in enumerate(PANELS)}
    return sorted(found.items(), key=lambda kv: rank.get(kv[0], len(PANELS)))


def _names_width(panels, width: int) -> int:
    """The names column of every panel: as wide as the longest names that fit in it."""
    cap = min(NAMES_MAX, width // 3)
    fits = [len(n) for _, rows in panels for n, _ in rows if len(n) <= cap]
    return max(fits, default=cap)


def _rows(rows: list[tuple[str, object]], names_width: int):
    """One grid per option (names, help), names over their help where they are too long."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text
    parts = []
    for names, help_text in rows:
        shown = Text(names, style="bold cyan")
        shown.highlight_regex(r"(?<=[ ,])(?:[A-Z][A-Z0-9_=.,\[\]|]*|<[^>]*>)(?:\.\.\.)?",
                              "yellow")
        grid = Table.grid(padding=(0, 2), expand=True)
        grid.add_column(width=names_width, no_wrap=True)
        grid.add_column(ratio=1)
        if len(names) > names_width:
            parts.append(shown)
            grid.add_row("", help_text)
        else:
            grid.add_row(shown, help_text)
        parts.append(grid)
    return Group(*parts)


def _help_text(text: str):
    """A command's help as typer shows it: up to a ``\\f`` line, each paragraph's lines joined
    (a paragraph led by ``\\b`` keeps them), the paragraphs after the first dim."""
    from rich.text import Text
    paragraphs = inspect.cleandoc(text).partition("\f")[0].split("\n\n")
    out = Text()
    for number, paragraph in enumerate(paragraphs):
        kept = paragraph.startswith("\b")
        paragraph = paragraph.removeprefix("\b").lstrip("\n") if kept else \
            paragraph.replace("\n", " ")
        if number:
            out.append("\n\n")
        out.append_text(Text.from_markup(paragraph.strip(), style="dim" if number else ""))
    return out


def print_help(command, ctx) -> None:
    """Usage, the command's help and its option panels, on stdout."""
    from rich.console import Console
    from rich.padding import Padding
    from rich.panel import Panel
    from rich.text import Text
    width = os.environ.get("TERMINAL_WIDTH", "")      # as typer reads it
    console = Console(emoji=False, highlight=False,
                      width=int(width) if width.isdigit() else None)
    console.print(Padding(Text(command.get_usage(ctx), style="bold"), 1))
    if command.help:
        console.print(Padding(_help_text(command.help), (0, 1, 1, 1)))
    panels = _panels(command, ctx)
    names_width = _names_width(panels, max(console.width - 4, 20))  # less border and padding
    for title, rows in panels:
        console.print(Panel(_rows(rows, names_width), title=title, title_align="left",
                            border_style="dim"))
    if command.epilog:
        console.print(Padding(Text.from_markup(inspect.cleandoc(command.epilog)), 1))
