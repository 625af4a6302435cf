"""Self-Consistency@N and paraphrase stability."""

from __future__ import annotations

import json

import pytest

from halluscope.metrics.consistency import (ParaphraseStabilityMetric, SelfConsistencyMetric,
                                            consistency_scores, group_agreement,
                                            normalize_answer)
from halluscope.records import read_records, record_from_dict


def recs(rows):
    return [record_from_dict(r, line=i) for i, r in enumerate(rows, 1)]


def run(metric, records):
    for r in records:
        if metric.applies_to(r):
            metric.update(r)
    metric.finish()
    return metric.compute()


def test_normalisation():
    assert normalize_answer("Yes, there is a dog.", yes_no=True) == "yes"
    assert normalize_answer("no", yes_no=True) == "no"
    assert normalize_answer("I cannot tell", yes_no=True) == "unknown"
    assert normalize_answer("A red  car, parked.") == "red car parked"
    assert normalize_answer(None) == ""


def test_group_agreement_values():
    g = group_agreement(["yes", "yes", "no", "yes"])
    assert g["majority"] == "yes" and g["majority_share"] == 0.75
    assert g["consistent"] == 0.0 and g["pairwise"] == pytest.approx(3 / 6)
    assert group_agreement(["x"]) is None
    g = group_agreement(["a", "a"], [{"dog", "sofa"}, {"dog"}])
    assert g["consistent"] == 1.0 and g["claim_jaccard"] == 0.5


def test_pure_function():
    out = consistency_scores({"q1": ["Yes.", "yes", "No"], "q2": ["No", "no."], "q3": ["Yes"]},
                             yes_no=True)
    assert out["groups"] == 2                              # q3 has a single answer
    assert out["agreement"] == pytest.approx((2 / 3 + 1) / 2)
    assert out["consistent_rate"] == 0.5 and out["flip_rate"] == 0.5
    with_claims = consistency_scores({"c": ["a dog", "a dog and a cat"]},
                                     claims_fn=lambda t: set(t.replace("and", "").split()) -
                                     {"a"})
    assert with_claims["claim_jaccard"] == 0.5


def test_self_consistency_metric_over_query_outputs():
    rows = []
    for qid, answers in {"q1": ["Yes.", "Yes", "yes"], "q2": ["Yes", "No", "No"]}.items():
        for k, a in enumerate(answers):
            rows.append({"id": f"{qid}#{k}", "prompt": "Is there a cat in the image?",
                         "response": a, "sample_of": qid, "sample_index": k})
    rows.append({"id": "failed", "prompt": "Is there a cat?", "sample_of": "q3",
                 "error": "ServerError"})
    m = SelfConsistencyMetric(n_boot=50)
    records = [record_from_dict(r, line=i, require_response=False)
               for i, r in enumerate(rows, 1)]
    summary = run(m, records)
    assert summary.n == 2
    assert summary.results["consistent_rate"].value == 0.5
    assert summary.results["agreement"].value == pytest.approx((1 + 2 / 3) / 2)
    assert summary.results["groups"].value == 2
    assert summary.results["answers_per_group"].value == 3
    assert summary.to_dict()["info"]["grouping"][0] == "sample_of"


def test_inline_samples_and_metadata_group():
    m = SelfConsistencyMetric(n_boot=0)
    summary = run(m, recs([
        {"id": "x", "prompt": "Describe.", "response": "A dog.",
         "samples": ["A dog.", "a dog", "A cat."]},
        {"id": "y1", "prompt": "Describe.", "response": "A cat.", "metadata": {"group": "y"}},
        {"id": "y2", "prompt": "Describe.", "response": "a cat", "metadata": {"group": "y"}},
    ]))
    assert summary.n == 2
    assert summary.results["consistent_rate"].value == 0.5


def test_paraphrase_stability_metric():
    rows = [
        {"id": "p1", "prompt": "Is there a dog?", "response": "Yes", "paraphrase_of": "p1"},
        {"id": "p1b", "prompt": "Can you see a dog?", "response": "Yes.", "paraphrase_of": "p1"},
        {"id": "p1c", "prompt": "Does the image show a dog?", "response": "No",
         "paraphrase_of": "p1"},
        {"id": "p2", "prompt": "Is there a cat?", "response": "No", "paraphrase_of": "p2"},
        {"id": "p2b", "prompt": "Is a cat visible?", "response": "No", "paraphrase_of": "p2"},
        {"id": "solo", "prompt": "Is there a car?", "response": "No"},
    ]
    m = ParaphraseStabilityMetric(n_boot=100, seed=1)
    m.min_units = 1                    # two groups: intervals shown anyway for this check
    records = recs(rows)
    assert not m.applies_to(records[-1])
    summary = run(m, records)
    assert summary.results["consistent_rate"].value == 0.5
    assert summary.results["flip_rate"].value == 0.5
    assert summary.results["flip_rate"].higher_is_better is False
    lo, hi = summary.results["agreement"].ci
    assert 0.0 <= lo <= hi <= 1.0


def test_merge_joins_groups_split_across_shards():
    rows = [{"id": f"q#{k}", "prompt": "Is there a dog?", "response": a, "sample_of": "q"}
            for k, a in enumerate(["Yes", "Yes", "No", "Yes"])]
    records = recs(rows)
    a, b, whole = (SelfConsistencyMetric(n_boot=0) for _ in range(3))
    for r in records[:2]:
        a.update(r)
    for r in records[2:]:
        b.update(r)
    a.merge(b)
    run(whole, records)
    assert a.compute().results["agreement"].value == whole.compute().results["agreement"].value \
        == 0.75


def test_claim_agreement_in_the_metric():
    def nouns(text):
        return {w for w in text.lower().strip(".").split() if w in ("dog", "cat", "sofa")}
    m = SelfConsistencyMetric(n_boot=0, claims_fn=nouns)
    summary = run(m, recs([
        {"id": "1", "prompt": "Describe.", "response": "A dog on a sofa.", "sample_of": "g"},
        {"id": "2", "prompt": "Describe.", "response": "A dog.", "sample_of": "g"}]))
    assert summary.results["claim_jaccard"].value == 0.5


def test_reads_query_output_files(tmp_path):
    path = tmp_path / "o.jsonl"
    path.write_text("".join(json.dumps({"id": f"a#{k}", "prompt": "Is there a dog?",
                                        "response": "Yes", "sample_of": "a",
                                        "sample_index": k}) + "\n" for k in range(3)))
    summary = run(SelfConsistencyMetric(n_boot=0), read_records(path))
    assert summary.results["consistent_rate"].value == 1.0


def test_combined_consistency_metric_for_the_entry_point():
    from halluscope.metrics.consistency import ConsistencyMetric
    rows = [{"id": f"q#{k}", "prompt": "Is there a dog?", "response": a, "sample_of": "q"}
            for k, a in enumerate(["Yes", "Yes", "No"])]
    rows += [{"id": "p", "prompt": "Is there a cat?", "response": "No", "paraphrase_of": "p"},
             {"id": "p2", "prompt": "Can you see a cat?", "response": "Yes",
              "paraphrase_of": "p"},
             {"id": "other", "prompt": "Describe.", "response": "A dog."}]
    m = ConsistencyMetric(n_boot=20)
    records = recs(rows)
    assert [m.applies_to(r) for r in records] == [True] * 5 + [False]
    summary = run(m, records)
    res = summary.results
    assert res["self_consistency"].value == pytest.approx(2 / 3)
    assert res["self_consistent_rate"].value == 0.0
    assert res["paraphrase_stability"].value == 0.0 and res["flip_rate"].value == 1.0
    assert res["sample_groups"].value == 1 and res["paraphrase_groups"].value == 1
    assert summary.n == 2 and summary.to_dict()["self_consistency"]["n"] == 1


def test_consistency_is_registered():
    from halluscope.metrics.base import metric_class
    from halluscope.metrics.consistency import ConsistencyMetric
    assert metric_class("consistency") is ConsistencyMetric


def test_a_failed_sample_makes_the_record_a_bad_record(tmp_path):
    """["Yes", null, 5, "Yes"] was scored as two answers that agree: consistent."""
    import halluscope
    path = tmp_path / "s.jsonl"
    path.write_text(json.dumps({"id": "s1", "task": "yes-no", "prompt": "Is there a dog?",
                                "response": "Yes", "samples": ["Yes", None, 5, "Yes"]}) + "\n"
                    + json.dumps({"id": "s2", "task": "yes-no", "prompt": "Is there a cat?",
                                  "response": "No", "samples": ["No", "no."]}) + "\n")
    result = halluscope.audit(path, metrics="consistency", out=tmp_path / "o", n_boot=0,
                              write_report=False)
    assert [(e["line"], e["field"]) for e in result.errors] == [(1, "samples")]
    assert "got null at index 1, int at index 2" in result.errors[0]["message"]
    values = result.metrics["consistency"].results
    assert values["sample_groups"].value == 1                     # s2 only
    assert values["self_consistent_rate"].value == 1.0


def test_a_record_with_only_samples_is_scored(tmp_path):
    """The docstring allows a record that carries its answers in 'samples' alone; the reader
    refused it as having no answer."""
    import halluscope
    path = tmp_path / "s.jsonl"
    path.write_text(json.dumps({"id": "s3", "task": "yes-no", "prompt": "Is there a dog?",
                                "samples": ["Yes", "No", "Yes, it is."]}) + "\n")
    result = halluscope.audit(path, metrics="consistency", out=tmp_path / "o", n_boot=0,
                              write_report=False)
    assert result.errors == []
    values = result.metrics["consistency"].results
    # yes, no, yes: majority 2/3, not all agree, one agreeing pair of three
    assert values["self_consistency"].value == pytest.approx(2 / 3)
    assert values["self_consistent_rate"].value == 0.0
    # a line with neither a response nor samples still has no answer
    with pytest.raises(Exception, match="expected the model's answer"):
        record_from_dict({"id": "x", "prompt": "Is there a dog?", "samples": []}, line=1)


def test_an_items_group_is_its_name_and_the_model_stands_beside_it():
    """Keeping two models' groups apart made the item payload's group the tuple (group,
    model), written as ["q1", ""] in items.jsonl where it had been "q1"."""
    m = SelfConsistencyMetric(n_boot=0)
    rows = [{"id": "a", "prompt": "Is there a cat?", "response": "Yes", "sample_of": "q1"},
            {"id": "b", "prompt": "Is there a cat?", "response": "Yes", "sample_of": "q1",
             "model": "m-b"}]
    items = [m.update(r) for r in recs(rows)]
    assert items[0].payload == {"group": "q1", "answer": "yes"}
    assert items[1].payload == {"group": "q1", "model": "m-b", "answer": "yes"}


def test_combined_consistency_shares_its_settings_with_its_parts_when_set():
    """``by``, ``cluster_by`` and ``min_units`` reach both parts the moment the pipeline sets
    them, not once per record."""
    from halluscope.metrics.consistency import ConsistencyMetric
    m = ConsistencyMetric(n_boot=0)
    assert m.by == m.samples.by == m.paraphrases.by == ("model",)
    m.by, m.cluster_by, m.min_units = ("split",), "item", 3
    for part in (m.samples, m.paraphrases):
        assert (part.by, part.cluster_by, part.min_units) == (("split",), "item", 3)
    assert (m.by, m.cluster_by, m.min_units) == (("split",), "item", 3)
