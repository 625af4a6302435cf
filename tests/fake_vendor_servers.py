"""Loopback servers that answer as Anthropic's Messages API and Gemini's generateContent do on
the wire, scripted per prompt, for tests that drive ``halluscope query`` as a user would.

Each server binds 127.0.0.1 on a free port, serves from one daemon thread and is closed by its
context manager. A reply is picked by the first word of the prompt's text that names an entry of
``script`` (``{"word": ["529", "ok"]}``: the first attempt of a prompt holding ``word`` is
answered 529, the next normally); a prompt no entry names is answered ``ok``. Every request's
headers, path and body are kept (``requests``) so a test can check what went out.

Anthropic (``POST /v1/messages``): ``ok``, ``max_tokens`` (text cut, ``stop_reason``
``max_tokens``), ``refusal`` (no text, ``stop_reason`` ``refusal``), ``refusal_text`` (some text,
then ``refusal``), ``529`` (``overloaded_error``), ``429`` (``rate_limit_error`` with
``retry-after``), ``spend`` (a 429 for the monthly spend cap, no ``retry-after``), ``spend400``
(a 400 for a spend limit the organisation set), ``402`` (``billing_error``), ``401``.

Gemini (``POST /v1beta/models/<model>:generateContent``): ``ok``, ``max_tokens``
(``MAX_TOKENS`` after some text), ``safety`` (a candidate with no content, ``SAFETY``),
``recitation`` (``RECITATION``), ``blocked`` (no candidates, ``promptFeedback.blockReason``),
``429`` (``RESOURCE_EXHAUSTED`` with a ``google.rpc.RetryInfo``), ``503`` (``UNAVAILABLE``),
``401`` (Gemini's 400 ``API_KEY_INVALID``), ``precondition`` (400 ``FAILED_PRECONDITION``: no
free tier in the caller's country, billing off), ``402`` (prepaid credit spent).

Both: ``echo_key`` (a 400 whose message and headers quote the key the request carried), and a
wrong key is answered as each API answers one. ``latency`` delays every answer. A request sent
to it as to an HTTP proxy (the whole URL in the request line) is answered as one sent to it.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

RETRY_AFTER = "1"


def _prompt_text(kind: str, body: dict) -> str:
    if kind == "anthropic":
        turns = body.get("messages") or []
        return " ".join(b.get("text", "") for m in turns for b in m.get("content") or []
                        if isinstance(b, dict) and b.get("type") == "text")
    return " ".join(p.get("text", "") for c in body.get("contents") or []
                    for p in c.get("parts") or [] if "text" in p)


def _anthropic(behaviour: str, model: str, prompt: str) -> tuple[int, dict, dict]:
    usage = {"input_tokens": 12, "output_tokens": 5}
    def message(content, stop):
        return {"id": "msg_01XFDUDYJgAACzvnptvVoYEL", "type": "message", "role": "assistant",
                "model": model, "content": content, "stop_reason": stop,
                "stop_sequence": None, "usage": usage}
    def error(kind, text):
        return {"type": "error", "error": {"type": kind, "message": text},
                "request_id": "req_011CSHoEeqs5C35K2UUqR7Fy"}
    if behaviour == "ok":
        return 200, {}, message([{"type": "text", "text": f"A photo for: {prompt}"}], "end_turn")
    if behaviour == "max_tokens":
        return 200, {}, message([{"type": "text", "text": "A photo of a"}], "max_tokens")
    if behaviour == "refusal":
        return 200, {}, message([], "refusal")
    if behaviour == "refusal_text":
        return 200, {}, message([{"type": "text", "text": "I can describe the"}], "refusal")
    if behaviour == "529":
        return 529, {}, error("overloaded_error", "Overloaded")
    if behaviour == "429":
        return 429, {"retry-after": RETRY_AFTER}, error(
            "rate_limit_error", "This request would exceed the rate limit for your "
            "organization of 50 requests per minute.")
    if behaviour == "spend":
        body = error("rate_limit_error", "You have reached your monthly spend limit.")
        body["error"]["details"] = {"error_code": "enforced_spend_limit_reached"}
        return 429, {}, body
    if behaviour == "402":
        return 402, {}, error("billing_error", "Your credit balance is too low to access the "
                              "Anthropic API.")
    if behaviour == "spend400":
        return 400, {}, error("invalid_request_error", "You have reached your specified API "
                              "usage limits. You will regain access on 2027-01-01 at 00:00 UTC.")
    if behaviour == "401":
        return 401, {}, error("authentication_error", "invalid x-api-key")
    raise ValueError(behaviour)


def _gemini(behaviour: str, model: str, prompt: str) -> tuple[int, dict, dict]:
    usage = {"promptTokenCount": 270, "candidatesTokenCount": 5, "totalTokenCount": 275}
    ratings = [{"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "NEGLIGIBLE"}]
    def reply(cands, **more):
        return {"candidates": cands, "usageMetadata": usage, "modelVersion": f"{model}-001",
                "responseId": "dP5kaJ3pEr2ZgLUPg_yD4Qk", **more}
    def error(code, status, text, details=()):
        return {"error": {"code": code, "message": text, "status": status,
                          "details": list(details)}}
    if behaviour == "ok":
        return 200, {}, reply([{"content": {"parts": [{"text": f"A photo for: {prompt}"}],
                                            "role": "model"}, "finishReason": "STOP",
                                "index": 0, "safetyRatings": ratings}])
    if behaviour == "max_tokens":
        return 200, {}, reply([{"content": {"parts": [{"text": "A photo of a"}],
                                            "role": "model"}, "finishReason": "MAX_TOKENS",
                                "index": 0}])
    if behaviour in ("safety", "recitation"):
        return 200, {}, reply([{"finishReason": behaviour.upper(), "index": 0,
                                "safetyRatings": ratings}])
    if behaviour == "blocked":
        body = reply([], promptFeedback={"blockReason": "SAFETY", "safetyRatings": ratings})
        del body["candidates"]
        return 200, {}, body
    if behaviour == "429":
        return 429, {}, error(429, "RESOURCE_EXHAUSTED", "You exceeded your current quota.", [
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1s"}])
    if behaviour == "precondition":
        return 400, {}, error(400, "FAILED_PRECONDITION", "Gemini API free tier is not "
                              "available in your country. Please enable billing on your "
                              "project in Google AI Studio.")
    if behaviour == "402":
        return 402, {}, error(402, "RESOURCE_EXHAUSTED", "Your prepayment credits are "
                              "depleted.")
    if behaviour == "401":
        return 400, {}, error(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid "
                              "API key.", [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                                            "reason": "API_KEY_INVALID"}])
    if behaviour == "503":
        return 503, {}, error(503, "UNAVAILABLE", "The model is overloaded. Please try again "
                              "later.")
    raise ValueError(behaviour)


class VendorServer:
    """A scripted Anthropic or Gemini server on 127.0.0.1 (see the module docstring)."""

    def __init__(self, kind: str, script: dict[str, list[str]] | None = None,
                 key: str | None = None, latency: float = 0.0):
        assert kind in ("anthropic", "gemini")
        self.kind, self.key, self.latency = kind, key, latency
        self.script = {w: list(v) for w, v in (script or {}).items()}
        self.requests: list[dict] = []
        self.times: dict[str, list[float]] = {}
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def behaviour(self, prompt: str) -> str:
        with self._lock:
            for word in prompt.split():
                if self.script.get(word):
                    self.times.setdefault(word, []).append(time.monotonic())
                    return self.script[word].pop(0)
        return "ok"

    def __enter__(self) -> VendorServer:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                body = json.loads(raw or b"{}")
                headers = {k.lower(): v for k, v in self.headers.items()}
                with fake._lock:
                    fake.requests.append({"path": self.path, "headers": headers, "body": body})
                path = self.path.split("?", 1)[0]
                if path.startswith("http://"):  # asked as an HTTP proxy: the whole URL
                    path = "/" + path.split("/", 3)[3]
                if fake.kind == "anthropic" and path == "/v1/messages":
                    model = body.get("model")
                    sent = headers.get("x-api-key") or headers.get(
                        "authorization", "").removeprefix("Bearer ")
                elif fake.kind == "gemini" and path.endswith(":generateContent"):
                    model = path.split("/models/", 1)[1].split(":", 1)[0]
                    sent = headers.get("x-goog-api-key")
                else:
                    return self._send(404, {}, {"error": {"message": f"no route {path}"}})
                prompt = _prompt_text(fake.kind, body)
                behaviour = fake.behaviour(prompt)
                time.sleep(fake.latency)
                if fake.key is not None and sent != fake.key:
                    behaviour = "401"
                if behaviour == "echo_key":  # a gateway that quotes the credentials it got
                    return self._send(400, {"x-echo": sent or ""}, {"error": {
                        "code": 400, "status": "INVALID_ARGUMENT", "type": "invalid_request_error",
                        "message": f"bad request from key {sent} at {self.path}"}})
                answer = _anthropic if fake.kind == "anthropic" else _gemini
                self._send(*answer(behaviour, model, prompt))

            def _send(self, status, headers, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
