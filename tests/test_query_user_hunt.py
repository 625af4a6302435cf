"""``halluscope query`` as a user meets it against each provider's HTTP API: a model the
server does not know (HTTP 404: a mistyped name, a ``--base-url`` with the wrong path) stops
the run after a few 404s instead of sending every prompt to the same answer, and the fixed
command resumes the file that holds only those failures; refused credentials and spent quotas
are said once; ``--concurrency`` is ``--max-connections``; replies whose content cannot be
read are malformed, not empty answers; an image cut short is never sent."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from fake_openai_server import FakeServer
from halluscope.adapters.client import ModelClient, RetryPolicy
from halluscope.adapters.types import (Decoding, Message, ModelNotFound, Request, RequestError,
                                       ServerUnreachable)
from halluscope.cli.query import EXIT_FAILED, EXIT_USAGE

KEY = "sk-notfound-1234567890abcdef"
ARGS = {"openai": ("openai/gpt-4o-typo", "url"), "anthropic": ("anthropic/claude-typo", "base"),
        "gemini": ("gemini/gemini-typo", "base")}


@pytest.fixture
def app():
    from halluscope.cli import app
    return app


@pytest.fixture
def keys(monkeypatch):
    for var in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY"):
        monkeypatch.setenv(var, KEY)


def _prompts(tmp_path, n=30):
    path = tmp_path / "prompts.jsonl"
    path.write_text("".join(json.dumps({"id": f"p{i}", "prompt": f"Is there a dog {i}?"}) + "\n"
                            for i in range(n)))
    return path


def _query(app, prompts, out, model, url, *extra):
    return CliRunner().invoke(app, ["query", str(prompts), "-m", model, "--base-url", url,
                                    "-o", str(out), "-q", "--no-cache", *extra])


def _lines(path):
    return [json.loads(line) for line in open(path)]


@pytest.mark.parametrize("provider", sorted(ARGS))
def test_an_unknown_model_stops_the_run_after_a_few_404s(provider, app, keys, tmp_path):
    """Every prompt went to the server and came back 404 (30 requests here, 10,000 in a real
    benchmark), the file filled with the same failure; now the run stops after 4 and says
    that the model or the --base-url path is wrong, exit 2, the run sheet saying so."""
    model, where = ARGS[provider]
    out = tmp_path / "out.jsonl"
    with FakeServer(faults={"404": 1.0}) as server:
        res = _query(app, _prompts(tmp_path), out, model, getattr(server, where), "-c", "2")
        sent = len(server.requests)
    assert res.exit_code == EXIT_USAGE, res.output
    assert 4 <= sent <= 4 + 2, sent             # the 4 404s, and what was in flight beside
    said = " ".join(res.output.split())
    assert "stopped: ModelNotFound" in said and "HTTP 404 to 4 requests" in said
    assert "--base-url path is wrong" in said and model.split("/")[1] in said
    assert "fix the model name or --base-url and run again" in said
    sheet = json.loads((tmp_path / "out.jsonl.runsheet.json").read_text())
    assert sheet["aborted"].startswith("ModelNotFound:")
    lines = _lines(out)
    assert 4 <= len(lines) <= sent and all(line["error_status"] == 404 for line in lines)
    assert KEY not in out.read_text() + json.dumps(sheet) + res.output


def test_a_404_after_an_answer_is_that_records_failure_and_the_run_goes_on(app, keys,
                                                                          tmp_path):
    """Once the server answered, the model exists: later 404s fail their own records (a
    per-request 404 of some gateway), every prompt is still asked."""
    script = {f"dog {i}?": ["404"] for i in range(2, 10)}
    out = tmp_path / "out.jsonl"
    with FakeServer(script=script) as server:
        res = _query(app, _prompts(tmp_path, 10), out, "openai/gpt-4o", server.url, "-c", "1")
        assert len(server.requests) == 10
    assert res.exit_code == EXIT_FAILED, res.output
    assert "stopped" not in res.output
    assert [line.get("error_status") for line in _lines(out)] == [None] * 2 + [404] * 8


@pytest.mark.parametrize("answers_first, expected", [
    (0, ["RequestError"] * 4 + ["ModelNotFound"] * 3),
    (1, ["ok"] + ["RequestError"] * 6),
])
def test_the_client_counts_404s_only_before_the_first_answer(answers_first, expected):
    """The rule itself, on the client: 4 404s with no answer before them stop every later
    call (as ModelNotFound, a ServerUnreachable: query and judges stop as for an unreachable
    server); after an answer a 404 fails its own call only."""
    import asyncio

    from halluscope.adapters.mock import MockModel

    class Missing(MockModel):
        left = answers_first

        async def generate(self, request):
            if self.left > 0:
                self.left -= 1
                return await super().generate(request)
            raise RequestError("request rejected (HTTP 404): no such model", status=404)

    async def main():
        client = ModelClient(Missing("echo"), retry=RetryPolicy(max_attempts=1),
                             max_connections=1)
        got = []
        for i in range(7):
            try:
                await client.generate(Request((Message.user(f"q{i}"),), Decoding()))
                got.append("ok")
            except (RequestError, ServerUnreachable) as exc:
                got.append(type(exc).__name__)
        return got, client.calls

    got, calls = asyncio.run(main())
    assert got == expected and calls == expected.count("ok") + expected.count("RequestError")
    assert issubclass(ModelNotFound, ServerUnreachable)


def test_the_fixed_model_resumes_a_file_that_holds_only_404s(app, keys, tmp_path, caplog):
    """The 404 run's message says "run again"; run again with the model name fixed was refused
    ("holds answers of another run ... pass --restart") though the file held no answer at
    all: now it is started again, with a warning saying so."""
    prompts = _prompts(tmp_path, 6)
    out = tmp_path / "out.jsonl"
    with FakeServer(faults={"404": 1.0}) as server:
        assert _query(app, prompts, out, "openai/gpt-4o-typo", server.url).exit_code == 2
    assert out.read_text() and all("error" in line for line in _lines(out))
    with FakeServer() as server:
        res = _query(app, prompts, out, "openai/gpt-4o", server.url)
        assert len(server.requests) == 6
    assert res.exit_code == 0, res.output
    assert "started again for this one" in caplog.text
    lines = _lines(out)
    assert [line["id"] for line in lines] == [f"p{i}" for i in range(6)]
    assert all(line["response"].startswith("echo:") for line in lines)
    sheet = json.loads((tmp_path / "out.jsonl.runsheet.json").read_text())
    assert sheet["model"]["model"] == "gpt-4o" and sheet.get("aborted") is None


def test_a_file_holding_an_answer_of_another_model_is_still_refused(app, keys, tmp_path):
    """One answer of the other model in the file: resuming would mix, as before."""
    prompts = _prompts(tmp_path, 6)
    out = tmp_path / "out.jsonl"
    with FakeServer(script={"dog 1?": ["404"]}) as server:
        assert _query(app, prompts, out, "openai/gpt-4o-mini", server.url).exit_code == 1
        before = out.read_text()
        res = _query(app, prompts, out, "openai/gpt-4o", server.url)
    assert res.exit_code == EXIT_USAGE and "holds answers of another run" in res.output
    assert out.read_text() == before


@pytest.mark.parametrize("fault, said, not_said", [
    ("401", "authentication failed (HTTP 401)", "authentication failed: authentication"),
])
def test_refused_credentials_are_said_once(fault, said, not_said, app, keys, tmp_path):
    out = tmp_path / "out.jsonl"
    with FakeServer(faults={fault: 1.0}) as server:
        res = _query(app, _prompts(tmp_path, 3), out, "openai/gpt-4o", server.url)
    text = " ".join(res.output.split())
    assert res.exit_code == EXIT_USAGE and said in text and not_said not in text, text


def test_a_spent_quota_is_not_called_an_authentication_failure(app, monkeypatch, tmp_path):
    """OpenAI's insufficient_quota 429 (and Gemini's per-day quota) stop the run as refused
    credentials do; the console called them "authentication failed: quota exhausted"."""
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    body = {"error": {"message": "You exceeded your current quota", "type": "insufficient_quota",
                      "code": "insufficient_quota"}}
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    import threading

    class Quota(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_POST(self):  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            data = json.dumps(body).encode()
            self.send_response(429)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Quota)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        res = _query(app, _prompts(tmp_path, 3), tmp_path / "out.jsonl", "openai/gpt-4o",
                     f"http://127.0.0.1:{httpd.server_address[1]}/v1")
    finally:
        httpd.shutdown()
        httpd.server_close()
    text = " ".join(res.output.split())
    assert res.exit_code == EXIT_USAGE, text
    assert "quota exhausted (HTTP 429, insufficient_quota)" in text
    assert "authentication failed" not in text


def test_concurrency_is_the_same_option_as_max_connections(app, keys, tmp_path):
    """``--concurrency 3`` (the word the design and other tools use) was "No such option"."""
    out = tmp_path / "out.jsonl"
    with FakeServer(latency=0.05) as server:
        res = _query(app, _prompts(tmp_path, 12), out, "openai/gpt-4o", server.url,
                     "--concurrency", "3")
        peak = server.peak_in_flight
    assert res.exit_code == 0, res.output
    assert peak == 3
    sheet = json.loads((tmp_path / "out.jsonl.runsheet.json").read_text())
    assert sheet["client"]["limiter"]["max_limit"] == 3


@pytest.mark.parametrize("content", [["a", 1], [{"type": "text", "text": None}],
                                     [{"type": "text", "text": 5}]])
def test_openai_content_parts_that_hold_no_text_are_malformed_not_an_empty_answer(content):
    """Content parts that are no objects, or whose text is no string, were read as ``""``: an
    empty answer that an audit scores by its rule (POPE's original parser: yes)."""
    from halluscope.adapters.openai_compat import parse_completion
    from halluscope.adapters.types import MalformedResponse
    body = {"choices": [{"message": {"content": content}, "finish_reason": "stop"}]}
    with pytest.raises(MalformedResponse, match="content parts"):
        parse_completion(json.dumps(body))
    ok = {"choices": [{"message": {"content": [{"type": "text", "text": "A "}, {"type": "x"},
                                               {"type": "text", "text": "dog."}]},
                       "finish_reason": "stop"}]}
    assert parse_completion(json.dumps(ok)).text == "A dog."


@pytest.mark.parametrize("content", [None, [{"type": "text", "text": None}]])
def test_an_anthropic_message_without_readable_content_is_malformed(content):
    """``"content": null`` (or a text block whose text is null) was an empty answer."""
    from types import SimpleNamespace

    from halluscope.adapters.anthropic import message_text
    from halluscope.adapters.types import MalformedResponse
    blocks = None if content is None else [SimpleNamespace(**b) for b in content]
    with pytest.raises(MalformedResponse):
        message_text(blocks)
    assert message_text([]) == ("", None)


def _cut_image(tmp_path, fmt):
    import io

    import numpy as np
    from PIL import Image
    pixels = (np.random.default_rng(0).random((120, 160, 3)) * 255).astype("uint8")
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, fmt)
    path = tmp_path / f"cut.{fmt.lower()}"
    path.write_bytes(buf.getvalue()[:len(buf.getvalue()) * 2 // 3])
    return path


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_an_image_cut_short_is_an_image_error_not_sent(fmt, tmp_path):
    """An image that goes as it is was only looked at by its header: a file cut short (a copy
    or download that stopped) was sent, and a model answered about a picture half grey or
    missing, which the audit scored against the whole picture's annotations; a local model,
    which decodes it, failed the record."""
    from halluscope.adapters.images import policy, prepare
    from halluscope.adapters.types import ImageError
    path = _cut_image(tmp_path, fmt)
    for name in ("openai", "anthropic", "gemini"):
        with pytest.raises(ImageError, match=r"cannot decode image \S*cut"):
            prepare(path.read_bytes(), policy(name), name=str(path))


@pytest.mark.parametrize("provider", sorted(ARGS))
def test_a_prompt_whose_image_is_cut_short_fails_before_a_request(provider, app, keys,
                                                                  tmp_path):
    model, where = ARGS[provider]
    _cut_image(tmp_path, "JPEG")
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text(json.dumps({"id": "a", "image": "cut.jpeg", "prompt": "Describe."}) + "\n"
                       + json.dumps({"id": "b", "prompt": "Describe."}) + "\n")
    out = tmp_path / "out.jsonl"
    with FakeServer() as server:
        res = _query(app, prompts, out, model, getattr(server, where))
        assert len(server.requests) == 1
    assert res.exit_code == EXIT_FAILED, res.output
    first, second = _lines(out)
    assert first["error"].startswith(f"ImageError: {prompts}:1: field 'image': cannot decode "
                                     "image"), first
    assert "cut.jpeg" in first["error"] and "truncated" in first["error"]
    assert isinstance(second["response"], str)
