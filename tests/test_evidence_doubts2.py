"""Doubts the last evidence hunt left (tests/test_evidence_hunt.py, tests/test_evidence_doubts.py):
a number's sign in a quote, the image size a record states, decimal region ranges, the segmenter
checked late, and letters with diacritics in quotes. Each test is a case that went wrong."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import document_answers
from halluscope.records import record_from_dict
from test_page_grounding import FakeDocument  # the page tests' fake document and PDF maker
from test_page_grounding import make_pdf as _make_pdf


def _cli(*args: str):
    from halluscope.cli import app
    return CliRunner().invoke(app, ["audit", *args, "--no-report", "-q"])


def _quote_verdicts(response: str, *pages: str):
    from halluscope.checks.pages import check_pages
    rec = record_from_dict({"id": "d", "task": "document", "document": "fake.pdf",
                            "response": response}, file="/tmp/x.jsonl", line=1)
    doc = FakeDocument({i + 1: text for i, text in enumerate(pages)})
    return [v for v in check_pages(rec, doc) if v.checker == "page-quote"]


# -- 1. a number's sign in a quote ----------------------------------------------------------------

@pytest.mark.parametrize("quote, page", [
    ("Margins changed by 5% this year", "Margins changed by \u22125% this year."),   # U+2212
    ("Margins changed by 5% this year", "Margins changed by -5% this year."),
    ("Margins changed by 5% this year", "Margins changed by \u20135% this year."),   # en dash
    ("Costs rose 5% again", "Costs rose +5% again."),
    ("Balance: $5 at close", "Balance: $-5 at close."),
    ("Balance: $5 at close", "Balance: \u2212$5 at close."),
    ("5% this year", "Margins changed by \u22125% this year."),     # the quote opens on it
    ("$5 at close", "Balance: $-5 at close."),
    ("changed by -5% this year", "Margins changed by 5% this year."),
    ("changed by -5% this year", "Margins changed by +5% this year."),
    ("rose +5% again", "Costs rose 5% again."),
])
def test_a_quote_that_differs_in_a_numbers_sign_is_not_found(quote, page):
    """"5%" was found (by the loose match, punctuation dropped, or as the tail of "-5%") on a
    page that says "\u22125%", "-5%" or "+5%": a quote that turns a loss into a gain was
    supported."""
    from halluscope.checks.pages import find_in_text
    m = find_in_text(quote, page)
    assert not m.found, (quote, page, m)


@pytest.mark.parametrize("quote, page", [
    ("changed by -5% this year", "Margins changed by \u22125% this year."),
    ("changed by \u22125% this year", "Margins changed by \u20135% this year."),
    ("changed by \u20135% this year", "Margins changed by -5% this year."),
    ("Balance: $-5 at close", "Balance: $\u22125 at close."),
    ("Costs rose +5% again", "Costs rose +5% again."),
    ("Sales grew 5% in 2019-2020", "Sales grew 5% in 2019\u20132020."),   # ranges
    ("See pp. 3-5 for tables", "See pp. 3-5 for tables."),
    ("prices rose 3-5% in May", "prices rose 3\u20135% in May"),
    ("COVID-19 cases rose", "The COVID-19 cases rose."),                 # hyphenated words
    ("a well-known result", "It is a well-known result."),
    ("the 2019-2020 season", "It was the 2019-\n2020 season."),
])
def test_signs_ranges_and_hyphens_written_alike_still_match(quote, page):
    from halluscope.checks.pages import find_in_text
    m = find_in_text(quote, page)
    assert m.found and m.how == "exact", (quote, page, m)


@pytest.mark.parametrize("response, page, verdict", [
    ("Margins changed by 5% (p. 1).", "Margins changed by \u22125% this year.", "hallucinated"),
    ("Margins changed by -5% (p. 1).", "Margins changed by 5% this year.", "hallucinated"),
    ("Margins changed by -5% (p. 1).", "Margins changed by \u22125% this year.", "supported"),
    ("Margins changed by \u20135% (p. 1).", "Margins changed by -5% this year.", "supported"),
    ("The balance was $-5 (p. 1).", "Balance: \u2212$5 at close.", "supported"),
    ("The balance was $5 (p. 1).", "Balance: \u2212$5 at close.", "hallucinated"),
    ("Costs rose +5% (p. 1).", "Costs rose 5% again.", "supported"),     # the same value
    ('{"page": 1, "quote": -5}', "Balance: \u22125 at close.", "supported"),
    ('{"page": 1, "quote": 5}', "Balance: \u22125 at close.", "hallucinated"),
    ("Sales grew in 2019-2020 (p. 1).", "Sales grew in 2019\u20132020.", "supported"),
    # (not "sections 3-5": a number that names a section is no figure to find, see
    # test_page_leftovers4)
    ("Scores were 3-5 (p. 1).", "Scores were 3-5 this year.", "supported"),
])
def test_a_cited_number_is_compared_with_its_sign(response, page, verdict):
    """A number a response puts on a page was read without its sign, on both sides: "5%" was
    supported by a page that says "\u22125%", and a JSON ``"quote": -5`` was "not on p. 1"
    on a page that says "\u22125"."""
    found = _quote_verdicts(response, page)
    assert found and all(v.label == verdict for v in found), [(v.label, v.reason)
                                                               for v in found]


def test_an_audit_does_not_support_a_quote_with_the_sign_dropped(tmp_path):
    """As a user met it: `halluscope audit --metric page` over a PDF whose text layer says
    "\u22125%" supported "Margins changed by 5% this year" (loose match)."""
    pytest.importorskip("pypdfium2")
    _make_pdf(tmp_path / "doc.pdf", [["Margins changed by \u22125% this year.",
                                      "Sales grew 5% in 2019-2020."]])
    rows = [("sign", 'It says "Margins changed by 5% this year" (p. 1).'),
            ("minus", 'It says "Margins changed by -5% this year" (p. 1).'),
            ("range", 'It says "Sales grew 5% in 2019-2020" (p. 1).')]
    path = document_answers(tmp_path / "in.jsonl", "doc.pdf", rows)
    out = _cli(str(path), "--metric", "page", "--bootstrap", "0", "--out", str(tmp_path / "o"))
    assert out.exit_code == 0, out.output
    items = [json.loads(line) for line in (tmp_path / "o" / "items.jsonl").open()]
    verdicts = {d["id"]: [c["verdict"] for c in d["claims"] if c["checker"] == "page-quote"]
                for d in items}
    assert verdicts == {"sign": ["hallucinated"], "minus": ["supported"],
                        "range": ["supported"]}


# -- 2. metadata.image_size against the image file ------------------------------------------------

def _png(path: Path, size, turn: int | None = None) -> Path:
    from PIL import Image
    exif = Image.Exif()
    if turn is not None:
        exif[0x0112] = turn
    Image.new("RGB", size, "white").save(path, exif=exif.tobytes())
    return path


def _region_audit(tmp_path: Path, rows):
    path = tmp_path / "out.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = _cli(str(path), "--metric", "region", "--bootstrap", "0", "--out", str(tmp_path / "o"))
    results = json.loads((tmp_path / "o" / "results.json").read_text())
    return out, results.get("errors", [])


_CAT_BOX = {"label": "cat", "box": [32, 24, 128, 120]}


@pytest.mark.parametrize("metadata, field", [
    ({"image_size": [640, 480]}, "metadata.image_size"),
    ({"size": [640, 480]}, "metadata.size"),
    ({"width": 640, "height": 480}, "metadata.width"),
])
def test_a_stated_image_size_the_file_contradicts_is_a_bad_record(tmp_path, metadata, field):
    """The record said 640 x 480 and the file is 320 x 240: normalised boxes were scaled to the
    stated size ([0.1, 0.1, 0.4, 0.5] -> [64, 48, 256, 240]) and judged against objects
    drawn on the file, "no cat there: best IoU 0.11"."""
    _png(tmp_path / "cat.png", (320, 240))
    rows = [{"id": "a", "image": "cat.png", "response": "The cat is at [0.1, 0.1, 0.4, 0.5].",
             "metadata": {**metadata, "objects": [_CAT_BOX]}},
            {"id": "b", "image": "cat.png", "response": "The cat is at [0.1, 0.1, 0.4, 0.5].",
             "metadata": {"image_size": [320, 240], "objects": [_CAT_BOX]}}]
    out, errors = _region_audit(tmp_path, rows)
    assert out.exit_code == 0, out.output
    assert [(e["line"], e["field"]) for e in errors] == [(1, field)], errors
    message = errors[0]["message"]
    assert "640x480" in message and "320x240" in message and "cat.png" in message, message
    items = {d["id"]: d for d in map(json.loads, (tmp_path / "o" / "items.jsonl").open())}
    assert [c["verdict"] for c in items["b"]["claims"]] == ["supported"]


@pytest.mark.parametrize("stated, bad", [([240, 320], False), ([320, 240], True)])
def test_a_stated_size_is_compared_with_the_upright_image(tmp_path, stated, bad):
    """Boxes are read on the image turned as its EXIF orientation says (imageio.open_image):
    a file stored 320 x 240 with orientation 6 is 240 x 320 upright. A record stating the
    stored size is told why the sizes differ."""
    _png(tmp_path / "cat.png", (320, 240), turn=6)
    rows = [{"id": "a", "image": "cat.png", "response": "The cat is at [20, 20, 100, 100].",
             "metadata": {"image_size": stated, "box_format": "pixels",
                          "objects": [{"label": "cat", "box": [20, 20, 100, 100]}]}}]
    out, errors = _region_audit(tmp_path, rows)
    assert out.exit_code == (2 if bad else 0), out.output      # 2: the metric scored nothing
    if not bad:
        assert errors == []
        return
    assert [(e["line"], e["field"]) for e in errors] == [(1, "metadata.image_size")], errors
    assert "EXIF orientation (6)" in errors[0]["message"] and "240x320" in \
        errors[0]["message"], errors


def test_a_stated_size_without_a_readable_file_is_taken_as_given(tmp_path):
    """No file to compare with (missing, or a URL): the stated size is the only one."""
    from halluscope.verification import image_size_of
    for image in ("missing.png", "https://example.org/cat.png"):
        rec = record_from_dict({"id": "a", "image": image, "response": "x",
                                "metadata": {"image_size": [640, 480]}},
                               file=str(tmp_path / "out.jsonl"), line=1)
        assert image_size_of(rec) == (640, 480)


# -- 3. region ranges and ids with decimals --------------------------------------------------------

@pytest.mark.parametrize("response, read, unread", [
    ("The cat is in regions 1.5-3.", [], ["1.5-3"]),
    ("The cat is in regions 1.5\u20133.", [], ["1.5\u20133"]),
    ("The cat is in regions 1.5 through 3.", [], ["1.5 through 3"]),
    ("The cat is in region 3.5-4.", [], ["3.5-4"]),
    ("The cat is in regions 1-3.5.", [], ["1-3.5"]),
    ("The cat is in [R1.5-R3].", [], ["R1.5-R3"]),       # was 'R1' and 'R3', two of them
    ("The cat is in [R1.5].", [], ["R1.5"]),             # was 'R1'
    ("The cat is in (R1.5, R3).", ["3"], ["R1.5"]),      # was 'R1' and 'R3', both unread
    ("The cat is in [R1, R2.5-R4].", ["1"], ["R2.5-R4"]),
    ("The cat is in <region 1.5>.", [], ["1.5"]),        # was listed twice
    ("The cat is in regions 1..3.", [], ["1..3"]),       # was region 1 alone
    ("The cat is in regions 1.5.3.", [], ["1.5.3"]),
    ("The cat is in region 3.", ["3"], []),
    ("The cat is in regions 1-3.", ["1", "2", "3"], []),
    ('{"region": 1.5, "label": "cat"}', [], ["1.5"]),    # cited nothing: the record skipped
    ('{"region": 3.0, "label": "cat"}', ["3"], []),
])
def test_a_region_range_or_id_with_decimals_is_one_unread_citation(response, read, unread):
    """A range with a decimal end must not be partly read: each form that writes a region id
    with decimals is one unread (malformed) citation, listed and counted as "Region 3.5" is,
    and no whole id is read out of it."""
    from halluscope.claims.citations import parse_cited_regions
    found = parse_cited_regions(response, known=["cat"])
    assert [c.id for c in found if not c.unread] == read, found
    assert [c.id for c in found if c.unread] == unread, found


def test_a_decimal_range_is_counted_unverifiable_by_the_region_metric(tmp_path):
    """As a user meets it: `halluscope audit --metric region` lists each such citation once,
    unverifiable, and supports no offered region out of it."""
    md = {"image_size": [640, 480], "regions": [{"id": n, "label": "cat",
                                                  "box": [100, 100, 300, 300]} for n in (1, 2, 3)]}
    rows = [{"id": str(i), "response": r, "metadata": md} for i, r in enumerate([
        "The cat is in [R1.5-R3].", '{"region": 1.5, "label": "cat"}',
        "The cat is in regions 1..3.", "The cat is in regions 1-3."])]
    out, errors = _region_audit(tmp_path, rows)
    assert out.exit_code == 0 and errors == [], out.output
    items = {d["id"]: d for d in map(json.loads, (tmp_path / "o" / "items.jsonl").open())}
    verdicts = {i: [(c["value"], c["verdict"]) for c in d.get("claims", [])]
                for i, d in items.items()}
    assert verdicts == {"0": [("R1.5-R3", "unverifiable")], "1": [("1.5", "unverifiable")],
                        "2": [("1..3", "unverifiable")],
                        "3": [("1", "supported"), ("2", "supported"), ("3", "supported")]}


# -- 4. the segmenter spec, checked when the audit is planned --------------------------------------

@pytest.mark.parametrize("spec, said", [
    ("bogus", "unknown segmenter backend 'bogus'"),
    ("grabcutt", "did you mean 'grabcut'"),
    ("grabcut:abc", "expected grabcut or grabcut:<iterations>"),
    ("grabcut:0", "expected grabcut or grabcut:<iterations>"),
    ("sam:", "expected sam:<checkpoint>"),
    ("sam:/nowhere/sam_vit_b.pth", "/nowhere/sam_vit_b.pth (not found)"),
    ("sam:vit_q:/nowhere/sam.pth", "/nowhere/sam.pth (not found)"),
    ("hf-sam:", "expected hf-sam:<model folder or hub id>"),
    ("hf-sam:/nowhere/sam", "/nowhere/sam (not found)"),
    ("hf-sam:nobody-here/no-such-sam", "not in the local Hugging Face cache"),
])
def test_a_bad_segmenter_stops_the_audit_before_any_record(tmp_path, monkeypatch, spec, said):
    """The segmenter was loaded when a colour claim first needed it: an audit whose records
    made no colour claim never said the spec was wrong, and one that did stopped there, after
    detecting objects in the records before it (and without naming --segmenter)."""
    from halluscope.evidence import detector_facts
    passes = []
    monkeypatch.setattr(detector_facts, "load_detector",
                        lambda spec, **kw: passes.append(spec) or pytest.fail("detector loaded"))
    _png(tmp_path / "cat.png", (32, 24))
    path = tmp_path / "out.jsonl"
    path.write_text(json.dumps({"id": "1", "image": "cat.png", "response": "A cat."}) + "\n")
    out = _cli(str(path), "--metric", "claims", "--detector", "coco-ssd", "--segmenter", spec,
               "--out", str(tmp_path / "o"))
    assert out.exit_code == 2, out.output
    assert "--segmenter" in out.output and said in out.output, out.output
    assert passes == [] and not (tmp_path / "o" / "items.jsonl").exists()


def test_a_good_segmenter_spec_passes_the_check(tmp_path):
    from halluscope.evidence.segment import check_segmenter_spec
    (tmp_path / "sam.pth").write_bytes(b"weights")
    (tmp_path / "hfsam").mkdir()
    (tmp_path / "hfsam" / "config.json").write_text("{}")
    for spec in ("grabcut", "grabcut:5", " GrabCut ", f"sam:{tmp_path / 'sam.pth'}",
                 f"sam:vit_b:{tmp_path / 'sam.pth'}", f"hf-sam:{tmp_path / 'hfsam'}"):
        check_segmenter_spec(spec)                      # no error


# -- 5. letters with diacritics, as PDFs extract them ----------------------------------------------

@pytest.mark.parametrize("page", [
    "The model is na\u00efve about it.",              # precomposed (NFC)
    "The model is nai\u0308ve about it.",             # decomposed (NFD)
    "The model is na\u0131\u0308ve about it.",        # dotless i + combining diaeresis (LaTeX \\"{\\i})
    "The model is na\u00a8\u0131ve about it.",        # spacing diaeresis before a dotless i
    "The model is na\u00a8ive about it.",             # ... before an i
])
@pytest.mark.parametrize("quote", ["The model is na\u00efve", "The model is nai\u0308ve",
                                   "The model is na\u0131\u0308ve"])
def test_every_form_of_a_letter_with_its_diacritic_matches_exactly(quote, page):
    """PDF text layers write a letter with a diacritic in pieces: "na\u0131\u0308ve" (a
    dotless i under the mark) and "na\u00a8\u0131ve" (a spacing diaeresis, placed before the
    letter) were found nowhere for the quote "naïve"."""
    from halluscope.checks.pages import find_in_text
    m = find_in_text(quote, page)
    assert m.found and m.how == "exact", (quote, page, m)
    assert page[m.span[0]:m.span[1]].startswith("The model is na")
    assert page[m.span[0]:m.span[1]].endswith("ve")


@pytest.mark.parametrize("quote, page", [
    ("a r\u00e9sum\u00e9 of it", "a r\u00b4esum\u00b4e of it"),       # spacing acutes
    ("gar\u00e7on", "gar\u00b8con"),                                 # spacing cedilla
    ("\u00e9t\u00e9 2020", "e\u0301te\u0301 2020"),
])
def test_spacing_accents_before_a_letter_are_that_letters(quote, page):
    from halluscope.checks.pages import find_in_text
    m = find_in_text(quote, page)
    assert m.found and m.how == "exact", (quote, page, m)


@pytest.mark.parametrize("quote, page", [
    ("The model is naive", "The model is na\u00efve about it."),
    ("The model is na\u00efve", "The model is naive about it."),          # OCR dropped it
    ("an ete", "an \u00e9t\u00e9"),
])
def test_a_letter_without_its_diacritic_matches_only_loosely(quote, page):
    """The design choice (README, checks/pages.py): the exact match keeps diacritics; the
    loose match, the tier for what extraction and OCR lose, folds them, and says so."""
    from halluscope.checks.pages import find_in_text
    m = find_in_text(quote, page)
    assert m.found and m.how == "loose", (quote, page, m)


def test_letters_that_are_no_accented_form_are_not_folded():
    from halluscope.checks.pages import find_in_text
    assert not find_in_text("the fjord", "the fj\u00f8rd").found        # ø is its own letter
    assert not find_in_text("Istanbul", "\u0131stanbul").found          # so is a dotless i alone


def test_an_audit_finds_a_quote_a_pdf_writes_in_pieces(tmp_path):
    """As a user met it: `halluscope audit --metric page` over a PDF whose text layer says
    "na\u00a8\u0131ve" and "r\u00b4esum\u00b4e" (as pdfium reads LaTeX's accents) hallucinated
    the right quotes "The model is naïve" and "a résumé"."""
    pytest.importorskip("pypdfium2")
    _make_pdf(tmp_path / "doc.pdf", [["The model is na\u00a8\u0131ve, a r\u00b4esum\u00b4e."]])
    from halluscope.evidence.documents import Document
    assert "na\u00a8\u0131ve" in Document(tmp_path / "doc.pdf").text(1)   # what pdfium reads
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps({"id": "1", "task": "document", "document": "doc.pdf",
                                "response": 'It says "The model is na\u00efve, a r\u00e9sum\u00e9" '
                                            '(p. 1).'}) + "\n")
    out = _cli(str(path), "--metric", "page", "--bootstrap", "0", "--out", str(tmp_path / "o"))
    assert out.exit_code == 0, out.output
    (item,) = map(json.loads, (tmp_path / "o" / "items.jsonl").open())
    quotes = [c for c in item["claims"] if c["checker"] == "page-quote"]
    assert [(c["verdict"], c["reason"]) for c in quotes] == \
        [("supported", "found on page 1 (exact match)")], quotes
