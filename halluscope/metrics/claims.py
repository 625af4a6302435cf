"""Claim-level hallucination rates: split each response, check every claim, count by kind.

For each record with a free-text response (caption, vqa, document) the response is split into
claims (rule-based, or by a judge with ``claim_splitter="judge"``), facts about its image are
gathered from the configured providers (annotations, detector), and each claim gets a verdict.
The splitter's vocabulary (``options["claims_vocabulary"]``, COCO-80 by default) is extended
with the object names of annotation files in halluscope's simple format
(:func:`splitter_vocabulary`).

Results (descriptive claims only; analytic claims are listed with their verdicts in items but
not counted unless ``options["claims_analytic"] = "include"``):

* ``existence_rate``, ``count_rate``, ``attribute_rate``, ``relation_rate``: hallucinated /
  decided (supported + hallucinated) claims of that kind, with bootstrap intervals;
* ``hallucination_rate``: the same over all kinds; ``unverifiable_rate``: unverifiable / all;
* ``n_claims``: claims counted.

Items get ``"claims": [...]`` at the top level of ``items.jsonl`` (kind, subject, value,
relation, object, span, analytic, verdict, reason, evidence) and per-kind counts under
``claims``.

With a judge (``AuditConfig.judge``, ``--judge SPEC``) the descriptive claims that no evidence
source decides are put to it (:func:`halluscope.judges.fallback.judge_claims`); their verdicts
carry the judge's raw answer as evidence. The metric's info (results.json, the run sheet's
``metrics.claims``) then holds ``judge`` (spec, pin, template sha256s, decoding, the model names
the server reported, ``pin_mismatch``) and ``judge_reliability`` (calls, cached calls,
parse-failure and abstain rates).
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any, ClassVar

from halluscope.errors import ConfigError
from halluscope.judges.fallback import is_model_judge, judge_info
from halluscope.metrics.base import ItemScore, Metric, MetricOption
from halluscope.metrics.explain import ExplainsClaimVerdicts
from halluscope.metrics.stats import Statistic, rate, ratio
from halluscope.records import Record
from halluscope.types import Verdict, VerifiedRecord
from halluscope.verification import Verifier

log = logging.getLogger(__name__)

KINDS = ("existence", "count", "attribute", "relation")


def splitter_vocabulary(spec: Any, providers) -> Any:
    """The vocabulary the splitter maps nouns with: ``spec`` (COCO-80 by default) plus the
    object names of the providers' annotation files that it cannot map, so that a claim about
    a ``helmet`` an annotator labelled gets the node ``helmet`` rather than none."""
    from halluscope.evidence.providers import provider_labels
    labels = provider_labels(providers)
    if not labels:
        return spec
    from halluscope.claims.vocab import load_vocabulary
    return load_vocabulary(spec).extended(labels)


def _rate(kind: str):
    return lambda s: ratio(s[f"{kind}_hallucinated"], s[f"{kind}_decided"])


class ClaimsMetric(ExplainsClaimVerdicts, Metric):
    """Per-kind hallucination rates of claims checked against evidence."""

    name: ClassVar[str] = "claims"
    own_group_fields: ClassVar[tuple[str, ...]] = ()      # groups: --by's alone
    needs_verification: ClassVar[bool] = True
    headline: ClassVar[tuple[str, ...]] = ("hallucination_rate",)
    options: ClassVar[tuple[MetricOption, ...]] = (
        MetricOption("annotations", tuple, (), "object annotations (halluscope JSON, AMBER, "
                     "Visual Genome)", config_field=True),
        MetricOption("coco_annotations", tuple, (), "COCO instance annotations",
                     config_field=True),
        MetricOption("detector", str, None, "detector backend", config_field=True),
        MetricOption("segmenter", str, None, "segmenter backend", config_field=True),
        MetricOption("judge", str, None, "judge for claims no other evidence decides",
                     config_field=True),
        MetricOption("claim_splitter", str, "rules", "rules (spaCy) or judge",
                     config_field=True, choices=("rules", "judge")),
        MetricOption("claims_vocabulary", str, None, "the splitter's object vocabulary "
                     "(default COCO-80, extended by the annotations' labels)"),
        MetricOption("claims_analytic", str, "skip", "include: count analytic claims too",
                     choices=("skip", "include")),
    )

    infer_rank: ClassVar[int] = 30

    @classmethod
    def fits(cls, sample, config) -> bool:
        """Inferred for captions and free-form answers when some evidence source is given."""
        return bool(sample.tasks & {"caption", "vqa"}) and bool(
            config.annotations or config.coco_annotations or config.detector or config.judge)

    columns: ClassVar[tuple[str, ...]] = tuple(
        f"{k}_{c}" for k in KINDS for c in ("hallucinated", "decided", "n")) + (
        "unverifiable", "n_claims")
    meanings: ClassVar[dict[str, str]] = {
        **{f"{k}_rate": f"share of the decided {k} claims found hallucinated" for k in KINDS},
        "hallucination_rate": "share of all decided claims found hallucinated",
        "unverifiable_rate": "share of claims no evidence could decide (unverifiable)",
        "n_claims": "claims the responses were split into"}
    statistics: ClassVar[dict[str, Statistic]] = {
        **{f"{k}_rate": rate(_rate(k), units=f"{k}_decided", proportion=True) for k in KINDS},
        "hallucination_rate": rate(lambda s: ratio(
            sum(s[f"{k}_hallucinated"] for k in KINDS), sum(s[f"{k}_decided"] for k in KINDS)),
            units=tuple(f"{k}_decided" for k in KINDS), proportion=True),
        "unverifiable_rate": rate(lambda s: ratio(s["unverifiable"], s["n_claims"]),
                                  units="n_claims"),
        "n_claims": Statistic(lambda s: s["n_claims"], count=True),
    }

    def __init__(self, *, providers=None, judge=None, decomposer=None, vocabulary=None,
                 include_analytic: bool = False, config_key: str = "", **kw):
        self.providers = list(providers or ())
        self.judge = judge
        self.decomposer = decomposer
        self.vocabulary = vocabulary
        self.include_analytic = include_analytic
        self.config_key = config_key
        self._judge_info: dict[str, Any] | None = None
        super().__init__(**kw)

    @classmethod
    def from_config(cls, config, **kw):
        from halluscope.evidence.providers import build_providers
        opts = config.options or {}
        decomposer = None
        judge = kw.pop("judge", None)
        if judge is None and config.judge:
            from halluscope.judges.loading import judge_from_config
            judge = judge_from_config(config)
        if config.claim_splitter == "judge":
            from halluscope.claims.llm import decomposer_from_config
            decomposer = decomposer_from_config(config, judge=judge)
        elif config.claim_splitter not in ("rules", "", None):
            from halluscope.errors import ConfigError
            raise ConfigError(f"expected claim_splitter 'rules' or 'judge', got "
                              f"{config.claim_splitter!r}")
        providers = kw.pop("providers", None) or build_providers(config)
        return cls(providers=providers, judge=judge, decomposer=decomposer,
                   vocabulary=splitter_vocabulary(opts.get("claims_vocabulary"), providers),
                   include_analytic=cls.option(config, "claims_analytic") == "include",
                   config_key=repr((tuple(map(str, config.coco_annotations)),
                                    tuple(map(str, config.annotations)), config.detector,
                                    config.claim_splitter, opts.get("claims_vocabulary"),
                                    config.judge, opts.get("judge_base_url"),
                                    str(config.cache_dir) if config.judge else None)),
                   n_boot=config.n_boot, seed=config.seed, confidence=config.confidence, **kw)

    empty_answer: ClassVar[str] = "never scored: an empty response has no claim to rate"

    def applies_to(self, record: Record) -> bool:
        """Captions and free-form answers about an image. Document answers are the ``page``
        metric's: no image evidence source can decide what a report's text claims."""
        return record.task in ("caption", "vqa") and bool(record.response)

    def skip_reason(self, record: Record) -> str:
        if record.task not in ("caption", "vqa"):
            return f"not a caption or free-form answer about an image ({record.task} record)"
        return "an empty response"

    def finish(self) -> None:
        """Release the judge (its description is kept for :meth:`describe`)."""
        if is_model_judge(self.judge) and self._judge_info is None:
            self._judge_info = judge_info(self.judge, "verify")
            self.judge.close()

    # -- verification (halluscope.verification), shared with FaithScore ----------------------
    @property
    def verifier(self) -> Verifier:
        """What this metric's records are verified with (built from its components)."""
        return Verifier(providers=tuple(self.providers), judge=self.judge,
                        decomposer=self.decomposer, vocabulary=self.vocabulary,
                        include_analytic=self.include_analytic, config_key=self.config_key)

    def ask_judge_ahead(self, records: list[Record]) -> Any:
        """Ask the judge the questions verifying ``records`` will put to it (splits, checks),
        together (:mod:`halluscope.verification_ahead`); what to forget after the batch."""
        from halluscope.verification_ahead import ask_judge_ahead
        return ask_judge_ahead(self.verifier, records)

    def split(self, text: str):
        """The claims of ``text`` (see :meth:`Verifier.split`)."""
        return self.verifier.split(text)

    def verdicts(self, record: Record) -> list[Verdict]:
        """Every claim of the record's response with its verdict (verified afresh)."""
        return list(self.verifier.verify(record).verdicts)

    def score(self, record: Record) -> ItemScore:
        """Verify ``record`` and score it (direct use; the engines verify once and call
        :meth:`score_verified`)."""
        return self.score_verified(self.verifier.verify(record))

    def counted(self, v: Verdict) -> bool:
        return v.claim.kind in KINDS and (self.include_analytic or not v.claim.analytic)

    def score_verified(self, verified: VerifiedRecord, *, emit_claims: bool = True
                       ) -> ItemScore:
        """Score a verified record (pure). ``emit_claims`` puts its claims list in the item;
        the engines pass False to all but the first metric sharing one verification."""
        verdicts = verified.verdicts
        per = {k: Counter() for k in KINDS}
        unverifiable = n = 0
        for v in verdicts:
            if not self.counted(v):
                continue
            n += 1
            per[v.claim.kind][v.label] += 1
            unverifiable += v.label == "unverifiable"
        row = []
        for k in KINDS:
            c = per[k]
            row += [c["hallucinated"], c["supported"] + c["hallucinated"], sum(c.values())]
        row += [unverifiable, n]
        payload: dict[str, Any] = {"n_claims": len(verdicts), "counted": n}
        for k in KINDS:
            if per[k]:
                payload[k] = dict(per[k])
        halluc = Counter(v.claim.node or v.claim.subject for v in verdicts
                         if v.label == "hallucinated" and self.counted(v)
                         and v.claim.kind == "existence")
        return ItemScore(payload=payload, row=tuple(float(x) for x in row),
                         tallies={"hallucinated_objects": halluc} if halluc else {},
                         top={"claims": verified.claims_list()} if emit_claims else {})

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "splitter": "judge" if self.decomposer is not None else "rules",
            "providers": [getattr(p, "describe", lambda: {"name": getattr(p, "name", "?")})()
                          for p in self.providers],
            "analytic": "include" if self.include_analytic else "skip",
        }
        if self.decomposer is None:
            try:
                from halluscope.claims.splitter import pipeline_name
                out["pipeline"] = pipeline_name()
            except Exception:  # noqa: BLE001 - describing must not fail
                pass
        if is_model_judge(self.judge):
            out.update(self._judge_info or judge_info(self.judge, "verify"))
        if self.vocabulary:
            v = self.vocabulary
            out["vocabulary"] = (f"{v.name} ({len(v)} nodes)" if hasattr(v, "nodes")
                                 else str(v))
        return out
