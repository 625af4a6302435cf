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


# -- 6. a resume keeps answers whose ids left the prompts ------------------------------------
def test_a_resume_says_which_kept_answers_are_for_ids_no_longer_in_the_prompts(tmp_path,
                                                                               caplog):
    """The prompts file lost ids between runs: the resume kept their answers in the output
    without a word. It still keeps them (they are answers the file holds), but warns with the
    count and examples, and the run sheet records them."""
    out = tmp_path / "o.jsonl"
    first = _write(tmp_path / "p1.jsonl", [{"id": f"old{i}", "prompt": f"q{i}"} for i in range(7)]
                   + [{"id": "keep", "prompt": "k"}])
    second = _write(tmp_path / "p2.jsonl", [{"id": "keep", "prompt": "k"},
                                            {"id": "new", "prompt": "n"}])
    with FakeServer() as server:
        args = ["query", "-m", "openai/m", "--base-url", server.url, "--no-cache", "-o",
                str(out), "--quiet"]
        assert CliRunner().invoke(app, [*args[:1], str(first), *args[1:]]).exit_code == 0
        sheet = json.loads((tmp_path / "o.jsonl.runsheet.json").read_text())
        assert "not_in_prompts" not in sheet
        res = CliRunner().invoke(app, [*args[:1], str(second), *args[1:]])
        assert res.exit_code == 0, res.output
    assert "keeps 7 answer line(s) whose id is not in the prompts file" in res.output
    assert "'old0'" in res.output and "..." in res.output
    assert "keeps 7 answer line(s)" in caplog.text             # said when the resume starts
    sheet = json.loads((tmp_path / "o.jsonl.runsheet.json").read_text())
    assert sheet["not_in_prompts"] == {"count": 7,
                                       "examples": ["old0", "old1", "old2", "old3", "old4"]}
    ids = [json.loads(line)["id"] for line in out.read_text().splitlines()]
    assert sorted(ids) == sorted([f"old{i}" for i in range(7)] + ["keep", "new"])


# -- 7. a line without an id is given its line number ----------------------------------------
def test_a_duplicate_made_by_a_line_number_id_says_so(tmp_path):
    """Line 1 had no id and got '1'; line 3's ``"id": 1`` then read "duplicate id '1' (first on
    line 1)", although line 1 says no id at all."""
    prompts = _write(tmp_path / "p.jsonl", [{"prompt": "no id here"}, {"id": "b", "prompt": "b"},
                                            {"id": 1, "prompt": "one"}, {"id": "b", "prompt": "x"},
                                            {"id": 5, "prompt": "five"}, {"prompt": "no id"}])
    res = CliRunner().invoke(app, ["query", str(prompts), "-m", "mock/echo", "--no-cache",
                                   "-o", str(tmp_path / "o.jsonl"), "--quiet"])
    assert res.exit_code == 2, res.output
    text = " ".join(res.output.split())
    assert (f"{prompts}:3: duplicate id '1' (line 1 had no id and was given its line number 1 "
            f"as id" in text)
    assert f"{prompts}:4: duplicate id 'b' (first on line 2)" in text     # a real duplicate
    assert (f"{prompts}:6: duplicate id '6'" not in text
            and f"{prompts}:6:" not in text)                             # 6 is nobody's id
    # this line has no id and its number is an earlier line's own id
    prompts = _write(tmp_path / "q.jsonl", [{"id": 2, "prompt": "two"}, {"prompt": "no id"}])
    res = CliRunner().invoke(app, ["query", str(prompts), "-m", "mock/echo", "--no-cache",
                                   "-o", str(tmp_path / "o2.jsonl"), "--quiet"])
    assert res.exit_code == 2, res.output
    assert ("this line has no id and was given its line number 2 as id, which line 1 has as "
            "its own id" in " ".join(res.output.split()))
