"""Region checks: the label keys of a record's known instances are made once per record, not
once per cited box and instance (3,000 boxes against 3,000 regions took 77 s), with the very
verdicts comparing every pair gave; objects added to the truth later are seen.

Every expected value here is worked out by hand from the boxes in the test.
"""

from __future__ import annotations

import halluscope.checks.regions as regions
from halluscope.claims.citations import CitedBox, CitedRegion, norm_region_id, same_object

LABELS = ["cat", "dog", "astronaut", "person", "the flag", "flags", None, "!!!", "sofa", "couch"]


def truth(n):
    offered = [{"id": f"R{i + 1}", "label": LABELS[i % len(LABELS)],
                "box": [i % 50 * 10, i // 50 * 10, i % 50 * 10 + 8, i // 50 * 10 + 8]}
               for i in range(n)]
    return regions.truth_from_metadata({"regions": offered, "objects": [
        {"label": "man", "box": [0, 0, 8, 8]}, "kite"]}, (1000, 1000))


def box(label, i):
    x, y = i % 50 * 10, i // 50 * 10
    return CitedBox(raw=(x, y, x + 8, y + 8), box=(x, y, x + 8, y + 8), label=label,
                    span=(0, 1), format="plain", coords="pixels")


def test_candidates_are_those_every_pair_compared_gives():
    t = truth(60)
    for label in ["cat", "cats", "person", "man", "flag", "couch", "!!!", "kite", "zebra", ""]:
        cands = [dict(o) for o in t.objects if o.get("box") is not None] + [
            {"label": r.get("label"), "box": r["box"], "source": "annotation", "region": r["id"]}
            for r in t.regions.values()]
        want = [c for c in cands if same_object(c.get("label"), label)] if label else []
        assert regions._candidates(t, label) == want, label


def test_label_keys_are_made_once_per_record(monkeypatch):
    t = truth(200)
    calls = []
    real = regions.label_key
    monkeypatch.setattr(regions, "label_key", lambda x: calls.append(x) or real(x))
    import halluscope.claims.cited_labels as cited_labels
    monkeypatch.setattr(cited_labels, "label_key", lambda x: calls.append(x) or real(x))
    verdicts = [regions.check_box(box(LABELS[i % 4], i), t) for i in range(200)]
    verdicts += [regions.check_region(CitedRegion(id=norm_region_id(f"R{i + 1}"), label="dog",
                                                  span=(0, 1)), t) for i in range(200)]
    assert len(calls) < 1000          # every pair compared: some 80,000
    assert [v.label for v in verdicts[:4]] == ["supported"] * 4
    assert verdicts[200].label == "hallucinated"       # R1 holds the cat
    assert "holds the cat" in verdicts[200].reason
    assert verdicts[201].label == "supported"


def test_objects_added_after_a_check_are_seen():
    t = truth(3)
    assert regions.check_box(box("kite", 10), t).label == "unverifiable"
    t.objects.append({"label": "kite", "box": (100, 0, 108, 8), "source": "detector"})
    assert regions.check_box(box("kite", 10), t).label == "supported"
