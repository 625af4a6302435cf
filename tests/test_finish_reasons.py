"""The answers' finish reasons in an audit: a withheld answer (a filter, a safety stop, a
refusal) is a bad record, never scored; an answer cut at the token limit is scored but counted
and said, and ``complete_only`` leaves it out; a finish reason halluscope does not know is
never taken for complete in silence. The columnar path and the line-by-line path give the same
items and numbers, and files without finish reasons read as before."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import halluscope
from halluscope.errors import ConfigError, RecordError, WithheldAnswer
from halluscope.finish_reasons import (COMPLETE, FILTERED, TRUNCATED, FinishScreen,
                                       finish_kind, finish_reason_of, withheld_error)
from halluscope.records import Record, Source, iter_records, record_from_dict

OBJECTS = ["dog", "cat", "car", "bus", "cup", "tie"]


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _questions(tmp_path: Path, n: int = 12) -> Path:
    return _jsonl(tmp_path / "coco_pope_random.json", [
        {"question_id": i, "image": f"COCO_val2014_{i:012d}.jpg",
         "text": f"Is there a {OBJECTS[i % 6]} in the image?",
         "label": "yes" if i % 2 else "no"} for i in range(1, n + 1)])


def _answers(tmp_path: Path, reasons: list, name: str = "answers.jsonl",
             field: str = "finish_reason") -> Path:
    """One answer per question (right on odd ids, wrong on every third), with ``reasons``
    (``...``: no finish-reason field on that line)."""
    rows = []
    for i, reason in enumerate(reasons, 1):
        right = "yes" if i % 2 else "no"
        row = {"question_id": i, "prompt": f"Is there a {OBJECTS[i % 6]} in the image?",
               "response": ("No" if right == "yes" else "Yes") if i % 3 == 0 else right.title()}
        if reason is not ...:
            row[field] = reason
        rows.append(row)
    return _jsonl(tmp_path / name, rows)


def _audit_both(tmp_path: Path, inputs, **options):
    """The audit as columns (where the file allows) and line by line: the same items,
    numbers, errors and counts."""
    import halluscope.pipeline as pipeline
    fast = halluscope.audit(inputs, metrics="pope", out=tmp_path / "fast", n_boot=20, **options)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pipeline, "score_columns", lambda *a, **k: None)
        slow = halluscope.audit(inputs, metrics="pope", out=tmp_path / "slow", n_boot=20,
                                **options)
    items = [(tmp_path / name / "items.jsonl").read_bytes() for name in ("fast", "slow")]
    assert items[0] == items[1]
    assert json.dumps(fast.metrics["pope"].to_dict(), sort_keys=True) == \
        json.dumps(slow.metrics["pope"].to_dict(), sort_keys=True)
    assert fast.errors == slow.errors
    assert fast.runsheet["counts"] == slow.runsheet["counts"]
    results = [json.loads((tmp_path / name / "results.json").read_text())
               for name in ("fast", "slow")]
    for data in results:
        for key in ("run_id", "outputs", "digest"):
            data.pop(key)
    assert results[0] == results[1]
    return fast, results[0], [json.loads(line) for line in items[0].splitlines()]


# -- the kinds ----------------------------------------------------------------------------------
@pytest.mark.parametrize("value, kind", [
    ("stop", "complete"), ("STOP", "complete"), ("end_turn", "complete"),
    ("stop_sequence", "complete"), ("eos_token", "complete"), ("FinishReason.STOP", "complete"),
    ("length", "truncated"), ("max_tokens", "truncated"), ("MAX_TOKENS", "truncated"),
    ("FinishReason.MAX_TOKENS", "truncated"), ("model_context_window_exceeded", "truncated"),
    ("content_filter", "filtered"), ("refusal", "filtered"), ("SAFETY", "filtered"),
    ("RECITATION", "filtered"), ("FinishReason.SAFETY", "filtered"), (" Safety ", "filtered"),
    ("tool_calls", "unrecognised"), ("OTHER", "unrecognised"), ("abort", "unrecognised"),
    ("FINISH_REASON_UNSPECIFIED", "unrecognised"), (128009, "unrecognised"),
    (True, "unrecognised"), ({"type": "stop"}, "unrecognised"),
    (None, None), ("", None), ("  ", None)])
def test_each_finish_reason_has_its_kind(value, kind):
    assert finish_kind(value) == kind


def test_query_and_the_audit_read_finish_reasons_with_the_same_sets():
    from halluscope.adapters.types import cut_at_token_limit, cut_by_filter
    from halluscope.adapters import types
    assert types.TRUNCATED is TRUNCATED and types.FILTERED is FILTERED
    for value in TRUNCATED | FILTERED | COMPLETE | {"MAX_TOKENS", "SAFETY", "tool_calls"}:
        assert cut_at_token_limit(value) == (finish_kind(value) == "truncated"), value
        assert cut_by_filter(value) == (finish_kind(value) == "filtered"), value


def test_the_first_finish_field_a_line_has_is_its_finish_reason():
    # vLLM writes finish_reason beside stop_reason (the stop token): finish_reason is read
    assert finish_reason_of({"finish_reason": "stop", "stop_reason": 128009}) == \
        ("finish_reason", "stop")
    assert finish_reason_of({"stop_reason": "refusal"}) == ("stop_reason", "refusal")
    assert finish_reason_of({"finishReason": "SAFETY"}) == ("finishReason", "SAFETY")
    assert finish_reason_of({"finish_reason": None, "done_reason": "length"}) == \
        ("done_reason", "length")
    assert finish_reason_of({"finish_reason": ""}) is None
    assert finish_reason_of({}) is None and finish_reason_of(None) is None


# -- a withheld answer is never scored ------------------------------------------------------------
@pytest.mark.parametrize("row", [
    {"finish_reason": "content_filter"}, {"stop_reason": "refusal"},
    {"finishReason": "SAFETY"}, {"metadata": {"finish_reason": "content_filter"}},
    {"finish_reason": "content_filter", "response": None}])
def test_a_withheld_answer_is_a_bad_record_naming_file_line_and_field(row):
    line = {"id": "q1", "prompt": "Is there a dog?", "response": "Yes", **row}
    with pytest.raises(WithheldAnswer) as caught:
        record_from_dict(line, file="answers.jsonl", line=7)
    err = caught.value
    assert (err.location.file, err.location.line) == ("answers.jsonl", 7)
    assert err.location.field in ("finish_reason", "stop_reason", "finishReason")
    assert "withheld" in err.message and "not scored" in err.message
    assert err.record_id == "q1"
    assert isinstance(err, RecordError)


def test_a_prompt_line_with_a_finish_reason_is_still_a_prompt():
    """Reading prompts (require_response=False: query, question files) refuses nothing."""
    rec = record_from_dict({"id": "q1", "prompt": "Is there a dog?",
                            "finish_reason": "content_filter"}, require_response=False)
    assert rec.metadata["finish_reason"] == "content_filter"


def test_complete_truncated_and_unknown_answers_are_records_keeping_their_reason():
    for reason in ("stop", "length", "tool_calls"):
        rec = record_from_dict({"id": "a", "response": "A dog.", "finish_reason": reason})
        assert rec.response == "A dog." and rec.metadata["finish_reason"] == reason
    assert withheld_error({"finish_reason": "length"}, {}) is None


def test_iter_records_yields_a_withheld_line_as_its_error(tmp_path):
    path = _answers(tmp_path, ["stop", "content_filter", ...])
    got = list(iter_records(path))
    assert isinstance(got[0], Record) and isinstance(got[2], Record)
    assert isinstance(got[1], WithheldAnswer) and got[1].location.line == 2


def test_the_screen_counts_kinds_and_with_complete_only_leaves_out_the_unfinished():
    def rec(i, reason):
        return Record(id=str(i), task="yes-no", response="Yes",
                      metadata={} if reason is None else {"finish_reason": reason},
                      source=Source("a.jsonl", i))
    stream = [rec(1, "stop"), rec(2, "length"), rec(3, "tool_calls"), rec(4, None),
              WithheldAnswer("withheld", file="a.jsonl", line=5), rec(6, 7)]
    screen = FinishScreen()
    assert list(screen.screen(stream)) == stream
    assert screen.counts() == {"truncated": 1, "filtered": 1,
                               "unrecognised_finish": {"tool_calls": 1, "7": 1}}
    strict = FinishScreen(complete_only=True)
    out = list(strict.screen(stream))
    assert [type(x).__name__ for x in out] == ["Record", "RecordError", "RecordError", "Record",
                                               "WithheldAnswer", "RecordError"]
    assert out[1].location.line == 2 and out[1].location.field == "finish_reason"
    assert out[1].record_id == "2" and "cut at the token limit" in out[1].message
    assert "--complete-only" in out[2].message
    assert strict.counts() == screen.counts()


def test_unrecognised_values_are_counted_one_by_one_up_to_a_limit():
    from halluscope.finish_reasons import MAX_VALUES, OTHER_VALUES
    screen = FinishScreen()
    stream = [Record(id=str(i), task="vqa", response="x", metadata={"finish_reason": f"odd{i}"},
                     source=Source("a", i)) for i in range(MAX_VALUES + 5)]
    list(screen.screen(stream))
    found = screen.counts()["unrecognised_finish"]
    assert len(found) == MAX_VALUES + 1 and found[OTHER_VALUES] == 5


# -- audits: both paths alike ---------------------------------------------------------------------
REASONS = ["stop", "length", "content_filter", "stop", "tool_calls", "SAFETY", "stop",
           "MAX_TOKENS", "stop", "", "stop", "end_turn"]


def test_an_audit_lists_withheld_answers_scores_and_counts_the_cut_ones(tmp_path):
    q = _questions(tmp_path)
    a = _answers(tmp_path, REASONS)
    result, results, items = _audit_both(tmp_path, a, questions=q)
    # the file is not read as columns: the line path decides every such line
    assert result.runsheet["execution"]["scored"].startswith("record by record")
    assert [(e["line"], e["field"]) for e in result.errors] == \
        [(3, "finish_reason"), (6, "finish_reason")]
    assert all("was withheld" in e["message"] for e in result.errors)
    assert result.metrics["pope"].results["accuracy"].n == 10
    assert results["n_truncated"] == 2 and results["n_filtered"] == 2
    assert results["unrecognised_finish"] == {"tool_calls": 1}
    counts = result.runsheet["counts"]
    assert (counts["truncated"], counts["filtered"], counts["scored"]["pope"]) == (2, 2, 10)
    assert [it.get("finish_reason") for it in items] == [
        None, "length", None, None, "tool_calls", None, None, "MAX_TOKENS", None, None, None,
        None]
    assert "was withheld" in items[2]["error"] and "pope" in items[1]


def test_answers_that_all_finished_score_as_columns_as_the_file_without_them(tmp_path):
    q = _questions(tmp_path)
    plain = _answers(tmp_path, [...] * 12, name="plain.jsonl")
    done = _answers(tmp_path, ["stop", "STOP", "end_turn", ""] * 3, name="done.jsonl")
    one, data_one, items_one = _audit_both(tmp_path / "one", plain, questions=q)
    two, data_two, items_two = _audit_both(tmp_path / "two", done, questions=q)
    for result in (one, two):
        assert result.runsheet["execution"]["scored"].startswith("as columns")
    for data in (data_one, data_two):
        assert not {"n_truncated", "n_filtered", "unrecognised_finish"} & set(data)
    assert data_one["metrics"] == data_two["metrics"]
    for item in items_one + items_two:
        item.pop("source")
    assert items_one == items_two
    assert one.runsheet["counts"] == two.runsheet["counts"]


@pytest.mark.parametrize("only", [False, True])
def test_a_cut_answer_in_a_later_chunk_is_read_line_by_line_in_its_place(tmp_path, monkeypatch,
                                                                        only):
    """The columns read the answers whose finish is complete; the cut one, and the few beside
    it, are read, screened (counted; left out with complete_only) and scored line by line."""
    import halluscope.column_chunks as column_chunks
    monkeypatch.setattr(column_chunks, "CHUNK_BYTES", 300)
    q = _questions(tmp_path, 40)
    a = _answers(tmp_path, ["stop"] * 30 + ["length"] + ["stop"] * 5 + ["content_filter"]
                 + ["stop"] * 3)
    result, results, items = _audit_both(tmp_path, a, questions=q,
                                         options={"complete_only": only})
    assert result.runsheet["execution"]["scored"].startswith("as columns")
    assert result.runsheet["counts"]["truncated"] == 1
    assert result.runsheet["counts"]["filtered"] == 1
    assert results["n_truncated"] == 1
    assert ("error" in items[30]) if only else items[30]["finish_reason"] == "length"


def test_complete_only_leaves_out_the_cut_and_the_unknown_as_bad_records(tmp_path):
    q = _questions(tmp_path)
    a = _answers(tmp_path, REASONS)
    result, results, items = _audit_both(tmp_path, a, questions=q,
                                         options={"complete_only": True})
    assert [e["line"] for e in result.errors] == [2, 3, 5, 6, 8]
    assert result.metrics["pope"].results["accuracy"].n == 7
    assert results["n_truncated"] == 2 and results["unrecognised_finish"] == {"tool_calls": 1}
    assert "left out by --complete-only" in items[1]["error"]
    assert "finish_reason" not in items[1]       # an error item: the reason is in its message
    with pytest.raises(ConfigError, match="complete_only"):
        halluscope.audit(a, metrics="pope", questions=q, options={"complete_only": "maybe"})


def test_strict_stops_at_the_first_withheld_answer(tmp_path):
    q = _questions(tmp_path)
    a = _answers(tmp_path, ["stop", "refusal", "stop"], field="stop_reason")
    with pytest.raises(WithheldAnswer) as caught:
        halluscope.audit(a, metrics="pope", questions=q, strict=True, out=tmp_path / "o")
    assert caught.value.location.line == 2


def test_records_in_memory_are_read_as_their_lines(tmp_path):
    q = _questions(tmp_path, 3)
    rows = [Record(id="1", task="yes-no", prompt="Is there a cat in the image?", response="Yes",
                   question_id="1", metadata={"finish_reason": "content_filter"}),
            {"question_id": 2, "prompt": "Is there a car in the image?", "response": "No",
             "finishReason": "SAFETY"},
            {"question_id": 3, "prompt": "Is there a bus in the image?", "response": "Yes",
             "finish_reason": "length"}]
    result = halluscope.audit(records=rows, metrics="pope", questions=q, n_boot=0)
    assert [(e["line"], e["field"]) for e in result.errors] == \
        [(1, "finish_reason"), (2, "finishReason")]
    assert result.runsheet["counts"]["filtered"] == 2
    assert result.runsheet["counts"]["truncated"] == 1


def test_a_table_carries_finish_reasons_as_a_column(tmp_path):
    q = _questions(tmp_path, 3)
    table = tmp_path / "answers.csv"
    table.write_text("question_id,prompt,response,finish_reason\n"
                     "1,Is there a cat in the image?,Yes,stop\n"
                     "2,Is there a car in the image?,No,content_filter\n"
                     "3,Is there a bus in the image?,Yes,\n", encoding="utf-8")
    result = halluscope.audit(table, metrics="pope", questions=q, n_boot=0)
    assert [(e["line"], e["field"]) for e in result.errors] == [(3, "finish_reason")]
    assert result.metrics["pope"].results["accuracy"].n == 2


# -- said where the user looks --------------------------------------------------------------------
def test_the_console_report_and_a_reread_say_the_counts(tmp_path):
    from rich.console import Console

    from halluscope.report.console import render_summary
    q = _questions(tmp_path)
    a = _answers(tmp_path, REASONS)
    out = tmp_path / "out"
    result = halluscope.audit(a, metrics="pope", questions=q, out=out, n_boot=0)
    console = Console(record=True, width=200)
    render_summary(result, console)
    text = " ".join(console.export_text().split())
    assert "2 cut at the token limit (scored as written)" in text
    assert "2 withheld by a filter (bad records, not scored)" in text
    assert "1 of an unknown finish reason (scored as written)" in text
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "cut at the token limit" in html and "withheld by a filter" in html
    assert "finish: length" in html           # the item's own pill
    again = halluscope.audit(a, metrics="pope", questions=q, out=out, n_boot=0, resume=True)
    assert again.reread and again.to_dict()["n_truncated"] == 2


def test_the_cli_flag_complete_only(tmp_path):
    from typer.testing import CliRunner

    from halluscope.cli import app
    q = _questions(tmp_path)
    a = _answers(tmp_path, REASONS)
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["audit", str(a), "--metric", "pope", "--questions", str(q),
                                   "--complete-only", "--no-report", "--out", str(out),
                                   "--bootstrap", "0"])
    assert res.exit_code == 0, res.output
    data = json.loads((out / "results.json").read_text())
    assert data["n_errors"] == 5 and data["n_truncated"] == 2
    sheet = json.loads((out / "runsheet.json").read_text())
    assert sheet["config"]["options"] == {"complete_only": True}
    text = " ".join(res.output.split())
    assert "2 cut at the token limit (left out as bad records (--complete-only))" in text


def test_a_blank_finish_reason_gives_way_to_the_next_field_on_both_paths(tmp_path):
    q = _questions(tmp_path, 4)
    rows = [{"question_id": i, "prompt": f"Is there a {OBJECTS[i % 6]} in the image?",
             "response": "Yes", "finish_reason": first, "stop_reason": second}
            for i, (first, second) in enumerate(
                [("stop", 128009), ("", "refusal"), ("", "end_turn"), ("length", "x")], 1)]
    a = _jsonl(tmp_path / "answers.jsonl", rows)
    result, results, items = _audit_both(tmp_path, a, questions=q)
    assert [(e["line"], e["field"]) for e in result.errors] == [(2, "stop_reason")]
    assert results["n_truncated"] == 1 and "unrecognised_finish" not in results


def test_a_finish_reason_that_is_a_number_is_unknown_not_a_crash(tmp_path):
    q = _questions(tmp_path, 3)
    a = _answers(tmp_path, [1, 2, 1])
    result, results, items = _audit_both(tmp_path, a, questions=q)
    assert results["unrecognised_finish"] == {"1": 2, "2": 1}
    assert result.metrics["pope"].results["accuracy"].n == 3
    assert [it["finish_reason"] for it in items] == [1, 2, 1]


def test_a_finish_reason_that_json_cannot_hold_is_written_as_its_text(tmp_path):
    """A record built in Python may hold an SDK's enum (or a NaN from a frame): read by its
    text, and written into the items as text, never as an object JSON cannot hold."""
    import enum

    class FinishReason(enum.Enum):
        MAX_TOKENS = 2
        OTHER = 5

    q = _questions(tmp_path, 3)
    rows = [Record(id=str(i), task="yes-no", prompt=f"Is there a {OBJECTS[i]} in the image?",
                   response="Yes", question_id=str(i), metadata={"finish_reason": reason})
            for i, reason in enumerate([FinishReason.MAX_TOKENS, FinishReason.OTHER,
                                        float("nan")], 1)]
    result = halluscope.audit(records=rows, metrics="pope", questions=q, n_boot=0,
                              out=tmp_path / "out")
    items = [json.loads(line) for line in open(tmp_path / "out" / "items.jsonl")]
    assert [it["finish_reason"] for it in items] == [
        "FinishReason.MAX_TOKENS", "FinishReason.OTHER", "nan"]
    counts = result.runsheet["counts"]
    assert counts["truncated"] == 1 and sum(counts["unrecognised_finish"].values()) == 2
    json.loads((tmp_path / "out" / "results.json").read_text())
