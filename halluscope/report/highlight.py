"""Highlighting a response in report.html: marked spans (claim verdicts, object mentions) cut
into pieces, the first :data:`SHOWN_CHARS` characters shown, and a report-wide budget of
highlights (:func:`spend_highlights`).

Spans may nest or overlap, so :func:`segment_text` cuts the text at every span boundary and
gives each piece the set of spans covering it; a piece covered by several claims is coloured by
the most severe verdict and lists all of them in its tooltip.

Each highlight is a ``<span>`` with its tooltip, about ten times the characters it marks: 300
answers of 20,000 characters, each naming an object every ten characters, made a 100 MB report
(2 minutes to write). So a report highlights at most :data:`HIGHLIGHTS` spans in all; past that
an answer is shown as plain text, saying how many highlights it leaves out (each verdict stays
in its table and in items.jsonl).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

#: Severity of a verdict, for colouring a piece of text several claims cover.
SEVERITY = {"hallucinated": 3, "unverifiable": 2, "supported": 1}


@dataclass(frozen=True)
class Mark:
    """A highlighted span of a response.

    Attributes:
        start: First character (inclusive).
        end: Last character (exclusive).
        family: ``claim`` or ``mention`` (a CHAIR object mention).
        status: ``supported`` | ``hallucinated`` | ``unverifiable``.
        title: Tooltip text (plain text; escaped by the template).
        ref: Anchor of the claim's detail row, for linking (``None`` for mentions).
    """

    start: int
    end: int
    family: str
    status: str
    title: str = ""
    ref: str | None = None


def valid_span(span: Any, length: int) -> tuple[int, int] | None:
    if not isinstance(span, (list, tuple)) or len(span) != 2:
        return None
    start, end = span
    if isinstance(start, bool) or isinstance(end, bool):
        return None
    if not isinstance(start, (int, float)) or not isinstance(end, (int, float)):
        return None
    start, end = max(0, int(start)), min(length, int(end))
    return (start, end) if start < end else None


def segment_text(text: str, marks: Iterable[Mark]) -> list[dict[str, Any]]:
    """Cut ``text`` at every mark boundary; each piece says which marks cover it.

    Returns a list of ``{"text", "cls", "title", "refs"}`` dicts whose texts concatenate to
    ``text``. ``cls`` holds CSS classes (``claim v-hallucinated``, ``mention m-supported``,
    ``multi`` when several claims overlap), ``refs`` the claim anchors (space-separated).

    One sweep over the sorted boundaries: O(n + k log k) for n characters and k marks (plus the
    marks open at each piece), so a long response costs no more than reading it.
    """
    text = text or ""
    marks = [m for m in marks if 0 <= m.start < m.end <= len(text)]
    if not marks:
        return [{"text": text, "cls": "", "title": "", "refs": ""}] if text else []
    opening: dict[int, list[int]] = {}
    closing: dict[int, list[int]] = {}
    for i, m in enumerate(marks):
        opening.setdefault(m.start, []).append(i)
        closing.setdefault(m.end, []).append(i)
    bounds = sorted({0, len(text), *opening, *closing})
    active: set[int] = set()
    out = []
    for a, b in zip(bounds, bounds[1:]):
        active.difference_update(closing.get(a, ()))
        active.update(opening.get(a, ()))
        out.append(_piece(text[a:b], [marks[i] for i in sorted(active)]))
    return out


def _piece(text: str, cover: list[Mark]) -> dict[str, Any]:
    """One segment of :func:`segment_text`: its text and the classes of the marks covering it."""
    classes = []
    claims = [m for m in cover if m.family == "claim"]
    mentions = [m for m in cover if m.family == "mention"]
    if claims:
        worst = max(claims, key=lambda m: SEVERITY.get(m.status, 0)).status
        classes += ["claim", f"v-{worst}"]
        if len(claims) > 1:
            classes.append("multi")
    if mentions:
        worst = max(mentions, key=lambda m: SEVERITY.get(m.status, 0)).status
        classes += ["mention", f"m-{worst}"]
    return {
        "text": text,
        "cls": " ".join(classes),
        "title": "\n".join(dict.fromkeys(m.title for m in cover if m.title)),
        "refs": " ".join(m.ref for m in claims if m.ref),
    }


#: Characters of a response shown highlighted in report.html; the rest is behind a fold.
SHOWN_CHARS = 20_000


def truncate_segments(segments: list[dict[str, Any]], limit: int = SHOWN_CHARS
                      ) -> tuple[list[dict[str, Any]], int]:
    """The segments covering the first ``limit`` characters (the last one cut), and how many
    characters were left out (0 when the text fits)."""
    kept, used = [], 0
    for seg in segments:
        if used >= limit:
            break
        room = limit - used
        kept.append(seg if len(seg["text"]) <= room else {**seg, "text": seg["text"][:room]})
        used += len(kept[-1]["text"])
    total = sum(len(seg["text"]) for seg in segments)
    return kept, total - used

#: Highlighted spans in one report, all answers together (about 11 MB of markup).
HIGHLIGHTS = 100_000


def spend_highlights(marks: list[Mark], budget: Any) -> tuple[list[Mark], int]:
    """The marks of the shown text that ``budget`` (an object with ``highlights_left``, the
    report's :class:`~halluscope.report.itemview.ImageStore`; ``None``: no budget) still has
    room for, first in the text first (kept in their order: a tooltip lists its marks so), and
    how many shown marks it leaves out."""
    shown = [m for m in marks if m.start < SHOWN_CHARS]
    if budget is None:
        return shown, 0
    room = max(0, budget.highlights_left)
    budget.highlights_left = room - min(room, len(shown))
    if len(shown) <= room:
        return shown, 0
    first = set(sorted(range(len(shown)), key=lambda i: (shown[i].start, shown[i].end))[:room])
    return [m for i, m in enumerate(shown) if i in first], len(shown) - room
