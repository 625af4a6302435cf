"""The worst items of an audit for one metric, with the evidence against each.

Failure messages of :mod:`halluscope.gates.assertions` show them. Items are streamed from
``result.items`` (``items.jsonl``) and only the ``k`` worst are kept, so that this works on audits
of any size. Each metric explains its own items through its class's
:meth:`~halluscope.metrics.base.Metric.explain_item` ``(item, statistic, group) -> (severity,
lines) | None`` (see :mod:`halluscope.metrics.explain`).

Importing this module loads only the standard library.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from typing import Any

from halluscope.metrics.explain import (Explainer, Explanation, explain_claim_verdicts,
                                        explain_generic, short_text)

DEFAULT_WORST = 5


def split_name(name: str) -> tuple[str, str, str | None]:
    """``"pope.f1@split:random"`` -> ``("pope", "f1", "split:random")``."""
    metric, _, stat = name.partition(".")
    group = None
    if "@" in stat:
        stat, _, group = stat.partition("@")
    return metric, stat, group


def display_source(source: str) -> str:
    """``/abs/path/outputs.jsonl:3`` relative to the current folder when it lies under it."""
    from pathlib import Path
    path, sep, line = str(source).rpartition(":")
    if not sep or not line.isdigit():
        path, line = str(source), ""
    try:
        rel = Path(path).relative_to(Path.cwd())
    except ValueError:
        return str(source)
    return f"{rel}:{line}" if line else str(rel)


@dataclass(frozen=True)
class WorstItem:
    """One item that pulls a metric the wrong way, with the evidence for it."""

    severity: float
    index: int
    id: Any
    source: str | None
    image: Any
    lines: tuple[str, ...]
    response: str | None


def explainer_for(metric: str) -> Explainer:
    """The metric class's ``explain_item`` (every metric has one: its own or the base class's
    default); for a metric whose class is unknown here, the default reading of its payload."""
    from halluscope.metrics.base import declared
    cls = declared(metric)
    return cls.explain_item if cls is not None else explain_generic(metric)


#: Statistics no item counts against: ``unanswered`` (Object HalBench, MMHal-Bench,
#: HallusionBench) counts the benchmark's questions that no answer answered, which are in no
#: line of items.jsonl; a failed gate on it listed the items with hallucinations instead.
NO_ITEM_STATISTICS = frozenset({"unanswered"})


def _no_item(item: dict, statistic: str, group: str | None) -> None:
    return None


def worst_items(result: Any, name: str, k: int = DEFAULT_WORST
                ) -> tuple[list[WorstItem], int, int]:
    """The ``k`` items that pull metric ``name`` the wrong way the most, streamed from
    ``result.items``; also how many items are bad at all and how many could not be scored."""
    metric, stat, group = split_name(name)
    explain = explainer_for(metric) if stat not in NO_ITEM_STATISTICS else _no_item
    heap: list[tuple[float, int, WorstItem]] = []
    bad = 0
    errors = 0
    for index, item in enumerate(result.items):
        if "error" in item and metric in str(item.get("error_detail", {}).get("metric", metric)):
            errors += 1
        try:
            found = explain(item, stat, group)
        except Exception:  # noqa: BLE001 - a message must never fail on an odd item
            found = None
        if not found:
            continue
        severity, lines = found
        if severity <= 0:
            continue
        bad += 1
        if k <= 0:
            continue
        entry = WorstItem(severity=float(severity), index=index, id=item.get("id"),
                          source=item.get("source"), image=item.get("image"),
                          lines=tuple(lines), response=item.get("response"))
        key = (float(severity), -index, entry)
        if len(heap) < k:
            heapq.heappush(heap, key)  # type: ignore[misc]
        elif key[:2] > heap[0][:2]:
            heapq.heapreplace(heap, key)  # type: ignore[misc]
    ordered = [e for _, _, e in sorted(heap, key=lambda t: (-t[0], -t[1]))]
    return ordered, bad, errors


def worst_items_block(result: Any, name: str, k: int = DEFAULT_WORST) -> list[str]:
    """The "worst items" lines of a failure message."""
    if k <= 0:
        return []
    try:        # a length or a count: no item "counts against" what has no better direction
        if not getattr(result.get(name), "direction", True):
            return [f"  worst items: none ({name} has no better direction, so no item counts "
                    f"against it)"]
    except KeyError:
        pass
    if split_name(name)[1] in NO_ITEM_STATISTICS:
        return [f"  worst items: none ({name} counts the benchmark's questions that no answer "
                f"answered: they are in no item)"]
    try:
        items, bad, errors = worst_items(result, name, k)
    except Exception as exc:  # noqa: BLE001 - e.g. items.jsonl was deleted
        return [f"  worst items: unavailable ({type(exc).__name__}: {exc})"]
    lines = []
    if items:
        lines.append(f"  worst items ({len(items)} of {bad} items that count against "
                     f"{name}):")
        for rank, it in enumerate(items, 1):
            head = f"    {rank}. id {it.id}"
            if it.source:
                head += f" ({display_source(it.source)})"
            if it.image:
                head += f", image {it.image}"
            lines.append(head)
            lines.extend(f"       {line}" for line in it.lines)
            if it.response is not None:
                lines.append(f"       response: {short_text(it.response)}")
    else:
        lines.append(f"  worst items: none of the {len(getattr(result, 'items', ()))} items "
                     f"has evidence against {name}")
    if errors:
        lines.append(f"  {errors} record(s) could not be scored; see result.errors")
    return lines


explain_claims = explain_claim_verdicts
"""The claim-level explainer (the name gate code used before it moved to the metrics)."""

__all__ = ["DEFAULT_WORST", "Explainer", "Explanation", "WorstItem", "explain_claims",
           "explain_generic", "explainer_for", "short_text", "split_name", "worst_items",
           "worst_items_block"]
