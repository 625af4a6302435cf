"""Verification: the stage between records and metrics.

A :class:`Verifier` turns one record into a :class:`VerifiedRecord`: it splits the response
into claims (rules, or a judge with ``claim_splitter="judge"``), gathers facts about the image
from the configured providers (annotations, detector), checks every claim against them and puts
the descriptive claims no evidence decides to a model judge. Metrics that declare
``needs_verification`` are handed the verified record (``score_verified``) instead of doing this
themselves; the engines (:func:`halluscope.engines.score_outcomes`) verify each record once per
distinct verifier, wherever scoring runs, so ``claims`` and ``faithscore`` share one verification
and metrics that need none (CHAIR, POPE) do not pay for it.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from halluscope.checks import check_claim
from halluscope.errors import CacheMiss, ConfigError, HalluscopeError, RecordError
from halluscope.judges.fallback import is_model_judge, judge_claims
from halluscope.record_fields import answer_field
from halluscope.records import Record
from halluscope.types import Verdict, VerifiedRecord

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class Verifier:
    """What a record is verified with: evidence providers, an optional judge (a model judge,
    or a check hook), an optional judge-backed claim splitter and the splitter's vocabulary."""

    providers: tuple[Any, ...] = ()
    judge: Any = None
    decomposer: Any = None
    vocabulary: Any = None
    include_analytic: bool = False
    config_key: str = ""

    @property
    def key(self) -> tuple:
        """Verifiers with equal keys give equal verified records (one verification serves
        all of them): the configuration's key, or the identities of the components."""
        if self.config_key:
            return ("config", self.config_key, self.include_analytic)
        return ("objects", tuple(map(id, self.providers)), id(self.judge), id(self.decomposer),
                id(self.vocabulary), self.include_analytic)

    def split_ahead(self, records: list[Record]) -> dict[str, list]:
        """The claims of the responses of ``records``, split together in one ``nlp.pipe`` pass
        (a parse per response costs ~1.4x as much): response -> one claims list per record,
        for :meth:`split` to take within :func:`claims_split_ahead`. The rules splitter only;
        a response it fails on is left out (splitting it alone raises)."""
        texts = [r.response for r in records if isinstance(r.response, str) and r.response]
        if self.decomposer is not None or len(texts) < 2:
            return {}
        from halluscope.claims.splitter import split_claims_or_none
        repeats = Counter(texts)            # a response given again is parsed once
        distinct = list(repeats)
        return {text: [list(claims) for _ in range(repeats[text])]   # (claims are frozen)
                for text, claims in zip(distinct, split_claims_or_none(distinct,
                                                                       self.vocabulary))
                if claims is not None}

    def split(self, text: str, field: str = "response"):
        """The claims of ``text`` (judge splitter, else rules over :attr:`vocabulary`);
        ``field``: the answer's field in the record's file, named by a text too long."""
        if self.decomposer is not None:
            return self.decomposer.decompose(text)
        ready = _AHEAD.get().get(self.key, {}).get(text)
        if ready:
            return ready.pop()
        from halluscope.claims.splitter import MAX_SPLIT_CHARS, split_claims
        if len(text) > MAX_SPLIT_CHARS:
            raise RecordError(f"expected a response of at most {MAX_SPLIT_CHARS:,} characters "
                              f"for the rule-based claim splitter, got {len(text):,}",
                              field=field)
        return split_claims(text, self.vocabulary)

    def split_record(self, record: Record):
        """:meth:`split` of the record's response; a judge that cannot split it (an answer its
        parser cannot read, a failed call) makes this record an item error, not the audit's."""
        try:
            return self.split(record.response or "", answer_field(record))
        except CacheMiss as exc:
            raise exc.for_record(record.id, record.source.file, record.source.line) from None
        except HalluscopeError as exc:
            from halluscope.adapters.types import AuthError
            if self.decomposer is None or isinstance(exc, (RecordError, ConfigError,
                                                           AuthError)):
                raise
            raw = getattr(exc, "raw", None)
            from halluscope.redact import cut_text
            detail = f"; raw answer: {cut_text(raw, 300)!r}" if raw else ""
            raise RecordError(f"the judge could not split the response into claims: "
                              f"{exc}{detail}", file=record.source.file,
                              line=record.source.line, field="response") from None

    def _claims_and_facts(self, record: Record) -> tuple[list, list]:
        """The record's claims and the facts about its image: those prepared while its judge
        questions were asked ahead (:mod:`halluscope.verification_ahead`), else found now. A
        judge's split is taken as ever (its call counted now), the facts prepared for the same
        claims kept."""
        prepared = _PREPARED.get(self.key, {}).pop(id(record), None)
        if prepared is not None and self.decomposer is None:
            claims, facts = prepared
        else:
            claims = self.split_record(record)
            facts = prepared[1] if prepared is not None and prepared[0] == claims else None
            if facts is None:
                from halluscope.evidence.providers import gather_facts
                facts = gather_facts(list(self.providers), record, claims) if claims else []
        if isinstance(facts, Exception):    # what gathering them raised, as it raised it
            raise facts
        return claims, facts

    def verify(self, record: Record) -> VerifiedRecord:
        """Split, gather facts, check and (with a model judge) judge: the verified record."""
        claims, facts = self._claims_and_facts(record)
        if claims and not facts and not record.image and record.image_id is None:
            # nothing to check its claims against: no image, and no annotation knows its id
            # (its claims came out unverifiable one by one, the record never listed)
            raise RecordError("expected the image the response is about ('image' or "
                              "'image_id'), found none, and no annotation knows its id",
                              field="image", file=record.source.file, line=record.source.line)
        if claims:
            from halluscope.evidence.providers import unknown_image
            err = unknown_image(self.providers, record, facts, self.judge)
            if err is not None:
                raise err
        model_judge = is_model_judge(self.judge)
        hook = None if model_judge else self.judge
        verdicts = [check_claim(c, facts, hook) for c in claims]
        if model_judge:
            verdicts, _ = judge_claims(self.judge, record, verdicts,
                                       include_analytic=self.include_analytic)
        return VerifiedRecord(record=record, verdicts=tuple(verdicts))


_AHEAD: ContextVar[dict] = ContextVar("halluscope_claims_ahead", default={})
"""Verifier key -> response -> claims lists split ahead (:func:`claims_split_ahead`)."""

_PREPARED: dict[tuple, dict[int, tuple]] = {}
"""Verifier key -> id of a record -> (its claims, the facts about its image or the error
gathering them raised), prepared while its judge questions were asked ahead
(:mod:`halluscope.verification_ahead`): taken by :meth:`Verifier.verify`, and what no record
took dropped after the batch."""


@contextmanager
def claims_split_ahead(ahead: dict[tuple, dict[str, list]]) -> Iterator[None]:
    """Within the block, :meth:`Verifier.split` takes the claims of a response from ``ahead``
    (verifier key -> :meth:`Verifier.split_ahead`), one list per record, before splitting it
    itself; nothing is kept after the block."""
    token = _AHEAD.set(ahead)
    try:
        yield
    finally:
        _AHEAD.reset(token)


# -- region citations ---------------------------------------------------------------------------

#: What a parser of model text may still raise on hostile input that no test foresaw; it
#: becomes a per-record error, never an aborted audit.
PARSE_FAULTS = (RecursionError, ValueError, OverflowError, MemoryError)


def parse_response(fn, record: Record, **kw):
    """``fn(record.response, **kw)``, a parse failure reported as the record's error."""
    try:
        return fn(record.response, **kw)
    except PARSE_FAULTS as exc:
        from halluscope.redact import cut_text
        raise RecordError(f"expected a response the citation parser can read, got one it "
                          f"failed on ({type(exc).__name__}: {cut_text(str(exc), 120)})",
                          file=record.source.file, line=record.source.line,
                          field="response") from exc


def image_size_of(record: Record) -> tuple[int, int] | None:
    """The image's (width, height): from metadata (``image_size``, a two-number ``size``, or
    ``width`` and ``height``), else read from the file (an unreadable image raises
    :class:`~halluscope.errors.UnreadableImage`); ``None`` for a URL. A size in metadata that
    is not two numbers >= 1 is the record's error naming the field: ``[0, 0]`` scaled every
    cited box to nothing (hallucinated), text or a null stopped the whole run (exit 3)."""
    md = record.metadata
    if md.get("image_size") is not None:
        return _file_agrees(record, "image_size",
                            _metadata_size(record, "image_size", md["image_size"]))
    size = md.get("size")
    if isinstance(size, (list, tuple)) and len(size) == 2:    # else "size" may be another thing
        return _file_agrees(record, "size", _metadata_size(record, "size", size))
    if md.get("width") is not None and md.get("height") is not None:
        return _file_agrees(record, "width",
                            _metadata_size(record, "width", [md["width"], md["height"]]))
    path = record.image_path() if record.image else None
    if path is None:
        return None              # a URL: sizes come from metadata or the boxes stay as given
    from halluscope.imageio import image_size
    return image_size(path)


def _file_agrees(record: Record, field: str, size: tuple[int, int]) -> tuple[int, int]:
    """``size`` (metadata ``field``), or the record's error when its image file reads with
    another size: its boxes were read in the wrong frame (a normalised box scaled to the
    stated 640 x 480 on a 320 x 240 file). The file's size is the one boxes are read in,
    upright (its EXIF orientation applied, as :func:`~halluscope.imageio.open_image` does);
    a file that cannot be read, or a URL, leaves the stated size the only one."""
    path = record.image_path() if record.image else None
    if path is None:
        return size
    from halluscope.imageio import upright_size
    read = upright_size(path)
    if read is None or read[0] == size:
        return size
    (w, h), turn = read
    why = "its boxes would be read in another frame than the image's"
    if turn is not None and turn >= 5 and size == (h, w):
        why = (f"it gives the stored size of a file whose EXIF orientation ({turn}) turns it "
               f"on its side; boxes are read on the upright image, as a viewer shows it")
    what = "width and height" if field == "width" else field
    raise RecordError(f"expected the size of the image file, got {what} {size[0]}x{size[1]} "
                      f"where {record.image} is {w}x{h}: {why}", field=f"metadata.{field}",
                      file=record.source.file, line=record.source.line)


def _metadata_size(record: Record, field: str, size: Any) -> tuple[int, int]:
    """``size`` (metadata ``field``) as (width, height) in pixels, or the record's error."""
    def pixels(v: Any) -> bool:
        return isinstance(v, (int, float)) and not isinstance(v, bool) and 1 <= v < 1e9
    if isinstance(size, (list, tuple)) and len(size) == 2 and all(map(pixels, size)):
        return int(size[0]), int(size[1])
    what = ("width and height" if field == "width" else f"{field} [width, height]")
    raise RecordError(f"expected {what} in pixels, two numbers >= 1, got {size!r:.60}",
                      field=f"metadata.{field}", file=record.source.file,
                      line=record.source.line)


@dataclass(frozen=True)
class VerifiedRegions:
    """A record's cited boxes and region ids with their verdicts, and the truth they were
    checked against (its known objects, offered regions, image size)."""

    record: Record
    boxes: tuple[Any, ...]
    regions: tuple[Any, ...]
    box_verdicts: tuple[Verdict, ...]
    id_verdicts: tuple[Verdict, ...]
    truth: Any
    size: tuple[int, int] | None
    cited_labels: tuple[str, ...]

    @property
    def verdicts(self) -> tuple[Verdict, ...]:
        """Box verdicts, then region-id verdicts."""
        return self.box_verdicts + self.id_verdicts


def _same_size(record: Record, size: tuple[int, int] | None, found: Sequence[Any]) -> None:
    """The record's error when an annotation file gives the image another size than it has:
    its boxes are of another copy of the image (a resized one), and a right box cited on the
    902 x 600 file was hallucinated against the 451 x 300 annotation (IoU 0.24)."""
    for f in found:
        if size and f.size and tuple(f.size) != tuple(size):
            where = (f.provenance or {}).get("file", "an annotation file")
            why = _sideways(record, size, tuple(f.size)) or "its boxes are of another copy"
            raise RecordError(f"expected the image the annotations describe, got a "
                              f"{size[0]}x{size[1]} image where {where} gives "
                              f"{f.size[0]}x{f.size[1]}: {why}",
                              field="image", file=record.source.file, line=record.source.line)


def _sideways(record: Record, size: tuple[int, int], given: tuple[int, ...]) -> str | None:
    """Why the sizes differ when the annotation gives the file's stored (sideways) size and
    the file's EXIF orientation (5-8) turns it: the image is checked upright, so its boxes,
    drawn in the sideways frame, would be misjudged. ``None`` otherwise ("another copy")."""
    path = record.image_path() if record.image else None
    if path is None or given != (size[1], size[0]):
        return None
    from halluscope.imageio import orientation
    turn = orientation(path)
    if turn is None or turn < 5:
        return None
    return (f"it gives the stored size of a file whose EXIF orientation ({turn}) turns it "
            f"on its side; the image is checked upright, as a viewer shows it: annotate the "
            f"upright image")


@dataclass(frozen=True, eq=False)
class RegionVerifier:
    """Checks the boxes and region ids a response cites against the record's offered regions,
    annotation providers and an optional detector (``facts``)."""

    iou_threshold: float
    box_format: str = "auto"
    facts: Any = None
    annotations: tuple[Any, ...] = ()

    @property
    def key(self) -> tuple:
        return ("regions", self.iou_threshold, self.box_format, id(self.facts),
                tuple(map(id, self.annotations)))

    def verify(self, record: Record) -> VerifiedRegions:
        """Gather the truth (the record's own, then the annotation files': their image size
        scales normalised boxes), parse the citations, check every one."""
        from halluscope.checks.regions import check_box, check_region, truth_from_metadata
        from halluscope.claims.citations import parse_cited_boxes, parse_cited_regions
        from halluscope.claims.referring import label_from_prompt
        size = image_size_of(record)
        truth = truth_from_metadata(dict(record.metadata), size)
        own = truth.regions is not None or bool(truth.objects or truth.absent)
        found = self._add_annotations(record, truth)
        _same_size(record, size, found)
        # before the boxes are parsed: a normalised box was left unscaled ("no image size")
        # while the annotation file gave the size
        size = truth.size = size or next((f.size for f in found if f.size), None)
        fmt = record.metadata.get("box_format", self.box_format)
        from halluscope.claims.citations import BOX_FORMATS
        if fmt not in BOX_FORMATS:          # one record's value: a bad record, not the run
            raise RecordError(f"expected box_format in {BOX_FORMATS}, got {fmt!r:.40}",
                              field="metadata.box_format", file=record.source.file,
                              line=record.source.line)
        boxes = parse_response(parse_cited_boxes, record, size=size, box_format=fmt,
                               known=truth.labels())
        # a MiniGPT-v2 [refer] answer is the box alone: its prompt names the object
        boxes = label_from_prompt(boxes, record.prompt)
        regions = parse_response(parse_cited_regions, record, known=truth.labels())
        if (boxes or regions) and not found and not own and self.facts is None:
            # annotation files are the only evidence and none knows the image (a typo): its
            # citations were all unverifiable and the record never listed
            from halluscope.evidence.providers import unknown_image
            err = unknown_image(self.annotations, record, found)
            if err is not None:
                raise err
        cited = tuple(dict.fromkeys(c.label for c in [*boxes, *regions] if c.label))
        _closed_world_absent(found, truth, cited)
        if self.facts is not None and boxes and cited:
            size = self._add_detections(record, truth, cited, size)
        return VerifiedRegions(
            record=record, boxes=tuple(boxes), regions=tuple(regions),
            box_verdicts=tuple(check_box(b, truth, iou_threshold=self.iou_threshold)
                               for b in boxes),
            id_verdicts=tuple(check_region(r, truth) for r in regions),
            truth=truth, size=size, cited_labels=cited)

    def _add_annotations(self, record: Record, truth: Any) -> list[Any]:
        """Annotated objects with boxes (and annotated absences) join the truth; the facts of
        the files that know the record's image."""
        from halluscope.claims.citations import label_key
        from halluscope.evidence.detect import clip_box, has_area
        from halluscope.evidence.providers import facts_of
        found = []
        for provider in self.annotations:
            f = facts_of(provider, record, ())
            if f is None:
                continue
            found.append(f)
            for i in f.instances:
                # the part inside the image the file sizes (a COCO box past the edge made the
                # right box of what is visible "no dog there", its IoU cut by the part outside
                # that no citation can reach); a box of no area (a COCO bbox of width 0) says
                # nowhere where the object is: every cited box had IoU 0 with it
                box = i.box if i.box is None or not f.size else clip_box(i.box, *f.size)
                if box is not None and has_area(box):
                    truth.objects.append({"label": i.label, "box": box, "source": "annotation"})
            truth.absent |= {label_key(a) for a in f.absent} - {None}
        return found

    def _add_detections(self, record: Record, truth: Any, cited: tuple[str, ...], size):
        """The detector's instances of the cited labels (and its absences) join the truth."""
        from halluscope.claims.citations import label_key
        from halluscope.evidence.providers import facts_of
        from halluscope.types import Claim, Evidence
        facts = facts_of(self.facts, record,
                         [Claim(kind="region", subject=lab) for lab in cited])
        if facts is None:
            return size
        truth.objects.extend({"label": inst.label, "box": inst.box, "score": inst.score,
                              "source": "detector"} for inst in facts.instances)
        best = facts.provenance.get("max_scores", {})
        for a in facts.absent:
            if label_key(a) is None:        # no letter or digit: nothing to compare
                continue
            truth.absent.add(label_key(a))
            score = best.get(a)         # None: nothing at or above the detector's floor
            truth.absent_evidence[label_key(a)] = Evidence(
                source="detector", label=a, score=None if score is None else float(score),
                payload={"below": facts.provenance.get("thresholds", {}).get("absent"),
                         **({"floor": facts.provenance.get("floor")} if score is None else {})},
                provenance={"detector": facts.provenance.get("detector")})
        return size or facts.size


def _closed_world_absent(found: Sequence[Any], truth: Any, cited: Sequence[str]) -> None:
    """A cited object that a closed-world annotation of the image (COCO's 80 classes, a file
    with ``"closed_world": true``) names in its vocabulary and none of the image's files
    annotates is known to be absent: a box cited for a dog on a COCO image without one was
    "nothing is known about where dog is", while the claims check of the same words said
    "no dog among the image's annotated objects (closed world)"."""
    from halluscope.checks.common import absence_evidence
    from halluscope.checks.regions import instances_of
    from halluscope.claims.citations import label_key
    from halluscope.claims.coco import coco_node
    closed = [f for f in found if f.closed_world and f.vocabulary]
    if not closed:
        return
    held = {label_key(x) for f in found for x in f.labels()}
    for label in cited:
        key = label_key(label)
        if key is None or key in truth.absent or instances_of(truth, label):
            continue
        node = coco_node(key)
        if key in held or node in held:      # annotated without a place (a box of no area)
            continue
        for f in closed:
            name = next((w for w in sorted(f.vocabulary) if label_key(w) in (key, node)), None)
            if name is not None:
                truth.absent.add(key)
                truth.absent_evidence[key] = absence_evidence(f, name)[0]
                break


# -- page citations -----------------------------------------------------------------------------

@dataclass(frozen=True)
class VerifiedPages:
    """A record's page citations, the verdicts of their pages and quotes (per citation, its
    pages then its quotes), the document they were checked in and the boxes of the quotes found
    there (``highlights``: page, quote, boxes in the document's pixels)."""

    record: Record
    citations: tuple[Any, ...]
    verdicts: tuple[Verdict, ...]
    document: Any
    highlights: tuple[dict[str, Any], ...]


@dataclass(frozen=True, eq=False)
class PageVerifier:
    """Checks the pages and quotes a response cites in the record's document (read through
    ``docs``, the owner's cache of open documents, at most 8)."""

    ocr: str
    dpi: int
    cache: Any
    docs: dict
    highlight: bool = True

    @property
    def key(self) -> tuple:
        return ("pages", self.ocr, self.dpi, id(self.docs), self.highlight)

    def document(self, record: Record):
        """The record's document (opened once per source), a
        :class:`~halluscope.evidence.documents.DocumentSet` of them when it carries several,
        or ``None`` when it names none."""
        from halluscope.evidence.documents import DocumentSet
        from halluscope.records import record_document_source
        src = record_document_source(record)
        if src is None:
            return None
        if isinstance(src, dict):
            keys = {self._key(v) for v in src.values()}
            return DocumentSet({k: self._open(v, keep=keys) for k, v in src.items()})
        return self._open(src)

    @staticmethod
    def _key(src: Any) -> Any:
        return src if isinstance(src, str) else tuple(src)

    def _open(self, src: Any, keep: set = frozenset()):
        """The document of ``src`` from ``docs`` (opened there when it is not); the oldest
        open one not in ``keep`` (the record's others) is closed past 8."""
        from halluscope.evidence.documents import Document
        key = self._key(src)
        if key not in self.docs:
            old = [k for k in self.docs if k not in keep]
            if len(self.docs) >= 8 and old:
                self.docs.pop(old[0]).close()
            self.docs[key] = Document(src, ocr=self.ocr, dpi=self.dpi, cache=self.cache)
        return self.docs[key]

    def verify(self, record: Record) -> VerifiedPages:
        """Open the document, parse the page citations, check them, box the found quotes."""
        from halluscope.errors import UnreadableImage
        from halluscope.checks.pages import check_pages
        from halluscope.claims.citations import parse_page_citations
        try:
            doc = self.document(record)
        except UnreadableImage as exc:
            raise exc.at(record.source.file, record.source.line, "document") from None
        except ConfigError as exc:
            raise RecordError(str(exc), file=record.source.file, line=record.source.line,
                              field="document") from exc
        names = doc.citation_names() if hasattr(doc, "documents") else ()
        citations = parse_response(parse_page_citations, record, names=names)
        unread = [u for c in citations for u in c.unread]
        if unread:       # a fabricated "p. 9" or made-up quote must not go uncounted
            raise RecordError(f"expected a page number in the response's JSON 'page' field, "
                              f"got {', '.join(unread[:3])}", field="response",
                              file=record.source.file, line=record.source.line)
        if doc is None and citations:
            # a document task without its document: its citations came out unverifiable one
            # by one and the record was never listed
            plural = "documents" in (record.metadata or {})
            raise RecordError("expected the document the response cites ('document'), found "
                              "none" + (" ('documents' is not read: give several documents "
                                        "as a list of PDFs in 'document')" if plural else ""),
                              field="document", file=record.source.file,
                              line=record.source.line)
        try:
            verdicts = check_pages(record, doc, citations=citations)
        except UnreadableImage as exc:          # a page that cannot be read or rendered
            raise exc.at(record.source.file, record.source.line, "document") from None
        highlights = self._highlights(record, doc, verdicts) if self.highlight and \
            doc is not None else []
        return VerifiedPages(record=record, citations=tuple(citations),
                             verdicts=tuple(verdicts), document=doc,
                             highlights=tuple(highlights))

    @staticmethod
    def _highlights(record: Record, doc: Any, verdicts) -> list[dict[str, Any]]:
        """Boxes of the supported quotes on the pages they were found on (one entry per
        page for a quote across a page break); of several documents, each names its own
        (``document``) and is drawn on its pages."""
        out = []
        for v in verdicts:
            if v.checker != "page-quote" or not v.evidence:
                continue
            name = v.evidence[0].provenance.get("document") if hasattr(doc, "documents") \
                else None
            if v.label != "supported":
                out += PageVerifier._elsewhere(record, doc, v, name)
                continue
            p = v.evidence[0].payload
            in_doc = doc if name is None else doc.documents[name]
            # a quote across a page break has a part on each page; an elided one, its parts
            # on one page (never the text its ellipsis leaves out)
            spans = [e["char_span"] for e in p.get("elided_parts") or []] or [p["char_span"]]
            for part in p.get("parts") or [{"page": p["page"], "char_spans": spans}]:
                boxes: list = []
                by = {"reading": p["reading"]} if p.get("reading") else {}
                for span in part.get("char_spans") or [part["char_span"]]:
                    try:
                        found = in_doc.char_boxes(part["page"], *span, **by)
                    except Exception as exc:         # noqa: BLE001 - drawing aid only
                        log.debug("no highlight boxes for %s: %s", record.id, exc)
                        found = []
                    boxes += [b for b in found if b not in boxes]
                out.append({**({"document": name} if name is not None else {}),
                            "page": part["page"], "quote": v.claim.quote,
                            "boxes": [[round(x, 1) for x in b] for b in boxes]})
        return out

    @staticmethod
    def _elsewhere(record: Record, doc: Any, v: Verdict, name: str | None
                   ) -> list[dict[str, Any]]:
        """Boxes of a quote not on its cited pages where it was found instead (its evidence's
        ``found_elsewhere``, the first two places; in another of the record's documents too),
        marked ``"cited": false``: where a reader finds what the response put elsewhere."""
        out = []
        for e in (v.evidence[0].payload.get("found_elsewhere") or [])[:2]:
            where = e.get("document", name)
            in_doc = doc if where is None else doc.documents[where]
            by = {"reading": e["reading"]} if e.get("reading") else {}
            for part in e.get("parts") or [e]:
                try:
                    boxes = in_doc.char_boxes(part["page"], *part["char_span"], **by)
                except Exception as exc:         # noqa: BLE001 - drawing aid only
                    log.debug("no highlight boxes for %s: %s", record.id, exc)
                    boxes = []
                out.append({**({"document": where} if where is not None else {}),
                            "page": part["page"], "quote": v.claim.quote, "cited": False,
                            "boxes": [[round(x, 1) for x in b] for b in boxes]})
        return out
