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


def test_claims_split_together_give_the_outcomes_of_one_record_at_a_time(monkeypatch):
    import pytest
    pytest.importorskip("spacy")
    import halluscope.claims.splitter as splitter
    from halluscope.engines import LocalEngine, claims_split_together
    from halluscope.errors import RecordError
    texts = ["A brown dog is on a red sofa.", "Two cats sleep on a bed.", "A dog.",
             "A brown dog is on a red sofa.", "", "x" * (splitter.MAX_SPLIT_CHARS + 1)]
    records = [Record(id=f"r{i}", task="caption", image="x.jpg", response=t)
               for i, t in enumerate(texts)]
    records.append(Record(id="q", task="yes-no", image="x.jpg", response="Yes"))

    def outcomes(together):
        metrics = [ClaimsMetric(config_key="k"), FaithScoreMetric(config_key="k")]
        if not together:
            return [score_outcomes(r, metrics) for r in records]
        return [o for _, o, _ in LocalEngine(metrics).run(records)]

    def plain(outs):
        return [[(k, v.payload, v.top) if k == "ok" else (k, str(v)) for k, v in o]
                for o in outs]

    parsed = []
    real = splitter.load_pipeline

    class Counting:
        def __init__(self, nlp):
            self.nlp = nlp

        def __call__(self, text):
            parsed.append(1)
            return self.nlp(text)

        def pipe(self, texts, **kw):
            texts = list(texts)
            parsed.append(len(texts))
            return self.nlp.pipe(texts, **kw)

    monkeypatch.setattr(splitter, "load_pipeline", lambda: Counting(real()))
    alone = plain(outcomes(False))
    assert parsed == [1] * 4                     # one parse per response that fits
    parsed.clear()
    together = plain(outcomes(True))
    assert together == alone
    assert parsed == [3]     # one parse of the distinct responses that fit, no other
    assert together[5][0][0] == "error" and "at most" in together[5][0][1]
    from halluscope.verification import _AHEAD
    metric = ClaimsMetric(config_key="k")
    with claims_split_together(records[:2], [metric]):
        assert len(_AHEAD.get()[metric.verifier.key]) == 2
    assert _AHEAD.get() == {}                    # nothing verified: nothing kept after
    with pytest.raises(RecordError, match="at most"):
        metric.verifier.split_record(records[5])
