"""``halluscope query`` driven as a user drives it, against loopback servers that answer as
Anthropic's Messages API and Gemini's generateContent answer on the wire
(:mod:`fake_vendor_servers`), and against a tiny random-weight local transformers model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from fake_vendor_servers import VendorServer

ANTHROPIC_KEY = "sk-ant-api03-WIREHUNT7q2Zx9"
GEMINI_KEY = "AIzaSyWIREHUNT-3kq8Lm0pQ"
ROOT = Path(__file__).resolve().parents[1]


def _prompts(tmp_path: Path, words: list[str]) -> Path:
    Image.new("RGB", (64, 48), (200, 10, 10)).save(tmp_path / "cat.png")
    src = tmp_path / "p.jsonl"
    src.write_text("".join(json.dumps({"id": w, "image": "cat.png",
                                       "prompt": f"Describe {w} please"}) + "\n"
                           for w in words))
    return src


def _run(tmp_path: Path, model: str, base: str | None, *args: str, timeout: float = 120
         ) -> subprocess.CompletedProcess:
    """``halluscope query`` in its own process, as a user runs it (keys from the
    environment, the cache under ``tmp_path``)."""
    env = dict(os.environ, ANTHROPIC_API_KEY=ANTHROPIC_KEY, GEMINI_API_KEY=GEMINI_KEY,
               PYTHONPATH=str(ROOT), COLUMNS="80", HALLUSCOPE_CACHE=str(tmp_path / "cache"))
    env.pop("GOOGLE_API_KEY", None)
    cmd = [sys.executable, "-m", "halluscope", "query", str(tmp_path / "p.jsonl"), "-m", model,
           "-o", str(tmp_path / "out.jsonl"), *args]
    if base:
        cmd += ["--base-url", base]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)


def _lines(path: Path) -> dict[str, dict]:
    return {r["id"]: r for r in map(json.loads, path.read_text().splitlines())}


def test_anthropic_monthly_spend_cap_stops_the_run_instead_of_retrying(tmp_path):
    """Anthropic's 429 for the tier's monthly spend cap (``error.details.error_code``
    ``enforced_spend_limit_reached``, no ``retry-after``) was retried as a rate limit: every
    record asked ``--max-attempts`` times, each failing, for a cap that lifts next month. It
    stops the run as OpenAI's ``insufficient_quota`` does."""
    _prompts(tmp_path, ["a1", "a2", "a3", "a4"])
    script = {w: ["spend"] * 10 for w in ("a1", "a2", "a3", "a4")}
    with VendorServer("anthropic", script, key=ANTHROPIC_KEY) as server:
        res = _run(tmp_path, "anthropic/claude-test-1", server.base, "--max-attempts", "4",
                   "-c", "1")
        asked = len(server.requests)
    text = " ".join((res.stdout + res.stderr).split())
    assert res.returncode == 2, text
    assert "quota exhausted (HTTP 429, enforced_spend_limit_reached)" in text
    assert asked == 1, f"the spend cap was asked {asked} times"


def test_anthropic_spend_limit_400_is_no_refusal_kept_by_a_resume(tmp_path):
    """A spend limit the organisation set answers HTTP 400 (``invalid_request_error``, "You have
    reached your specified API usage limits ..."). Read as a request rejected as sent, every
    record was written ``"refused": true`` and the resume after the limit was raised kept them
    all, asking nothing. It stops the run as a spent quota, and the re-run asks them."""
    _prompts(tmp_path, ["a1", "a2", "a3", "a4", "a5", "a6"])
    with VendorServer("anthropic", {"a1": ["spend400"]}) as server:
        res = _run(tmp_path, "anthropic/claude-test-1", server.base, "-c", "1")
        text = " ".join((res.stdout + res.stderr).split())
        assert res.returncode == 2, text
        assert "quota exhausted (HTTP 400" in text and "API usage limits" in text
        assert len(server.requests) <= 2  # the one in flight beside it may be answered
        assert not any(r.get("refused") for r in _lines(tmp_path / "out.jsonl").values())
        again = _run(tmp_path, "anthropic/claude-test-1", server.base, "-c", "1")
    assert again.returncode == 0, again.stdout + again.stderr
    assert all("response" in r for r in _lines(tmp_path / "out.jsonl").values())
