"""Process consistency (MMP-Next): does a model give the same answer when asked again?

Two metrics over queried outputs:

* **Self-Consistency@N** (``self_consistency``): the same prompt asked N times with sampling.
* **Paraphrase stability** (``paraphrase_stability``): the same question asked in several
  phrasings.

How records are grouped (one group = answers that should agree):

=====================  ==========================================================================
metric                 a record belongs to the group named by
=====================  ==========================================================================
self_consistency       ``sample_of`` (written by ``halluscope query --samples N`` together with
                       ``sample_index``), else ``metadata["group"]``; or the record carries all
                       its answers itself in ``samples`` (a list of strings; ``response`` is
                       then not needed, and an entry that is not a string -- ``null`` for a
                       failed generation -- makes the record a bad record)
paraphrase_stability   ``paraphrase_of``: the id of the paraphrase set -- every phrasing carries
                       it, the canonical phrasing included -- else ``metadata["group"]``
=====================  ==========================================================================

Records without a response (failed calls) are left out; groups with fewer than two answers are
not scored. Answers are compared after normalisation: for yes/no questions (``task ==
"yes-no"``) the answer's first word (``yes`` / ``no``, else ``unknown``); otherwise lower-cased
text without punctuation, articles or extra spaces. With ``claims_fn`` (text -> set of claim
keys, e.g. from the claim splitter) answers are also compared as claim sets (mean pairwise
Jaccard similarity).

Per group: ``majority_share`` (share of answers equal to the most common one), ``consistent``
(all answers equal), ``pairwise`` (share of agreeing answer pairs) and, with claims,
``claim_jaccard``. Dataset values are means over groups, with bootstrap intervals over groups
clustered by image (a group's records name one image: several prompts about it are resampled
together; groups whose records name none or several are their own units);
``flip_rate`` (paraphrase stability) is 1 - consistent_rate.
"""

from __future__ import annotations

import dataclasses
import re
import string
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from itertools import combinations
from typing import Any

from halluscope.errors import RecordError
from halluscope.metrics.base import ItemScore, Metric, MetricSummary, unit_of
from halluscope.metrics.stats import DEFAULT_BOOTSTRAP, Statistic, rate, ratio
from halluscope.records import Record

_PUNCT = str.maketrans({c: " " for c in string.punctuation})
_ARTICLES = {"a", "an", "the"}
_FIRST_WORD = re.compile(r"[a-z]+")


def normalize_answer(text: str | None, *, yes_no: bool = False) -> str:
    """The form answers are compared in (see the module docstring)."""
    text = (text or "").strip().lower()
    if yes_no:
        m = _FIRST_WORD.search(text)
        word = m.group(0) if m else ""
        return word if word in ("yes", "no") else "unknown"
    words = [w for w in text.translate(_PUNCT).split() if w not in _ARTICLES]
    return " ".join(words)


def jaccard(a: set, b: set) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


def group_agreement(answers: Sequence[str], claim_sets: Sequence[set] | None = None
                    ) -> dict[str, float] | None:
    """Agreement of one group's (normalised) answers; None for fewer than two."""
    n = len(answers)
    if n < 2:
        return None
    counts = Counter(answers)
    top, top_n = counts.most_common(1)[0]
    pairs = list(combinations(answers, 2))
    out = {"n": n, "majority": top, "majority_share": top_n / n,
           "consistent": float(len(counts) == 1),
           "pairwise": sum(a == b for a, b in pairs) / len(pairs)}
    if claim_sets is not None:
        cpairs = list(combinations(claim_sets, 2))
        out["claim_jaccard"] = sum(jaccard(a, b) for a, b in cpairs) / len(cpairs)
    return out


def consistency_scores(groups: Mapping[str, Sequence[str]], *, yes_no: bool = False,
                       claims_fn: Callable[[str], Iterable[str]] | None = None
                       ) -> dict[str, Any]:
    """Pure-function twin of both metrics: group id -> raw answers in, means and per-group
    values out (``agreement`` = mean majority share, ``consistent_rate``, ``pairwise``,
    ``flip_rate``, ``claim_jaccard`` when ``claims_fn`` is given)."""
    per_group: dict[str, dict[str, float]] = {}
    for gid, raw in groups.items():
        answers = [normalize_answer(a, yes_no=yes_no) for a in raw if a is not None]
        sets = ([set(claims_fn(a)) for a in raw if a is not None] if claims_fn else None)
        g = group_agreement(answers, sets)
        if g is not None:
            per_group[gid] = g
    n = len(per_group)

    def mean(key: str) -> float | None:
        vals = [g[key] for g in per_group.values() if key in g]
        return sum(vals) / len(vals) if vals else None
    consistent = mean("consistent")
    out: dict[str, Any] = {"groups": n, "agreement": mean("majority_share"),
                           "consistent_rate": consistent, "pairwise": mean("pairwise"),
                           "flip_rate": None if consistent is None else 1.0 - consistent,
                           "per_group": per_group}
    if claims_fn is not None:
        out["claim_jaccard"] = mean("claim_jaccard")
    return out


self_consistency = consistency_scores
paraphrase_stability = consistency_scores


#: Claim-set Jaccard agreement, computed when a metric splits claims (``claims_fn``): a mean of
#: each group's mean pairwise Jaccard similarity, no share of units (no proportion).
_CLAIM_JACCARD = rate(lambda s: ratio(s["claim_jaccard"], s["groups"]), higher_is_better=True)


class _ConsistencyMetric(Metric):
    """Buffers answers per group during ``update`` and scores whole groups in ``finish``
    (cross-record state: it runs in the parent process under ``--workers`` and Ray)."""

    parallel = False

    group_fields: tuple[str, ...] = ()
    own_group_fields: tuple[str, ...] = ()      # groups: --by's alone
    inline = False  # records may carry all their answers in ``samples``
    columns = ("majority_share", "consistent", "pairwise", "claim_jaccard", "answers", "groups")
    # one row per scored group: consistent_rate and flip_rate are shares of the groups, each 0
    # or 1 (all answers equal, or not), so proportions; agreement and pairwise are means of
    # each group's share of answers (or answer pairs), no proportions (a zero-width interval
    # of those is none, ``ci_note`` saying why)
    statistics = {
        "agreement": rate(lambda s: ratio(s["majority_share"], s["groups"]),
                               higher_is_better=True),
        "consistent_rate": rate(lambda s: ratio(s["consistent"], s["groups"]),
                                     higher_is_better=True, proportion=True),
        "pairwise": rate(lambda s: ratio(s["pairwise"], s["groups"]),
                              higher_is_better=True),
        "flip_rate": rate(lambda s: 1.0 - ratio(s["consistent"], s["groups"]), proportion=True),
        "answers_per_group": Statistic(lambda s: ratio(s["answers"], s["groups"])),
        "groups": Statistic(lambda s: s["groups"], count=True),
    }
    meanings = {
        "agreement": "mean over the groups of the share of answers equal to the most common "
                     "one; higher is better",
        "consistent_rate": "share of the groups whose answers all agree; higher is better",
        "pairwise": "mean over the groups of the share of answer pairs that agree",
        "flip_rate": "1 - consistent_rate: share of the groups whose answers do not all agree; "
                     "lower is better",
        "answers_per_group": "mean number of answers in a scored group",
        "groups": "groups of two answers or more scored",
        "claim_jaccard": "mean over the groups of the mean pairwise Jaccard similarity of the "
                         "answers' claim sets (when claims are split)"}

    @classmethod
    def declared_statistics(cls, config: Any) -> dict[str, Statistic] | None:
        """Its statistics, with ``claim_jaccard`` (computed when claims are split)."""
        return {**cls.statistics, "claim_jaccard": _CLAIM_JACCARD}

    def __init__(self, *, claims_fn: Callable[[str], Iterable[str]] | None = None,
                 n_boot: int = DEFAULT_BOOTSTRAP, seed: int = 0, confidence: float = 0.95):
        self.claims_fn = claims_fn
        if claims_fn is not None:
            self.statistics = {**type(self).statistics, "claim_jaccard": _CLAIM_JACCARD}
        super().__init__(n_boot=n_boot, seed=seed, confidence=confidence)

    def reset(self) -> None:
        super().reset()
        # (group, model) -> answers: two models' logs of the same prompts share the prompts'
        # group ids, and one model's answers are never compared with another's
        self.buffers: dict[tuple[str, str], list[tuple[str, frozenset | None]]] = {}
        # (group, model) -> the resampling units (images) its records name
        self.group_units: dict[tuple[str, str], set[str]] = {}
        self.group_tasks: dict[str, bool] = {}
        self._folded = False

    def group_of(self, record: Record) -> str | None:
        md = record.metadata or {}
        for name in self.group_fields:
            if md.get(name) is not None:
                return str(md[name])
        group = md.get("group")
        return str(group) if group is not None else None

    def applies_to(self, record: Record) -> bool:
        if isinstance((record.metadata or {}).get("samples"), list) and self.inline:
            return True
        return record.response is not None and self.group_of(record) is not None

    def _claims(self, text: str) -> frozenset | None:
        return frozenset(self.claims_fn(text)) if self.claims_fn else None

    def _row(self, answers: list[str], sets: list | None) -> tuple[float, ...] | None:
        g = group_agreement(answers, sets)
        if g is None:
            return None
        return (g["majority_share"], g["consistent"], g["pairwise"],
                g.get("claim_jaccard", 0.0), float(g["n"]), 1.0)

    def score(self, record: Record) -> ItemScore:
        """Score a record that carries all its answers in ``samples``; an entry that is not an
        answer (``null`` for a failed generation, a number) makes it a bad record: left out, a
        group of four with two failures was scored as two answers that agree."""
        yes_no = record.task == "yes-no"
        raw = list(record.metadata["samples"])
        wrong = [f"{type(a).__name__ if a is not None else 'null'} at index {i}"
                 for i, a in enumerate(raw) if not isinstance(a, str)]
        if wrong:
            src = record.source
            raise RecordError(f"expected every entry of 'samples' to be one of the model's "
                              f"answers (a string), got {', '.join(wrong[:5])}"
                              f"{' ...' if len(wrong) > 5 else ''}: a failed generation cannot "
                              f"count as agreeing; drop it (and say so) or re-query",
                              field="samples", file=src.file if src else None,
                              line=src.line if src else None)
        answers = [normalize_answer(a, yes_no=yes_no) for a in raw]
        sets = [self._claims(a) for a in raw] if self.claims_fn else None
        row = self._row(answers, sets)
        if row is None:
            row = (0.0,) * len(self.columns)
        return ItemScore(payload={"answers": answers, "majority_share": row[0],
                                  "consistent": bool(row[1])}, row=row)

    def update(self, record: Record) -> ItemScore:
        """Inline ``samples`` are scored at once; other records are buffered by group and
        scored in :meth:`finish` (the returned item carries only the per-item payload)."""
        if self.inline and isinstance((record.metadata or {}).get("samples"), list):
            item = self.score(record)
            if item.row[-1]:
                self.add(item, record=record)
            return item
        key = (self.group_of(record), record.model or "")
        yes_no = record.task == "yes-no"
        answer = normalize_answer(record.response, yes_no=yes_no)
        self.buffers.setdefault(key, []).append((answer, self._claims(record.response or "")))
        self.group_units.setdefault(key, set()).add(
            unit_of(record, self.cluster_by, None, self._images))
        self._folded = False
        group, model = key      # items.jsonl keeps the group as it was, the model beside it
        return ItemScore(payload={"group": group, **({"model": model} if model else {}),
                                  "answer": answer}, row=())

    def merge(self, other: "_ConsistencyMetric") -> None:
        """Merge shards before :meth:`finish` so that a group split across shards is scored
        as one group."""
        other_folded = other._folded
        super().merge(other)
        if not other_folded:
            for key, items in other.buffers.items():
                self.buffers.setdefault(key, []).extend(items)
            for key, units in other.group_units.items():
                self.group_units.setdefault(key, set()).update(units)
            self._folded = False

    def finish(self) -> None:
        if self._folded:
            return
        several = len({model for _, model in self.buffers}) > 1
        for key in sorted(self.buffers):
            items = self.buffers[key]
            sets = [s for _, s in items] if self.claims_fn else None
            row = self._row([a for a, _ in items], sets)
            if row is None:
                continue
            group, model = key      # one model's groups keep the key they always had
            name = f"{group}|model:{model}" if several else group
            by_model = (f"model:{model}",) if model and "model" in self.by else ()
            self.add(ItemScore(payload={}, row=row, groups=by_model),
                     unit=self._cluster(key, f"group:{name}"))
        self._folded = True

    def _cluster(self, key: tuple[str, str], own: str) -> str:
        """The resampling unit of group ``key``: the one unit (image, or ``--cluster-by``
        field) all its records name, so that several prompts about one image are resampled
        together, as every metric's items are; else the group itself (``own``: records with
        no image, or naming several, and ``--cluster-by item``)."""
        units = self.group_units.get(key, set())
        if len(units) == 1 and not next(iter(units)).startswith("item:"):
            return next(iter(units))
        return own

    def compute(self) -> MetricSummary:
        self.finish()
        return super().compute()

    def describe(self) -> dict[str, Any]:
        return {"grouping": [*self.group_fields, 'metadata["group"]'],
                "claims": self.claims_fn is not None, "groups_seen": len(self.buffers)}


class SelfConsistencyMetric(_ConsistencyMetric):
    """Self-Consistency@N: agreement of N sampled answers to one prompt."""

    name = "self_consistency"
    group_fields = ("sample_of",)
    inline = True


class ParaphraseStabilityMetric(_ConsistencyMetric):
    """Paraphrase stability: agreement of answers to rephrasings of one question."""

    name = "paraphrase_stability"
    group_fields = ("paraphrase_of",)


def _shared_setting(name: str) -> property:
    """A setting of :class:`ConsistencyMetric` that its two parts take whenever it is set (the
    class's default until then, which the parts have as well)."""
    own = "_shared_" + name

    def get(self: "ConsistencyMetric") -> Any:
        return getattr(self, own, getattr(Metric, name))

    def put(self: "ConsistencyMetric", value: Any) -> None:
        setattr(self, own, value)
        for part in (self.samples, self.paraphrases):
            setattr(part, name, value)

    return property(get, put, doc=f"``{name}``, shared with the parts (see the class).")


class ConsistencyMetric(Metric):
    """Both consistency metrics in one (the ``consistency`` entry point).

    Records with ``sample_of`` (or ``samples``, or only ``metadata["group"]``) feed
    Self-Consistency@N; records with ``paraphrase_of`` feed paraphrase stability. Results:
    ``self_consistency`` (mean majority share over sample groups), ``self_consistent_rate``
    (share of sample groups whose answers all agree), ``paraphrase_stability`` (share of
    paraphrase sets whose answers all agree), ``paraphrase_agreement`` (mean majority share),
    ``flip_rate`` (1 - paraphrase_stability), ``sample_groups`` and ``paraphrase_groups``.
    """

    name = "consistency"
    own_group_fields: tuple[str, ...] = ()      # groups: --by's alone
    columns = _ConsistencyMetric.columns
    statistics: dict[str, Statistic] = {}
    _RENAME = {
        "samples": {"agreement": "self_consistency", "consistent_rate": "self_consistent_rate",
                    "groups": "sample_groups", "claim_jaccard": "self_claim_jaccard"},
        "paraphrases": {"consistent_rate": "paraphrase_stability",
                        "agreement": "paraphrase_agreement", "flip_rate": "flip_rate",
                        "groups": "paraphrase_groups", "claim_jaccard": "paraphrase_claim_jaccard"},
    }

    meanings = {
        "self_consistency": "Self-Consistency@N: mean over the sample groups (one prompt asked "
                            "N times) of the share of answers equal to the most common one; "
                            "higher is better",
        "self_consistent_rate": "share of the sample groups whose answers all agree",
        "sample_groups": "sample groups of two answers or more scored",
        "self_claim_jaccard": "mean over the sample groups of the mean pairwise Jaccard "
                              "similarity of the answers' claim sets (when claims are split)",
        "paraphrase_stability": "share of the paraphrase sets (one question in several "
                                "phrasings) whose answers all agree; higher is better",
        "paraphrase_agreement": "mean over the paraphrase sets of the share of answers equal to "
                                "the most common one",
        "flip_rate": "1 - paraphrase_stability: share of the paraphrase sets whose answer "
                     "changes with the phrasing; lower is better",
        "paraphrase_groups": "paraphrase sets of two answers or more scored",
        "paraphrase_claim_jaccard": "mean over the paraphrase sets of the mean pairwise Jaccard "
                                    "similarity of the answers' claim sets (when claims are "
                                    "split)"}

    parallel = False  # groups span records: scored in the parent process

    @classmethod
    def declared_statistics(cls, config: Any) -> dict[str, Statistic]:
        """Its parts' statistics under the names it reports them by (:meth:`compute`):
        gates checked before scoring."""
        declared = _ConsistencyMetric.declared_statistics(config)
        return {new: declared[key] for names in cls._RENAME.values()
                for key, new in names.items()}

    def __init__(self, *, claims_fn: Callable[[str], Iterable[str]] | None = None,
                 n_boot: int = DEFAULT_BOOTSTRAP, seed: int = 0, confidence: float = 0.95):
        self.claims_fn = claims_fn
        self.samples = SelfConsistencyMetric(claims_fn=claims_fn, n_boot=n_boot, seed=seed,
                                             confidence=confidence)
        self.paraphrases = ParaphraseStabilityMetric(claims_fn=claims_fn, n_boot=n_boot,
                                                     seed=seed + 1, confidence=confidence)
        super().__init__(n_boot=n_boot, seed=seed, confidence=confidence)

    def reset(self) -> None:
        super().reset()
        if hasattr(self, "samples"):
            self.samples.reset()
            self.paraphrases.reset()

    def _part(self, record: Record) -> _ConsistencyMetric | None:
        md = record.metadata or {}
        if md.get("paraphrase_of") is not None:
            return self.paraphrases if record.response is not None else None
        return self.samples if self.samples.applies_to(record) else None

    def applies_to(self, record: Record) -> bool:
        return self._part(record) is not None

    def score(self, record: Record) -> ItemScore:
        return self.samples.score(record)

    # The pipeline sets ``by``, ``cluster_by`` and ``min_units`` on this metric; its parts
    # fold and compute, so they take them (``--by split`` grouped nothing, and ``--cluster-by``
    # was ignored) when they are set, once, not again for every record.
    by = _shared_setting("by")
    cluster_by = _shared_setting("cluster_by")
    min_units = _shared_setting("min_units")

    def update(self, record: Record) -> ItemScore:
        part = self._part(record)
        if part is None:
            return ItemScore(payload={}, row=())
        item = part.update(record)
        kind = "paraphrase" if part is self.paraphrases else "samples"
        return ItemScore(payload={"kind": kind, **item.payload}, row=())

    def merge(self, other: "ConsistencyMetric") -> None:
        self.samples.merge(other.samples)
        self.paraphrases.merge(other.paraphrases)

    def finish(self) -> None:
        self.samples.finish()
        self.paraphrases.finish()

    def compute(self) -> MetricSummary:
        results: dict[str, Any] = {}
        groups: dict[str, dict[str, Any]] = {}
        n = 0
        for attr, names in self._RENAME.items():
            summary = getattr(self, attr).compute()
            n += summary.n
            # renamed whole: the interval's note, bounds and direction stay with the value
            for key, new in names.items():
                if key in summary.results:
                    results[new] = dataclasses.replace(summary.results[key], name=new)
                for g, part in summary.groups.items():
                    if key in part:
                        groups.setdefault(g, {})[new] = dataclasses.replace(part[key], name=new)
        return MetricSummary(name=self.name, results=results, n=n,
                             groups=dict(sorted(groups.items())), info=self.describe())

    def describe(self) -> dict[str, Any]:
        return {"samples": self.samples.describe(), "paraphrases": self.paraphrases.describe()}
