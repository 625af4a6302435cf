"""compare.html: per comparison of :func:`halluscope.comparison.compare`, the metric table
(a statistic with no value shows why), the warnings said beside it, and the items that changed
verdict with their evidence; every text from a run (model answers, paths, notes, keys)
redacted as report.html redacts it (:func:`halluscope.redact.redact_text`: known secrets,
URL credentials, secret query values, auth header values), then escaped."""

from __future__ import annotations

import html
import os
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from halluscope._json import dumps_utf8
from halluscope.redact import known_secrets, redact_strings, redact_text

#: Items that changed verdict shown per kind (worse, better, mixed), each with both runs' lines;
#: the rest are counted, not shown, so that compare.html of two large runs stays small.
MAX_CHANGED_SHOWN = 100
#: Groups shown per statistic in its per-group table (worst change first); the rest are
#: counted, and every one is in compare.json.
MAX_GROUP_ROWS = 500
#: Characters of one run's line of a changed item shown (a million-character answer is cut).
MAX_ITEM_CHARS = 20_000


def _fmt(x: Any, count: bool = False, sign: str = "") -> str:
    """A value of compare.html: a count whole, a statistic to 4 places; ``sign="+"`` for a
    difference (a value of A or B is no difference, and carries no sign)."""
    if x is None:
        return "–"
    if not isinstance(x, (int, float)):
        return html.escape(str(x))
    if count:
        return f"{x:{sign}.0f}"     # a count whole, every digit
    from halluscope.report.decimals import fixed_any, signed   # +0.00003 is no +0.0000
    return signed(x) if sign else fixed_any(x)


def _run_link(run: str, out: Path | None, shown: Callable[[Any], str]) -> str:
    """A run's name, linking its report.html (relative to compare.html in ``out``, as
    report.html links its images) where the run folder has one."""
    report = Path(run) / "report.html"
    if out is None or not report.is_file():
        return shown(run)
    href = urllib.parse.quote(Path(os.path.relpath(report.resolve(), Path(out).resolve()))
                              .as_posix())
    return f"<a href='{html.escape(href)}' title='its report.html'>{shown(run)}</a>"


def render_html(result: Any, out: str | Path | None = None) -> str:
    """compare.html: per comparison, the metric table and the items that changed verdict;
    with ``out`` (the folder compare.html goes to), each run's name links its report.html."""
    secrets = known_secrets()

    def shown(text: Any) -> str:        # redacted, then escaped (as report.html)
        return html.escape(redact_text(str(text), secrets=secrets))

    parts = ["<!doctype html><meta charset='utf-8'><title>halluscope compare</title>",
             "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
             "td,th{border:1px solid #ccc;padding:3px 8px}.better{background:#e6ffe6}"
             ".worse{background:#ffe6e6}.flagged{font-weight:bold}pre{white-space:pre-wrap;max-width:60em}</style>"]
    for number, comp in enumerate(result.comparisons, 1):
        parts.append(f"<h1>{_run_link(comp.b, out, shown)} vs {_run_link(comp.a, out, shown)}"
                     "</h1>")
        partial = comp.partial_note(getattr(result, "allow_unfinished_query", False))
        if partial:     # its numbers are over part of the requests of a query run
            parts.append(f"<p class='worse' id='partial-{number}'><b>Partial:</b> "
                         f"{shown(partial)}</p>")
        parts += [f"<p class='worse'><b>Warning:</b> {shown(note)}</p>"
                  for note in comp.notes()]
        parts += [f"<p class='worse'><b>Left out:</b> {shown(key)}: {shown(why)}</p>"
                  for key, why in comp.left_out.items()]
        parts.append("<table><tr><th>metric</th><th>A</th><th>B</th><th>B − A</th>"
                     "<th>interval</th><th>paired</th><th>only A</th><th>only B</th></tr>")
        parts += [_row(key, e, shown) for key, e in comp.metrics.items()]
        parts.append("</table>")
        parts.extend(_groups_html(comp, shown))
        parts.extend(_changed_html(comp, shown, secrets))
    return "\n".join(parts)


def _row(name: str, e: Any, shown: Callable[[Any], str], cls: str = "",
         why: bool = False) -> str:
    """One row of a metric table: ``name`` (a statistic, or a group), A, B, B − A, its interval
    (or why it has none; ``why``: and why a side has no value), paired, only A, only B;
    ``cls`` its row's class."""
    from halluscope.gates.diff import no_value
    ci = e.get("ci")
    ci_text = (f"[{_fmt(ci[0], sign='+')}, {_fmt(ci[1], sign='+')}]" if ci else
               shown(e.get("ci_note", "–")))
    if why and no_value(e):
        ci_text = shown(no_value(e).removeprefix("; "))
    count = bool(e.get("count"))
    attr = f" class='{cls}'" if cls else ""
    return (f"<tr{attr}><td>{shown(name)}</td><td>{_fmt(e['a'], count)}</td>"
            f"<td>{_fmt(e['b'], count)}</td><td>{_fmt(e['diff'], count, '+')}</td>"
            f"<td>{ci_text}</td><td>{e['n_paired']}</td><td>{e['only_a']}</td>"
            f"<td>{e['only_b']}</td></tr>")


def _groups_html(comp: Any, shown: Callable[[Any], str]) -> list[str]:
    """Per statistic, its groups' rows (``comp.groups``: what ``@GROUP`` diff gates read),
    worst change first, a row that got worse / better coloured so (bold where its interval
    lies wholly on that side of 0), those with no difference last saying why."""
    from halluscope.compare_by_group import flagged, groups_by_statistic, worse_by
    by_stat = groups_by_statistic(comp.groups)
    if not by_stat:
        return []
    parts = ["<h2>By group</h2><p>Each statistic over the paired items in the group in both "
             "runs (an item whose pair is not in it counts in only A / only B), worst change "
             "first; a bold row's interval excludes 0.</p>"]
    for key in [k for k in comp.metrics if k in by_stat] + [k for k in by_stat
                                                             if k not in comp.metrics]:
        rows = by_stat[key]
        parts.append(f"<h3>{shown(key)} by group ({len(rows):,})</h3>")
        parts.append("<table><tr><th>group</th><th>A</th><th>B</th><th>B − A</th>"
                     "<th>interval</th><th>paired</th><th>only A</th><th>only B</th></tr>")
        for group, e in rows[:MAX_GROUP_ROWS]:
            bad = worse_by(e) if e.get("direction") is not False else None
            cls = "" if not bad else "worse" if bad > 0 else "better"
            cls += " flagged" if flagged(e) else ""
            parts.append(_row(group, e, shown, cls.strip(), why=True))
        parts.append("</table>")
        if len(rows) > MAX_GROUP_ROWS:
            parts.append(f"<p>The {MAX_GROUP_ROWS:,} worst of {len(rows):,} groups are shown; "
                         f"{len(rows) - MAX_GROUP_ROWS:,} more are in compare.json.</p>")
    return parts


def _changed_html(comp: Any, shown: Callable[[Any], str], secrets: list[str]) -> list[str]:
    """The items that changed verdict, each once (counted as :meth:`Comparison.item_changes`),
    with every metric verdict that moved and its evidence (``shown``: a text redacted and
    escaped; ``secrets``: the known secrets, looked up once)."""
    parts = []
    kinds = comp.item_changes()
    by_key: dict[str, list] = {}        # each item's changes, in order (one pass, not one a key)
    for c in comp.changed:
        by_key.setdefault(c["key"], []).append(c)
    if kinds:       # what moved, as each metric counts it (a POPE answer is right or wrong)
        parts.append("<p>An item's value is each metric's first directional statistic on it "
                     "(a caption's CHAIR, a POPE answer's accuracy); each change below names "
                     "it, A's value → B's.</p>")
    for change, title in (("worse", "worse in B than in A"),
                          ("better", "better in B than in A"),
                          ("mixed", "better by one metric, worse by another")):
        keys = [k for k, kind in kinds.items() if kind == change]
        if change == "mixed" and not keys:
            continue
        parts.append(f"<h2 class='{change}'>{title} ({len(keys):,})</h2>")
        if len(keys) > MAX_CHANGED_SHOWN:
            parts.append(f"<p>The first {MAX_CHANGED_SHOWN:,} of {len(keys):,} are shown; "
                         f"{len(keys) - MAX_CHANGED_SHOWN:,} more are left out here (every "
                         f"item is in each run's items.jsonl).</p>")
        for key in keys[:MAX_CHANGED_SHOWN]:
            parts.append(f"<div class='{change}'><h3>{shown(key)}</h3>")
            for c in by_key[key]:
                parts.append(f"<h4 class='{c['change']}'>{shown(c['metric'])}."
                             f"{shown(c['statistic'])}: {c['a']:g} → {c['b']:g} "
                             f"({c['change']})</h4>")
                for side in ("item_a", "item_b"):
                    # redacted as report.html's values are, then as written (an answer's ’,
                    # 猫 or 🐶, not \u2019), escaped below; a lone surrogate stays its escape
                    text = dumps_utf8(redact_strings(c[side], secrets=secrets), indent=1,
                                      default=str)
                    more = len(text) - MAX_ITEM_CHARS
                    cut = (f"\n… {more:,} characters more (the whole item is in the run's "
                           f"items.jsonl)" if more > 0 else "")
                    parts.append(f"<b>{side[-1].upper()}</b><pre>"
                                 f"{html.escape(text[:MAX_ITEM_CHARS] + cut)}</pre>")
            parts.append("</div>")
    return parts


__all__ = ["render_html"]
