"""What an item cites on its image or in its document, as plain data for the item template.

:func:`item_boxes` picks the boxes drawn on an item's image: boxes the response cites (dashed,
coloured by verdict, labelled with the cited object), the annotation or detection each was
matched to, other claim evidence (detections with their score), and the regions offered to the
model (``R<id>``). :func:`box_legend` says what the styles present mean.

:func:`region_citations` lists what a response cites on the image: each cited box (the object it
is for, its verdict, the instance it was matched to, with IoU) and each cited region id (offered
or fabricated), from the item's ``region`` claims and the ``region`` metric's payload.

:func:`page_citations` lists what a response cites in its document, one entry per citation:
the pages cited (does each exist?), the quotes and numbers put on them (found? where? why
not?), and page thumbnails rendered with :func:`~halluscope.report.overlays.render_document_page`,
the places where a quote was found highlighted. The report only draws what the verdicts say:
highlight boxes come from the ``page`` metric's payload; for a quote found only on a page it does
not cite (``found_elsewhere``), and for payloads without boxes, the span the verdict recorded is
mapped to boxes through the PDF's text layer (never by running OCR: a page without a text layer
is shown without its highlight). Nothing is searched for here. At most :data:`MAX_PAGE_RENDERS`
pages are rendered per item.

Nothing here builds HTML; the template escapes every string.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from halluscope.claims.citations import region_name
from halluscope.report.page_documents import (RENDER_DPI, document_for,  # noqa: F401
                                              open_item_document)

log = logging.getLogger(__name__)

#: Page images rendered per item, at most.
MAX_PAGE_RENDERS = 6
#: Height of a crop around a page's highlights, at most (render pixels).
MAX_CROP = 240
_STATUS = ("supported", "hallucinated", "unverifiable")


def _status(verdict: Any) -> str:
    return verdict if verdict in _STATUS else "unverifiable"


def _box_text(box: Any) -> str:
    try:
        return "[" + ", ".join(f"{float(v):g}" for v in box) + "]"
    except (TypeError, ValueError):
        return str(box)


def _worst(statuses: Sequence[str]) -> str:
    if "hallucinated" in statuses:
        return "hallucinated"
    if not statuses or "unverifiable" in statuses:
        return "unverifiable"
    return "supported"


# -- boxes drawn on the image ------------------------------------------------------------------
def _is_box(value: Any) -> bool:
    return (isinstance(value, (list, tuple)) and len(value) == 4
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value))


_MARK = {"supported": "\u2713", "hallucinated": "\u2717", "unverifiable": "?"}


def _overlap(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two ``[x1, y1, x2, y2]`` boxes."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def item_boxes(item: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Boxes worth drawing on an item's image. Each ``{"box", "label", "verdict", "source"}``
    (plus ``score`` for detections):

    * boxes a region claim cites (``source="cited"``, labelled with the cited object and a
      mark of its verdict, drawn dashed in the verdict's colour);
    * claim evidence boxes: detections (with score) and annotations; for a cited box only the
      instance it was matched to (or came closest to);
    * the regions offered to the model (``region`` payload, ``source="regions"``, ``R<id>``);
    * boxes in other region payload shapes (``regions``/``boxes``/``cited``/``evidence``).

    Boxes that coincide (IoU >= 0.95) are drawn once: as the offered region when one of them is,
    else, from one source, with their labels joined (``person / woman``)."""
    out: list[dict[str, Any]] = []
    seen = set()

    def add(box, label, verdict, source, score=None, ident=None):
        box = [float(v) for v in box]
        cited = source in ("cited", "boxes")
        key = (tuple(round(v, 1) for v in box), label if ident is None else ident,
               "cited" if cited else source)
        if key in seen:
            return
        seen.add(key)
        entry = {"box": box, "label": label, "verdict": verdict, "source": source}
        if isinstance(score, (int, float)) and not isinstance(score, bool) and score > 0:
            entry["score"] = float(score)
        same = [] if cited else [k for k, o in enumerate(out) if o["source"] not in
                                 ("cited", "boxes") and _overlap(box, o["box"]) >= 0.95]
        if source == "regions" and same:            # an offered region names the box
            others = [k for k in same if out[k]["source"] != "regions"]
            if others:
                out[others[0]] = entry
                for k in reversed(others[1:]):
                    del out[k]
                return
        for k in same:
            other = out[k]
            if other["source"] == "regions" and source != "regions":
                return
            if other["source"] == source:           # one source, two names: join them
                if label and label not in other["label"].split(" / "):
                    other["label"] = f"{other['label']} / {label}".lstrip(" /")
                return
        out.append(entry)

    for claim in item.get("claims") or []:
        if not isinstance(claim, Mapping):
            continue
        verdict = claim.get("verdict")
        region = claim.get("kind") == "region"
        if region and _is_box(claim.get("value")):
            subject = str(claim.get("subject") or "cited")
            add(claim["value"], f"{subject} {_MARK.get(str(verdict), '?')}", verdict, "cited",
                ident=subject)
        evidence = [e for e in claim.get("evidence") or []
                    if isinstance(e, Mapping) and _is_box(e.get("box"))]
        for ev in evidence[:1] if region else evidence:
            add(ev["box"], str(ev.get("label") or claim.get("subject") or ""), verdict,
                str(ev.get("source") or ""), ev.get("score"))
    region = item.get("region")
    if isinstance(region, Mapping):
        _add_region_payload(region, add)
    return out


def _add_region_payload(region: Mapping[str, Any], add: Any) -> None:
    """Pass the boxes of a ``region`` payload to ``add`` (:func:`item_boxes`' collector): the
    offered regions (``R<id>``), then the boxes of other payload shapes."""
    for known in region.get("known") or []:
        if isinstance(known, Mapping) and known.get("region") is not None \
                and _is_box(known.get("box")):
            add(known["box"], f"{region_name(known['region'])} {known.get('label') or ''}".strip(),
                None, "regions")
    for key in ("regions", "boxes", "cited", "evidence"):
        for entry in region.get(key) or []:
            if isinstance(entry, Mapping) and _is_box(entry.get("box")):
                label = ident = str(entry.get("label") or entry.get("id") or "")
                if key == "boxes":
                    label = f"{label} {_MARK.get(str(entry.get('verdict')), '?')}"
                add(entry["box"], label, entry.get("verdict"), key, ident=ident)
            elif _is_box(entry):
                add(entry, "", None, key)


#: What each drawn box style means, for the legend under an image (CSS class, text).
_LEGEND = {"regions": ("bx-region", "offered region"),
           "annotation": ("bx-annotation", "annotation"),
           "detector": ("bx-detection", "detection (score)"),
           "segmenter": ("bx-detection", "segment"),
           "supported": ("bx-supported", "cited box, supported"),
           "hallucinated": ("bx-hallucinated", "cited box, hallucinated"),
           "unverifiable": ("bx-unverifiable", "cited box, unverifiable")}


def box_legend(boxes: Sequence[Mapping[str, Any]]) -> list[tuple[str, str]]:
    """The legend entries for the box styles present in ``boxes``, in :data:`_LEGEND`'s order."""
    present = set()
    for b in boxes:
        src = b.get("source")
        present.add(str(b.get("verdict") or "unverifiable") if src in ("cited", "boxes")
                    else src)
    out: list[tuple[str, str]] = []
    for key, entry in _LEGEND.items():
        if key in present and entry not in out:
            out.append(entry)
    return out


# -- regions ------------------------------------------------------------------------------------
def _instance(ev: Mapping[str, Any]) -> str:
    """``person (annotation) [11, 10, 370, 510], IoU 0.997`` for a matched instance."""
    from halluscope.report.decimals import fixed_any    # 0.9972 is no IoU of 1.00
    source = str(ev.get("source") or "")
    if ev.get("region") is not None:
        source = f"offered region {region_name(ev['region'])}"
    if isinstance(score := ev.get("score"), (int, float)) and score:
        source = ", ".join(filter(None, (source, f"score {fixed_any(score, 2)}")))
    text = str(ev.get("label") or "object") + (f" ({source})" if source else "")
    if ev.get("box") is not None:
        text += " " + _box_text(ev["box"])
    if isinstance(ev.get("iou"), (int, float)):
        text += f", IoU {fixed_any(ev['iou'], 2)}"
    return text


def region_citations(item: Mapping[str, Any]) -> dict[str, Any] | None:
    """The item's region citations, or ``None`` when it has none.

    Returns ``{"rows", "offered", "fabricated"}``: a row per citation (``what``: the box or
    ``R<id>``; ``kind``: ``box`` | ``id``; ``object``; ``object_from_prompt``: the object is
    the one a ``[refer]`` prompt names, the answer naming none (``asked``: its phrase);
    ``status``; ``fabricated``; ``matched``: the instance a box was matched to, or came
    closest to, or the offered region an id names; ``reason``), ids first; the offered
    regions (``R<id> label``); the fabricated ids.
    """
    payload = item.get("region") if isinstance(item.get("region"), Mapping) else {}
    claims = [c for c in item.get("claims") or []
              if isinstance(c, Mapping) and c.get("kind") == "region"]
    if not claims and not payload:
        return None
    offered = {}
    for k in payload.get("known") or []:
        if isinstance(k, Mapping) and k.get("region") is not None:
            offered[str(k["region"])] = str(k.get("label") or "")
    from halluscope.claims.citations import norm_region_id   # "R1" offered is id "1" read
    from halluscope.report.boxreading import WrittenBoxes
    rows, fabricated, written = [], [], WrittenBoxes(payload.get("boxes"))
    for c in claims:
        status = _status(c.get("verdict"))
        value = c.get("value")
        evidence = [e for e in c.get("evidence") or [] if isinstance(e, Mapping)]
        is_box = isinstance(value, (list, tuple))
        matched = ""
        if evidence and evidence[0].get("box") is not None:
            matched = _instance(evidence[0])
            if is_box and status != "supported":
                matched = "closest: " + matched
        fab = not is_box and status == "hallucinated" and (
            any(e.get("fabricated") for e in evidence)
            or bool(offered and norm_region_id(value) not in map(norm_region_id, offered)))
        # a numeric id shows as R<id>; a named id or an unread mention ("R1 and R9") as written
        what, read_as = written.take(value) if is_box else (region_name(value), "")
        if fab:
            fabricated.append({"id": what, "object": str(c.get("subject") or "")})
        rows.append({"kind": "box" if is_box else "id", "what": what, "read_as": read_as,
                     "object": str(c.get("subject") or ""), "status": status,
                     "object_from_prompt": c.get("label_source") == "prompt",
                     "asked": str(c.get("text") or "") if c.get("label_source") == "prompt"
                     else "",
                     "verdict": str(c.get("verdict") or "unverifiable"),
                     "fabricated": fab, "matched": matched,
                     "reason": str(c.get("reason") or "")})
    rows.sort(key=lambda r: r["kind"] != "id")          # ids first, as the image shows them
    return {"rows": rows,
            "offered": [f"{region_name(rid)} {label}".strip() for rid, label in
                        sorted(offered.items(), key=lambda t: (len(t[0]), t[0]))],
            "fabricated": fabricated}


def _groups(payload: Mapping[str, Any], claims: list[Mapping[str, Any]]
            ) -> list[tuple[dict[str, Any], list[Mapping[str, Any]]]]:
    """Page claims grouped by citation: by the payload's citations (each has one verdict per
    page then per quote, in the claims' order), else by the citing sentence."""
    cits = [c for c in payload.get("citations") or [] if isinstance(c, Mapping)]
    if cits and sum(len(c.get("verdicts") or []) for c in cits) == len(claims):
        grouped, k = [], 0
        for c in cits:
            n = len(c.get("verdicts") or [])
            part = claims[k:k + n]
            k += n
            pages = [p for p in c.get("pages") or [] if isinstance(p, int)]
            if [x.get("checker") for x in part[:len(pages)]] != ["page-exists"] * len(pages):
                break
            grouped.append(({"pages": pages, "sentence": str(c.get("sentence") or ""),
                             **({"document": c.get("document")} if "document" in c else {})},
                            part))
        else:
            return grouped
    out: list[tuple[dict[str, Any], list[Mapping[str, Any]]]] = []
    for c in claims:
        sentence = str(c.get("text") or "")
        if not out or out[-1][0]["sentence"] != sentence or (
                c.get("checker") == "page-exists" and
                any(x.get("checker") != "page-exists" for x in out[-1][1])):
            out.append(({"pages": [], "sentence": sentence}, []))
        if c.get("checker") == "page-exists" and isinstance(c.get("value"), int):
            out[-1][0]["pages"].append(c["value"])
        out[-1][1].append(c)
    return out


def _same_quote(a: Any, b: Any) -> bool:
    return isinstance(a, str) and isinstance(b, str) and " ".join(a.split()).casefold() == \
        " ".join(b.split()).casefold()


def document_href(doc: Any, images: Any, page: int | None = None) -> str:
    """A link to an opened document's file by a path relative to the report (as an item's
    image is linked: ``ImageStore.link``): a PDF, at ``page`` (``report.pdf#page=4``, which PDF
    viewers open at that page); of page images, ``page``'s file (without ``page``: the file
    of a one-page document). ``""`` when the file is not known (the document could not be
    found or opened) or the report is not written to a file."""
    if doc is None or isinstance(doc, str) or images is None:
        return ""
    pdf = getattr(doc, "pdf_path", None)
    if pdf is not None:
        base = images.link(pdf)
        return f"{base}#page={page}" if base and isinstance(page, int) and page > 0 else base
    files = list(getattr(doc, "images", None) or [])
    if page is None:
        return images.link(files[0]) if len(files) == 1 else ""
    return images.link(files[page - 1]) if isinstance(page, int) and \
        1 <= page <= len(files) else ""


class _Pages:
    """Renders pages of one item's document (at most ``limit``), highlights scaled to the
    render, each distinct (page, highlights) image stored once."""

    def __init__(self, doc: Any, payload: Mapping[str, Any], images: Any, limit: int):
        self.payload = payload
        self.images = images
        self.limit = limit
        self.rendered = 0
        self.left_out = 0
        self.use(doc)

    def use(self, doc: Any, name: str | None = None) -> None:
        """Draw the pages of ``doc`` from now on: of a record's several documents, the one
        called ``name`` (the payload's highlights of that one alone)."""
        self.doc, self.name = doc, name
        dpi = self.payload.get("dpi")
        pdf = doc is not None and not isinstance(doc, str) and doc.pdf_path is not None
        self.scale = RENDER_DPI / float(dpi) if pdf and isinstance(dpi, (int, float)) and dpi \
            else 1.0
        self._no_text: set[int] = set()

    @property
    def ok(self) -> bool:
        return self.doc is not None and not isinstance(self.doc, str)

    def highlights(self, page: int, quote: str | None, char_span: Any = None,
                   reading: Any = None) -> list[list[float]]:
        """Boxes (render pixels) where ``quote`` is on ``page``: the payload's, else the text
        layer's boxes of the character span the verdict recorded (nothing is searched here: a
        verdict without a span gets no highlight), of the page's ``reading`` (``"columns"``)."""
        for h in self.payload.get("highlights") or []:
            if isinstance(h, Mapping) and h.get("page") == page and \
                    h.get("document") == self.name and \
                    _same_quote(h.get("quote"), quote) and h.get("boxes"):
                return [[float(v) * self.scale for v in b] for b in h["boxes"]
                        if isinstance(b, (list, tuple)) and len(b) == 4]
        if not self.ok or not quote or page in self._no_text or not (
                isinstance(char_span, (list, tuple)) and len(char_span) == 2):
            return []
        try:
            return [list(b) for b in self.doc.char_boxes(page, int(char_span[0]),
                                                         int(char_span[1]), reading)]
        except Exception as exc:  # noqa: BLE001 - no text layer (would need OCR), bad span
            log.debug("no highlight on page %s: %s", page, exc)
            self._no_text.add(page)
            return []

    def thumb(self, page: int, boxes: list[list[float]], caption: str, status: str
              ) -> dict[str, Any]:
        """A rendered page (``ref``) and, when it has highlights, a legible crop around them
        (``crop_ref``); both from one render, which counts against the item's limit."""
        entry = {"page": page, "caption": caption, "status": status, "ref": None,
                 "crop_ref": None, "note": "", "marked": bool(boxes),
                 "href": document_href(self.doc, self.images, page)}
        if not self.ok:
            entry["note"] = "not rendered (document not available)"
            entry["status"] = "neutral"
            return entry
        from halluscope.report.overlays import crop_around, render_document_page
        key = "|".join([str(getattr(self.doc, "pdf_path", "") or self.doc.name), str(page),
                        repr([[round(v, 1) for v in b] for b in boxes])])
        if not self.images.has(key):
            if self.rendered >= self.limit:
                self.left_out += 1
                entry["note"] = f"not rendered (at most {self.limit} pages per item)"
                entry["status"] = "neutral"
                return entry
            self.rendered += 1
        doc, made = self.doc, {}

        def render() -> bytes:
            if "png" not in made:
                made["png"] = render_document_page(doc, page, boxes, max_side=0, fmt="PNG")
            return made["png"]

        entry["ref"] = self.images.add_rendered(key, render)
        if entry["ref"] is None:
            entry["note"] = "not rendered (unreadable, or over the report's size budget)"
            entry["status"] = "neutral"
        elif boxes:
            entry["crop_ref"] = self.images.add_rendered(
                key + "|crop", lambda: crop_around(render(), boxes, MAX_CROP),
                max_height=MAX_CROP)
        return entry


def _spans_elsewhere(ev: Mapping[str, Any]) -> dict[int, Any]:
    """Page -> character span of a quote the page check found off its cited pages (the
    evidence's ``found_elsewhere``)."""
    return {e["page"]: e.get("char_span") for e in ev.get("found_elsewhere") or []
            if isinstance(e, Mapping) and isinstance(e.get("page"), int)
            and "document" not in e}           # (one in another document: _in_other_docs)


def _in_other_docs(ev: Mapping[str, Any]) -> list[tuple[str, int, Any, Any]]:
    """Where a quote on no page of its cited document was found in the record's other
    documents (``found_elsewhere`` entries that name their ``document``): (document, page,
    character span, reading)."""
    return [(str(e["document"]), e["page"], e.get("char_span"), e.get("reading"))
            for e in ev.get("found_elsewhere") or []
            if isinstance(e, Mapping) and isinstance(e.get("page"), int)
            and isinstance(e.get("document"), str)]


def _page_row(c: Mapping[str, Any], status: str, pages: "_Pages") -> dict[str, Any]:
    """A cited page: does it exist? ``page``: its place in the file; ``cited``, where that is
    not what was cited: as cited (``p. 105`` of an article whose pages are labelled 101-110);
    ``href``: a link to it in the document's file, when the page exists and the file is
    known."""
    ev = next((e for e in c.get("evidence") or [] if isinstance(e, Mapping)), {})
    page = ev["page"] if isinstance(ev.get("page"), int) else c.get("value")
    href = document_href(pages.doc, pages.images, page) \
        if status != "hallucinated" and isinstance(page, int) else ""
    return {"page": page, **({"cited": c["value"]} if c.get("value") != page else {}),
            "href": href,
            "status": status,
            "exists": {"supported": "yes", "hallucinated": "no"}.get(status, "unknown"),
            "fabricated": status == "hallucinated", "reason": str(c.get("reason") or "")}


def _quote_row(c: Mapping[str, Any], status: str, pages: _Pages,
               marks: dict[int, list[list[float]]], elsewhere: dict[int, dict],
               away: list[tuple[str, int, Any, Any, Any, str]] | None = None) -> dict[str, Any]:
    """A quote or number put on the cited pages: found? where? Its highlights go to ``marks``
    (on a cited page) or ``elsewhere`` (on at most two pages it does not cite); where it is in
    another of the record's documents goes to ``away`` (document, page, quote, span,
    reading, status)."""
    ev = next((e for e in c.get("evidence") or [] if isinstance(e, Mapping)), {})
    kind = str(c.get("subject") or "quote")
    quote = c.get("quote") if isinstance(c.get("quote"), str) else None
    found_on = ev.get("page") if status == "supported" else None
    others = [p for p in ev.get("found_on") or [] if isinstance(p, int)]
    if found_on is not None:
        parts = [x for x in ev.get("parts") or [] if isinstance(x, Mapping)
                 and isinstance(x.get("page"), int)]      # a quote across a page break
        shown = f"{parts[0]['page']}-{parts[-1]['page']}" if parts else found_on
        found = f"p. {shown} ({ev.get('match') or 'match'})"
        elided = [{"page": found_on, "char_span": e.get("char_span")} for e in  # (not the
                  ev.get("elided_parts") or [] if isinstance(e, Mapping)]  # text left out)
        for part in parts or elided or [{"page": found_on, "char_span": ev.get("char_span")}]:
            boxes = pages.highlights(part["page"], quote, part.get("char_span"),
                                     ev.get("reading"))
            have = marks.setdefault(part["page"], [])       # (an elided quote's parts: once)
            have += [b for b in boxes if b not in have]
    elif others:
        found = ("not on" if status == "hallucinated" else "could not read") + \
            " the cited page; on p. " + ", ".join(map(str, others))
        spans = _spans_elsewhere(ev)
        for p in others[:2]:
            seen = elsewhere.setdefault(p, {"boxes": [], "statuses": []})
            seen["boxes"].extend(pages.highlights(p, quote, spans.get(p), ev.get("reading")))
            seen["statuses"].append(status)     # (a blank cited page: unverifiable)
    elif _in_other_docs(ev):
        # unverifiable: the citation named no document of the record's several (or one it
        # does not carry), so none was cited to be "not in"
        found = ("not in the cited document; in " if status == "hallucinated" else
                 "cited document not known; in ") + "; in ".join(
            f"{name} on p. {p}" for name, p, _, _ in _in_other_docs(ev))
        if away is not None:
            away += [(name, p, quote, span, reading, status) for name, p, span, reading
                     in _in_other_docs(ev)[:2]]
    else:
        found = "not found" if status == "hallucinated" else "—"
    return {"text": quote or "", "kind": kind, "status": status,
            "verdict": str(c.get("verdict") or "unverifiable"),
            "found": found, "reason": str(c.get("reason") or "")}


def _thumbs(cited: Sequence[int], page_rows: list[dict[str, Any]], pages: _Pages,
            marks: dict[int, list[list[float]]], elsewhere: dict[int, dict],
            n_pages: int | None) -> list[dict[str, Any]]:
    """The page images of one citation: each cited page (a page that does not exist has no
    image), then the pages it does not cite where its quote is."""
    thumbs = []
    for row in page_rows:
        p = row["page"]
        if not isinstance(p, int):
            continue
        if row["fabricated"]:
            thumbs.append({"page": p, "ref": None, "crop_ref": None,
                           "status": "hallucinated", "marked": False,
                           "caption": f"p. {p} cited", "note": "does not exist"
                           + (f" ({n_pages} pages)" if n_pages else "")})
        elif row["status"] == "supported" or pages.ok:
            got = marks.get(p, [])
            label = f" (page {p} of the file)" if "cited" in row else ""
            thumbs.append(pages.thumb(p, got, f"p. {row.get('cited', p)} cited{label}"
                                      + (", quote highlighted" if got else ""),
                                      "supported" if got else "neutral"))
    for p in [p for p in marks if p not in {row["page"] for row in page_rows}]:
        # found on the page the cited number labels (p. 2: labelled 2), or inside a long range
        thumbs.append(pages.thumb(p, marks[p], f"p. {p}, quote highlighted", "supported"))
    for p, seen in elsewhere.items():
        if p not in cited:      # coloured as the verdict: hallucinated, or unverifiable
            wrong = "hallucinated" in seen["statuses"]      # (its cited page blank)
            note = "" if wrong else " (the cited page has no text to check)"
            thumbs.append(pages.thumb(p, seen["boxes"], f"p. {p} not cited, but the quote is "
                                      f"here{note}", "hallucinated" if wrong else "neutral"))
    return thumbs


def _citation_view(cit: Mapping[str, Any], part: list[Mapping[str, Any]], pages: _Pages,
                   n_pages: int | None, others: Mapping[str, Any] | None = None
                   ) -> dict[str, Any]:
    """One citation of :func:`page_citations`: its pages, quotes and page images (``others``:
    the record's documents by name, where a quote found in another than the cited one is
    drawn from)."""
    page_rows, quote_rows = [], []
    marks: dict[int, list[list[float]]] = {}
    elsewhere: dict[int, dict[str, list[Any]]] = {}     # page -> boxes, verdicts
    away: list[tuple[str, int, Any, Any, Any, str]] = []
    for c in part:
        status = _status(c.get("verdict"))
        if c.get("checker") == "page-exists":
            page_rows.append(_page_row(c, status, pages))
        else:
            quote_rows.append(_quote_row(c, status, pages, marks, elsewhere, away))
    thumbs = _thumbs(cit["pages"], page_rows, pages, marks, elsewhere, n_pages)
    cited = (pages.doc, pages.name)
    for name, p, quote, span, reading, status in away[:2]:
        pages.use((others or {}).get(name, "not available"), name)
        caption = "not the document cited, but the quote is here" if status == "hallucinated" \
            else "the quote is here (the citation does not say which document it means)"
        thumbs.append({**pages.thumb(p, pages.highlights(p, quote, span, reading),
                                     f"{name} p. {p}: {caption}",
                                     "hallucinated" if status == "hallucinated" else "neutral"),
                       "document": name})
    if away:
        pages.use(*cited)
    statuses = [r["status"] for r in page_rows] + [q["status"] for q in quote_rows]
    return {"sentence": cit["sentence"], "status": _worst(statuses), "pages": page_rows,
            "quotes": quote_rows, "thumbs": thumbs, "document": cit.get("document"),
            "document_href": document_href(pages.doc, pages.images)}


def page_citations(item: Mapping[str, Any], images: Any,
                   max_renders: int = MAX_PAGE_RENDERS) -> dict[str, Any] | None:
    """The item's page citations with rendered pages, or ``None`` when it has none.

    Returns ``{"document", "links", "n_pages", "note", "citations", "left_out"}`` (``links``:
    each document's name and ``href`` to its file, ``""`` when not known); each citation has
    ``sentence``, ``status``, ``document_href``, ``pages`` (``{"page", "status", "exists",
    "reason", "href"}``), ``quotes`` (``{"text", "kind", "status", "found", "reason"}``) and
    ``thumbs`` (``{"page", "ref", "caption", "status", "note", "marked", "href"}``; a cited page
    that does not exist has no image and status ``hallucinated``)."""
    payload = item.get("page") if isinstance(item.get("page"), Mapping) else {}
    claims = [c for c in item.get("claims") or []
              if isinstance(c, Mapping) and c.get("kind") == "page"]
    if not claims:
        return None
    n_pages = payload.get("pages") if isinstance(payload.get("pages"), int) else None
    doc = open_item_document(item, payload, images, n_pages)
    note = doc if isinstance(doc, str) else "; ".join(
        f"{k}: {d}" for k, d in doc.items() if isinstance(d, str)) if isinstance(doc, dict) \
        else ""
    pages = _Pages(None if isinstance(doc, dict) else doc, payload, images, max_renders)
    citations = []
    several = payload.get("documents") if isinstance(payload.get("documents"), Mapping) \
        else None
    for cit, part in _groups(payload, claims):
        if several is not None:     # each citation drawn from the document it was checked in
            name = cit.get("document")
            pages.use(doc.get(name, "not checked in a document") if isinstance(doc, dict)
                      else doc, name)
            n_pages = several.get(name) if isinstance(several.get(name), int) else None
        citations.append(_citation_view(cit, part, pages, n_pages,
                                        doc if isinstance(doc, dict) else None))
    if pages.left_out:
        note = (note + "; " if note else "") + (
            f"{pages.left_out} page image(s) left out: at most {max_renders} per item")
    name = str(payload.get("document") or item.get("document") or "")
    if isinstance(doc, dict):       # several: each linked to its own file
        links = [{"name": k, "href": document_href(d, images)} for k, d in doc.items()]
    else:
        links = [{"name": name, "href": document_href(doc, images)}] if name else []
    return {"document": name, "links": links,      # (of several: each citation's own count)
            "n_pages": n_pages if several is None else None, "note": note,
            "citations": citations,
            "left_out": pages.left_out}
