"""Where a response writes box, coordinate or region notation: text whose numbers are never
counts.

``A dog [120, 45, 370, 510] dog at the left`` made a claim ``count: dog = 510``: spaCy reads
the box's last number as a numeral of the noun after it, and the claim was scored hallucinated.
:func:`notation_spans` gives the character spans the claim rules read no count in:

* every citation :mod:`halluscope.claims.citations` reads or recognises (so the splitter and the
  citation parser agree on what a box is): Qwen-VL box tokens and ``<ref>/<box>`` tags (the
  ``<ref>`` label excepted: "<ref>two dogs</ref>" is the model's own words), MiniGPT-v2's
  ``<p>dog</p> {<12><30><45><80>}`` (the ``<p>`` label excepted), plain ``[x1, y1, x2, y2]``,
  boxes without brackets (``x1=10, y1=20, x2=50, y2=90``, ``at 0.12, 0.30, 0.45, 0.80``),
  JSON boxes (named coordinates ``{"x": .., "y": .., "w": .., "h": ..}`` too) and region ids,
  ``[R3]``, ``<region7>``, ``region 4``, and what only looks like one of those (an unread
  citation);
* coordinate notation the parser reads no box in: two or more numbers, comma- or
  semicolon-separated, in brackets or parentheses (``(120, 45)``, ``(0.1, 0.2, 0.5, 0.7)``,
  ``[[1, 2], [3, 4]]``, ``[0; 12; 40; 80]``), or four separated by spaces (``[0 12 40 80]``).

A single number in brackets or parentheses ("(2) cats") is no notation.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence

from halluscope.claims import citations as C
from halluscope.claims import cited_regions

Span = tuple[int, int]

_NUM = r"[-+]?\d+(?:\.\d+)?"
#: two or more numbers separated by commas or semicolons in brackets or parentheses (one
#: nesting level of either), or four separated by spaces (``[0; 12; 40; 80] dog`` made a
#: claim ``count: dog = 80``)
_COORDS = re.compile(r"[\[(]\s*+[\[(]?\s*+" + _NUM + r"(?:\s*+[\])]?\s*+[,;]\s*+[\[(]?\s*+"
                     + _NUM + r")++\s*+[\])]?\s*+[\])]"
                     r"|[\[(]\s*+" + _NUM + r"(?:\s++" + _NUM + r"){3}\s*+[\])]")
#: the rest of a JSON key and its scalar value (``": "R3"``, ``": 3``)
_VALUE = re.compile(r'"?\s*+:?\s*+(?:"[^"\n]{0,100}"|[^,}\]\s]{1,100})')
#: a JSON key: a quoted name and its colon (``"label":``, ``"bbox":``), a name of no object
_JSON_KEY = re.compile(r'"[A-Za-z_][\w -]{0,40}"\s*+:')
#: characters without which a text writes no notation (the common caption skips the parsers):
#: a bracket, "region", or a number after a comma, ``=`` or ``:`` (boxes without brackets)
_HINT = re.compile(r"[\[(<{]|region|\d\s*+,\s*+[-+]?\.?\d|[=:]\s*+[-+]?\.?\d", re.IGNORECASE)


def _tag_spans(span: Span, text: str) -> list[Span]:
    """A tag's span, less the words of its ``<ref>`` label."""
    ref = re.search(r"(?:<ref>|<p>|<\|object_ref_start\|>)(.*?)"
                    r"(?:</ref>|</p>|<\|object_ref_end\|>)",
                    text[span[0]:span[1]], re.S)
    if ref is None:
        return [span]
    a, b = span[0] + ref.start(1), span[0] + ref.end(1)
    return [(span[0], a), (b, span[1])]


def _json_value(span: Span, text: str) -> Span:
    """A JSON region citation's span (its key) stretched over the value after the key."""
    m = _VALUE.match(text, span[1] - 1)
    return (span[0], m.end()) if m else span


def notation_spans(text: str) -> tuple[Span, ...]:
    """The sorted, merged character spans of box, coordinate and region notation in ``text``."""
    if not text or _HINT.search(text) is None:
        return ()
    spans: list[Span] = []
    boxes = C._boxes_in(text)
    spans += [span for *_, span in boxes.json]
    for form in boxes.tags:
        for span, *_ in form:
            spans += _tag_spans(span, text)
    spans += [span for span, *_ in boxes.plain]
    spans += [span for span, *_ in boxes.unread]
    spans += [span for span, *_ in boxes.named_bad]
    spans += [span for span, *_ in boxes.loose]
    regions = cited_regions._regions_in(text)
    spans += [_json_value(r.span, text) for r in regions.json]
    spans += [span for span, _ in regions.ids]
    spans += [span for span, _ in regions.unread]
    spans += [m.span() for m in _COORDS.finditer(text)]
    spans += [m.span() for m in _JSON_KEY.finditer(text)]
    merged: list[list[int]] = []
    for a, b in sorted(s for s in spans if s[1] > s[0]):
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return tuple((a, b) for a, b in merged)


#: Grounding markup: the tags around a label (its words are the model's) and around a box
#: (its numbers stay, as notation: a box between two words keeps them apart), and the tokens
#: that hold no number (Kosmos-2's patch indices, Florence-2's ``<loc_N>``)
_MARKUP = re.compile(r"</?(?:ref|p|phrase|box|object)>|<\|object_ref_(?:start|end)\|>"
                     r"|<\|box_(?:start|end)\|>|<\|/?(?:ref|det)\|>|<patch_index_\d{1,5}>"
                     r"|<loc_\d{1,5}>|</delimiter_of_multi_objects/>|<delim>", re.IGNORECASE)


def without_markup(text: str) -> tuple[str, list[int] | None]:
    """``text`` without its grounding markup, what the claim splitter parses, and where each
    of its characters is in ``text`` (one more entry: ``len(text)``); ``(text, None)`` when it
    has none. spaCy read ``<ref>a dog</ref><box>(0,12),(40,80)</box> sits`` as the tokens
    ``<ref>a`` and ``dog</ref><box>...``, and the dog made no claim (``<p>dog</p>``,
    Kosmos-2's ``<phrase>`` alike). Markup between two words leaves one space (none before a
    closing mark); blanking it with spaces left runs of them, which spaCy parses worse."""
    if "<" not in text or _MARKUP.search(text) is None:
        return text, None
    out: list[str] = []
    where: list[int] = []
    at, gap = 0, None            # gap: (offset, separator) of markup dropped since the last text

    def keep(a: int, b: int) -> None:
        nonlocal gap
        if gap is not None and out and not out[-1][-1].isspace() and not text[a].isspace() \
                and text[a] not in ".,;:!?)]}" and out[-1][-1] not in "([{":
            out.append(gap[1])
            where.append(gap[0])
        gap = None
        out.append(text[a:b])
        where.extend(range(a, b))
    for m in _MARKUP.finditer(text):
        if m.start() > at:
            keep(at, m.start())
        if gap is None:
            gap = (m.start(), " ")
        at = m.end()
    if at < len(text):
        keep(at, len(text))
    where.append(len(text))
    return "".join(out), where


def inside(spans: Sequence[Span], at: int) -> bool:
    """Whether character offset ``at`` lies in one of the sorted, disjoint ``spans``."""
    i = bisect.bisect_right(spans, (at, float("inf"))) - 1
    return i >= 0 and spans[i][0] <= at < spans[i][1]


__all__: Sequence[str] = ("notation_spans", "inside", "without_markup")
