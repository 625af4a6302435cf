"""``halluscope judges list|show``: the pinned judge specs (``judges/*.toml``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from halluscope.cli.common import EXIT_USAGE, err_console, make_console, plain, print_error
from halluscope.cli.helpformat import PanelledCommand

out_console = make_console()

judges_app = typer.Typer(help="Pinned judge specs (judges/*.toml).", no_args_is_help=True)


def refuse_missing_folders(path: list[Path] | None) -> None:
    """Exit 2 on a ``--path`` that is no folder: a mistyped one listed only the built-in
    specs (exit 0), and ``show`` showed a built-in spec of the name asked for."""
    missing = [p for p in path or [] if not p.is_dir()]
    if missing:
        # a spec file given as --path was "no such folder" too, though it is there
        got = "a file (judges show takes a spec file)" if missing[0].exists() else "nothing there"
        print_error(f"--path {missing[0]}: expected a folder of judge specs, got {got}")
        raise typer.Exit(EXIT_USAGE)


@judges_app.command("list", cls=PanelledCommand)
def judges_list(
    path: Annotated[Optional[list[Path]], typer.Option("--path", metavar="DIR",
                                                       help="Extra folder of "
                                                       "judge specs (repeatable).")] = None,
) -> None:
    """List the judge specs that can be loaded by name; an invalid spec file is named with
    its reason and makes the exit 2 (the valid ones are still listed)."""
    from halluscope.judges.spec import find_specs, load_spec
    from halluscope.errors import HalluscopeError
    refuse_missing_folders(path)
    table = Table(show_header=True)
    table.add_column("name", no_wrap=True)
    table.add_column("provider", overflow="fold")
    table.add_column("model", no_wrap=True)
    table.add_column("revision", overflow="fold")
    problems = []
    for name, file in find_specs(extra=path or ()).items():
        try:
            spec = load_spec(file)
        except HalluscopeError as exc:
            # named by its file (a name that loads nothing is no row): a script sees exit 2
            message = str(exc)
            problems.append(message if message.startswith(str(file)) else f"{file}: {message}")
            continue
        # the name --judge and `judges show` take is the file's; a spec whose `name` says
        # otherwise was listed under a name that loads nothing
        shown = name if spec.name == name else f"{name} (name: {spec.name})"
        table.add_row(plain(shown), spec.provider, spec.model, (spec.revision or "-")[:8])
    out_console.print(table)
    for problem in problems:
        print_error(problem)
    if problems:
        err_console.print(f"{len(problems)} judge spec file(s) are invalid", highlight=False)
        raise typer.Exit(EXIT_USAGE)


@judges_app.command("show", cls=PanelledCommand)
def judges_show(
    name: Annotated[str, typer.Argument(help="Spec name (or path to a spec file).",
                                         metavar="NAME")],
    path: Annotated[Optional[list[Path]], typer.Option(
        "--path", metavar="DIR",
        help="Extra folder of judge specs to look the name up in (repeatable).")] = None,
    template: Annotated[bool, typer.Option("--templates", help="Print the prompt "
                                           "templates too.")] = False,
) -> None:
    """Show one judge spec: pin, decoding, image policy, templates with their hashes."""
    from halluscope.errors import HalluscopeError
    from halluscope.judges.spec import load_spec
    refuse_missing_folders(path)
    try:
        spec = load_spec(name, extra=path or ())
    except HalluscopeError as exc:
        err_console.print(f"[red]error:[/red] {plain(exc)}")
        raise typer.Exit(EXIT_USAGE) from None
    out_console.print_json(json.dumps(spec.describe()))
    if template:
        for use, prompt in spec.prompts.items():
            out_console.rule(f"{use}: {prompt.template}")
            out_console.print(prompt.text, markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    """Add the ``judges`` group to ``app``."""
    app.add_typer(judges_app, name="judges")
