"""Grounding metrics: region citations (boxes, region ids) and page citations (pages, quotes).

``region`` (:class:`RegionMetric`), per record (see :mod:`halluscope.checks.regions`):

* ``precision``: supported citations / decided citations (boxes and region ids; unverifiable
  ones are left out and counted in ``unverifiable``);
* ``recall``: known instances (offered regions, ``metadata["objects"]``, detections) of the
  objects the response cites that got a correct box or region id / all those instances;
* ``fabricated_id_rate``: cited region ids never offered / cited region ids.

Cited boxes that are no box (corners swapped, zero area) are unverifiable and counted in the
tally ``malformed_citations`` by kind.

``page`` (:class:`PageMetric`), per record (see :mod:`halluscope.checks.pages`):

* ``citation_accuracy``: citations whose pages all exist and whose quotes and numbers are all
  found on them / citations;
* ``quote_support_rate``: quotes and numbers found on their cited page / quotes and numbers;
* ``fabricated_page_rate``: cited pages that do not exist / cited pages.

Both write their verdicts as ``claims`` of kind ``region`` / ``page`` at the top level of each
item in ``items.jsonl`` (the :meth:`Verdict.to_dict` shape plus ``quote``), and, under their own
name, what the HTML report draws: cited and known boxes with their verdicts, and the page
boxes where quotes were found.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any, ClassVar

from halluscope.metrics.base import ItemScore, Metric, MetricOption
from halluscope.metrics.explain import ExplainsClaimVerdicts
from halluscope.metrics.stats import Statistic, rate, ratio
from halluscope.records import Record
from halluscope.verification import (PARSE_FAULTS, PageVerifier, RegionVerifier,
                                     VerifiedPages, VerifiedRegions)

log = logging.getLogger(__name__)


def _cited_pages(verdicts: list[Any]) -> list[Any]:
    """The pages a citation's page verdicts are on: the place in the file of a page cited by
    its label (``p. ii``, ``p. 105`` of an article labelled 101-110), else the page cited."""
    return [v.evidence[0].payload.get("page", v.claim.value) if v.evidence else v.claim.value
            for v in verdicts if v.checker == "page-exists"]


def _num(x: float) -> float | None:
    """A JSON-safe number: ``None`` for NaN."""
    x = float(x)
    return None if x != x else x


def _checked_in(verdicts: Any) -> str | None:
    """The name of the document (of a record's several) that a citation's verdicts were checked
    in, from their evidence; ``None`` when it was checked in none (unverifiable)."""
    return next((e.provenance.get("document") for v in verdicts for e in v.evidence
                 if e.provenance.get("document")), None)


def _verdict_dict(v, several: bool = False) -> dict[str, Any]:
    d = v.to_dict()
    if several:                     # the document, of the record's several, it was checked in
        d["document"] = _checked_in([v])
    if v.claim.quote is not None:
        d["quote"] = v.claim.quote
    if v.claim.text is not None:
        d["text"] = v.claim.text
    return d


def _region_claims(verdicts: list[Any], cited: list[Any]) -> list[dict[str, Any]]:
    """The claim dicts of a record's region verdicts (boxes, then ids: ``cited``'s order),
    each saying where its object's name was read (``label_source``): a [refer] box's verdict
    is on the object its prompt named, which the answer never wrote."""
    out = []
    for v, c in zip(verdicts, cited, strict=True):
        d = _verdict_dict(v)
        d["label_source"] = c.label_source
        out.append(d)
    return out


def _universe(truth: Any, cited_labels: list[str]
              ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The known instances with boxes, and those of the cited objects counted once each (one
    of the same object as one kept, with IoU >= 0.9, is the same instance). Labels are matched
    through the record's label index (:func:`~halluscope.checks.regions.instances_of`): every
    instance's label compared with every cited label and every kept one, keys made again each
    time, took 19 s for 1,500 offered regions."""
    from halluscope.checks.regions import instances_of, known_instances
    from halluscope.evidence.detect import iou
    known = list(known_instances(truth))
    wanted: set[int] = set()
    for lab in cited_labels:
        wanted.update(instances_of(truth, lab))
    # same_object is an equivalence (one COCO class, else one label key): the instances of
    # one object are one index list, so a kept instance is compared only with its own kind
    kinds: dict[Any, tuple[int, ...]] = {}
    kept: dict[tuple[int, ...], list[dict[str, Any]]] = {}
    universe: list[dict[str, Any]] = []
    for i, o in enumerate(known):
        if i not in wanted:
            continue
        lab = o["label"]
        if lab not in kinds:
            kinds[lab] = tuple(instances_of(truth, lab))
        same = kept.setdefault(kinds[lab], [])
        if any(iou(o["box"], u["box"]) >= 0.9 for u in same):
            continue
        same.append(o)
        universe.append(o)
    return known, universe


def _recalled(universe: list[dict[str, Any]], hits: list[Any], hit_regions: list[Any],
              threshold: float) -> int:
    """How many of ``universe`` a supported box (IoU >= ``threshold``) or a supported region
    id's box (IoU >= 0.9) found."""
    from halluscope.evidence.detect import iou
    return sum(1 for u in universe
               if any(h is not None and iou(h, u["box"]) >= threshold for h in hits)
               or any(iou(b, u["box"]) >= 0.9 for b in hit_regions))


class RegionMetric(ExplainsClaimVerdicts, Metric):
    """Region grounding of cited boxes and region ids (name ``region``)."""

    name = "region"
    own_group_fields: ClassVar[tuple[str, ...]] = ()      # groups: --by's alone
    needs_verification = True
    options = (
        MetricOption("region_iou", float, None, "IoU a cited box needs with a known instance of "
                     "its object (default 0.5)"),
        MetricOption("box_format", str, "auto", "coordinates of cited boxes: auto, pixels, "
                     "norm (0-1), norm1000 (0-1000) as corners; xywh, xywh-norm, "
                     "xywh-norm1000 as [x, y, width, height]"),
        MetricOption("detector", str, None, "detector backend", config_field=True),
        MetricOption("annotations", tuple, (), "object annotations", config_field=True),
        MetricOption("coco_annotations", tuple, (), "COCO instance annotations",
                     config_field=True),
    )

    infer_rank = 40

    @classmethod
    def fits(cls, sample, config) -> bool:
        """Inferred when records offer regions (``metadata["regions"]``)."""
        return "regions" in sample.metadata_keys

    columns = ("supported", "hallucinated", "unverifiable", "truth", "recalled", "ids",
               "fabricated_ids")
    meanings = {"precision": "share of decided box and region-id citations that point at "
                             "the object they name",
                "recall": "share of the known instances of the cited objects given a right "
                          "box or region id",
                "fabricated_id_rate": "share of cited region ids the record never offered",
                "citations": "box and region-id citations read in the responses",
                "unverifiable": "citations nothing could decide"}
    statistics = {
        # n of each rate is the units it is over (decided citations, known instances, checked
        # ids), not the records: one cited id among 13 records was reported as n=13. Each unit
        # counts 0 or 1 (a citation supported, an instance recalled, an id fabricated):
        # proportions
        "precision": rate(lambda s: ratio(s["supported"], s["supported"] + s["hallucinated"]),
                          higher_is_better=True, units=("supported", "hallucinated"),
                          proportion=True),
        "recall": rate(lambda s: ratio(s["recalled"], s["truth"]), higher_is_better=True,
                       units="truth", proportion=True),
        "fabricated_id_rate": rate(lambda s: ratio(s["fabricated_ids"], s["ids"]),
                                   units="ids", proportion=True),
        "citations": Statistic(lambda s: s["supported"] + s["hallucinated"] + s["unverifiable"],
                               count=True),
        "unverifiable": Statistic(lambda s: s["unverifiable"], count=True),
    }

    def __init__(self, *, iou_threshold: float | None = None, box_format: str = "auto",
                 facts: Any = None, annotations: Any = (), **kw: Any):
        from halluscope.checks.regions import IOU_THRESHOLD
        from halluscope.claims.citations import BOX_FORMATS
        if box_format not in BOX_FORMATS:
            from halluscope.errors import ConfigError
            raise ConfigError(f"expected box_format in {BOX_FORMATS}, got {box_format!r}")
        from halluscope.config import number_option
        self.iou_threshold = number_option({"region_iou": iou_threshold}, "region_iou",
                                           IOU_THRESHOLD)
        if not 0.0 < self.iou_threshold <= 1.0:     # nan, -1 or 2 decided every box alike
            from halluscope.errors import ConfigError
            raise ConfigError(f"expected region_iou in (0, 1], got {iou_threshold!r}")
        self.box_format = box_format
        self.facts = facts
        self.annotations = list(annotations)
        super().__init__(**kw)

    @classmethod
    def from_config(cls, config: Any, **kw: Any) -> "RegionMetric":
        opts = dict(getattr(config, "options", {}) or {})
        facts = None
        if getattr(config, "detector", None):
            from halluscope.evidence.detector_facts import from_config
            facts = from_config(config)
        annotations = []
        files = tuple(getattr(config, "coco_annotations", ())) + \
            tuple(getattr(config, "annotations", ()))
        if files:
            from halluscope.evidence.annotations import load_annotations
            from halluscope.evidence.providers import AnnotationProvider
            annotations = [AnnotationProvider(load_annotations(p)) for p in files]
        kw.setdefault("n_boot", config.n_boot)
        kw.setdefault("seed", config.seed)
        kw.setdefault("confidence", config.confidence)
        # read as declared (typed): region_iou=abc was an internal error, exit 3
        return cls(iou_threshold=cls.option(config, "region_iou"),
                   box_format=cls.option(config, "box_format"), facts=facts,
                   annotations=annotations, **kw)

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"iou_threshold": self.iou_threshold,
                               "box_format": self.box_format}
        if self.facts is not None:
            out["detector"] = getattr(self.facts, "spec", str(self.facts))
            # its thresholds, identity (weights, versions) and device, as claims records them:
            # the spec alone did not say which absent/present scores decided the boxes
            describe = getattr(self.facts, "describe", None)
            if callable(describe):
                out["providers"] = [describe()]
        if self.annotations:        # the files and what they held that gave no fact
            out["annotations"] = [a.describe() for a in self.annotations]
        return out

    def applies_to(self, record: Record) -> bool:
        """A response that cites a box or region id (read, or only recognised as one): one
        citing nothing is skipped with its reason, offered regions or not (it was scored as a
        row of zeros, counted among the records the rates are over). The citations are found
        once: the verifier reads the ones found here (:mod:`halluscope.claims.citations`)."""
        if not record.response:
            return False
        from halluscope.claims.citations import cites_a_box_or_region
        try:
            return cites_a_box_or_region(record.response)
        except PARSE_FAULTS:
            return True                      # score() reports the failure on the record

    def skip_reason(self, record: Record) -> str:
        if not record.response:
            return "an empty response"
        return "cites no box or region id"

    needs_verification = True

    @property
    def verifier(self) -> RegionVerifier:
        """What this metric's records are verified with."""
        return RegionVerifier(iou_threshold=self.iou_threshold, box_format=self.box_format,
                              facts=self.facts, annotations=tuple(self.annotations))

    def score(self, record: Record) -> ItemScore:
        """Verify ``record``'s citations and score them (direct use)."""
        return self.score_verified(self.verifier.verify(record))

    def score_verified(self, verified: VerifiedRegions, *, emit_claims: bool = True
                       ) -> ItemScore:
        """Precision of the cited boxes and ids, recall over known instances (pure)."""
        from halluscope.claims.citations import same_object
        truth, size, cited_labels = verified.truth, verified.size, verified.cited_labels
        boxes, regions = verified.boxes, verified.regions
        box_verdicts, id_verdicts = verified.box_verdicts, verified.id_verdicts
        verdicts = list(verified.verdicts)

        # recall over known instances of the cited objects whose citations were decided: an
        # object cited only where nothing could check it (a box with no image size to scale
        # it) gave recall 0.0 from nothing
        decided = list(dict.fromkeys(
            c.label for c, v in [*zip(boxes, box_verdicts), *zip(regions, id_verdicts)]
            if c.label and v.label != "unverifiable"))
        cited_labels = [lab for lab in cited_labels
                        if any(same_object(lab, d) for d in decided)]
        known, universe = _universe(truth, cited_labels)
        hits = [v.evidence[0].box for v in box_verdicts if v.label == "supported" and v.evidence]
        hit_ids = {str(v.claim.value) for v in id_verdicts if v.label == "supported"}
        recalled = _recalled(universe, hits, [
            r["box"] for rid, r in (truth.regions or {}).items()
            if rid in hit_ids and r.get("box") is not None], self.iou_threshold)

        counts = Counter(v.label for v in verdicts)
        fabricated = sum(1 for v in id_verdicts if v.label == "hallucinated"
                         and any(e.payload.get("fabricated") for e in v.evidence))
        # ids that could be checked: an id of a record that does not say which regions were
        # offered is unverifiable and outside the rate (it made the rate 0.0 from nothing)
        checked_ids = sum(1 for v in id_verdicts if v.label != "unverifiable")
        row = (counts["supported"], counts["hallucinated"], counts["unverifiable"],
               len(universe), recalled, checked_ids, fabricated)
        payload = {
            "image_size": list(size) if size else None,
            "iou_threshold": self.iou_threshold,
            # label_source: "response", or "prompt" for a [refer] box the answer left unnamed
            "boxes": [{"label": b.label, "label_source": b.label_source,
                       "box": [round(x, 2) for x in b.box] if b.box else None,
                       "raw": list(b.raw), "format": b.format, "coords": b.coords,
                       "layout": b.layout,
                       "verdict": v.label, "reason": v.reason}
                      for b, v in zip(boxes, box_verdicts)],
            "regions": [{"id": r.id, "label": r.label,
                         "label_source": r.label_source,
                         "verdict": v.label, "reason": v.reason}
                        for r, v in zip(regions, id_verdicts)],
            "known": [{"label": o.get("label"), "box": [round(x, 2) for x in o["box"]],
                       "source": o.get("source"),
                       **({"region": o["region"]} if "region" in o else {}),
                       **({"score": round(o["score"], 4)} if o.get("score") else {})}
                      for o in known],
            "precision": _num(ratio(row[0], row[0] + row[1])),
            "recall": _num(ratio(recalled, len(universe))),
        }
        tallies = {"hallucinated_regions": Counter(
            str(v.claim.value) if v.checker == "region-id" else (v.claim.subject or "?")
            for v in verdicts if v.label == "hallucinated")}
        malformed = Counter(b.malformed[0] for b in boxes if b.malformed)
        if malformed:                        # unverifiable, and said how many and why
            tallies["malformed_citations"] = malformed
        return ItemScore(payload=payload, row=row,
                         top={"claims": _region_claims(verdicts, [*boxes, *regions])}
                         if emit_claims else {},
                         tallies=tallies)


    def finish(self) -> None:
        """Cited boxes that could not be read are said, not only counted: under ``auto`` a box
        that fits the image both as pixels and as 0-1000 is unverifiable until
        ``--box-format`` says which (a run of GPT-4o pixel boxes on small images left most
        citations unverifiable with only the table's count showing it)."""
        bad = self.tallies.get("malformed_citations")
        if not bad:
            return
        kinds = ", ".join(f"{kind} {n:,}" for kind, n in Counter(bad).most_common())
        hint = (f"; pass --box-format (now {self.box_format}) or a record's metadata.box_format "
                f"to say how the numbers read" if "ambiguous scale" in bad else "")
        log.warning("region: %s cited %s could not be read and %s unverifiable (%s)%s",
                    f"{sum(bad.values()):,}", "box" if sum(bad.values()) == 1 else "boxes",
                    "is" if sum(bad.values()) == 1 else "are", kinds, hint)


class PageMetric(ExplainsClaimVerdicts, Metric):
    """Page citations and the quotes attributed to pages (name ``page``)."""

    name = "page"
    own_group_fields: ClassVar[tuple[str, ...]] = ()      # groups: --by's alone
    needs_verification = True
    options = (
        MetricOption("ocr", str, "rapidocr", "OCR for page images and PDF pages without a text "
                     "layer: rapidocr or tesseract[:<langs>]"),
        MetricOption("ocr_dpi", int, 200, "resolution pages are rendered at for OCR"),
    )

    infer_rank = 50

    @classmethod
    def fits(cls, sample, config) -> bool:
        """Inferred for document records."""
        return "document" in sample.tasks

    columns = ("citations", "correct", "pages", "pages_existing", "quotes", "quotes_found")
    meanings = {"citation_accuracy": "share of page citations whose pages exist and hold "
                                     "the quotes and numbers put on them",
                "quote_support_rate": "share of quotes and numbers found on their cited page",
                "fabricated_page_rate": "share of cited pages the document does not have",
                "citations": "page citations read in the responses"}
    statistics = {
        # n: decided citations, checked quotes and numbers, checked pages (not records); each
        # counts 0 or 1 (a citation right, a quote found, a page missing): proportions
        "citation_accuracy": rate(lambda s: ratio(s["correct"], s["citations"]),
                                  higher_is_better=True, units="citations", proportion=True),
        "quote_support_rate": rate(lambda s: ratio(s["quotes_found"], s["quotes"]),
                                   higher_is_better=True, units="quotes", proportion=True),
        "fabricated_page_rate": rate(
            lambda s: ratio(s["pages"] - s["pages_existing"], s["pages"]), units="pages",
            proportion=True),
        "citations": Statistic(lambda s: s["citations"], count=True),
    }

    def __init__(self, *, ocr: str = "rapidocr", dpi: int = 200, cache: Any = None,
                 highlight: bool = True, **kw: Any):
        from halluscope.errors import ConfigError
        if str(ocr).strip().partition(":")[0].lower() not in ("rapidocr", "tesseract"):
            # checked now: the engine loads at the first page without a text layer, and an
            # audit of PDFs with text never named the misspelling
            raise ConfigError(f"unknown OCR engine {ocr!r}; expected rapidocr or "
                              f"tesseract[:<langs>]")
        from halluscope.config import number_option
        self.dpi = number_option({"ocr_dpi": dpi}, "ocr_dpi", 200, int)
        if self.dpi <= 0:
            raise ConfigError(f"expected ocr_dpi as a resolution > 0, got {dpi!r}")
        self.ocr = ocr
        self.cache = cache
        self.highlight = highlight
        self._docs: dict[Any, Any] = {}
        super().__init__(**kw)

    @classmethod
    def from_config(cls, config: Any, **kw: Any) -> "PageMetric":
        from halluscope.evidence.cache import EvidenceCache
        kw.setdefault("n_boot", config.n_boot)
        kw.setdefault("seed", config.seed)
        kw.setdefault("confidence", config.confidence)
        # read as declared (typed): ocr_dpi=abc was an internal error, exit 3
        return cls(ocr=str(cls.option(config, "ocr")), dpi=cls.option(config, "ocr_dpi"),
                   cache=EvidenceCache.from_config(config), **kw)

    def describe(self) -> dict[str, Any]:
        from halluscope.claims import citations
        return {"ocr": self.ocr, "dpi": self.dpi,
                "normalisation": "NFKC, casefold, quotes/dashes unified, line-end hyphens "
                                 "joined, whitespace collapsed, thousands commas dropped; "
                                 "loose match ignores punctuation; a quote cited on "
                                 "consecutive pages is also looked for across their break, "
                                 "then without the running headers/footers there",
                "max_range": citations.MAX_RANGE}

    def applies_to(self, record: Record) -> bool:
        if not record.response or (record.document is None and record.task != "document"):
            return False
        from halluscope.claims.citations import parse_page_citations
        from halluscope.record_documents import record_citation_names
        try:
            return bool(parse_page_citations(record.response,
                                             names=record_citation_names(record)))
        except PARSE_FAULTS:
            return True                      # score() reports the failure on the record

    def skip_reason(self, record: Record) -> str:
        if not record.response:
            return "an empty response"
        if record.document is None and record.task != "document":
            return "no document ('document' field) to check page citations against"
        return "cites no page"

    needs_verification = True

    @property
    def verifier(self) -> PageVerifier:
        """What this metric's records are verified with (sharing its open documents)."""
        return PageVerifier(ocr=self.ocr, dpi=self.dpi, cache=self.cache, docs=self._docs,
                            highlight=self.highlight)

    def score(self, record: Record) -> ItemScore:
        """Verify ``record``'s page citations and score them (direct use)."""
        return self.score_verified(self.verifier.verify(record))

    def score_verified(self, verified: VerifiedPages, *, emit_claims: bool = True
                       ) -> ItemScore:
        """Citation accuracy and quote support of a verified record (pure)."""
        citations, verdicts, doc = verified.citations, list(verified.verdicts), verified.document
        # group verdicts back by citation: each citation yields len(pages) + len(quotes)
        groups, k = [], 0
        for cit in citations:
            n = len(cit.pages) + len(cit.labels) + len(cit.quotes)
            groups.append((cit, verdicts[k:k + n]))
            k += n
        decided = [(c, vs) for c, vs in groups if all(v.label != "unverifiable" for v in vs)]
        page_vs = [v for v in verdicts if v.checker == "page-exists" and v.label != "unverifiable"]
        quote_vs = [v for v in verdicts if v.checker == "page-quote" and v.label != "unverifiable"]
        row = (len(decided), sum(all(v.label == "supported" for v in vs) for _, vs in decided),
               len(page_vs), sum(v.label == "supported" for v in page_vs),
               len(quote_vs), sum(v.label == "supported" for v in quote_vs))
        highlights = list(verified.highlights)
        several = getattr(doc, "documents", None)
        payload = {
            "document": doc.name if doc else None,
            "pages": doc.n_pages if doc and several is None else None,
            **({"documents": {k: d.n_pages for k, d in several.items()}} if several else {}),
            "dpi": self.dpi,
            "citations": [{**({"document": _checked_in(vs)} if several else {}),
                           "pages": _cited_pages(vs), "sentence": c.sentence,
                           "verdicts": [v.label for v in vs]} for c, vs in groups],
            "highlights": highlights,
            "citation_accuracy": _num(ratio(row[1], row[0])),
            "quote_support_rate": _num(ratio(row[5], row[4])),
        }
        tallies = {"fabricated_pages": Counter(str(v.claim.value) for v in page_vs
                                               if v.label == "hallucinated")}
        return ItemScore(payload=payload, row=row,
                         top={"claims": [_verdict_dict(v, several is not None)
                                         for v in verdicts]}
                         if emit_claims else {}, tallies=tallies)

    def finish(self) -> None:
        self.release()

    def release(self) -> None:
        """Close the open documents (also called when a worker process ends)."""
        for doc in self._docs.values():
            doc.close()
        self._docs.clear()
