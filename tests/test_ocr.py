"""OCR on pages rendered with PIL (known text), page-image documents, and scanned PDFs."""

from __future__ import annotations

import os
import shutil

import matplotlib
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from halluscope.errors import ConfigError
from halluscope.evidence.cache import EvidenceCache
from halluscope.evidence.ocr import (OcrLine, cached_read, lines_text, load_ocr, parse_tsv,
                                     reading_order)
from tests.tiny_detectors import isolated_cache  # noqa: F401,E402

LINES = ["Total revenue: 4,210 units", "The committee approved the plan."]


def render(lines=LINES, size=(900, 300)):
    font = ImageFont.truetype(os.path.join(matplotlib.get_data_path(), "fonts", "ttf",
                                           "DejaVuSans.ttf"), 30)
    img = Image.new("RGB", size, "white")
    d = ImageDraw.Draw(img)
    for i, line in enumerate(lines):
        d.text((30, 40 + 90 * i), line, fill="black", font=font)
    return img


@pytest.fixture(scope="module")
def rapid():
    pytest.importorskip("rapidocr")
    pytest.importorskip("onnxruntime")
    return load_ocr("rapidocr")


@pytest.mark.slow
def test_rapidocr_reads_a_rendered_page(rapid):
    lines = rapid.read(render())
    assert [ln.text for ln in lines] == LINES
    assert all(ln.score > 0.8 for ln in lines)
    first, second = lines
    assert first.box[1] < second.box[1] and 20 <= first.box[0] <= 40
    assert rapid.provenance()["engine"] == "rapidocr"


needs_tesseract = pytest.mark.skipif(shutil.which("tesseract") is None,
                                     reason="tesseract is not installed")


@needs_tesseract
def test_tesseract_reads_a_rendered_page():
    eng = load_ocr("tesseract:eng")
    lines = eng.read(render())
    assert [ln.text for ln in lines] == LINES
    assert eng.provenance()["version"].startswith("tesseract")
    data = eng.provenance()["language_data"]["eng"]
    assert data["path"].endswith("eng.traineddata") and len(data["sha256"]) == 16


def test_tsv_grouping_and_reading_order():
    tsv = ("level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight"
           "\tconf\ttext\n"
           "5\t1\t1\t1\t1\t1\t10\t10\t40\t20\t96\tHello\n"
           "5\t1\t1\t1\t1\t2\t60\t12\t50\t20\t90\tworld\n"
           "5\t1\t1\t1\t2\t1\t10\t50\t40\t20\t-1\t \n"
           "5\t1\t2\t1\t1\t1\t10\t80\t30\t20\t80\tBye\n")
    a, b = parse_tsv(tsv)
    assert a == OcrLine("Hello world", (10, 10, 110, 32), pytest.approx(0.93))
    assert b.text == "Bye"
    right = OcrLine("right", (200, 10, 300, 30), 1.0)
    left = OcrLine("left", (0, 12, 100, 32), 1.0)
    below = OcrLine("below", (0, 60, 100, 80), 1.0)
    assert [ln.text for ln in reading_order([below, right, left])] == ["left", "right",
                                                                       "below"]
    assert lines_text([left, right]) == "left\nright"


def test_unknown_engine():
    with pytest.raises(ConfigError, match="rapidocr or tesseract"):
        load_ocr("abbyy")


class CountingEngine:
    name = "fake"

    def __init__(self):
        self.calls = 0

    def read(self, image):
        self.calls += 1
        return [OcrLine("hello", (0, 0, 5, 5), 0.9)]

    def provenance(self):
        return {"engine": "fake"}


def test_ocr_cache(tmp_path):
    eng = CountingEngine()
    cache = EvidenceCache(tmp_path)
    img = render(["x"])
    assert cached_read(eng, img, cache) == cached_read(eng, img, cache)
    assert eng.calls == 1 and cache.hits == 1
    cached_read(eng, img, EvidenceCache(None))
    assert eng.calls == 2


@pytest.mark.slow
def test_page_image_documents_and_scanned_pdfs_are_ocrd(tmp_path, rapid):
    pytest.importorskip("pypdfium2")
    from halluscope.evidence.documents import Document
    from halluscope.checks.pages import check_pages
    from halluscope.records import record_from_dict

    p1, p2 = tmp_path / "p1.png", tmp_path / "p2.png"
    render(["Chapter One", "The harbour opened in 1894."]).save(p1)
    render(["Chapter Two", "Ships brought 12,500 tonnes of grain."]).save(p2)
    doc = Document([p1, p2], ocr=rapid, cache=EvidenceCache(tmp_path / "cache"))
    assert doc.n_pages == 2 and doc.page(2).source == "ocr"
    assert "12,500 tonnes" in doc.text(2)
    t = doc.text(2)
    s = t.index("12,500")
    (box,) = doc.char_boxes(2, s, s + 6)
    assert box[1] > 100                                    # the second line

    scanned = tmp_path / "scan.pdf"                        # image-only PDF: no text layer
    render(["Chapter One", "The harbour opened in 1894."]).save(scanned, dpi=(72, 72))
    sdoc = Document(scanned, ocr=rapid, dpi=72)
    assert sdoc.page(1).source == "ocr" and "1894" in sdoc.text(1)

    rec = record_from_dict({"id": "s", "document": ["p1.png", "p2.png"],
                            "response": 'It opened in 1894 (p. 1). "Ships brought 12,500 '
                                        'tonnes of grain" (p. 1).'},
                           file=str(tmp_path / "x.jsonl"), line=1)
    from halluscope.evidence.documents import record_document
    rdoc = record_document(rec, ocr=rapid)
    vs = check_pages(rec, rdoc)
    assert [v.label for v in vs] == ["supported", "supported", "supported", "hallucinated"]
    assert vs[3].reason == "not on p. 1; found on page 2"


def test_document_errors(tmp_path):
    from halluscope.evidence.documents import Document, document_source
    from halluscope.errors import UnreadableImage
    with pytest.raises(UnreadableImage, match="missing.pdf: not found") as info:
        Document(tmp_path / "missing.pdf")
    assert info.value.location.field == "document"
    with pytest.raises(ConfigError, match="expected a PDF"):
        Document(tmp_path / "notes.txt")
    with pytest.raises(ConfigError, match="expected a PDF path"):
        document_source(42, None)
    assert document_source({"pages": ["a.png"]}, tmp_path) == [str(tmp_path / "a.png")]
    assert document_source("/abs/x.pdf", tmp_path) == "/abs/x.pdf"


def _fake_tesseract(tmp_path):
    """A ``tesseract`` that reads its language data from ``tmp_path/tessdata`` and counts
    its OCR runs in ``tmp_path/runs``."""
    tessdata = tmp_path / "tessdata"
    tessdata.mkdir()
    (tessdata / "eng.traineddata").write_bytes(b"fast model")
    tsv = tmp_path / "words.tsv"
    tsv.write_text("level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\t"
                   "width\theight\tconf\ttext\n"
                   "5\t1\t1\t1\t1\t1\t10\t10\t40\t12\t96\thello\n")
    tool = tmp_path / "tesseract"
    tool.write_text(f"""#!/bin/sh
case "$1" in
  --version) echo "tesseract 5.3.0"; exit 0;;
  --list-langs) echo 'List of available languages in "{tessdata}/" (1):'; echo eng; exit 0;;
esac
echo run >> "{tmp_path / 'runs'}"
cat "{tsv}"
""")
    tool.chmod(0o755)
    return tool, tessdata


def test_tesseract_ocr_is_keyed_by_its_language_data(tmp_path):
    """Another eng.traineddata (best instead of fast, a retrained one) reads other text, but
    the OCR cache was keyed by the version and the language names alone: the other model's
    text was served."""
    from halluscope.evidence.ocr import TesseractEngine
    tool, tessdata = _fake_tesseract(tmp_path)
    cache = EvidenceCache(tmp_path / "cache")
    img = np.full((40, 80, 3), 255, np.uint8)

    def runs():
        lines = cached_read(TesseractEngine("eng", binary=str(tool)), img, cache)
        assert [ln.text for ln in lines] == ["hello"]
        return len((tmp_path / "runs").read_text().splitlines())

    assert runs() == 1 and runs() == 1                    # the same data: cached
    prov = TesseractEngine("eng", binary=str(tool)).provenance()
    assert prov["version"] == "tesseract 5.3.0"
    assert prov["language_data"]["eng"]["path"] == str(tessdata / "eng.traineddata")
    (tessdata / "eng.traineddata").write_bytes(b"best model, retrained")
    assert runs() == 2                                    # other language data: read again
    assert TesseractEngine("eng+deu", binary=str(tool)).provenance()["language_data"][
        "deu"] is None                                    # a language without its file
