"""What the docs promise, checked against the code (docs-hunt, 2026-12-06)."""

from __future__ import annotations

import json
from pathlib import Path

import halluscope

DATA = Path(__file__).resolve().parents[1] / "data"
REGIONS = [{"id": 1, "box": [100, 100, 300, 300], "label": "dog"}]


def _items(tmp_path, rows, metrics):
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    halluscope.audit(path, metrics=metrics, out=tmp_path / "o", write_report=False, n_boot=0)
    return {d["id"]: d for d in map(json.loads, (tmp_path / "o" / "items.jsonl")
                                     .read_text().splitlines())}


def test_a_skipped_item_says_why_each_metric_passed_it_by(tmp_path):
    """docs/regions.md: a response citing no box or region id is skipped by the region metric
    with the reason "cites no box or region id". The reason reached only the summary of a
    metric that scored nothing; the item said "no selected metric (region) applies" alone."""
    image = str(DATA / "images" / "astronaut.jpg")
    rows = [{"id": "cites", "image": image, "response": "The dog is in region 1.",
             "metadata": {"regions": REGIONS}},
            {"id": "plain", "image": image, "response": "A dog sits there.",
             "metadata": {"regions": REGIONS}}]
    items = _items(tmp_path, rows, "region")
    assert "skipped" not in items["cites"]
    skipped = items["plain"]["skipped"]
    assert skipped.startswith("no selected metric (region) applies")
    assert "region: cites no box or region id" in skipped


def test_a_relation_is_named_by_the_verbs_own_ing_form():
    """docs/claims.md: verb objects give relations named by the verb's -ing form. spaCy
    lemmatises "rides" as "rid", and the relation was "ridding": "A man rides a horse." was
    unverifiable against an annotated (man, riding, horse)."""
    from halluscope import split_claims
    relations = {t: [c.relation for c in split_claims(t) if c.kind == "relation"]
                 for t in ("A man rides a horse.", "A child rides the bus.",
                           "A woman holds an umbrella.", "A girl rode a bike.")}
    assert relations == {"A man rides a horse.": ["riding"], "A child rides the bus.": ["riding"],
                         "A woman holds an umbrella.": ["holding"],
                         "A girl rode a bike.": ["riding"]}


def test_rides_is_checked_against_an_annotated_riding(tmp_path):
    ann = tmp_path / "ann.json"
    ann.write_text(json.dumps({"images": {"astronaut.jpg": {
        "objects": [{"label": "man"}, {"label": "horse"}],
        "relations": [["man", "riding", "horse"]]}}}))
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps({"id": "a", "image": str(DATA / "images" / "astronaut.jpg"),
                                "response": "A man rides a horse."}) + "\n")
    halluscope.audit(path, metrics="claims", annotations=[str(ann)], out=tmp_path / "o",
                     write_report=False, n_boot=0)
    item = json.loads((tmp_path / "o" / "items.jsonl").read_text().splitlines()[0])
    assert [(c["relation"], c["verdict"]) for c in item["claims"] if c["kind"] == "relation"] \
        == [("riding", "supported")]


def test_a_noun_read_as_a_verbs_compound_is_its_subject():
    """docs/claims.md: objects are nouns. en_core_web_sm reads "A bicycle leans on a wall." with
    "bicycle" as a compound of the verb "leans", and the bicycle made no claim at all."""
    from halluscope import split_claims, split_claims_batch
    text = "A bicycle leans on a wall."
    want = [("existence", "bicycle", None, None), ("existence", "wall", None, None),
            ("relation", "bicycle", "on", "wall")]
    for claims in (split_claims(text), split_claims_batch(["A cat.", text])[1]):
        assert [(c.kind, c.subject, c.relation, c.object) for c in claims] == want
    assert [c.subject for c in split_claims("No bicycle leans on a wall.")] == ["wall"]
    # a plural's words are no subject and verb: "stands" is a noun here, "metal railing" too
    for text in ("There are several newspaper stands scattered around.",
                 "A skateboarder does a trick on a metal railing in a skate park."):
        assert "standing" not in {c.value for c in split_claims(text)}
        assert not {"newspaper", "metal"} & {c.subject for c in split_claims(text)}
