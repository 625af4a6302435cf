"""A judge template must ask for what its parser reads (halluscope/judges/wording.py).

A verify template asking for a confidence "from 0 to 100" under ``verdict-json`` (which reads
0 to 1) loaded without a word: every confidence was dropped as off the scale. A template asking
for "yes or no" under ``verdict-json`` made every answer a parse failure. Loading such a spec is
now a ConfigError naming the template file and the mismatch (exit 2 on the command line)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from halluscope.errors import ConfigError
from halluscope.judges.parsers import PARSERS
from halluscope.judges.spec import find_specs, load_spec
from halluscope.judges.wording import CHECKS, confidence_scales, wording_problems

ROOT = Path(__file__).resolve().parents[1]

VERIFY = """Check one statement about the image.

Statement: $statement

Reply with one JSON object and nothing else:
{"verdict": "supported" or "hallucinated" or "unverifiable", "confidence": CONF, "reason": "why"}
"""


def _spec(tmp_path: Path, template: str, parser: str = "verdict-json", use: str = "verify",
          extra: str = "") -> Path:
    (tmp_path / "templates").mkdir(exist_ok=True)
    tpl = tmp_path / "templates" / f"{use}.txt"
    tpl.write_text(template, encoding="utf-8")
    sha = hashlib.sha256(tpl.read_bytes()).hexdigest()
    spec = tmp_path / "my-judge.toml"
    spec.write_text(f'name = "my-judge"\nprovider = "openai"\nmodel = "gpt-4o-2024-08-06"\n\n'
                    f'[prompts.{use}]\ntemplate = "templates/{use}.txt"\nsha256 = "{sha}"\n'
                    f'parser = "{parser}"\n{extra}', encoding="utf-8")
    return spec


def test_every_shipped_spec_passes_the_wording_check():
    specs = find_specs([ROOT / "tests" / "judges"])
    assert {"gpt-4o-2024-08-06", "qwen2.5-vl-7b-instruct", "hallusionbench-gpt-4",
            "mmhal-gpt-4-0314", "objhal-gpt-3.5-turbo-0613", "loopback-judge"} <= set(specs)
    for file in specs.values():
        spec = load_spec(file)
        for prompt in spec.prompts.values():
            assert prompt.check_wording and not wording_problems(prompt.parser, prompt.text)


def test_every_parser_has_a_wording_check():
    assert {p for parsers in PARSERS.values() for p in parsers} == set(CHECKS)


def test_a_percent_confidence_under_the_unit_parser_is_refused_naming_the_template(tmp_path):
    spec = _spec(tmp_path, VERIFY.replace("CONF", "a number from 0 to 100"))
    with pytest.raises(ConfigError) as err:
        load_spec(spec)
    message = str(err.value)
    assert message.startswith(f"{spec}: prompts.verify: template ")
    assert str(tmp_path / "templates" / "verify.txt") in message
    assert "'verdict-json'" in message and "from 0 to 100" in message
    assert "'verdict-json-percent' reads that" in message


def test_yes_no_wording_under_a_json_verdict_parser_is_refused(tmp_path):
    spec = _spec(tmp_path, "Is the statement true of the image? $statement\n"
                           "Answer with one word: yes or no.\n")
    with pytest.raises(ConfigError, match="asks for no JSON object.*; the template asks for "
                                          "one word"):
        load_spec(spec)


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "halluscope", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=300,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin",
                               "COLUMNS": "300", "HOME": str(ROOT)})


def test_the_command_line_exits_2_naming_the_template(tmp_path):
    spec = _spec(tmp_path, VERIFY.replace("CONF", "0 to 100"))
    shown = _cli("judges", "show", str(spec))
    assert shown.returncode == 2, shown.stdout + shown.stderr
    said = " ".join((shown.stdout + shown.stderr).split())
    assert "verify.txt" in said and "from 0 to 100" in said
    rows = tmp_path / "in.jsonl"
    rows.write_text(json.dumps({"id": "a", "image": str(ROOT / "data" / "images" / "astronaut.jpg"),
                                "response": "A cat sits on a mat."}) + "\n")
    audit = _cli("audit", str(rows), "--metric", "claims", "--judge", str(spec),
                 "--out", str(tmp_path / "out"), "--offline")
    assert audit.returncode == 2, audit.stdout + audit.stderr
    assert "verify.txt" in " ".join((audit.stdout + audit.stderr).split())


@pytest.mark.parametrize("conf", [
    "a number from 0 to 1", "a number between 0 and 1", "from 0.0 to 1.0", "a value in [0, 1]",
    "your probability that the verdict is right", "0-1 (not a percentage)", "0.85",
    "a number (how sure you are)",                        # no scale stated: the unit parser
])
def test_unit_wordings_load_under_verdict_json(tmp_path, conf):
    assert load_spec(_spec(tmp_path, VERIFY.replace("CONF", conf))).name == "my-judge"


@pytest.mark.parametrize("conf", [
    "a number from 0 to 100", "your confidence as a percentage", "0-100%", "85",
    "a score out of 100",
])
def test_percent_wordings_load_under_verdict_json_percent(tmp_path, conf):
    spec = _spec(tmp_path, VERIFY.replace("CONF", conf), parser="verdict-json-percent")
    assert load_spec(spec).prompts["verify"].parser == "verdict-json-percent"


@pytest.mark.parametrize("conf,parser,said", [
    ("a number from 0 to 100", "verdict-json", "from 0 to 100"),
    ("85", "verdict-json", "from 0 to 100"),
    ("a rating from 1 to 5", "verdict-json", "confidence 1 to 5, but"),
    ("a number from 0 to 1", "verdict-json-percent", "from 0 to 1, but"),
    ("a number (how sure you are)", "verdict-json-percent", "without saying it is from 0 to 100"),
    ("0 to 1, or a percentage", "verdict-json", "two scales"),
    ('"high", "medium" or "low"', "verdict-json", "as words (high, medium, low), but"),
])
def test_confidence_scale_mismatches(tmp_path, conf, parser, said):
    with pytest.raises(ConfigError) as err:
        load_spec(_spec(tmp_path, VERIFY.replace("CONF", conf), parser=parser))
    assert said in str(err.value)


@pytest.mark.parametrize("template,parser,use,said", [
    (VERIFY.replace("CONF", "0 to 1").replace('"unverifiable"', '"partially"'), "verdict-json",
     "verify", "'partially'"),
    (VERIFY.replace("CONF", "0 to 1").replace("verdict", "decision"), "verdict-json", "verify",
     "no \"verdict\" key"),
    (VERIFY.replace("CONF", "0 to 1"), "verdict-line", "verify", "asks for JSON"),
    ('Does the answer mean yes? $answer\nReply as JSON: {"answer": "yes" or "no"}',
     "yes-no-word", "classify_yes_no", "asks for JSON"),
    ("Does $answer mean true or false? One word.", "yes-no-word", "classify_yes_no",
     "never says 'yes' or 'no'"),
    ("Split $text into claims, one per line.", "claims-json", "decompose", "'kind' or 'subject'"),
    ("Rate $response for $question ($image_content, $standard_answer).\nRating: 1 to Rating: 10",
     "mmhal-rating", "mmhal_rating", "[10]"),
])
def test_other_mismatches(tmp_path, template, parser, use, said):
    with pytest.raises(ConfigError) as err:
        load_spec(_spec(tmp_path, template, parser=parser, use=use))
    assert said in str(err.value)


def test_a_right_template_that_trips_the_check_can_say_so(tmp_path):
    spec = _spec(tmp_path, VERIFY.replace("CONF", "a number from 0 to 100"),
                 extra="check_wording = false\n")
    loaded = load_spec(spec)
    assert loaded.describe()["prompts"]["verify"]["check_wording"] is False
    # strict: a quoted "false" is a bad spec, not read as false
    spec.write_text(spec.read_text().replace("check_wording = false", 'check_wording = "false"'))
    with pytest.raises(ConfigError, match="check_wording"):
        load_spec(spec)


def test_confidence_scales_are_read_where_confidence_is_named():
    assert confidence_scales(VERIFY.replace("CONF", "0 to 1")) == {"unit"}
    # numbers elsewhere in the template are not the confidence's scale
    text = "Rate 1 to 10 things. " + VERIFY.replace("CONF", "0 to 1")
    assert confidence_scales(text) == {"unit"}
    assert confidence_scales("Statement: $statement\nReply yes or no.") == set()
