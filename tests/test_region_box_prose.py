"""MiniGPT-v2's box tokens and boxes written without brackets (docs/regions.md).

MiniGPT-v2 answers ``<p>dog</p> {<12><30><45><80>}``: corners on a 0-100 grid (its demo_v2.py
and eval_ref.py scale back by ``/ 100 * side``). Prose boxes without brackets are read only
where the text says they are a box: a false box citation is worse than none."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import halluscope
from halluscope.claims.citations import cites_a_box_or_region, parse_cited_boxes
from halluscope.claims.notation import notation_spans

DATA = Path(__file__).resolve().parents[1] / "data"
SIZE = (640, 480)


def boxes(text, box_format="auto", size=SIZE, known=("cat", "dog")):
    return parse_cited_boxes(text, size=size, box_format=box_format, known=list(known))


# -- MiniGPT-v2 ---------------------------------------------------------------------------------

def test_minigpt_v2_box_on_its_0_to_100_grid():
    """12/100 * 640 = 76.8, 30/100 * 480 = 144, 45/100 * 640 = 288, 80/100 * 480 = 384."""
    (b,) = boxes("<p>a dog</p> {<12><30><45><80>}")
    assert (b.format, b.coords, b.layout, b.label) == ("minigpt", "norm100", "xyxy", "dog")
    assert b.raw == (12, 30, 45, 80) and b.box == pytest.approx((76.8, 144, 288, 384))
    assert b.malformed is None and b.label_written == "a dog"


def test_minigpt_v2_several_phrases_and_delim_joined_boxes():
    text = ("<p>dog</p> {<12><30><45><80>} and <p>cats</p> {<1><2><3><4>}<delim>"
            "{<50><50><90><95>}")
    a, b, c = boxes(text)
    assert [x.label for x in (a, b, c)] == ["dog", "cats", "cats"]
    assert b.box == pytest.approx((6.4, 9.6, 19.2, 19.2))
    assert c.box == pytest.approx((320, 240, 576, 456))
    # <delim> inside one pair of braces too
    d, e = boxes("<p>cat</p>{<1><2><3><4><delim><50><50><90><95>}")
    assert (d.raw, e.raw) == ((1, 2, 3, 4), (50, 50, 90, 95)) and d.label == e.label == "cat"


def test_minigpt_v2_grid_whatever_box_format_says():
    """The grid is the model's convention (as Kosmos-2's cells are): --box-format pixels, set
    for the prose boxes of another model, does not read 12 as 12 pixels."""
    (b,) = boxes("<p>dog</p> {<12><30><45><80>}", "pixels")
    assert b.coords == "norm100" and b.box == pytest.approx((76.8, 144, 288, 384))


def test_minigpt_v2_refer_answer_without_a_phrase_takes_the_words_before_it():
    (b,) = boxes("The dog {<12><30><45><80>}")
    assert b.label == "dog" and b.coords == "norm100"


def test_minigpt_v2_does_not_decide_the_scale_of_other_boxes():
    """The auto scale is decided over the boxes written without a convention: a MiniGPT box
    beside a 0-1 prose box leaves it fractions."""
    a, b = boxes("<p>dog</p> {<12><30><45><80>}, the cat [0.1, 0.2, 0.5, 0.6]")
    assert (a.coords, b.coords) == ("norm100", "norm")


@pytest.mark.parametrize("text", [
    "<p>dog</p> {<12><30><45><180>}",          # off the 0-100 grid
    "<p>dog</p> {<12><30><45>}",               # three numbers
    "<p>dog</p> {<12><30><45><8.5>}",          # not a whole number
    "<p>dog</p> {<12><30><45><80><90>}",       # five
])
def test_a_minigpt_v2_body_that_is_no_box_is_unread_never_a_guess(text):
    (b,) = boxes(text)
    assert (b.format, b.coords, b.box, b.label) == ("minigpt", "unread", None, "dog")
    assert b.written.startswith("{<12><30><45>")
    from halluscope.checks.regions import Truth, check_box
    verdict = check_box(b, Truth(size=SIZE))
    assert verdict.label == "unverifiable" and "from 0 to 100" in verdict.reason


def test_minigpt_v2_tokens_are_notation_but_the_phrase_is_words():
    text = "<p>two dogs</p> {<12><30><45><80>} sleep."
    spans = [text[a:b] for a, b in notation_spans(text)]
    assert "two dogs" not in "".join(spans)
    assert any("{<12><30><45><80>}" in s for s in spans)


# -- prose without brackets: read --------------------------------------------------------------

@pytest.mark.parametrize("text,layout,raw", [
    ("The dog (x1=10, y1=20, x2=50, y2=90) sleeps.", "xyxy", (10, 20, 50, 90)),
    ("The dog x1: 10, y1: 20, x2: 50, y2: 90.", "xyxy", (10, 20, 50, 90)),
    ("dog: xmin=10 ymin=20 xmax=50 ymax=90", "xyxy", (10, 20, 50, 90)),
    ("dog: y1=20, x1=10, y2=90, x2=50", "xyxy", (10, 20, 50, 90)),     # names say the order
    ("The dog: x=10, y=20, w=40, h=70.", "xywh", (10, 20, 40, 70)),
    ("The dog: left=10, top=20, width=40, height=70.", "xywh", (10, 20, 40, 70)),
    ("The dog: left=10, top=20, right=50, bottom=90.", "xyxy", (10, 20, 50, 90)),
])
def test_named_coordinates_in_prose(text, layout, raw):
    (b,) = boxes(text, "pixels")
    assert (b.format, b.layout, b.raw, b.label) == ("prose", layout, raw, "dog")
    x, y, c, d = raw
    assert b.box == ((x, y, x + c, y + d) if layout == "xywh" else raw)


def test_named_coordinates_take_the_auto_scale_rule():
    """[10, 20, 50, 90] fits a 640 x 480 image as pixels and as 0-1000: ambiguous, with the
    warning to set --box-format, as a bracketed box is."""
    (b,) = boxes("The dog (x1=10, y1=20, x2=50, y2=90) sleeps.")
    assert b.coords == "ambiguous" and b.box is None
    kind, reason = b.malformed
    assert kind == "ambiguous scale" and "--box-format" in reason
    (b,) = boxes("The dog (x1=0.1, y1=0.2, x2=0.5, y2=0.9) sleeps.")
    assert b.coords == "norm" and b.box == pytest.approx((64, 96, 320, 432))


def test_four_numbers_after_a_box_word():
    (b,) = boxes("The dog's bounding box is 100, 120, 300, 400.", "pixels")
    assert (b.format, b.raw, b.box, b.label) == ("prose", (100, 120, 300, 400),
                                                 (100, 120, 300, 400), "dog")
    (b,) = boxes("The cat, coordinates: (0.1, 0.2, 0.5, 0.6).")
    assert b.coords == "norm" and b.box == pytest.approx((64, 96, 320, 288))
    assert b.label == "cat"
    (b,) = boxes("The cat has bbox 700, 100, 900, 400.")      # past 640 wide: 0-1000
    assert b.coords == "norm1000" and b.box == pytest.approx((448, 48, 576, 192))
    # a box word says it is a box: swapped corners are a malformed citation, not prose
    (b,) = boxes("bounding box: 300, 120, 100, 400", "pixels")
    assert b.malformed[0] == "corners swapped"


def test_four_fractions_after_at():
    """0.12 * 640 = 76.8, 0.30 * 480 = 144, 0.45 * 640 = 288, 0.80 * 480 = 384."""
    (b,) = boxes("the dog at 0.12, 0.30, 0.45, 0.80.")
    assert (b.format, b.coords, b.label) == ("prose", "norm", "dog")
    assert b.box == pytest.approx((76.8, 144, 288, 384))
    (b,) = boxes("The cat is located at (0.12, 0.30, 0.45, 0.80) and sleeps.")
    assert b.label == "cat" and b.box == pytest.approx((76.8, 144, 288, 384))
    assert "0.12, 0.30, 0.45, 0.80" in "".join(
        "the dog at 0.12, 0.30, 0.45, 0.80."[a:z]
        for a, z in notation_spans("the dog at 0.12, 0.30, 0.45, 0.80."))


# -- prose without brackets: not read (numbers in prose stay numbers) --------------------------

@pytest.mark.parametrize("text", [
    "the dog at 10, 20, 50, 90",                          # whole numbers after "at" alone
    "Scores were 0.12, 0.30, 0.45, 0.80 on the four tests.",
    "Shares traded at 0.12, 0.30, 0.45, 0.80 this week.",
    "Apples sold at $0.12, $0.30, $0.45, $0.80 each.",
    "at 0.12, 0.30, 0.45, 0.80 dollars",
    "at 0.12, 0.30, 0.45, 0.80%",
    "the dog at 0.12, 0.30, 0.45 and 0.80",               # a list in words
    "the dog at 0.12, 0.30, 0.45, 0.80, 0.95",            # five numbers
    "the dog at 0.45, 0.30, 0.12, 0.80",                  # no box: x2 < x1
    "the dog at 0.12, 0.30, 0.45, 1.80",                  # past 1: no fraction
    "the kite at 0.12, 0.30, 0.45, 0.80 m of altitude",
    "On March 3, 2021, 4, 5 dogs were born.",
    "Dates: 12, 03, 2021, 2022 were busy.",
    "The coordinates 1,200,300,400 of the claim",         # one number with thousands marks
    "The prices were 10, 20, 50, 90 cents.",
    "It costs 12.50, 13.00, 14.25, 15.75 at most.",
    "A point x=3, y=4 and a size width: 640, height: 480.",
    "The dog x1=10, y1=20, x2=50 sits.",                   # three names
    "The dog x1=10, y1=20, x2=50, height=90 sits.",        # names of no one layout
    "x1=10, y1=20, x2=50, y2=90, z=4",                     # a fifth named number
    "Team scores: 3, 1, 4, 2.",
    "GPS coordinates: 40.71, -74.00, 34.05, -118.24.",    # two places, not a box
    "In 2019, 2020, 2021, 2022 the dog grew.",
    "Its values at 0.12, 0.30, 0.45, 0.80 were low.",     # "values": not a place
])
def test_numbers_in_prose_are_no_box(text):
    got = [b for b in boxes(text) if b.format == "prose"]
    assert got == []


def test_prose_without_boxes_is_not_taken_for_a_citation():
    """The region metric skips a response citing nothing: prose with numbers stays skipped."""
    for text in ("Shares traded at 0.12, 0.30, 0.45, 0.80 this week.",
                 "On March 3, 2021, 4, 5 dogs were born.", "the dog at 10, 20, 50, 90"):
        assert not cites_a_box_or_region(text)
    assert cites_a_box_or_region("the dog at 0.12, 0.30, 0.45, 0.80")
    assert cites_a_box_or_region("<p>dog</p> {<12><30><45><80>}")


def test_a_bracketed_box_is_read_once():
    (b,) = boxes("The dog's bounding box is [100, 120, 300, 400].", "pixels")
    assert b.format == "plain"


# -- end to end ---------------------------------------------------------------------------------

def _audit(tmp_path, responses):
    rows = [{"id": str(i), "task": "vqa", "image": str(DATA / "images" / "astronaut.jpg"),
             "prompt": "p", "response": r,
             "metadata": {"objects": [{"label": "cat", "box": [100, 100, 300, 250]}]}}
            for i, r in enumerate(responses)]
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = halluscope.audit(path, metrics="region", out=tmp_path / "o", write_report=False,
                              n_boot=0)
    return result.items


def test_minigpt_and_prose_boxes_are_decided(tmp_path, caplog):
    """The cat at [100, 100, 300, 250] on the 512 x 512 astronaut: MiniGPT-v2 writes it
    {<20><20><59><49>} (int(100 / 512 * 100) = 19.5 -> 20 rounded), 102.4..302.08 x
    102.4..250.88 pixels, IoU 0.98; the same box as fractions after "at"; and a box where
    there is no cat: {<60><60><90><90>} (307.2..460.8 px), IoU 0; named coordinates that fit
    the image both as pixels and as 0-1000 are ambiguous, as a bracketed box is."""
    items = _audit(tmp_path, ["<p>cat</p> {<20><20><59><49>}",
                              "The cat at 0.20, 0.20, 0.59, 0.49.",
                              "<p>cat</p> {<60><60><90><90>}",
                              "Shares traded at 0.12, 0.30, 0.45, 0.80 this week.",
                              "The cat (x1=100, y1=100, x2=300, y2=250) sleeps."])
    verdicts = [[b["verdict"] for b in it["region"]["boxes"]] if "region" in it else None
                for it in items]
    assert verdicts == [["supported"], ["supported"], ["hallucinated"], None, ["unverifiable"]]
    assert items[0]["region"]["boxes"][0]["coords"] == "norm100"
    assert "cites no box or region id" in items[3]["skipped"]
    # pixels or 0-1000 on 512 x 512: ambiguous, unverifiable, and said with the --box-format hint
    assert "ambiguous" in items[4]["region"]["boxes"][0]["reason"]
    assert "pass --box-format" in caplog.text


def test_the_report_says_a_minigpt_box_was_read_on_its_grid():
    from halluscope.report.boxreading import WrittenBoxes
    written = WrittenBoxes([{"box": [76.8, 144, 288, 384], "raw": [12, 30, 45, 80],
                             "coords": "norm100", "format": "minigpt"}])
    assert written.take([76.8, 144, 288, 384]) == (
        "[12, 30, 45, 80]", "read as 0-100 of the image: [76.8, 144, 288, 384] px")
