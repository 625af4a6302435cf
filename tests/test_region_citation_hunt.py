"""Region citations read as a demanding user writes them (bugs found by a user-style hunt):
a box named after it, inline JSON boxes, region-id lists and ranges, and offered ids that
must not collide. Every number below is worked by hand in the comments."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import halluscope
from halluscope.checks.regions import truth_from_metadata
from halluscope.claims.citations import norm_region_id
from halluscope.errors import RecordError

DATA = Path(__file__).resolve().parents[1] / "data"
DOG_CAT = [{"id": 1, "box": [100, 100, 300, 300], "label": "dog"},
           {"id": 2, "box": [300, 300, 500, 500], "label": "cat"}]


def _audit(tmp_path, rows):
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = halluscope.audit(path, metrics="region", out=tmp_path / "o", write_report=False,
                              n_boot=0)
    items = {d["id"]: d for d in map(json.loads, (tmp_path / "o" / "items.jsonl")
                                     .read_text().splitlines())}
    return result, items


def _rec(rid, response, regions=DOG_CAT, **meta):
    return {"id": rid, "image": str(DATA / "images" / "astronaut.jpg"), "response": response,
            "metadata": {"regions": regions, **meta}}


#: Boxes in pixels (on the 512 x 512 astronaut they also fit as 0-1000: auto finds them
#: ambiguous).
PX = {"box_format": "pixels"}


def _claims(item):
    return [(c["subject"], c["value"], c["verdict"]) for c in item["claims"]]


# -- item 14: offered ids that normalise alike -------------------------------------------------

def test_only_a_prefix_before_digits_is_stripped_from_a_region_id():
    assert norm_region_id("R07") == "7" and norm_region_id("region_7") == "7"
    assert norm_region_id("Region #12") == "12" and norm_region_id(3) == "3"
    assert norm_region_id("rear") == "rear" and norm_region_id("Roof") == "roof"
    assert norm_region_id("region") == "region" and norm_region_id("r2d2") == "r2d2"


def test_offered_ids_that_are_one_id_are_a_bad_record():
    with pytest.raises(RecordError) as err:
        truth_from_metadata({"regions": [*DOG_CAT[:1], {"id": "R1", "box": [1, 1, 2, 2]}]})
    assert err.value.location.field == "metadata.regions[1].id"
    assert "'R1', the same id as 1 (regions[0])" in err.value.message
    # named ids keep their letters: "rear" and "ear" are two regions
    truth = truth_from_metadata({"regions": [{"id": "rear", "box": [1, 1, 9, 9]},
                                             {"id": "ear", "box": [2, 2, 8, 8]}]})
    assert set(truth.regions) == {"rear", "ear"}


def test_colliding_ids_and_a_named_id_end_to_end(tmp_path):
    """ids 1 and "R1": the dog in [R1] was judged against the cat that replaced it; a cited
    "ear" counted as the offered "rear"."""
    dup = [*DOG_CAT[:1], {"id": "R1", "box": [300, 300, 500, 500], "label": "cat"}]
    result, items = _audit(tmp_path, [
        _rec("dup", "The dog is in [R1].", regions=dup),
        _rec("named", '{"region": "ear", "label": "dog"}',
             regions=[{"id": "rear", "box": [100, 100, 300, 300], "label": "dog"}])])
    assert [(e["line"], e["field"]) for e in result.errors] == [(1, "metadata.regions[1].id")]
    assert _claims(items["named"]) == [("dog", "ear", "hallucinated")]
    # one id checked, one fabricated: 1/1
    assert result.metrics["region"].results["fabricated_id_rate"].value == 1.0


# -- item 3: the object named after its box ----------------------------------------------------

@pytest.mark.parametrize("text,labels", [
    ("At [100, 100, 300, 300] there is a cat.", ["cat"]),
    ("[100, 100, 300, 300] is the cat.", ["cat"]),
    ("[1, 2, 3, 4] shows a small black cat sleeping.", ["cat"]),
    ("In the image, at [1, 2, 3, 4] there's a cat.", ["cat"]),
    ("[1, 2, 3, 4]: cat; [5, 6, 7, 8] (dog)", ["cat", "dog"]),
    # a label read after a box ends the window of the next: b is the dog, not the cat
    ("At [1, 2, 3, 4] there is a cat, and at [5, 6, 7, 8] there is a dog.", ["cat", "dog"]),
    ("The dog is at [1, 2, 3, 4] and the cat at [5, 6, 7, 8].", ["dog", "cat"]),
    # a name before the box in its clause still wins over one after it
    ("The dog at [1, 2, 3, 4] is next to the cat.", ["dog"]),
    # no linking word, negation, or nothing named: no object is read
    ("[1, 2, 3, 4] is next to the dog.", [None]),
    ("At [1, 2, 3, 4] there is no cat.", [None]),
    ("[1, 2, 3, 4] is empty.", [None]),
    # a label key after the box (JSON-like text that does not parse)
    ("{'bbox': [1, 2, 3, 4], 'label': 'cat'}, {'bbox': [5, 6, 7, 8], 'label': 'dog'}",
     ["cat", "dog"]),
])
@pytest.mark.parametrize("known", [(), ("dog", "cat")])
def test_the_object_named_after_a_box(text, labels, known):
    from halluscope.claims.citations import parse_cited_boxes
    assert [b.label for b in parse_cited_boxes(text, size=(512, 512), known=known)] == labels


def test_region_ids_read_their_object_after_them_too():
    from halluscope.claims.citations import parse_cited_regions
    got = parse_cited_regions("[R1] is the cat, and the dog is in (R2).", known=["dog", "cat"])
    assert [(r.id, r.label) for r in got] == [("1", "cat"), ("2", "dog")]


def test_a_box_named_after_it_is_checked_against_that_object(tmp_path):
    """The dog's box called a cat was supported ('matches the dog'), precision 1.0."""
    result, items = _audit(tmp_path, [
        _rec("after1", "At [100, 100, 300, 300] there is a cat.", **PX),      # the dog's box
        _rec("after2", "[100, 100, 300, 300] is the cat.", **PX),             # the dog's box
        _rec("right", "At [300, 300, 500, 500] there is a cat.", **PX),       # the cat's box
        _rec("unread", "At [100, 100, 300, 300] there is nothing.", **PX),    # no object read
    ])
    assert _claims(items["after1"]) == [("cat", [100.0, 100.0, 300.0, 300.0], "hallucinated")]
    assert _claims(items["after2"])[0][2] == "hallucinated"
    assert _claims(items["right"])[0][2] == "supported"
    assert _claims(items["unread"]) == [("", [100.0, 100.0, 300.0, 300.0], "unverifiable")]
    assert "could not be read" in items["unread"]["claims"][0]["reason"]
    r = result.metrics["region"].results
    # supported 1, hallucinated 2: 1/3; the unread box is outside precision
    assert r["precision"].value == pytest.approx(1 / 3)
    assert r["citations"].value == 4 and r["unverifiable"].value == 1
    # the cat (region 2) is known in the three records citing a cat, found in one: 1/3
    assert r["recall"].value == pytest.approx(1 / 3)


# -- item 7: inline JSON boxes keep their label ------------------------------------------------

def test_inline_json_is_read_as_json():
    from halluscope.claims.citations import parse_cited_boxes, parse_cited_regions
    from halluscope.jsonblobs import inline_json_blobs
    text = 'Here: [{"bbox_2d": [100, 100, 300, 300], "label": "cat"}] done.'
    assert inline_json_blobs(text, ("bbox_2d",)) == [
        ([{"bbox_2d": [100, 100, 300, 300], "label": "cat"}], 6, 57)]
    (b,) = parse_cited_boxes(text, size=(512, 512))
    assert (b.label, b.format, b.coords, b.box) == ("cat", "json", "pixels",
                                                      (100, 100, 300, 300))
    assert text[b.span[0]:b.span[1]] == '"bbox_2d": [100, 100, 300, 300]'
    # a prose quote before it, and an inline object holding no box, stay prose
    text = ('A 5" screen; {"note": "x"} the dog [1, 2, 3, 4] and '
            '{"box": [5, 6, 7, 8], "name": "cup"}')
    assert [(b.label, b.format) for b in parse_cited_boxes(text, size=(512, 512))] == [
        ("dog", "plain"), ("cup", "json")]
    (r,) = parse_cited_regions('The dog: {"region": "R2", "label": "dog"} ok')
    assert (r.id, r.label) == ("2", "dog")
    (r,) = parse_cited_regions('{"region": null, "region_id": "R3", "name": "cup"}')
    assert (r.id, r.label) == ("3", "cup")


def test_inline_json_boxes_are_decided_as_fenced_ones(tmp_path):
    """Inline JSON lost its label (the object became 'd', from "bbox_2d"): unverifiable."""
    fenced = '```json\n[{"bbox_2d": [100, 100, 300, 300], "label": "cat"}]\n```'
    result, items = _audit(tmp_path, [
        _rec("inline-wrong", 'Here: [{"bbox_2d": [100, 100, 300, 300], "label": "cat"}] done.'),
        _rec("inline-right", 'Here: [{"bbox_2d": [100, 100, 300, 300], "label": "dog"}] done.'),
        _rec("fenced-wrong", fenced)])
    assert [_claims(items[i])[0][::2] for i in ("inline-wrong", "inline-right", "fenced-wrong")
            ] == [("cat", "hallucinated"), ("dog", "supported"), ("cat", "hallucinated")]
    r = result.metrics["region"].results
    assert r["precision"].value == pytest.approx(1 / 3) and r["unverifiable"].value == 0


# -- item 9: region-id lists and ranges; citations that cannot be read -------------------------

@pytest.mark.parametrize("text,ids", [
    ("The dogs are in [R1, R9].", ["1", "9"]),
    ("The dogs are in regions 1-5.", ["1", "2", "3", "4", "5"]),
    ("See regions 2 to 4 and 7.", ["2", "3", "4", "7"]),
    ("Dogs (R1, R2 and R4) and [R6-R8]; [R1; R3]", ["1", "2", "4", "6", "7", "8", "1", "3"]),
    ("region R3 and <region_5>", ["3", "5"]),
    ("regions 1-500", ["1", "500"]),                 # longer than MAX_RANGE: its two ends
])
def test_region_id_lists_and_ranges_give_one_citation_per_id(text, ids):
    from halluscope.claims.citations import parse_cited_regions
    got = parse_cited_regions(text)
    assert [r.id for r in got] == ids and not any(r.unread for r in got)


def test_region_id_lists_and_ranges_end_to_end(tmp_path):
    """'[R1, R9]' gave no citation (an all-zero row); 'regions 1-5' read region 1 only."""
    one = [{"id": 1, "box": [100, 100, 300, 300], "label": "dog"}]
    result, items = _audit(tmp_path, [_rec("list", "The dogs are in [R1, R9].", regions=one),
                                      _rec("range", "The dogs are in regions 1-5.",
                                           regions=one)])
    assert [c[1:] for c in _claims(items["list"])] == [("1", "supported"), ("9", "hallucinated")]
    assert [c[2] for c in _claims(items["range"])] == ["supported"] + ["hallucinated"] * 4
    r = result.metrics["region"].results
    # ids checked 2 + 5 = 7, fabricated 1 + 4 = 5
    assert r["fabricated_id_rate"].value == pytest.approx(5 / 7)
    assert r["precision"].value == pytest.approx(2 / 7)


def test_unread_region_citations_are_listed_not_scored_as_nothing(tmp_path):
    """A record citing regions in a form the parser does not read was scored as a row of zeros,
    counted among the records; a record citing nothing at all is skipped with its reason."""
    from halluscope.claims.citations import parse_cited_regions
    got = parse_cited_regions("The dogs are R1 and R9, see <region A>.", known=["dog"])
    assert [(r.id, r.label, r.unread) for r in got] == [
        ("R1", "dog", True), ("R9", "dog", True), ("<region A>", "dog", True)]
    result, items = _audit(tmp_path, [_rec("bare", "The dogs are R1 and R9."),
                                      _rec("none", "Two animals sit on the grass."),
                                      _rec("read", "The dog is in [R1].")])
    assert [c[2] for c in _claims(items["bare"])] == ["unverifiable", "unverifiable"]
    assert "not read" in items["bare"]["claims"][0]["reason"]
    assert items["bare"]["scores"]["region"]["row"] == [0, 0, 2, 0, 0, 0, 0]
    assert items["none"]["skipped"] and "region" not in items["none"]
    from halluscope.report.citations import region_citations
    # the report shows an unread mention as written (it showed "RR1"), a read id as R<id>
    assert [row["what"] for row in region_citations(items["bare"])["rows"]] == ["R1", "R9"]
    assert [row["what"] for row in region_citations(items["read"])["rows"]] == ["R1"]
    r = result.metrics["region"].results
    # 3 citations: 2 unread (unverifiable) + 1 supported; only [R1] is a checked id
    assert r["citations"].value == 3 and r["unverifiable"].value == 2
    assert r["fabricated_id_rate"].value == 0.0 and r["precision"].value == 1.0
    (tmp_path / "solo").mkdir()
    alone, _ = _audit(tmp_path / "solo", [_rec("none", "Two animals sit on the grass.")])
    assert "1 record: cites no box or region id" in alone.unscored["region"]


@pytest.mark.parametrize("text,labels", [
    ("<p>dog</p>[0.1, 0.2, 0.4, 0.8] sits.", ["dog"]),
    ("A <p>dog</p> [0.1, 0.2, 0.4, 0.8] sits on a <p>sofa</p> [0, 0.5, 0.99, 0.99].",
     ["dog", "sofa"]),
    ("<|ref|>cat<|/ref|><|det|>[[0.1, 0.2, 0.4, 0.8]]<|/det|> sleeps.", ["cat"]),
    ("<ref>cat</ref> [0.1, 0.2, 0.4, 0.8]", ["cat"]),
])
def test_a_label_tag_before_a_bracketed_box_names_its_object(text, labels):
    """The tag's '>' ended the label window, so '<p>dog</p> [...]' (MiniGPT-v2 style) and
    DeepSeek-VL's '<|ref|>cat<|/ref|><|det|>[[...]]' cited boxes of no object: unverifiable,
    and an audit of them scored nothing."""
    from halluscope.claims.citations import parse_cited_boxes
    for known in ((), ("dog", "cat", "sofa")):
        assert [b.label for b in parse_cited_boxes(text, size=(512, 512), known=known)] == labels


def test_boxes_after_label_tags_are_checked_end_to_end(tmp_path):
    result, items = _audit(tmp_path, [
        _rec("p", "A <p>dog</p> [0.1953, 0.1953, 0.5859, 0.5859] sits by a <p>cat</p> "
                  "[0.5859, 0.5859, 0.9766, 0.9766].")])
    assert [c[2] for c in _claims(items["p"])] == ["supported", "supported"]
    assert result.metrics["region"].results["precision"].value == 1.0


@pytest.mark.parametrize("text,labels", [
    ("There is no cat at [1, 2, 3, 4].", [None]),
    ("No cat is at [1, 2, 3, 4].", [None]),
    ("There isn't a black cat at [1, 2, 3, 4].", [None]),
    ("There is not a single cat at [1, 2, 3, 4].", [None]),
    ("Nothing at [1, 2, 3, 4].", [None]),
    ("There is no cat, but a dog at [1, 2, 3, 4].", ["dog"]),
    ("The cat is at [1, 2, 3, 4].", ["cat"]),
])
@pytest.mark.parametrize("known", [(), ("dog", "cat")])
def test_a_name_denied_before_its_box_names_no_object(text, labels, known):
    """'There is no cat at [box]' cited the box for the cat: supported where a cat is, though
    the answer said none was there (docs/regions.md: no object is named by a negation)."""
    from halluscope.claims.citations import parse_cited_boxes
    assert [b.label for b in parse_cited_boxes(text, size=(512, 512), known=known)] == labels
