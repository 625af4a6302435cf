"""A content-addressed cache of model responses in SQLite (WAL mode).

The key is the sha256 of a canonical JSON document holding exactly what decides an answer
(:mod:`halluscope.adapters.cache_keys` says what it holds and why).

What is stored is the answer and, for a provider whose replies halluscope post-processes (an
OpenAI-compatible server's: the leading ``<think>`` block and the ``reasoning_content`` /
``reasoning`` field kept out of the answer, :func:`~halluscope.adapters.types.finish_reply`; a
local model's decoded text, split the same way), the reply as sent (``content``,
``reasoning_content``). Claude's thinking and Gemini's thought summaries never entered the
answer: their ``text`` and ``reasoning`` are stored as made and served so. A read derives the
answer and its ``reasoning`` from that again, by the rules of the day (the adapter's ``reread``,
applied by :class:`~halluscope.adapters.client.ModelClient`), so an entry cached before a rule
changed is served as the current code would have made it, without asking the model again; an
entry cached before ``content`` was kept is split when read, unless it was split when cached (it
has a ``reasoning``). A row no answer can be read from is a miss (warned about once), not a
crash, and the answer then asked for replaces it (``replaced``); any other row is never
overwritten (the first answer written wins).

A judge's refusal (:class:`~halluscope.adapters.types.Declined`: the model declined or the
provider's filter withheld the answer) is no answer, so it is never served as one; a client
that keeps refusals (a judge's: ``ModelClient(keep_declined=True)``) records it in a table of
its own (``declined``: the message, the text the model declined with, the model the server
named) under the request's key, and reads it back as the same refusal: a rerun or a resumed
audit gets the refusal the first run got, not another roll of the dice. Other clients
(``halluscope query``, whose ``--retry-failed`` asks refusals again) neither write nor read it.

Timeouts, retry settings, concurrency and credentials are not part of it: they change
how an answer is obtained, not which answer it is. The document itself is stored beside the
answer (``request`` column) so that a row can be read by a person; it never holds a credential.

Rows are written as soon as an answer arrives (``INSERT OR IGNORE``: the first answer for a key
stays), so an interrupted run loses nothing it already paid for. Inside
:meth:`ResponseCache.batched` (``halluscope query``'s run) the rows of answers that arrive
within ``BATCH_DELAY`` (20 ms) of each other are written in one transaction at its end, since a
transaction of its own costs each row ~70 us of the event loop's time; rows waiting there are
answered by :meth:`~ResponseCache.get` (from any thread, until they are written), and leaving
the block, :meth:`~ResponseCache.close`, :meth:`~ResponseCache.rows` and
:meth:`~ResponseCache.describe` write them first; a write interrupted (Ctrl-C, SIGTERM) is rolled
back and its rows wait for the next. WAL mode lets several processes read and write one cache
file at once.

A cache file that SQLite cannot read (truncated, garbage, not a database) is moved aside to
``<file>.corrupt-<time>`` with a warning naming both files, and a fresh cache is built in its
place; one that cannot be opened at all (permissions, a directory in the way) raises
:class:`~halluscope.errors.InputError` naming the file and the fix.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# the key (its old home is here: importers of these names from this module still find them)
from halluscope.adapters.cache_keys import (KEY_VERSION, hash_material,  # noqa: F401
                                            key_material, superseded_key)
from halluscope.adapters.shared_calls import SCHEMA as CLAIMS_SCHEMA
from halluscope.adapters.types import Declined, Response
from halluscope.cachedir import ENV_CACHE, default_cache_dir
from halluscope.errors import InputError

log = logging.getLogger(__name__)

CACHE_FILE = "responses.sqlite3"
#: Seconds a row waits inside :meth:`ResponseCache.batched` for others to share its transaction.
BATCH_DELAY = 0.02
_INSERT = ("INSERT OR IGNORE INTO responses (key, provider, model, request, response, created) "
           "VALUES (?, ?, ?, ?, ?, ?)")

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

_SENT_SCHEMA = """
CREATE TABLE IF NOT EXISTS sent_images (
    image TEXT NOT NULL,
    how   TEXT NOT NULL,
    sent  TEXT,
    PRIMARY KEY (image, how)
)
"""
_DECLINED_SCHEMA = """
CREATE TABLE IF NOT EXISTS declined (
    key      TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    model    TEXT NOT NULL,
    request  TEXT NOT NULL,
    declined TEXT NOT NULL,
    created  REAL NOT NULL
)
"""
_INSERT_DECLINED = ("INSERT OR IGNORE INTO declined (key, provider, model, request, declined, "
                    "created) VALUES (?, ?, ?, ?, ?, ?)")

#: :meth:`ResponseCache.sent_image`'s answer for an image whose digest it does not know.
UNKNOWN = "unknown"


def _looks_corrupt(exc: sqlite3.Error) -> bool:
    text = str(exc).lower()
    return any(w in text for w in ("not a database", "malformed", "corrupt", "integrity",
                                   "disk image"))


def _move_aside(path: Path, exc: sqlite3.Error) -> Path:
    """Rename a damaged cache file (and its WAL/SHM companions); the new name."""
    stamp = time.strftime("%Y%m%dT%H%M%S")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    try:
        os.replace(path, target)
        for suffix in ("-wal", "-shm"):
            side = path.with_name(path.name + suffix)
            if side.exists():
                os.replace(side, target.with_name(target.name + suffix))
    except OSError as move_exc:
        raise _unusable(path, move_exc) from None
    log.warning("response cache %s is unreadable (%s); moved it to %s and started a new one",
                path, exc, target)
    return target


def _unusable(path: Path, exc: BaseException):
    from halluscope.errors import InputError
    return InputError(f"cannot use the response cache {path}: {exc}; fix its permissions, "
                      f"remove it, or pass --cache DIR (another folder) or --no-cache")


class ResponseCache:
    """Model responses keyed by :func:`hash_material` of :func:`key_material`.

    Args:
        path: A directory (the file ``responses.sqlite3`` in it is used) or a ``.sqlite3`` /
            ``.sqlite`` / ``.db`` file path; ``None``: halluscope's cache folder
            (:func:`halluscope.cachedir.default_cache_dir`). Created when missing, unless
            ``create`` is false: then a missing cache stays missing and answers nothing
            (offline mode).
    """

    def __init__(self, path: str | Path | None = None, *, create: bool = True):
        if path is None:
            path = default_cache_dir()
            if path is None:
                raise InputError(f"expected a cache folder, got none: caching is off "
                                 f"({ENV_CACHE}=off); pass a folder or no cache")
        path = Path(path).expanduser()
        if path.suffix not in (".sqlite3", ".sqlite", ".db"):
            path = path / CACHE_FILE
        self.path = path
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0
        self.writes = 0
        self.write_errors = 0
        self.superseded = 0
        self.replaced = 0
        self._warned = False
        # rows get() could read no answer from: key -> the stored text, which put() replaces
        self._unreadable: dict[str, Any] = {}
        self._conn: sqlite3.Connection | None = None
        self.moved_aside: Path | None = None
        # inside batched(): rows not written yet, by key (the first one), the thread and loop
        # that batch, and the timer that writes them
        self._pending: list[tuple] | None = None
        self._pending_by_key: dict[str, tuple] = {}
        self._batch_thread: int | None = None
        self._flush_timer: Any = None
        self._loop: Any = None
        if not create and not path.is_file():
            log.info("no response cache at %s (not created)", path)
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _unusable(path, exc) from None
        try:
            self._conn = self._open_shared(path)
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.OperationalError) and not _looks_corrupt(exc):
                raise _unusable(path, exc) from None
            self.moved_aside = _move_aside(path, exc)
            try:
                self._conn = self._open(path)
            except sqlite3.Error as again:
                raise _unusable(path, again) from None

    @classmethod
    def _open_shared(cls, path: Path, tries: int = 6) -> sqlite3.Connection:
        """:meth:`_open`, tried again while another process holds the lock that creating the
        file or switching it to WAL needs (SQLite answers "database is locked" at once there,
        whatever the busy timeout, when two processes open a fresh cache together)."""
        import time
        for attempt in range(tries):
            try:
                return cls._open(path)
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or attempt == tries - 1:
                    raise
                time.sleep(0.1 * (attempt + 1))
        raise AssertionError("unreachable")

    @staticmethod
    def _open(path: Path) -> sqlite3.Connection:
        conn = sqlite3.connect(str(path), check_same_thread=False, timeout=30.0,
                               isolation_level=None)
        try:
            conn.execute("PRAGMA busy_timeout=30000")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(_SCHEMA)
            conn.execute(_SENT_SCHEMA)
            conn.execute(_DECLINED_SCHEMA)  # refusals a judge keeps (put_declined)
            conn.execute(CLAIMS_SCHEMA)     # requests in flight (:mod:`.shared_calls`)
            # reads every page of the table (cheaper than PRAGMA quick_check, which also walks
            # the key index): a truncated or overwritten file fails here, not mid-run
            conn.execute("SELECT COUNT(*), MAX(LENGTH(response)) FROM responses").fetchone()
        except BaseException:
            conn.close()
            raise
        return conn

    @property
    def exists(self) -> bool:
        """Whether there is a cache file behind this object."""
        return self._conn is not None

    @property
    def claims_calls(self) -> bool:
        """Whether a miss is claimed before it is asked, so that processes sharing the file
        ask it once (:mod:`halluscope.adapters.shared_calls`): where there is a file and rows
        are written as their answers arrive (not inside :meth:`batched`)."""
        return self._conn is not None and self._pending is None

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        """The cache file's connection, used under this object's lock."""
        if self._conn is None:
            raise sqlite3.OperationalError(f"no response cache at {self.path}")
        with self._lock:
            yield self._conn

    def holds(self, key: str) -> bool:
        """Whether a row other than the unreadable one :meth:`get` found is stored under
        ``key``, or a refusal (counted neither as a hit nor as a miss)."""
        try:
            with self.connection() as conn:
                row = conn.execute("SELECT response FROM responses WHERE key = ?",
                                   (key,)).fetchone()
                declined = row is None and conn.execute(
                    "SELECT 1 FROM declined WHERE key = ?", (key,)).fetchone() is not None
        except sqlite3.Error:
            return False
        return declined or row is not None and (key not in self._unreadable
                                                or row[0] != self._unreadable[key])

    def get(self, key: str, *, declined: bool = False) -> Response | Declined | None:
        """The answer stored under ``key``; with ``declined``, where there is none, the
        refusal stored there (:meth:`put_declined`), as a :class:`Declined` to raise."""
        if self._conn is None:
            self.misses += 1
            return None
        # the waiting row is looked up before the table: flush() forgets it only once it is
        # written, so a reader on another thread finds it in one place or the other
        waiting = self._pending_by_key.get(key)
        try:
            with self._lock:
                row = self._conn.execute("SELECT response FROM responses WHERE key = ?",
                                         (key,)).fetchone()
        except sqlite3.Error as exc:  # damaged under us: answer as a miss, ask the model
            self._warn_once(f"cannot read the response cache {self.path} ({exc}); "
                            f"asking the model instead")
            row = None
        if row is None and waiting is not None:
            row = (waiting[4],)
        try:
            hit = None if row is None else Response.from_cache(json.loads(row[0]))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            # a row no answer can be read from (hand-edited, another tool's): asked anew, and
            # the new answer takes its place (put), or it would be asked on every run
            self._warn_once(f"cannot read an answer in the response cache {self.path} "
                            f"({type(exc).__name__}: {exc}); asking the model instead")
            if waiting is None or row[0] is not waiting[4]:
                self._unreadable[key] = row[0]
            hit = None
        if hit is None and declined and row is None:
            hit = self._declined(key)
        if hit is None:
            self.misses += 1
            return None
        self.hits += 1
        return hit

    def _declined(self, key: str) -> Declined | None:
        """The refusal stored under ``key`` (:meth:`put_declined`), or None (none, or
        unreadable: then asked again, warned about once)."""
        try:
            with self._lock:
                row = self._conn.execute("SELECT declined FROM declined WHERE key = ?",
                                         (key,)).fetchone()
            if row is None:
                return None
            kept = json.loads(row[0])
            return Declined(str(kept["message"]), refusal=kept.get("refusal"),
                            model=kept.get("model"), cached=True)
        except (sqlite3.Error, ValueError, KeyError, TypeError, AttributeError) as exc:
            self._warn_once(f"cannot read a refusal in the response cache {self.path} "
                            f"({type(exc).__name__}: {exc}); asking the model instead")
            return None

    def put_declined(self, key: str, doc: dict[str, Any], error: Declined) -> None:
        """Record that the model declined ``key``'s request (a judge's refusal: see the module
        docstring): its message, the text it declined with and the model the server named.
        The first refusal written stays; it never takes an answer's place."""
        if self._conn is None:
            return
        from halluscope._json import dumps_utf8
        from halluscope.redact import redact_mapping
        kept = {"message": str(error), "refusal": error.refusal, "model": error.model}
        self._write([(key, doc.get("provider", ""), doc.get("model", ""),
                      dumps_utf8(redact_mapping(doc), sort_keys=True),
                      dumps_utf8(redact_mapping(kept)), time.time())], _INSERT_DECLINED)

    def sent_image(self, image: str, how: str) -> str | None:
        """The digest of what is sent for the image with sha256 ``image`` by the preparer
        ``how`` (:func:`~halluscope.adapters.images.preparer_identity`), as remembered; ``None``
        for the image's own bytes, :data:`UNKNOWN` when it is not remembered (or unreadable)."""
        if self._conn is None:
            return UNKNOWN
        try:
            with self._lock:
                row = self._conn.execute("SELECT sent FROM sent_images WHERE image = ? AND "
                                         "how = ?", (image, how)).fetchone()
        except sqlite3.Error:
            return UNKNOWN
        return UNKNOWN if row is None else row[0]

    def remember_sent_image(self, image: str, how: str, sent: str | None) -> None:
        """Remember :meth:`sent_image`'s answer (a failure to write only costs a later
        preparation)."""
        if self._conn is None:
            return
        try:
            with self._lock:
                self._conn.execute("INSERT OR REPLACE INTO sent_images (image, how, sent) "
                                   "VALUES (?, ?, ?)", (image, how, sent))
        except sqlite3.Error:
            pass

    def note_superseded(self, doc: dict[str, Any]) -> None:
        """After a miss for ``doc``: count (``superseded``) and say once that an answer is
        cached under the key the request had before the key named its prepared image
        (:func:`superseded_key`), so that asking again is seen for what it is."""
        old = superseded_key(doc) if self._conn is not None else None
        if old is None:
            return
        try:
            with self._lock:
                found = self._conn.execute("SELECT 1 FROM responses WHERE key = ?",
                                           (old,)).fetchone()
        except sqlite3.Error:
            return
        if found is None:
            return
        if not self.superseded:
            log.warning("the response cache %s holds answers asked with images as an older "
                        "halluscope prepared them (its key did not name the prepared picture); "
                        "they are not served: asked again (counted as superseded misses)",
                        self.path)
        self.superseded += 1

    def put(self, key: str, doc: dict[str, Any], response: Response) -> None:
        """Store ``response`` under ``key`` unless an answer is already there; a row
        :meth:`get` could read no answer from is no answer: it is replaced."""
        if self._conn is None:
            return
        from halluscope._json import dumps_utf8
        from halluscope.redact import redact_mapping
        request_json = dumps_utf8(redact_mapping(doc), sort_keys=True)
        response_json = dumps_utf8(redact_mapping(response.to_cache()))
        row = (key, doc.get("provider", ""), doc.get("model", ""), request_json, response_json,
               time.time())
        if key in self._unreadable and self._replace(row, self._unreadable.pop(key, None)):
            return
        if self._pending is not None and threading.get_ident() == self._batch_thread:
            self._pending.append(row)
            self._pending_by_key.setdefault(key, row)
            if self._flush_timer is None:
                self._flush_timer = self._loop.call_later(BATCH_DELAY, self.flush)
            return
        self._write([row])

    def _replace(self, row: tuple, unreadable: Any) -> bool:
        """Write ``row`` over the unreadable text :meth:`get` found under its key, if that is
        still what is stored (another process may have written an answer since: the first
        answer wins); whether it did."""
        try:
            with self._lock:
                done = self._conn.execute(
                    "UPDATE responses SET provider = ?, model = ?, request = ?, response = ?, "
                    "created = ? WHERE key = ? AND response IS ?",
                    (*row[1:], row[0], unreadable)).rowcount == 1
                if done:
                    self.writes += 1
                    self.replaced += 1
        except sqlite3.Error as exc:
            self._warn_once(f"cannot write to the response cache {self.path} ({exc}); "
                            f"answers are not being cached")
            return False
        return done

    def _write(self, rows: list[tuple], insert: str = _INSERT) -> None:
        """Insert ``rows`` (one transaction; ``insert``: into which table); a failure is
        counted and warned about once."""
        try:
            with self._lock:
                if len(rows) == 1:
                    self._conn.execute(insert, rows[0])
                else:
                    self._conn.execute("BEGIN")
                    try:
                        self._conn.executemany(insert, rows)
                        self._conn.execute("COMMIT")
                    except BaseException:
                        # also a KeyboardInterrupt (Ctrl-C, SIGTERM) between the insert and
                        # the commit: an open transaction would take every later row with it
                        if self._conn.in_transaction:
                            self._conn.execute("ROLLBACK")
                        raise
                self.writes += len(rows)    # under the lock: threads write at once
        except sqlite3.Error as exc:  # disk full, damaged file: the answer is still returned
            with self._lock:
                self.write_errors += len(rows)
            self._warn_once(f"cannot write to the response cache {self.path} ({exc}); "
                            f"answers are not being cached")

    @contextmanager
    def batched(self) -> Iterator["ResponseCache"]:
        """Inside the block, rows that this thread's running event loop puts are written
        ``BATCH_DELAY`` after the first of them, together (see the module docstring); every
        row is written when the block ends. Other threads' rows are written at once."""
        import asyncio
        if self._conn is None or self._pending is not None:   # no file, or already batching
            yield self
            return
        self._loop = asyncio.get_running_loop()
        self._pending, self._batch_thread = [], threading.get_ident()
        try:
            yield self
        finally:
            try:
                self.flush()
            finally:    # what an interrupted flush put back: one more try, then unbatched
                rows, self._pending, self._batch_thread = self._pending, None, None
                try:
                    if rows:
                        self._write(rows)
                finally:
                    self._pending_by_key = {}

    def flush(self) -> None:
        """Write the rows :meth:`batched` holds back (nothing otherwise; nothing from another
        thread than the one that batches: its block writes them)."""
        if self._batch_thread not in (None, threading.get_ident()):
            return
        if self._flush_timer is not None:
            self._flush_timer.cancel()
            self._flush_timer = None
        if self._pending:
            rows, self._pending = self._pending, []
            try:
                self._write(rows)
            except BaseException:       # interrupted (Ctrl-C, SIGTERM): the rows wait again
                self._pending[:0] = rows
                raise
            # forgotten once written, not before: get() on another thread finds them meanwhile
            self._pending_by_key = {}

    def _warn_once(self, message: str) -> None:
        if not self._warned:
            self._warned = True
            log.warning("%s", message)

    def __len__(self) -> int:
        if self._conn is None:
            return 0
        self.flush()
        with self._lock:
            return self._conn.execute("SELECT COUNT(*) FROM responses").fetchone()[0]

    def rows(self, table: str = "responses"):
        """Every row of ``table`` (``responses``, or ``declined``: the refusals kept) as a
        dict (for inspection and tests)."""
        if self._conn is None:
            return []
        self.flush()
        stored = {"responses": "response", "declined": "declined"}[table]
        with self._lock:
            cur = self._conn.execute(f"SELECT key, provider, model, request, {stored}, created "
                                     f"FROM {table}")
            names = [d[0] for d in cur.description]
            return [dict(zip(names, r)) for r in cur.fetchall()]

    def close(self) -> None:
        if self._conn is None:
            return
        self.flush()
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
        self.flush()
        return {"path": str(self.path), "hits": self.hits, "misses": self.misses,
                "writes": self.writes, **({} if self.exists else {"exists": False}),
                **({"write_errors": self.write_errors} if self.write_errors else {}),
                **({"superseded": self.superseded} if self.superseded else {}),
                **({"replaced": self.replaced} if self.replaced else {}),
                **({"moved_aside": str(self.moved_aside)} if self.moved_aside else {})}


def open_response_cache(cache: str | Path | ResponseCache | bool | None, *,
                        create: bool = True) -> tuple[ResponseCache | None, bool]:
    """The response cache a caller asked for, and whether the caller owns (must close) it:
    ``False`` none; a :class:`ResponseCache` itself (not owned); ``None`` or ``True``
    halluscope's cache folder, or none when caching is off (``HALLUSCOPE_CACHE=off``); a path
    that folder or file."""
    if cache is False:
        return None, False
    if isinstance(cache, ResponseCache):
        return cache, False
    if cache is None or cache is True:
        if default_cache_dir() is None:
            return None, False
        cache = None
    return ResponseCache(cache, create=create), True
