"""The one way halluscope hashes a file (inputs in run sheets, pinned data, caches).

:func:`sha256_file` always reads the file. :func:`known_sha256` (the run sheet's inputs, the
outputs listed in ``results.json``) first looks for a digest this process took of the same bytes
(:func:`remember_sha256`: a file it read whole, or wrote, hashing the bytes as they went) and
gives it only while the file is the one that was hashed: the same device and inode, size,
modification time and change time (any write, rename or ``touch`` since moves the change time;
the file is then read again).
"""

from __future__ import annotations

import hashlib
import os
import threading

_KNOWN: dict[tuple[int, int], tuple[tuple[int, int, int], str]] = {}
_LOCK = threading.Lock()


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def stat_stamp(st: os.stat_result) -> dict[str, int]:
    """What a remembered hash of a file is matched by: size, modification time, inode and
    status-change time. ``st_ctime_ns`` changes on every write (and on a rename or ``chmod``:
    a harmless extra hashing) and cannot be set back by ``os.utime``, so a file replaced by
    another of the same size with its modification time kept (``cp -p``, ``rsync -a``, an
    archive) no longer passes for the old one; a file replaced through a rename has a new
    inode. On Windows ``st_ctime`` is the creation time, which a file overwritten in place
    keeps: there the stamp guards by size, mtime and file index alone."""
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "ino": st.st_ino,
            "ctime_ns": st.st_ctime_ns}


def _identity(st: os.stat_result) -> tuple[tuple[int, int], tuple[int, int, int]]:
    return (st.st_dev, st.st_ino), (st.st_size, st.st_mtime_ns, st.st_ctime_ns)


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
    has not changed since."""
    where, state = _identity(os.stat(path))
    with _LOCK:
        known = _KNOWN.get(where)
    if known is not None and known[0] == state:
        return known[1]
    return sha256_file(path)


def hash_ahead(paths: list[str | os.PathLike]) -> None:
    """Hash files now (while a thread works on something else) for :func:`known_sha256` to
    give later; a file that changes while it is read is left to be read again then."""
    for path in paths:
        try:
            before = os.stat(path)
            digest = sha256_file(path)
        except OSError:
            continue
        remember_sha256(path, digest, before)


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


__all__ = ["code_sha256", "hash_ahead", "known_sha256", "remember_sha256", "sha256_file",
           "stat_stamp"]
