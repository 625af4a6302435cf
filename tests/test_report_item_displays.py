"""Report item displays: a per-item score with no value reads as missing ("—", with its
reason where the payload gives one), not left out; a region-id claim with no object reads as
the region, not " = 1".

Every expected value here is worked out by hand from the items in the test.
"""

from __future__ import annotations

from halluscope.report.itemview import claim_summary, item_view


def _details(payload):
    item = {"id": "1", "response": "A cat.", "somemetric": payload}
    others = item_view(item, 0, ["somemetric"])["others"]
    return dict(others[0]["details"])


def test_a_missing_per_item_score_reads_as_missing_with_its_reason():
    rows = _details({"score": None, "score_why_no_value": "no claim could be checked",
                     "n": 3})
    assert rows["score"] == "— (no value: no claim could be checked)"
    assert "score_why_no_value" not in rows          # said beside the value it explains
    assert rows["n"] == "3"


def test_a_missing_per_item_score_without_a_reason_reads_as_a_dash():
    assert _details({"score": None})["score"] == "—"


def test_the_payload_wide_reason_explains_a_missing_value():
    rows = _details({"score": None, "why_no_value": "the judge gave no answer"})
    assert rows["score"] == "— (no value: the judge gave no answer)"
    assert "why_no_value" not in rows


def test_a_reason_beside_a_value_that_is_there_stays_its_own_row():
    rows = _details({"score": 0.5, "score_why_no_value": "stale"})
    assert rows == {"score": "0.5", "score_why_no_value": "stale"}


def test_a_region_claim_with_no_object_reads_as_the_region():
    assert claim_summary({"kind": "region", "subject": "", "value": "1"}) == "region R1"
    assert claim_summary({"kind": "region", "subject": "", "value": "A"}) == "region A"
    assert claim_summary({"kind": "region", "subject": "", "value": [10, 20, 30, 40]}) == \
        "box [10, 20, 30, 40]"
    assert claim_summary({"kind": "region", "subject": "dog", "value": "1"}) == "dog = 1"
