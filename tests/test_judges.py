"""Judge specs, parsers, the Judge class and its reliability statistics."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest
from PIL import Image

from fake_openai_server import FakeServer
from halluscope.adapters.mock import MockModel
from halluscope.errors import ConfigError
from halluscope.judges.judge import Judge, JudgeParseError, PinMismatch, claim_statement
from halluscope.judges.parsers import (parse_claims_json, parse_verdict_json, parse_verdict_line,
                                       parse_yes_no_word)
from halluscope.judges.reliability import (fleiss_kappa, human_agreement, load_labels,
                                           repeat_agreement)
from halluscope.judges.spec import find_specs, load_spec
from halluscope.types import Claim

REPO_JUDGES = Path(__file__).resolve().parents[1] / "judges"
SHIPPED = ("gpt-4o-2024-08-06", "qwen2.5-vl-7b-instruct")


@pytest.fixture
def image(tmp_path):
    path = tmp_path / "img.png"
    Image.new("RGB", (48, 48), (250, 250, 0)).save(path)
    return path


@pytest.fixture
def spec_dir(tmp_path):
    """A copy of the shipped judges folder that tests may tamper with."""
    dst = tmp_path / "judges"
    shutil.copytree(REPO_JUDGES, dst)
    return dst


# -- specs --------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_specs_load_and_are_pinned(name):
    spec = load_spec(name)
    assert spec.decoding.temperature == 0.0 and spec.decoding.seed is not None
    assert set(spec.prompts) == {"verify", "classify_yes_no", "decompose"}
    if spec.provider == "hf":
        assert spec.revision and len(spec.revision) == 40             # a hub commit
    else:
        assert any(ch.isdigit() for ch in spec.model.split("-")[-1])  # a dated snapshot
    assert spec.describe()["prompts"]["verify"]["sha256"] == spec.prompts["verify"].sha256
    assert name in find_specs()


def test_tampered_template_is_an_error(spec_dir):
    tpl = spec_dir / "templates" / "verify_claim.txt"
    tpl.write_text(tpl.read_text() + "\nBe lenient.\n")
    with pytest.raises(ConfigError, match="has sha256 .* but the spec pins"):
        load_spec(spec_dir / "gpt-4o-2024-08-06.toml")


def test_spec_checks(spec_dir, tmp_path):
    spec = spec_dir / "gpt-4o-2024-08-06.toml"
    text = spec.read_text()
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace('parser = "verdict-json"', 'parser = "guess"'))
    shutil.copytree(spec_dir / "templates", tmp_path / "templates")
    with pytest.raises(ConfigError, match="unknown parser 'guess'"):
        load_spec(bad)
    bad.write_text(text.replace('provider = "openai"', 'provider = "openai"\ncolour = "red"'))
    with pytest.raises(ConfigError, match="colour"):
        load_spec(bad)
    (tmp_path / "templates" / "x.txt").write_text("Check this: $claim\n")
    import hashlib
    h = hashlib.sha256(b"Check this: $claim\n").hexdigest()
    bad.write_text(text.replace("templates/verify_claim.txt", "templates/x.txt").replace(
        "cc2020cedf026cac810fa74c1c78b254f0ba4d1712e9ffd2f16c9906ca008cd0", h))
    with pytest.raises(ConfigError, match=r"lacks the placeholder\(s\) \$statement"):
        load_spec(bad)
    with pytest.raises(ConfigError, match="unknown judge 'nope'"):
        load_spec("nope")


@pytest.mark.parametrize("field, old, new, given", [
    ("version", 'provider = "openai"', 'provider = "openai"\nversion = "2"', "'2'"),
    ("decoding.temperature", "temperature = 0.0", 'temperature = "0"', "'0'"),
    ("decoding.temperature", "temperature = 0.0", "temperature = true", "True"),
    ("decoding.max_tokens", "max_tokens = 600", 'max_tokens = "600"', "'600'"),
    ("decoding.seed", "seed = 20240806", 'seed = "20240806"', "'20240806'"),
    ("image.max_side", 'policy = "openai"', 'policy = "openai"\nmax_side = "1568"', "'1568'")])
def test_a_number_given_as_text_in_a_spec_is_an_error_naming_file_and_field(
        spec_dir, field, old, new, given):
    # TOML keeps "0" a string: a spec that quoted a number was read as that number without a
    # word (and `temperature = true` as 1.0); the spec's numbers are numbers by design
    spec = spec_dir / "gpt-4o-2024-08-06.toml"
    spec.write_text(spec.read_text().replace(old, new, 1))
    with pytest.raises(ConfigError) as err:
        load_spec(spec)
    said = str(err.value)
    assert said.startswith(f"{spec}: invalid judge spec: {field}: Input should be a valid")
    assert f"got {given}" in said
    assert ("without quotes" in said) is given.startswith("'")


def test_a_spec_may_give_a_float_as_a_whole_number(spec_dir):
    spec = spec_dir / "gpt-4o-2024-08-06.toml"
    spec.write_text(spec.read_text().replace("temperature = 0.0", "temperature = 0"))
    assert load_spec(spec).decoding.temperature == 0.0


def test_user_specs_found_by_env(spec_dir, monkeypatch):
    (spec_dir / "gpt-4o-2024-08-06.toml").rename(spec_dir / "my-judge.toml")
    monkeypatch.setenv("HALLUSCOPE_JUDGES", str(spec_dir))
    assert find_specs()["my-judge"] == spec_dir / "my-judge.toml"
    assert load_spec("my-judge").model == "gpt-4o-2024-08-06"


# -- parsers ------------------------------------------------------------------------------------
def test_verdict_json_parser():
    ok = parse_verdict_json('Sure!\n```json\n{"verdict": "Hallucinated", "confidence": 0.7, '
                            '"reason": "no cat"}\n```')
    assert ok.ok and ok.value == "hallucinated" and ok.confidence == 0.7 and ok.reason == "no cat"
    # the shipped template asks for 0..1: 90 is off its scale (a percentage? a guess), no share
    assert parse_verdict_json('{"verdict": "yes", "confidence": 90}').confidence is None
    assert parse_verdict_json('{"verdict": "unsure"}').value == "unverifiable"
    for bad in ("supported", '{"verdict": "maybe"}', '{"reason": "x"}', "", "[1, 2]"):
        assert not parse_verdict_json(bad).ok, bad


def test_other_parsers():
    assert parse_verdict_line("Reasoning...\nVerdict: supported").value == "supported"
    assert not parse_verdict_line("Verdict: perhaps").ok
    assert parse_yes_no_word("Yes.").value == "yes"
    assert parse_yes_no_word(" NO, it does not").value == "no"
    assert parse_yes_no_word("unknown").value == "unknown"
    assert not parse_yes_no_word("Probably yes").ok
    claims = parse_claims_json('```json\n[{"kind": "existence", "subject": "dog"}]\n```')
    assert claims.ok and claims.value[0]["subject"] == "dog"
    assert parse_claims_json('{"claims": []}').ok
    assert not parse_claims_json('[{"kind": "smell", "subject": "dog"}]').ok
    assert not parse_claims_json("no claims here").ok


# -- the Judge ----------------------------------------------------------------------------------
def scripted(request):
    text = request.messages[-1].text()
    if "Statement:" in text:
        if "dog" in text:
            return '{"verdict": "supported", "confidence": 0.9, "reason": "a dog is visible"}'
        if "cat" in text:
            return '{"verdict": "hallucinated", "reason": "there is no cat"}'
        if "zebra" in text:
            return '{"verdict": "unverifiable", "reason": "too dark"}'
        return "I would rather not say."
    if "yes/no question" in text:
        return {"Answer: Sure thing": "yes", "Answer: Nope": "No."}.get(
            next(l for l in text.splitlines() if l.startswith("Answer:")), "Maybe")
    if "A dog on a sofa" in text:
        return json.dumps([{"kind": "existence", "subject": "cat", "text": "a cat"},  # made up
                           {"kind": "existence", "subject": "dog", "text": "A dog"},
                           {"kind": "relation", "subject": "dog", "relation": "on",
                            "object": "sofa", "text": "on a sofa"}])
    return "Here are the claims: dog, sofa."


def mock_judge(model_name="gpt-4o-2024-08-06", **kw):
    api = MockModel("script", responder=scripted)
    api.pin_name = model_name

    async def generate(request, _orig=api.generate):
        resp = await _orig(request)
        from dataclasses import replace
        return replace(resp, model=model_name)
    api.generate = generate
    return Judge("gpt-4o-2024-08-06", api=api, cache=False, **kw), api


def test_verify_verdicts_and_evidence(image):
    judge, _ = mock_judge()
    v = judge.verify_sync(Claim("existence", "dog", text="A dog sleeps."), image)
    assert v.label == "supported" and v.confidence == 0.9 and v.reason == "a dog is visible"
    assert v.checker == "judge-existence"
    ev = v.evidence[0]
    assert ev.source == "judge" and ev.payload["judge"] == "openai/gpt-4o-2024-08-06"
    assert "a dog is visible" in ev.payload["raw"]
    assert ev.provenance["prompt_sha256"] == judge.spec.prompts["verify"].sha256
    assert judge.verify_sync(Claim("attribute", "cat", value="black"), image).label == \
        "hallucinated"
    abstain = judge.verify_sync(Claim("existence", "zebra"), image)
    assert abstain.label == "unverifiable" and abstain.confidence is None
    broken = judge.verify_sync(Claim("relation", "bird", relation="on", object="roof"), image)
    assert broken.label == "unverifiable" and "could not be parsed" in broken.reason
    assert broken.evidence[0].payload["raw"] == "I would rather not say."
    stats = judge.stats.to_dict()["uses"]["verify"]
    assert stats["calls"] == 4 and stats["parse_failures"] == 1 and stats["abstains"] == 1
    assert stats["parse_failure_rate"] == 0.25 and stats["abstain_rate"] == 0.25
    judge.close()


def test_classify_and_decompose(image):
    judge, _ = mock_judge()
    assert judge.classify_yes_no_sync("Sure thing", "Is there a dog?") == "yes"
    assert judge.classify_yes_no_sync("Nope") == "no"
    detail = asyncio.run(judge.classify_yes_no_detailed("Hmm"))
    assert detail.label == "unknown" and not detail.parsed and detail.raw == "Maybe"
    claims = judge.decompose_sync("A dog on a sofa.")
    assert [(c.kind, c.subject, c.relation, c.object) for c in claims] == [
        ("existence", "dog", None, None), ("relation", "dog", "on", "sofa")]
    assert claims[1].span == (6, 15)
    # the judge's "cat" is nowhere in the response: not the model's claim, never scored
    assert judge.stats.to_dict()["uses"]["decompose"]["unfounded_claims"] == 1
    with pytest.raises(JudgeParseError) as info:
        judge.decompose_sync("Something else entirely.")
    assert info.value.raw == "Here are the claims: dog, sofa."
    judge.close()


def test_pin_mismatch_is_flagged_and_can_be_fatal(image):
    judge, _ = mock_judge(model_name="gpt-4o-2024-05-13")
    judge.verify_sync(Claim("existence", "dog"), image)
    info = judge.describe()
    assert info["pin_mismatch"] and info["reported_models"] == {"gpt-4o-2024-05-13": 1}
    assert info["stats"]["uses"]["verify"]["pin_mismatches"] == 1
    strict, _ = mock_judge(model_name="gpt-4o-2024-05-13", strict_pin=True)
    with pytest.raises(PinMismatch, match="gpt-4o-2024-05-13"):
        strict.verify_sync(Claim("existence", "dog"), image)


def test_repeatability_makes_distinct_calls(image, tmp_path):
    judge, api = mock_judge()
    items = [(Claim("existence", "dog"), image), (Claim("existence", "zebra"), image)]
    report = asyncio.run(judge.repeatability(items, repeats=3))
    assert api.calls == 6
    assert report == {"items": 2, "repeats": 3, "all_agree": 1.0, "pairwise": 1.0,
                      "fleiss_kappa": 1.0}         # an abstention ('unverifiable') is a label
    # an answer no parser reads is none: its item is left out, not counted as agreeing
    bird = asyncio.run(judge.repeatability(items + [(Claim("existence", "bird"), image)], 3))
    assert bird["items"] == 2 and bird["items_left_out"] == 1 and bird["fleiss_kappa"] == 1.0
    assert "could not be parsed" in bird["items_left_out_why"]


def test_judge_through_the_openai_protocol_with_the_shipped_spec(image, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-judge-test-000000")

    def responder(prompt, body):
        return '{"verdict": "hallucinated", "confidence": 1, "reason": "no"}'
    with FakeServer(responder=responder, model_name="gpt-4o-2024-08-06") as server:
        judge = Judge.load("gpt-4o-2024-08-06", base_url=server.url, cache=tmp_path / "c")
        v = judge.verify_sync(Claim("existence", "cat"), image)
        again = judge.verify_sync(Claim("existence", "cat"), image)       # from the cache
        body = server.requests[0]
        judge.close()
        assert len(server.requests) == 1
    assert v.label == again.label == "hallucinated"
    assert body["temperature"] == 0.0 and body["seed"] == 20240806
    assert body["model"] == "gpt-4o-2024-08-06"
    image_part = body["messages"][0]["content"][0]
    assert image_part["image_url"]["detail"] == "high"
    assert "There is a cat in the image." in body["messages"][0]["content"][1]["text"]
    assert judge.describe()["pin_mismatch"] is False


def test_claim_statements():
    assert claim_statement(Claim("count", "dog", value=2)) == \
        "There are exactly 2 dog(s) in the image."
    assert claim_statement(Claim("relation", "cup", relation="on", object="table")) == \
        "The cup is on the table."
    assert claim_statement(Claim("region", "dog", text="the dog at [1, 2, 3, 4]")) == \
        "the dog at [1, 2, 3, 4]"


# -- reliability --------------------------------------------------------------------------------
def test_repeat_agreement_and_fleiss():
    rows = [["yes", "yes", "yes"], ["yes", "no", "yes"], ["no", "no", "no"]]
    r = repeat_agreement(rows)
    assert r["items"] == 3 and r["all_agree"] == round(2 / 3, 4)
    assert r["pairwise"] == round((1 + 1 / 3 + 1) / 3, 4)
    # Fleiss (1971) style check on a small hand-computed example
    k = fleiss_kappa([["a", "a"], ["b", "b"], ["a", "b"], ["a", "a"]])
    p_bar = (1 + 1 + 0 + 1) / 4
    p_a = 5 / 8
    p_e = p_a ** 2 + (1 - p_a) ** 2
    assert k == pytest.approx((p_bar - p_e) / (1 - p_e))


def test_human_agreement_matches_sklearn(tmp_path):
    from sklearn.metrics import cohen_kappa_score
    judge = {"1": "supported", "2": "hallucinated", "3": "supported", "4": "unverifiable",
             "5": "supported", "9": "supported"}
    labels = tmp_path / "human.jsonl"
    human_rows = [("1", "supported"), ("2", "hallucinated"), ("3", "hallucinated"),
                  ("4", "unverifiable"), ("5", "supported"), ("7", "supported")]
    labels.write_text("".join(json.dumps({"id": i, "label": lab}) + "\n"
                              for i, lab in human_rows))
    human = load_labels(labels)
    out = human_agreement(judge, human)
    ids = ["1", "2", "3", "4", "5"]
    assert out["n"] == 5 and out["agreement"] == 0.8
    assert out["cohen_kappa"] == round(cohen_kappa_score([judge[i] for i in ids],
                                                         [human[i] for i in ids]), 4)
    assert out["only_judge"] == 1 and out["only_human"] == 1
    assert out["human_to_judge"]["hallucinated->supported"] == 1


def test_sync_methods_work_inside_a_running_event_loop(image):
    """A notebook runs an event loop: the blocking twins then run the judge's loop in a helper
    thread instead of failing."""
    judge, _ = mock_judge()

    async def cell():
        one = judge.verify_sync(Claim("existence", "dog"), image)
        many = judge.verify_many_sync([(Claim("existence", "cat"), image, None),
                                       (Claim("existence", "dog"), image, "A dog.")])
        return one, many
    one, many = asyncio.run(cell())
    assert one.label == "supported" and [v.label for v in many] == ["hallucinated", "supported"]
    assert judge.verify_sync(Claim("existence", "dog"), image).label == "supported"
    judge.close()


def test_offline_judge_answers_from_the_cache_only(image, tmp_path):
    from halluscope.errors import CacheMiss
    from halluscope.judges import load_judge
    judge, api = mock_judge()
    judge.close()
    online = Judge("gpt-4o-2024-08-06", api=api, cache=tmp_path / "c")
    online.verify_sync(Claim("existence", "dog"), image)
    online.close()
    calls = api.calls
    offline = Judge("gpt-4o-2024-08-06", api=api, cache=tmp_path / "c", offline=True)
    again = offline.verify_sync(Claim("existence", "dog"), image)
    assert again.label == "supported" and api.calls == calls
    assert offline.stats.use("verify").cached == 1
    with pytest.raises(CacheMiss, match="judge 'openai/gpt-4o-2024-08-06'"):
        offline.verify_sync(Claim("existence", "bird"), image)
    offline.close()
    cold = load_judge("gpt-4o-2024-08-06", cache_dir=tmp_path / "none", offline=True)
    with pytest.raises(CacheMiss, match=str(tmp_path / "none")):
        cold.verify_sync(Claim("existence", "dog"), image)
    cold.close()
    assert not (tmp_path / "none").exists()


def test_kappa_with_one_label_only_is_no_value_with_the_reason():
    """One label everywhere: the expected agreement is 1 and kappa 0/0. It was reported as 1.0,
    a perfect agreement from nothing."""
    same = {"1": "supported", "2": "supported", "3": "supported"}
    out = human_agreement(same, dict(same))
    assert out["agreement"] == 1.0 and out["cohen_kappa"] is None
    assert "only one label" in out["cohen_kappa_why_no_value"]
    assert "0/0" in out["cohen_kappa_why_no_value"]
    assert fleiss_kappa([["yes", "yes"], ["yes", "yes"]]) is None
    rep = repeat_agreement([["yes", "yes", "yes"], ["yes", "yes", "yes"]])
    assert rep["all_agree"] == 1.0 and rep["fleiss_kappa"] is None
    assert "only one label" in rep["fleiss_kappa_why_no_value"]
    # two labels: kappa is a number and no reason is given
    mixed = human_agreement({"1": "yes", "2": "no"}, {"1": "yes", "2": "no"})
    assert mixed["cohen_kappa"] == 1.0 and "cohen_kappa_why_no_value" not in mixed
    assert human_agreement({"1": "yes"}, {"2": "yes"})["cohen_kappa_why_no_value"]


def test_a_verdict_without_a_confidence_has_none_and_is_counted(image):
    """The judge said 'hallucinated' with no confidence: the verdict got 1.0, a number from
    nothing. It is None now (written as null), counted in the judge's stats and said."""
    from halluscope.scoring import judge_failures_note
    judge, _ = mock_judge()
    v = judge.verify_sync(Claim("attribute", "cat", value="black"), image)
    assert v.label == "hallucinated" and v.confidence is None
    assert v.to_dict()["confidence"] is None
    assert judge.verify_sync(Claim("existence", "dog"), image).confidence == 0.9
    stats = judge.stats.to_dict()["uses"]["verify"]
    assert stats["no_confidence"] == 1 and stats["calls"] == 2
    note = judge_failures_note({"claims": {"judge_reliability": stats}})
    assert note and "no confidence for 1 verdict" in note[0]
    judge.close()


def test_an_unverifiable_judge_verdict_has_no_confidence_it_was_not_given(image):
    """An abstention, an unreadable answer and a failed call came out with confidence 0.0, a
    number the judge never gave; None now (null in items.jsonl). An abstention without a
    confidence is counted in no_confidence like any verdict; one with a confidence keeps it."""
    from halluscope.adapters.types import AdapterError
    judge, api = mock_judge()
    abstain = judge.verify_sync(Claim("existence", "zebra"), image)
    broken = judge.verify_sync(Claim("relation", "bird", relation="on", object="roof"), image)
    assert [v.label for v in (abstain, broken)] == ["unverifiable"] * 2
    assert abstain.confidence is None and broken.confidence is None
    assert abstain.to_dict()["confidence"] is None and broken.to_dict()["confidence"] is None
    stats = judge.stats.to_dict()["uses"]["verify"]
    assert stats["no_confidence"] == 1 and stats["abstains"] == 1
    assert stats["parse_failures"] == 1

    async def failing(request):
        raise AdapterError("the server went away")
    api.generate = failing
    failed = judge.verify_sync(Claim("existence", "dog"), image)
    assert failed.label == "unverifiable" and failed.confidence is None
    assert "could not be asked" in failed.reason
    assert judge.stats.use("verify").call_failures == 1
    judge.close()


def test_an_abstention_keeps_the_confidence_the_judge_gave(image):
    judge, api = mock_judge()

    async def answer(request):
        from halluscope.adapters.types import Response
        return Response(text='{"verdict": "unverifiable", "confidence": 0.7, "reason": "dark"}',
                        model="gpt-4o-2024-08-06")
    api.generate = answer
    v = judge.verify_sync(Claim("existence", "dog"), image)
    assert v.label == "unverifiable" and v.confidence == 0.7
    assert judge.stats.use("verify").no_confidence == 0
    judge.close()


def test_a_strict_pin_fails_when_the_server_names_no_model(image, tmp_path, monkeypatch):
    """A server whose answers carry no model name passed a strict pin: nothing was verified.
    Strict means verified, so it stops; a judge that is not strict goes on as before."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-judge-test-000000")
    body = {"id": "chatcmpl-1", "object": "chat.completion", "created": 0, "choices": [{
        "index": 0, "finish_reason": "stop", "message": {
            "role": "assistant", "content": '{"verdict": "supported", "confidence": 0.9}'}}]}
    with FakeServer(responder=lambda prompt, req: {"body": body}) as server:
        strict = Judge.load("gpt-4o-2024-08-06", base_url=server.url, cache=False,
                            strict_pin=True)
        with pytest.raises(PinMismatch, match="reported no model name"):
            strict.verify_sync(Claim("existence", "cat"), image)
        strict.close()
        lax = Judge.load("gpt-4o-2024-08-06", base_url=server.url, cache=False)
        assert lax.verify_sync(Claim("existence", "cat"), image).label == "supported"
        assert lax.describe()["reported_models"] == {}
        lax.close()


@pytest.mark.parametrize("provider", ["anthropic", "gemini", "hf", "mock"])
def test_image_detail_for_a_provider_without_it_is_a_bad_spec(spec_dir, provider):
    """``[image] detail`` is OpenAI's; a spec giving it to another provider loaded (and was
    listed as valid by ``judges list``) and failed only when the judge was built."""
    from typer.testing import CliRunner

    from halluscope.cli import app
    spec = spec_dir / "gpt-4o-2024-08-06.toml"
    spec.write_text(spec.read_text().replace('provider = "openai"', f'provider = "{provider}"'))
    with pytest.raises(ConfigError, match=f"detail.*provider {provider!r}"):
        load_spec(spec)
    res = CliRunner().invoke(app, ["judges", "list", "--path", str(spec_dir)],
                             env={"COLUMNS": "300"})
    assert res.exit_code == 2 and "detail" in res.output, res.output
    res = CliRunner().invoke(app, ["judges", "show", str(spec)])
    assert res.exit_code == 2 and "detail" in res.output, res.output
    spec.write_text(spec.read_text().replace('detail = "high"', ''))
    assert load_spec(spec).provider == provider                      # without detail: fine
