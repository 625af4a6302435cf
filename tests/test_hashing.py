"""A digest taken of bytes read or written stands for the file only while it is unchanged."""

from __future__ import annotations

import hashlib
import os
import time

import halluscope.hashing as hashing
from halluscope.hashing import hash_ahead, known_sha256, remember_sha256, sha256_file


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_a_remembered_digest_is_given_only_while_the_file_is_unchanged(tmp_path, monkeypatch):
    path = tmp_path / "a.jsonl"
    path.write_bytes(b"one\n")
    remember_sha256(path, "remembered")         # (a digest the file does not have: seen used)
    assert known_sha256(path) == "remembered"
    st = path.stat()
    time.sleep(0.05)        # past the clock tick file times are taken from (coarse on Linux)
    path.write_bytes(b"two\n")                  # same size, modification time put back
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert known_sha256(path) == _sha(b"two\n") == sha256_file(path)
    remember_sha256(path, "again")
    time.sleep(0.05)
    path.chmod(0o600)                           # any change to the inode: read again
    assert known_sha256(path) == _sha(b"two\n")
    moved = tmp_path / "b.jsonl"
    remember_sha256(path, "moved")
    time.sleep(0.05)
    path.rename(moved)
    assert known_sha256(moved) == _sha(b"two\n")


def test_a_file_that_changed_while_it_was_read_is_not_remembered(tmp_path):
    path = tmp_path / "q.json"
    path.write_bytes(b"old\n")
    before = path.stat()
    time.sleep(0.05)
    path.write_bytes(b"new content\n")          # changed between the stat and the read's end
    remember_sha256(path, _sha(b"old\n"), before)
    assert known_sha256(path) == _sha(b"new content\n")
    hash_ahead([path, tmp_path / "missing"])    # a missing file is left for later
    reads = []
    original = hashing.sha256_file
    try:
        hashing.sha256_file = lambda p, *a: reads.append(p) or original(p, *a)
        assert known_sha256(path) == _sha(b"new content\n") and not reads
    finally:
        hashing.sha256_file = original
