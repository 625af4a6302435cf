"""``The cat and the lamp are in regions 1 and 2``: each id of the list is its own object's,
in order. Every id was given the name closest before the list (the lamp), and region 1, the
cat's, was judged hallucinated: "region 1 holds the cat, not the lamp"."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import halluscope
from halluscope.claims.citations import parse_cited_regions

KNOWN = ["cat", "lamp", "cup"]
DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.mark.parametrize("text, labels", [
    ("The cat and the lamp are in regions 1 and 2.", ["cat", "lamp"]),
    ("The cat and the lamp are in [R1, R2].", ["cat", "lamp"]),
    ("A cat, a lamp and a cup: regions 1, 2 and 10.", ["cat", "lamp", "cup"]),
    ("The big cat and the small lamp are in regions 1 and 2.", ["cat", "lamp"]),
    # not one name per id, or not joined as a list: as before (the name closest, or none)
    ("The cat next to the lamp is in regions 1 and 2.", ["lamp", "lamp"]),
    ("The cat and the lamp are in regions 1-3.", ["lamp"] * 3),
    ("The cat, not the lamp, is in regions 1 and 2.", [None, None]),
    ("The cat and no lamp are in regions 1 and 2.", [None, None]),
    ("The cat is in regions 1 and 2.", ["cat", "cat"]),
])
def test_a_list_of_ids_after_a_list_of_names(text, labels):
    assert [r.label for r in parse_cited_regions(text, known=KNOWN)] == labels


def test_the_audit_decides_each_id_for_its_own_object(tmp_path):
    meta = {"regions": [{"id": 1, "box": [100, 100, 300, 250], "label": "cat"},
                        {"id": 2, "box": [0, 0, 50, 50], "label": "lamp"}]}
    path = tmp_path / "in.jsonl"
    rows = ["The cat and the lamp are in regions 1 and 2.",
            "The lamp and the cat are in regions 1 and 2."]
    path.write_text("".join(json.dumps({
        "id": str(i), "task": "vqa", "image": str(DATA / "images" / "astronaut.jpg"),
        "prompt": "Which regions?", "response": r, "metadata": meta}) + "\n"
        for i, r in enumerate(rows)))
    items = halluscope.audit(path, metrics="region", out=tmp_path / "o", write_report=False,
                             n_boot=0).items
    got = [[(r["id"], r["label"], r["verdict"]) for r in it["region"]["regions"]]
           for it in items]
    assert got == [[("1", "cat", "supported"), ("2", "lamp", "supported")],
                   [("1", "lamp", "hallucinated"), ("2", "cat", "hallucinated")]]


@pytest.mark.parametrize("text, labels", [
    ("The cat and the lamp are at [100, 100, 300, 250] and [0, 0, 50, 50].", ["cat", "lamp"]),
    ("The cat and the lamp are at [100, 100, 300, 250] and [0, 0, 50, 50] respectively.",
     ["cat", "lamp"]),
    ("A cat, a lamp and a cup: [1, 1, 30, 30], [40, 40, 50, 50], [60, 60, 90, 90].",
     ["cat", "lamp", "cup"]),
    ("The cat is at [100, 100, 300, 250] and the lamp at [0, 0, 50, 50].", ["cat", "lamp"]),
    # two names, one box: the name closest, as before
    ("The cat and the lamp are at [100, 100, 300, 250].", ["lamp"]),
])
def test_a_run_of_boxes_after_a_list_of_names(text, labels):
    from halluscope.claims.citations import parse_cited_boxes
    boxes = parse_cited_boxes(text, size=(512, 512), known=KNOWN, box_format="pixels")
    assert [b.label for b in boxes] == labels
