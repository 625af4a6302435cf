"""How a box a response cites was read, for the report's region table: the numbers as the model
wrote them and, where they were not read as pixels, the convention that turned them into the
pixels the check compared (a JSON box's numbers x first: Gemini's ``box_2d``, written y
first, is turned). The table showed only those pixels (``[307.2, 307.2, 460.8, 460.8]``
for a written ``[600, 600, 900, 900]`` read as 0-1000), numbers the model never wrote."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

#: The conventions a box is read in other than pixels, as the table says them.
CONVENTIONS = {"norm": "fractions of the image", "norm100": "0-100 of the image",
               "norm1000": "0-1000 of the image"}


def box_text(box: Any) -> str:
    """``[600, 600, 900, 900]``: a box's numbers, shortest form."""
    try:
        return "[" + ", ".join(f"{float(v):g}" for v in box) + "]"
    except (TypeError, ValueError):
        return str(box)


def _key(box: Any) -> tuple[float, ...] | None:
    try:
        return tuple(round(float(v), 2) for v in box)
    except (TypeError, ValueError):
        return None


class WrittenBoxes:
    """The ``region`` payload's cited boxes, each given once to the claim of the same box (in
    the payload's order: two citations of one box are two entries)."""

    def __init__(self, boxes: Any):
        self.left = [b for b in boxes or [] if isinstance(b, Mapping)]

    def take(self, value: Sequence[Any]) -> tuple[str, str]:
        """``(what, read_as)`` for a cited box claim's value (pixels): the numbers written,
        and how they were read when not as pixels (``""`` when they were)."""
        key = _key(value)
        for k, entry in enumerate(self.left):
            if key is not None and _key(entry.get("box") or ()) == key:
                del self.left[k]
                raw, coords = entry.get("raw"), entry.get("coords")
                xywh = entry.get("layout") == "xywh"
                if (coords in CONVENTIONS or xywh) and isinstance(raw, (list, tuple)) \
                        and len(raw) == 4:
                    # a JSON box's numbers are kept x first (Gemini writes box_2d y first)
                    order = ", x first" if entry.get("format") == "json" else ""
                    how = ", ".join(filter(None, ["x, y, width, height" if xywh else "",
                                                  CONVENTIONS.get(coords, "")]))
                    return box_text(raw), f"read as {how}{order}: {box_text(value)} px"
                break
        return box_text(value), ""


__all__ = ["CONVENTIONS", "WrittenBoxes", "box_text"]
