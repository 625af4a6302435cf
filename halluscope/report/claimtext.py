"""The short texts an item's view shows for claims and per-item scores: a claim's one-line
summary (``dog = 1``, ``region R1``), a value cut to a length, and a metric payload's rows,
a value that is missing shown as missing (``—``, with its reason where the payload says one).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from halluscope.claims.citations import region_name
from halluscope.redact import cut_text

#: payload keys an item's view shows in a view of their own, never as a row
HIDDEN_KEYS = {"spans", "mentioned", "hallucinated", "question", "prediction", "label"}
MISSING = "\u2014"
_WHY = "_why_no_value"


def number_text(v: Any) -> str:
    """A number as a row shows it (four significant digits, more where four would make it a
    whole number it is not: 0.99997, not 1; a non-finite one as missing)."""
    if isinstance(v, float):
        if not math.isfinite(v):
            return MISSING
        text = f"{v:.4g}"
        return f"{v:.10g}" if float(text).is_integer() and not v.is_integer() else text
    return str(v)


def short_value(value: Any, limit: int = 160) -> str:
    """``value`` as text of at most ``limit`` characters (a list as its items, comma apart)."""
    if isinstance(value, float):
        text = number_text(value)
    elif isinstance(value, (list, tuple)):
        text = ", ".join(short_value(v, 40) for v in value)
    elif isinstance(value, Mapping):
        text = json.dumps(value, ensure_ascii=False, default=str)
    else:
        text = str(value)
    return cut_text(text, limit, "\u2026")


def claim_summary(claim: Mapping[str, Any]) -> str:
    """A compact statement of what a claim says (``dog · colour = brown``)."""
    subject = claim.get("subject") or ""
    kind = claim.get("kind")
    if kind == "relation":
        return f"{subject} \u2014 {claim.get('relation') or '?'} \u2014 " \
               f"{claim.get('object') or '?'}"
    if kind == "page" and isinstance(claim.get("quote"), str):
        # the value is the page the quote is put on: "number = 0" for 4,210 on p. 0
        pages = claim.get("value")
        where = (f"pp. {short_value(pages)}" if isinstance(pages, (list, tuple))
                 else f"p. {short_value(pages)}")
        return f"{subject} \u201c{short_value(claim['quote'], 80)}\u201d on {where}"
    value = claim.get("value")
    if value is not None and not subject and kind == "region":
        # a box or region id cited with no object read: " = 1" named nothing
        return (f"box [{short_value(value)}]" if isinstance(value, (list, tuple))
                else f"region {region_name(value)}")
    if value is not None:
        return f"{subject} = {short_value(value)}" if subject else short_value(value)
    return str(subject)


def detail_rows(payload: Mapping[str, Any]) -> list[tuple[str, str]]:
    """A metric payload's ``(key, value)`` rows. A value that is missing (``None``) reads
    ``—``, with its reason (the payload's ``<key>_why_no_value``, else its ``why_no_value``)
    beside it; that reason is then no row of its own. Empty lists and mappings are left out."""
    rows, said = [], set()
    for k, v in payload.items():
        if k in HIDDEN_KEYS or (isinstance(v, (list, dict)) and not v):
            continue
        if v is None:
            why_key = next((w for w in (f"{k}{_WHY}", _WHY[1:])
                            if isinstance(payload.get(w), str) and payload[w]), None)
            if why_key is not None:
                said.add(why_key)
            rows.append((str(k), MISSING + (f" (no value: {short_value(payload[why_key])})"
                                            if why_key is not None else "")))
        else:
            rows.append((str(k), short_value(v)))
    return [(k, v) for k, v in rows if k not in said]
