"""``halluscope benchmarks``: the pinned benchmark manifests and the status of the user's data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from halluscope.cli.common import (EXIT_OK, EXIT_USAGE, err_console, make_console, plain,
                                   print_error)
from halluscope.cli.helpformat import PanelledCommand

out_console = make_console()


def benchmarks_command(
    data: Annotated[Optional[list[Path]], typer.Option(
        "--data", metavar="PATH",
        help="Folder (or file) holding your copies of the benchmark data; repeatable "
                       "(each searched, in the order given), then $HALLUSCOPE_DATA.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")
                       ] = False,
) -> None:
    """List the pinned benchmarks with their data status (found / missing / wrong hash)."""
    from halluscope.benchmark_specs import (check_files, data_status, list_benchmarks,
                                            missing_data_places)
    from halluscope.benchmark_query import splits
    from halluscope.errors import HalluscopeError
    missing = missing_data_places(list(data or []))
    if missing:             # a mistyped folder listed every benchmark as "missing", exit 0
        for problem in missing:
            print_error(problem)
        raise typer.Exit(EXIT_USAGE)
    try:
        specs = list_benchmarks()
        # a lone file is not every benchmark's questions file: named otherwise, it is found
        # where its hash matches and blamed nowhere else
        rows = [(s, check_files(s, list(data or []), guess=False)) for s in specs]
    except HalluscopeError as exc:
        err_console.print(f"[red]error:[/red] {plain(exc)}")
        raise typer.Exit(EXIT_USAGE) from None
    if as_json:
        out = [{"name": s.name, "version": s.version, "metric": s.metric, "title": s.title,
                "variants": s.variants, "default_variant": s.default_variant, "judge": s.judge,
                "splits": splits(s),
                "status": data_status(st),
                "files": [{"role": x.file.role, "name": x.file.name, "status": x.status,
                           "path": str(x.path) if x.path else None,
                           "expected_sha256": x.file.sha256, "actual_sha256": x.actual_sha256,
                           "url": x.file.url,
                           # a missing file: the places looked in and where it would be found
                           "searched": [str(d) for d in x.searched],
                           "put_at": str(x.put_at) if x.put_at else None}
                          for x in st]} for s, st in rows]
        typer.echo(json.dumps(out, indent=2))
        raise typer.Exit(EXIT_OK)
    table = Table(title="halluscope benchmarks")
    # the names (what --benchmark and --judge take) are never cut to '…' nor folded; at 80
    # columns they were ('mmhal-gpt-4-03…'); the metric is said where it is not the benchmark
    for col in ("benchmark", "variants", "judge", "data"):
        table.add_column(col, no_wrap=col != "variants", overflow="fold")
    for s, st in rows:
        status = data_status(st)
        colour = {"found": "green", "missing": "yellow"}.get(status, "red")
        name = f"{s.name}@{s.version}" + (f" (metric {s.metric})" if s.metric != s.name else "")
        table.add_row(name, ", ".join(
            f"[b]{v}[/b]" if v == s.default_variant else v for v in s.variants) or "-",
            s.judge or "-", f"[{colour}]{status}[/{colour}]")
    out_console.print(table)
    for s, st in rows:
        for x in st:
            if x.status != "found":
                # unwrapped: a path or hash broken across lines cannot be copied
                out_console.print(f"{s.name}: {plain(x.message())}", highlight=False,
                                  soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add ``benchmarks`` to ``app``."""
    app.command("benchmarks", cls=PanelledCommand)(benchmarks_command)
