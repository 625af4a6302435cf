"""Images with boxes drawn on them, as PNG bytes for the HTML report.

:func:`draw_boxes` draws labelled boxes on an image; each box's ``kind`` picks its colour and
line style (:data:`STYLES`): detections and annotations solid, cited boxes dashed and coloured
by verdict; labels are placed clear of one another where there is room. :func:`draw_page`
renders a document page with the places where quotes were found highlighted.
:func:`region_boxes` turns the ``region`` metric's item payload into box dicts (every known
instance); the HTML report draws fewer (the offered regions, the cited boxes and what they
matched: :func:`halluscope.report.citations.item_boxes`).
Large images are scaled down to ``max_side`` pixels first (boxes scaled with them).
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable, Sequence
from typing import Any

#: kind -> (RGB colour, dashed)
STYLES: dict[str, tuple[tuple[int, int, int], bool]] = {
    "detection": ((30, 110, 230), False),
    "annotation": ((120, 120, 120), False),
    "region": ((150, 70, 200), False),
    "cited": ((240, 150, 0), True),
    "supported": ((20, 160, 60), True),
    "hallucinated": ((220, 30, 30), True),
    "unverifiable": ((240, 150, 0), True),
    "highlight": ((255, 200, 0), False),
}


def _dejavu_sans() -> str:
    """The DejaVu Sans file that matplotlib ships, found without importing matplotlib (half a
    second of start-up for one font file)."""
    import importlib.util
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("matplotlib is not installed")
    return os.path.join(list(spec.submodule_search_locations)[0], "mpl-data", "fonts", "ttf",
                        "DejaVuSans.ttf")


def _font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.truetype(_dejavu_sans(), size)
    except (ImportError, OSError):
        try:
            return ImageFont.load_default(size=size)
        except TypeError:                       # Pillow < 10.1
            return ImageFont.load_default()


def _dashed_rect(draw, box, colour, width: int, dash: int = 8) -> None:
    x1, y1, x2, y2 = box
    for (ax, ay, bx, by) in ((x1, y1, x2, y1), (x2, y1, x2, y2), (x2, y2, x1, y2),
                             (x1, y2, x1, y1)):
        length = max(abs(bx - ax), abs(by - ay))
        steps = max(1, int(length // dash))
        for i in range(0, steps, 2):
            t0, t1 = i / steps, min(1.0, (i + 1) / steps)
            draw.line([(ax + (bx - ax) * t0, ay + (by - ay) * t0),
                       (ax + (bx - ax) * t1, ay + (by - ay) * t1)], fill=colour, width=width)


def _clip(value: float, side: int, width: int) -> float:
    """A box coordinate kept to just beyond the image's edge (an edge beyond it stays
    unseen, one inside it stays where it is)."""
    margin = 2 * width + 1
    return min(max(value, -margin), side + margin)


def _open(image: Any):
    from PIL import Image

    if isinstance(image, (str, os.PathLike)):
        from halluscope.imageio import open_image
        return open_image(image)         # UnreadableImage, with the reason
    if isinstance(image, Image.Image):
        return image.convert("RGB")
    import numpy as np
    return Image.fromarray(np.asarray(image)).convert("RGB")


_SOURCE_KINDS = {"detector": "detection", "annotation": "annotation", "regions": "region",
                 "region": "region", "segmenter": "detection"}


def _kind(spec: dict[str, Any]) -> str:
    """The style of a box: its ``kind``; else, for ``{"source", "verdict"}`` boxes (the report's
    item view), cited boxes take their verdict's style and evidence boxes their source's."""
    if spec.get("kind"):
        return str(spec["kind"])
    source = str(spec.get("source") or "")
    if source in ("cited", "boxes"):
        return str(spec.get("verdict") or "cited")
    return _SOURCE_KINDS.get(source, "detection")


def _label_spot(tb_size, box, size, placed, pad: int = 4):
    """Where a box's label goes: above its top-left corner, else inside it, else stacked below
    earlier labels, so that no two labels cover each other."""
    tw, th = tb_size
    x1, y1, x2, y2 = box
    w, h = size
    x = min(max(0.0, x1), max(0.0, w - tw - 2 * pad))
    cands = [y1 - th - pad, y1, y2 - th - pad, y2]
    cands += [y1 + k * (th + pad) for k in range(1, 12)]
    for y in cands:
        if y < 0 or y + th + pad > h:
            continue
        rect = (x, y, x + tw + 2 * pad, y + th + pad)
        if not any(rect[0] < r[2] and r[0] < rect[2] and rect[1] < r[3] and r[1] < rect[3]
                   for r in placed):
            return rect
    y = min(max(0.0, y1), max(0.0, h - th - pad))
    return (x, y, x + tw + 2 * pad, y + th + pad)


def draw_boxes(image: Any, boxes: Iterable[dict[str, Any]], *, max_side: int = 1024,
               fmt: str = "PNG") -> bytes:
    """Draw ``boxes`` on ``image`` (a path, PIL image or array) and return the encoded image.

    Each box is a dict with ``box`` (``[x1, y1, x2, y2]`` in the image's pixels), and optional
    ``label``, ``kind`` (a key of :data:`STYLES`; without it ``source`` and ``verdict`` decide,
    default ``detection``), ``color`` (an RGB
    tuple or a CSS colour name, overriding the kind's), ``score`` (appended to the label) and
    ``dashed``.

    Solid boxes are drawn first and dashed ones (cited boxes) over them; labels go on top of
    every line, each placed where it covers no other label. Line width and label size follow
    the image's size so that they stay legible when the image is shown at ~480 px.
    """
    from PIL import ImageDraw

    im = _open(image)
    scale = min(1.0, max_side / max(im.size)) if max_side else 1.0
    if scale < 1.0:
        im = im.resize((max(1, round(im.width * scale)), max(1, round(im.height * scale))))
    draw = ImageDraw.Draw(im)
    side = max(im.size)
    width = max(2, round(side / 240))
    font = _font(max(12, round(side / 32)))
    specs = []
    for spec in boxes:
        box = spec.get("box")
        if not box or len(box) != 4:
            continue
        x1, y1, x2, y2 = (float(v) * scale for v in box)
        # only what falls on the image is drawn: a far-off edge (a cited box of
        # [0, 0, 99999999, 99999999]) took one dash per 8 pixels of it, 30 s a box
        x1, x2 = (_clip(v, im.width, width) for v in sorted((x1, x2)))
        y1, y2 = (_clip(v, im.height, width) for v in sorted((y1, y2)))
        colour, dashed = STYLES.get(_kind(spec), STYLES["detection"])
        colour = spec.get("color", spec.get("colour", colour))
        if isinstance(colour, list):
            colour = tuple(colour)
        specs.append(((x1, y1, x2, y2), colour, bool(spec.get("dashed", dashed)), spec))
    specs.sort(key=lambda s: s[2])                  # solid first, dashed (cited) on top
    for rect, colour, dashed, _ in specs:
        if dashed:
            _dashed_rect(draw, rect, colour, width)
        else:
            draw.rectangle(rect, outline=colour, width=width)
    placed: list[tuple[float, float, float, float]] = []
    for rect, colour, _, spec in specs:
        label = spec.get("label")
        if spec.get("score") is not None:
            from halluscope.report.decimals import fixed_any
            label = f"{label or ''} {fixed_any(spec['score'], 2)}".strip()
        if not label:
            continue
        tb = draw.textbbox((0, 0), str(label), font=font)
        spot = _label_spot((tb[2] - tb[0], tb[3] - tb[1]), rect, im.size, placed)
        placed.append(spot)
        draw.rectangle(spot, fill=colour)
        draw.text((spot[0] + 4, spot[1] + 2 - tb[1]), str(label), fill=(255, 255, 255),
                  font=font)
    buf = io.BytesIO()
    im.save(buf, format=fmt)
    return buf.getvalue()


def draw_page(page_image: Any, highlights: Sequence[Sequence[float]], *,
              max_side: int = 1200, fmt: str = "PNG") -> bytes:
    """A page image with translucent yellow marks over ``highlights`` (pixel boxes)."""
    from PIL import Image, ImageDraw

    im = _open(page_image)
    overlay = Image.new("RGBA", im.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    colour = STYLES["highlight"][0]
    for b in highlights:
        x1, y1, x2, y2 = (float(v) for v in b)
        pad = max(2.0, (y2 - y1) * 0.15)
        draw.rectangle((x1 - pad, y1 - pad, x2 + pad, y2 + pad), fill=colour + (90,),
                       outline=colour + (255,), width=2)
    im = Image.alpha_composite(im.convert("RGBA"), overlay).convert("RGB")
    scale = min(1.0, max_side / max(im.size)) if max_side else 1.0
    if scale < 1.0:
        im = im.resize((max(1, round(im.width * scale)), max(1, round(im.height * scale))))
    buf = io.BytesIO()
    im.save(buf, format=fmt)
    return buf.getvalue()


def render_document_page(document: Any, page: int, highlights: Sequence[Sequence[float]] = (),
                         **kw: Any) -> bytes:
    """Render page ``page`` of a :class:`~halluscope.evidence.documents.Document` (or a PDF
    path / page-image list) with ``highlights`` (boxes from the ``page`` metric's payload,
    which are in pixels at the document's ``dpi``)."""
    if hasattr(document, "render"):
        return draw_page(document.render(page), highlights, **kw)
    from halluscope.evidence.documents import Document
    doc = Document(document, dpi=kw.pop("dpi", 200))
    try:
        return draw_page(doc.render(page), highlights, **kw)
    finally:
        doc.close()


def region_boxes(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """Box dicts for :func:`draw_boxes` from a ``region`` item payload: known instances
    (detections, annotations, offered regions) solid, cited boxes dashed by verdict."""
    out: list[dict[str, Any]] = []
    for k in payload.get("known", []):
        kind = "detection" if k.get("source") == "detector" else (
            "region" if "region" in k else "annotation")
        label = k.get("label") or ""
        if "region" in k:
            from halluscope.claims.citations import region_name
            label = f"{region_name(k['region'])} {label}".strip()
        out.append({"box": k["box"], "label": label, "kind": kind, "score": k.get("score")})
    for b in payload.get("boxes", []):
        if b.get("box"):
            out.append({"box": b["box"], "label": f"cited: {b.get('label') or '?'}",
                        "kind": b.get("verdict", "cited")})
    return out


def claim_boxes(claims: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Box dicts from an item's claim verdicts: each evidence entry with a box (detections,
    annotations), labelled with its label and score."""
    out, seen = [], set()
    for c in claims:
        for ev in c.get("evidence", []):
            box = ev.get("box")
            if not box:
                continue
            key = (tuple(box), ev.get("label"))
            if key in seen:
                continue
            seen.add(key)
            out.append({"box": box, "label": ev.get("label"), "score": ev.get("score"),
                        "kind": "detection" if ev.get("source") == "detector" else "annotation"})
    return out


def crop_around(image: bytes, boxes: Sequence[Sequence[float]], max_crop: int = 240
                ) -> bytes:
    """The text line(s) of a page image that hold ``boxes``, as PNG bytes: the strip from half a
    line above the first box to half a line below the last (at most ``max_crop`` pixels),
    cut to the ink in it plus a margin, so the highlighted words show at a readable size."""
    from PIL import Image, ImageOps

    with Image.open(io.BytesIO(image)) as im:
        width, height = im.size
        y1 = min(b[1] for b in boxes)
        y2 = max(b[3] for b in boxes)
        line = max(8.0, max(b[3] - b[1] for b in boxes))
        top = max(0, round(y1 - line / 2))
        bottom = min(height, round(y2 + line / 2), top + max_crop)
        strip = im.crop((0, top, width, max(bottom, top + 1)))
        ink = ImageOps.invert(strip.convert("L")).point(lambda v: 255 if v > 40 else 0)
        bbox = ink.getbbox()
        x1 = min(b[0] for b in boxes)
        x2 = max(b[2] for b in boxes)
        left, right = (min(bbox[0], x1), max(bbox[2], x2)) if bbox else (x1, x2)
        margin = line
        part = strip.crop((max(0, round(left - margin)), 0,
                           min(width, round(right + margin)), strip.height))
        buf = io.BytesIO()
        part.save(buf, "PNG")
    return buf.getvalue()
