"""Region ids cited in a response, parsed (checked against the offered regions by
:mod:`halluscope.checks.regions`).

``region 3``, ``Region #3``, ``regions 3 and 5``, ``regions 1-5`` / ``regions 2 to 4``, ``[R7]``,
``(R7)``, ``[R1, R9]``, ``[R1-R5]``, ``<region7>`` / ``<region_7>``, JSON ``{"region": 3}`` /
``{"region_id": "R3"}``: one citation per id of a list or range (a range of more than
:data:`MAX_RANGE` ids cites its two ends only). A numeric id compares without case, leading
zeros or an ``R``/``region`` prefix (``R07`` = ``7`` = ``region 7``); a named id keeps its
letters (``rear`` is not ``ear``). What looks like a region id in a form not read (a bare
``R1 and R9``, ``<region A>``, ``region #x``, a number with decimals: ``Region 3.5``, and a
range or bracket with one, read whole: ``regions 1.5-3``, ``[R1.5-R3]``, ``regions 1..3``, a
JSON ``{"region": 1.5}``; never a whole id read out of it) is returned ``unread``, once per
mention: the check lists it as unverifiable rather than the record scoring as if nothing were
cited. Offered regions: ``metadata["regions"]``, ``[{"id": 3, "box": [...], "label": "dog"}]``.

The object a region id is about is read from the words around it by the rules of
:mod:`halluscope.claims.cited_labels`, as for boxes.
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from halluscope.claims.box_forms import REGION_KEY_HINTS, REGION_KEYS, json_label, keys_named
from halluscope.claims.cited_json import Span, all_blobs, blank_json, json_citations_of
from halluscope.claims.cited_labels import BareLabel, label_around, labels_respectively
from halluscope.claims.page_citations import MAX_RANGE

# one region id and the marks between ids of a list or range (possessive: whitespace runs are
# never split two ways, so a failed match costs its length once)
# (a number with decimals is read whole, and listed unread: "Region 3.5" cited region 3, and
# "[R1.5-R3]" was listed as two unread ids 'R1' and 'R3'; "regions 1..3" cited region 1)
_DEC = r"\d++(?:\.++\d++)*+"
_RID = r"(?:#\s*+)?(?:R\s*+)?" + _DEC
_RSEP = r"\s*+(?:-|\u2013|to|through|,|/|and|&|or|;)\s*+"
_REGION = re.compile(
    r"[\[(]\s*+(?P<a>R\s*+" + _DEC + r"(?:" + _RSEP + _RID + r")*)\s*+[\])]"
    r"|<region[\s_-]*+(?P<b>" + _DEC + r")\s*+>"
    r"|\bregions?\s*+(?:#|no\.?|ids?\b)?\s*+(?P<c>" + _RID + r"(?:" + _RSEP + _RID + r")*)",
    re.IGNORECASE)
_ID_RANGE = re.compile(r"(?:#\s*+)?(?:R\s*+)?(" + _DEC + r")(?:\s*+(?:-|\u2013|to|through)\s*+"
                       r"(?:#\s*+)?(?:R\s*+)?(" + _DEC + r"))?", re.IGNORECASE)
# what looks like a region id the forms above do not read: a bare R7, a <region ...> tag, or
# "region #"/"region no."/"region id" before something else
_REGION_HINT = re.compile(r"\bR\d+\b|(?i:<region[^<>\n]{0,20}>|\bregions?\s*+(?:#|no\.|ids?\b))")


@dataclass(frozen=True)
class CitedRegion(BareLabel):
    """A region id cited in a response.

    Attributes:
        id: The id as compared (:func:`norm_region_id`); for an unread mention, its text.
        label: The object it is about, when one could be read, without its articles
            (``label_written``: as written, when it had some).
        span: Character span in the response.
        unread: A mention that looks like a region id in a form the parser does not read
            (``R1 and R9`` without brackets, ``<region A>``): it cannot be checked.
    """

    id: str
    label: str | None
    span: tuple[int, int]
    unread: bool = False
    label_written: str | None = None


# -- labels ------------------------------------------------------------------------------------

def norm_region_id(value: Any) -> str:
    """The key a region id compares by: lower case, and for a number written with an ``R`` or
    ``region`` prefix (``R07``, ``region_7``, ``Region #7``) the number without the prefix or
    leading zeros (``"7"``). A prefix is stripped only before digits: a named id keeps its
    letters (``"rear"`` stays ``"rear"``; it lost its ``r`` and matched a cited ``ear``)."""
    s = str(value).strip().lower()
    s = re.sub(r"^(?:region|r)\s*[#_-]?\s*(?=\d+$)", "", s)
    return (s.lstrip("0") or "0") if s.isdigit() else s


def region_name(value: Any) -> str:
    """A region id as a reader sees it: ``R3`` for a number, any other id as it was offered
    (``"R1"`` was shown as ``RR1``)."""
    s = str(value)
    return f"R{s}" if s.isdigit() else s


def _region_ids(ids: str) -> tuple[list[str], list[Span]]:
    """The ids a list or range of region ids names, in order, each once (``R1, R9`` -> 1, 9;
    ``1-5`` -> 1..5; a range of more than :data:`MAX_RANGE` ids names its two ends only); and
    the spans (in ``ids``) of the ids or ranges written with decimals (``3.5``), which name no
    region: ``Region 3.5`` was read as region 3."""
    out: list[str] = []
    decimals: list[Span] = []
    for m in _ID_RANGE.finditer(ids):
        a, b = m.group(1), m.group(2) or m.group(1)
        if "." in a or "." in b:
            decimals.append(m.span())
            continue
        lo, hi = (int(a), int(b)) if len(a) + len(b) < 16 else (1, 0)
        if lo <= hi and hi - lo < MAX_RANGE:
            out += [str(n) for n in range(lo, hi + 1)]
        else:
            out += [norm_region_id(a), norm_region_id(b)]
    return list(dict.fromkeys(out)), decimals


@dataclass(frozen=True)
class _FoundRegions:
    """The region ids a text cites, found: ``json`` (read whole: their labels are the JSON's),
    ``ids`` (span, the ids of a list or range), ``unread`` (span, the mention); ``prose``: the
    text, its JSON blanked out."""

    prose: str
    json: tuple[CitedRegion, ...]
    ids: tuple[tuple[Span, tuple[str, ...]], ...]
    unread: tuple[tuple[Span, str], ...]

    def __bool__(self) -> bool:
        return bool(self.json or any(ids for _, ids in self.ids) or self.unread)


def _json_region(value: Any, label: str | None, span: Span) -> CitedRegion:
    """A JSON region id: a whole number (``3``, ``3.0``) or text is an id; a number with
    decimals (``1.5``, ``NaN``) names no region and is an unread citation."""
    if isinstance(value, float):
        if not value.is_integer():
            return CitedRegion(repr(value), label, span, unread=True)
        value = int(value)
    return CitedRegion(norm_region_id(value), label, span)


@functools.lru_cache(maxsize=8)
def _regions_in(text: str) -> _FoundRegions:
    def key_of(obj):        # a number with decimals too: {"region": 1.5} cited nothing
        return next((k for _, k in keys_named(obj, REGION_KEYS) if isinstance(
            obj[k], (int, float, str)) and not isinstance(obj[k], bool)), None)

    def read(obj):
        key = key_of(obj)
        return key and (key, lambda at: (at, at + len(key) + 2))
    found, used = json_citations_of(text, all_blobs(text, REGION_KEY_HINTS), read)
    json_found = tuple(_json_region(obj[key_of(obj)], json_label(obj), span)
                       for obj, span in found)
    text = blank_json(text, used)
    ids, ends, unread = [], [], []
    for m in _REGION.finditer(text):
        group = next(g for g in ("a", "b", "c") if m.group(g))
        read, decimals = _region_ids(m.group(group))
        if read:
            ids.append((m.span(), tuple(read)))
        at = m.start(group)
        unread += [((at + a, at + b), text[at + a:at + b]) for a, b in decimals]
        ends.append(m.span())
    starts = [a for a, _ in ends]
    for m in _REGION_HINT.finditer(text):
        i = bisect.bisect_right(starts, m.start()) - 1
        if i >= 0 and ends[i][1] > m.start():        # part of a citation read above
            continue
        unread.append((m.span(), m.group(0)))
    return _FoundRegions(text, json_found, tuple(ids), tuple(unread))


def parse_cited_regions(text: str | None, *, known: Sequence[str] = ()) -> list[CitedRegion]:
    """Every region id cited in ``text``, one per id of a list or range; and, marked
    ``unread``, every mention that looks like a region id in a form not read."""
    if not text:
        return []
    found = _regions_in(text)
    out = list(found.json)
    floor = 0
    for span, ids in found.ids:
        each = labels_respectively(found.prose, span, known, len(ids), floor)
        label, floor = label_around(found.prose, span, known, floor)
        out += [CitedRegion(rid, each[k] if each else label, span) for k, rid in enumerate(ids)]
    for span, mention in found.unread:
        label, _ = label_around(found.prose, span, known)
        out.append(CitedRegion(mention, label, span, unread=True))
    out.sort(key=lambda c: c.span)
    return out
