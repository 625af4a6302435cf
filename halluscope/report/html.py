"""The HTML report: one self-contained file (inline CSS and JS, images as data URIs).

:func:`write_report` renders an :class:`~halluscope.result.AuditResult` with the Jinja templates
in ``templates/`` (autoescaping on: every prompt, response, word, reason and id from the data is
escaped, in text, in attributes and in JSON inside ``<script>`` tags). The report holds:

* a header: input files with their hashes, the metrics that ran with their variants (from the
  run sheet), counts (answers cut at the token limit or withheld by a filter among them) and
  wall time;
* a summary table of every metric result with its confidence interval;
* per-group tables (POPE per split and per object, ...), sortable;
* the bad records (``file:line``, field, message);
* plots (:mod:`halluscope.report.plots`);
* a filterable list of items (all / with hallucinations / errors): the image (downscaled, with
  evidence boxes drawn when :mod:`halluscope.report.overlays` is available; its name links the
  original by a path relative to the report), the prompt, the
  response with CHAIR mentions and claim verdicts highlighted, claim details, POPE outcomes,
  and (:mod:`halluscope.report.citations`) the regions a response cites (offered regions,
  cited boxes by verdict, the instances they matched, fabricated ids) and its page citations
  (each cited page rendered with the quote highlighted where it was found; pages that do not
  exist shown as fabricated).

Items are streamed from ``items.jsonl``: the first ``max_items`` are shown, then only items with
hallucinations or errors (at most ``max_flagged`` more); the report says how many were left out.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from halluscope.atomicfiles import write_text_atomically
from halluscope.redact import cut_text, redact_text
from halluscope.report.decimals import fixed
from halluscope.report.itemview import ImageStore, has_hallucination, item_view

if TYPE_CHECKING:
    from halluscope.result import AuditResult

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).with_name("templates")
MAX_ERROR_ROWS = 1000
#: Rows of one group table (``--by id`` on 50,000 answers made a 45 MB report); the table says
#: how many groups it leaves out, and results.json holds them all.
MAX_GROUP_ROWS = 500


#: What a rate computed over no units reads as beside its value (gates and compare take it for
#: no value; trackers are not sent it).
NO_UNITS = ("over no units: a starting value, not a measurement (gates and compare take it "
            "for no value)")


# -- formatting (also used as Jinja filters) --------------------------------------------------
def fmt_value(value: Any, digits: int = 4) -> str:
    """A number for a table: ``—`` for missing or NaN, thousands separators for integers."""
    if value is None or isinstance(value, bool):
        return "—" if value is None else str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if not math.isfinite(value):
            return "—"
        if value.is_integer() and abs(value) >= 1000:
            return f"{int(value):,}"
        return fixed(value, digits)     # 1 in 30,000 is not 0.0000, 0.99997 not 1.0000
    return str(value)


def fmt_ci(ci: Any, digits: int = 4) -> str:
    if not ci or len(ci) != 2 or any(v is None for v in ci):
        return ""
    return f"[{fmt_value(float(ci[0]), digits)}, {fmt_value(float(ci[1]), digits)}]"


def _sort_key(value: Any) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return repr(float(value))
    return ""


def _unit(value: Any) -> bool:
    return (isinstance(value, float) and math.isfinite(value) and 0.0 <= value <= 1.0)


def _redacted(value: Any) -> Any:
    """Every text the report shows, redacted before it is escaped (Jinja's ``finalize``).
    Redacting the escaped page instead wrote the marker ``<redacted>`` as a raw tag, read
    ``&amp;b=2`` of a URL's query as a parameter ``amp;b`` (shown as ``&amp%3Bb=2``), and
    took an entity's ``;`` for a query string's (``<b>key=5</b>`` lost its 5)."""
    return redact_text(value) if type(value) is str and value else value


@lru_cache(maxsize=1)
def environment():
    """The Jinja environment of the report templates (autoescaping on for everything; every
    value redacted: :func:`_redacted`)."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                      finalize=_redacted)
    env.filters["num"] = fmt_value
    env.filters["ci"] = fmt_ci
    from halluscope.report.itemview import HIGHLIGHTS, SHOWN_CHARS
    env.globals["shown_chars"] = SHOWN_CHARS
    env.globals["highlights"] = HIGHLIGHTS
    return env


# -- context ----------------------------------------------------------------------------------
def _cell(res: Any) -> dict[str, Any]:
    value = res.value
    count = not isinstance(value, float)
    from halluscope.gates.assertions import over_no_units
    from halluscope.metrics.stats import result_ci_label
    note = getattr(res, "ci_note", None) or ""
    cell = {"value": fmt_value(value), "ci": fmt_ci(res.ci), "n": fmt_value(res.n),
            "ci_note": note, "ci_label": result_ci_label(res),
            "sort": _sort_key(value), "count": count, "bar": None,
            "better": (("higher" if res.higher_is_better else "lower")
                       if getattr(res, "direction", True) else None),
            # how far from 0.5: never "off by 0.000" for 0.5004 (report/decimals.py)
            "gap": (fixed(abs(value - 0.5), 3) if isinstance(value, float)
                    and math.isfinite(value) else None),
            # a missing value reads as missing with its reason (results.json's why_no_value)
            "why": (str(getattr(res, "why_no_value", None) or "")
                    if value is None or (isinstance(value, float) and not math.isfinite(value))
                    else ""),
            # a rate over no units (AMBER's starting counters): shown, but no measurement
            "no_units": NO_UNITS if over_no_units(res.n, value) else ""}
    if not count and _unit(value):
        cell["bar"] = {"value": round(100 * value, 2)}
        if res.ci and all(_unit(float(v)) for v in res.ci if v is not None) and None not in res.ci:
            cell["bar"]["lo"] = round(100 * float(res.ci[0]), 2)
            cell["bar"]["hi"] = round(100 * float(res.ci[1]), 2)
    return cell


def statistic_meanings(metric: str) -> dict[str, str]:
    """What each statistic of the metric named ``metric`` is, in words (its class's
    ``meanings``): a registered metric's, else that of a metric class this process loaded
    (``--metric file.py:Class``); none for a metric that declares none. Nothing is imported
    that the audit did not import (a file named by a run folder is never run for a report)."""
    from halluscope.errors import UnknownNameError
    from halluscope.metrics.base import Metric, metric_class
    cls: Any = None
    if ":" not in metric:
        try:
            cls = metric_class(metric)
        except (UnknownNameError, ImportError):
            seen, todo = set(), list(Metric.__subclasses__())
            while todo and cls is None:
                sub = todo.pop()
                if sub not in seen:
                    seen.add(sub)
                    todo += sub.__subclasses__()
                    cls = sub if getattr(sub, "name", None) == metric else None
    return {str(k): str(v) for k, v in (getattr(cls, "meanings", None) or {}).items()}


def summary_rows(result: AuditResult) -> list[dict[str, Any]]:
    """One block per metric: its name, n and a row per statistic (with what it means)."""
    blocks = []
    for name, summary in result.metrics.items():
        meanings = statistic_meanings(name)
        rows = [{"stat": stat, "meaning": meanings.get(stat, ""), **_cell(res)}
                for stat, res in summary.results.items()]
        blocks.append({"metric": name, "n": fmt_value(summary.n), "rows": rows})
    return blocks


def group_tables(result: AuditResult, max_rows: int | None = None) -> list[dict[str, Any]]:
    """Per metric and per dimension (``split``, ``object``, ...) a table of group results: the
    first ``max_rows`` groups in the console's order (worst headline value first, groups too
    small for an interval after the others: in results.json's order, by name, ``--by
    question_id``'s one-answer groups cut out those with an interval), how many more there
    are (``left_out``) and how many are too small for an interval (``small``)."""
    from halluscope.report.console import ranked_groups, too_small_groups
    from halluscope.report.group_choice import asked_fields
    asked = asked_fields(getattr(result, "config", None))
    tables, max_rows = [], MAX_GROUP_ROWS if max_rows is None else max_rows
    for name, summary in result.metrics.items():
        head, too_small = too_small_groups(summary)
        shown = ranked_groups(summary, asked)   # a group repeating the overall numbers: out
        kept = set(shown)
        by_dim: dict[str, list[tuple[str, dict]]] = {}
        for group in summary.groups:            # the dimensions in results.json's order
            if group in kept:
                by_dim.setdefault(_dimension(group)[0], [])
        for group in shown:
            dim, value = _dimension(group)
            by_dim[dim].append((value, summary.groups[group]))
        for dim, every in by_dim.items():
            groups = every[:max_rows]
            columns: list[str] = []
            for _, results in groups:
                columns += [s for s in results if s not in columns]
            from halluscope.metrics.stats import shared_n
            rows, own_n = [], False     # each value its own n where the statistics' differ
            for value, results in groups:
                n = shared_n(results, columns)
                own_n = own_n or n is None
                rows.append({"group": value, "n": fmt_value(n), "n_sort": _sort_key(n),
                             "cells": [_cell(results[c]) if c in results else None
                                       for c in columns]})
            tables.append({"metric": name, "dimension": dim, "columns": columns, "rows": rows,
                           "own_n": own_n, "total": len(every),
                           "left_out": len(every) - len(groups), "head": head,
                           "small": sum(1 for g in kept
                                        if g in too_small and _dimension(g)[0] == dim)})
    return tables


def _dimension(group: str) -> tuple[str, str]:
    """A group's dimension and value: ``object:dog`` is ``("object", "dog")``; a name with no
    ``:`` is a value of ``group``."""
    dim, sep, value = group.partition(":")
    return (dim, value) if sep else ("group", group)


def _short(value: Any, limit: int = 120) -> str:
    if isinstance(value, Mapping):
        text = ", ".join(f"{k}={_short(v, 40)}" for k, v in value.items())
    elif isinstance(value, (list, tuple)):
        text = ", ".join(_short(v, 40) for v in value)
    else:
        text = fmt_value(value) if isinstance(value, float) else str(value)
    return cut_text(text, limit, "…")


def _size(n: Any) -> str:
    """A file's size in bytes as the run sheet records it; 0 is a size (an empty file), only
    a missing or damaged one is blank."""
    return fmt_value(n) if isinstance(n, int) and not isinstance(n, bool) and n >= 0 else ""


def header(result: AuditResult) -> dict[str, Any]:
    sheet = result.runsheet or {}
    files = []
    for entry in sheet.get("files") or []:
        if not isinstance(entry, Mapping):
            continue
        sha = str(entry.get("sha256") or "")
        files.append({"role": str(entry.get("role") or ""), "path": str(entry.get("path") or ""),
                      "sha": sha[:12], "sha_full": sha,
                      "size": _size(entry.get("bytes")),
                      "missing": bool(entry.get("missing"))})
    info = sheet.get("metrics") or {}
    metrics = []
    for name in result.metrics:
        details = info.get(name) if isinstance(info, Mapping) else None
        pairs = ([(str(k), _short(v, 60), _short(v, 2000)) for k, v in details.items()
                  if v is not None and v != "" and v != [] and v != {}]
                 if isinstance(details, Mapping) else [])
        metrics.append({"name": name, "info": pairs})
    env = sheet.get("environment") or {}
    command = sheet.get("command")
    wall = sheet.get("wall_time_s")
    started = str(sheet.get("started") or "")
    try:
        started = datetime.fromisoformat(started).strftime("%Y-%m-%d %H:%M:%S %Z").strip()
    except ValueError:
        pass
    return {
        "files": files, "metrics": metrics, "started": started,
        "wall": f"{wall:.2f} s" if isinstance(wall, (int, float)) else "",
        "version": str(env.get("halluscope") or ""), "python": str(env.get("python") or ""),
        "command": " ".join(map(str, command)) if isinstance(command, list) else "",
        "run_id": str(getattr(result, "run_id", "") or sheet.get("run_id") or ""),
    }


def empty_answers(result: AuditResult) -> list[dict[str, Any]]:
    """Empty model answers each metric scored by its own rule (the run sheet's
    ``counts.empty_answers_scored``), with that rule: POPE's original parser reads ``""`` as
    yes, a number the model did not give; the report said nothing of it (only a log line)."""
    from halluscope.metrics.base import declared
    counts = (getattr(result, "runsheet", None) or {}).get("counts") or {}
    scored = counts.get("scored") or {}
    out = []
    for name, n in sorted((counts.get("empty_answers_scored") or {}).items()):
        if isinstance(n, int) and n > 0:
            rule = getattr(declared(name), "empty_answer", "") or ""
            out.append({"metric": str(name), "n": n, "scored": scored.get(name),
                        "rule": str(rule) or "its own (see `halluscope metrics`)"})
    return out


def error_rows(result: AuditResult, limit: int = MAX_ERROR_ROWS) -> list[dict[str, str]]:
    from halluscope.report.console import error_where
    rows = []
    for err in result.errors[:limit]:
        rows.append({"where": error_where(err), "field": str(err.get("field") or ""),
                     "metric": str(err.get("metric") or ""),
                     "message": str(err.get("message") or "")})
    return rows


_ONLY = {None: "items", "halluc": "items with hallucinations", "error": "items with errors"}


def select_items(result: AuditResult, max_items: int, max_flagged: int,
                 images: ImageStore, only: str | None = None) -> dict[str, Any]:
    """Stream ``result.items``: the first ``max_items``, then flagged items up to a cap.

    With ``only="halluc"`` or ``only="error"`` just the first ``max_items`` such items.
    """
    if only not in _ONLY:
        raise ValueError(f"expected only=None, 'halluc' or 'error', got {only!r}")
    names = list(result.metrics)
    views, extra = [], 0
    total = matching = halluc_total = errors_total = left_out = left_out_flagged = 0
    for index, item in enumerate(result.items):
        total += 1
        halluc = has_hallucination(item)
        error = bool(item.get("error"))
        flagged = halluc or error
        halluc_total += halluc
        errors_total += error
        if (only == "halluc" and not halluc) or (only == "error" and not error):
            continue
        matching += 1
        if len(views) - extra < max_items:
            views.append(item_view(item, index, names, images))
        elif flagged and extra < max_flagged and only is None:
            views.append(item_view(item, index, names, images))
            extra += 1
        else:
            left_out += 1
            left_out_flagged += flagged
    shown = len(views)
    note = ""
    if only is not None:
        note = f"Showing {shown:,} of {matching:,} {_ONLY[only]} ({total:,} items in all)."
    elif left_out:
        note = (f"Showing {shown:,} of {total:,} items: the first {max_items:,}, then only "
                f"items with hallucinations or errors. {left_out:,} "
                f"item{'' if left_out == 1 else 's'} left out")
        if left_out_flagged:
            note += f", {left_out_flagged:,} of them with hallucinations or errors"
        note += "; every item is in items.jsonl."
    return {
        "views": views, "total": total, "shown": shown,
        "halluc_total": halluc_total, "errors_total": errors_total,
        "left_out": left_out, "left_out_flagged": left_out_flagged,
        "shown_halluc": sum(1 for v in views if v["n_halluc"]),
        "shown_errors": sum(1 for v in views if v["error"]),
        "max_items": max_items, "note": note,
        "legend": {"claims": any(v["claims"] for v in views),
                   # the title of the first metric shown in each special view, if any
                   "mentions": next((v["mentions"]["title"] for v in views if v["mentions"]), ""),
                   "yes_no": next((v["yes_no"]["title"] for v in views if v["yes_no"]), "")},
    }


def build_context(result: AuditResult, *, max_items: int = 500,
                  max_flagged: int | None = None, link_base: Path | None = None
                  ) -> dict[str, Any]:
    """Everything the report template shows, as plain data (``link_base``: the report's folder,
    which items link their original images from)."""
    from halluscope.report.console import finish_facts
    from halluscope.report.plots import all_plots, interval_level
    images = ImageStore(link_base=link_base)
    try:
        items = select_items(result, max_items,
                             max_items if max_flagged is None else max_flagged, images)
    finally:
        images.close()
    if images.skipped:
        log.warning("report: %d image(s) left out to keep the file under %d MB",
                    images.skipped, images.budget // 1_000_000)
    plots = [{"key": p.key, "title": p.title, "caption": p.caption, "uri": p.data_uri}
             for p in all_plots(result, fmt="svg")]  # no matplotlib
    return {
        "title": "halluscope report",
        "header": header(result),
        "summary": summary_rows(result),
        "level": interval_level(result),      # of the intervals: --confidence, not always 95%
        # --bootstrap 0: an interval column left blank says why
        "no_intervals": getattr(result.config, "n_boot", None) == 0,
        "groups": group_tables(result),
        "errors": error_rows(result),
        "n_errors": len(result.errors),
        # answers cut at the token limit, withheld by a filter, of an unknown finish reason
        "finish": [{"n": n, "what": what, "how": how} for n, what, how in finish_facts(result)],
        # empty model answers a metric scored by its rule for one (POPE's original: yes)
        "empty": empty_answers(result),
        # a metric asked for that scored nothing fails the run: the report says so and why
        "unscored": {name: list(reasons) for name, reasons in result.unscored.items()},
        # inputs from a query run that did not finish: the numbers are over part of them
        "unfinished": list(getattr(result, "unfinished_inputs", None) or []),
        "unfinished_allowed": bool(getattr(result.config, "allow_unfinished_query", False)),
        "plots": plots,
        "items": items,
        "images": images.uris,
        "images_skipped": images.skipped,
    }


def render_report(result: AuditResult, *, max_items: int = 500,
                  max_flagged: int | None = None, link_base: Path | None = None) -> str:
    """The report as an HTML string (``link_base``: see :func:`build_context`)."""
    context = build_context(result, max_items=max_items, max_flagged=max_flagged,
                            link_base=link_base)
    return environment().get_template("report.html").render(**context)


def write_report(result: AuditResult, path: Path, max_items: int = 500, *,
                 max_flagged: int | None = None) -> None:
    """Write the self-contained HTML report of ``result`` to ``path``.

    Args:
        result: The audit.
        path: Output file (``report.html``).
        max_items: Items shown in full order; after these only items with hallucinations or
            errors are added.
        max_flagged: At most this many such extra items (default: ``max_items``).
    """
    path = Path(path)
    from halluscope.report.visible import visible_controls
    # every value is redacted as it is rendered (_redacted), the page as a whole is not
    text = visible_controls(render_report(result, max_items=max_items,
                                          max_flagged=max_flagged, link_base=path.parent))
    write_text_atomically(path, text)
    log.info("wrote report %s (%.1f MB)", path, len(text.encode("utf-8")) / 1e6)


class ItemsView:
    """Items of an audit as a notebook-ready view: the report's item list (images, highlighted
    responses, claim tables, filters) in a sandboxed ``<iframe>`` so that its styles never leak
    into the notebook. ``str(view)`` is the standalone HTML document."""

    def __init__(self, html: str, height: int = 720):
        self.html = html
        self.height = height

    def __str__(self) -> str:
        return self.html

    def _repr_html_(self) -> str:
        from html import escape
        return (f'<iframe srcdoc="{escape(self.html, quote=True)}" '
                f'style="width: 100%; height: {int(self.height)}px; border: 1px solid #e5e7eb; '
                f'border-radius: 8px;" sandbox="allow-scripts"></iframe>')


def show_items(result: AuditResult, *, only: str | None = None, limit: int = 20,
               height: int = 720) -> ItemsView:
    """The first ``limit`` items (``only="halluc"``: with hallucinations; ``only="error"``: with
    errors) as an :class:`ItemsView` for notebooks."""
    images = ImageStore()
    try:
        items = select_items(result, limit, 0, images, only=only)
    finally:
        images.close()
    from halluscope.report.visible import visible_controls
    text = environment().get_template("items.html").render(
        title="halluscope items", items=items, images=images.uris,
        images_skipped=images.skipped)
    return ItemsView(visible_controls(text), height)


__all__ = ["ItemsView", "build_context", "render_report", "show_items", "write_report"]
