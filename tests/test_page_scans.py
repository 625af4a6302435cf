"""Page grounding on scans and labelled pages: PDFs built here, byte by byte (no fixtures)."""

from __future__ import annotations

import zlib

import pytest

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
            content, res = b"q 500 0 0 700 50 50 cm /Im1 Do Q", f"<< /XObject << /Im1 {iid} 0 R >> >>"
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
