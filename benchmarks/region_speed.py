"""Region checks on a huge response: every cited box and region id against many offered
regions, now (label keys made once per record) against the way they were checked before (each
box's candidates found by comparing its label with every known instance's, both keys made
again each time), in one process.

The record offers ``--n`` regions (labels from a few dozen words, some COCO synonyms) and its
response cites each region's box (shifted a little) and id, with a label; the verdicts of both
ways must be equal. Prints the CPU seconds of each and the ratio before/now. "Before" puts back
the label comparisons only, not the offered ids sorted again for every cited id (now sorted
only for a fabricated one), so it is a little faster than the code before was: 3,000 boxes and
ids against 3,000 regions took 122 s CPU on that code, 112 s here, 1.8 s now.

    python benchmarks/region_speed.py [--n 1500]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a source tree

import halluscope.checks.regions as regions  # noqa: E402
from halluscope.claims.citations import (label_key, parse_cited_boxes,  # noqa: E402
                                         parse_cited_regions, same_object)

WORDS = ["cat", "dog", "person", "man", "woman", "astronaut", "car", "truck", "flag", "tree",
         "cup", "bottle", "chair", "sofa", "couch", "bird", "horse", "kite", "bench", "sign",
         "the umbrella", "bags", "sheep", "lamp", "dogs", "a boat", "cars", "clock", "vase"]


def make(n: int):
    offered = []
    parts = []
    for i in range(n):
        x, y = (i * 37) % 900, (i * 53) % 600
        lab = WORDS[i % len(WORDS)]
        offered.append({"id": f"R{i + 1}", "label": lab, "box": [x, y, x + 80, y + 60]})
        said = WORDS[(i * 7) % len(WORDS)] if i % 3 == 0 else lab
        parts.append(f"The {said} is at [{x + 4}, {y + 3}, {x + 82}, {y + 61}] and the "
                     f"{said} [R{i + 1}].")
    truth = regions.truth_from_metadata({"regions": offered}, (1000, 700))
    text = " ".join(parts)
    boxes = parse_cited_boxes(text, size=(1000, 700), box_format="pixels", known=truth.labels())
    ids = parse_cited_regions(text, known=truth.labels())
    return truth, boxes, ids


def before_candidates(truth, label):
    """The candidates as found before: every instance's label compared with ``label``."""
    if not label:
        return []
    cands = [dict(o) for o in truth.objects if o.get("box") is not None]
    for r in (truth.regions or {}).values():
        if r.get("box") is not None:
            cands.append({"label": r.get("label"), "box": r["box"], "source": "annotation",
                          "region": r["id"]})
    return [c for c in cands if same_object(c.get("label"), label)]


def before_keys(truth):
    return {label_key(x) for x in truth.labels()}


def timed(truth, boxes, ids):
    t = time.process_time()
    out = [regions.check_box(b, truth) for b in boxes] + \
        [regions.check_region(r, truth) for r in ids]
    return time.process_time() - t, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1500)
    args = ap.parse_args()
    truth, boxes, ids = make(args.n)
    now_s, now = timed(truth, boxes, ids)
    saved = regions._candidates, regions._known_keys
    regions._candidates, regions._known_keys = before_candidates, before_keys
    try:
        truth, boxes, ids = make(args.n)
        before_s, before = timed(truth, boxes, ids)
    finally:
        regions._candidates, regions._known_keys = saved
    assert now == before, "the verdicts differ"
    print(f"{len(boxes)} boxes and {len(ids)} ids against {args.n} regions: "
          f"before {before_s:.2f} s CPU, now {now_s:.3f} s CPU, ratio {before_s / now_s:.0f}x; "
          f"verdicts equal")


if __name__ == "__main__":
    main()
