"""A provider option of the wrong type (``-O timeout=abc``) is a usage error when the adapter is
made, naming the option and the type expected; it was an SDK's TypeError deep inside the
adapter's constructor (exit 3), or a value taken silently. A value that may be a credential is
never echoed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from halluscope.adapters.option_types import check_option_types, parameter_types
from halluscope.adapters.registry import get_model
from halluscope.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
SECRET = "sk-live-0123456789abcdef"


@pytest.mark.parametrize("model, options, said", [
    ("vllm/m", {"timeout": "abc"}, "provider option timeout (vllm): expected a number (or "
                                   "null), got 'abc' (str)"),
    ("vllm/m", {"timeout": True}, "expected a number (or null), got True (bool)"),
    ("vllm/m", {"timeout": "30"}, "write the number without quotes (-O timeout=30)"),
    ("vllm/m", {"max_side": 512.5}, "provider option max_side (vllm): expected a whole number"),
    ("openai/gpt-4o", {"api_version": 3}, "api_version (openai): expected a string (or null), "
                                          "got 3 (int): quote it as JSON text"),
    ("anthropic/claude-x", {"timeout": "abc"}, "provider option timeout (anthropic)"),
    ("anthropic/claude-x", {"send_sampling_params": "maybe"},
     "send_sampling_params (anthropic): expected true or false, got 'maybe' (str)"),
    ("gemini/g", {"timeout": "abc"}, "provider option timeout (gemini): expected a number"),
    ("hf/some/model", {"processor_kwargs": "x"}, "processor_kwargs (hf): expected a JSON object"),
    ("hf/some/model", {"trust_remote_code": "yes"}, "expected true or false, got 'yes'"),
    ("mock/echo", {"latency": "slow"}, "provider option latency (mock): expected a number"),
])
def test_an_option_of_the_wrong_type_names_it_and_the_type(model, options, said):
    with pytest.raises(ConfigError) as err:
        get_model(model, offline=True, **options)
    assert said in str(err.value)


@pytest.mark.parametrize("name, value", [
    ("timeout", SECRET),                                    # a key pasted in the wrong place
    ("default_headers", f"Authorization: Bearer {SECRET}"),  # a header, not a mapping
    ("default_headers", ["Authorization", "zz"]),            # a list: never shown
])
def test_a_value_that_may_be_a_credential_is_never_echoed(name, value):
    with pytest.raises(ConfigError) as err:
        get_model("vllm/m", offline=True, **{name: value})
    text = str(err.value)
    assert f"provider option {name} (vllm): expected" in text
    assert "(not shown)" in text
    assert SECRET not in text and "Bearer" not in text and "zz" not in text


def test_values_of_the_right_type_pass():
    api = get_model("vllm/m", offline=True, timeout=30, max_side=512, detail="low",
                    default_headers={"X-Team": "a"}, pin="m@1")
    assert api.pin == "m@1"
    get_model("vllm/m", offline=True, timeout=None, image_policy="none")
    get_model("mock/echo", latency=0, responses={"a": "b"})


def test_unknown_annotations_and_untyped_parameters_are_not_checked():
    class Policy:
        pass

    def factory(model, *, policy: "Policy | None" = None, free=None, **rest):  # noqa: ANN001
        return None
    hints = parameter_types(factory)
    assert "free" not in hints and "rest" not in hints
    check_option_types(factory, "x", {"policy": 5, "free": "anything", "other": [1]})


def test_the_cli_exits_2_naming_the_option(tmp_path):
    """``halluscope query ... -O timeout=abc`` was "internal error: TypeError: Invalid
    timeout" (exit 3)."""
    (tmp_path / "p.jsonl").write_text(json.dumps({"id": "a", "prompt": "Say a"}) + "\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT), COLUMNS="200", OPENAI_API_KEY=SECRET,
               HALLUSCOPE_CACHE=str(tmp_path / "cache"))
    for option, said in [("timeout=abc", "provider option timeout (vllm): expected a number"),
                         (f"timeout={SECRET}", "got a value of type str (not shown)")]:
        res = subprocess.run([sys.executable, "-m", "halluscope", "query", "p.jsonl", "-m",
                              "vllm/m", "--base-url", "http://127.0.0.1:9/v1", "-O", option,
                              "-o", "out.jsonl", "-q"], env=env, capture_output=True,
                             text=True, timeout=120, cwd=tmp_path)
        said_all = " ".join((res.stdout + res.stderr).split())
        assert res.returncode == 2, said_all
        assert said in said_all and "internal error" not in said_all
        assert SECRET not in said_all
        assert not (tmp_path / "out.jsonl").exists() or \
            (tmp_path / "out.jsonl").read_text() == ""
