"""FaithScore on hand-computed cases: response score, sentence score, empty responses."""

from __future__ import annotations

import math

import pytest

from halluscope.config import AuditConfig
from halluscope.errors import ConfigError
from halluscope.metrics.faithscore import faithscore_scores, response_scores
from halluscope.types import Claim, Verdict


def v(label, sentence="s1", analytic=False, kind="existence"):
    return Verdict(Claim(kind=kind, subject="x", analytic=analytic, text=sentence), label)


R1 = [v("supported", "s1"), v("supported", "s1"), v("hallucinated", "s2"), v("supported", "s2"),
      v("unverifiable", "s3"), v("hallucinated", "s4", analytic=True)]
R2 = [v("supported", "a")]
EMPTY = [v("unverifiable", "a"), v("supported", "b", analytic=True)]


def test_response_scores():
    # descriptive decided: 3 supported of 4; sentences s1 ok, s2 not -> 1/2
    assert response_scores(R1) == (0.75, 0.5, 4)
    # unverifiable counted as unsupported: 3/5; s3 becomes a failing sentence -> 1/3
    f, s, n = response_scores(R1, unverifiable="unsupported")
    assert (f, n) == (0.6, 5) and s == pytest.approx(1 / 3)
    assert response_scores(EMPTY) == (None, None, 0)


@pytest.mark.parametrize("empty,fs,ss,n", [
    ("zero", (0.75 + 1 + 0) / 3, (0.5 + 1 + 0) / 3, 3),
    ("skip", (0.75 + 1) / 2, (0.5 + 1) / 2, 2),
    ("original", (0.75 + 1 + 0) / 3, (0.5 + 1 + 1) / 3, 3),   # published: 0 and 1
])
def test_empty_treatments(empty, fs, ss, n):
    out = faithscore_scores([R1, R2, EMPTY], empty=empty)
    assert out["faithscore"] == pytest.approx(fs)
    assert out["faithscore_sentence"] == pytest.approx(ss)
    assert out["n"] == n and out["n_empty"] == 1


def test_a_response_with_no_decided_claim_is_left_out_by_default():
    """No decided claim is no evidence either way: 0 by default was a number from nothing (a
    response whose claims are all unverifiable pulled FaithScore down as if all were false)."""
    from halluscope.metrics.faithscore import FaithScoreMetric
    out = faithscore_scores([R1, R2, EMPTY])
    assert out["faithscore"] == pytest.approx((0.75 + 1) / 2) and out["n_empty"] == 1
    assert FaithScoreMetric.option(AuditConfig(), "faithscore_empty") == "skip"


def test_all_empty_skip_is_nan():
    assert math.isnan(faithscore_scores([EMPTY], empty="skip")["faithscore"])


def test_bad_option():
    with pytest.raises(ConfigError):
        faithscore_scores([R1], empty="one")


def test_metric_matches_function(tmp_path):
    import json

    from halluscope.config import AuditConfig
    from halluscope.metrics.faithscore import FaithScoreMetric
    from halluscope.records import record_from_dict
    ann = {"images": {"a.jpg": {"objects": [{"label": "dog", "attributes": ["brown"]},
                                             {"label": "sofa"}], "absent": ["car"]}}}
    p = tmp_path / "ann.json"
    p.write_text(json.dumps(ann))
    recs = [record_from_dict({"id": "1", "image": "a.jpg",
                              "response": "A brown dog is on a sofa. There is a car."}),
            record_from_dict({"id": "2", "image": "a.jpg", "response": "Nice weather."})]
    for empty, want in (("zero", (0.75 + 0) / 2), ("skip", 0.75)):
        m = FaithScoreMetric.from_config(AuditConfig(annotations=[p], n_boot=0,
                                                     options={"faithscore_empty": empty}))
        items = [m.update(r) for r in recs]
        # claims 1: dog (S), brown (S), sofa (S), car (H); relation on: unverifiable (no boxes)
        assert items[0].payload["faithscore"] == 0.75
        assert items[0].payload["faithscore_sentence"] == 0.5
        assert items[1].payload.get("empty") is True
        assert m.compute().results["faithscore"].value == pytest.approx(want)


def test_n_is_the_responses_averaged_so_one_response_has_no_interval(tmp_path):
    """Twelve records, one with claims: FaithScore said n=12 and an interval [x, x] drawn from
    that one response, and a lower-bound gate passed on it."""
    import json

    from halluscope.api import audit
    images = {f"i{k}.jpg": {"objects": [{"label": "dog", "box": [10, 20, 200, 220]},
                                        {"label": "sofa", "box": [0, 100, 640, 480]}],
                            "absent": ["car"]} for k in range(12)}
    (tmp_path / "ann.json").write_text(json.dumps({"images": images}))
    rows = [{"id": f"r{k}", "image": f"i{k}.jpg", "response": "A dog on a sofa. There is a car."
             if k == 0 else "Nice weather today."} for k in range(12)]
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    res = audit(tmp_path / "in.jsonl", metrics="faithscore", annotations=[tmp_path / "ann.json"],
                out=tmp_path / "o", write_report=False, cluster_by="item").metrics["faithscore"]
    fs, sent = res.results["faithscore"], res.results["faithscore_sentence"]
    assert (fs.n, sent.n) == (1, 1) and fs.ci is None and "n=1 units" in fs.ci_note
    assert res.results["n_empty"].value == 11


@pytest.mark.parametrize("empty, fs, sent", [("skip", 0.75, 0.5), ("zero", 0.375, 0.25),
                                             ("original", 0.375, 0.75)])
def test_an_empty_response_is_a_response_with_no_claim(tmp_path, empty, fs, sent):
    """An empty response was passed by under every faithscore_empty setting (n_empty 0, no
    empty-answer warning); it is a response with no claim, as 'Nice weather.' is."""
    import json

    import halluscope
    from halluscope.scoring import StreamTally, empty_answers_note
    p = tmp_path / "ann.json"
    p.write_text(json.dumps({"images": {"a.jpg": {"objects": [
        {"label": "dog", "attributes": ["brown"]}, {"label": "sofa"}], "absent": ["car"]}}}))
    rows = tmp_path / "r.jsonl"
    rows.write_text('{"id": "1", "image": "a.jpg", "response": "A brown dog is on a sofa. '
                    'There is a car."}\n{"id": "2", "image": "a.jpg", "response": ""}\n')
    res = halluscope.audit(rows, metrics="faithscore", annotations=[p], n_boot=0,
                           options={"faithscore_empty": empty}, out=tmp_path / "o")
    stats = {k: v.value for k, v in res.metrics["faithscore"].results.items()}
    assert (stats["faithscore"], stats["faithscore_sentence"], stats["n_empty"]) == \
        pytest.approx((fs, sent, 1))
    assert res.n_skipped == 0
    assert res.runsheet["counts"]["empty_answers_scored"] == {"faithscore": 1}
    tally = StreamTally()
    tally.empty["faithscore"], tally.scored["faithscore"] = 1, 2
    [note] = empty_answers_note(tally, {"faithscore": "a response with no claim"})
    assert "scored by faithscore's rule for one: a response with no claim" in note


def test_every_metric_says_how_it_reads_an_empty_answer():
    from typer.testing import CliRunner

    from halluscope.cli import app
    out = CliRunner().invoke(app, ["metrics"], env={"COLUMNS": "300"}).output
    assert "empty answer: a caption that mentions no object" in out
    assert "empty answer: read by the --pope-parser rule" in out
