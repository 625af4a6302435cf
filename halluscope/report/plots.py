"""Figures of an audit as PNG bytes, for notebooks and scripts (the HTML report shows the
same figures as SVG written by :mod:`halluscope.report.svgplots`, without matplotlib).

Each function takes an :class:`~halluscope.result.AuditResult` (or the metrics mapping) and
returns PNG bytes, or ``None`` when the data it draws is absent. Figures are drawn on
matplotlib's Agg canvas directly (``Figure`` + ``FigureCanvasAgg``): pyplot is never imported,
so the global backend of a notebook or an application is left untouched and importing
halluscope never imports matplotlib.

>>> from halluscope.report import plots
>>> png = plots.forest_plot(result)          # bytes or None
>>> from IPython.display import Image; Image(png)
"""

from __future__ import annotations

import base64
import io
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from halluscope.report.decimals import fixed

log = logging.getLogger(__name__)

RED = "#c8423b"
GREEN = "#3a8a57"
AMBER = "#d49a1f"
BLUE = "#3c6fb0"
GREY = "#6b7280"
TOP_CATEGORIES = 20


@dataclass(frozen=True)
class Plot:
    """A rendered figure: a title, a one-line caption and the image (PNG bytes, or SVG text
    encoded as UTF-8 when ``mime`` is ``image/svg+xml``)."""

    key: str
    title: str
    caption: str
    data: bytes
    mime: str = "image/png"

    @property
    def png(self) -> bytes:
        """The PNG bytes (figures drawn with ``fmt="png"``, the default)."""
        if self.mime != "image/png":
            raise ValueError(f"plot {self.key!r} is {self.mime}, not PNG: draw it with "
                             f"all_plots(result, fmt='png')")
        return self.data

    @property
    def data_uri(self) -> str:
        return f"data:{self.mime};base64," + base64.b64encode(self.data).decode("ascii")


def to_data_uri(png: bytes) -> str:
    """``data:image/png;base64,...`` of PNG bytes."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _metrics(result: Any) -> Mapping[str, Any]:
    return result.metrics if hasattr(result, "metrics") else result


def interval_level(result: Any) -> str:
    """The confidence level of the run's intervals, as a heading says it (``"95%"``,
    ``"80%"``): the level its results carry, else the audit's ``confidence`` setting, else 95%.
    A heading that always said 95% mislabelled the intervals of ``--confidence 0.8``."""
    levels = {r.confidence for summary in _metrics(result).values()
              for r in getattr(summary, "results", {}).values()
              if isinstance(getattr(r, "confidence", None), float)}
    level = levels.pop() if len(levels) == 1 else getattr(
        getattr(result, "config", None), "confidence", None)
    return f"{100 * level:g}%" if isinstance(level, float) and 0 < level < 1 else "95%"


def _figure(width: float, height: float):
    """A figure on an Agg canvas, never through pyplot."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(width, height), dpi=110)
    FigureCanvasAgg(fig)
    return fig


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight", facecolor="white")
    return buf.getvalue()


def _style(ax) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.spines["left"].set_color("#9ca3af")
    ax.spines["bottom"].set_color("#9ca3af")
    ax.tick_params(colors="#374151", labelsize=9)
    ax.grid(axis="x", color="#e5e7eb", linewidth=0.8)
    ax.set_axisbelow(True)


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


# -- per-category hallucination counts --------------------------------------------------------
def _category_tally(metrics: Mapping[str, Any]) -> tuple[str, dict[str, int]] | None:
    chair = metrics.get("chair")
    if chair is not None and chair.tallies.get("hallucinated"):
        return "CHAIR", dict(chair.tallies["hallucinated"])
    for name, summary in metrics.items():
        for key, tally in (summary.tallies or {}).items():
            if "halluc" in key and tally:
                return name, dict(tally)
    return None


def category_counts_data(result: Any, top: int = TOP_CATEGORIES
                         ) -> tuple[str, list[tuple[str, int]]] | None:
    """What the category chart shows, whatever draws it: the metric the counts come from and
    the ``top`` most hallucinated categories with their counts, most first; ``None`` if none."""
    found = _category_tally(_metrics(result))
    if found is None:
        return None
    source, tally = found
    pairs = sorted(((str(k), int(v)) for k, v in tally.items() if _finite(v) and v > 0),
                   key=lambda kv: (-kv[1], kv[0]))[:top]
    return (source, pairs) if pairs else None


def category_counts(result: Any, top: int = TOP_CATEGORIES) -> bytes | None:
    """Horizontal bars: how often each object category was hallucinated (the ``top`` most)."""
    found = category_counts_data(result, top)
    if found is None:
        return None
    source, pairs = found
    labels = [k for k, _ in pairs][::-1]
    values = [v for _, v in pairs][::-1]
    fig = _figure(6.4, 0.8 + 0.26 * len(pairs))
    ax = fig.add_subplot()
    bars = ax.barh(labels, values, color=RED, alpha=0.85, height=0.65)
    ax.bar_label(bars, padding=3, fontsize=8, color="#374151")
    ax.set_xlabel("hallucinated mentions", fontsize=9)
    ax.set_title(f"Most hallucinated categories ({source})", fontsize=10, loc="left")
    _style(ax)
    ax.margins(x=0.12)
    return _png(fig)


# -- POPE confusion matrix --------------------------------------------------------------------
#: The confusion matrix's cell names, rows (label) by columns (prediction): yes, no.
CONFUSION_NAMES = (("TP", "FN"), ("FP", "TN"))


def pope_confusion_data(result: Any, metric: str = "pope"
                        ) -> tuple[list[list[int]], int, str] | None:
    """What the confusion matrix shows, whatever draws it: the counts (rows: label, columns:
    prediction), their total and the title (naming the unknown answers left out); ``None``
    when the run has no POPE counts."""
    summary = _metrics(result).get(metric)
    if summary is None:
        return None
    res = summary.results
    if not all(k in res and _finite(res[k].value) for k in ("tp", "fp", "tn", "fn")):
        return None
    tp, fp, tn, fn = (int(res[k].value) for k in ("tp", "fp", "tn", "fn"))
    total = tp + fp + tn + fn
    if total == 0:
        return None
    title = "POPE confusion matrix"
    unknown = res.get("unknown_rate")
    if unknown is not None and _finite(unknown.value) and unknown.value > 0:
        title += f" ({unknown.value:.1%} unknown answers not shown)"
    return [[tp, fn], [fp, tn]], total, title


def confusion_cell_colour(value: int, cells: list[list[int]], name: str) -> str:
    """Text colour of a cell: white on the darker cells, dark red for false positives."""
    if value > 0.55 * max(max(row) for row in cells):
        return "white"
    return "#7f1d1d" if name == "FP" else "#111827"


def pope_confusion(result: Any, metric: str = "pope") -> bytes | None:
    """The 2×2 confusion matrix of POPE predictions (rows: label, columns: prediction)."""
    found = pope_confusion_data(result, metric)
    if found is None:
        return None
    cells, total, title = found
    fig = _figure(4.2, 3.6)
    ax = fig.add_subplot()
    import numpy as np
    from matplotlib.colors import LinearSegmentedColormap
    cmap = LinearSegmentedColormap.from_list("hs", ["#f3f4f6", BLUE])
    ax.imshow(np.array(cells, dtype=float), cmap=cmap, vmin=0, vmax=max(1, *(v for row in cells for v in row)))
    for r in range(2):
        for c in range(2):
            v, name = cells[r][c], CONFUSION_NAMES[r][c]
            ax.text(c, r, f"{name}\n{v:,}\n{v / total:.1%}", ha="center", va="center",
                    fontsize=10, color=confusion_cell_colour(v, cells, name))
    ax.set_xticks([0, 1], ["yes", "no"])
    ax.set_yticks([0, 1], ["yes", "no"])
    ax.set_xlabel("prediction", fontsize=9)
    ax.set_ylabel("label", fontsize=9)
    ax.tick_params(length=0, labelsize=9)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_title(title, fontsize=10, loc="left")
    return _png(fig)


# -- per-kind rates (claims) ------------------------------------------------------------------
def kind_rate_rows(result: Any, metric: str = "claims"
                   ) -> list[tuple[str, float, tuple[float, float] | None, int]]:
    """What the per-kind chart shows, whatever draws it: ``(kind, rate, interval, n)`` for each
    claim kind of ``metric`` (empty when the run has none)."""
    summary = _metrics(result).get(metric)
    if summary is None:
        return []
    rows = []
    for name, res in summary.results.items():
        # kinds only: the overall hallucination and the unverifiable share are not kinds
        if name in ("hallucination_rate", "unverifiable_rate"):
            continue
        if name.endswith("_rate") and _finite(res.value):
            ci = res.ci if res.ci and all(_finite(v) for v in res.ci) else None
            rows.append((name[: -len("_rate")] or name, float(res.value), ci, res.n))
    return rows


def kind_rates_title(result: Any, metric: str, rows: list[tuple]) -> str:
    """The per-kind chart's title: it names the intervals' level only for bars that have one
    (it said "95% CI" over bars with no interval when none could be computed)."""
    with_ci = sum(1 for r in rows if r[2])
    level = interval_level(result)
    said = (f"{level} CI" if with_ci == len(rows) else "no interval could be computed"
            if not with_ci else f"{level} CI where one could be computed")
    return f"Hallucination rate by claim kind ({metric}, {said})"


def kind_rates(result: Any, metric: str = "claims") -> bytes | None:
    """Hallucination rate per claim kind with confidence-interval error bars."""
    rows = kind_rate_rows(result, metric)
    if not rows:
        return None
    labels = [r[0].replace("_", " ") for r in rows]
    values = [r[1] for r in rows]
    lo = [r[1] - r[2][0] if r[2] else 0.0 for r in rows]
    hi = [r[2][1] - r[1] if r[2] else 0.0 for r in rows]
    fig = _figure(6.0, 3.4)
    ax = fig.add_subplot()
    xs = range(len(rows))
    # verdicts as colours: hallucinated share in red, the supported rest of the decided claims
    # in green
    ax.bar(xs, values, color=RED, alpha=0.8, width=0.6, label="hallucinated")
    ax.bar(xs, [1.0 - v for v in values], bottom=values, color=GREEN, alpha=0.35, width=0.6,
           label="supported")
    ax.legend(fontsize=8, loc="upper right", frameon=False)
    with_ci = [i for i, r in enumerate(rows) if r[2]]
    if with_ci:
        ax.errorbar(with_ci, [values[i] for i in with_ci],
                    yerr=[[lo[i] for i in with_ci], [hi[i] for i in with_ci]], fmt="none",
                    ecolor="#111827", capsize=4, linewidth=1)
    ax.set_xticks(list(xs), labels, rotation=20 if len(rows) > 4 else 0, ha="right"
                  if len(rows) > 4 else "center")
    ax.set_ylabel("hallucination rate", fontsize=9)
    ax.set_ylim(0, 1.0)
    ax.set_title(kind_rates_title(result, metric, rows), fontsize=10, loc="left")
    _style(ax)
    ax.grid(axis="x", visible=False)
    ax.grid(axis="y", color="#e5e7eb", linewidth=0.8)
    return _png(fig)


# -- forest plot ------------------------------------------------------------------------------
def _interval_rows(result: Any, rates: bool) -> list[tuple[str, float, Any, bool | None]]:
    """Results with an interval: rates (everything in [0, 1]) or the rest (lengths, scores)."""
    rows = []
    for name, summary in _metrics(result).items():
        for stat, res in summary.results.items():
            if res.ci is None or not _finite(res.value) or not all(_finite(v) for v in res.ci):
                continue
            is_rate = all(0.0 <= float(v) <= 1.0 for v in (res.value, *res.ci))
            if is_rate != rates:
                continue
            better = res.higher_is_better if getattr(res, "direction", True) else None
            rows.append((f"{name}.{stat}", float(res.value), res.ci, better))
    return rows


def scale_plot(result: Any, max_rows: int = 12) -> bytes | None:
    """Results that are not rates (caption length, scores in other units), each on its own
    axis so that a length of ~100 words does not flatten the rates."""
    every = _interval_rows(result, rates=False)
    rows = every[:max_rows]
    if not rows:
        return None
    fig = _figure(6.4, 0.5 + 0.7 * len(rows))
    if len(every) > len(rows):
        fig.suptitle(f"the first {len(rows)} of {len(every)}; {len(every) - len(rows)} more in "
                     f"the summary table", fontsize=9, x=0.02, ha="left")
    for i, (label, value, (lo, hi), better) in enumerate(rows, 1):
        ax = fig.add_subplot(len(rows), 1, i)
        colour = GREY if better is None else (GREEN if better else RED)
        ax.plot([lo, hi], [0, 0], color=colour, linewidth=2, alpha=0.7)
        ax.plot([value], [0], "o", color=colour, markersize=5)
        ax.set_yticks([0], [label])
        ax.text(hi, 0, f"  {value:.3g}", va="center", fontsize=8, color="#374151")
        _style(ax)
        ax.margins(x=0.25)
    return _png(fig)


def forest_plot(result: Any, max_rows: int = 30) -> bytes | None:
    """Every rate with a confidence interval: point and interval on one 0-1 axis (other units
    are drawn by :func:`scale_plot`; grey marks statistics without a better direction)."""
    every = _interval_rows(result, rates=True)
    if not every:
        return None
    rows = every[:max_rows]
    fig = _figure(6.4, 0.9 + 0.32 * len(rows))
    ax = fig.add_subplot()
    ys = list(range(len(rows)))[::-1]
    for y, (label, value, (lo, hi), better) in zip(ys, rows):
        colour = GREY if better is None else (GREEN if better else RED)
        ax.plot([lo, hi], [y, y], color=colour, linewidth=2, alpha=0.7, solid_capstyle="round")
        ax.plot([value], [y], "o", color=colour, markersize=5)
        ax.text(hi, y, f"  {fixed(value, 3)}", va="center", fontsize=8, color="#374151")
    ax.set_yticks(ys, [r[0] for r in rows])
    more = (f"\nthe first {len(rows)} of {len(every)} rates; {len(every) - len(rows)} more in "
            f"the summary table" if len(every) > len(rows) else "")
    ax.set_title(f"Rates with {interval_level(result)} intervals (green: higher is better, red: "
                 f"lower, grey: neither){more}",
                 fontsize=10, loc="left")
    _style(ax)
    ax.margins(x=0.15, y=0.08)
    return _png(fig)


# -- all of them ------------------------------------------------------------------------------
def all_plots(result: Any, fmt: str = "png") -> list[Plot]:
    """Every figure whose data this audit has, in report order; a figure that fails to draw is
    logged and left out. ``fmt="png"`` draws them with matplotlib; ``fmt="svg"`` writes the same
    figures as SVG without it (:mod:`halluscope.report.svgplots`, what report.html shows)."""
    if fmt not in ("png", "svg"):
        raise ValueError(f"expected plot format 'png' or 'svg', got {fmt!r}")
    if fmt == "svg":
        from halluscope.report import svgplots
        drawers = {"forest": svgplots.forest_svg, "scales": svgplots.scale_svg,
                   "categories": svgplots.category_counts_svg,
                   "pope": svgplots.pope_confusion_svg, "kinds": svgplots.kind_rates_svg}
    else:
        drawers = {"forest": forest_plot, "scales": scale_plot, "categories": category_counts,
                   "pope": pope_confusion, "kinds": kind_rates}
    out = []
    for key, title, caption in _SPECS:
        try:
            image = drawers[key](result)
        except Exception as exc:  # noqa: BLE001 - a plot must never stop the report
            log.warning("could not draw the %s plot: %s", key, exc)
            continue
        if image is None:
            continue
        if fmt == "svg":
            out.append(Plot(key, title, caption, image.encode("utf-8"), "image/svg+xml"))
        else:
            out.append(Plot(key, title, caption, image))
    return out


_SPECS = (
    ("forest", "Metrics at a glance", "Point estimate and bootstrap confidence interval of "
     "every rate."),
    ("scales", "Other quantities", "Numbers that are not rates (caption length, ...), each on "
     "its own axis."),
    ("categories", "Hallucinated categories", "Objects named in responses but absent from the "
     "evidence, by how often."),
    ("pope", "POPE confusion matrix", "False positives (yes to an absent object) are "
     "hallucinations."),
    ("kinds", "Claims by kind", "Share of checked claims found hallucinated, per kind."),
)


__all__ = ["Plot", "all_plots", "category_counts", "forest_plot", "kind_rates",
           "pope_confusion", "scale_plot", "to_data_uri"]
