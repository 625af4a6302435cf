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
