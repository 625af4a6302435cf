"""Documents a record carries: the text of each page, and where on the page it is.

A record's ``document`` is a PDF path, a page-image path, or a list of page-image paths
(relative to the record's JSONL file, or absolute); a mapping ``{"pdf": ...}`` or
``{"pages": [...]}`` works too. A record carrying several documents (a list of PDFs, or a
mapping of names to documents) gets a :class:`DocumentSet` of them. Every frame of a multi-frame image is a page: a 3-page TIFF
scan is pages 1-3 (a GIF's or animated PNG's/WebP's frames likewise); with several image files
the pages run on from one file to the next.

Page text comes from, in order:

1. the PDF text layer (pypdfium2; the ``docs`` extra), when the page has at least
   ``min_chars`` (default 16) non-space characters in it, or when it has fewer but OCR reads
   fewer still (a page of three words OCR finds nothing on keeps its three words);
2. OCR of the page rendered at ``dpi`` (default 200) otherwise, and for page images
   (RapidOCR by default, or ``tesseract``; the ``ocr`` extra), cached by content hash.

:meth:`Document.char_boxes` maps a character range of a page's text back to pixel boxes on the
page image :meth:`Document.render` draws (from the PDF's character boxes, or the OCR lines that
hold the range), so that a report can highlight a quote where it was found.

An OCR page set in columns has a second reading (:attr:`Page.columns`, made from the same OCR
lines by :func:`~halluscope.evidence.ocr_columns.column_order`): the page's ``text`` reads
rows across the whole page, as before, and the column reading reads each column top to
bottom. :meth:`Document.column_text` gives it, page by page (a page without one: its text), and
:meth:`Document.char_boxes` maps ranges of it with ``reading="columns"``. A PDF text layer is
read in the order the PDF draws its characters (pdfium's): column by column in what LaTeX or a
word processor writes, row across row in what some converters write; so a PDF page gets a
column reading too, made on first use (after a quote was not found) from the text layer's
line boxes, when it has columns and that reading differs from its text.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from halluscope.errors import ConfigError, UnreadableImage
from halluscope.evidence.cache import EvidenceCache, sha256_file
from halluscope.evidence.detect import require
from halluscope.evidence.ocr import (OcrEngine, OcrLine, cached_read, lines_text, load_ocr,
                                     reading_order)
from halluscope.evidence.ocr_columns import column_order
from halluscope.imageio import check_path, check_pixels, frame_count, open_image
from halluscope.record_documents import citation_names, document_aliases
from halluscope.records import document_source, record_document_source  # noqa: F401 - here too

log = logging.getLogger(__name__)

_IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".gif"}


@dataclass
class Page:
    """The text of one page.

    Attributes:
        number: 1-based page number.
        text: The page's text (lines separated by newlines).
        source: ``pdf`` (text layer) or ``ocr``.
        lines: OCR lines with pixel boxes (OCR pages only), at the document's render scale.
        starts: Offset of each OCR line in ``text``.
        reading: ``rows`` (the page read row by row, its ``text``) or ``columns``.
        columns: The page read column by column (an OCR page set in columns), else ``None``.
    """

    number: int
    text: str
    source: str
    lines: list[OcrLine] = field(default_factory=list)
    starts: list[int] = field(default_factory=list)
    reading: str = "rows"
    columns: Page | None = None


def ocr_page(number: int, lines: list[OcrLine], reading: str = "rows") -> Page:
    """The page OCR ``lines`` (in that order) make: text one line per line, each line's
    offset; a row reading also gets its column reading, when the page has columns."""
    starts, pos = [], 0
    for ln in lines:
        starts.append(pos)
        pos += len(ln.text) + 1
    page = Page(number, lines_text(lines), "ocr", lines, starts, reading)
    if reading == "rows":
        by_columns = column_order(lines)
        if by_columns is not None:
            page.columns = ocr_page(number, by_columns, "columns")
    return page


class ColumnReading:
    """``page number -> text`` of a document's column reading (see :meth:`Document.column_text`);
    an object of its own so that the page forms made of it are remembered apart from those of
    the row reading (:func:`~halluscope.checks.pagetext.page_forms` keys them by owner)."""

    def __init__(self, document: Document):
        self.document = document

    def __call__(self, number: int) -> str:
        columns = self.document.columns(number)
        return columns.text if columns is not None else self.document.page(number).text


class Document:
    """Pages of a PDF or of page images, read lazily and remembered.

    Args:
        source: A PDF path, or page-image paths.
        ocr: OCR engine spec or object (used for page images and pages without text layer).
        dpi: Resolution pages are rendered at (for OCR and for drawing).
        min_chars: A PDF page with fewer non-space characters in its text layer is OCR'd.
        cache: Evidence cache for OCR results.
    """

    #: :meth:`text` gives a page's text as first read on every later call (the page check's
    #: index of the document's pages, :func:`~halluscope.checks.page_sieve.page_index`, is
    #: then not checked against every page again for each quote).
    fixed_text = True

    def __init__(self, source: str | os.PathLike | Sequence[str | os.PathLike], *,
                 ocr: str | OcrEngine = "rapidocr", dpi: int = 200, min_chars: int = 16,
                 cache: EvidenceCache | None = None):
        self.pdf_path: Path | None = None
        self.images: list[Path] = []
        if isinstance(source, (str, os.PathLike)):
            p = Path(source)
            if p.suffix.lower() == ".pdf":
                self.pdf_path = p
            elif p.suffix.lower() in _IMAGE_SUFFIXES:
                self.images = [p]
            else:
                raise ConfigError(f"expected a PDF or page images as the document, got {p}")
        else:
            self.images = [Path(s) for s in source]
            for p in self.images:
                # a PDF among them was read as one page image (its pages uncounted, the pages
                # after it misnumbered); a text file was a page no one could open
                if p.suffix.lower() == ".pdf":
                    raise ConfigError(f"expected page images in the list of pages, got the PDF "
                                      f"{p} (give a PDF alone as the document)")
                if p.suffix.lower() not in _IMAGE_SUFFIXES:
                    raise ConfigError(f"expected page images in the list of pages "
                                      f"({', '.join(sorted(_IMAGE_SUFFIXES))}), got {p}")
        for p in ([self.pdf_path] if self.pdf_path else self.images):
            check_path(p, "document")    # UnreadableImage: missing, a directory, a broken link
        self._ocr_spec = ocr
        self._ocr: OcrEngine | None = None if isinstance(ocr, str) else ocr
        self.dpi = int(dpi)
        self.min_chars = int(min_chars)
        self.cache = cache
        self._pdf = None
        self._pages: dict[int, Page] = {}
        self._columns_made: set[int] = set()       # PDF pages whose column reading was made
        self.column_text = ColumnReading(self)
        """``page number -> text`` read column by column (a page without columns: its text)."""
        if self.pdf_path is not None:
            pdfium = require("pypdfium2", "reading PDF documents", "docs", "pypdfium2")
            try:
                self._pdf = pdfium.PdfDocument(str(self.pdf_path))
            except Exception as exc:                       # noqa: BLE001 - pdfium's errors
                raise UnreadableImage(f"not a readable PDF: {exc}", path=str(self.pdf_path),
                                      field="document") from None
            self.n_pages = len(self._pdf)
        else:
            # every frame is a page: (file, frame) of each page, in order
            self._frames = [(p, k) for p in self.images for k in range(frame_count(p))]
            self.n_pages = len(self._frames)

    @property
    def labels(self) -> list[str] | None:
        """The page labels a PDF prints on its pages (``/PageLabels``: ``i``, ``ii``, then
        ``1``, ``2`` ..., or ``101``-``110`` for an article), one per page; ``None`` for page
        images and a PDF that gives none or labels its pages 1 to n as they come."""
        if not hasattr(self, "_labels"):
            self._labels: list[str] | None = None
            if self._pdf is not None:
                try:
                    got = [self._pdf.get_page_label(i) or "" for i in range(self.n_pages)]
                except Exception as exc:                   # noqa: BLE001 - pdfium's errors
                    log.warning("%s: page labels cannot be read (%s)", self.name, exc)
                    got = []
                if any(got) and got != [str(i + 1) for i in range(self.n_pages)]:
                    self._labels = got
        return self._labels

    @property
    def name(self) -> str:
        return self.pdf_path.name if self.pdf_path else ", ".join(p.name for p in self.images)

    @property
    def scale(self) -> float:
        return self.dpi / 72.0

    @property
    def ocr(self) -> OcrEngine:
        if self._ocr is None:
            self._ocr = load_ocr(str(self._ocr_spec))
        return self._ocr

    def sha256(self) -> str:
        if self.pdf_path:
            return sha256_file(self.pdf_path)
        import hashlib
        return hashlib.sha256("".join(sha256_file(p) for p in self.images).encode()).hexdigest()

    def exists(self, number: int) -> bool:
        return 1 <= number <= self.n_pages

    def page(self, number: int) -> Page:
        """Page ``number`` (1-based); raises ``IndexError`` for a page that does not exist."""
        if not self.exists(number):
            raise IndexError(f"{self.name} has {self.n_pages} pages; no page {number}")
        if number not in self._pages:
            self._pages[number] = self._read(number)
        return self._pages[number]

    def text(self, number: int) -> str:
        return self.page(number).text

    def columns(self, number: int) -> Page | None:
        """Page ``number`` read column by column, or ``None`` when it has no columns (an OCR
        page's comes with its lines; a PDF page's is made from its text layer on first use)."""
        page = self.page(number)
        if page.source == "pdf" and number not in self._columns_made:
            self._columns_made.add(number)
            page.columns = self._pdf_columns(page)
        return page.columns

    def has_columns(self, pages: Sequence[int] | None = None) -> bool:
        """Whether a page read so far (or one of ``pages``) has a column reading."""
        numbers = list(self._pages) if pages is None else [n for n in pages if self.exists(n)]
        return any(self.columns(n) is not None for n in numbers)

    def _pdf_columns(self, page: Page) -> Page | None:
        pdf_page = self._pdf[page.number - 1]
        lines = pdf_lines(pdf_page.get_textpage(), pdf_page.get_height(), self.scale)
        by_columns = column_order(reading_order(lines))
        if by_columns is None:
            return None
        out = ocr_page(page.number, by_columns, "columns")
        out.source = "pdf"
        return None if " ".join(out.text.split()) == " ".join(page.text.split()) else out

    def _read(self, number: int) -> Page:
        if self._pdf is not None:
            try:
                tp = self._pdf[number - 1].get_textpage()
                text = tp.get_text_range().replace("\r\n", "\n").replace("\r", "\n")
            except Exception as exc:                       # noqa: BLE001 - pdfium's errors
                raise UnreadableImage(f"page {number} cannot be read: {exc}",
                                      path=str(self.pdf_path), field="document") from None
            chars = len("".join(text.split()))                  # non-space characters
            if chars >= self.min_chars:
                return Page(number, text, "pdf")
            log.info("%s p.%d has no usable text layer; OCR", self.name, number)
            read = ocr_page(number, cached_read(self.ocr, self.render(number), self.cache))
            # a page of a few words ("plan to open") that OCR reads less of keeps them
            return read if len("".join(read.text.split())) >= chars else \
                Page(number, text, "pdf")
        image = self.render(number)
        return ocr_page(number, cached_read(self.ocr, image, self.cache))

    def render(self, number: int):
        """Page ``number`` as a PIL image (PDF pages rendered at ``dpi``); an unreadable page
        (or one over the pixel limit) raises :class:`UnreadableImage`."""
        if not self.exists(number):
            raise IndexError(f"{self.name} has {self.n_pages} pages; no page {number}")
        if self._pdf is not None:
            page = self._pdf[number - 1]
            try:
                check_pixels(round(page.get_width() * self.scale),
                             round(page.get_height() * self.scale), str(self.pdf_path))
                return page.render(scale=self.scale).to_pil().convert("RGB")
            except UnreadableImage as exc:
                raise UnreadableImage(f"page {number}: {exc.reason}", path=exc.path,
                                      field="document") from None
            except Exception as exc:                       # noqa: BLE001 - pdfium's errors
                raise UnreadableImage(f"page {number} cannot be rendered: {exc}",
                                      path=str(self.pdf_path), field="document") from None
        path, frame = self._frames[number - 1]
        try:
            return open_image(path, frame=frame)
        except UnreadableImage as exc:
            raise UnreadableImage(exc.reason, path=exc.path, field="document") from None

    def char_boxes(self, number: int, start: int, end: int, reading: str | None = None
                   ) -> list[tuple[float, float, float, float]]:
        """Pixel boxes (on :meth:`render`'s image) covering characters ``start:end`` of page
        ``number``'s text (with ``reading="columns"``: of its column reading), one per text
        line."""
        page = self.page(number)
        if reading == "columns" and self.columns(number) is not None:
            page = page.columns
        if page.source == "ocr" or page.reading == "columns":
            return [ln.box for ln, s in zip(page.lines, page.starts)
                    if s < end and s + len(ln.text) > start]
        pdf_page = self._pdf[number - 1]
        tp = pdf_page.get_textpage()
        height = pdf_page.get_height()
        raw = tp.get_text_range()
        idx = _text_to_char_index(raw)
        rows: list[list[float]] = []
        for i in range(start, min(end, len(idx))):
            ci = idx[i]
            if ci is None or raw[ci].isspace():
                continue
            left, bottom, right, top = tp.get_charbox(ci)
            if right <= left or top <= bottom:
                continue
            box = [left * self.scale, (height - top) * self.scale, right * self.scale,
                   (height - bottom) * self.scale]
            if rows and _same_line(rows[-1], box):
                r = rows[-1]
                rows[-1] = [min(r[0], box[0]), min(r[1], box[1]), max(r[2], box[2]),
                            max(r[3], box[3])]
            else:
                rows.append(box)
        return [tuple(r) for r in rows]

    def close(self) -> None:
        if self._pdf is not None:
            self._pdf.close()
            self._pdf = None


def pdf_lines(textpage: Any, height: float, scale: float) -> list[OcrLine]:
    """The text lines of a PDF page's text layer with their boxes (render pixels at ``scale``):
    pdfium's text rectangles, neighbours on one line less than a line height apart joined (it
    splits a line at a ligature or a change of font)."""
    rows: list[list[Any]] = []                # [x1, y1, x2, y2, text]
    for i in range(textpage.count_rects()):
        left, bottom, right, top = textpage.get_rect(i)
        text = " ".join(textpage.get_text_bounded(left, bottom, right, top).split("\n"))
        box = [left * scale, (height - top) * scale, right * scale, (height - bottom) * scale]
        if not text.strip():
            continue
        if rows and _same_line(rows[-1], box) and box[0] - rows[-1][2] < box[3] - box[1]:
            r = rows[-1]
            rows[-1] = [r[0], min(r[1], box[1]), max(r[2], box[2]), max(r[3], box[3]),
                        r[4] + text]
        else:
            rows.append(box + [text])
    return [OcrLine(" ".join(r[4].split()), (r[0], r[1], r[2], r[3]), 1.0) for r in rows]


def _same_line(a: Sequence[float], b: Sequence[float]) -> bool:
    """Boxes on one text line: vertical overlap of at least half the shorter one, and ``b``
    not to the left of ``a``'s start."""
    overlap = min(a[3], b[3]) - max(a[1], b[1])
    return overlap >= 0.5 * min(a[3] - a[1], b[3] - b[1]) and b[0] >= a[0] - 1


def _text_to_char_index(raw: str) -> list[int | None]:
    """Map offsets of the normalised page text (``\\r\\n`` -> ``\\n``) to pdfium char indices.

    pdfium's ``get_text_range`` yields one character per text-page character, with ``\\r\\n``
    for generated line breaks (two characters); after replacing those with ``\\n`` each text
    offset maps to the index of its first character."""
    out: list[int | None] = []
    i = 0
    while i < len(raw):
        if raw.startswith("\r\n", i):
            out.append(None)
            i += 2
            continue
        out.append(i if raw[i] != "\r" else None)
        i += 1
    return out


class DocumentSet:
    """The several documents a record carries (``document``: a list of PDFs, or a mapping of
    names to documents), by name; a citation is checked in the one it names
    (:meth:`named`).

    Args:
        documents: name -> :class:`Document`, in the record's order.
    """

    def __init__(self, documents: dict[str, Document]):
        self.documents = dict(documents)

    @property
    def name(self) -> str:
        return ", ".join(self.documents)

    def named(self, file: str) -> str | None:
        """The name of the one document that ``file`` (a name a citation gives) is
        (:meth:`matching`); ``None`` when it is none of them, or several."""
        found = self.matching(file)
        return found[0] if len(found) == 1 else None

    def _aliases(self, name: str) -> dict[str, str]:
        doc = self.documents[name]
        return document_aliases(name, [doc.pdf_path] if doc.pdf_path else doc.images)

    def matching(self, written: str) -> list[str]:
        """The names of the documents that ``written`` (a name a citation gives: a file name,
        a name in the record, a file's stem; folders and case aside) may be, in the record's
        order: one, or several when it is ambiguous (never guessed among them)."""
        want = " ".join(written.replace("\\", "/").rsplit("/", 1)[-1].split()).lower()
        return [n for n in self.documents if want in self._aliases(n)]

    def how_named(self, name: str, written: str) -> str:
        """How ``written`` names document ``name``: ``""`` by its name, else `` by its file
        report.pdf``."""
        want = " ".join(written.replace("\\", "/").rsplit("/", 1)[-1].split()).lower()
        return self._aliases(name).get(want, "")

    def citation_names(self) -> tuple[str, ...]:
        """The names a citation in prose may give the documents (:func:`citation_names`)."""
        return citation_names({n: [d.pdf_path] if d.pdf_path else d.images
                               for n, d in self.documents.items()})

    def close(self) -> None:
        for doc in self.documents.values():
            doc.close()


def record_document(record: Any, **kw: Any) -> Document | DocumentSet | None:
    """The :class:`Document` a record carries (a :class:`DocumentSet` when it carries several;
    ``None`` when it has none)."""
    source = record_document_source(record)
    if source is None:
        return None
    if isinstance(source, dict):
        return DocumentSet({k: Document(v, **kw) for k, v in source.items()})
    return Document(source, **kw)

