"""Page grounding on scans and labelled pages: PDFs built here, byte by byte (no fixtures)."""

from __future__ import annotations

import zlib

import pytest

from conftest import document_answers
from halluscope.records import record_from_dict

pytest.importorskip("pypdfium2")


def _esc(s):
    return s.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def write_pdf(path, pages, labels=None, scans=()):
    """A PDF of Helvetica text lines per page; pages in ``scans`` hold an image and no text;
    ``labels``: a raw ``/PageLabels`` dictionary."""
    objs, kids, nxt = {}, [], 4
    for i, lines in enumerate(pages):
        pid, cid = nxt, nxt + 1
        nxt += 2
        kids.append(pid)
        if i in scans:
            iid, nxt = nxt, nxt + 1
            pixels = zlib.compress(bytes((x // 8 + y // 8) % 2 * 255 for y in range(64)
                                         for x in range(64)))
            objs[iid] = (b"<< /Type /XObject /Subtype /Image /Width 64 /Height 64 "
                         b"/ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /FlateDecode "
                         b"/Length %d >>\nstream\n" % len(pixels) + pixels + b"\nendstream")
            content = b"q 500 0 0 700 50 50 cm /Im1 Do Q"
            res = f"<< /XObject << /Im1 {iid} 0 R >> >>"
        else:
            content = "\n".join(["BT /F1 12 Tf 14 TL 72 760 Td"] + [
                f"({_esc(ln)}) Tj T*" for ln in lines] + ["ET"]).encode("cp1252")
            res = "<< /Font << /F1 3 0 R >> >>"
        objs[pid] = (f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources {res} "
                     f"/Contents {cid} 0 R >>").encode()
        objs[cid] = b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream"
    objs[1] = ("<< /Type /Catalog /Pages 2 0 R" + (f" /PageLabels {labels}" if labels else "")
               + " >>").encode()
    objs[2] = (f"<< /Type /Pages /Kids [{' '.join(f'{k} 0 R' for k in kids)}] "
               f"/Count {len(kids)} >>").encode()
    objs[3] = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
    out, offsets = bytearray(b"%PDF-1.4\n"), {}
    for k in sorted(objs):
        offsets[k] = len(out)
        out += b"%d 0 obj\n" % k + objs[k] + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % offsets[k] for k in sorted(objs))
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    path.write_bytes(bytes(out))
    return path


class JunkOcr:
    """What OCR makes of a scan it cannot read (a photo, a skewed page): a few stray marks."""

    name = "junk-ocr"

    def __init__(self, text="6\n1\n1"):
        self.text = text

    def read(self, image):
        from halluscope.evidence.ocr import OcrLine
        return [OcrLine(t, (10, 10 + 30 * i, 40, 35 + 30 * i), 0.6)
                for i, t in enumerate(self.text.split("\n"))]

    def provenance(self):
        return {"component": "ocr", "engine": self.name}


def _quotes(response, document):
    from halluscope.checks.pages import check_pages
    rec = record_from_dict({"id": "d", "task": "document", "document": "doc.pdf",
                            "response": response}, file="/tmp/x.jsonl", line=1)
    return [v for v in check_pages(rec, document) if v.checker == "page-quote"]


def test_a_quote_cited_on_a_scan_ocr_cannot_read_is_unverifiable(tmp_path):
    from halluscope.evidence.documents import Document
    path = write_pdf(tmp_path / "doc.pdf", [["Precision was 0.91 on the test set."], []],
                     scans=(1,))
    doc = Document(path, ocr=JunkOcr())
    (v,) = _quotes('It says "the scanned appendix lists 12 sites" (p. 2).', doc)
    # was: hallucinated, "not on p. 2 nor anywhere in the document"
    assert v.label == "unverifiable"
    assert "OCR read too little text" in v.reason and "page 2: 3 characters" in v.reason
    assert v.evidence[0].payload["ocr_text"] == {"2": "6\n1\n1"}
    # a number found elsewhere does not make it a hallucination either: page 2 was not read
    (v,) = _quotes("Precision was 0.91 (p. 2).", doc)
    assert v.label == "unverifiable" and v.evidence[0].payload["found_on"] == [1]
    # what OCR did read is still found there, however little it is
    (v,) = _quotes("The scan shows 61 (p. 2).", Document(path, ocr=JunkOcr("61")))
    assert v.label == "supported" and v.evidence[0].payload["found"] == "61"


def test_a_scan_ocr_reads_in_full_is_checked_as_before(tmp_path):
    from halluscope.evidence.documents import Document
    path = write_pdf(tmp_path / "doc.pdf", [["Precision was 0.91 on the test set."], []],
                     scans=(1,))
    doc = Document(path, ocr=JunkOcr("The appendix lists the eleven sites\nby region."))
    (v,) = _quotes('It says "the appendix lists 12 sites" (p. 2).', doc)
    assert v.label == "hallucinated"
    (v,) = _quotes('It says "the appendix lists the eleven sites" (p. 2).', doc)
    assert v.label == "supported" and v.evidence[0].source == "ocr"
    # one readable cited page beside the scan: found there, supported; else unverifiable
    (v,) = _quotes('It says "Precision was 0.91" (pp. 1-2).',
                   Document(path, ocr=JunkOcr()))
    assert v.label == "supported"
    (v,) = _quotes('It says "Recall was 0.84" (pp. 1-2).', Document(path, ocr=JunkOcr()))
    assert v.label == "unverifiable"


# -- page labels: i, ii, then 1, 2, 3 ------------------------------------------------------------

FRONT = "<< /Nums [0 << /S /r >> 2 << /S /D >>] >>"
BOOK = [["Preface: why this book exists."], ["Contents: the outline of chapters."],
        ["Chapter one begins with the method."], ["The model said 42 units in total."],
        ["Closing remarks on the results."]]


def _all(response, document):
    from halluscope.checks.pages import check_pages
    rec = record_from_dict({"id": "d", "task": "document", "document": "doc.pdf",
                            "response": response}, file="/tmp/x.jsonl", line=1)
    return [(v.checker, v.label, v.reason) for v in check_pages(rec, document)]


def test_roman_page_citations_are_read_as_labels():
    from halluscope.claims.page_citations import parse_page_citations as parse
    cited = {t: [(c.pages, c.labels) for c in parse(t)] for t in [
        'See p. ii: "Contents".', 'Pages iii-v say "x y z".', 'Pages XII-XIV: "abc".',
        '{"page": "ii", "quote": "abc"}', 'On page I found "abc".',
        'The page did say "abc" (p. 3).', 'p. x-ray "abc"', 'See page 3 and page iv.']}
    assert list(cited.values()) == [
        [((), ("ii",))], [((), ("iii", "iv", "v"))], [((), ("XII", "XIII", "XIV"))],
        [((), ("ii",))], [], [((3,), ())], [], [((3,), ()), ((), ("iv",))]]


def test_a_page_cited_by_its_printed_label_is_that_page(tmp_path):
    from halluscope.evidence.documents import Document
    doc = Document(write_pdf(tmp_path / "doc.pdf", BOOK, labels=FRONT))
    assert doc.labels == ["i", "ii", "1", "2", "3"]
    # "p. 2": the place in the file says Contents; the page printed 2 (4th) holds the quote
    (_, (_, label, reason)) = _all('It says "The model said 42 units" (p. 2).', doc)
    assert label == "supported"       # was: hallucinated, "not on p. 2; found on page 4"
    assert reason == "found on page 4 of the file, the page labelled 2 (exact match)"
    (v,) = _quotes('It says "The model said 42 units" (p. 2).', doc)
    assert v.evidence[0].payload["page"] == 4 and v.evidence[0].payload["page_label"] == "2"
    # the page at the number's place is still looked at first, and a wrong page is wrong
    assert _all('It says "Contents: the outline" (p. 2).', doc)[1][1] == "supported"
    assert _all('It says "The model said 42 units" (p. 3).', doc)[1][1] == "hallucinated"
    # "p. ii" (was: "cites no page", the record and its quote skipped)
    assert _all('The preface says "Contents: the outline" (p. ii).', doc) == [
        ("page-exists", "supported", "page ii exists: the page labelled ii (page 2 of 5 pages)"),
        ("page-quote", "supported", "found on page 2 (exact match)")]
    assert [v[1] for v in _all('It says "Preface: why" (pp. i-ii).', doc)] == ["supported"] * 3
    # a label the document does not have is a fabricated page
    assert _all('See page ix: "Contents: the outline".', doc) == [
        ("page-exists", "hallucinated", "no page is labelled ix: doc.pdf labels its 5 pages "
                                        "i-ii, 1-3"),
        ("page-quote", "hallucinated", "not on p. ix; found on page 2")]


def test_an_article_numbered_from_101_and_a_document_without_labels(tmp_path):
    from halluscope.evidence.documents import Document
    article = Document(write_pdf(tmp_path / "a.pdf", [[f"Finding {i} is stated here."]
                                                      for i in range(10)],
                                 labels="<< /Nums [0 << /S /D /St 101 >>] >>"))
    assert _all('It says "Finding 4 is stated here" (p. 105).', article) == [
        ("page-exists", "supported", "page 105 exists: the page labelled 105 (page 5 of 10 "
                                     "pages)"),   # was: fabricated, "a.pdf has 10 pages"
        ("page-quote", "supported", "found on page 5 of the file, the page labelled 105 "
                                    "(exact match)")]
    assert _all("Finding 4 (p. 205).", article)[0] == (
        "page-exists", "hallucinated",
        "page 205 does not exist: a.pdf has 10 pages; its pages are labelled 101-110")
    plain = Document(write_pdf(tmp_path / "b.pdf", BOOK))
    assert plain.labels is None
    assert _all('It says "Contents: the outline" (p. ii).', plain) == [
        ("page-exists", "unverifiable", "page ii is a page label, and b.pdf gives none (its "
                                        "pages are numbered 1-5)"),
        ("page-quote", "unverifiable", "cites page ii, a page label, and b.pdf gives none")]


def test_label_citations_through_audit_score_and_show_the_page_found(tmp_path, caplog):
    import json

    from halluscope.api import audit
    write_pdf(tmp_path / "book.pdf", BOOK, labels=FRONT)
    rows = [("arabic", 'It says "The model said 42 units" (p. 2).'),
            ("roman", 'It says "Contents: the outline" (p. ii).'),
            ("fab", 'It says "Contents: the outline" (p. ix).')]
    path = document_answers(tmp_path / "in.jsonl", "book.pdf", rows)
    res = audit(path, metrics="page", n_boot=0, out=tmp_path / "out")
    page = res.metrics["page"]
    assert page.n == 3 and not res.errors
    assert page.results["fabricated_page_rate"].value == pytest.approx(1 / 3)
    assert page.results["quote_support_rate"].value == pytest.approx(2 / 3)
    items = {d["id"]: d for d in map(json.loads, (tmp_path / "out" / "items.jsonl").open())}
    assert items["roman"]["page"]["citations"][0]["pages"] == [2]
    assert items["fab"]["page"]["citations"][0]["pages"] == ["ix"]
    assert [h["page"] for h in items["arabic"]["page"]["highlights"]] == [4]
    html = (tmp_path / "out" / "report.html").read_text()
    assert "p. 4, quote highlighted" in html and "could not render" not in caplog.text


def test_page_forms_hold_offsets_in_four_bytes():
    # a 3,000-page PDF's forms held 540 MB in 8-byte offsets (RSS 958 MB); now half that
    from halluscope.checks.pagetext import loose_form, normalise_form
    form = normalise_form("Caf\u00e9 costs 4,210 units \u2014 na\u00efve hallu-\ncination.")
    for f in (form, loose_form(form)):
        assert f.starts.itemsize == f.ends.itemsize == 4
    assert form.text[form.text.index("hallucination"):].startswith("hallucination")
