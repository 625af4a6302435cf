"""A user's walk through the judges: what an audit says when a judge call fails, what the run
sheet records of the judge, which answers the judge cache may serve again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fake_openai_server import FakeServer
import halluscope


def _purple_dog(tmp_path: Path) -> tuple[Path, list[dict]]:
    """The loopback judge's spec and a caption of a brown picture annotated with one dog (at
    tmp_path/ann.json) that also names a zebra: claims for the judge to verify."""
    from PIL import Image
    Image.new("RGB", (64, 64), (120, 80, 40)).save(tmp_path / "a.png")
    (tmp_path / "ann.json").write_text(json.dumps({"images": {"a.png": {
        "size": [64, 64], "objects": [{"label": "dog", "box": [0, 0, 30, 30]}]}}}))
    spec = Path(__file__).resolve().parent / "judges" / "loopback-judge.toml"
    return spec, [{"id": "c1", "image": str(tmp_path / "a.png"), "task": "caption",
                   "response": "A purple dog sits next to a zebra."}]


ROWS = [{"category": "VD", "subcategory": "illusion", "visual_input": "1", "set_id": "0",
         "figure_id": figure, "question_id": question, "question": f"Is circle {question} big?",
         "gt_answer_details": "The circles are the same size.", "gt_answer": "1",
         "model_prediction": f"Yes, circle {question} is big{'.' if figure == '0' else '!'}"}
        for figure in ("0", "1") for question in ("0", "1")]


@pytest.fixture(autouse=True)
def no_key(monkeypatch):
    for var in ("OPENAI_API_KEY", "HALLUSCOPE_OFFLINE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")


def test_failed_consistency_calls_of_hallusionbench_are_said_not_only_recorded(
        tmp_path, caplog):
    """HallusionBench's original variant asks the judge a second prompt (consistency, for the
    LH / VI / Mixed diagnosis). When every such call failed, the diagnosis was over nothing
    and the run sheet counted the failures (judge_reliability_same), but the audit said
    nothing and exited 0: the warning read only the correctness prompt's counters."""
    answers = tmp_path / "hb.json"
    answers.write_text(json.dumps(ROWS), encoding="utf-8")
    replies = lambda prompt, body: "Correct"                            # noqa: E731
    with FakeServer(responder=replies, script={"response2:": ["refuse"] * 8}) as server:
        result = halluscope.audit(
            answers, metrics="hallusionbench", judge="hallusionbench-gpt-4", n_boot=0,
            cache_dir=tmp_path / "cache",
            options={"hallusionbench_variant": "original", "judge_base_url": server.url})
    info = result.metrics["hallusionbench"].info
    assert info["judge_reliability"]["call_failures"] == 0
    assert info["judge_reliability_same"]["call_failures"] == 4
    assert info["diagnosis"]["same_replies"]["failed"] == 4
    assert "hallusionbench: the judge failed 4 of 4 hallusionbench_same calls" in caplog.text


def mmhal_rows(n: int = 2) -> list[dict]:
    return [{"question_type": "attribute", "question_topic": "outdoor", "image_id": f"img{i}",
             "image_src": f"https://example.invalid/{i}.jpg", "image_content": ["Hydrant"],
             "question": f"What colour is hydrant {i}?", "gt_answer": "It is yellow.",
             "model_answer": "It is yellow."} for i in range(n)]


def test_a_judge_server_that_names_no_model_leaves_the_pin_unverified_and_says_so(
        tmp_path, caplog):
    """A server answering with "model": null: the run sheet said pin_mismatch false and
    reported_models {}, which reads as a verified pin, and nothing was said. The answers are
    now counted (model_not_reported) and said; judge_fatal_mismatch stops such a run."""
    answers = tmp_path / "mm.json"
    answers.write_text(json.dumps(mmhal_rows()), encoding="utf-8")
    with FakeServer(responder=lambda prompt, body: "Fine. Rating: 5",
                    faults={"no_model": 1.0}) as server:
        result = halluscope.audit(
            answers, metrics="mmhal", judge="mmhal-gpt-4o-2024-08-06", n_boot=0,
            cache_dir=tmp_path / "cache", options={"judge_base_url": server.url})
    info = result.metrics["mmhal"].info
    assert result.get("mmhal.average_score").value == 5.0
    assert info["judge_reliability"]["model_not_reported"] == 2
    assert info["judge"]["reported_models"] == {}
    assert ("mmhal: the judge's server named no model for 2 answer(s), so the pin "
            "'openai/gpt-4o-2024-08-06' is not verified") in caplog.text


def test_judge_answers_that_do_not_parse_are_said_not_only_counted(tmp_path, caplog):
    """A judge that refuses ("I'm sorry, I cannot evaluate this.") or whose spec's parser does
    not fit its replies: every claim it was asked about stayed unverifiable, the run sheet
    counted parse_failures, and the console said nothing of the judge."""
    spec, records = _purple_dog(tmp_path)
    with FakeServer(responder=lambda p, b: "I'm sorry, I cannot evaluate this.") as server:
        result = halluscope.audit(
            records=records, metrics="claims", annotations=[tmp_path / "ann.json"],
            judge=str(spec), n_boot=0, cache_dir=tmp_path / "cache",
            options={"judge_base_url": server.url})
    rel = result.metrics["claims"].info["judge_reliability"]
    assert rel["calls"] == rel["parse_failures"] >= 2
    assert (f"claims: {rel['calls']} of the judge's {rel['calls']} answers could not be "
            f"parsed (parser 'verdict-json'; items.jsonl keeps each raw answer); those claims "
            f"were left unverifiable") in caplog.text


def test_a_judge_whose_calls_fail_does_not_agree_with_itself(tmp_path):
    """Judge.repeatability over a server that refused every call gave all_agree 1.0 and
    pairwise 1.0: each failed call came back 'unverifiable', and those agreed. A repeat that
    gave no verdict now leaves its item out, counted and said."""
    from PIL import Image
    from halluscope.judges import load_judge
    from halluscope.types import Claim
    Image.new("RGB", (16, 16)).save(tmp_path / "a.png")
    spec = Path(__file__).resolve().parent / "judges" / "loopback-judge.toml"
    items = [(Claim("existence", "dog"), tmp_path / "a.png"),
             (Claim("existence", "cat"), tmp_path / "a.png")]
    with FakeServer(faults={"refuse": 1.0}) as server:
        judge = load_judge(spec, base_url=server.url, cache_dir=tmp_path / "cache")
        try:
            report = judge._run(judge.repeatability(items, repeats=3))
        finally:
            judge.close()
    assert report["items"] == 0 and report["all_agree"] is None and report["pairwise"] is None
    assert report["items_left_out"] == 2 and "HTTP 400" in report["items_left_out_why"]
    assert report["fleiss_kappa"] is None and report["fleiss_kappa_why_no_value"]


def test_agreement_never_reads_a_missing_label_as_one():
    from halluscope.judges import human_agreement, repeat_agreement
    rep = repeat_agreement([["yes", None, "yes"], ["yes", "no", "yes"], ["no", "no", "no"]])
    assert rep["items"] == 2 and rep["items_left_out"] == 1 and rep["all_agree"] == 0.5
    # None was compared as the text "None": a disagreement with the human's "yes"
    got = human_agreement({"a": "yes", "b": None}, {"a": "yes", "b": "yes"})
    assert got["n"] == 1 and got["agreement"] == 1.0 and got["only_human"] == 1


@pytest.mark.parametrize("lines,message", [
    (['{"id": "a", "label": "yes"}', '{"id": "b", "label": null}'],
     ":2: field 'label': expected a label, got null"),
    (['{"id": "a", "label": "  "}'], ":1: field 'label': expected a label"),
    (['{"id": "a", "label": "yes"}', '{"id": "a", "label": "no"}'],
     ":2: id 'a' is labelled twice (line 1 and line 2)")])
def test_a_human_label_file_with_a_null_label_or_an_id_twice_is_refused(tmp_path, lines,
                                                                         message):
    """A null label was read as the label "none" (a disagreement with every judge verdict),
    and an id given twice kept its last label in silence."""
    from halluscope.errors import InputError
    from halluscope.judges.reliability import load_labels
    path = tmp_path / "human.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_labels(path)
    assert message in str(info.value) and str(path) in str(info.value)


def test_faithscore_beside_claims_records_the_judge_that_decided_its_claims(tmp_path):
    """claims and faithscore share one verification; each built a judge of its own and only
    claims' was asked, so faithscore's run-sheet entry said 0 calls, no reported model, no
    parse failure (and no pin mismatch could show there) while its score rested on them."""
    spec, records = _purple_dog(tmp_path)
    verdict = json.dumps({"verdict": "hallucinated", "confidence": 0.8, "reason": "no"})
    with FakeServer(responder=lambda p, b: verdict, model_name="served-model") as server:
        result = halluscope.audit(
            records=records, metrics="claims,faithscore", annotations=[tmp_path / "ann.json"],
            judge=str(spec), n_boot=0, cache_dir=tmp_path / "cache",
            options={"judge_base_url": server.url})
        asked = len(server.requests)
    claims, faith = (result.metrics[m].info for m in ("claims", "faithscore"))
    assert asked >= 2 and claims["judge_reliability"]["calls"] == asked
    assert faith["judge_reliability"] == claims["judge_reliability"]
    assert faith["judge"]["reported_models"] == {"served-model": asked}
    assert faith["judge"]["pin_mismatch"] is True


def test_mmhal_original_says_the_judge_answers_it_scored_0(tmp_path, caplog):
    """The original variant reads a judge answer without a rating (a refusal) as 0, a
    hallucination, as LLaVA-RLHF's script does; only the table's parse_fallback_to_0 row said
    so, and the console's warnings were silent about it."""
    from fake_openai_server import scripted_responder
    answers = tmp_path / "mm.json"
    answers.write_text(json.dumps(mmhal_rows(3)), encoding="utf-8")
    replies = scripted_responder([("hydrant 1?", "I'm sorry, I can't rate this.")],
                                 default=lambda prompt, body: "Fine. Rating: 5")
    with FakeServer(responder=replies) as server:
        result = halluscope.audit(
            answers, metrics="mmhal", judge="mmhal-gpt-4o-2024-08-06", n_boot=0,
            cache_dir=tmp_path / "cache",
            options={"judge_base_url": server.url, "mmhal_variant": "original"})
    assert result.get("mmhal.parse_fallback_to_0").value == 1
    assert result.get("mmhal.hallucination_rate").value == pytest.approx(1 / 3)
    assert ("mmhal original: 1 of 3 judge answers held no rating the original reads, each "
            "scored 0 and counted as a hallucination") in caplog.text


@pytest.mark.parametrize("reply,exit_code", [("<<<%%%>>>", 2), ("I'm sorry, I can't.", 2),
                                             ("unclear", 0)])
def test_hallusionbench_original_on_a_judge_that_gives_no_verdict(tmp_path, reply, exit_code):
    """Every judge answer held no verdict (garbage, a refusal): the original reads each as
    unclear, which is wrong on these VD questions, and the audit reported aAcc 0.0 and exited
    0 -- the original's default, not a judgement. MMHal's original fails the run in the same
    case; now HallusionBench's does too. A judge that says "unclear" has given a verdict."""
    from typer.testing import CliRunner
    from halluscope.cli import app
    answers = tmp_path / "hb.json"
    answers.write_text(json.dumps(ROWS), encoding="utf-8")
    with FakeServer(responder=lambda prompt, body: reply) as server:
        res = CliRunner().invoke(app, [
            "audit", str(answers), "--metric", "hallusionbench", "--judge",
            "hallusionbench-gpt-4", "--option", "hallusionbench_variant=original", "--option",
            f"judge_base_url={server.url}", "--cache-dir", str(tmp_path / "cache"),
            "--bootstrap", "0", "--out", str(tmp_path / "run"), "--quiet"])
    assert res.exit_code == exit_code, res.output
    info = json.loads((tmp_path / "run" / "results.json").read_text())["metrics"][
        "hallusionbench"]["info"]
    if exit_code:
        assert info["judge_no_verdict"] == 4
        assert "every one of the 4 judge answers held no verdict" in res.output
    else:
        assert "judge_no_verdict" not in info


@pytest.mark.parametrize("given,read", [
    ("0.7", 0.7), ("90", None), ('"85"', None), ("1", 1.0), ('"0.85"', 0.85),
    ("true", None), ("1.5", None), ("4.5", None), ("101", None), ("-0.2", None)])
def test_a_judge_confidence_is_a_share_it_gave_or_none(given, read):
    """`true` was read as confidence 1.0 and 1.5 as 0.015 (1.5%): numbers the judge did not
    give. The `verdict-json` template asks for 0 to 1: a whole percentage is off its scale
    (`verdict-json-percent` reads those; tests/test_judge_small.py)."""
    from halluscope.judges.parsers import parse_verdict_json
    got = parse_verdict_json('{"verdict": "supported", "confidence": %s}' % given)
    assert got.ok and got.value == "supported"
    assert got.confidence == (pytest.approx(read) if read is not None else None)


def test_a_metric_that_decided_nothing_names_the_judge_answers_it_could_not_parse(tmp_path):
    """MMHal (refined) on a judge whose every reply is unreadable: the audit failed with
    "2 unverifiable (no evidence could decide them)", never naming the judge's answers."""
    answers = tmp_path / "mm.json"
    answers.write_text(json.dumps(mmhal_rows()), encoding="utf-8")
    with FakeServer(responder=lambda prompt, body: "I'm sorry, I can't rate this.") as server:
        result = halluscope.audit(
            answers, metrics="mmhal", judge="mmhal-gpt-4o-2024-08-06", n_boot=0,
            cache_dir=tmp_path / "cache", options={"judge_base_url": server.url})
    assert "2 of the judge's answers could not be parsed" in " ".join(result.unscored["mmhal"])


@pytest.mark.parametrize("reply,read", [
    ("Yes.", "yes"), (" NO, it does not", "no"), ("No. The answer says no.", "no"),
    ("Yes/No", None), ("yes or no", None), ("No, yes", None), ("Yes and no", None)])
def test_a_yes_no_judge_reply_that_names_both_is_no_verdict(reply, read):
    """The judge is asked for one word; "Yes/No" was read as yes by its first word, a
    verdict the judge did not give (and POPE scored the model's answer by it)."""
    from halluscope.judges.parsers import parse_yes_no_word
    got = parse_yes_no_word(reply)
    assert (got.value if got.ok else None) == read


def test_a_failed_consistency_call_drops_only_the_questions_whose_label_needs_it():
    """A failed 'same' call left its question out of the LH / VI / Mixed shares even where the
    label does not depend on the reply (a figure-0 question), moving the shares."""
    from halluscope.metrics.hallusionbench_diagnosis import Answered, diagnose
    qs = [Answered("VD", "illusion", "0", "0", "0", "1", "0", "No."),     # wrong on figure 0
          Answered("VD", "illusion", "0", "1", "0", "1", "0", "Yes."),    # wrong on figure 1
          Answered("VS", "chart", "0", "0", "0", "1", "0", "No.")]        # wrong, figure 0
    ok, _ = diagnose(qs, lambda a, b: "same")
    failed, _ = diagnose(qs, lambda a, b: None)
    assert failed["same_replies"]["failed"] == 3
    # figure-0 questions are labelled from their own code alone; the VD figure-1 one is too
    # (orig wrong, code wrong: VI whatever the reply)
    assert failed["counts"] == ok["counts"] == {"LH": 1, "VI": 2, "Mixed": 0}
    # figure 0 right, figure 1 wrong: Mixed when the answers are the same, else VI -- that
    # one needs the reply, and a failed call leaves it out
    qs += [Answered("VD", "illusion", "1", "0", "0", "1", "1", "Yes."),
           Answered("VD", "illusion", "1", "1", "0", "1", "0", "Yes.")]
    assert diagnose(qs, lambda a, b: "same")[0]["counts"] == {"LH": 1, "VI": 2, "Mixed": 1}
    assert diagnose(qs, lambda a, b: None)[0]["counts"] == {"LH": 1, "VI": 2, "Mixed": 0}


def test_pair_counts_and_question_decisions_leave_out_what_a_failed_call_decided():
    """The pair-level LH / VI / Mixed (get_eval_pair_all's) sum each pair's labels; a pair
    holding a question whose label needed the failed reply is counted apart (left_out), and
    each question's `same` is kept as read for its items.jsonl line (by its position), null
    where its call failed; the run sheet keeps only the count and a digest of them."""
    import dataclasses
    from halluscope.metrics.hallusionbench_diagnosis import Answered, diagnose
    qs = [Answered("VD", "illusion", "0", "0", "0", "1", "0", "No."),     # VI
          Answered("VD", "illusion", "0", "1", "0", "1", "0", "Yes."),    # VI: pair 0 VI
          Answered("VD", "illusion", "1", "0", "0", "1", "1", "Yes."),    # right
          Answered("VD", "illusion", "1", "1", "0", "1", "0", "Yes."),    # Mixed if same
          Answered("VS", "chart", "0", "0", "0", "0", "1", "Yes.")]       # right: none
    qs = [dataclasses.replace(q, at=2 * i) for i, q in enumerate(qs)]   # lines 0, 2, 4, ...
    ok, fields = diagnose(qs, lambda a, b: "Same")
    assert ok["pairs"] == {"total": 3, "LH": 0, "VI": 1, "Mixed": 1, "none": 1, "left_out": 0}
    labels = ["VI", "VI", None, "Mixed", None]
    assert fields == {2 * i: {"same": "1", "same_judge_raw": "Same", "diagnosis": label}
                      for i, label in enumerate(labels)}
    assert ok["questions"]["checked"] == 5 and len(ok["questions"]["digest"]) == 71
    failed, fields = diagnose(qs, lambda a, b: None)
    assert failed["pairs"] == {"total": 3, "LH": 0, "VI": 1, "Mixed": 0, "none": 1,
                               "left_out": 1}
    labels[3] = "left_out"
    assert fields == {2 * i: {"same": None, "diagnosis": label}
                      for i, label in enumerate(labels)}
    assert failed["questions"]["digest"] != ok["questions"]["digest"]
