"""Adapter leftovers, driven against loopback servers: a request an SDK cannot build (a
parameter of the wrong type) stops the run at once naming the parameter, rather than being
retried as a malformed response; a connection that failed through a proxy names the proxy
(host and port, never its credentials) on each record."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fake_openai_server import FakeServer

from halluscope.adapters.client import ModelClient, RetryPolicy
from halluscope.adapters.registry import get_model
from halluscope.adapters.sdk_errors import map_sdk_error, proxy_note, proxy_place, unbuildable
from halluscope.adapters.types import (AdapterError, ConnectFailed, Decoding, MalformedResponse,
                                       Message, Request, SetupError)

ROOT = Path(__file__).resolve().parents[1]
KEYS = {"OPENAI_API_KEY": "sk-left7-test-0000", "ANTHROPIC_API_KEY": "sk-ant-left7-0000",
        "GEMINI_API_KEY": "AIzaLeft7-0000"}


def _request(text: str = "hi") -> Request:
    return Request((Message.user(text),), Decoding())


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ask(api, request: Request, **policy):
    client = ModelClient(api, retry=RetryPolicy(base_delay=0.01, **policy))

    async def main():
        try:
            return await client.generate(request)
        finally:
            await client.aclose()
    return client, main


def _query(tmp_path: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    (tmp_path / "p.jsonl").write_text("".join(
        json.dumps({"id": f"t{i}", "prompt": f"Say {i}"}) + "\n" for i in range(3)))
    full = dict(os.environ, **KEYS, PYTHONPATH=str(ROOT), COLUMNS="200",
                HALLUSCOPE_CACHE=str(tmp_path / "cache"), **(env or {}))
    cmd = [sys.executable, "-m", "halluscope", "query", "p.jsonl", "-o", "out.jsonl", "-q",
           *args]
    return subprocess.run(cmd, env=full, capture_output=True, text=True, timeout=180,
                          cwd=tmp_path)


# -- a request the SDK cannot build ------------------------------------------------------------
@pytest.mark.parametrize("headers, named", [
    ('{"X-Team": 5}', "the header 'X-Team' holds a value of type int, expected a string"),
    # no mapping at all: refused when the adapter is made, before any request is built
    ('"X-Team: a"', "provider option default_headers (vllm): expected a JSON object"),
])
def test_a_header_option_of_the_wrong_type_stops_the_run_naming_it(tmp_path, headers, named):
    """``-O default_headers={"X-Team": 5}`` made the SDK raise TypeError while it built each
    request; taken for a malformed response, every record was retried 6 times (20 s of
    waiting) and failed. Now the run stops at once, exit 2, naming the option and header."""
    with FakeServer() as server:
        t0 = time.monotonic()
        res = _query(tmp_path, "-m", "vllm/m", "--base-url", server.url, "--no-cache",
                     "-O", f"default_headers={headers}")
        took = time.monotonic() - t0
        assert server.requests == []
    said = " ".join((res.stdout + res.stderr).split())
    assert res.returncode == 2, said
    if "X-Team: a" not in headers:
        assert "the request cannot be built, nothing was sent (TypeError: " in said
    assert named in said
    assert "gave up after" not in said and "MalformedResponse" not in said
    assert took < 15, took


def test_a_body_value_json_cannot_carry_is_named_and_not_retried():
    """A value JSON cannot carry (a set here; NaN too) fails the build: one attempt, no
    retry, a SetupError naming where in the request it is."""
    with FakeServer() as server:
        api = get_model("vllm/m", base_url=server.url)
        build = api.build
        api.build = lambda r: {**build(r), "temperature": {1, 2}}
        client, main = _ask(api, _request())
        with pytest.raises(SetupError) as err:
            asyncio.run(main())
        assert server.requests == []
    assert client.calls == 1 and client.retries == 0
    assert "the request's 'temperature' is {1, 2} (set), which JSON cannot carry" \
        in str(err.value)


def test_anthropic_build_errors_stop_too(monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEYS["ANTHROPIC_API_KEY"])
    with FakeServer() as server:
        api = get_model("anthropic/claude-x", base_url=server.base)
        build = api.build
        api.build = lambda r: {**build(r), "extra_body": {"temperature": float("nan")}}
        client, main = _ask(api, _request())
        with pytest.raises(SetupError) as err:
            asyncio.run(main())
        assert server.requests == []
    assert client.retries == 0
    assert "ValueError" in str(err.value)
    assert "the request's 'extra_body'['temperature'] is nan (float)" in str(err.value)


def _raise_in(name: str, exc: BaseException) -> BaseException:
    """``exc`` as raised inside a function called ``name`` (its traceback shows that frame)."""
    namespace: dict = {}
    exec(f"def {name}(e):\n    raise e\n", namespace)
    try:
        namespace[name](exc)
    except BaseException as raised:  # noqa: BLE001
        return raised
    raise AssertionError("unreachable")


def test_only_errors_raised_while_building_are_setup_errors():
    """A ValueError from reading an answer (a body that is no JSON) is still a malformed
    response, retried; the same class raised inside a build step (the SDKs' _build_request,
    google-genai's *_to_mldev converters) is a SetupError."""
    import openai
    decoding = _raise_in("_process_response", json.JSONDecodeError("x", "doc", 0))
    assert isinstance(map_sdk_error(decoding, openai), MalformedResponse)
    assert unbuildable(decoding) is None
    for where in ("_build_request", "_GenerateContentConfig_to_mldev", "_build_headers"):
        assert isinstance(unbuildable(_raise_in(where, TypeError("bad"))), SetupError)
    assert unbuildable(_raise_in("_build_request", KeyError("k"))) is None  # no type error
    assert isinstance(map_sdk_error(_raise_in("_build_request", ValueError("v")), openai),
                      SetupError)


def test_gemini_maps_build_errors_to_setup(monkeypatch):
    pytest.importorskip("google.genai")
    monkeypatch.setenv("GEMINI_API_KEY", KEYS["GEMINI_API_KEY"])
    api = get_model("gemini/gemini-x", base_url="http://127.0.0.1:9")
    err = api._map(_raise_in("_GenerateContentParameters_to_mldev", TypeError("bad type")))
    assert isinstance(err, SetupError) and "nothing was sent" in str(err)
    # an answer that fails the SDK's own reading is still malformed (retried)
    assert isinstance(api._map(_raise_in("_from_response", ValueError("v"))),
                      MalformedResponse)


# -- a connection that failed through a proxy -------------------------------------------------
@pytest.mark.parametrize("proxy, place", [
    ("http://puser:S3cr3tPw@proxy.corp:3128", "proxy.corp:3128"),
    ("http://token@10.0.0.1:8080/", "10.0.0.1:8080"),
    ("proxy.corp:3128", "proxy.corp:3128"),
    ("https://u:p@proxy.corp", "proxy.corp:443"),
    ("http://[::1]:3128", "[::1]:3128"),
    ("socks5://u:p@127.0.0.1", "127.0.0.1:1080"),
])
def test_a_proxy_is_named_by_host_and_port_only(proxy, place):
    assert proxy_place(proxy) == place


def test_proxy_note_never_says_the_proxy_credentials(monkeypatch):
    for var in ("HTTP_PROXY", "http_proxy"):
        monkeypatch.setenv(var, "http://puser:S3cr3tPw@127.0.0.1:9")
    for var in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(var, "")
    note = proxy_note("http://127.0.0.1:8000/v1")
    assert note == ("; asked through the proxy 127.0.0.1:9 that HTTP_PROXY names "
                    "(NO_PROXY=127.0.0.1 to go direct)")


def test_each_record_failing_to_connect_names_the_proxy(monkeypatch):
    """A record whose connection failed said "connection failed ... (gave up after N
    attempts)": whether the server or the proxy in between was down was not said until the
    run stopped after several. Each such record now names the proxy (host:port)."""
    port = _dead_port()
    for var in ("HTTP_PROXY", "http_proxy"):
        monkeypatch.setenv(var, f"http://puser:S3cr3tPw@127.0.0.1:{port}")
    for var in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(var, "")
    monkeypatch.setenv("OPENAI_API_KEY", KEYS["OPENAI_API_KEY"])
    api = get_model("vllm/m", base_url="http://127.0.0.1:8/v1")
    _, main = _ask(api, _request(), max_attempts=2)
    with pytest.raises(ConnectFailed) as err:
        asyncio.run(main())
    said = str(err.value)
    assert f"(gave up after 2 attempts; asked through the proxy 127.0.0.1:{port} that " \
           f"HTTP_PROXY names (NO_PROXY=127.0.0.1 to go direct))" in said
    assert "puser" not in said and "S3cr3tPw" not in said


def test_a_direct_connection_failure_names_no_proxy(monkeypatch):
    for var in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY",
                "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", KEYS["OPENAI_API_KEY"])
    api = get_model("vllm/m", base_url=f"http://127.0.0.1:{_dead_port()}/v1")
    _, main = _ask(api, _request(), max_attempts=1)
    with pytest.raises(AdapterError) as err:
        asyncio.run(main())
    assert "proxy" not in str(err.value) and "gave up after 1 attempts" in str(err.value)


def test_query_records_name_the_proxy(tmp_path):
    port = _dead_port()
    proxy = f"http://puser:S3cr3tPw@127.0.0.1:{port}"
    res = _query(tmp_path, "-m", "vllm/m", "--base-url", "http://127.0.0.1:8/v1", "--no-cache",
                 "--max-attempts", "1",
                 env={"HTTP_PROXY": proxy, "http_proxy": proxy, "NO_PROXY": "",
                      "no_proxy": ""})
    said = res.stdout + res.stderr
    assert res.returncode != 0, said      # every record failed
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert len(rows) == 3 and all(f"proxy 127.0.0.1:{port} that HTTP_PROXY" in r["error"]
                                  for r in rows), rows
    assert "S3cr3tPw" not in said + (tmp_path / "out.jsonl").read_text()
