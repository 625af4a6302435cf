"""The report's figures as small inline SVG documents, drawn without matplotlib.

The HTML report shows the same five figures as :mod:`halluscope.report.plots` (forest plot of
rates, other quantities on their own axes, hallucinated categories, the POPE confusion matrix,
claim kinds) with the same data, colours and labels, but as SVG text written here: no
matplotlib import (about half a second) and no PNG encoding when an audit writes its report.
:mod:`halluscope.report.plots` keeps the matplotlib PNG versions for notebooks and scripts.

Each function takes an :class:`~halluscope.result.AuditResult` (or a mapping of metric name ->
summary) and returns the SVG document as a string, or ``None`` when the audit has no data for it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape
from typing import Any

from halluscope.report.decimals import fixed
from halluscope.report.plots import (BLUE, CONFUSION_NAMES, GREEN, GREY, RED, TOP_CATEGORIES,
                                     _interval_rows, _metrics, category_counts_data, kind_rate_rows,
                                     confusion_cell_colour, interval_level, kind_rates_title,
                                     pope_confusion_data)

__all__ = ["category_counts_svg", "forest_svg", "kind_rates_svg", "pope_confusion_svg",
           "scale_svg"]

WIDTH = 640
INK = "#374151"
AXIS = "#9ca3af"
GRID = "#e5e7eb"
FONT = "font-family='DejaVu Sans, Helvetica, Arial, sans-serif'"


# -- drawing primitives -----------------------------------------------------------------------
def _svg(height: float, body: list[str], width: float = WIDTH) -> str:
    return (f"<svg xmlns='http://www.w3.org/2000/svg' width='{width:.0f}' "
            f"height='{height:.0f}' viewBox='0 0 {width:.0f} {height:.0f}' {FONT}>"
            f"<rect width='100%' height='100%' fill='white'/>" + "".join(body) + "</svg>")


def _text(x: float, y: float, text: str, size: float = 11, anchor: str = "start",
          colour: str = INK, weight: str = "normal") -> str:
    return (f"<text x='{x:.1f}' y='{y:.1f}' font-size='{size}' text-anchor='{anchor}' "
            f"dominant-baseline='middle' fill='{colour}' font-weight='{weight}'>"
            f"{escape(str(text))}</text>")


def _line(x1: float, y1: float, x2: float, y2: float, colour: str = AXIS, width: float = 1,
          opacity: float = 1.0) -> str:
    return (f"<line x1='{x1:.1f}' y1='{y1:.1f}' x2='{x2:.1f}' y2='{y2:.1f}' stroke='{colour}' "
            f"stroke-width='{width}' stroke-opacity='{opacity}' stroke-linecap='round'/>")


def _rect(x: float, y: float, w: float, h: float, fill: str, opacity: float = 1.0) -> str:
    return (f"<rect x='{x:.1f}' y='{y:.1f}' width='{max(w, 0):.1f}' height='{max(h, 0):.1f}' "
            f"fill='{fill}' fill-opacity='{opacity}'/>")


def _dot(x: float, y: float, colour: str) -> str:
    return f"<circle cx='{x:.1f}' cy='{y:.1f}' r='4' fill='{colour}'/>"


def _ticks(lo: float, hi: float, n: int = 5, integer: bool = False) -> list[float]:
    """Round tick values covering ``[lo, hi]`` (about ``n`` of them; whole numbers only when
    ``integer``)."""
    span = hi - lo
    if span <= 0 or not math.isfinite(span):
        return [lo]
    raw = span / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    if integer:
        step = max(1, math.ceil(step))
    first = math.ceil(lo / step - 1e-9) * step
    return [round(first + i * step, 12) for i in range(int((hi - first) / step + 1e-9) + 1)]


def _scale(lo: float, hi: float, x0: float, x1: float):
    span = (hi - lo) or 1.0
    return lambda v: x0 + (v - lo) / span * (x1 - x0)


def _padded(values: Sequence[float], margin: float) -> tuple[float, float]:
    lo, hi = min(values), max(values)
    pad = (hi - lo) * margin or (abs(hi) * margin or 0.5)
    return lo - pad, hi + pad


def _x_axis(x, lo: float, hi: float, top: float, bottom: float, fmt: str = "{:g}",
            integer: bool = False) -> list[str]:
    out = [_line(x(lo), bottom, x(hi), bottom)]
    for t in _ticks(lo, hi, integer=integer):
        out.append(_line(x(t), top, x(t), bottom, GRID, 0.8))
        out.append(_text(x(t), bottom + 10, fmt.format(t), 9, "middle"))
    return out


def _colour(better: bool | None) -> str:
    return GREY if better is None else (GREEN if better else RED)


# -- forest plot and other quantities ---------------------------------------------------------
def forest_svg(result: Any, max_rows: int = 30) -> str | None:
    """Every rate with a confidence interval: point and interval on one axis (green: higher is
    better, red: lower, grey: neither)."""
    every = _interval_rows(result, rates=True)
    rows = every[:max_rows]
    if not rows:
        return None
    left, right, top, step = 230, WIDTH - 60, 36, 22
    bottom = top + step * len(rows)
    lo, hi = _padded([v for r in rows for v in r[2]], 0.15)
    x = _scale(lo, hi, left, right)
    body = [_text(8, 14, f"Rates with {interval_level(result)} intervals (green: higher is "
                  f"better, red: lower, grey: neither)", 11.5)]
    if len(every) > len(rows):      # said, not dropped in silence: the summary has them all
        body.append(_text(8, bottom + 34, f"the first {len(rows)} of {len(every)} rates; "
                          f"{len(every) - len(rows)} more in the summary table", 10))
    body += _x_axis(x, lo, hi, top - 6, bottom)
    for i, (label, value, (a, b), better) in enumerate(rows):
        y = top + step * i + step / 2 - 6
        colour = _colour(better)
        body += [_text(left - 8, y, label, 10, "end"), _line(x(a), y, x(b), y, colour, 2.5, 0.7),
                 _dot(x(value), y, colour), _text(x(b) + 6, y, fixed(value, 3), 9)]
    return _svg(bottom + (48 if len(every) > len(rows) else 24), body)


def scale_svg(result: Any, max_rows: int = 12) -> str | None:
    """Results that are not rates, each on its own axis."""
    every = _interval_rows(result, rates=False)
    rows = every[:max_rows]
    if not rows:
        return None
    left, right, band = 230, WIDTH - 70, 46
    body = []
    if len(every) > len(rows):
        body.append(_text(8, band * len(rows) + 14, f"the first {len(rows)} of {len(every)}; "
                          f"{len(every) - len(rows)} more in the summary table", 10))
    for i, (label, value, (a, b), better) in enumerate(rows):
        y = 14 + band * i
        lo, hi = _padded([a, b], 0.25)
        x = _scale(lo, hi, left, right)
        colour = _colour(better)
        body += [_text(left - 8, y, label, 10, "end"), _line(x(a), y, x(b), y, colour, 2.5, 0.7),
                 _dot(x(value), y, colour), _text(x(b) + 6, y, f"{value:.3g}", 9)]
        body += _x_axis(x, lo, hi, y - 8, y + 12)
    return _svg(band * len(rows) + (30 if len(every) > len(rows) else 8), body)


# -- per-category hallucination counts --------------------------------------------------------
def category_counts_svg(result: Any, top: int = TOP_CATEGORIES) -> str | None:
    """Horizontal bars: how often each object category was hallucinated (the ``top`` most)."""
    found = category_counts_data(result, top)
    if found is None:
        return None
    source, pairs = found
    left, right, top_y, step = 150, WIDTH - 70, 32, 20
    bottom = top_y + step * len(pairs)
    hi = max(v for _, v in pairs)
    x = _scale(0, hi, left, right)
    body = [_text(8, 14, f"Most hallucinated categories ({source})", 11.5)]
    body += _x_axis(x, 0, hi, top_y - 4, bottom, integer=True)
    for i, (name, count) in enumerate(pairs):
        y = top_y + step * i
        body += [_rect(left, y + 3, x(count) - left, step - 7, RED, 0.85),
                 _text(left - 8, y + step / 2, name, 10, "end"),
                 _text(x(count) + 4, y + step / 2, f"{count:,}", 9)]
    body.append(_text((left + right) / 2, bottom + 26, "hallucinated mentions", 10, "middle"))
    return _svg(bottom + 40, body)


# -- POPE confusion matrix --------------------------------------------------------------------
def _mix(fraction: float) -> str:
    """The colour ``fraction`` of the way from light grey to blue."""
    a, b = (0xF3, 0xF4, 0xF6), tuple(int(BLUE[i:i + 2], 16) for i in (1, 3, 5))
    return "#" + "".join(f"{round(p + (q - p) * fraction):02x}" for p, q in zip(a, b))


def pope_confusion_svg(result: Any, metric: str = "pope") -> str | None:
    """The 2×2 confusion matrix of POPE predictions (rows: label, columns: prediction)."""
    found = pope_confusion_data(result, metric)
    if found is None:
        return None
    cells, total, title = found
    peak = max(1, *(v for row in cells for v in row))
    left, top, size = 90, 40, 120
    body = [_text(8, 14, title, 11.5)]
    for r in range(2):
        for c in range(2):
            v, x0, y0 = cells[r][c], left + c * size, top + r * size
            name = CONFUSION_NAMES[r][c]
            colour = confusion_cell_colour(v, cells, name)
            body.append(_rect(x0, y0, size, size, _mix(v / peak)))
            for j, line in enumerate((name, f"{v:,}", f"{v / total:.1%}")):
                body.append(_text(x0 + size / 2, y0 + size / 2 + (j - 1) * 15, line, 11,
                                  "middle", colour))
        body.append(_text(left - 8, top + r * size + size / 2, ("yes", "no")[r], 10, "end"))
        body.append(_text(left + r * size + size / 2, top + 2 * size + 12, ("yes", "no")[r], 10,
                          "middle"))
    body.append(_text(left + size, top + 2 * size + 32, "prediction", 10, "middle"))
    body.append(f"<text x='30' y='{top + size}' font-size='10' text-anchor='middle' "
                f"fill='{INK}' transform='rotate(-90 30 {top + size})'>label</text>")
    return _svg(top + 2 * size + 46, body, width=max(left + 2 * size + 40, 8 + 6.2 * len(title)))


# -- per-kind rates (claims) ------------------------------------------------------------------
def kind_rates_svg(result: Any, metric: str = "claims") -> str | None:
    """Hallucination rate per claim kind (red) over the supported rest (green), with 95%
    confidence-interval error bars."""
    rows = kind_rate_rows(result, metric)
    if not rows:
        return None
    left, right, top, bottom = 60, WIDTH - 20, 46, 262
    y = _scale(0.0, 1.0, bottom, top)
    band = (right - left) / len(rows)
    body = [_text(8, 14, kind_rates_title(result, metric, rows), 11.5)]
    for t in _ticks(0.0, 1.0):
        body += [_line(left, y(t), right, y(t), GRID, 0.8), _text(left - 6, y(t), f"{t:g}", 9,
                                                                   "end")]
    body.append(_line(left, bottom, right, bottom))
    for i, (name, value, ci, _n) in enumerate(rows):
        x0, w = left + band * (i + 0.2), band * 0.6
        body += [_rect(x0, y(value), w, bottom - y(value), RED, 0.8),
                 _rect(x0, y(1.0), w, y(value) - y(1.0), GREEN, 0.35),
                 _text(x0 + w / 2, bottom + 12, name.replace("_", " "), 9.5, "middle")]
        if ci:
            cx = x0 + w / 2
            body += [_line(cx, y(ci[0]), cx, y(ci[1]), "#111827", 1),
                     _line(cx - 4, y(ci[0]), cx + 4, y(ci[0]), "#111827", 1),
                     _line(cx - 4, y(ci[1]), cx + 4, y(ci[1]), "#111827", 1)]
    body += [_rect(right - 150, 24, 10, 10, RED, 0.8), _text(right - 136, 29, "hallucinated", 9),
             _rect(right - 70, 24, 10, 10, GREEN, 0.35), _text(right - 56, 29, "supported", 9),
             f"<text x='14' y='{(top + bottom) / 2}' font-size='10' text-anchor='middle' "
             f"fill='{INK}' transform='rotate(-90 14 {(top + bottom) / 2})'>hallucination rate"
             f"</text>"]
    return _svg(bottom + 28, body)
