"""A second reading of OCR lines: column by column, for pages set in columns.

OCR engines give line boxes; :func:`~halluscope.evidence.ocr.reading_order` reads them row by
row across the whole page, which is right for single-column text and for tables (read a row
at a time) but interleaves the columns of a two-column page: a sentence that wraps from one
line of the left column to the next is, in that reading, broken by a line of the right column,
and a quote of it was judged hallucinated.

No one rule tells a two-column article from a table, so the page check reads a page both ways
and a quote holds when it is in either (:mod:`halluscope.checks.pages`). :func:`column_order`
gives the column reading:

1. **Gutters.** Over the x-extent of the lines, count how many line boxes cover each x. A
   gutter is a run of x, inside the extent and at least ``min_gap`` wide (default: half the
   median line height), covered by no more lines than there are *wide* lines (wider than half
   the extent; a column's lines are narrower), give or take one line in fifty for stray
   boxes: a full-width title, paragraph or caption over the columns does not close the gutter
   below it.
2. **Side by side.** A gutter counts only when lines lie wholly on each side of it *at the same
   height*: at least two lines left of it overlap, vertically, a line right of it. The ragged
   right edge of a single-column page, or a page number in a corner, makes no columns.
3. **Not a table.** A gutter wider than a column beside it parts the cells of a table, not
   columns of text (an article's gutter is a sliver of its columns' width): such a page keeps
   its one reading, by rows. Read by columns, a table joined the foot of one column to the head
   of the next, and the values of one column to each other, so a quote the table does not hold
   was found there ("Staff 2023 4,210" where the Staff row reads 185 for 2023). A page with
   line numbers in a narrow margin column is taken for one too (read by rows, as before
   column reading: a quote over a line break there is not found).
4. **Sections.** Taken in row order, a line that crosses a gutter (a title, a full-width
   paragraph, a table's spanning cell) ends a section and stands alone; inside a section the
   lines are read column by column, left to right, each column top to bottom.

Only the order changes: the lines, their text and boxes are the OCR's own, so the column
reading of a cached OCR result is derived from the cache entry (boxes are cached) without
reading the page again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

#: Share of the lines that may cover a gutter beside the wide ones (stray boxes).
STRAY_SHARE = 0.02


def _box(line: Any) -> tuple[float, float, float, float]:
    return tuple(float(v) for v in line.box)           # type: ignore[return-value]


def gutters(lines: Sequence[Any], min_gap: float | None = None) -> list[tuple[float, float]]:
    """The x-intervals ``(start, end)`` between columns of ``lines`` (objects with a ``box``
    ``(x1, y1, x2, y2)``), left to right; empty for a page in one column (see the module
    docstring)."""
    if len(lines) < 4:
        return []
    boxes = np.array([_box(ln) for ln in lines], dtype=float)
    heights = boxes[:, 3] - boxes[:, 1]
    gap = float(min_gap) if min_gap is not None else max(1.0, float(np.median(heights)) / 2)
    lo, hi = float(boxes[:, 0].min()), float(boxes[:, 2].max())
    if hi - lo <= 2 * gap:
        return []
    step = max(1.0, (hi - lo) / 4000)                   # at most ~4000 bins
    n_bins = int(np.ceil((hi - lo) / step))
    cover = np.zeros(n_bins + 1, dtype=np.int64)
    first = np.clip(np.floor((boxes[:, 0] - lo) / step).astype(int), 0, n_bins)
    last = np.clip(np.ceil((boxes[:, 2] - lo) / step).astype(int), 0, n_bins)
    np.add.at(cover, first, 1)
    np.add.at(cover, last, -1)
    count = np.cumsum(cover)[:n_bins]
    wide = int(((boxes[:, 2] - boxes[:, 0]) > (hi - lo) / 2).sum())
    allowed = wide + int(len(lines) * STRAY_SHARE)
    out: list[tuple[float, float]] = []
    k = 0
    while k < n_bins:
        if count[k] > allowed:
            k += 1
            continue
        j = k
        while j < n_bins and count[j] <= allowed:
            j += 1
        start, end = lo + k * step, lo + j * step
        if k > 0 and j < n_bins and end - start >= gap and _side_by_side(boxes, start, end):
            out.append((start, end))
        k = j
    return out


def _side_by_side(boxes: np.ndarray, start: float, end: float) -> bool:
    """At least two lines wholly left of ``[start, end]`` share their height with a line
    wholly right of it."""
    mid = (start + end) / 2
    left, right = boxes[boxes[:, 2] <= mid], boxes[boxes[:, 0] >= mid]
    if len(left) < 2 or len(right) < 2:
        return False
    overlap = (np.minimum(left[:, None, 3], right[None, :, 3]) -
               np.maximum(left[:, None, 1], right[None, :, 1])) > 0
    return int(overlap.any(axis=1).sum()) >= 2


def _table_like(lines: Sequence[Any], cuts: list[tuple[float, float]]) -> bool:
    """Whether a gutter of ``cuts`` is wider than a column beside it (from the lines' extent,
    or the gutter before it, to the gutter after it, or the extent): cells of a table."""
    boxes = np.array([_box(ln) for ln in lines], dtype=float)
    edges = [float(boxes[:, 0].min()), *(x for cut in cuts for x in cut),
             float(boxes[:, 2].max())]
    widths = [edges[2 * k + 1] - edges[2 * k] for k in range(len(cuts) + 1)]
    return any(end - start > min(widths[k], widths[k + 1])
               for k, (start, end) in enumerate(cuts))


def column_order(lines: Sequence[Any], min_gap: float | None = None) -> list[Any] | None:
    """``lines`` (in row order, as :func:`~halluscope.evidence.ocr.reading_order` gives them)
    read column by column within sections (see the module docstring), or ``None`` when the
    page has no columns, is a table, or that reading is the row reading itself."""
    cuts = gutters(lines, min_gap)
    if not cuts or _table_like(lines, cuts):
        return None
    mids = [(a + b) / 2 for a, b in cuts]
    out: list[Any] = []
    section: list[list[Any]] = [[] for _ in range(len(cuts) + 1)]

    def flush() -> None:
        for column in section:
            out.extend(column)
            column.clear()

    for ln in lines:
        x1, _, x2, _ = _box(ln)
        if any(x1 < m < x2 for m in mids):              # crosses a gutter: stands alone
            flush()
            out.append(ln)
            continue
        centre = (x1 + x2) / 2
        section[sum(m < centre for m in mids)].append(ln)
    flush()
    if [id(ln) for ln in out] == [id(ln) for ln in lines]:
        return None
    return out
