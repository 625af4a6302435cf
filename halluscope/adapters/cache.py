"""A content-addressed cache of model responses in SQLite (WAL mode).

The key is the sha256 of a canonical JSON document holding exactly what decides an answer:

* the provider and the resolved model pin (dated snapshot, hub revision or weights hash),
* every message, with images replaced by the sha256 of their bytes and the image policy that
  decided what was sent,
* the decoding parameters (temperature, top_p, max_tokens, seed, stop),
* the sample index when decoding is sampled (temperature > 0) and the replicate number of a
  deliberate repeat.

Timeouts, retry settings, concurrency, base URLs and credentials are not part of it: they change
how an answer is obtained, not which answer it is. The document itself is stored beside the
answer (``request`` column) so that a row can be read by a person; it never holds a credential.

Rows are written as soon as an answer arrives (``INSERT OR IGNORE``: the first answer for a key
stays), so an interrupted run loses nothing it already paid for. WAL mode lets several processes
read and write one cache file at once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from halluscope.adapters.types import ImagePart, Request, Response

log = logging.getLogger(__name__)

CACHE_FILE = "responses.sqlite3"
KEY_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key      TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    model    TEXT NOT NULL,
    request  TEXT NOT NULL,
    response TEXT NOT NULL,
    created  REAL NOT NULL
)
"""


def default_cache_dir() -> Path:
    """``$HALLUSCOPE_CACHE``, else ``$XDG_CACHE_HOME/halluscope``, else ``~/.cache/halluscope``."""
    env = os.environ.get("HALLUSCOPE_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "halluscope"


def key_material(provider: str, pin: str, request: Request, image_hashes: list[str],
                 image_policy: dict[str, Any] | None) -> dict[str, Any]:
    """The canonical document whose hash is the cache key (see the module docstring)."""
    hashes = iter(image_hashes)
    messages = []
    for m in request.messages:
        parts = []
        for p in m.content:
            if isinstance(p, ImagePart):
                parts.append({"image": next(hashes), "detail": p.detail})
            else:
                parts.append({"text": p.text})
        messages.append({"role": m.role, "content": parts})
    doc: dict[str, Any] = {
        "v": KEY_VERSION, "provider": provider, "model": pin, "messages": messages,
        "decoding": request.decoding.to_dict(),
    }
    if request.images():
        doc["image_policy"] = image_policy
    if request.decoding.sampled:
        doc["sample"] = request.sample_index
    if request.replicate:
        doc["replicate"] = request.replicate
    return doc


def hash_material(doc: dict[str, Any]) -> str:
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class ResponseCache:
    """Model responses keyed by :func:`hash_material` of :func:`key_material`.

    Args:
        path: A directory (the file ``responses.sqlite3`` in it is used) or a ``.sqlite3`` /
            ``.sqlite`` / ``.db`` file path. Created when missing, unless ``create`` is false:
            then a missing cache stays missing and answers nothing (offline mode).
    """

    def __init__(self, path: str | Path | None = None, *, create: bool = True):
        path = Path(path).expanduser() if path is not None else default_cache_dir()
        if path.suffix not in (".sqlite3", ".sqlite", ".db"):
            path = path / CACHE_FILE
        self.path = path
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0
        self.writes = 0
        self._conn: sqlite3.Connection | None = None
        if not create and not path.is_file():
            log.info("no response cache at %s (not created)", path)
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(str(path), check_same_thread=False, timeout=30.0,
                                     isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA busy_timeout=30000")
        self._conn.execute(_SCHEMA)

    @property
    def exists(self) -> bool:
        """Whether there is a cache file behind this object."""
        return self._conn is not None

    def get(self, key: str) -> Response | None:
        if self._conn is None:
            self.misses += 1
            return None
        with self._lock:
            row = self._conn.execute("SELECT response FROM responses WHERE key = ?",
                                     (key,)).fetchone()
        if row is None:
            self.misses += 1
            return None
        self.hits += 1
        return Response.from_cache(json.loads(row[0]))

    def put(self, key: str, doc: dict[str, Any], response: Response) -> None:
        """Store ``response`` under ``key`` unless an answer is already there."""
        if self._conn is None:
            return
        request_json = json.dumps(doc, sort_keys=True, ensure_ascii=False)
        response_json = json.dumps(response.to_cache(), ensure_ascii=False)
        with self._lock:
            self._conn.execute(
                "INSERT OR IGNORE INTO responses (key, provider, model, request, response, "
                "created) VALUES (?, ?, ?, ?, ?, ?)",
                (key, doc.get("provider", ""), doc.get("model", ""), request_json,
                 response_json, time.time()))
        self.writes += 1

    def __len__(self) -> int:
        if self._conn is None:
            return 0
        with self._lock:
            return self._conn.execute("SELECT COUNT(*) FROM responses").fetchone()[0]

    def rows(self):
        """Every row as a dict (for inspection and tests)."""
        if self._conn is None:
            return []
        with self._lock:
            cur = self._conn.execute(
                "SELECT key, provider, model, request, response, created FROM responses")
            names = [d[0] for d in cur.description]
            return [dict(zip(names, r)) for r in cur.fetchall()]

    def close(self) -> None:
        if self._conn is None:
            return
        with self._lock:
            try:
                self._conn.close()
            except sqlite3.Error:  # pragma: no cover
                pass

    def __enter__(self) -> "ResponseCache":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def describe(self) -> dict[str, Any]:
        return {"path": str(self.path), "hits": self.hits, "misses": self.misses,
                "writes": self.writes, **({} if self.exists else {"exists": False})}
