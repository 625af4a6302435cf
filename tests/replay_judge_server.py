"""A loopback OpenAI-compatible server that replays recorded judge outputs keyed by the sha256
of the exact prompt (the first message's text, as the original scorers send one message).

An unknown prompt gets HTTP 400, so a port that builds a different prompt fails loudly. A reply
is one text, or the recorded attempts of a prompt asked several times (given in call order, the
last one again once they run out)::

    with ReplayServer({"<sha256>": "Correct", ...}, model="gpt-4") as server:
        ...  # server.url == "http://127.0.0.1:<port>/v1"; server.seen: calls per prompt hash;
             # server.roles: the role tuples of the requests; server.requests: each
             # request's model and decoding (model, temperature, top_p, max_tokens or
             # max_completion_tokens)
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def message_text(message: dict) -> str:
    """The text of one chat message (a string, or the text parts of a content list)."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    return "".join(p.get("text", "") for p in content or [] if p.get("type") == "text")


def load_replies(path, *, hash_key: str = "prompt_sha256", output_key: str = "output"
                 ) -> dict[str, str]:
    """prompt sha256 -> output from a JSON Lines replay file."""
    out: dict[str, str] = {}
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                rec = json.loads(line)
                out[rec[hash_key]] = rec[output_key]
    return out


class ReplayServer:
    """Serves ``/v1/chat/completions`` from ``replies`` (prompt sha256 -> text, or a list of
    texts for successive calls)."""

    def __init__(self, replies: dict[str, str | list[str]], *, model: str | None = None):
        self.replies = replies
        self.model = model
        self.seen: Counter = Counter()
        self.unknown: list[str] = []
        self.roles: Counter = Counter()
        self.requests: Counter = Counter()
        self._lock = threading.Lock()

    def reply(self, digest: str) -> str | None:
        """The text for this call of the prompt ``digest`` (``None`` for an unknown prompt)."""
        with self._lock:
            if digest not in self.replies:
                self.unknown.append(digest)
                return None
            k = self.seen[digest]
            self.seen[digest] += 1
        texts = self.replies[digest]
        return texts if isinstance(texts, str) else texts[min(k, len(texts) - 1)]

    def __enter__(self) -> "ReplayServer":
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):  # quiet
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                messages = body.get("messages") or []
                prompt = message_text(messages[0]) if messages else ""
                digest = hashlib.sha256(prompt.encode("utf-8")).hexdigest()
                with fake._lock:
                    fake.roles[tuple(m.get("role") for m in messages)] += 1
                    fake.requests[(*(body.get(k) for k in ("model", "temperature", "top_p")),
                                   body.get("max_tokens", body.get("max_completion_tokens")))] += 1
                text = fake.reply(digest)
                if text is None:
                    return self._send(400, {"error": {"message": f"no replay for prompt "
                                                                 f"sha256 {digest}"}})
                self._send(200, {
                    "id": f"chatcmpl-{digest[:12]}", "object": "chat.completion",
                    "created": int(time.time()), "model": fake.model or body.get("model"),
                    "choices": [{"index": 0, "finish_reason": "stop", "message": {
                        "role": "assistant", "content": text}}],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}})

            def _send(self, status, obj):
                data = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
