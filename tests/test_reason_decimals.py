"""A verdict's reason writes its numbers by the report's rule (halluscope.numbers.fixed): a
non-whole number never reads as whole, and a number compared with a bound never reads as the
bound (a user's hunt: "(IoU 1.00)" for an IoU of 0.9972; "best IoU 0.50 < 0.5" for 0.4996)."""

from __future__ import annotations

import json
from pathlib import Path

import halluscope
from halluscope.checks.common import _detector_unsure, absence_detail
from halluscope.numbers import fixed, fixed_apart
from halluscope.report import decimals
from halluscope.types import ImageFacts

IMAGE = Path(__file__).resolve().parents[1] / "data" / "images" / "astronaut.jpg"
DOG = [{"id": 1, "box": [100, 100, 300, 300], "label": "dog"}]


def test_the_rule():
    assert decimals.fixed is fixed            # one rule for the report and the reasons
    assert fixed(0.9972, 2) == "0.997" and fixed(1.0, 2) == "1.00" and fixed(0.5, 2) == "0.50"
    assert fixed_apart(0.4996, 0.5, digits=2) == "0.4996"
    assert fixed_apart(0.43, 0.5, digits=2) == "0.43"
    assert fixed_apart(0.5, 0.5, digits=2) == "0.50"           # equal to the bound: it is
    assert fixed_apart(0.2996, 0.3, 0.5, digits=2) == "0.2996"
    assert fixed_apart(float("nan"), 0.5) == "nan"


def _reasons(tmp_path, cited):
    rows = [{"id": str(i), "image": str(IMAGE), "response": f"The dog {box} is here.",
             "metadata": {"regions": DOG, "box_format": "pixels"}} for i, box in enumerate(cited)]
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    halluscope.audit(path, metrics="region", out=tmp_path / "o", write_report=False, n_boot=0)
    items = [json.loads(x) for x in (tmp_path / "o" / "items.jsonl").read_text().splitlines()]
    return [c["reason"] for d in sorted(items, key=lambda d: d["id"])
            for c in d["claims"] if c["kind"] == "region"]


def test_region_reasons_keep_the_decimals_that_tell(tmp_path):
    # IoU of [100,100,300,299.45] with [100,100,300,300]: 200 * 199.45 / 40000 = 0.997250
    # IoU of [100,100,300,199.92]: 200 * 99.92 / 40000 = 0.4996, under the 0.5 threshold
    # IoU of [100,100,300,300]: 1, a whole match
    matched, missed, whole = _reasons(tmp_path, ["[100, 100, 300, 299.45]",
                                                 "[100, 100, 300, 199.92]",
                                                 "[100, 100, 300, 300]"])
    assert matched == "matches the dog at [100, 100, 300, 300] (IoU 0.997)"
    assert missed == "no dog there: best IoU 0.4996 < 0.5"
    assert whole == "matches the dog at [100, 100, 300, 300] (IoU 1.00)"


def test_detector_reasons_keep_the_decimals_that_tell():
    facts = ImageFacts(key="x", absent=frozenset({"dog"}), provenance={
        "source": "detector", "name": "coco-ssd", "max_scores": {"dog": 0.2996},
        "thresholds": {"absent": 0.3, "present": 0.5},
        "uncertain": {"cat": 0.4999}})
    assert absence_detail(facts, "dog") == \
        " (detector coco-ssd: best score 0.2996, below its absent threshold 0.3)"
    assert _detector_unsure(facts, "cat", None) == (
        "detector coco-ssd: best score 0.4999 for 'cat', neither present (>= 0.5) nor "
        "absent (< 0.3), so it cannot say whether there is one")
