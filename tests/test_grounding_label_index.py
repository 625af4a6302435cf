"""Region recall: the known instances of the cited objects are found through the record's
label index (:func:`halluscope.checks.regions.instances_of`), not by comparing every
instance's label with every cited and every kept label (1,500 offered regions took 19 s), with
the very rows and payloads the pair-by-pair way gave, on random records."""

from __future__ import annotations

import random

import halluscope.checks.regions as regions
import halluscope.claims.cited_labels as cited_labels
from halluscope.checks.regions import iou
from halluscope.claims.citations import same_object
from halluscope.metrics.grounding import RegionMetric
from halluscope.records import Record

WORDS = ["cat", "cats", "dog", "person", "man", "astronaut", "the flag", "flags", "sofa",
         "couch", "kite", "!!!", "zebra"]


def record(rng, n):
    offered, objects, parts = [], [], []
    for i in range(n):
        x, y = rng.randrange(0, 400, 20), rng.randrange(0, 300, 20)
        lab = rng.choice(WORDS + [None])
        offered.append({"id": f"R{i + 1}", "label": lab, "box": [x, y, x + 40, y + 30]})
        if rng.random() < 0.3:          # the same place again, or nearly (IoU about 0.9)
            objects.append({"label": rng.choice(WORDS), "box": [x + rng.choice([0, 1]), y,
                                                                x + 40, y + 30]})
        said = rng.choice(WORDS) if rng.random() < 0.4 else (lab or "thing")
        dx = rng.choice([0, 2, 15])
        parts.append(f"The {said} is at [{x + dx}, {y}, {x + 40 + dx}, {y + 30}]"
                     + (f" and the {said} [R{rng.randrange(1, n + 5)}]." if i % 2 else "."))
    return Record(id="r", task="grounding", response=" ".join(parts),
                  metadata={"regions": offered, "objects": objects, "image_size": [500, 400]})


def pairwise(metric, verified):
    """The universe and recall as found before: every pair of labels compared."""
    truth = verified.truth
    decided = [c.label for c, v in [*zip(verified.boxes, verified.box_verdicts),
                                    *zip(verified.regions, verified.id_verdicts)]
               if c.label and v.label != "unverifiable"]
    cited = [lab for lab in verified.cited_labels if any(same_object(lab, d) for d in decided)]
    known = [o for o in truth.objects if o.get("box") is not None]
    known += [{"label": r.get("label"), "box": r["box"], "source": "annotation",
               "region": r["id"]} for r in (truth.regions or {}).values()
              if r.get("box") is not None]
    universe = []
    for o in known:
        if not any(same_object(o["label"], lab) for lab in cited):
            continue
        if any(same_object(o["label"], u["label"]) and iou(o["box"], u["box"]) >= 0.9
               for u in universe):
            continue
        universe.append(o)
    hits = [v.evidence[0].box for v in verified.box_verdicts
            if v.label == "supported" and v.evidence]
    hit_ids = {str(v.claim.value) for v in verified.id_verdicts if v.label == "supported"}
    recalled = 0
    for u in universe:
        if any(h is not None and iou(h, u["box"]) >= metric.iou_threshold for h in hits):
            recalled += 1
        elif any(r.get("box") is not None and iou(r["box"], u["box"]) >= 0.9
                 for rid, r in (truth.regions or {}).items() if rid in hit_ids):
            recalled += 1
    return known, universe, recalled


def test_rows_are_those_every_pair_compared_gives():
    rng = random.Random(7)
    seen_recall = 0
    for case in range(60):
        metric = RegionMetric(iou_threshold=rng.choice([0.3, 0.5, 0.9]))
        rec = record(rng, rng.randrange(1, 40))
        verified = metric.verifier.verify(rec)
        got = metric.score_verified(verified)
        known, universe, recalled = pairwise(metric, verified)
        assert got.row[3:5] == (len(universe), recalled), case
        assert len(got.payload["known"]) == len(known), case
        assert [k["box"] for k in got.payload["known"]] == \
            [[round(x, 2) for x in o["box"]] for o in known], case
        seen_recall += recalled
    assert seen_recall > 50              # the cases did recall things


def test_label_keys_are_not_made_per_pair(monkeypatch):
    rng = random.Random(3)
    metric = RegionMetric()
    verified = metric.verifier.verify(record(rng, 300))
    calls = []
    real = cited_labels.label_key
    for mod in (regions, cited_labels):
        monkeypatch.setattr(mod, "label_key", lambda x: calls.append(x) or real(x))
    score = metric.score_verified(verified)
    assert score.row[3] > 20
    assert len(calls) < 3000             # every pair compared: some 100,000
