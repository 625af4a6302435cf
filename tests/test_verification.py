"""The verification stage: one verification per record per verifier, handed to every metric
that needs it; metrics that need none are not verified for."""

from __future__ import annotations

from halluscope.engines import score_outcomes
from halluscope.metrics.chair import ChairMetric
from halluscope.metrics.claims import ClaimsMetric
from halluscope.metrics.faithscore import FaithScoreMetric
from halluscope.records import Record
from halluscope.types import Claim, Verdict, VerifiedRecord
from halluscope.verification import Verifier


def _record() -> Record:
    return Record(id="r1", task="caption", image="x.jpg", response="A dog and a cat.")


def test_claims_and_faithscore_share_one_verification(monkeypatch):
    calls = []
    dog = Claim(kind="existence", subject="dog", span=(2, 5), text="A dog.")
    cat = Claim(kind="existence", subject="cat", span=(12, 15), text="A cat.")

    def verify(self, record):
        calls.append(record.id)
        return VerifiedRecord(record, (Verdict(dog, "supported", 1.0, (), "seen", "t"),
                                       Verdict(cat, "hallucinated", 1.0, (), "not seen", "t")))

    monkeypatch.setattr(Verifier, "verify", verify)
    claims = ClaimsMetric(config_key="same")
    faith = FaithScoreMetric(config_key="same")
    assert claims.verifier.key == faith.verifier.key
    (k1, s1), (k2, s2) = score_outcomes(_record(), [claims, faith])
    assert calls == ["r1"]                                   # verified once for both
    assert (k1, k2) == ("ok", "ok")
    assert [c["verdict"] for c in s1.top["claims"]] == ["supported", "hallucinated"]
    assert s2.top == {}                                      # the list is written once
    assert s1.payload["existence"] == {"supported": 1, "hallucinated": 1}
    assert s2.payload["faithscore"] == 0.5                   # 1 supported of 2 decided


def test_a_verification_error_is_each_metrics_record_error(monkeypatch):
    from halluscope.errors import RecordError

    def verify(self, record):
        raise RecordError("expected a readable response, got none", field="response")

    monkeypatch.setattr(Verifier, "verify", verify)
    outs = score_outcomes(_record(), [ClaimsMetric(config_key="k"),
                                      FaithScoreMetric(config_key="k")])
    assert [k for k, _ in outs] == ["error", "error"]
    assert all("expected a readable response" in str(e) for _, e in outs)


def test_metrics_without_verification_are_not_verified_for(monkeypatch):
    def verify(self, record):
        raise AssertionError("CHAIR needs no verification")

    monkeypatch.setattr(Verifier, "verify", verify)
    assert ChairMetric.needs_verification is False and ClaimsMetric.needs_verification
    metric = ChairMetric.__new__(ChairMetric)
    monkeypatch.setattr(ChairMetric, "applies_to", lambda self, r: False)
    monkeypatch.setattr(ChairMetric, "skip_reason", lambda self, r: "not here")
    assert score_outcomes(_record(), [metric]) == [("skip", "not here")]
