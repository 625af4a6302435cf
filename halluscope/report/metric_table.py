"""The console's metrics table: each metric's statistics with value, interval and n, as
:func:`halluscope.report.console.render_summary` prints it (and the cell formats the console's
other tables share).

A metric's and a statistic's name is what a gate names (``hallusionbench.
consistency_inconsistent``): where the table fits the console with them whole, no name is
wrapped and the interval column gives way first (at 80 columns HallusionBench's
``consistency_inconsistent`` was split across two lines); narrower, the statistic column folds
within the width the others leave it (at 60 columns names were cut to ``hallucination…``, and the
metric to ``hallusionb…``, before). Where even that leaves the statistic under
:data:`MIN_STATISTIC` columns (about 50 columns and less), the table is stacked: each statistic
on a line with its value and n, its interval on a line of its own (the columns cut values and
counts and dropped the interval there, without a word)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from rich import box
from rich.console import Group
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from halluscope.report.visible import visible_controls

if TYPE_CHECKING:
    from halluscope.result import AuditResult


def _plain(value: Any) -> Text:
    """Text from the data as a cell or line: no markup read, control characters shown."""
    return Text(visible_controls(str(value)))


def _num(value: Any) -> str:
    if value is None or isinstance(value, bool):
        return "—" if value is None else str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        from halluscope.report.decimals import fixed
        return fixed(value) if math.isfinite(value) else "—"   # 0.99997 is not 1.0000
    return str(value)


def _ci(ci: Any) -> str:
    if not ci or len(ci) != 2 or any(v is None for v in ci):
        return ""
    return f"[{_num(float(ci[0]))}, {_num(float(ci[1]))}]"


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _why(res: Any) -> str:
    """Why a statistic has no value, where its metric says (results.json's why_no_value): a
    missing value reads as missing with its reason, not as a bare dash."""
    why = getattr(res, "why_no_value", None)
    return f"no value: {why}" if why and not _finite(res.value) else ""


def _no_units(res: Any) -> str:
    """A rate over no units (AMBER's starting counters) says it is no measurement, as gates
    and compare take it; 'too few units' read as a small sample's value."""
    from halluscope.gates.assertions import over_no_units
    return "over no units: not a measurement" if over_no_units(res.n, res.value) else ""


def _metric_rows(result: AuditResult) -> list[list[Any] | None]:
    """The metrics table's rows (metric, statistic, value, interval, n); ``None`` ends a
    metric's section."""
    from halluscope.metrics.stats import result_ci_label
    # a metric that scored nothing has its reasons printed once, below the table
    unscored = getattr(result, "unscored", None) or {}
    # --bootstrap 0: a blank interval column says why, as the report's does
    off = ("off (--bootstrap 0)" if getattr(getattr(result, "config", None), "n_boot", None) == 0
           else "")
    rows: list[list[Any] | None] = []
    for name, summary in result.metrics.items():
        first = True
        for stat, res in summary.results.items():
            arrow = (" ↑" if res.higher_is_better else " ↓") if getattr(
                res, "direction", True) else ""
            label = f"{stat}{arrow}"
            if stat == "yes_ratio" and _finite(res.value):
                from halluscope.report.decimals import fixed    # 0.5004 is not off by 0.000
                label += f" (0.5 ideal: off by {fixed(abs(res.value - 0.5), 3)})"
            # a metric that scored nothing says so on every row: "too few units" (or a blank)
            # read as a small sample, not as a failed run
            rows.append([_plain(name if first else ""), _plain(label), _num(res.value),
                         _ci(res.ci) or ("scored nothing (below)" if name in unscored
                                         else _why(res) or _no_units(res)
                                         or result_ci_label(res)
                                         or (off if isinstance(res.value, float) else "")),
                         _num(res.n)])
            first = False
        if summary.results:
            rows.append(None)
    return rows


def _widths(header: list[str], rows: list[list[Any] | None]) -> list[int]:
    """Each column's width with its cells on one line, but the interval's (prose where there
    is none: "scored nothing (below)"), whose longest word is the least it can take."""
    from rich.cells import cell_len
    out = []
    for i, name in enumerate(header):
        texts = [name] + [str(r[i]) for r in rows if r is not None]
        out.append(max(cell_len(t) if i != 3 else max(map(cell_len, t.split() or [""]))
                       for t in texts))
    return out


MIN_STATISTIC = 8
"""The narrowest the statistic column folds to; a console with less room stacks the table."""


def statistic_width(header: list[str], rows: list[list[Any] | None],
                    width: int | None) -> int | None:
    """``None`` where every name and number fits ``width`` columns on one line (``None``
    width: any); else the width left to the statistic column, which folds (a table never
    wider than the console); ``0`` where even :data:`MIN_STATISTIC` is not left."""
    if width is None:
        return None
    widths = _widths(header, rows)
    left = width - (3 * len(header) - 1) - (sum(widths) - widths[1])  # spaces, padding
    if widths[1] <= left:
        return None
    return left if left >= MIN_STATISTIC else 0


def stacked_metrics(header: list[str], rows: list[list[Any] | None]) -> Group:
    """The table's cells as lines, for a console too narrow for its columns: a metric's
    name, then per statistic its value and n, and on a line of its own its interval (or why
    there is none). The table there cut the values and counts to ``0.6…`` and ``1,1…`` and
    left the interval column out, numbers lost without a word; lines wrap, nothing is cut."""
    lines: list[Any] = [Text("Metrics", style="bold")]
    for row in rows:
        if row is None:
            continue
        name, stat, value, ci, n = row
        if name.plain:
            lines.append(Text.assemble(name, style="bold"))
        line = Text.assemble("  ", stat, " ", (str(value), "cyan"))
        if n:
            line.append(f"  n={n}", style="dim")       # one word: never "n" / "1,123"
        lines.append(line)
        if ci:         # an interval, or why there is none; why the value is missing as it is
            about = "" if str(ci).startswith(_NOT_ABOUT_INTERVAL) else f"{header[3]}: "
            lines.append(Padding(Text(f"{about}{ci}", style="dim"), (0, 0, 0, 4)))
    return Group(*lines, Text(""))


#: How the interval cell starts where it says why the value itself is missing.
_NOT_ABOUT_INTERVAL = ("no value:", "scored nothing", "over no units")


def metrics_table(result: AuditResult, width: int | None = None) -> Table | Group:
    """Every top-level result: metric, statistic, value, interval (at the run's level), n,
    for a console ``width`` columns wide (module docstring); stacked as lines
    (:func:`stacked_metrics`) where the columns cannot fit it."""
    from halluscope.report.plots import interval_level
    header = ["metric", "statistic", "value", f"{interval_level(result)} CI", "n"]
    rows = _metric_rows(result)
    folded = statistic_width(header, rows, width)
    if folded == 0:
        return stacked_metrics(header, rows)
    table = Table(title="Metrics", box=box.SIMPLE_HEAVY, title_justify="left",
                  title_style="bold", pad_edge=False)
    table.add_column(header[0], style="bold", no_wrap=True)
    # a statistic's name is what a gate names (claims.hallucination_rate@upper): kept whole,
    # or folded where the console is too narrow for it, never cut to "hallucination…"
    table.add_column(header[1], no_wrap=folded is None, overflow="fold", width=folded)
    table.add_column(header[2], justify="right", style="cyan", no_wrap=True)
    table.add_column(header[3], justify="right", style="dim")
    table.add_column(header[4], justify="right", style="dim", no_wrap=True)
    for row in rows:
        if row is None:
            table.add_section()
        else:
            table.add_row(*row)
    return table
