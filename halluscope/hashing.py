"""The one way halluscope hashes a file (inputs in run sheets, pinned data, caches).

:func:`sha256_file` always reads the file. :func:`known_sha256` (the run sheet's inputs, the
outputs listed in ``results.json``) first looks for a digest this process took of the same bytes
(:func:`remember_sha256`: a file it read whole, or wrote, hashing the bytes as they went) and
gives it only while the file is the one that was hashed: the same device and inode, size,
modification time and change time (any write, rename or ``touch`` since moves the change time;
the file is then read again).

A file's identity from its ``os.stat`` is built here once for every caller
(:func:`stat_stamp`, :func:`stamp_tuple`, :func:`path_stamp`), and so is the sha256 kept
per file in a JSON index (:func:`hash_index`, :func:`indexed_sha256`: the detector's weights,
CHAIR's large ground-truth files).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from halluscope.atomicfiles import PRIVATE, write_text_atomically

log = logging.getLogger(__name__)

_KNOWN: dict[tuple[int, int], tuple[tuple[int, ...], str]] = {}
_LOCK = threading.Lock()


def json_sha256(obj: Any) -> str:
    """The sha256 of ``obj`` as canonical JSON (keys sorted, ASCII; what JSON cannot hold
    written as its ``str``): the same for a document and for the same document read back."""
    text = json.dumps(obj, sort_keys=True, ensure_ascii=True, default=str)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


#: The fields of a file's stamp, in :func:`stamp_tuple`'s order (the keys of :func:`stat_stamp`).
STAMP_FIELDS = ("size", "mtime_ns", "ino", "ctime_ns")


def stat_stamp(st: os.stat_result) -> dict[str, int]:
    """What a remembered hash of a file is matched by: size, modification time, inode and
    status-change time. ``st_ctime_ns`` changes on every write (and on a rename or ``chmod``:
    a harmless extra hashing) and cannot be set back by ``os.utime``, so a file replaced by
    another of the same size with its modification time kept (``cp -p``, ``rsync -a``, an
    archive) no longer passes for the old one; a file replaced through a rename has a new
    inode. On Windows ``st_ctime`` is the creation time, which a file overwritten in place
    keeps: there the stamp guards by size, mtime and file index alone."""
    return dict(zip(STAMP_FIELDS, stamp_tuple(st)))


def stamp_tuple(st: os.stat_result, *, ctime: bool = True) -> tuple[int, ...]:
    """:func:`stat_stamp`'s values as a tuple (size, mtime, inode, change time), for keys and
    comparisons. ``ctime=False`` leaves the change time out, for a caller that must not take a
    ``chmod`` or a rename of the same file for another file (it says why where it asks)."""
    stamp = (st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns)
    return stamp if ctime else stamp[:3]


def path_stamp(path: str | os.PathLike, *, ctime: bool = True) -> tuple[int, ...] | None:
    """:func:`stamp_tuple` of the file at ``path``, or ``None`` where it cannot be read."""
    try:
        return stamp_tuple(os.stat(path), ctime=ctime)
    except (OSError, ValueError):
        return None


def _identity(st: os.stat_result) -> tuple[tuple[int, int], tuple[int, ...]]:
    """Where a remembered digest is kept (device, inode) and what it is matched by."""
    return (st.st_dev, st.st_ino), stamp_tuple(st)


def remember_sha256(path: str | os.PathLike, digest: str,
                    before: os.stat_result | None = None) -> None:
    """Remember ``digest`` as the sha256 of ``path`` as it is now, for :func:`known_sha256`:
    the digest of bytes this process read whole (``before``: the file's ``os.stat`` from before
    it read them; nothing is remembered if the file changed meanwhile) or wrote, hashing them
    as they went (called once the file is complete)."""
    try:
        where, state = _identity(os.stat(path))
    except OSError:
        return
    if before is not None and _identity(before) != (where, state) or not where[1]:
        return          # changed while read, or a file system without inode numbers
    with _LOCK:
        _KNOWN[where] = (state, digest)


def known_sha256(path: str | os.PathLike) -> str:
    """:func:`sha256_file`, or the digest :func:`remember_sha256` took of the same file while it
    has not changed since; a digest it had to read is remembered in turn."""
    before = os.stat(path)
    found = _remembered(before)
    if found is not None:
        return found
    digest = sha256_file(path)
    remember_sha256(path, digest, before)       # for the next asker (the run sheet)
    return digest


def _remembered(st: os.stat_result) -> str | None:
    where, state = _identity(st)
    with _LOCK:
        known = _KNOWN.get(where)
    return known[1] if known is not None and known[0] == state else None


def hash_ahead(paths: list[str | os.PathLike]) -> None:
    """Hash files now (while a thread works on something else) for :func:`known_sha256` to
    give later; a file that changes while it is read is left to be read again then, and one
    whose digest is remembered already is not read again."""
    for path in paths:
        try:
            before = os.stat(path)
            if _remembered(before) is not None:
                continue
            digest = sha256_file(path)
        except OSError:
            continue
        remember_sha256(path, digest, before)


_INDEX_LOCK = threading.Lock()


@contextlib.contextmanager
def hash_index(index_path: Path | None) -> Iterator[dict[str, Any]]:
    """The JSON index of file digests at ``index_path`` (``{}`` when it is missing, unreadable
    or not an object; ``None``: an index kept in memory only), for :func:`indexed_sha256`;
    written back atomically, its owner's only, when it changed (a cache: a failed write is
    logged, never raised). Held under one lock, so threads of this process do not lose each
    other's entries."""
    with _INDEX_LOCK:
        index: dict[str, Any] = {}
        if index_path is not None:
            with contextlib.suppress(OSError, ValueError):
                index = json.loads(index_path.read_text(encoding="utf-8"))
            if not isinstance(index, dict):
                index = {}
        before = dict(index)
        yield index
        if index_path is not None and index != before:
            try:
                index_path.parent.mkdir(parents=True, exist_ok=True)
                write_text_atomically(index_path, json.dumps(index, separators=(",", ":")),
                                      mode=PRIVATE)
            except OSError as exc:
                log.debug("cannot write %s: %s", index_path, exc)


def indexed_sha256(path: str | os.PathLike, index: dict[str, Any]) -> str:
    """The file's sha256, remembered in ``index`` (:func:`hash_index`) by its absolute path
    and :func:`stat_stamp`: a file of the same size copied over the old one with its
    modification time kept (``cp -p``, ``rsync -a``, an archive) has another inode or change
    time, so it is read again instead of passing for the old one (no tool sets the change
    time back)."""
    p = Path(path)
    st = p.stat()
    key = str(p.resolve())
    entry = index.get(key)
    stamp = stat_stamp(st)
    if isinstance(entry, dict) and isinstance(entry.get("sha256"), str) \
            and all(entry.get(k) == v for k, v in stamp.items()):
        digest = entry["sha256"]
    else:
        digest = sha256_file(p)
        index[key] = {**stamp, "sha256": digest}
    remember_sha256(p, digest, st)      # the run sheet's and the journal's digest of it too
    return digest


_CODE_SUFFIXES = (".py", ".html", ".json", ".txt", ".toml")
_code: str | None = None


def code_sha256() -> str:
    """sha256 of halluscope's own files (its modules, templates and packaged data: each path
    relative to the package and its bytes), taken once per process. The version number names a
    release; this names the code that actually ran, so a development tree or an edited install
    is told apart from the release it reports."""
    global _code
    if _code is None:
        from pathlib import Path
        root = Path(__file__).resolve().parent
        h = hashlib.sha256()
        for path in sorted(p for p in root.rglob("*") if p.suffix in _CODE_SUFFIXES
                           and p.is_file() and "__pycache__" not in p.parts):
            rel = path.relative_to(root).as_posix().encode()
            data = path.read_bytes()
            h.update(b"%d:%s%d:" % (len(rel), rel, len(data)))
            h.update(data)
        _code = h.hexdigest()
    return _code


__all__ = ["code_sha256", "hash_ahead", "hash_index", "indexed_sha256", "known_sha256",
           "path_stamp", "remember_sha256", "sha256_file", "stamp_tuple", "stat_stamp"]
