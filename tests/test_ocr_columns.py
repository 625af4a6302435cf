"""OCR pages set in columns: a second reading, column by column, from the same line boxes.

A quote that wraps from one line of a column to the next was judged hallucinated on a scanned
two-column page, because the OCR lines were read row by row across both columns. Every page
here is made of synthetic OCR line boxes (no OCR model), apart from the last test, which
renders a two-column page and reads it with RapidOCR when that is installed.
"""

from __future__ import annotations

import pytest

from halluscope.checks.pages import check_pages
from halluscope.evidence.cache import EvidenceCache
from halluscope.evidence.ocr import OcrLine, reading_order
from halluscope.evidence.ocr_columns import column_order, gutters
from halluscope.records import record_from_dict
from tests.tiny_detectors import isolated_cache  # noqa: F401,E402

LEFT = ["The committee met in March and", "agreed to raise the annual budget",
        "by twelve percent for research.", "Members voted in favour."]
RIGHT = ["Results from the field trial", "showed that yields improved",
         "across all sites in the region.", "Further work is planned."]


def two_columns() -> list[OcrLine]:
    """A title over both columns, then four rows of a left (x 50-380) and a right column
    (x 420-750), a line 20 px high every 30 px, and a footer over both columns."""
    lines = [OcrLine("A Study of Things", (200, 20, 600, 50), 0.99)]
    for k, (a, b) in enumerate(zip(LEFT, RIGHT)):
        y = 100 + 30 * k
        lines.append(OcrLine(a, (50, y, 50 + 8 * len(a), y + 20), 0.98))
        lines.append(OcrLine(b, (420, y + 1, 420 + 8 * len(b), y + 21), 0.98))
    lines.append(OcrLine("Page 1 of 1 - printed in the annual review", (50, 300, 750, 320), 0.9))
    return reading_order(lines)


def one_column() -> list[OcrLine]:
    """Paragraphs with ragged right edges (short last lines) and a page number at the
    bottom right: one column."""
    texts = ["Revenue reached 4,210 units in the year under review while", "costs fell.",
             "Staff grew to 185 people across the three regional offices", "of the firm and",
             "its partners.", "Supply costs rose by 7.5% against the year before."]
    lines = [OcrLine(t, (50, 40 + 30 * k, 50 + 9 * len(t), 60 + 30 * k), 0.97)
             for k, t in enumerate(texts)]
    lines.append(OcrLine("3", (700, 400, 712, 420), 0.9))
    return reading_order(lines)


def table() -> list[OcrLine]:
    """A three-column table: a header row and three data rows, read a row at a time."""
    rows = [("Item", "2023", "2024"), ("Revenue", "4,210", "3,900"),
            ("Costs", "1,200", "1,350"), ("Staff", "185", "190")]
    lines = []
    for k, row in enumerate(rows):
        y = 50 + 30 * k
        for x, cell in zip((50, 300, 500), row):
            lines.append(OcrLine(cell, (x, y, x + 10 * len(cell), y + 20), 0.95))
    return reading_order(lines)


class LinesOcr:
    """An OCR engine that reads the same lines from every page."""

    name = "lines-ocr"

    def __init__(self, lines):
        self.lines, self.calls = list(lines), 0

    def read(self, image):
        self.calls += 1
        return list(self.lines)

    def provenance(self):
        return {"component": "ocr", "engine": self.name,
                "lines": [ln.to_dict() for ln in self.lines]}


def document(tmp_path, lines, cache=None):
    from PIL import Image

    from halluscope.evidence.documents import Document
    path = tmp_path / "scan.png"
    Image.new("RGB", (800, 400), "white").save(path)
    return Document(path, ocr=LinesOcr(lines), cache=cache)


def record(response, path):
    return record_from_dict({"id": "d", "task": "document", "document": str(path),
                             "response": response}, file="/tmp/x.jsonl", line=1)


def quote_verdict(doc, response):
    source = doc.pdf_path or doc.images[0]
    verdicts = [v for v in check_pages(record(response, source), doc)
                if v.checker == "page-quote"]
    assert len(verdicts) == 1
    return verdicts[0]


# -- the column reading --------------------------------------------------------------------------

def test_the_row_reading_interleaves_the_columns_and_the_column_reading_does_not():
    rows = two_columns()
    assert [ln.text for ln in rows][1:5] == [LEFT[0], RIGHT[0], LEFT[1], RIGHT[1]]
    assert len(gutters(rows)) == 1
    a, b = gutters(rows)[0]
    assert 50 + 8 * max(map(len, LEFT)) <= a < b <= 420
    assert [ln.text for ln in column_order(rows)] == [
        "A Study of Things", *LEFT, *RIGHT, "Page 1 of 1 - printed in the annual review"]


def test_a_single_column_page_and_a_table_keep_their_one_reading():
    assert gutters(one_column()) == [] and column_order(one_column()) is None
    # a table's gutters are wider than its columns: it keeps its row reading alone (see
    # test_a_table_has_no_column_reading_to_join_its_cells_in)
    assert len(gutters(table())) == 2 and column_order(table()) is None
    assert column_order([]) is None and column_order(two_columns()[:3]) is None


def test_a_line_across_the_gutter_ends_a_section():
    lines = two_columns()
    mid = OcrLine("A full-width paragraph runs across both columns here",
                  (50, 218, 750, 238), 0.9)
    below = [OcrLine("left after", (50, 250, 200, 270), 0.9),
             OcrLine("right after", (420, 250, 600, 270), 0.9)]
    order = [ln.text for ln in column_order(reading_order(lines[:-1] + [mid] + below))]
    assert order == ["A Study of Things", *LEFT, *RIGHT, mid.text, "left after", "right after"]


# -- page grounding ------------------------------------------------------------------------------

def test_a_quote_wrapping_inside_a_column_is_found_by_the_column_reading(tmp_path):
    doc = document(tmp_path, two_columns())
    v = quote_verdict(doc, 'The minutes say "agreed to raise the annual budget by twelve '
                           'percent for research" (p. 1).')
    assert v.label == "supported"
    assert v.reason == "found on page 1 (exact match, the page read column by column)"
    ev = v.evidence[0].payload
    assert ev["reading"] == "columns"
    assert ev["found"] == "agreed to raise the annual budget\nby twelve percent for research"
    assert doc.column_text(1)[slice(*ev["char_span"])] == ev["found"]
    boxes = doc.char_boxes(1, *ev["char_span"], reading="columns")
    assert boxes == [(50.0, 130.0, 314.0, 150.0), (50.0, 160.0, 298.0, 180.0)]
    # the right column likewise
    v = quote_verdict(doc, 'It says "showed that yields improved across all sites" (p. 1).')
    assert (v.label, v.evidence[0].payload["reading"]) == ("supported", "columns")


def test_quotes_the_row_reading_finds_keep_their_verdicts(tmp_path):
    doc = document(tmp_path, two_columns())
    v = quote_verdict(doc, 'It says "agreed to raise the annual budget" (p. 1).')
    assert (v.label, v.reason) == ("supported", "found on page 1 (exact match)")
    assert "reading" not in v.evidence[0].payload
    v = quote_verdict(doc, 'It says "budget by twelve percent for research" (p. 1).')
    assert v.label == "supported" and v.evidence[0].payload["reading"] == "columns"
    v = quote_verdict(doc, 'It says "the budget doubled for research" (p. 1).')
    assert (v.label, v.reason) == ("hallucinated", "not on p. 1 nor anywhere in the document")
    assert "reading" not in v.evidence[0].payload


def test_single_column_pages_and_tables_read_as_before(tmp_path):
    single = document(tmp_path, one_column())
    assert single.page(1).columns is None and not single.has_columns()
    assert single.column_text(1) == single.text(1)
    v = quote_verdict(single, 'It says "Staff grew to 185 people across the three regional '
                              'offices of the firm" (p. 1).')
    assert (v.label, v.reason) == ("supported", "found on page 1 (exact match)")
    grid = tmp_path / "table"
    grid.mkdir()
    doc = document(grid, table())
    assert doc.text(1).split("\n")[3:6] == ["Revenue", "4,210", "3,900"]     # row by row
    assert doc.column_text(1) == doc.text(1) and not doc.has_columns()
    v = quote_verdict(doc, 'The table reads "Revenue 4,210 3,900" (p. 1).')
    assert (v.label, v.reason) == ("supported", "found on page 1 (exact match)")
    v = quote_verdict(doc, 'It reports 4,210 units (p. 1).')
    assert (v.label, v.reason) == ("supported", "found on page 1 (number match)")
    v = quote_verdict(doc, 'The table reads "Revenue 3,900 4,210" (p. 1).')
    assert v.label == "hallucinated"


def test_a_table_has_no_column_reading_to_join_its_cells_in(tmp_path):
    """Read by columns, the table joined the foot of its first column to the head of the next
    ("... Staff 2023 4,210 ...") and one column's values to each other: a quote saying Staff
    was 4,210 in 2023 (the table says 185) was supported. A gutter wider than a column beside
    it parts a table's cells: the table keeps its row reading alone."""
    doc = document(tmp_path, table())
    for quote in ("Staff 2023 4,210", "Item Revenue Costs Staff", "2023 4,210 1,200 185"):
        v = quote_verdict(doc, f'The table reads "{quote}" (p. 1).')
        assert v.label == "hallucinated", (quote, v.reason)
    # a two-column article's gutter is narrower than its columns: read both ways
    assert column_order(two_columns()) is not None
    wide = [OcrLine(ln.text, (ln.box[0] * 2, ln.box[1], ln.box[2] * 2, ln.box[3]), 0.9)
            for ln in two_columns()]
    assert column_order(reading_order(wide)) is not None


def test_the_column_reading_comes_from_the_cached_ocr_lines(tmp_path):
    cache = EvidenceCache(tmp_path / "cache")
    first = document(tmp_path, two_columns(), cache)
    assert first.page(1).columns is not None and first.ocr.calls == 1
    again = document(tmp_path, two_columns(), cache)
    assert again.column_text(1) == first.column_text(1) and again.ocr.calls == 0
    assert again.text(1) == first.text(1)


def test_highlights_of_a_column_read_quote_are_its_lines_boxes(tmp_path):
    from halluscope.verification import PageVerifier
    doc = document(tmp_path, two_columns())
    response = 'It says "agreed to raise the annual budget by twelve percent" (p. 1).'
    rec = record(response, doc.images[0])
    marks = PageVerifier._highlights(rec, doc, check_pages(rec, doc))
    assert marks == [{"page": 1, "quote": "agreed to raise the annual budget by twelve percent",
                      "boxes": [[50.0, 130.0, 314.0, 150.0], [50.0, 160.0, 298.0, 180.0]]}]


# -- PDF text layers ---------------------------------------------------------------------------

def two_column_pdf(path, order):
    """A PDF page of two columns whose text is drawn column by column (``columns``, as LaTeX
    and word processors draw it) or row across row (``rows``, as some converters do)."""
    pytest.importorskip("matplotlib")
    pytest.importorskip("pypdfium2")
    from matplotlib.figure import Figure          # no pyplot: the backend stays as it is
    items = [(0.05, 0.8 - 0.2 * k, t) for k, t in enumerate(LEFT[:3])] + \
        [(0.55, 0.8 - 0.2 * k, t) for k, t in enumerate(RIGHT[:3])]
    if order == "rows":
        items.sort(key=lambda i: (-i[1], i[0]))
    fig = Figure(figsize=(8.5, 3))
    for x, y, text in items:
        fig.text(x, y, text, fontsize=11)
    fig.savefig(path)
    return path


def test_a_pdf_drawn_row_across_row_gets_a_column_reading(tmp_path):
    from halluscope.evidence.documents import Document
    doc = Document(two_column_pdf(tmp_path / "rows.pdf", "rows"))
    assert doc.text(1).splitlines()[1] == f"{LEFT[1]} {RIGHT[1]}"      # pdfium: stream order
    assert doc.column_text(1).splitlines() == LEFT[:3] + RIGHT[:3]
    v = quote_verdict(doc, 'It says "agreed to raise the annual budget by twelve percent" '
                           '(p. 1).')
    assert v.label == "supported" and v.evidence[0].payload["reading"] == "columns"
    boxes = doc.char_boxes(1, *v.evidence[0].payload["char_span"], reading="columns")
    assert len(boxes) == 2 and boxes[0][1] < boxes[1][1] and boxes[0][0] < 200
    v = quote_verdict(doc, 'It says "budget showed that yields" (p. 1).')
    assert (v.label, v.reason) == ("supported", "found on page 1 (exact match)")


def test_a_pdf_drawn_column_by_column_has_its_one_reading(tmp_path):
    from halluscope.evidence.documents import Document
    doc = Document(two_column_pdf(tmp_path / "columns.pdf", "columns"))
    assert doc.text(1).splitlines() == LEFT[:3] + RIGHT[:3]
    assert doc.columns(1) is None and not doc.has_columns()
    v = quote_verdict(doc, 'It says "agreed to raise the annual budget by twelve percent" '
                           '(p. 1).')
    assert (v.label, v.reason) == ("supported", "found on page 1 (exact match)")


# -- end to end with a real OCR engine -----------------------------------------------------------

def test_a_rendered_two_column_page_read_by_rapidocr(tmp_path):
    pytest.importorskip("rapidocr")
    pytest.importorskip("onnxruntime")
    from pathlib import Path

    from PIL import Image, ImageDraw, ImageFont

    from halluscope.evidence.documents import Document
    font_path = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    if not font_path.is_file():
        pytest.skip("DejaVuSans.ttf is not installed")
    font = ImageFont.truetype(str(font_path), 26)
    image = Image.new("RGB", (1400, 420), "white")
    draw = ImageDraw.Draw(image)
    for k, (a, b) in enumerate(zip(LEFT, RIGHT)):
        draw.text((40, 40 + 70 * k), a, fill="black", font=font)
        draw.text((760, 40 + 70 * k), b, fill="black", font=font)
    path = tmp_path / "two-columns.png"
    image.save(path)
    doc = Document(path, cache=EvidenceCache(None))
    if "annual budget" not in doc.text(1):
        pytest.skip(f"RapidOCR read something else here: {doc.text(1)!r:.200}")
    v = quote_verdict(doc, 'It says "agreed to raise the annual budget by twelve percent" '
                           '(p. 1).')
    assert v.label == "supported", v.reason
    assert v.evidence[0].payload["reading"] == "columns"
