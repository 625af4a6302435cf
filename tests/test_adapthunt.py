"""A user-style hunt through the model adapters and judges against loopback servers: each test
is a bug that was found this way (the fix named in its docstring)."""

from __future__ import annotations

import asyncio

from fake_openai_server import FakeServer
from halluscope.adapters.registry import get_model
from halluscope.adapters.types import Message, Request

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
