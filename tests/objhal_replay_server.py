"""A loopback OpenAI-compatible server that replays recorded judge completions keyed by the
sha256 of the first message's text, giving a prompt's recorded attempts in call order (the last
one again once they run out). An unknown prompt gets HTTP 400, so a port that builds another
prompt fails instead of scoring.

    with AttemptReplayServer({"<sha256>": ["Objects: a", "[\"a\"]"]}) as server:
        ...  # server.url; server.roles counts the role tuples of the requests
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class AttemptReplayServer:
    """Serves ``/v1/chat/completions`` from ``attempts`` (prompt sha256 -> completions)."""

    def __init__(self, attempts: dict[str, list[str]], *, model: str = "gpt-3.5-turbo-0613"):
        self.attempts = attempts
        self.model = model
        self.calls: Counter = Counter()
        self.unknown: list[str] = []
        self.roles: Counter = Counter()
        self._lock = threading.Lock()

    def _reply(self, body: dict) -> tuple[int, dict]:
        messages = body.get("messages") or []
        content = messages[0].get("content") if messages else ""
        if not isinstance(content, str):
            content = "".join(p.get("text", "") for p in content or [] if p.get("type") == "text")
        digest = hashlib.sha256(content.encode("utf-8")).hexdigest()
        with self._lock:
            self.roles[tuple(m.get("role") for m in messages)] += 1
            if digest not in self.attempts:
                self.unknown.append(digest)
                return 400, {"error": {"message": f"no replay for prompt sha256 {digest}"}}
            k = self.calls[digest]
            self.calls[digest] += 1
        seq = self.attempts[digest]
        text = seq[min(k, len(seq) - 1)]
        return 200, {"id": f"chatcmpl-{digest[:8]}{k}", "object": "chat.completion",
                     "created": 0, "model": self.model,
                     "choices": [{"index": 0, "finish_reason": "stop",
                                  "message": {"role": "assistant", "content": text}}],
                     "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}

    def __enter__(self) -> "AttemptReplayServer":
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                status, obj = owner._reply(body)
                data = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
