"""Numbers written in box, coordinate or region notation are never counts (a user's hunt: "...
[120, 45, 370, 510] dog at the left" made ``count: dog = 510``, scored hallucinated), and the
splitter agrees with the citation parser on what a box is."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import halluscope
from halluscope.claims.citations import parse_cited_boxes, parse_cited_regions
from halluscope.claims.notation import inside, notation_spans
from halluscope.claims.splitter import split_claims

pytest.importorskip("spacy")

IMAGE = Path(__file__).resolve().parents[1] / "data" / "images" / "astronaut.jpg"


def _counts(text):
    return [(c.subject, c.value) for c in split_claims(text) if c.kind == "count"]


@pytest.mark.parametrize("text", [
    "The image shows a dog [120, 45, 370, 510] dog at the left.",
    "A dog [120, 45, 370, 510] dog at the left.",
    "The image shows a woman [11, 10, 370, 510] dog at the left.",
    "See region 4 dogs sit there.",
    'A dog {"x": 120, "y": 45, "w": 370, "h": 510} dog at the left.',
    'A dog {"x1": 120, "y1": 45, "x2": 370, "y2": 510} dog at the left.',
])
def test_a_number_in_notation_is_no_count(text):
    assert _counts(text) == []
    assert any(c.kind == "existence" and c.subject == "dog" for c in split_claims(text))


@pytest.mark.parametrize("text,counts", [
    ("Two dogs [1, 2, 3, 4].", [("dog", 2)]),                  # the count before the box stays
    ("A dog at [0.1, 0.2, 0.5, 0.7] 3 cats here", [("cat", 3)]),
    ("There are 3 dogs and (2) cats.", [("dog", 3)]),
    ("I see 3 dogs, 2 cats.", [("dog", 3), ("cat", 2)]),       # a list in prose is no notation
    ("See [R3] 2 dogs.", [("dog", 2)]),
])
def test_counts_beside_notation_stay(text, counts):
    assert _counts(text) == counts


def test_a_box_tag_is_no_part_of_a_name():
    text = ("<|object_ref_start|>dog<|object_ref_end|><|box_start|>(120,45),(370,510)"
            "<|box_end|> dog sits")
    assert {c.subject for c in split_claims(text)} == {"dog"}      # was "> dog"


@pytest.mark.parametrize("text", [
    "a dog [120, 45, 370, 510] here",
    "<ref>dog</ref><box>(120,45),(370,510)</box> here",
    "<ref>dog</ref><box>[[120, 45, 370, 510]]</box> here",
    "<|object_ref_start|>dog<|object_ref_end|><|box_start|>(1,2),(3,4)<|box_end|> here",
    'here {"bbox_2d": [10, 20, 30, 40], "label": "dog"} 5 cats',
    'here {"x": 10, "y": 20, "w": 30, "h": 40, "label": "dog"} 5 cats',
    'here {"label": "dog", "xmin": 10, "ymin": 20, "xmax": 30, "ymax": 40} 5 cats',
    'here {"label": "dog", "bbox": {"left": 10, "top": 20, "right": 30, "bottom": 40}} 5 cats',
    'here {"label": "dog", "x": 10, "y": 20, "width": 30} 5 cats',      # malformed, still a box
])
def test_every_box_the_parser_reads_is_notation(text):
    spans = notation_spans(text)
    boxes = parse_cited_boxes(text)
    assert boxes
    for box in boxes:
        digits = [i for i in range(*box.span) if text[i].isdigit()]
        assert digits and all(inside(spans, i) for i in digits)
    if "<ref>" in text or "object_ref" in text:      # the label's words stay prose
        assert not inside(spans, text.index("dog"))
    assert not inside(spans, text.index("here"))


@pytest.mark.parametrize("text", ["see [R3] now", "see <region7> now", "see region 4 now",
                                  'see {"region": 3} now', "see [R1, R9] now"])
def test_every_region_the_parser_reads_is_notation(text):
    spans = notation_spans(text)
    assert parse_cited_regions(text)
    digits = [i for i, ch in enumerate(text) if ch.isdigit()]
    assert all(inside(spans, i) for i in digits)
    assert not inside(spans, text.index("now"))


@pytest.mark.parametrize("text,notation", [
    ("a point (120, 45) here", True), ("(0.1, 0.2, 0.5, 0.7)", True),
    ("[[1, 2], [3, 4]]", True), ("(120,45),(370,510)", True),
    ("[0; 12; 40; 80]", True), ("[0 12 40 80]", True),
    ("(2) cats", False), ("[3] cats", False), ("3, 4 cats", False), ("a caption", False),
    ("(2 3) cats", False),
])
def test_coordinate_notation(text, notation):
    at = next(i for i, ch in enumerate(text) if ch.isdigit()) if notation else 0
    assert inside(notation_spans(text), at) is notation


def test_the_audit_scores_no_count_from_a_box(tmp_path):
    ann = tmp_path / "ann.json"
    ann.write_text(json.dumps({"images": {"astronaut.jpg": {"size": [512, 512], "objects": [
        {"label": "woman", "box": [11, 10, 370, 510]},
        {"label": "dog", "box": [120, 45, 370, 510]}]}}}))
    rows = [{"id": "a", "image": str(IMAGE),
             "response": "The image shows a dog [120, 45, 370, 510] dog at the left."},
            {"id": "b", "image": str(IMAGE), "response": "There is one dog."}]
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    halluscope.audit(path, metrics="claims", annotations=str(ann), out=tmp_path / "o",
                     write_report=False, n_boot=0)
    items = {d["id"]: d for d in map(json.loads, (tmp_path / "o" / "items.jsonl")
                                     .read_text().splitlines())}
    assert [(c["kind"], c["value"], c["verdict"]) for c in items["a"]["claims"]] == \
        [("existence", None, "supported")]


@pytest.mark.parametrize("text", [
    "(0, 12) dog lies on the sofa.",
    "The picture shows a (0, 12, 40, 80) dog.",
    "There is [0; 12; 40; 80] dog on the sofa.",
    "A [0 12 40 80] dog.",
])
def test_a_zero_in_notation_denies_no_noun_and_counts_nothing(text):
    """A box's "0" read as "zero dogs" denied the dog ("a (0, 12, 40, 80) dog" made no claim
    at all), and semicolon-separated coordinates gave ``count: dog = 80``."""
    claims = split_claims(text)
    assert any(c.kind == "existence" and c.subject == "dog" for c in claims), claims
    assert _counts(text) == []


def test_a_zero_in_words_still_denies():
    for text in ("There are 0 dogs.", "There are zero dogs.", "I see 0 dogs (0, 12)."):
        assert not any(c.subject == "dog" for c in split_claims(text)), text


# -- grounding markup around the model's words ----------------------------------------------------

@pytest.mark.parametrize("text,subjects", [
    ("<ref>a dog</ref><box>(0,25),(62,166)</box> lies on <ref>the sofa</ref>"
     "<box>(0,0),(937,833)</box>.", ["dog", "sofa"]),
    ("A <p>dog</p> [0, 12, 40, 80] sits on a <p>sofa</p> [0, 0, 600, 400].", ["dog", "sofa"]),
    ("<p>dog</p>[0.1, 0.2, 0.4, 0.8] sits.", ["dog"]),
    ("<|object_ref_start|>The dog<|object_ref_end|><|box_start|>(0,25),(62,166)<|box_end|> "
     "sleeps next to <|object_ref_start|>a cat<|object_ref_end|><|box_start|>(500,500),"
     "(600,600)<|box_end|>.", ["dog", "cat"]),
    ("A<phrase> dog</phrase><object><patch_index_0044><patch_index_0863></object> sleeps on"
     "<phrase> a sofa</phrase><object><patch_index_0005><patch_index_0911></object>.",
     ["dog", "sofa"]),
    ("The<ref>dog</ref> sleeps.", ["dog"]),
])
def test_the_words_inside_grounding_tags_make_claims(text, subjects):
    """spaCy read "<ref>a dog</ref><box>..." as the tokens "<ref>a" and "dog</ref><box>...": the
    object inside the tags made no claim (a Qwen-VL answer made only "existence: ref", a
    Qwen2-VL one none, so its hallucinated cat went uncounted). The markup is dropped before
    parsing; the claims' spans and texts are the response's as written."""
    claims = split_claims(text)
    assert [c.subject for c in claims if c.kind == "existence"] == subjects, claims
    for c in claims:
        if c.kind == "existence":
            assert text[c.span[0]:c.span[1]] == c.subject, (c.span, c.subject)
            assert "<" in c.text                      # the sentence as the model wrote it
    assert _counts(text) == []
    if len(subjects) == 2:
        assert [(c.subject, c.object) for c in claims if c.kind == "relation"] == [tuple(subjects)]


def test_the_words_of_a_ref_tag_keep_their_count_and_colour():
    text = "There are <ref>two red dogs</ref><box>(10,12),(40,80)</box>."
    got = {(c.kind, c.value) for c in split_claims(text)}
    assert {("count", 2), ("attribute", "red")} <= got
    batch = halluscope.split_claims_batch([text, "A <p>cat</p>."])
    assert batch[0] == split_claims(text) and [c.subject for c in batch[1]] == ["cat"]


def test_markup_is_dropped_with_its_offsets_kept():
    from halluscope.claims.notation import without_markup
    text = ("The<p>cat</p>[1,2,3,4] sleeps on <ref>a mat</ref><box>(1,2),(3,4)</box>. A"
            "<phrase> dog</phrase><object><patch_index_0044><patch_index_0863></object>.")
    parsed, where = without_markup(text)
    # a box's numbers stay (notation, never counts), keeping the words beside it apart
    assert parsed == "The cat [1,2,3,4] sleeps on a mat (1,2),(3,4). A dog."
    assert len(where) == len(parsed) + 1
    assert all(text[where[i]] == ch for i, ch in enumerate(parsed) if ch != " ")
    assert without_markup("A dog [1, 2, 3, 4].") == ("A dog [1, 2, 3, 4].", None)
    assert without_markup("x < y and <b>bold</b>") == ("x < y and <b>bold</b>", None)


@pytest.mark.parametrize("text,subjects", [
    ('[{"label": "cat", "bbox": [1, 2, 3, 4]}, {"label": "dog", "bbox": [5, 6, 7, 8]}]',
     ["cat", "dog"]),
    ('Here: {"bbox": [0, 12, 40, 80], "Label": "dog"} sits.', ["dog"]),
    ('{"objects": [{"name": "cat", "box_2d": [1, 2, 3, 4]}]}', ["cat"]),
])
def test_json_keys_are_no_objects(text, subjects):
    """A JSON answer's keys made claims "existence: label" and "existence: bbox", each
    unverifiable: half the claims of a two-object answer (unverifiable_rate 0.5)."""
    assert [c.subject for c in split_claims(text) if c.kind == "existence"] == subjects
