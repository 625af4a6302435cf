"""MiniGPT-v2's ``[refer]`` answers are the box alone (prompt ``[refer] cup``, answer
``{<28><4><69><71>}``): the box's object "could not be read" and every such answer was
unverifiable. The object is the phrase the prompt asks to locate, taken where the answer names
none."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import halluscope
from halluscope.claims.citations import parse_cited_boxes
from halluscope.claims.referring import label_from_prompt, referred_phrase

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.mark.parametrize("prompt, phrase", [
    ("[refer] cup", "cup"),
    ("[refer] give me the location of the red cup", "the red cup"),
    ("[refer] where is the cup ?", "the cup"),
    ("[refer] from this image, tell me the location of a dog", "a dog"),
    ("[refer] the location of the cup is", "the cup"),
    ("[refer] could you tell me the location for cup ?", "cup"),
    ("[refer] where can I locate the cup ?", "the cup"),
    ("[INST] <Img><ImageHere></Img> [refer] give me the location of <p>the left ship</p> "
     "[/INST]", "the left ship"),
    ("<image>\n[REFER] Give me the location of <p> cup </p>", "cup"),
    ("[refer] bowl.", "bowl"),
    # no [refer] task, or nothing asked: no phrase
    ("Where is the cup?", None), ("[refer]", None), ("[refer] ?", None), (None, None),
    ("[refer] " + "very " * 40 + "long", None),
])
def test_the_phrase_a_refer_prompt_asks_for(prompt, phrase):
    assert referred_phrase(prompt) == phrase


def test_only_boxes_the_answer_names_nothing_for_take_it():
    boxes = parse_cited_boxes("{<28><4><69><71>}", size=(200, 100))
    (b,) = label_from_prompt(boxes, "[refer] the cup")
    assert (b.label, b.label_written) == ("cup", "the cup")
    # a label the answer writes is kept; no [refer] prompt changes nothing
    (tagged,) = label_from_prompt(parse_cited_boxes("<p>bowl</p> {<28><4><69><71>}",
                                                    size=(200, 100)), "[refer] cup")
    assert tagged.label == "bowl"
    (plain,) = label_from_prompt(boxes, "Describe the image.")
    assert plain.label is None
    # several boxes joined by <delim>: each is the phrase's
    two = parse_cited_boxes("{<1><2><30><40>}<delim>{<50><50><90><95>}", size=(200, 100))
    assert [b.label for b in label_from_prompt(two, "[refer] cups")] == ["cups", "cups"]


def _audit(tmp_path, rows):
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps({
        "id": str(i), "task": "vqa", "image": str(DATA / "images" / "astronaut.jpg"),
        "prompt": prompt, "response": response,
        "metadata": {"objects": [{"label": "cat", "box": [100, 100, 300, 250]}]}}) + "\n"
        for i, (prompt, response) in enumerate(rows)))
    return halluscope.audit(path, metrics="region", out=tmp_path / "o", write_report=False,
                            n_boot=0).items


def test_a_refer_answer_is_decided_for_the_object_its_prompt_names(tmp_path):
    """The cat at [100, 100, 300, 250] on the 512 x 512 astronaut is {<20><20><59><49>} on
    MiniGPT-v2's grid: supported when asked for the cat, not matched to the cat when asked for
    a dog (no dog is known there), and, without a [refer] prompt, still unread."""
    items = _audit(tmp_path, [("[refer] cat", "{<20><20><59><49>}"),
                              ("[refer] give me the location of <p>the cat</p>",
                               "{<60><60><90><90>}"),
                              ("[refer] where is the dog ?", "{<20><20><59><49>}"),
                              ("Where is the cat?", "{<20><20><59><49>}")])
    got = [[(b["label"], b["verdict"]) for b in it["region"]["boxes"]] for it in items]
    assert got == [[("cat", "supported")], [("cat", "hallucinated")],
                   [("dog", "unverifiable")], [(None, "unverifiable")]]
    assert "could not be read" in items[3]["region"]["boxes"][0]["reason"]


def test_items_say_which_labels_the_prompt_gave(tmp_path):
    """A verdict on an object the answer never named says so: each cited box, region id and
    region claim in items.jsonl carries ``label_source`` (``prompt`` for a [refer] box the
    answer left unnamed, ``response`` for a label the answer wrote, ``null`` for none)."""
    items = _audit(tmp_path, [("[refer] cat", "{<20><20><59><49>}"),
                              ("[refer] cat", "<p>cat</p>{<20><20><59><49>}"),
                              ("Where is the cat?", "{<20><20><59><49>}"),
                              ("[refer] cat", "The cat [R1] at {<20><20><59><49>}")])
    boxes = [[(b["label"], b["label_source"]) for b in it["region"]["boxes"]] for it in items]
    # (the last box is not tied to the prose's cat: its label is the prompt's)
    assert boxes == [[("cat", "prompt")], [("cat", "response")], [(None, None)],
                     [("cat", "prompt")]]
    assert [(r["label"], r["label_source"]) for r in items[3]["region"]["regions"]] \
        == [("cat", "response")]
    claims = [[(c["subject"], c["label_source"]) for c in it["claims"]] for it in items]
    assert claims == [[("cat", "prompt")], [("cat", "response")], [("", None)],
                      [("cat", "prompt"), ("cat", "response")]]


def test_the_report_and_a_gate_failure_say_the_prompt_named_the_object(tmp_path):
    from halluscope.metrics.explain import explain_claim_verdicts
    from halluscope.report.citations import region_citations
    item, named = _audit(tmp_path, [("[refer] the cat", "{<60><60><90><90>}"),
                                    ("[refer] cat", "<p>cat</p>{<60><60><90><90>}")])
    (row,) = region_citations(item)["rows"]
    assert (row["object"], row["object_from_prompt"], row["asked"], row["verdict"]) == \
        ("cat", True, "the cat", "hallucinated")
    assert region_citations(named)["rows"][0]["object_from_prompt"] is False
    _, lines = explain_claim_verdicts(item, "precision", None)
    assert "(of 'cat', named by the prompt)" in lines[0] and "no cat there" in lines[0]
    _, lines = explain_claim_verdicts(named, "precision", None)
    assert "named by the prompt" not in lines[0]
    html = (tmp_path / "o" / "report.html")
    halluscope.audit(tmp_path / "in.jsonl", metrics="region", out=tmp_path / "o", n_boot=0)
    assert html.read_text(encoding="utf-8").count(
        "named by the prompt (“the cat”), not the answer") == 1


@pytest.mark.parametrize("phrase, head", [
    ("cup", "cup"), ("the red cup", "red cup"), ("left cat", "left cat"),
    ("the man on the left", "man"), ("man in red shirt", "man"),
    ("the cat sitting on the table", "cat"), ("person on left", "person"),
    ("guy wearing a hat, near the door", "guy"), ("the dog that is sleeping", "dog"),
    ("slice of pizza", "slice of pizza"), ("teddy bear in the back", "teddy bear"),
    # a phrase that is all qualifier keeps its words
    ("on the left", "on the left"), ("the one", "one"),
])
def test_the_object_of_a_referring_expression(phrase, head):
    from halluscope.claims.referring import head_of
    assert head_of(phrase) == head


def test_a_referring_expression_is_decided_for_its_object_not_its_last_word(tmp_path):
    """``[refer] where is the cat sitting on the table ?`` answered with the cat's box was
    judged against the table (the label's last word), hallucinated with IoU 0.02; ``the man
    on the left`` named no object. The phrase as asked stays the claim's text."""
    path = tmp_path / "in.jsonl"
    meta = {"objects": [{"label": "cat", "box": [100, 100, 300, 250]},
                        {"label": "dining table", "box": [50, 240, 500, 500]},
                        {"label": "person", "box": [300, 20, 500, 300]}]}
    rows = [("[refer] where is the cat sitting on the table ?", "{<20><20><59><49>}"),
            ("[refer] the man on the left", "{<59><4><98><59>}"),
            ("[refer] the table under the cat", "{<20><20><59><49>}")]
    path.write_text("".join(json.dumps({
        "id": str(i), "task": "vqa", "image": str(DATA / "images" / "astronaut.jpg"),
        "prompt": p, "response": r, "metadata": meta}) + "\n" for i, (p, r) in enumerate(rows)))
    items = halluscope.audit(path, metrics="region", out=tmp_path / "o", write_report=False,
                             n_boot=0).items
    got = [[(b["label"], b["verdict"]) for b in it["region"]["boxes"]] for it in items]
    assert got == [[("cat", "supported")], [("man", "supported")],
                   [("table", "hallucinated")]]
    assert [it["claims"][0]["text"] for it in items] == [
        "the cat sitting on the table", "the man on the left", "the table under the cat"]
    assert "matches the person" in items[1]["region"]["boxes"][0]["reason"]
