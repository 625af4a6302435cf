"""CHAIR ``original`` on captions the reference files hold few of: capitals, curly quotes,
repeats, irregular plurals, a phrase split by a line break, punctuation only, nothing.

Each expected value was also produced by the original ``caption_to_words``
(LisaAnne/Hallucination@6e4d33c utils/chair.py, with Pattern's ``singularize`` from
clips/pattern and ``nltk.word_tokenize`` 3.10.4), and follows from its steps by hand: the
caption is lower-cased and tokenised, every token singularised (``people`` -> ``person``,
``mice`` -> ``mouse``, ``women`` -> ``woman``, ``children`` -> ``child``), two-token phrases
fused, and the words of the synonym list kept with their category. Token positions count
NLTK's tokens; ``n_tokens`` counts them after fusing.
"""

from __future__ import annotations

import pytest

from halluscope.metrics.chair import chair_scores, parser_for


@pytest.mark.parametrize("caption,words,nodes,positions,n_tokens", [
    # upper case is lower-cased first; tokens: two people and three mice .
    ("TWO PEOPLE AND THREE MICE.", ["person", "mouse"], ["person", "mouse"], [1, 4], 6),
    # curly quotes are tokens of their own: “ a dog ” sits on a ‘ couch ’ .
    ("\u201cA Dog\u201d sits on a \u2018couch\u2019.", ["dog", "couch"], ["dog", "couch"],
     [2, 8], 11),
    # every repeat is a mention of its own (CHAIR_i counts them)
    ("A dog. A dog. A dog!", ["dog"] * 3, ["dog"] * 3, [1, 4, 7], 9),
    ("There are people, people, and more people.", ["person"] * 3, ["person"] * 3,
     [2, 4, 8], 10),
    # a line break between the two words of a phrase is only whitespace: teddy bear fuses
    ("Teddy\nbears.", ["teddy bear"], ["teddy bear"], [0], 2),
    # the possessive 's is a token; women -> woman, children -> child, both persons
    ("A women's bag and the children's toys.", ["woman", "child"], ["person", "person"],
     [1, 6], 10),
    ("!!!", [], [], [], 3),
    ("", [], [], [], 0),
])
def test_original_words_as_the_original_finds_them(caption, words, nodes, positions, n_tokens):
    parsed = parser_for("original").parse(caption)
    assert [m.word for m in parsed.mentions] == words
    assert [m.node for m in parsed.mentions] == nodes
    assert [m.index for m in parsed.mentions] == positions
    assert parsed.n_tokens == n_tokens


def test_repeats_and_empty_captions_in_the_overall_numbers():
    """Image 1 holds a dog. "A dog. A dog. A dog!" (3 correct mentions), "TWO PEOPLE AND THREE
    MICE." (2 hallucinated) and "" (none): CHAIR_s = 1 / 3 captions, CHAIR_i = 2 / 5
    mentions; Len = (9 + 6 + 0) / 3 = 5."""
    out = chair_scores([(1, "A dog. A dog. A dog!"), (1, "TWO PEOPLE AND THREE MICE."),
                        (1, "")], {1: {"dog"}}, "original")
    overall = out["overall"]
    assert overall["chair_s"] == pytest.approx(1 / 3)
    assert overall["chair_i"] == pytest.approx(2 / 5)
    assert overall["len"] == pytest.approx(5.0)
    assert out["captions"][1]["hallucinated"] == [("person", "person"), ("mouse", "mouse")]


# -- a missing per-caption value says why (items.jsonl showed a bare null, the report "—") -----

def test_a_missing_per_caption_value_says_why():
    out = chair_scores([(1, "A sunny afternoon."), (2, "A dog."), (1, "A dog.")],
                       {1: {"dog"}, 2: set()})
    none, no_gt, full = out["captions"]
    assert none["chair_i"] is None and "mentions no object" in none["chair_i_why_no_value"]
    assert "recall_why_no_value" not in none                   # recall 0.0 is a value
    assert no_gt["recall"] is None and "no ground-truth object" in no_gt["recall_why_no_value"]
    assert not any(k.endswith("_why_no_value") for k in full)


def test_the_item_and_its_report_say_why_chair_i_is_missing(tmp_path):
    import json
    from pathlib import Path

    import halluscope
    from halluscope.report.claimtext import detail_rows
    data = Path(__file__).resolve().parents[1] / "data"
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps({"id": "c", "image": str(data / "images" / "astronaut.jpg"),
                                "image_id": 1, "response": "A sunny afternoon."}) + "\n")
    halluscope.audit(path, metrics="chair", out=tmp_path / "o", n_boot=0,
                     coco_annotations=[str(data / "annotations" / "instances.json")])
    item = json.loads((tmp_path / "o" / "items.jsonl").read_text())
    assert item["chair"]["chair_i"] is None
    rows = dict(detail_rows(item["chair"]))
    assert rows["chair_i"].startswith("— (no value: the caption mentions no object")
    assert "no value: the caption mentions no object" in \
        (tmp_path / "o" / "report.html").read_text()
