"""Boxes written without brackets, and MiniGPT-v2's box tokens.

MiniGPT-v2 writes ``<p>dog</p> {<12><30><45><80>}``: the corners ``x_left, y_top, x_right,
y_bottom`` as whole numbers on a **0-100 grid** of the image (its paper, and its code: the
RefCOCO training data is ``int(coord / side * 100)``, ``demo_v2.py`` and
``eval_scripts/eval_ref.py`` scale back by ``/ 100 * side``). Several boxes of one phrase are
joined by ``<delim>``, between the braces or inside them (``{<1><2><3><4>}<delim>{<5><6><7><8>}``).
The grid is the model's own convention, so it is read on 0-100 whatever ``--box-format`` says
(as Kosmos-2's cells are). A body that is not four whole numbers within the grid per box
(``{<12><30><45>}``, ``{<12><30><45><180>}``) is an unread citation, never a guess.

Coordinates in prose without square brackets are read **only** where the text says they are a
box (a false box citation is worse than none; numbers in prose are prices, dates, scores):

1. *named*: four numbers each named by a coordinate, ``x1=10, y1=20, x2=50, y2=90`` (``=`` or
   ``:``, in parentheses or not, any order), the names one set of
   :data:`~halluscope.claims.box_forms.NAMED_LAYOUTS` (``x, y, w, h`` / ``x, y, width,
   height`` / ``left, top, width, height``: x, y, width, height; ``x1, y1, x2, y2`` / ``xmin,
   ...`` / ``x_min, ...`` / ``left, top, right, bottom``: corners). A point (``x=3, y=4``) or a
   size (``width: 640, height: 480``) is no box;
2. *after a box word*: four comma-separated numbers (in parentheses or not) right after
   ``bounding box``, ``bbox``, ``coordinates`` or ``coords`` (and ``is``, ``are``, ``of``,
   ``at``, ``=``, ``:`` between): ``its bounding box is 10, 20, 50, 90``. Corners, any scale;
3. *after "at"*: four comma-separated **fractions** (each written with a decimal point, each
   within [0, 1], ``x2 > x1`` and ``y2 > y1``) right after ``at``: ``the dog at 0.12, 0.30,
   0.45, 0.80``; not when the clause speaks of prices, rates, scores, values or times
   (``traded at 0.12, 0.30, 0.45, 0.80``).

In every case the four numbers stand alone: no currency sign before (``$0.12``), no unit or
``%`` after (``0.80 dollars``), no fifth number continuing the list, no ``and`` inside it
(``0.1, 0.2, 0.5 and 0.9`` is prose), none negative (``coordinates 40.7, -74.0, 34.1,
-118.2`` are two places); and whole numbers after a comma are separated by a space
(``1,200,300,400`` is a number). Anything else, ``the dog at 10, 20, 50, 90`` included, is no
box. The scale of rules 1-3 is *auto*, decided with the response's other boxes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from halluscope.claims.box_forms import NAMED_LAYOUTS

Span = tuple[int, int]

# -- MiniGPT-v2 ---------------------------------------------------------------------------------

MINIGPT_GRID = 100
_MG_BOX = r"\{\s*+<\s*+-?\d{1,6}\s*+>[^{}\n]{0,400}?\}"
MINIGPT = re.compile(r"(?:<p>(?P<ref>[^<>\n]{0,300}?)</p>\s*+)?(?P<body>" + _MG_BOX
                     + r"(?:\s*+<delim>\s*+" + _MG_BOX + r")*)")
_MG_PART = re.compile(r"\s*+(?:<\s*+(-?\d{1,6})\s*+>\s*+){4}")
_MG_NUM = re.compile(r"<\s*+(-?\d{1,6})\s*+>")


def minigpt_boxes(body: str) -> list[tuple[float, float, float, float]] | None:
    """The boxes (corners on MiniGPT-v2's 0-100 grid) of a ``{<x1><y1><x2><y2>}`` body, boxes
    joined by ``<delim>``; ``None`` when a box is not four whole numbers within the grid."""
    parts = re.split(r"\}\s*+<delim>\s*+\{|<delim>", body.strip()[1:-1])
    out = []
    for part in parts:
        if not _MG_PART.fullmatch(part):
            return None
        vals = tuple(float(v) for v in _MG_NUM.findall(part))
        if not all(0 <= v <= MINIGPT_GRID for v in vals):
            return None
        out.append(vals)
    return out


# -- coordinates in prose without brackets ------------------------------------------------------

_NUM = r"[-+]?(?:\d++(?:\.\d++)?|\.\d++)"
_BARE = re.compile(r"(?<![\w.,$\u20ac\u00a3\u00a5#/\[+-])(?P<open>\(\s*+)?(?P<a>" + _NUM + r")"
                   r"\s*+,\s*+(?P<b>" + _NUM + r")\s*+,\s*+(?P<c>" + _NUM + r")\s*+,\s*+"
                   r"(?P<d>" + _NUM + r")(?(open)\s*+\))")
_AFTER = re.compile(r"\.?\d|[\w%\u00b0]|\s*+(?:%|\u00b0|(?:,|;|and|or|&)\s*+[-+$\u20ac\u00a3]?"
                    r"\.?\d)|\s++(?:percent|per|dollars?|cents?|euros?|pounds?|usd|eur|gbp|"
                    r"yen|points?|pts|seconds?|secs?|ms|s|min|minutes?|hours?|h|m|cm|mm|km|"
                    r"kg|g|lbs?|miles?|meters?|metres?|inch(?:es)?|feet|ft|mph)\b", re.I)
_BOX_WORD = re.compile(r"\b(?:bounding[\s-]*+box(?:es)?|b-?box(?:es)?|coordinates?|coords?)"
                       r"(?:\s*+\(\s*+[a-z_]\w*(?:\s*+,\s*+[a-z_]\w*){3}\s*+\))?"
                       r"(?:\s*+(?:is|are|of|at|=|:|\u2013|-)(?!\w))*\s*+$", re.I)
_AT = re.compile(r"\bat\s*+$", re.I)
_NOT_PLACE = re.compile(r"[$\u20ac\u00a3\u00a5%]|\b(?:pric(?:e[sd]?|ing)|costs?|trad(?:ed|es|ing)|"
                        r"sold|sells?|bought|buys?|rates?|scores?|scored|probabilit(?:y|ies)|"
                        r"odds|p-?values?|values?|returns?|yields?|times?|measured|recorded|"
                        r"temperatures?|levels?|thresholds?|weights?|accuracy|loss)\b", re.I)
_FRACTION = re.compile(r"[+]?(?:0?\.\d+|1\.0*)")


def _clause_before(text: str, start: int) -> str:
    """The text before ``start`` back to the clause's start (``.``+space, ``;``, ``:``
    excepted after a box word, a line break; 80 characters at most)."""
    lo = max(0, start - 80)
    cut = max(text.rfind(". ", lo, start), text.rfind(";", lo, start),
              text.rfind("\n", lo, start), lo - 1)
    return text[cut + 1:start]


def _bare_box(text: str, m: re.Match) -> bool:
    """Whether four bare numbers at ``m`` are a box by rule 2 or 3 (module docstring)."""
    nums = [m.group(g) for g in "abcd"]
    if _AFTER.match(text, m.end()) or any(n.startswith("-") for n in nums):
        return False                                  # a unit, a longer list; GPS degrees
    seps = text[m.start("a"):m.end("d")]
    if any(re.fullmatch(r"\d{3}", n) for n in nums[1:]) and re.search(r",\d", seps):
        return False                                  # 1,200,300,400: thousands
    before = _clause_before(text, m.start())
    if re.search(r"(?:\d\s*+[,;]|\band)\s*+$", before):
        return False                                  # the tail of a longer list of numbers
    if _BOX_WORD.search(before):
        return True
    if not _AT.search(before) or _NOT_PLACE.search(before):
        return False
    if not all(_FRACTION.fullmatch(n) and "." in n for n in nums):
        return False
    a, b, c, d = map(float, nums)
    return max(a, b, c, d) <= 1 and c > a and d > b


_NAMES = tuple(dict.fromkeys(n for _, names in NAMED_LAYOUTS for n in names))
_NAME = r"(?P<n{i}>" + "|".join(sorted(map(re.escape, _NAMES), key=len, reverse=True)) + \
    r")\s*+[=:]\s*+(?P<v{i}>" + _NUM + r")"
_NAMED = re.compile(r"(?<![\w\"'.])" + r"\s*+[,;]?\s*+(?:and\s++)?".join(
    _NAME.format(i=i) for i in range(4)) + r"(?!\w|\.\d|\s*+[,;]?\s*+[a-z_]\w*\s*+[=:]\s*+\d)",
    re.I)
_LAYOUTS = {frozenset(names): (layout, names) for layout, names in NAMED_LAYOUTS}


def _named_box(m: re.Match) -> tuple[str, tuple[float, ...]] | None:
    """``(layout, raw)`` of four named coordinates, when their names are one layout's."""
    given = {m.group(f"n{i}").lower(): float(m.group(f"v{i}")) for i in range(4)}
    found = _LAYOUTS.get(frozenset(given))
    if found is None or len(given) != 4:
        return None
    layout, names = found
    return layout, tuple(given[n] for n in names)


def prose_boxes(text: str, taken: Sequence[Span]
                ) -> tuple[tuple[Span, tuple[float, ...], str | None], ...]:
    """``(span, raw, layout)`` of the boxes written without brackets in ``text`` (see the
    module docstring), outside the ``taken`` spans (boxes and tags already read); the layout
    is the one named coordinates say, ``None`` for bare numbers (corners under *auto*)."""
    def free(span: Span) -> bool:
        return not any(a < span[1] and span[0] < b for a, b in taken)
    out = []
    named_spans = []
    for m in _NAMED.finditer(text):
        found = _named_box(m)
        if found and free(m.span()):
            out.append((m.span(), found[1], found[0]))
            named_spans.append(m.span())
    for m in _BARE.finditer(text):
        span = m.span()
        if free(span) and not any(a < span[1] and span[0] < b for a, b in named_spans) \
                and _bare_box(text, m):
            out.append((span, tuple(float(m.group(g)) for g in "abcd"), None))
    return tuple(sorted(out, key=lambda b: b[0]))


__all__ = ["MINIGPT", "MINIGPT_GRID", "minigpt_boxes", "prose_boxes"]
