"""What :func:`halluscope.comparison.compare` keeps of a run's ``items.jsonl`` lines: not the
lines whole (30 objects a POPE answer: 244 MB at 50,000 answers a run) but the fields it reads
(:func:`projected`), every distinct row and repeated string held once (:class:`Shared`)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

#: What compare reads of an items.jsonl line besides its rows and units, and so all it keeps
#: of one (:func:`projected`): what the changes listing shows (id, image, prompt, response),
#: where the line came from (said in messages), and its finish reason (answers not known
#: whole); with each scored metric's payload (``pope``, ``hallusionbench``: the listing's
#: evidence, the truth and question a metric pairs by) and ``<metric>_summary``, and of its
#: ``scores`` the groups (``model:`` says whose answer it is; every group, ``split:random``,
#: makes the per-group differences that diff gates with ``@GROUP`` read).
LINE_FIELDS = ("id", "image", "image_id", "source", "prompt", "response", "finish_reason")


class Shared:
    """One object for every distinct value met while a run is read: a POPE run's 50,000 rows
    are 6 distinct rows, its units, prompts and labels a few hundred strings, each held once
    instead of once an item."""

    __slots__ = ("_texts", "_rows", "_groups")

    def __init__(self) -> None:
        self._texts: dict[str, str] = {}
        self._rows: dict[tuple[float, ...], tuple[float, ...]] = {}
        self._groups: dict[tuple[str, ...], dict[str, tuple[str, ...]]] = {}

    def groups(self, groups: Sequence[str]) -> dict[str, tuple[str, ...]]:
        """An item's groups for one metric as the one ``{"groups": (...)}`` held for them (a
        POPE run's 50,000 answers fall in a few hundred combinations of split, object and
        model); read only."""
        key = tuple(self.text(g) for g in groups)
        return self._groups.setdefault(key, {"groups": key})

    def text(self, value: Any) -> Any:
        """A string as the one held (any other value as it is)."""
        return self._texts.setdefault(value, value) if type(value) is str else value

    def row(self, row: Sequence[float]) -> tuple[float, ...]:
        """A row (floats) as the one tuple held; a row holding -0.0, which equals 0.0 but is
        not its bits, is kept as its own."""
        row = tuple(row)
        if 0.0 in row and any(v == 0.0 and math.copysign(1.0, v) < 0.0 for v in row):
            return row
        return self._rows.setdefault(row, row)

    def value(self, value: Any) -> Any:
        """A JSON value with its strings as the ones held (its dicts and lists new)."""
        kind = type(value)
        if kind is str:
            return self._texts.setdefault(value, value)
        if kind is dict:
            return {k: self.value(v) for k, v in value.items()}
        if kind is list:
            return [self.value(v) for v in value]
        return value


def projected(item: Mapping[str, Any], scores: Iterable[str], shared: Shared) -> dict[str, Any]:
    """What compare keeps of an items.jsonl line (:data:`LINE_FIELDS`, each scored metric's
    payload and summary, the groups of its ``scores``), its repeated strings held
    once (``shared``): the line whole, 30 objects a POPE answer, held 244 MB at 50,000
    answers a run."""
    out = {k: shared.text(item[k]) if k not in ("id", "source") else item[k]
           for k in LINE_FIELDS if k in item}
    whose = {}
    for name in scores:
        for field in (name, f"{name}_summary"):
            if field in item:
                out[field] = shared.value(item[field])
        groups = item["scores"][name].get("groups")
        kept = [g for g in groups if type(g) is str] if type(groups) is list else []
        if kept:
            whose[name] = shared.groups(kept)
    if whose:
        out["scores"] = whose
    return out


__all__ = ["LINE_FIELDS", "Shared", "projected"]
