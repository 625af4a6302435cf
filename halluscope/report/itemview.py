"""Per-item views for the HTML report: highlighted responses, claim tables, embedded images.

Everything here turns one line of ``items.jsonl`` into plain Python data (strings, numbers,
lists) that the Jinja templates render with autoescaping on. No function here builds HTML: model
text only ever reaches the page through the template engine, escaped.

Which view a metric's payload gets is the metric's declaration
(:attr:`~halluscope.metrics.base.Metric.report_view`): ``mentions`` (object mentions, e.g. CHAIR),
``yes-no`` (question, answer read, truth, e.g. POPE) or ``details`` (its fields listed).

Highlighting. A response carries two kinds of marked spans: object mentions of a ``mentions``
metric (``item[name]["spans"]``, aligned with ``item[name]["mentioned"]``) and claim verdicts
(``item["claims"][i]["span"]``). Spans may nest or overlap, so :func:`segment_text` cuts the text at
every span boundary and gives each piece the set of spans covering it; a piece covered by several
claims is coloured by the most severe verdict and lists all of them in its tooltip.
"""

from __future__ import annotations

import base64
import io
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from halluscope.redact import cut_text
from halluscope.report.decimals import fixed_any
from halluscope.report.claimtext import claim_summary
from halluscope.report.claimtext import detail_rows as _details
from halluscope.report.claimtext import number_text as _num
from halluscope.report.claimtext import short_value as _short
from halluscope.report.citations import (box_legend, item_boxes, page_citations,
                                         region_citations)
# re-exported: the text segmentation lived here
from halluscope.report.highlight import (HIGHLIGHTS, SEVERITY, SHOWN_CHARS, Mark,  # noqa: F401
                                         segment_text, spend_highlights, truncate_segments)
from halluscope.report.highlight import valid_span as _valid_span

log = logging.getLogger(__name__)

MAX_SIDE = 480
JPEG_QUALITY = 82
#: Mentions an item lists as chips under its response (all are in items.jsonl).
MAX_CHIPS = 100


#: Characters of a long response in its "full response" fold, and in all folds of a report
#: together (the budget is the :class:`ImageStore`'s); what is left out is said, and is in
#: items.jsonl. 20 answers of a million characters made a 35 MB report.
FOLD_CHARS = 200_000
FOLDS_CHARS = 10_000_000


def fold_text(response: str, images: ImageStore | None = None) -> tuple[str, int]:
    """The text a long response's fold holds, and how many characters it leaves out."""
    room = FOLD_CHARS
    if images is not None:
        room = max(0, min(room, images.text_budget - images.text_size))
        images.text_size += min(room, len(response))
    return response[:room], max(0, len(response) - room)


# -- CHAIR mentions ---------------------------------------------------------------------------
def _word_node(entry: Any) -> tuple[str, str, bool | None]:
    """(word, node, explicit hallucination flag) of a CHAIR mention in any of its shapes:
    ``"dog"``, ``["dogs", "dog"]`` or ``{"word", "node", "hallucinated"}``."""
    if isinstance(entry, Mapping):
        word = entry.get("word") or entry.get("text") or entry.get("node") or ""
        node = entry.get("node") or word
        flag = entry.get("hallucinated")
        return str(word), str(node), (bool(flag) if flag is not None else None)
    if isinstance(entry, (list, tuple)) and entry:
        word = entry[0]
        node = entry[1] if len(entry) > 1 else entry[0]
        return str(word), str(node), None
    return str(entry), str(entry), None


def chair_mentions(payload: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The CHAIR mentions of an item: ``{"word", "node", "hallucinated", "span"}`` each."""
    mentioned = payload.get("mentioned") or payload.get("words") or []
    if not isinstance(mentioned, list):
        return []
    hall_words, hall_nodes = set(), set()
    for entry in payload.get("hallucinated") or []:
        word, node, _ = _word_node(entry)
        hall_words.add(word)
        hall_nodes.add(node)
    spans = payload.get("spans")
    spans = spans if isinstance(spans, list) and len(spans) == len(mentioned) else None
    out = []
    for i, entry in enumerate(mentioned):
        word, node, flag = _word_node(entry)
        hallucinated = flag if flag is not None else (node in hall_nodes or
                                                      (word in hall_words and node == word))
        out.append({"word": word, "node": node, "hallucinated": hallucinated,
                    "span": spans[i] if spans is not None else None})
    return out


def chair_marks(mentions: Sequence[Mapping[str, Any]], length: int, title: str = "CHAIR"
                ) -> list[Mark]:
    """Highlight marks for object mentions; tooltips start with ``title`` (the metric's name
    in capitals)."""
    marks = []
    for m in mentions:
        span = _valid_span(m.get("span"), length)
        if span is None:
            continue
        status = "hallucinated" if m["hallucinated"] else "supported"
        label = m["word"] if m["word"] == m["node"] else f"{m['word']} → {m['node']}"
        marks.append(Mark(span[0], span[1], "mention", status,
                          f"{title}: {label} ({'not in the ground truth' if m['hallucinated'] else 'in the ground truth'})"))
    return marks


# -- claims -----------------------------------------------------------------------------------
#: Evidence fields an evidence line leaves out: shown above, or drawn (``found_elsewhere``: the
#: page check's matches off the cited pages, shown as ``found_on`` and as highlighted pages).
_NOT_IN_EVIDENCE_TEXT = ("source", "label", "score", "box", "provenance", "found_elsewhere")


def evidence_text(ev: Mapping[str, Any]) -> str:
    """One line describing a piece of evidence (source, label, score, box, other fields)."""
    parts = [str(ev.get("source", "?"))]
    if ev.get("label") is not None:
        parts.append(str(ev["label"]))
    if isinstance(ev.get("score"), (int, float)):
        parts.append(f"score {fixed_any(ev['score'], 2)}")   # 0.996 is not 1.00
    box = ev.get("box")
    if isinstance(box, (list, tuple)) and len(box) == 4:
        parts.append("box [" + ", ".join(_num(v) for v in box) + "]")
    for key, value in ev.items():
        if key in _NOT_IN_EVIDENCE_TEXT:
            continue
        if isinstance(value, (str, int, float, bool)) or (
                isinstance(value, list) and len(value) <= 8):
            parts.append(f"{key}: {_short(value)}")
    return " · ".join(parts)


def claim_rows(claims: Sequence[Mapping[str, Any]], response: str, anchor: str
               ) -> tuple[list[dict[str, Any]], list[Mark]]:
    """Detail rows and highlight marks for an item's claims."""
    rows, marks = [], []
    for i, claim in enumerate(claims):
        if not isinstance(claim, Mapping):
            continue
        verdict = str(claim.get("verdict") or "unverifiable")
        status = verdict if verdict in SEVERITY else "unverifiable"
        span = _valid_span(claim.get("span"), len(response))
        evidence = [evidence_text(e) for e in claim.get("evidence") or [] if isinstance(e, Mapping)]
        ref = f"{anchor}-c{i}"
        reason = str(claim.get("reason") or "")
        kind = str(claim.get("kind") or "claim")
        title = f"{kind}: {claim_summary(claim)} — {verdict}"
        if claim.get("analytic"):
            title += " (analytic, not scored)"
        if reason:
            title += f"\n{reason}"
        if evidence:
            title += "\nevidence: " + "; ".join(evidence[:4])
        if span is not None:
            marks.append(Mark(span[0], span[1], "claim", status, title, ref))
        conf = claim.get("confidence")
        rows.append({
            "ref": ref, "index": i + 1, "kind": kind, "status": status, "verdict": verdict,
            "text": response[span[0]:span[1]] if span else "",
            "summary": claim_summary(claim), "reason": reason,
            "checker": str(claim.get("checker") or ""), "evidence": evidence,
            "confidence": fixed_any(conf, 2) if isinstance(conf, (int, float)) else "",
            "analytic": bool(claim.get("analytic")),
        })
    return rows, marks


# -- POPE -------------------------------------------------------------------------------------
def pope_view(payload: Mapping[str, Any], item: Mapping[str, Any]) -> dict[str, Any]:
    prediction = payload.get("prediction")
    label = payload.get("label", item.get("label"))
    outcome = None
    if prediction in ("yes", "no") and label in ("yes", "no"):
        outcome = {("yes", "yes"): "TP", ("yes", "no"): "FP", ("no", "no"): "TN",
                   ("no", "yes"): "FN"}[(prediction, label)]
    elif prediction is not None:
        outcome = "unknown"
    return {"question": cut_text(str(payload.get("question") or item.get("prompt") or ""),
                                 SHOWN_CHARS, "… (cut here; the whole question is in items.jsonl)"),
            "prediction": "" if prediction is None else str(prediction),
            "label": "" if label is None else str(label),
            "outcome": outcome, "correct": prediction == label,
            "hallucinated": outcome == "FP"}


# -- images -------------------------------------------------------------------------------------
def resolve_image(item: Mapping[str, Any]) -> Path | None:
    """The item's image as an existing local file (relative to its source file), or ``None``."""
    image = item.get("image")
    if not isinstance(image, str) or not image or "://" in image or image.startswith("data:"):
        return None
    path = Path(image)
    if not path.is_absolute():
        source = item.get("source")
        if isinstance(source, str) and source:
            file, sep, line = source.rpartition(":")
            file = file if sep and line.isdigit() else source
            path = Path(file).parent / path
    try:
        return path if path.is_file() else None
    except OSError:
        return None


def _data_uri(im: Any, max_width: int = MAX_SIDE, max_height: int = MAX_SIDE) -> str:
    """A PIL image as a ``data:image/jpeg;base64`` URI, downscaled to fit the given box."""
    im.thumbnail((max_width, max_height))
    if im.mode != "RGB":
        im = im.convert("RGB")
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def encode_image(path: Path, boxes: Sequence[Mapping[str, Any]] = ()) -> str | None:
    """A ``data:image/jpeg;base64`` URI of the image downscaled to ≤ 480 px, with boxes drawn
    by :mod:`halluscope.report.overlays`; ``None`` if unreadable."""
    try:
        from PIL import ImageOps
    except ImportError:  # pillow is a dependency, but a report must not die for lack of it
        log.warning("pillow is not installed; images are left out of the report")
        return None
    source: Any = path
    if boxes:
        from halluscope.report.overlays import draw_boxes
        try:
            source = io.BytesIO(draw_boxes(path, list(boxes)))
        except Exception as exc:  # noqa: BLE001 - fall back to the bare image
            log.warning("could not draw boxes on %s: %s", path, exc)
            source = path
    try:
        from halluscope.imageio import open_image
        im = open_image(source.getvalue() if isinstance(source, io.BytesIO) else source,
                        mode=None)       # the pixel limit and every unreadable kind, named
        return _data_uri(ImageOps.exif_transpose(im))
    except Exception as exc:  # noqa: BLE001 - one unreadable image must not stop the report
        log.warning("could not read image %s: %s", path, exc)
        return None


@dataclass
class ImageStore:
    """Encoded images, each stored once however many items show it, and the documents whose
    pages the report renders (kept open while the report is built; :meth:`close` them).

    Attributes:
        budget: Stop embedding new images once this many bytes of data URIs are held.
    """

    budget: int = 80_000_000
    text_budget: int = FOLDS_CHARS    # characters of long responses' folds (:func:`fold_text`)
    text_size: int = 0
    highlights_left: int = HIGHLIGHTS  # spans the report may still highlight (spend_highlights)
    #: The report's folder: items link their original image by a path relative to it (none
    #: for a page that is not written to a file).
    link_base: Path | None = None
    uris: dict[str, str] = field(default_factory=dict)
    _keys: dict[str, str | None] = field(default_factory=dict)
    size: int = 0
    skipped: int = 0
    documents: dict[Any, Any] = field(default_factory=dict)

    def add(self, path: Path, boxes: Sequence[Mapping[str, Any]] = ()) -> str | None:
        key = json.dumps([str(path), list(boxes)], sort_keys=True, default=str)
        return self._store(key, lambda: encode_image(path, boxes))

    def add_rendered(self, key: str, render: Any, max_width: int = MAX_SIDE,
                     max_height: int = 2 * MAX_SIDE) -> str | None:
        """Store an image made on demand: ``render()`` returns encoded image bytes (or raises:
        the image is then left out). ``key`` names what it shows, for reuse."""
        def encode() -> str | None:
            from PIL import Image
            try:
                with Image.open(io.BytesIO(render())) as im:
                    return _data_uri(im, max_width, max_height)
            except Exception as exc:  # noqa: BLE001 - one page must not stop the report
                log.warning("could not render %s: %s", key, exc)
                return None
        return self._store("rendered:" + key, encode)

    def link(self, path: Path) -> str:
        """``path`` as an href relative to :attr:`link_base` ("" without one): percent-encoded,
        so no file name reads as a scheme (``javascript:x.png``) or breaks the attribute."""
        if self.link_base is None:
            return ""
        import os
        from urllib.parse import quote
        try:
            rel = os.path.relpath(Path(path).resolve(), Path(self.link_base).resolve())
        except (OSError, ValueError):       # (another drive on Windows)
            return ""
        # a name that is not UTF-8 (read with surrogate escapes) keeps its bytes
        return quote(Path(rel).as_posix(), safe="/", errors="surrogateescape")

    def has(self, key: str) -> bool:
        """Whether a rendered image named ``key`` was already asked for."""
        return "rendered:" + key in self._keys

    def _store(self, key: str, encode: Any) -> str | None:
        if key in self._keys:
            return self._keys[key]
        if self.size >= self.budget:
            self.skipped += 1
            return None
        uri = encode()
        ref = None
        if uri is not None:
            ref = str(len(self.uris))
            self.uris[ref] = uri
            self.size += len(uri)
        self._keys[key] = ref
        return ref

    def close(self) -> None:
        """Close the documents opened to render pages (an item's several: each)."""
        for opened in self.documents.values():
            for doc in opened.values() if isinstance(opened, dict) else [opened]:
                close = getattr(doc, "close", None)
                if close is not None:
                    close()
        self.documents.clear()


# -- one item ---------------------------------------------------------------------------------
@lru_cache(maxsize=256)
def view_of(name: str) -> str:
    """The report view a metric's payload gets (its class's ``report_view``; ``details`` for a
    metric whose class is unknown here)."""
    from halluscope.metrics.base import declared
    cls = declared(name)
    return cls.report_view if cls is not None else "details"


def _mentions_view(name: str, payload: Mapping[str, Any], length: int
                   ) -> tuple[dict[str, Any], list[Mark], int]:
    mentions = chair_mentions(payload)
    marks = chair_marks(mentions, length, name.upper())
    gt = payload.get("gt", payload.get("gt_words"))
    # at most MAX_CHIPS chips: 9,000 mentions in one long answer were 700 KB of chips
    n_bad = sum(1 for m in mentions if m["hallucinated"])
    chips = mentions[:MAX_CHIPS]
    view = {"name": name, "title": name.upper(), "mentions": mentions, "spanned": bool(marks),
            "chips": chips, "chips_more": len(mentions) - len(chips),
            "chips_more_bad": n_bad - sum(1 for m in chips if m["hallucinated"]),
            "gt": [str(g) for g in gt] if isinstance(gt, list) else [],
            "details": _details({k: v for k, v in payload.items() if k not in ("gt", "gt_words")})}
    return view, marks, n_bad


def _yes_no_view(name: str, payload: Mapping[str, Any], item: Mapping[str, Any]
                 ) -> dict[str, Any]:
    view = pope_view(payload, item)
    view.update(name=name, title=name.upper(),
                details=_details({k: v for k, v in payload.items() if k != "parser"}),
                parser=str(payload.get("parser") or ""))
    return view


def _badge(badges: list[str], count: int, what: str) -> None:
    """Add ``"3 hallucinated claims"`` to ``badges`` (nothing for 0)."""
    if count:
        badges.append(f"{count} {what}{'' if count == 1 else 's'}")


def _details_count(payload: Mapping[str, Any]) -> int:
    """Hallucinations a ``details`` payload counts (a number, a list or a flag)."""
    hall = _hallucinated(payload)
    if isinstance(hall, (int, float)) and not isinstance(hall, bool):
        return int(hall)
    if isinstance(hall, (list, bool)):
        return len(hall) if isinstance(hall, list) else int(hall)
    return 0


def _metric_views(item: Mapping[str, Any], metric_names: list[str], response: str,
                  marks: list[Mark], badges: list[str]
                  ) -> tuple[dict[str, Any] | None, dict[str, Any] | None, list[dict[str, Any]],
                             int]:
    """``(mentions, yes_no, others, n_halluc)``: the first mentions view and yes/no view of
    the item's metrics (in that order), and the details of the rest; mention marks go to
    ``marks``, counts to ``badges``."""
    mentions = yes_no = None
    n_halluc = 0
    for name in metric_names:                  # the first of each special view, in that order
        if view_of(name) == "mentions":
            mentions, mention_marks, k = _mentions_view(name, item[name], len(response))
            marks += mention_marks
            n_halluc += k
            _badge(badges, k, "hallucinated object")
            break
    for name in metric_names:
        if view_of(name) == "yes-no":
            yes_no = _yes_no_view(name, item[name], item)
            n_halluc += int(yes_no["hallucinated"])
            break
    others = []
    for name in metric_names:
        if view_of(name) != "details":
            continue
        k = _details_count(item[name])
        n_halluc += k
        _badge(badges, k, f"{name} hallucination")
        others.append({"name": name, "details": _details(item[name])})
    return mentions, yes_no, others, n_halluc


def _image_view(item: Mapping[str, Any], images: ImageStore | None
                ) -> tuple[str | None, str, list[tuple[str, str]]]:
    """``(image_ref, image_note, legend)``: the item's image with its boxes, or why not."""
    image_ref, image_note, legend = None, "", []
    path = resolve_image(item)
    if path is not None and images is not None:
        boxes = item_boxes(item)
        legend = box_legend(boxes)
        image_ref = images.add(path, boxes)
        if image_ref is None:
            image_note = "image not embedded (unreadable or over the report's size budget)"
    elif isinstance(item.get("image"), str):
        image_note = "image not found locally" if "://" not in item["image"] else "remote image"
    return image_ref, image_note, legend


def _flags(item: Mapping[str, Any], n_halluc: int) -> str:
    """The item's CSS filter classes."""
    flags = []
    if n_halluc:
        flags.append("f-halluc")
    if item.get("error"):
        flags.append("f-error")
    if item.get("skipped"):
        flags.append("f-skipped")
    return " ".join(flags)


def item_view(item: Mapping[str, Any], index: int, metric_names: Iterable[str],
              images: ImageStore | None = None) -> dict[str, Any]:
    """Everything the item template shows about one line of ``items.jsonl``."""
    anchor = f"it{index}"
    response = item.get("response") if isinstance(item.get("response"), str) else ""
    badges: list[str] = []
    claims, marks = claim_rows(item.get("claims") or [], response, anchor)
    marks = list(marks)
    n_halluc = sum(1 for c in claims if c["status"] == "hallucinated" and not c["analytic"])
    _badge(badges, n_halluc, "hallucinated claim")
    metric_names = [n for n in metric_names if isinstance(item.get(n), Mapping)]
    mentions, yes_no, others, k = _metric_views(item, metric_names, response, marks, badges)
    n_halluc += k
    regions = region_citations(item)
    pages = page_citations(item, images)
    image_ref, image_note, legend = _image_view(item, images)
    image_path = resolve_image(item) if images is not None else None
    marks, unhighlighted = spend_highlights(marks, images)
    shown, left_out = truncate_segments(segment_text(response, marks))
    full_text, full_left_out = fold_text(response, images) if left_out else ("", 0)
    error = item.get("error")
    return {
        "anchor": anchor, "index": index,
        "id": "" if item.get("id") is None else str(item.get("id")),
        "task": str(item.get("task") or ""), "source": str(item.get("source") or ""),
        "image_name": str(item.get("image") or ""), "image_ref": image_ref,
        "image_note": image_note, "box_legend": legend if image_ref is not None else [],
        # the original, full size, by a path relative to the report
        "image_href": images.link(image_path) if image_path is not None else "",
        "wide": regions is not None,
        "regions": regions, "pages": pages,
        # a prompt is shown up to SHOWN_CHARS, as a response is; the rest is in items.jsonl
        "prompt": cut_text(str(item.get("prompt") or ""), SHOWN_CHARS,
                           "… (cut here; the whole prompt is in items.jsonl)"),
        "response": response, "has_response": isinstance(item.get("response"), str),
        "segments": shown, "truncated": left_out, "unhighlighted": unhighlighted,
        "full_text": full_text, "full_left_out": full_left_out,
        "claims": claims, "mentions": mentions, "yes_no": yes_no, "others": others,
        "n_halluc": n_halluc, "badges": badges, "error": str(error) if error else "",
        "skipped": str(item.get("skipped") or ""), "flags": _flags(item, n_halluc),
        "finish": "" if item.get("finish_reason") is None else str(item["finish_reason"]),
    }


def is_flagged(item: Mapping[str, Any]) -> bool:
    """Whether an item has a hallucination or an error (cheap; no image work)."""
    return bool(item.get("error")) or has_hallucination(item)


def has_hallucination(item: Mapping[str, Any]) -> bool:
    """Whether any metric found a hallucination in an item (cheap; no image work): a
    hallucinated claim, a payload with ``hallucinated`` set, or a yes to an absent object from a
    ``yes-no`` metric."""
    for claim in item.get("claims") or []:
        if isinstance(claim, Mapping) and claim.get("verdict") == "hallucinated" \
                and not claim.get("analytic"):
            return True
    for key, value in item.items():
        if not isinstance(value, Mapping):
            continue
        if view_of(key) == "yes-no":
            if value.get("prediction") == "yes" and value.get("label") == "no":
                return True
        elif _hallucinated(value):
            return True
    return False


def _hallucinated(payload: Mapping[str, Any]) -> Any:
    """A payload's ``hallucinated`` (objects, a count or a flag), else its ``hallucination``
    flag: MMHal-Bench's 0/1 for a rating below 3, which the report counted as none."""
    return payload.get("hallucinated", payload.get("hallucination"))
