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
