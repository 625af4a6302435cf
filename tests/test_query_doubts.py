"""Regressions for doubts a bug hunt of the model-calling side left (``halluscope query``,
judges): image ``detail`` values, resumed files whose ids left the prompts, prompt lines without
an id. Every server here is the loopback :class:`FakeServer`."""

from __future__ import annotations

import json

import pytest
from PIL import Image
from typer.testing import CliRunner

from fake_openai_server import FakeServer
from halluscope.adapters.client import RetryPolicy
from halluscope.adapters.query import query
from halluscope.cli import app
from halluscope.errors import ConfigError

KEY = "sk-doubts-test-0123456789"
FAST = RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.02)


@pytest.fixture(autouse=True)
def key(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.delenv("HALLUSCOPE_OFFLINE", raising=False)


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _image_prompts(tmp_path):
    Image.new("RGB", (32, 32), (10, 200, 10)).save(tmp_path / "a.png")
    return _write(tmp_path / "p.jsonl", [{"id": "a", "image": "a.png", "prompt": "What?"}])


# -- 5. --detail -------------------------------------------------------------------------------
def test_an_image_detail_the_api_refuses_is_a_usage_error_naming_the_flag(tmp_path):
    """Any --detail was sent as it was: every request then failed at the server (or a typo
    such as 'hgih' went out unnoticed to a lenient one)."""
    from halluscope.adapters.types import IMAGE_DETAILS
    prompts = _image_prompts(tmp_path)
    assert set(IMAGE_DETAILS) >= {"auto", "low", "high"}
    with FakeServer() as server:
        res = CliRunner().invoke(app, ["query", str(prompts), "-m", "openai/m", "--base-url",
                                       server.url, "--no-cache", "-o", str(tmp_path / "o.jsonl"),
                                       "--detail", "hgih", "--quiet"])
        assert res.exit_code == 2, res.output
        assert "--detail" in res.output and "'hgih'" in res.output
        with pytest.raises(ConfigError, match="detail"):
            query(prompts, "openai/m", base_url=server.url, cache=False, detail="ultra")
        with pytest.raises(ConfigError, match="the detail option"):
            query(prompts, "openai/m", base_url=server.url, cache=False,
                  model_options={"detail": "ultra"})
        assert server.requests == []                               # nothing was sent
        res = CliRunner().invoke(app, ["query", str(prompts), "-m", "openai/m", "--base-url",
                                       server.url, "--no-cache", "-o", str(tmp_path / "o.jsonl"),
                                       "--detail", "low", "--quiet"])
        assert res.exit_code == 0, res.output
        part = server.requests[0]["messages"][0]["content"][0]
        assert part["image_url"]["detail"] == "low"


def test_a_judge_spec_with_an_unknown_image_detail_is_refused():
    from halluscope.judges.spec import ImageSpec
    assert ImageSpec(detail="high").detail == "high"
    with pytest.raises(ValueError, match="expected one of auto, low, high"):
        ImageSpec(detail="hgih")
