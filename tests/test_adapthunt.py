"""A user-style hunt through the model adapters and judges against loopback servers: each test
is a bug that was found this way (the fix named in its docstring)."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from fake_openai_server import FakeServer
from halluscope.adapters.registry import get_model
from halluscope.adapters.types import Message, Request
from halluscope.errors import ConfigError
from halluscope.judges.spec import load_spec

REPO_JUDGES = Path(__file__).resolve().parents[1] / "judges"

ANTHROPIC_KEY = "sk-ant-hunt-0123456789"


def _ask(api, request):
    async def main():
        try:
            return await api.generate(request)
        finally:
            await api.aclose()
    return asyncio.run(main())


def test_anthropic_base_url_with_a_query_string_keeps_its_path(monkeypatch):
    """A gateway address carrying its own query (``?key=...``) was glued in front of the
    SDK's path (``/?key=.../v1/messages``: HTTP 404 for every prompt); the query now goes
    with every request as the OpenAI-compatible adapter sends it."""
    monkeypatch.setenv("ANTHROPIC_API_KEY", ANTHROPIC_KEY)
    with FakeServer() as server:
        api = get_model("anthropic/claude-hunt", base_url=server.base + "/?key=GATEWAY1234567")
        resp = _ask(api, Request((Message.user("hello"),)))
        base = server.base
    assert resp.text == "echo: hello"
    assert api.describe()["base_url"] == base + "/"     # never the key


@pytest.mark.parametrize("line", ["top_p = 1.5", "top_p = 0.0", "top_p = nan",
                                  "temperature = inf", "temperature = nan"])
def test_a_judge_spec_with_decoding_no_request_can_carry_is_refused_when_loaded(tmp_path, line):
    """A spec with ``top_p = 1.5`` (or an infinite temperature) was listed and shown as
    valid, then crashed the audit as an internal error (exit 3, ``ValueError: expected top_p
    in (0, 1]``) when the judge was built; it is a bad spec, named with the file and field."""
    shutil.copytree(REPO_JUDGES / "templates", tmp_path / "templates")
    text = (REPO_JUDGES / "gpt-4o-2024-08-06.toml").read_text()
    key = line.split()[0]
    kept = [raw for raw in text.splitlines() if not raw.startswith(f"{key} =")]
    at = kept.index("[decoding]") + 1
    spec = tmp_path / "bad.toml"
    spec.write_text("\n".join([*kept[:at], line, *kept[at:]]) + "\n")
    with pytest.raises(ConfigError, match=key):
        load_spec(spec)
