"""Unit tests of POPE: answer parsers, metric arithmetic, alignment, grouping, question building.

Every expected value here is worked out by hand from the rule it tests.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import pytest

from halluscope.config import AuditConfig
from halluscope.errors import AlignmentError, ConfigError, InputError, RecordError
from halluscope.metrics.pope import (PARSERS, PopeMetric, load_questions, object_of,
                                     pope_scores, score_answers)
from halluscope.metrics.pope_build import (build_command, build_questions, question_text,
                                           questions_from_objects, write_questions)
from halluscope.metrics.pope_parsers import UNKNOWN_TREATMENTS, get_parser
from halluscope.metrics.pope_questions import UNKNOWN_VERSION
from halluscope.records import Record, Source, iter_records

# -- parsers ----------------------------------------------------------------------------------
# phrasing -> expected answer under original, opera, vlmevalkit, lmms-eval, strict
PHRASINGS = [
    ("Yes.", "yes", "yes", "yes", "unknown", "yes"),
    ("No, there is not.", "no", "no", "no", "unknown", "no"),
    ("NO", "yes", "no", "no", "no", "no"),
    ("Not sure.", "yes", "yes", "unknown", "unknown", "unknown"),
    ("Yes, but it is not clearly visible.", "no", "no", "yes", "unknown", "yes"),
    ("There is no dog.", "no", "no", "no", "unknown", "unknown"),
    ("I cannot tell", "yes", "yes", "unknown", "unknown", "unknown"),
    ("", "yes", "yes", "unknown", "unknown", "unknown"),
    ("yes", "yes", "yes", "yes", "yes", "yes"),
    ("No", "no", "no", "no", "no", "no"),
    ("I don't see a dog.", "yes", "no", "unknown", "unknown", "unknown"),
    ("Yes. There is no other dog though.", "yes", "no", "unknown", "unknown", "yes"),
    ("Yes and no.", "no", "no", "unknown", "unknown", "unknown"),
    ("no idea", "no", "no", "no", "unknown", "unknown"),
    ("No\nthere is not.", "no", "no", "no", "unknown", "no"),
    ("  Yes  ", "yes", "yes", "yes", "yes", "yes"),
    ("Nope.", "yes", "yes", "unknown", "unknown", "unknown"),
    ("**Yes**, there is a dog.", "yes", "yes", "unknown", "unknown", "yes"),
    ("yes/no", "yes", "yes", "unknown", "unknown", "unknown"),
    ("No!", "yes", "yes", "no", "unknown", "no"),
    ("Yes there is a dog in the image", "yes", "yes", "yes", "unknown", "yes"),
    ("Not really, no.", "no", "no", "no", "unknown", "unknown"),
]
PARSER_COLUMNS = ("original", "opera", "vlmevalkit", "lmms-eval", "strict")


@pytest.mark.parametrize("parser", PARSER_COLUMNS)
def test_parser_on_hand_worked_phrasings(parser):
    col = PARSER_COLUMNS.index(parser) + 1
    got = {row[0]: PARSERS[parser](row[0]) for row in PHRASINGS}
    want = {row[0]: row[col] for row in PHRASINGS}
    assert got == want


def test_llava_is_an_alias_of_original():
    llava = PARSERS["llava"]
    assert llava.alias_of == "original" and "alias" in llava.description
    for row in PHRASINGS:
        assert llava(row[0]) == PARSERS["original"](row[0])


def test_parsers_that_never_say_unknown_are_marked():
    for name in ("original", "llava", "opera"):
        assert not PARSERS[name].returns_unknown
        assert "never unknown" in PARSERS[name].description
    for name in ("vlmevalkit", "lmms-eval", "strict"):
        assert PARSERS[name].returns_unknown


def test_original_reads_only_the_first_sentence_and_splits_on_spaces_only():
    original = PARSERS["original"]
    assert original("Yes. No.") == "yes"
    assert original("There is a dog. It is not a cat.") == "yes"
    assert original("No\tdog") == "yes"          # a tab does not separate words
    assert original("Yes,no") == "yes"           # commas are deleted: "Yesno" is one word
    assert original("Yes, no") == "no"


def test_vlmevalkit_punctuation_rules():
    vlm = PARSERS["vlmevalkit"]
    assert vlm("Yes,no") == "unknown"            # ',' next to no space becomes a space
    assert vlm("Yes, 1,000 dogs") == "yes"       # a digit-comma-digit group: marks deleted
    assert vlm("(yes)") == "yes"
    # only 32 full stops are deleted (re.UNICODE passed as re.sub's count in VLMEvalKit)
    assert vlm("." * 31 + " no.") == "no"       # 32 full stops: all deleted
    assert vlm("." * 32 + " no.") == "unknown"  # 33: the one after "no" stays


def test_vlmevalkit_strips_at_most_32_full_stops_of_a_long_numbered_list():
    # VLMEvalKit (process_punctuation since 2025-05, pinned @e8e78f0): a full stop neither
    # preceded nor followed by a digit is deleted, at most 32 of them. 40 such stops: "x." 39
    # times, then "no.": the first 32 go, "no." keeps its stop, so there is no word "no".
    forty = " ".join(["x."] * 39) + " no."
    assert forty.count(".") == 40
    assert PARSERS["vlmevalkit"](forty) == "unknown"
    assert PARSERS["vlmevalkit"](" ".join(["x."] * 29) + " no.") == "no"    # 30 stops: all go
    # stops after a digit are never deleted and do not use up the 32: a list numbered "1." to
    # "40." ending in "no." reads no (a rule without the look-behind would read unknown)
    numbered = " ".join(f"{i}." for i in range(1, 41)) + " no."
    assert PARSERS["vlmevalkit"](numbered) == "no"
    assert PARSERS["vlmevalkit"]("yes. 3.5 dogs.") == "yes"    # "3.5" stays one word


# VLMEvalKit's POPE table: a question in several splits is one row whose category joins them
VLMEVALKIT_ROWS = [  # category, truth, prediction -> YOrN_Extraction
    ("adversarial,popular,random", "Yes", "Yes"),        # yes/yes: tp in 3 splits
    ("random", "No", "Yes, there is."),                   # fp
    ("popular", "No", "No"),                              # tn
    ("adversarial", "Yes", "I do not know"),              # unknown, truth yes
    ("popular,random", "No", "no"),                       # tn in 2 splits
    ("adversarial,random", "Yes", "No"),                  # fn in 2 splits
]


def _vlmevalkit_table(tmp_path: Path, rows=VLMEVALKIT_ROWS) -> Path:
    objects = ["dog", "cat", "car", "bus", "cup", "tie"]
    tsv = tmp_path / "POPE_pred.tsv"
    tsv.write_text("index\tquestion\tanswer\tcategory\timage_path\tprediction\n" + "".join(
        f"{i}\tIs there a {objects[i - 1]} in the image?\t{truth}\t{cat}\t"
        f"COCO_val2014_{(i + 1) // 2:012d}.jpg\t{pred}\n"
        for i, (cat, truth, pred) in enumerate(rows, 1)))
    return tsv


def test_vlmevalkit_counts_a_row_once_in_each_split_it_lists_overall_too(tmp_path):
    """VLMEvalKit's POPE_rating splits 'category' on commas and repeats the row per name
    before scoring: 10 rows here (tp 3, fp 1, tn 3, fn 2, unknown 1). Overall: accuracy 6/10,
    precision 3/4, recall 3/6 (the unknown is a miss), F1 0.6; adversarial (rows 1 4 6):
    accuracy 1/3, precision 1, recall 1/3, F1 0.5; popular (1 3 5): all 1; random (1 2 5 6):
    accuracy, precision, recall and F1 1/2. (The row as one answer gave F1 0.4 overall and a
    group 'split:adversarial,popular,random'.)"""
    import halluscope
    tsv = _vlmevalkit_table(tmp_path)
    run = halluscope.audit(tsv, metrics="pope", pope_parser="vlmevalkit", n_boot=0,
                           out=tmp_path / "out", write_report=False)
    pope = run.metrics["pope"]
    values = {k: r.value for k, r in pope.results.items()}
    assert [values[k] for k in ("tp", "fp", "tn", "fn")] == [3, 1, 3, 2]
    assert values["accuracy"] == pytest.approx(0.6) and values["precision"] == 0.75
    assert values["recall"] == 0.5 and values["f1"] == pytest.approx(0.6)
    # every row counts once per split it lists: 10 answers, 7 of them in F1 (tp+fp+fn+unknown yes)
    assert pope.results["accuracy"].n == 10 and pope.results["f1"].n == 7
    expected = {"adversarial": (1 / 3, 1.0, 1 / 3, 0.5, 3), "popular": (1.0, 1.0, 1.0, 1.0, 3),
                "random": (0.5, 0.5, 0.5, 0.5, 4)}
    splits = {g.split(":", 1)[1]: r for g, r in pope.groups.items() if g.startswith("split:")}
    assert sorted(splits) == sorted(expected)
    for name, (acc, p, r, f1, n) in expected.items():
        got = splits[name]
        assert (got["accuracy"].value, got["precision"].value, got["recall"].value,
                got["f1"].value) == pytest.approx((acc, p, r, f1)), name
        assert got["accuracy"].n == n
    assert pope.groups["object:dog"]["tp"].value == 3
    assert pope.info["rows_added_for_several_splits"] == 4
    items = [json.loads(line) for line in (tmp_path / "out" / "items.jsonl").open()]
    assert items[0]["scores"]["pope"]["row"] == [3.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    assert items[0]["scores"]["pope"]["groups"] == ["split:adversarial", "split:popular",
                                                   "split:random", "object:dog"]


def test_score_answers_counts_vlmevalkit_rows_once_per_split_too(tmp_path):
    """score_answers' 'metrics' (pope_scores over the answers) agree with its 'results' (the
    metric's): the same 10 rows as the table above."""
    path = tmp_path / "preds.jsonl"
    path.write_text("".join(json.dumps({"index": i, "question": "Is there a dog in the image?",
                                        "answer": truth, "category": cat, "prediction": pred})
                            + "\n" for i, (cat, truth, pred) in enumerate(VLMEVALKIT_ROWS, 1)))
    out = score_answers(path, None, parser="vlmevalkit")
    assert [out["metrics"][k] for k in ("tp", "fp", "tn", "fn", "n")] == [3, 1, 3, 2, 10]
    assert out["metrics"]["f1"] == pytest.approx(0.6) == out["results"]["f1"]["value"]
    assert len(out["predictions"]) == 6 and out["groups"]["split:random"]["f1"] == 0.5


def test_vlmevalkit_gives_0_for_a_ratio_whose_denominator_is_0(tmp_path):
    """POPE_rating's cal_f1_score: 'a / b if b != 0 else 0'. Split 'random' (rows 1, 2: no,
    no; unknown, yes): no yes prediction, so precision 0/0 -> 0; recall 0/1 = 0; F1 0 (P + R is
    0). Split 'popular' (row 3: no, no): recall 0/0 -> 0 too. halluscope's treatment leaves
    them undefined."""
    import halluscope
    rows = [("random", "No", "No"), ("random", "Yes", "Not sure"), ("popular", "No", "No")]
    run = halluscope.audit(_vlmevalkit_table(tmp_path, rows), metrics="pope",
                           pope_parser="vlmevalkit", n_boot=0, out=tmp_path / "out",
                           write_report=False)
    pope = run.metrics["pope"]
    assert pope.info["unknowns"] == "vlmevalkit"
    for group, accuracy in (("split:random", 0.5), ("split:popular", 1.0)):
        got = pope.groups[group]
        assert [got[k].value for k in ("accuracy", "precision", "recall", "f1")] == \
            [accuracy, 0.0, 0.0, 0.0]
    assert pope.results["precision"].value == 0.0 and pope.results["accuracy"].value == 2 / 3
    assert pope_scores(["no", "unknown", "no"], ["no", "yes", "no"], unknowns="vlmevalkit")[
        "f1"] == 0.0
    assert math.isnan(pope_scores(["no"], ["no"])["precision"])       # halluscope's own


def test_other_parsers_keep_a_comma_joined_category_as_one_group(tmp_path):
    """Only the parser named after VLMEvalKit counts rows as its POPE_rating does."""
    import halluscope
    run = halluscope.audit(_vlmevalkit_table(tmp_path), metrics="pope", pope_parser="strict",
                           n_boot=0, out=tmp_path / "out", write_report=False)
    pope = run.metrics["pope"]
    assert pope.n == 6 and "split:adversarial,popular,random" in pope.groups
    assert "rows_added_for_several_splits" not in pope.info


def test_parsers_reject_non_strings_and_unknown_names():
    with pytest.raises(TypeError):
        PARSERS["strict"](3)
    with pytest.raises(ConfigError, match="expected one of"):
        get_parser("gpt")
    assert get_parser(PARSERS["opera"]) is PARSERS["opera"]


# -- metric arithmetic ------------------------------------------------------------------------
def test_pope_scores_with_unknown_answers_by_hand():
    preds = ["yes", "yes", "no", "no", "unknown", "unknown", "yes", "no"]
    labels = ["yes", "no", "no", "yes", "yes", "no", "yes", "no"]
    m = pope_scores(preds, labels)
    assert (m["tp"], m["fp"], m["tn"], m["fn"], m["n"]) == (2, 1, 2, 1, 8)
    assert m["accuracy"] == 4 / 8                       # unknowns are wrong
    assert m["precision"] == pytest.approx(2 / 3)       # unknowns not predicted positive
    assert m["recall"] == 2 / 4                         # unknown on a yes label is a miss
    assert m["f1"] == pytest.approx(4 / 7)
    assert m["yes_ratio"] == 3 / 8
    assert m["unknown_rate"] == 2 / 8


def test_pope_scores_without_unknowns_by_hand():
    m = pope_scores(["yes", "no", "yes", "yes"], ["yes", "no", "no", "yes"])
    assert (m["tp"], m["fp"], m["tn"], m["fn"]) == (2, 1, 1, 0)
    assert m["accuracy"] == 0.75 and m["recall"] == 1.0 and m["yes_ratio"] == 0.75
    assert m["precision"] == pytest.approx(2 / 3) and m["f1"] == pytest.approx(0.8)
    assert m["unknown_rate"] == 0.0


def test_pope_scores_undefined_ratios_are_nan_and_bad_input_refused():
    m = pope_scores(["no", "no"], ["no", "no"])
    assert math.isnan(m["precision"]) and math.isnan(m["recall"]) and math.isnan(m["f1"])
    assert m["accuracy"] == 1.0
    with pytest.raises(AlignmentError):
        pope_scores(["yes"], ["yes", "no"])
    with pytest.raises(ValueError, match="expected prediction"):
        pope_scores(["maybe"], ["yes"])


# lmms-eval's definitions, worked by hand. Answers (parsed by the exact-match rule) and labels:
#   "yes"/yes TP, "yes"/yes TP, "no"/yes FN, "Yes."/yes unknown, "yes"/no FP, "no"/no TN,
#   "No, not."/no unknown, "NO"/no TN   -> tp 2, fp 1, tn 2, fn 1, unknown 1 yes + 1 no
LMMS_ANSWERS = ["yes", "yes", "no", "Yes.", "yes", "no", "No, not.", "NO"]
LMMS_LABELS = ["yes", "yes", "yes", "yes", "no", "no", "no", "no"]


def test_lmms_eval_parser_uses_lmms_evals_metric_definitions():
    preds = [PARSERS["lmms-eval"](a) for a in LMMS_ANSWERS]
    got = pope_scores(preds, LMMS_LABELS, unknowns="lmms-eval")
    assert (got["tp"], got["fp"], got["tn"], got["fn"]) == (2, 1, 2, 1)
    assert got["accuracy"] == 4 / 8
    assert got["precision"] == 2 / 3                    # tp / (tp + fp)
    assert got["recall"] == 2 / 3                       # tp / (tp + fn): the unknown is left out
    assert got["f1"] == pytest.approx(2 / 3)
    assert got["yes_ratio"] == 4 / 8                    # share of yes LABELS
    # halluscope's treatment of the same predictions ("exact" parser): the unknown is a miss
    mine = pope_scores([PARSERS["exact"](a) for a in LMMS_ANSWERS], LMMS_LABELS)
    assert mine["recall"] == 2 / 4 and mine["yes_ratio"] == 3 / 8
    assert mine["f1"] == pytest.approx(2 * (2 / 3) * 0.5 / (2 / 3 + 0.5))
    # the streaming metric gives the same numbers per parser
    for name, want in (("lmms-eval", got), ("exact", mine)):
        metric = PopeMetric(parser=name, n_boot=0)
        for i, (a, y) in enumerate(zip(LMMS_ANSWERS, LMMS_LABELS), 1):
            metric.update(_labelled(a, y, i))
        summary = metric.compute()
        for key in ("accuracy", "precision", "recall", "f1", "yes_ratio", "unknown_rate"):
            assert summary.results[key].value == pytest.approx(want[key]), (name, key)
        assert summary.info["unknowns"] == ("lmms-eval" if name == "lmms-eval" else "halluscope")


def test_lmms_eval_undefined_ratios_are_zero_not_nan():
    # every answer unknown: lmms-eval's "x / y if y > 0 else 0" gives 0 where halluscope gives NaN
    got = pope_scores(["unknown", "unknown"], ["yes", "no"], unknowns="lmms-eval")
    assert got["precision"] == got["recall"] == got["f1"] == 0
    assert got["yes_ratio"] == 0.5 and got["accuracy"] == 0
    mine = pope_scores(["unknown", "unknown"], ["yes", "no"])
    assert math.isnan(mine["precision"]) and mine["recall"] == 0
    metric = PopeMetric(parser="lmms-eval", n_boot=0)
    metric.update(_labelled("maybe", "yes", 1))
    assert metric.compute().results["precision"].value == 0
    with pytest.raises(ConfigError, match="expected unknowns"):
        pope_scores(["yes"], ["yes"], unknowns="vlm")


def test_every_parser_names_its_unknown_treatment():
    for parser in PARSERS.values():
        assert parser.unknowns in UNKNOWN_TREATMENTS
    assert PARSERS["lmms-eval"].unknowns == "lmms-eval"
    assert {p.name for p in PARSERS.values() if p.unknowns == "halluscope"} >= {"exact", "strict"}


def _labelled(answer: str, label: str, i: int, question: str | None = None, **meta) -> Record:
    return Record(id=str(i), task="yes-no", prompt=question, response=answer, label=label,
                  metadata=meta, source=Source("mem.jsonl", i))


def test_metric_matches_pure_function_and_reports_all_names():
    preds = ["Yes", "Yes", "No", "No", "Not sure", "maybe", "yes", "no"]
    labels = ["yes", "no", "no", "yes", "yes", "no", "yes", "no"]
    metric = PopeMetric(parser="strict", n_boot=50)
    for i, (a, y) in enumerate(zip(preds, labels), 1):
        payload = metric.update(_labelled(a, y, i)).payload
        assert payload["parser"] == "strict" and payload["label"] == y
    summary = metric.compute()
    assert list(summary.results) == ["tp", "fp", "tn", "fn", "accuracy", "precision", "recall",
                                     "f1", "yes_ratio", "unknown_rate"]
    want = pope_scores([PARSERS["strict"](a) for a in preds], labels)
    for name, res in summary.results.items():
        assert res.value == pytest.approx(want[name])
    assert summary.results["tp"].ci is None                  # counts carry no interval
    # eight questions are too few units for an interval: flagged, not printed as [x, x]
    assert summary.results["accuracy"].ci is None
    assert "fewer than 10" in summary.results["accuracy"].ci_note
    assert summary.n == 8


def test_metric_merge_of_shards_equals_one_pass():
    answers = [("Yes", "yes"), ("No", "yes"), ("Yes", "no"), ("No", "no"), ("Eh", "yes")]
    whole = PopeMetric(parser="vlmevalkit", n_boot=0)
    a, b = PopeMetric(parser="vlmevalkit", n_boot=0), PopeMetric(parser="vlmevalkit", n_boot=0)
    for i, (ans, y) in enumerate(answers, 1):
        rec = _labelled(ans, y, i)
        whole.update(rec)
        (a if i % 2 else b).update(rec)
    a.merge(b)
    assert {k: v.value for k, v in a.compute().results.items()} == \
        pytest.approx({k: v.value for k, v in whole.compute().results.items()}, nan_ok=True)


def test_groups_by_split_and_object():
    metric = PopeMetric(n_boot=0)
    rows = [("Yes", "yes", "Is there a dog in the image?", "random"),
            ("No", "no", "Is there a cat in the image?", "random"),
            ("Yes", "no", "Is there an apple in the image?", "adversarial"),
            ("No", "yes", "Is there a dog in the image?", "adversarial")]
    for i, (a, y, q, split) in enumerate(rows, 1):
        item = metric.score(_labelled(a, y, i, q, category=split))
        metric.add(item)
    groups = metric.compute().groups
    assert set(groups) == {"split:random", "split:adversarial", "object:dog", "object:cat",
                           "object:apple"}
    assert groups["object:dog"]["tp"].value == 1 and groups["object:dog"]["fn"].value == 1
    assert groups["split:random"]["accuracy"].value == 1.0
    assert groups["split:adversarial"]["accuracy"].value == 0.0
    assert groups["object:apple"]["fp"].value == 1


def test_object_of_reads_published_phrasings():
    assert object_of("Is there a dog in the image?") == "dog"
    assert object_of("Is there an airplane in the imange?") == "airplane"       # v1 typo
    assert object_of("Is there a dining table in the image?\nAnswer the question using a "
                     "single word or phrase.") == "dining table"
    assert object_of("What colour is the car?") is None


# -- alignment --------------------------------------------------------------------------------
def _write_jsonl(path: Path, rows) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def questions(tmp_path) -> Path:
    rows = [{"question_id": i, "image": f"img{(i - 1) // 2}.jpg",
             "text": f"Is there a {obj} in the image?", "label": label}
            for i, (obj, label) in enumerate([("dog", "yes"), ("cat", "no"), ("car", "yes"),
                                              ("bus", "no")], 1)]
    return _write_jsonl(tmp_path / "coco_pope_popular.json", rows)


def _answers(tmp_path, answers, ids=True, name="answers.jsonl", questions=True):
    texts = ["dog", "cat", "car", "bus"]
    rows = []
    for i, a in answers:
        row = {"answer": a}
        if ids:
            row["question_id"] = i
        row["question"] = f"Is there a {texts[i - 1]} in the image?" if questions else None
        if row["question"] is None:
            del row["question"]
        rows.append(row)
    return _write_jsonl(tmp_path / name, rows)


def _run(metric: PopeMetric, path: Path):
    metric.begin([path])
    errors = []
    for rec in iter_records(path):
        try:
            metric.update(rec)
        except RecordError as exc:
            errors.append(exc)
    metric.finish()
    return metric.compute(), errors


def test_auto_aligns_by_id_in_any_order(tmp_path, questions):
    path = _answers(tmp_path, [(4, "No"), (3, "Yes"), (2, "Yes"), (1, "Yes")])
    summary, errors = _run(PopeMetric(questions, n_boot=0), path)
    assert not errors
    r = summary.results
    assert (r["tp"].value, r["fp"].value, r["tn"].value, r["fn"].value) == (2, 1, 1, 0)
    assert summary.info["aligned_by"] == {"id": 4}
    assert set(summary.groups) >= {"split:popular", "object:dog", "object:bus"}


def test_order_alignment_refuses_a_count_mismatch_before_scoring(tmp_path, questions):
    path = _answers(tmp_path, [(1, "Yes"), (2, "No"), (3, "Yes")], ids=False)
    metric = PopeMetric(questions, n_boot=0)
    with pytest.raises(AlignmentError) as err:
        metric.begin([path])
    msg = str(err.value)
    assert "has 3 answers (non-blank lines)" in msg and "has 4" in msg and "mis-score" in msg
    assert "not a published POPE file, 4 questions" in msg
    # forcing order alignment refuses even answers that carry ids
    path2 = _answers(tmp_path, [(1, "Yes"), (2, "No"), (3, "Yes")], name="b.jsonl")
    with pytest.raises(AlignmentError):
        PopeMetric(questions, align="order", n_boot=0).begin([path2])


def test_order_alignment_checks_at_finish_and_on_overrun_without_begin(tmp_path, questions):
    short = _answers(tmp_path, [(1, "Yes"), (2, "No")], ids=False)
    metric = PopeMetric(questions, n_boot=0)
    for rec in iter_records(short):
        metric.update(rec)
    with pytest.raises(AlignmentError, match="has 2 answers"):
        metric.finish()
    rows = [{"answer": "Yes"}] * 5      # answers alone align by order only when asked
    long = _write_jsonl(tmp_path / "long.jsonl", rows)
    metric = PopeMetric(questions, n_boot=0, check_questions=False, align="order")
    recs = list(iter_records(long, require_response=True))
    for rec in recs[:4]:
        metric.update(rec)
    with pytest.raises(AlignmentError, match="answer number 5"):
        metric.update(recs[4])


def test_order_alignment_skips_blank_lines_and_ignores_other_files(tmp_path, questions):
    path = tmp_path / "answers.jsonl"
    rows = [{"answer": a, "question": f"Is there a {o} in the image?"}
            for a, o in [("Yes", "dog"), ("No", "cat"), ("Yes", "car"), ("Yes", "bus")]]
    lines = [json.dumps(r) for r in rows]
    path.write_text(lines[0] + "\n\n" + "\n".join(lines[1:]) + "\n", encoding="utf-8")
    captions = _write_jsonl(tmp_path / "captions.jsonl", [{"image_id": 1, "caption": "A dog."}])
    metric = PopeMetric(questions, n_boot=0)
    metric.begin([captions, path])            # the caption file is not counted
    for rec in iter_records(path):
        metric.update(rec)
    metric.finish()
    r = metric.compute().results
    assert (r["tp"].value, r["fp"].value, r["tn"].value) == (2, 1, 1)


def test_begin_counts_only_files_that_align_by_order(tmp_path, questions, monkeypatch):
    """A file whose first answer carries a question_id aligns by id: begin makes no pass over
    it, and its line without an id is one bad record (aligned by its position, as before, it
    was a guess: labels q1 yes, q2 no, q4 no give tp 1 (q1), tn 1 (q2), fp 1 (q4))."""
    import halluscope.metrics.pope_answers as pope_answers
    rows = [{"question_id": 1, "question": "Is there a dog in the image?", "answer": "Yes"},
            {"question_id": 2, "question": "Is there a cat in the image?", "answer": "No"},
            {"question": "Is there a car in the image?", "answer": "Yes"},
            {"question_id": 4, "question": "Is there a bus in the image?", "answer": "Yes"}]
    path = tmp_path / "answers.jsonl"
    lines = [json.dumps(r) for r in rows]
    path.write_text("\n".join(lines[:2]) + "\n\n" + "\n".join(lines[2:]) + "\n")
    counted = []
    scan = pope_answers.scan_answers
    monkeypatch.setattr(pope_answers, "scan_answers", lambda p: counted.append(p) or scan(p))
    metric = PopeMetric(questions, n_boot=0)
    metric.begin([path])
    assert counted == []                    # by id: no pass over the whole file
    errors = []
    for rec in iter_records(path):
        try:
            metric.update(rec)
        except RecordError as exc:
            errors.append((exc.location.line, exc.location.field))
    assert errors == [(4, "question_id")]
    assert counted == []
    metric.finish()                         # no count refusal: nothing aligned by order
    r = metric.compute().results
    assert (r["tp"].value, r["fp"].value, r["tn"].value, r["fn"].value) == (1, 1, 1, 0)
    by_order = _answers(tmp_path, [(1, "Yes"), (2, "No")], ids=False, name="short.jsonl")
    with pytest.raises(AlignmentError, match=r"has 2 answers \(non-blank lines\)"):
        PopeMetric(questions, n_boot=0).begin([by_order])       # counted at once, refused
    assert counted[-1] == by_order


def test_unknown_question_id_and_mismatched_question_are_record_errors(tmp_path, questions):
    path = _write_jsonl(tmp_path / "a.jsonl", [
        {"question_id": 1, "question": "Is there a dog in the image?", "answer": "Yes"},
        {"question_id": 9, "question": "Is there a cat in the image?", "answer": "No"},
        {"question_id": 3, "question": "Is there a zebra in the image?", "answer": "No"},
    ])
    summary, errors = _run(PopeMetric(questions, n_boot=0), path)
    assert [e.location.field for e in errors] == ["question_id", "question"]
    assert errors[0].location.line == 2 and "question_id 9 is not in" in str(errors[0])
    assert "zebra" in str(errors[1]) and "misaligned" in str(errors[1])
    assert summary.n == 1
    # without the text check, the mismatched question is scored
    summary, errors = _run(PopeMetric(questions, n_boot=0, check_questions=False), path)
    assert summary.n == 2 and len(errors) == 1


def test_missing_label_is_a_record_error(tmp_path):
    path = _write_jsonl(tmp_path / "a.jsonl", [
        {"question": "Is there a dog in the image?", "answer": "Yes", "label": "yes"},
        {"question": "Is there a cat in the image?", "answer": "No"}])
    metric = PopeMetric(n_boot=0)
    recs = list(iter_records(path))
    metric.update(recs[0])
    with pytest.raises(RecordError) as err:
        metric.update(recs[1])
    assert err.value.location.field == "label"
    assert err.value.location.file == str(path) and err.value.location.line == 2


def test_label_on_answer_must_agree_with_question_file(tmp_path, questions):
    path = _write_jsonl(tmp_path / "a.jsonl", [
        {"question_id": 1, "question": "Is there a dog in the image?", "answer": "Yes",
         "label": "no"}])
    with pytest.raises(RecordError) as err:
        PopeMetric(questions, n_boot=0).update(next(iter_records(path)))
    assert err.value.location.field == "label"


def test_llava_style_answers_align_by_id(tmp_path, questions):
    path = _write_jsonl(tmp_path / "llava.jsonl", [
        {"question_id": i, "prompt": f"Is there a {o} in the image?\nAnswer the question using "
         f"a single word or phrase.", "text": a, "model_id": "llava-v1.5-7b"}
        for i, o, a in [(1, "dog", "Yes"), (2, "cat", "No"), (3, "car", "No"), (4, "bus", "No")]])
    result = score_answers(path, questions, parser="llava")
    assert result["errors"] == []
    assert result["predictions"] == ["yes", "no", "no", "no"]
    m = result["metrics"]
    assert (m["tp"], m["fp"], m["tn"], m["fn"]) == (1, 0, 2, 1)
    assert result["info"]["parser_alias_of"] == "original"


def test_describe_and_from_config(tmp_path, questions):
    cfg = AuditConfig(questions=questions, pope_parser="vlmevalkit", pope_align="id",
                      n_boot=7, seed=3, confidence=0.9)
    metric = PopeMetric.from_config(cfg)
    assert (metric.parser.name, metric.align, metric.n_boot, metric.seed, metric.confidence) == \
        ("vlmevalkit", "id", 7, 3, 0.9)
    assert PopeMetric.from_config(cfg, parser="strict").parser.name == "strict"
    info = metric.describe()
    assert info["parser"] == "vlmevalkit" and "yes" in info["parser_description"]
    assert info["align"] == "id"
    assert info["questions"]["version"] == UNKNOWN_VERSION
    assert info["questions"]["n_questions"] == 4 and len(info["questions"]["sha256"]) == 64
    json.dumps(info)
    with pytest.raises(ConfigError):
        PopeMetric(questions, align="sideways")
    with pytest.raises(ConfigError, match="not found"):
        PopeMetric(tmp_path / "missing.json")


def test_applies_to_yes_no_records_only():
    metric = PopeMetric(n_boot=0)
    assert metric.applies_to(Record(id="1", task="yes-no", response="Yes"))
    assert not metric.applies_to(Record(id="1", task="caption", response="A dog."))


def test_question_file_errors_name_file_and_line(tmp_path):
    bad = tmp_path / "q.json"
    bad.write_text('{"question_id": 1, "text": "Is there a dog in the image?", "label": "yes"}\n'
                   '{"question_id": 2, "text": "Is there a cat in the image?", "label": "maybe"}\n')
    with pytest.raises(RecordError) as err:
        load_questions(bad)
    assert err.value.location.line == 2 and err.value.location.field == "label"


# -- building question sets -------------------------------------------------------------------
CATEGORIES = ["person", "dog", "cat", "car", "apple", "bus", "umbrella", "chair", "zebra"]
IMAGES = {1: ["person", "dog", "cat"], 2: ["person", "car", "bus"],
          3: ["dog", "cat", "apple", "person"], 4: ["umbrella", "chair", "person"],
          5: ["person"], 6: ["zebra", "dog"]}


def _coco(tmp_path: Path, images=IMAGES, categories=CATEGORIES) -> Path:
    cat_id = {n: i for i, n in enumerate(categories, 1)}
    anns = []
    for img, objs in images.items():
        for o in objs:
            anns.append({"id": len(anns) + 1, "image_id": img, "category_id": cat_id[o],
                         "bbox": [0, 0, 5, 5], "area": 25, "iscrowd": 0})
        anns.append({"id": len(anns) + 1, "image_id": img, "category_id": cat_id[objs[0]],
                     "bbox": [1, 1, 2, 2], "area": 4, "iscrowd": 0})   # a repeated object
    data = {"images": [{"id": i, "file_name": f"COCO_val2014_{i:012d}.jpg", "width": 10,
                        "height": 10} for i in images],
            "annotations": anns,
            "categories": [{"id": i, "name": n} for n, i in cat_id.items()]}
    path = tmp_path / "instances.json"
    path.write_text(json.dumps(data))
    return path


def _by_image(questions):
    out: dict[str, list[tuple[str, str]]] = {}
    for q in questions:
        out.setdefault(q["image"], []).append((object_of(q["text"]), q["label"]))
    return out


@pytest.mark.parametrize("split", ["random", "popular", "adversarial"])
def test_build_shape_and_semantics(tmp_path, split):
    questions = build_questions(_coco(tmp_path), split, n_images=4, seed=0)
    assert len(questions) == 4 * 6
    assert [q["question_id"] for q in questions] == list(range(1, 25))
    assert [q["label"] for q in questions] == ["yes", "no"] * 12
    images = {f"COCO_val2014_{i:012d}.jpg": objs for i, objs in IMAGES.items()}
    for image, asked in _by_image(questions).items():
        present = images[image]
        assert len(present) >= 3                               # min_objects filter
        names = [o for o, _ in asked]
        assert len(set(names)) == len(names)                   # nothing asked twice
        assert [o for o, label in asked if label == "yes"] == present[:3]
        for o, label in asked:
            assert (o in present) == (label == "yes")
            if label == "no":
                assert o != "zebra"                            # not seen in sampled images


def test_build_popular_and_adversarial_by_hand(tmp_path):
    path = _coco(tmp_path)
    popular = _by_image(build_questions(path, "popular", n_images=4))
    # frequency over the 4 images: person 4; cat, dog 2; the rest 1 (ties by name)
    assert popular["COCO_val2014_000000000001.jpg"] == [
        ("person", "yes"), ("apple", "no"), ("dog", "yes"), ("bus", "no"),
        ("cat", "yes"), ("car", "no")]
    assert popular["COCO_val2014_000000000002.jpg"] == [
        ("person", "yes"), ("cat", "no"), ("car", "yes"), ("dog", "no"),
        ("bus", "yes"), ("apple", "no")]
    adversarial = _by_image(build_questions(path, "adversarial", n_images=4))
    # with person: cat 2, dog 2, apple/bus/car/chair/umbrella 1
    assert adversarial["COCO_val2014_000000000001.jpg"][:2] == [("person", "yes"),
                                                                 ("apple", "no")]
    assert adversarial["COCO_val2014_000000000002.jpg"][:2] == [("person", "yes"),
                                                                 ("cat", "no")]


def test_build_is_deterministic_and_splits_share_images(tmp_path):
    path = _coco(tmp_path)
    a = build_questions(path, "random", n_images=3, seed=5)
    assert a == build_questions(path, "random", n_images=3, seed=5)
    pop = build_questions(path, "popular", n_images=3, seed=5)
    assert [q["image"] for q in a] == [q["image"] for q in pop]
    assert [q for q in a if q["label"] == "yes"] == [q for q in pop if q["label"] == "yes"]
    seeds = {tuple(q["image"] for q in build_questions(path, "random", n_images=2, seed=s))
             for s in range(10)}
    assert len(seeds) > 1                                      # the seed matters


def test_build_clamps_small_files_with_a_warning(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="halluscope.metrics.pope_build"):
        questions = build_questions(_coco(tmp_path), "random")      # asks for 500
    assert len(questions) == 24
    assert "only 4 show at least 3 categories" in caplog.text


def test_build_falls_back_to_all_categories_and_warns_when_none_left(tmp_path, caplog):
    same = {1: ["person", "dog", "cat"], 2: ["cat", "dog", "person"]}
    questions = build_questions(_coco(tmp_path, same), "popular", n_images=2)
    negatives = {object_of(q["text"]) for q in questions if q["label"] == "no"}
    assert negatives and negatives <= set(CATEGORIES) - {"person", "dog", "cat"}
    with caplog.at_level(logging.WARNING, logger="halluscope.metrics.pope_build"):
        only = questions_from_objects([("a.jpg", ["x", "y", "z"])], "random", n_images=1,
                                      categories=["x", "y", "z"])
    assert [q["label"] for q in only] == ["yes"] * 3
    assert "no absent category left" in caplog.text


def test_build_arguments_and_errors(tmp_path):
    assert question_text("apple") == "Is there an apple in the image?"
    assert question_text("dog") == "Is there a dog in the image?"
    with pytest.raises(ConfigError):
        questions_from_objects([("a.jpg", ["x", "y", "z"])], "easy")
    with pytest.raises(InputError, match="at least 5"):
        build_questions(_coco(tmp_path), "random", min_objects=5)
    with pytest.raises(ConfigError, match="not found"):
        build_questions(tmp_path / "nope.json", "random")
    fewer = build_questions(_coco(tmp_path), "random", n_per_image=2, min_objects=2)
    assert len(fewer) == 5 * 4       # images 1-4 and 6 (2 objects) qualify; 2 yes + 2 no each


def test_build_command_writes_readable_files(tmp_path):
    paths = build_command(_coco(tmp_path), tmp_path / "out", "random,adversarial", n_images=4,
                          n_per_image=3, seed=1)
    assert [p.name for p in paths] == ["coco_pope_random.json", "coco_pope_adversarial.json"]
    qs = load_questions(paths[0])
    assert len(qs) == 24 and qs.questions[0].split == "random"
    assert qs.version == UNKNOWN_VERSION
    first = json.loads(paths[1].read_text().splitlines()[0])
    assert list(first) == ["question_id", "image", "text", "label"]
    with pytest.raises(ConfigError):
        build_command(_coco(tmp_path), tmp_path / "out", ["hard"])
    assert write_questions([], tmp_path / "deep" / "x.json").read_text() == ""


def test_precision_and_recall_count_the_answers_they_are_over(tmp_path):
    """n of a ratio is its denominator: recall over 3 yes-labelled answers of 30 said n=30 and
    had an interval ([0, 1]) where every interval needs ten units."""
    from halluscope.api import audit
    rows = [{"id": f"q{i}", "image": f"COCO_val2014_{i + 1:012d}.jpg",
             "prompt": "Is there a dog in the image?", "response": "Yes" if i in (0, 1, 5)
             else "No", "label": "yes" if i < 3 else "no"} for i in range(30)]
    path = tmp_path / "answers.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    res = audit(path, metrics="pope", out=tmp_path / "o", write_report=False).metrics["pope"]
    precision, recall, f1 = (res.results[k] for k in ("precision", "recall", "f1"))
    assert (precision.n, recall.n, f1.n) == (3, 3, 4)      # tp+fp, tp+fn, tp+fp+fn
    assert precision.ci is None and "fewer than 10" in recall.ci_note
    assert res.results["accuracy"].n == 30 and res.results["accuracy"].ci is not None
    lmms = audit(path, metrics="pope", out=tmp_path / "l", write_report=False,
                 pope_parser="lmms-eval").metrics["pope"]
    assert lmms.results["recall"].n == 3
