"""Spatial relations decided from boxes: the geometric rules.

Boxes are ``[x1, y1, x2, y2]`` in pixels, ``y`` growing downwards. For a subject box ``s`` and an
object box ``o``: ``cx``, ``cy`` are centres, ``w``, ``h`` sizes, ``W = (s.w + o.w) / 2`` and
``H = (s.h + o.h) / 2`` the mean sizes, ``gap`` the distance between the boxes (0 when they
touch or overlap), ``D = (diag(s) + diag(o)) / 2``, ``xov`` the width of their horizontal
overlap. :data:`MARGIN` (0.25) is the band in which a comparison is too close to call.

=============  =====================================================  ===========================
relation       supported when                                          hallucinated when
=============  =====================================================  ===========================
left of        ``o.cx - s.cx > MARGIN * W``                            ``s.cx - o.cx > MARGIN * W``
right of       mirror of left of                                       mirror
above          ``o.cy - s.cy > MARGIN * H``                            ``s.cy - o.cy > MARGIN * H``
below / under  mirror of above (``under``/``beneath`` also need
               ``xov > 0`` to be supported)                            mirror
on             ``xov >= 0.5 * s.w`` and ``s.y2`` within                ``gap > 0.1 * D`` (no
               ``[o.y1 - 0.1 * o.h, o.y2]`` and ``s.cy <= o.y2``       contact), or ``s.y1 >= o.y2``
in / inside    ``area(s ∩ o) >= 0.7 * area(s)``                        ``gap > 0.1 * D``
next to /      ``gap <= 0.5 * D``                                      ``gap > 2 * D``
near / beside
in front of    ``xov > 0`` and ``s.y2 - o.y2 > 0.05 * H`` (ground-     no horizontal overlap and
               plane heuristic: the nearer object's base is lower)     ``gap > 0.1 * D``, or
                                                                       ``o.y2 - s.y2 > MARGIN * H``
behind         mirror of in front of                                   mirror
=============  =====================================================  ===========================

Anything else is unverifiable from boxes ("too close to call"). Relations boxes cannot decide
(``holding``, ``wearing``, ``looking at``, ``with``) are unverifiable unless an annotation names
the relation or a judge decides. With several instances of either label, the claim is supported
when any pair supports it and hallucinated only when every pair contradicts it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from halluscope.numbers import percent

Box = Sequence[float]

MARGIN = 0.25

#: Phrases (as the splitter writes them) -> canonical spatial relation.
_CANON: list[tuple[re.Pattern, str]] = [
    (re.compile(r"\bleft\b"), "left of"),
    (re.compile(r"\bright\b(?! next| beside| by)"), "right of"),
    (re.compile(r"\bin front of\b|\bfront\b"), "in front of"),
    (re.compile(r"\bbehind\b|\bback of\b|\brear of\b"), "behind"),
    (re.compile(r"\bon top of\b|\batop\b|\bon\b|\bupon\b|\bonto\b"), "on"),
    (re.compile(r"\babove\b|\bover\b|\btop of\b"), "above"),
    (re.compile(r"\bunder\b|\bunderneath\b|\bbeneath\b"), "under"),
    (re.compile(r"\bbelow\b|\bbottom of\b"), "below"),
    (re.compile(r"\bnext to\b|\bbeside\b|\bbesides\b|\bnear\b|\bclose to\b|\bby\b|"
                r"\balongside\b|\badjacent to\b|\bnearby\b"), "next to"),
    (re.compile(r"\binside\b|\bin\b|\bwithin\b|\binto\b"), "in"),
]

SPATIAL = ("left of", "right of", "above", "below", "under", "on", "in", "next to",
           "in front of", "behind")


def canonical(relation: str | None) -> str | None:
    """The spatial relation a phrase names (``"sitting on"`` -> ``on``), or ``None``."""
    if not relation:
        return None
    r = relation.lower().strip()
    for pattern, name in _CANON:
        if pattern.search(r):
            return name
    return None


def _geom(s: Box, o: Box) -> dict[str, float]:
    sw, sh = s[2] - s[0], s[3] - s[1]
    ow, oh = o[2] - o[0], o[3] - o[1]
    dx = max(0.0, max(s[0], o[0]) - min(s[2], o[2]))
    dy = max(0.0, max(s[1], o[1]) - min(s[3], o[3]))
    ix = max(0.0, min(s[2], o[2]) - max(s[0], o[0]))
    iy = max(0.0, min(s[3], o[3]) - max(s[1], o[1]))
    return {
        "scx": (s[0] + s[2]) / 2, "scy": (s[1] + s[3]) / 2,
        "ocx": (o[0] + o[2]) / 2, "ocy": (o[1] + o[3]) / 2,
        "sw": sw, "sh": sh, "ow": ow, "oh": oh,
        "W": max((sw + ow) / 2, 1e-9), "H": max((sh + oh) / 2, 1e-9),
        "gap": math.hypot(dx, dy), "xov": ix, "inter": ix * iy,
        "D": max((math.hypot(sw, sh) + math.hypot(ow, oh)) / 2, 1e-9),
    }


def decide(relation: str, s: Box, o: Box) -> tuple[str | None, str]:
    """``("supported" | "hallucinated" | None, reason)`` for canonical ``relation`` between a
    subject box and an object box."""
    g = _geom(s, o)
    W, H, D = g["W"], g["H"], g["D"]
    if relation in ("left of", "right of"):
        d = g["ocx"] - g["scx"] if relation == "left of" else g["scx"] - g["ocx"]
        why = f"horizontal centre offset {d:.0f}px vs margin {MARGIN * W:.0f}px"
        return ("supported" if d > MARGIN * W else "hallucinated" if d < -MARGIN * W
                else None), why
    if relation in ("above", "below", "under"):
        d = g["ocy"] - g["scy"] if relation == "above" else g["scy"] - g["ocy"]
        why = f"vertical centre offset {d:.0f}px vs margin {MARGIN * H:.0f}px"
        if d > MARGIN * H and (relation != "under" or g["xov"] > 0):
            return "supported", why
        if d > MARGIN * H:       # "under" without horizontal overlap: it said "too close to
            why += ", but no horizontal overlap, which under needs"    # call" at 340 vs 30
        return ("hallucinated" if d < -MARGIN * H else None), why
    if relation == "on":
        sy2 = s[3]
        why = (f"horizontal overlap {g['xov']:.0f}px of {g['sw']:.0f}px, subject bottom "
               f"{sy2:.0f} vs object top {o[1]:.0f}/bottom {o[3]:.0f}, gap {g['gap']:.0f}px")
        if g["xov"] >= 0.5 * g["sw"] and o[1] - 0.1 * g["oh"] <= sy2 <= o[3] and \
                g["scy"] <= o[3]:
            return "supported", why
        if g["gap"] > 0.1 * D or s[1] >= o[3]:
            return "hallucinated", why
        return None, why
    if relation == "in":
        area = max(g["sw"] * g["sh"], 1e-9)
        share = g["inter"] / area
        why = (f"{percent(share, 0.7)} of the subject box inside the object box, "
               f"gap {g['gap']:.0f}px")
        if share >= 0.7:
            return "supported", why
        return ("hallucinated" if g["gap"] > 0.1 * D else None), why
    if relation == "next to":
        why = f"gap {g['gap']:.0f}px vs mean box diagonal {D:.0f}px"
        return ("supported" if g["gap"] <= 0.5 * D else "hallucinated" if g["gap"] > 2 * D
                else None), why
    if relation in ("in front of", "behind"):
        d = s[3] - o[3] if relation == "in front of" else o[3] - s[3]
        why = (f"base offset {d:.0f}px (nearer objects stand lower), horizontal overlap "
               f"{g['xov']:.0f}px")
        if g["xov"] > 0 and d > 0.05 * H:
            return "supported", why
        if (g["xov"] == 0 and g["gap"] > 0.1 * D) or d < -MARGIN * H:
            return "hallucinated", why
        return None, why
    return None, f"no geometric rule for {relation!r}"


def decide_any(relation: str, subjects: Sequence[Box], objects: Sequence[Box]
               ) -> tuple[str | None, str, tuple[int, int] | None]:
    """Decide over every pair of boxes: supported if any pair supports, hallucinated if every
    pair contradicts. Returns ``(label, reason, (i, j) of the deciding pair)``."""
    reasons = []
    all_contradict = True
    for i, s in enumerate(subjects):
        for j, o in enumerate(objects):
            if s is o:
                continue
            label, why = decide(relation, s, o)
            if label == "supported":
                return "supported", why, (i, j)
            if label != "hallucinated":
                all_contradict = False
            reasons.append(why)
    if reasons and all_contradict:
        return "hallucinated", reasons[0] + (f" (and {len(reasons) - 1} more pairs)"
                                             if len(reasons) > 1 else ""), (0, 0)
    return None, reasons[0] if reasons else "no pair of boxes", None
