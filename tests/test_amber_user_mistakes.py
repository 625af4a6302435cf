"""AMBER files as users get them wrong: yes/no answers numbered as description ids, descriptions
under question ids, ``"Yes."`` where the original reads only ``"Yes"``, a one-line JSON array of
bad ids, and a run without ``en_core_web_lg``: each is said, counted and named, never silent."""

from __future__ import annotations

import json
import logging

import pytest
from typer.testing import CliRunner

from halluscope.cli import app
from halluscope.metrics import amber as amber_mod
from halluscope.metrics.amber_records import answer_tallies

ITEMS = [{"id": 1, "type": "generative", "truth": ["dog", "sofa"], "hallu": ["cat"]},
         {"id": 2, "type": "generative", "truth": ["bear"], "hallu": ["dog"]},
         {"id": 1005, "type": "discriminative-attribute-state", "truth": "yes"},
         {"id": 1006, "type": "discriminative-hallucination", "truth": "no"},
         {"id": 1007, "type": "discriminative-hallucination", "truth": "yes"}]


def _audit(tmp_path, rows, *extra, one_line_array=False):
    ann = tmp_path / "annotations.json"
    ann.write_text(json.dumps(ITEMS))
    (tmp_path / "relation.json").write_text(json.dumps({"dog": [], "sofa": [], "cat": [],
                                                        "bear": []}))
    if one_line_array:
        src = tmp_path / "answers.json"
        src.write_text(json.dumps(rows))
    else:
        src = tmp_path / "answers.jsonl"
        src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "out"
    res = _audit_amber(src, ann, out, "--bootstrap", "0", *extra)
    results = json.loads((out / "results.json").read_text()) if \
        (out / "results.json").is_file() else None
    return res, results, out


def _audit_amber(src, ann, out, *extra):
    return CliRunner().invoke(app, ["audit", str(src), "--metric", "amber", "--annotations",
                                    str(ann), "--out", str(out), "--no-report", *extra])


def test_answer_tallies():
    assert answer_tallies("generative", " No. ", None, "original") == \
        {"answers": {"yes_no_on_description": 1}}
    assert answer_tallies("generative", "No dog is on the sofa.", None, "original") == {}
    assert answer_tallies("discriminative-hallucination", "Yes.", None, "original") == \
        {"answers": {"neither_yes_nor_no": 1, "refined_reads": 1}}
    assert answer_tallies("discriminative-hallucination", "A dog.", None, "refined") == \
        {"answers": {"neither_yes_nor_no": 1}}
    assert answer_tallies("discriminative-hallucination", "", None, "original") == {}  # empty:
    assert answer_tallies("discriminative-hallucination", "Yes", "yes", "original") == {}


def test_yes_no_answers_under_description_ids_are_said(tmp_path, caplog):
    """The yes/no answers numbered from 1: scored as descriptions naming nothing (CHAIR over no
    noun), as the original would, but said and counted, and CHAIR's value from the starting
    counters is said too (it was not: the metric's rows were not folded in yet)."""
    caplog.set_level(logging.WARNING)
    res, results, _ = _audit(tmp_path, [{"id": 1, "response": "Yes"},
                                        {"id": 2, "response": "No."}])
    assert res.exit_code == 0, res.output
    amber = results["metrics"]["amber"]
    assert amber["tallies"]["answers"] == {"yes_no_on_description": 2}
    said = " ".join(caplog.text.split())
    assert "2 answer(s) to AMBER description items" in said and "are the ids off?" in said
    assert "chair computed over no unit of their own" in said
    assert "chair" in amber["info"]["values_from_starting_counters"]


def test_answers_the_original_cannot_read_are_counted_and_said(tmp_path, caplog):
    caplog.set_level(logging.WARNING)
    rows = [{"id": 1005, "response": "Yes."}, {"id": 1006, "response": "No, there is none."},
            {"id": 1007, "response": "The image shows a dog on a sofa."}]
    res, results, _ = _audit(tmp_path, rows)
    assert res.exit_code == 0, res.output
    amber = results["metrics"]["amber"]
    assert amber["accuracy"]["value"] == 0.0          # the original's rule: exactly Yes / No
    assert amber["tallies"]["answers"] == {"neither_yes_nor_no": 3, "refined_reads": 2}
    said = " ".join(caplog.text.split())
    assert "3 answer(s) to yes/no questions are not exactly 'Yes' or 'No'" in said
    assert "2 of them start with yes or no" in said and "amber_variant=refined" in said
    # the precision over no answer read No is the starting counters' and is said as such
    assert "precision" in amber["info"]["values_from_starting_counters"]
    assert "computed over no unit of their own" in said


def test_bad_ids_in_a_one_line_array_are_each_a_bad_record(tmp_path):
    """``json.dump`` writes an AMBER response file on one line: five bad ids there were
    "1 bad record" on the console (counted by file line) beside five rows of problems."""
    rows = [{"id": 1, "response": "A dog on a sofa."}, {"id": 0, "response": "Yes"},
            {"id": 20000, "response": "No"}, {"id": "abc", "response": "No"},
            {"id": 2.5, "response": "No"}]
    res, results, _ = _audit(tmp_path, rows, one_line_array=True)
    said = " ".join(res.output.split())
    assert "1 item audited · 4 bad records" in said, said
    assert results["n_errors"] == 4 and "Problems (4 bad records" in said
    assert all((e["line"], e["field"]) == (1, "id") for e in results["errors"])


def test_bad_record_count_tells_records_on_one_line_apart_by_metric():
    from halluscope.report.console import bad_record_count
    one = {"file": "a.json", "line": 1}
    # one record two metrics could not score: one bad record
    assert bad_record_count([{**one, "metric": "amber"}, {**one, "metric": "chair"}]) == 1
    # three records of one line one metric could not score: three
    assert bad_record_count([{**one, "metric": "amber"}] * 3) == 3
    assert bad_record_count([{**one, "id": "7", "metric": "amber"},
                             {**one, "id": "8", "metric": "amber"}, {"file": "a.json"}]) == 3


def test_without_en_core_web_lg_the_variant_is_named_with_what_it_lacks(tmp_path, monkeypatch,
                                                                         caplog):
    monkeypatch.setattr(amber_mod, "vector_similarity", lambda: None)
    res, results, out = _audit(tmp_path, [{"id": 1, "response": "A dog on a sofa."}])
    assert res.exit_code == 0, res.output
    info = json.loads((out / "runsheet.json").read_text())["metrics"]["amber"]
    assert info["similarity"] == "skipped (en_core_web_lg not installed)"
    assert "no en_core_web_lg similarity step" in info["departs_from_variant"]
    said = " ".join(res.output.split())
    assert "amber variant original (no en_core_web_lg similarity step" in said
    # refined uses no similarity step: nothing departs from it
    res, results, out = _audit(tmp_path, [{"id": 1, "response": "A dog on a sofa."}],
                               "--option", "amber_variant=refined")
    info = json.loads((out / "runsheet.json").read_text())["metrics"]["amber"]
    assert "departs_from_variant" not in info
    assert "amber variant refined" in " ".join(res.output.split())


def test_the_missing_model_warning_says_what_it_changes_and_how_to_get_it(caplog):
    amber_mod.vector_similarity.cache_clear()
    try:
        caplog.set_level(logging.WARNING)
        if amber_mod.vector_similarity() is not None:
            pytest.skip("en_core_web_lg is installed here")
        said = " ".join(caplog.text.split())
        assert "en_core_web_lg is not installed" in said
        assert "CHAIR, Hal, Cover and Cog can differ" in said
        assert "python -m spacy download en_core_web_lg" in said
    finally:
        amber_mod.vector_similarity.cache_clear()


def test_descriptions_without_relation_json_are_refused(tmp_path):
    """Without relation.json AMBER knows no object word: every description named no object
    (Cover 0 over every truth object, CHAIR from the starting counters), scored and exit 0."""
    ann = tmp_path / "annotations.json"
    ann.write_text(json.dumps(ITEMS))
    src = tmp_path / "answers.jsonl"
    src.write_text(json.dumps({"id": 1, "response": "A dog on a sofa."}) + "\n")
    res = _audit_amber(src, ann, tmp_path / "out")
    assert res.exit_code == 2, res.output
    said = " ".join(res.output.split())
    assert "need relation.json" in said and "annotations.json" in said
    # yes/no answers alone need no object words
    src.write_text(json.dumps({"id": 1005, "response": "Yes"}) + "\n")
    res = _audit_amber(src, ann, tmp_path / "out2")
    assert res.exit_code == 0, res.output


@pytest.mark.parametrize(("change", "words"), [
    (lambda a: a[0].update(truth="dog"), "item 1 (0-based 0), id 1: field 'truth': expected a "
                                         "list of object words, got 'dog'"),
    (lambda a: a[2].pop("type"), "item 3 (0-based 2), id 1005: field 'type'"),
    (lambda a: a[3].update(truth="maybe"), "id 1006: field 'truth': expected 'yes' or 'no'"),
    (lambda a: a[3].update(id=1005), "item 4 (0-based 3): field 'id': id 1005 is given twice"),
    (lambda a: a[3].update(id="x"), "field 'id': expected a whole number >= 1, got 'x'"),
])
def test_a_malformed_annotations_file_is_a_usage_error_naming_item_and_field(tmp_path, change,
                                                                             words):
    """A malformed item was an internal error (exit 3, KeyError: 'type') once an answer
    reached it, or a description's truth string read letter by letter."""
    items = json.loads(json.dumps(ITEMS))
    change(items)
    ann = tmp_path / "annotations.json"
    ann.write_text(json.dumps(items))
    src = tmp_path / "answers.jsonl"
    src.write_text(json.dumps({"id": 1005, "response": "Yes"}) + "\n")
    res = _audit_amber(src, ann, tmp_path / "out")
    assert res.exit_code == 2, res.output
    assert words in " ".join(res.output.split())
