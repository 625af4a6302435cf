"""How far a judge can be trusted: parse-failure and abstain rates, agreement between repeated
calls, agreement with human labels (Cohen's kappa, via scikit-learn).

* :class:`JudgeStats` counts, per use, calls, calls answered from the cache, failed calls (of
  them ``cut_replies``: replies cut at the token limit, which are never read, and ``refusals``:
  the judge declined or its provider's filter withheld the answer),
  answers that could not be parsed, abstentions (``unverifiable`` / ``unknown``), answers
  from a model other than the pinned one, answers whose server named no model (so the pin is
  not verified: ``model_not_reported``) and verdicts given without a confidence (theirs is
  ``None``, not a default).
* :func:`repeat_agreement` takes, for each item, the labels of repeated calls and reports the
  share of items where every repeat agrees, the mean pairwise agreement, and Fleiss' kappa.
* :func:`human_agreement` aligns judge and human labels by id and reports raw agreement and
  Cohen's kappa. :func:`load_labels` reads a labelled file: JSON Lines
  ``{"id": ..., "label": ...}``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Any

from halluscope.errors import InputError


@dataclass
class UseStats:
    """Counters of one use; ``cached`` counts the calls answered from the response cache."""

    calls: int = 0
    cached: int = 0
    call_failures: int = 0
    parse_failures: int = 0
    abstains: int = 0
    pin_mismatches: int = 0
    unfounded_claims: int = 0     # decompose: claims whose words the response does not hold
    no_confidence: int = 0        # verify: verdicts the judge gave no confidence for (None)
    cut_replies: int = 0          # replies cut at max_tokens or by a filter (also in
    #                               call_failures: not read)
    model_not_reported: int = 0   # answers whose server named no model: the pin unverified
    refusals: int = 0             # the judge declined, or a filter withheld its answer (also
    #                               in call_failures: no verdict; kept in the response cache)

    def to_dict(self) -> dict[str, Any]:
        answered = self.calls - self.call_failures
        rate = (lambda k: round(k / answered, 4) if answered else None)
        return {"calls": self.calls, "cached": self.cached, "call_failures": self.call_failures,
                "parse_failures": self.parse_failures, "abstains": self.abstains,
                "pin_mismatches": self.pin_mismatches, "unfounded_claims": self.unfounded_claims,
                "no_confidence": self.no_confidence, "cut_replies": self.cut_replies,
                "model_not_reported": self.model_not_reported, "refusals": self.refusals,
                "parse_failure_rate": rate(self.parse_failures),
                "abstain_rate": rate(self.abstains)}


@dataclass
class JudgeStats:
    """Counters per use (``verify``, ``classify_yes_no``, ``decompose``)."""

    uses: dict[str, UseStats] = field(default_factory=dict)
    reported_models: Counter = field(default_factory=Counter)

    def use(self, name: str) -> UseStats:
        return self.uses.setdefault(name, UseStats())

    def merge(self, other: "JudgeStats") -> None:
        """Add another copy's counters (a worker process's, a Ray actor's judge)."""
        for name, theirs in other.uses.items():
            mine = self.use(name)
            for f in ("calls", "cached", "call_failures", "parse_failures", "abstains",
                      "pin_mismatches", "unfounded_claims", "no_confidence", "cut_replies",
                      "model_not_reported", "refusals"):
                setattr(mine, f, getattr(mine, f) + getattr(theirs, f))
        self.reported_models.update(other.reported_models)

    def to_dict(self) -> dict[str, Any]:
        return {"uses": {k: v.to_dict() for k, v in sorted(self.uses.items())},
                "reported_models": dict(self.reported_models)}


#: Why kappa has no value when every rating carries the same label: the expected agreement is
#: then 1 and kappa is (p - 1) / (1 - 1), which is 0/0 at best -- not agreement, no number at all.
ONE_LABEL = ("only one label occurs ({label!r}): expected agreement is 1, so kappa is 0/0 "
             "(undefined), not 1")


def fleiss_kappa(rows: Sequence[Sequence[str]]) -> float | None:
    """Fleiss' kappa over items each rated by the same number (>= 2) of raters; ``None`` when
    it is undefined (no rows, or one label only: expected agreement 1, kappa 0/0)."""
    rows = [list(r) for r in rows if len(r) >= 2]
    if not rows:
        return None
    n = len(rows[0])
    if any(len(r) != n for r in rows):
        raise ValueError("Fleiss' kappa needs the same number of ratings for every item")
    categories = sorted({x for r in rows for x in r})
    totals = Counter()
    p_items = []
    for r in rows:
        c = Counter(r)
        totals.update(c)
        p_items.append((sum(v * v for v in c.values()) - n) / (n * (n - 1)))
    n_ratings = len(rows) * n
    p_bar = sum(p_items) / len(rows)
    p_e = sum((totals[k] / n_ratings) ** 2 for k in categories)
    if p_e >= 1.0:
        return None
    return (p_bar - p_e) / (1 - p_e)


def repeat_agreement(labels: Sequence[Sequence[str]]) -> dict[str, Any]:
    """Agreement of repeated judge calls; ``labels[i]`` holds item i's labels over repeats.
    An item with a ``None`` among its labels (a repeat that gave no verdict) is left out and
    counted (``items_left_out``): a failed call is no label, so it neither agrees nor differs."""
    given = [list(r) for r in labels if len(r) >= 2]
    rows = [r for r in given if all(x is not None for x in r)]
    left = {"items_left_out": len(given) - len(rows)} if len(rows) < len(given) else {}
    if not rows:
        return {"items": 0, "repeats": 0, "all_agree": None, "pairwise": None,
                "fleiss_kappa": None, "fleiss_kappa_why_no_value": (
                    "no item had a label from every repeat" if left else
                    "no item has 2 or more labels"), **left}
    all_agree = sum(len(set(r)) == 1 for r in rows) / len(rows)
    pair_scores = []
    for r in rows:
        pairs = list(combinations(r, 2))
        pair_scores.append(sum(a == b for a, b in pairs) / len(pairs))
    why = None
    try:
        kappa = fleiss_kappa(rows)
    except ValueError as exc:
        kappa, why = None, str(exc)
    labels_seen = {x for r in rows for x in r}
    if kappa is None and why is None and len(labels_seen) == 1:
        why = ONE_LABEL.format(label=next(iter(labels_seen)))
    out = {"items": len(rows), "repeats": max(len(r) for r in rows),
           "all_agree": round(all_agree, 4),
           "pairwise": round(sum(pair_scores) / len(pair_scores), 4),
           "fleiss_kappa": None if kappa is None else round(kappa, 4)}
    if why:
        out["fleiss_kappa_why_no_value"] = why
    return {**out, **left}


def human_agreement(judge: Mapping[str, str], human: Mapping[str, str]) -> dict[str, Any]:
    """Raw agreement and Cohen's kappa between judge and human labels on their common ids.

    Kappa is ``None`` where it is undefined -- no common id, or one label on both sides (the
    expected agreement is then 1 and kappa 0/0) -- and ``cohen_kappa_why_no_value`` says why.
    A label that is ``None`` (a failed judge call, an item nobody labelled) is no label: its id
    counts as the other side's only (it was compared as the text "None", a disagreement)."""
    judge = {k: v for k, v in judge.items() if v is not None}
    human = {k: v for k, v in human.items() if v is not None}
    ids = sorted(set(judge) & set(human))
    if not ids:
        return {"n": 0, "agreement": None, "cohen_kappa": None,
                "cohen_kappa_why_no_value": "judge and human labels share no id",
                "only_judge": len(judge), "only_human": len(human)}
    from sklearn.metrics import cohen_kappa_score
    a = [str(judge[i]) for i in ids]
    b = [str(human[i]) for i in ids]
    agree = sum(x == y for x, y in zip(a, b)) / len(ids)
    why = None
    if len(set(a) | set(b)) < 2:
        kappa, why = None, ONE_LABEL.format(label=a[0])
    else:
        kappa = float(cohen_kappa_score(a, b))
    confusion = Counter(f"{x}->{y}" for x, y in zip(b, a))
    out = {"n": len(ids), "agreement": round(agree, 4),
           "cohen_kappa": None if kappa is None else round(kappa, 4),
           "only_judge": len(set(judge) - set(human)), "only_human": len(set(human) - set(judge)),
           "human_to_judge": dict(sorted(confusion.items()))}
    if why:
        out["cohen_kappa_why_no_value"] = why
    return out


def load_labels(path: str | Path, *, field_name: str = "label") -> dict[str, str]:
    """Human labels from JSON Lines ``{"id": ..., "label": ...}`` (``field_name`` to change).
    A label that is null, blank or not a scalar, or an id given twice, is an
    :class:`~halluscope.errors.InputError` naming the line: a null label was read as the label
    "none", and a second line replaced the first in silence."""
    out: dict[str, str] = {}
    lines: dict[str, int] = {}
    with open(path, encoding="utf-8") as fh:
        for lineno, text in enumerate(fh, 1):
            if not text.strip():
                continue
            try:
                obj = json.loads(text)
            except json.JSONDecodeError as exc:
                raise InputError(f"{path}:{lineno}: invalid JSON: {exc.msg}") from None
            if not isinstance(obj, dict) or "id" not in obj or field_name not in obj:
                raise InputError(f"{path}:{lineno}: expected an object with 'id' and "
                                 f"'{field_name}'")
            label, key = obj[field_name], str(obj["id"])
            if label is None or isinstance(label, (dict, list)) or not str(label).strip():
                raise InputError(f"{path}:{lineno}: field '{field_name}': expected a label, "
                                 f"got {json.dumps(label)[:60]}")
            if key in lines:
                raise InputError(f"{path}:{lineno}: id {key!r} is labelled twice (line "
                                 f"{lines[key]} and line {lineno})")
            lines[key] = lineno
            out[key] = str(label).strip().lower()
    return out
