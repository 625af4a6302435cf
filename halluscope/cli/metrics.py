"""``halluscope metrics``: the registered metrics, POPE parsers and CHAIR variants."""

from __future__ import annotations

import typer
from rich.console import Console


def list_metrics() -> None:
    """List the registered metrics, CHAIR variants and POPE parsers."""
    from halluscope.metrics.base import _BUILTIN, available_metrics
    from halluscope.metrics.pope import PARSERS
    from halluscope.metrics.pope_parsers import UNKNOWN_TREATMENTS
    console = Console()
    names = sorted(set(available_metrics()) | set(_BUILTIN))
    console.print("[bold]metrics:[/] " + ", ".join(names))
    console.print("[bold]POPE parsers:[/]")
    for name, parser in PARSERS.items():
        doc = (getattr(parser, "description", None) or getattr(parser, "__doc__", "") or "")
        unknowns = getattr(parser, "unknowns", "halluscope")
        console.print(f"  {name}: {doc.strip().splitlines()[0] if doc.strip() else ''} "
                      f"[unknown answers: {unknowns}]", highlight=False, markup=False)
    console.print("[bold]POPE unknown-answer treatments:[/]")
    for name, text in UNKNOWN_TREATMENTS.items():
        console.print(f"  {name}: {text}", highlight=False, markup=False)
    console.print("[bold]CHAIR variants:[/] original, refined")


def register(app: typer.Typer) -> None:
    """Add ``metrics`` to ``app``."""
    app.command("metrics")(list_metrics)
