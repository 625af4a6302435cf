"""``halluscope compare RUN_A RUN_B [RUN_C ...] --out DIR``: paired differences between audits.

Registered on the main app by :func:`register` (``halluscope.cli`` calls it).
Exit codes as every halluscope command: 0 fine, 1 a diff gate crossed, 2 usage or input error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

from halluscope.cli.common import (EXIT_GATE, EXIT_OK, EXIT_USAGE, err_console, make_console,
                                   exit_usage, plain, print_error)
from halluscope.errors import HalluscopeError
from halluscope.cli.helpformat import PanelledCommand
from halluscope.cli.options import at_least

__all__ = ["EXIT_GATE", "EXIT_OK", "EXIT_USAGE", "compare_command", "register"]


def _gates(values: list[str] | None, flag: str) -> list[tuple[str, float]]:
    """The gates of one flag, each kept (two thresholds on one difference are two gates); a
    gate that is none, or whose threshold is no finite number, is said naming it (exit 2)."""
    from halluscope.gates.diff import parse_diff_gate
    try:
        return [parse_diff_gate(raw, flag) for raw in values or ()]
    except HalluscopeError as exc:
        print_error(str(exc))
        raise typer.Exit(EXIT_USAGE) from None


_FLAGS = ("--fail-above", "--fail-below")


def _gate_step(step, result, above, below, after: str = ""):
    """``step(result, above, below)``, a usage error of a gate (whose message names the gate as
    written) said as one (exit 2), followed by ``after``."""
    try:
        return step(result, above, below, flags=_FLAGS)
    except (KeyError, HalluscopeError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) else exc
        print_error(f"{message}{after}")
        raise typer.Exit(EXIT_USAGE) from None


#: Groups whose change the console shows per comparison (worst first); every one is in
#: compare.json and compare.html.
MAX_GROUPS_SHOWN = 10
_COLUMNS = ("A", "B", "B − A", "interval", "paired", "only A", "only B")


def _new_table(title: str, names: tuple[str, ...]) -> Table:
    table = Table(title=title, title_justify="left")
    for col in names + _COLUMNS:
        # a number is never folded or cut to '…'; a name may fold
        table.add_column(col, justify="left" if col in names else "right",
                         overflow="fold", no_wrap=col not in names)
    return table


def _cells(e) -> list[str]:
    """A, B, B − A, interval, paired, only A, only B of one entry, every digit."""
    from halluscope.metrics.stats import ci_note_label
    from halluscope.report.decimals import fixed_any, signed   # +0.00003 is no +0.0000

    count = bool(e.get("count"))

    def num(x):
        return "–" if x is None else (f"{x:.0f}" if count else fixed_any(x))

    if count:
        ci = "(count)"
        diff = "–" if e["diff"] is None else f"{e['diff']:+.0f}"
    else:
        ci = (f"[{signed(e['ci'][0])}, {signed(e['ci'][1])}]" if e.get("ci")
              else (ci_note_label(e.get("ci_note"), e.get("ci_reason")) or "–"))
        diff = "–" if e["diff"] is None else signed(e["diff"])
    return [num(e["a"]), num(e["b"]), diff, ci, str(e["n_paired"]), str(e["only_a"]),
            str(e["only_b"])]


def _table(comp) -> Table:
    table = _new_table(f"B = {plain(comp.b)}  vs  A = {plain(comp.a)}", ("metric",))
    for key, e in comp.metrics.items():
        table.add_row(plain(key), *_cells(e))
    counts = comp.change_counts()           # each item once, however many metrics scored it
    mixed = (f", {counts['mixed']} better by one metric and worse by another"
             if counts["mixed"] else "")
    table.caption = (f"items that changed verdict: {counts['better']} better, "
                     f"{counts['worse']} worse in B{mixed}")
    return table


def _group_table(comp) -> Table | None:
    """The groups whose change got worse or is flagged (its interval excludes 0), worst
    first, at most :data:`MAX_GROUPS_SHOWN`; None where a comparison has no groups."""
    from halluscope.compare_by_group import flagged, worst_group_changes
    if not comp.groups:
        return None
    from halluscope.redact import redact_text
    rows, rest, missing = worst_group_changes(comp.groups, MAX_GROUPS_SHOWN, comp.metrics)
    table = _new_table("by group, worst change first (* interval excludes 0)",
                       ("group", "statistic"))
    for group, key, e in rows:
        mark = "*" if flagged(e) else ""
        table.add_row(plain(redact_text(group)), plain(key) + mark, *_cells(e))
    none = (f"; {missing:,} {'has' if missing == 1 else 'have'} no difference (see "
            f"compare.html)" if missing else "")
    differences = f"group difference{'' if rest == 1 else 's'} in compare.json and compare.html"
    table.caption = (f"{rest:,} more {differences}{none}" if rest
                     else "every group difference is shown")
    if not rows:
        table.caption = (f"by group: none got worse in B beyond the table above ({rest:,} "
                         f"{differences}{none})")
    return table


def _print_table(console: Console, table: Table) -> None:
    """The table, or where the terminal is too narrow for it, one line per row, so that no
    number is cut short."""
    natural = Measurement.get(console, console.options.update_width(10_000), table).maximum
    if natural <= console.width:
        console.print(table)
        return
    console.print(table.title, highlight=False)
    headers = [c.header for c in table.columns]
    names = sum(1 for c in table.columns if not c.no_wrap)      # the name columns
    cells = [list(c.cells) for c in table.columns]
    for row in zip(*cells):
        console.print(" ".join(row[:names]) + ": " + ", ".join(
            f"{h} {c}" for h, c in zip(headers[names:], row[names:])), highlight=False)
    console.print(table.caption, highlight=False)


def _print_comparison(console: Console, comp) -> None:
    """The metric table, then the groups that got worse."""
    _print_table(console, _table(comp))
    groups = _group_table(comp)
    if groups is not None and groups.row_count:
        _print_table(console, groups)
    elif groups is not None:        # one line, not an empty table
        console.print(groups.caption, highlight=False)


def compare_command(
    runs: Annotated[list[Path], typer.Argument(
        help="Audit output folders (holding items.jsonl); every run is compared with the first.",
        show_default=False, metavar="RUNS")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for compare.json and "
                                                          "compare.html.",
                                      metavar="DIR", rich_help_panel="Output")
    ] = Path("compare-out"),
    bootstrap: Annotated[int, typer.Option(
        min=0, parser=at_least(0), help="Paired-bootstrap replicates.", metavar="N",
        rich_help_panel="Statistics")] = 1000,
    confidence: Annotated[float, typer.Option(
        help="Confidence level.", metavar="LEVEL", rich_help_panel="Statistics")] = 0.95,
    seed: Annotated[int, typer.Option(
        help="Random seed of the bootstrap weights.", metavar="N",
        rich_help_panel="Statistics")] = 0,
    fail_above: Annotated[Optional[list[str]], typer.Option(
        help="Gate diff.METRIC.STAT\\[@GROUP]\\[@upper|@lower]=VALUE: exit 1 when above "
             "(repeatable), e.g. diff.chair.chair_i@upper=0 for 'no worse than the baseline "
             "run'; @split:val gates one group's difference, @split:* each group of a field.",
        metavar="GATE", rich_help_panel="Gates")] = None,
    fail_below: Annotated[Optional[list[str]], typer.Option(
        help="Gate diff.METRIC.STAT\\[@GROUP]\\[@upper|@lower]=VALUE: exit 1 when below "
             "(repeatable).",
        metavar="GATE", rich_help_panel="Gates")
    ] = None,
    allow_unfinished_query: Annotated[bool, typer.Option(
        "--allow-unfinished-query", help="Judge the diff gates where a run's input was written "
        "by a `halluscope query` run that did not finish (its results.json says partial), over "
        "the answers it holds; without it such a gate fails as not decided. Recorded in "
        "compare.json.", rich_help_panel="Gates")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No table.",
                                         rich_help_panel="Output")] = False,
    metric_file: Annotated[Optional[list[str]], typer.Option(
        help="A metric the runs used that is not installed, loaded first: module:Class or "
             "path/to/file.py:Class (repeatable). compare never runs a Python file because a "
             "run folder names it.", metavar="SPEC",
        rich_help_panel="Metrics")] = None,
) -> None:
    """Compare audits item by item: per metric A, B, B − A with a paired-bootstrap interval."""
    from halluscope.comparison import compare, diff_gate_failures
    from halluscope.gates.diff import check_diff_gates
    from halluscope.redact import redact_text

    above = _gates(fail_above, "--fail-above")
    below = _gates(fail_below, "--fail-below")
    if not 0 < confidence < 1:
        raise typer.BadParameter(f"expected a confidence level between 0 and 1 (e.g. 0.95), "
                                 f"got {confidence}", param_hint="--confidence")
    if out.exists() and not out.is_dir():     # said before the runs are read, not as errno 17
        raise typer.BadParameter(f"expected a folder for compare.json and compare.html, got "
                                 f"a file: {out}", param_hint="--out")
    try:
        result = compare(runs, out=None, n_boot=bootstrap, seed=seed, confidence=confidence,
                         metric_files=metric_file or (),
                         allow_unfinished_query=allow_unfinished_query)
        # the gates as written are checked before anything is written (as an audit checks
        # its gates before scoring): a misspelt gate, or one refused because the runs were
        # scored with other settings, is exit 2 with no compare.json or compare.html
        _gate_step(check_diff_gates, result, above, below,
                   f" (nothing was written to {out})")
        result.save(out)
    except (HalluscopeError, OSError) as exc:
        exit_usage(exc)         # (an OSError not the user's to mend: a crash, exit 3)
    if not quiet:
        console = make_console()
        for comp in result.comparisons:
            _print_comparison(console, comp)
            partial = comp.partial_note(result.allow_unfinished_query)
            if partial:         # beside the table: its numbers are over part of a benchmark
                console.print(f"[bold red]PARTIAL:[/] {plain(partial)}", highlight=False)
            for note in comp.notes():       # beside the table, not only in the log
                console.print(f"[bold yellow]warning:[/] {plain(redact_text(note))}",
                              highlight=False)
        console.print(f"wrote {plain(out / 'compare.json')}, {plain(out / 'compare.html')}")
    failures = _gate_step(diff_gate_failures, result, above, below)
    for failure in failures:
        err_console.print(f"[bold red]gate failed:[/] {plain(failure)}", highlight=False)
    if failures:
        raise typer.Exit(EXIT_GATE)


def register(app: typer.Typer) -> None:
    """Add ``compare`` to ``app``."""
    app.command("compare", cls=PanelledCommand)(compare_command)
