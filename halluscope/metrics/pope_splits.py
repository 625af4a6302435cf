"""POPE splits of an answer that lists several, as VLMEvalKit's ``POPE_rating`` counts them.

VLMEvalKit's POPE table gives a question shared by several splits one row whose ``category``
joins them with commas (``"adversarial,popular,random"``). Its ``POPE_rating`` splits that value
on commas and repeats the row once per name before scoring anything, so the row counts once in
each split and once per split in the overall numbers (three times in that example). A parser
that says so (:attr:`~halluscope.metrics.pope_parsers.AnswerParser.explodes_categories`) gets
the same counts: the item's row is the one-hot row times the number of names (what ``compare``
re-adds), and :meth:`~halluscope.metrics.pope.PopeMetric.fold` folds one copy per name, each in
its own split group (an empty name, as in ``"a,,b"``, is a copy in no split group).
"""

from __future__ import annotations

from halluscope.metrics.base import ItemScore

__all__ = ["copies", "split_names"]


def split_names(value: str | None, explode: bool) -> list[str]:
    """The split names of an answer's own ``split``/``category`` value (already lower-cased):
    the value itself, or (``explode``) its comma-separated names, in order, repeats kept."""
    if not value:
        return []
    return value.split(",") if explode else [value]


def copies(item: ItemScore, one_hot: tuple[float, ...]) -> list[ItemScore]:
    """The rows an answer listed in several splits is folded as: one per name in
    ``item.notes["splits"]``, each with the one-hot row, the item's unit, its split's group and
    the item's other groups (the objects)."""
    others = tuple(g for g in item.groups if not g.startswith("split:"))
    return [ItemScore(payload=item.payload, row=one_hot, unit=item.unit,
                      groups=((f"split:{name}",) if name else ()) + others)
            for name in item.notes["splits"]]
