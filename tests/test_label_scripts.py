"""Labels in any script: a label's key kept only the letters a-z and digits, so every label
written in Chinese or Japanese had the key "" and any two of them were "the same object": a box
cited as 犬 (dog) on the region annotated 猫 (cat) was supported (IoU 1.00), and precision read
1.0. Accented letters were cut out of the word (``café`` -> ``caf``, ``Ölbaum`` and ``Älbaum``
both ``lbaum``). Now letters of every script are kept, accents folded (``café`` is ``cafe``),
and a label with no letter or digit at all names nothing to compare (never the same object as
another such label).

Every expected verdict here is worked out by hand from the boxes in the test.
"""

from __future__ import annotations

import json

import pytest

import halluscope.checks.regions as regions
from halluscope.claims.citations import CitedBox, label_key, same_object


@pytest.mark.parametrize("a, b", [("猫", "犬"), ("Ölbaum", "Älbaum"), ("!!!", "???"),
                                  ("кошка", "собака"), ("猫", ""), ("ガラス", "カラス"),
                                  ("мой", "мои")])
def test_labels_in_other_scripts_are_not_all_one_object(a, b):
    assert not same_object(a, b)


@pytest.mark.parametrize("a, b", [("猫", "猫"), ("café", "cafe"), ("Café", "CAFÉ"),
                                  ("the cats", "cat"), ("кошка", "Кошка"),
                                  ("\ufb01sh", "fish"), ("\uff43\uff41\uff54", "cat")])
def test_the_same_label_in_any_script_is_one_object(a, b):
    assert same_object(a, b)


def test_keys_of_ascii_labels_are_unchanged():
    assert [label_key(x) for x in ("The Dogs", "tv-monitor", "teddy_bears", "a", "7 cats")] \
        == ["dog", "tv monitor", "teddy bear", "a", "7 cat"]
    assert label_key("...") is None and label_key("") is None


def _box(label):
    return CitedBox(raw=(10, 10, 100, 100), box=(10, 10, 100, 100), label=label, span=(0, 1),
                    format="plain", coords="pixels")


def test_a_box_cited_as_another_object_in_chinese_is_not_supported():
    truth = regions.truth_from_metadata(
        {"objects": [{"label": "猫", "box": [10, 10, 100, 100]}]}, (200, 200))
    assert regions.check_box(_box("猫"), truth).label == "supported"
    v = regions.check_box(_box("犬"), truth)
    assert v.label == "unverifiable", v.reason       # nothing is known of a 犬 here
    assert regions._candidates(truth, "犬") == []
    assert regions._candidates(truth, "!!!") == []


def test_the_audit_does_not_support_a_dog_boxed_on_the_cat(tmp_path):
    from halluscope.api import audit
    rows = [{"id": "u1", "image": "x.jpg", "task": "caption",
             "response": json.dumps([{"bbox_2d": [10, 10, 100, 100], "label": "犬"}],
                                    ensure_ascii=False),
             "metadata": {"image_size": [200, 200],
                          "objects": [{"label": "猫", "box": [10, 10, 100, 100]},
                                      {"label": "犬", "box": [120, 120, 190, 190]}]}}]
    path = tmp_path / "a.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n",
                    encoding="utf-8")
    result = audit(str(path), metrics=["region"], n_boot=0)
    region = result.metrics["region"].results
    # the 犬 is at [120, 120, 190, 190]: the box on the 猫 misses it (IoU 0); recall 0 of 1
    assert (region["precision"].value, region["precision"].n) == (0.0, 1)
    assert (region["recall"].value, region["recall"].n) == (0.0, 1)
