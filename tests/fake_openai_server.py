"""A real HTTP server on 127.0.0.1 that speaks the OpenAI chat-completions protocol (and enough
of Anthropic's Messages and Gemini's generateContent), with latency and injected faults.

Used by the adapter tests and ``benchmarks/adapter_throughput.py``::

    with FakeServer(latency=0.05, faults={"429": 0.1}) as server:
        ...  # server.url == "http://127.0.0.1:<port>/v1"

Faults (per request): ``429`` (with ``Retry-After``), ``500``, ``503``, ``401``, ``timeout``
(answers only after ``hang`` seconds), ``malformed`` (a 200 whose body is not JSON),
``empty`` (a 200 with no choices), ``wrong_model`` (a normal answer naming another model),
``no_model`` (a normal answer whose ``model`` is null, as some servers send),
``disconnect`` (closes the connection without answering), ``cut`` (a 200 whose body stops
after 20 of the bytes its ``Content-Length`` announces, then the connection closes), ``leak``
(a 400 whose error message repeats the request's credentials -- and every header and the query
string -- in its body and in its response headers, to test that they are redacted), ``refuse``
(a 400 with a FastAPI style ``{"detail": ...}`` body naming the model the server is pinned to),
``404`` (the provider's own "no such model" answer: OpenAI's ``model_not_found``, Anthropic's
``not_found_error``, Gemini's ``NOT_FOUND``).
They are drawn at random with the given probabilities (seeded), or scripted per prompt:
``script={"q7": ["429", "500"]}`` makes the first two attempts whose prompt contains ``q7`` fail
and the third succeed.

Run ``python tests/fake_openai_server.py --latency 0.1`` to serve from a separate process (the
benchmark does this, so that the server does not share the client's interpreter lock); it prints
the port on its first line.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import socket
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FAULTS = ("429", "500", "503", "401", "timeout", "malformed", "empty", "wrong_model",
          "no_model", "disconnect", "cut", "leak", "refuse", "404")
_GEMINI = re.compile(r"^/v1(?:beta)?/models/([^:]+):generateContent")


def ask_once(api, request):
    """``api.generate(request)`` run to its end, the adapter closed after it (a test's one
    call to a model adapter pointed at a :class:`FakeServer`)."""
    import asyncio

    async def main():
        try:
            return await api.generate(request)
        finally:
            await api.aclose()
    return asyncio.run(main())


def _last_user_text(messages) -> str:
    for m in reversed(messages or []):
        if m.get("role") != "user":
            continue
        content = m.get("content")
        if isinstance(content, str):
            return content
        return " ".join(p.get("text", "") for p in content or [] if p.get("type") == "text")
    return ""


def default_responder(prompt: str, body: dict) -> str:
    """``echo: <prompt>``; sampled requests (temperature > 0) get a random suffix."""
    text = f"echo: {prompt}"
    if float(body.get("temperature") or 0) > 0:
        text += f" #{random.randrange(10**6)}"
    return text


def scripted_responder(replies, default=default_responder):
    """A responder answering with the reply of the first key (in order) that occurs in the
    prompt, else ``default(prompt, body)``. ``replies`` is a dict or a list of ``(key, reply)``
    pairs; a reply is text or a callable ``(prompt, body) -> str``. A reply may also be a dict:
    ``{"text", "finish_reason", "thought"}`` shapes a normal answer, ``{"body": ...}`` is sent as
    the whole 200 body (a dict as JSON; text or bytes verbatim, for JSON ``json.dumps`` cannot
    write, such as ``1e400``). Judge prompts and model
    prompts can share one server this way (put the judge keys first)::

        FakeServer(responder=scripted_responder([
            ("Statement: The dog is purple.", '{"verdict": "hallucinated"}'),
            ("Describe the image.", "A purple dog sits on a sofa.")]))
    """
    rules = list(replies.items() if isinstance(replies, dict) else replies)

    def respond(prompt: str, body: dict) -> str:
        for key, reply in rules:
            if key in prompt:
                return reply(prompt, body) if callable(reply) else reply
        return default(prompt, body)
    return respond


class FakeServer:
    """The server; see the module docstring.

    Args:
        latency: Seconds every answer takes.
        faults: Fault name -> probability per request.
        script: Prompt substring -> faults for its successive attempts (``None`` = succeed).
        model_name: Model name reported in answers (default: the requested one).
        api_key: When set, requests without ``Authorization: Bearer <api_key>`` get 401.
        retry_after: ``Retry-After`` value sent with 429s (seconds, as text).
        hang: Seconds a ``timeout`` fault waits before answering.
        responder: ``(prompt, body) -> text`` (see :func:`scripted_responder`).
    """

    def __init__(self, *, latency: float = 0.0, faults: dict[str, float] | None = None,
                 script: dict[str, list[str | None]] | None = None,
                 model_name: str | None = None, api_key: str | None = None,
                 retry_after: str = "0.05", hang: float = 5.0, responder=None, seed: int = 0,
                 port: int = 0):
        for name in (faults or {}):
            if name not in FAULTS:
                raise ValueError(f"unknown fault {name!r}; expected one of {FAULTS}")
        self.latency = latency
        self.faults = dict(faults or {})
        self.script = {k: list(v) for k, v in (script or {}).items()}
        self.model_name = model_name
        self.api_key = api_key
        self.retry_after = retry_after
        self.hang = hang
        self.responder = responder or default_responder
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self.requests: list[dict] = []
        self.headers: list[dict] = []
        self.outcomes: Counter[str] = Counter()
        self.in_flight = 0
        self.peak_in_flight = 0
        self._port = port
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------------
    @property
    def port(self) -> int:
        assert self._httpd is not None, "server not started"
        return self._httpd.server_address[1]

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.base}/v1"

    def start(self) -> "FakeServer":
        server = self

        class Handler(_Handler):
            fake = server

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 2048
            allow_reuse_address = True

        self._httpd = Server(("127.0.0.1", self._port), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> "FakeServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- behaviour --------------------------------------------------------------------------
    def choose_fault(self, prompt: str) -> str | None:
        with self._lock:
            for key, plan in self.script.items():
                if key in prompt and plan:
                    return plan.pop(0)
            r = self._rng.random()
            acc = 0.0
            for name, p in self.faults.items():
                acc += p
                if r < acc:
                    return name
        return None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else Nagle + delayed ACKs add ~40 ms per answer
    fake: FakeServer

    def log_message(self, format, *args):  # noqa: A002 - silence the default stderr log
        pass

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None,
              content_type: str = "application/json") -> None:
        lines = [f"HTTP/1.1 {status} {self.responses.get(status, ('',))[0]}",
                 f"Content-Type: {content_type}", f"Content-Length: {len(body)}"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)

    def _json(self, status: int, obj, headers=None) -> None:
        self._send(status, json.dumps(obj).encode(), headers)

    def do_GET(self):  # noqa: N802
        if self.path.rstrip("/").endswith("/models"):
            return self._json(200, {"object": "list", "data": [
                {"id": self.fake.model_name or "fake-model", "object": "model"}]})
        return self._json(404, {"error": {"message": "not found"}})

    def do_POST(self):  # noqa: N802
        fake = self.fake
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if len(raw) < length or not raw:  # the client went away mid-request
            self.close_connection = True
            return None
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            return self._json(400, {"error": {"message": "invalid JSON"}})
        path = self.path.split("?", 1)[0]
        if path.endswith("/chat/completions"):
            kind, prompt, model = "openai", _last_user_text(body.get("messages")), body.get("model")
        elif path.endswith("/messages"):
            kind, model = "anthropic", body.get("model")
            prompt = _last_user_text(body.get("messages"))
        elif _GEMINI.match(path):
            kind, model = "gemini", _GEMINI.match(path).group(1)
            prompt = " ".join(p.get("text", "") for c in body.get("contents", [])
                              for p in c.get("parts", []) if "text" in p)
        else:
            return self._json(404, {"error": {"message": f"no route {path}"}})
        with fake._lock:
            fake.requests.append(body)
            fake.headers.append({k.lower(): v for k, v in self.headers.items()})
            fake.in_flight += 1
            fake.peak_in_flight = max(fake.peak_in_flight, fake.in_flight)
        try:
            self._answer(kind, prompt, model, body)
        finally:
            with fake._lock:
                fake.in_flight -= 1

    def _authorised(self, kind: str) -> bool:
        key = self.fake.api_key
        if key is None:
            return True
        if kind == "anthropic":  # the 2.x SDK sends a bearer token, older ones x-api-key
            return (self.headers.get("x-api-key") == key
                    or self.headers.get("Authorization") == f"Bearer {key}")
        if kind == "gemini":
            return self.headers.get("x-goog-api-key") == key
        return self.headers.get("Authorization") == f"Bearer {key}"

    def _answer(self, kind: str, prompt: str, model: str, body: dict) -> None:
        fake = self.fake
        fault = fake.choose_fault(prompt)
        if not self._authorised(kind):
            fault = "401"
        with fake._lock:
            fake.outcomes[fault or "ok"] += 1
        if fake.latency:
            time.sleep(fake.latency)
        if fault == "429":
            return self._json(429, {"error": {"message": "Rate limit reached", "type": "requests",
                                              "code": "rate_limit_exceeded"}},
                              {"Retry-After": fake.retry_after})
        if fault in ("500", "503"):
            return self._json(int(fault), {"error": {"message": "The server had an error"}})
        if fault == "401":
            return self._json(401, {"error": {"message": "Incorrect API key provided",
                                              "type": "invalid_request_error",
                                              "code": "invalid_api_key"}})
        if fault == "leak":
            creds = " ".join(f"{k}={v}" for k, v in self.headers.items()
                             if k.lower() in ("authorization", "x-api-key", "x-goog-api-key"))
            everything = "; ".join(f"{k}: {v}" for k, v in self.headers.items())
            return self._json(400, {"error": {"message": f"bad request from {creds}",
                                              "headers": everything, "path": self.path}},
                              {"X-Echo-Authorization": self.headers.get("Authorization", ""),
                               "X-Echo-Path": self.path})
        if fault == "refuse":
            return self._json(400, {"detail": f"Server is pinned to "
                                              f"'{fake.model_name or 'pinned-model'}'; "
                                              f"requested '{model}'"})
        if fault == "404":
            return self._json(404, _not_found(kind, model))
        if fault == "disconnect":
            self.close_connection = True
            self.connection.close()
            return None
        if fault == "cut":
            self.close_connection = True
            body = json.dumps({"id": "chatcmpl-cut", "choices": [{"index": 0, "message": {
                "role": "assistant", "content": "never arrives whole"}}]}).encode()
            head = (f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(body)}\r\n\r\n").encode("latin-1")
            self.wfile.write(head + body[:20])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            return None
        if fault == "malformed":
            return self._send(200, b'{"id": "chatcmpl-x", "choices": [{"index": 0, "mess')
        if fault == "timeout":
            time.sleep(fake.hang)
        text = fake.responder(prompt, body)
        if isinstance(text, dict) and "body" in text:  # the whole 200 body, as the test wrote it
            raw = text["body"]
            return self._send(200, raw.encode() if isinstance(raw, str) else
                              raw if isinstance(raw, bytes) else json.dumps(raw).encode())
        finish, thought = "stop", None
        if isinstance(text, dict):          # {"text", "finish_reason", "thought"}: special
            finish, thought, text = text.get("finish_reason", "stop"), text.get("thought"), \
                text["text"]
        reported = ("some-other-model" if fault == "wrong_model" else None
                    if fault == "no_model" else (fake.model_name or model))
        digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:12]
        n_in, n_out = len(prompt.split()), len(text.split())
        if fault == "empty":
            return self._json(200, {"id": f"chatcmpl-{digest}", "object": "chat.completion",
                                    "created": int(time.time()), "model": reported,
                                    "choices": []})
        try:
            if kind == "anthropic":
                return self._json(200, {
                    "id": f"msg_{digest}", "type": "message", "role": "assistant",
                    "model": reported, "content": [{"type": "text", "text": text}],
                    "stop_reason": "end_turn", "stop_sequence": None,
                    "usage": {"input_tokens": n_in, "output_tokens": n_out}})
            if kind == "gemini":
                return self._json(200, {
                    "candidates": [{"content": {"role": "model", "parts": (
                        [{"text": thought, "thought": True}] if thought else []) + [
                            {"text": text}]},
                        "finishReason": "MAX_TOKENS" if finish == "length" else "STOP",
                        "index": 0}],
                    "usageMetadata": {"promptTokenCount": n_in, "candidatesTokenCount": n_out,
                                      "totalTokenCount": n_in + n_out},
                    "modelVersion": reported})
            return self._json(200, {
                "id": f"chatcmpl-{digest}", "object": "chat.completion",
                "created": int(time.time()), "model": reported,
                "choices": [{"index": 0, "finish_reason": finish,
                             "message": {"role": "assistant", "content": text}}],
                "usage": {"prompt_tokens": n_in, "completion_tokens": n_out,
                          "total_tokens": n_in + n_out}})
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout fault)
            return None


def _not_found(kind: str, model: str) -> dict:
    """The body each provider sends for a model it does not know (HTTP 404)."""
    if kind == "anthropic":
        return {"type": "error", "error": {"type": "not_found_error", "message": f"model: {model}"}}
    if kind == "gemini":
        return {"error": {"code": 404, "status": "NOT_FOUND", "message": (
            f"models/{model} is not found for API version v1beta, or is not supported for "
            f"generateContent.")}}
    return {"error": {"message": f"The model `{model}` does not exist or you do not have access "
                                 f"to it.", "type": "invalid_request_error",
                      "code": "model_not_found"}}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--latency", type=float, default=0.0)
    ap.add_argument("--model-name", default=None)
    args = ap.parse_args(argv)
    server = FakeServer(latency=args.latency, model_name=args.model_name, port=args.port).start()
    print(server.port, flush=True)
    try:
        sys.stdin.read()  # serve until stdin closes
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
