"""A digest taken of bytes read or written stands for the file only while it is unchanged."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
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


def test_a_file_stamp_is_one_set_of_fields_in_one_order(tmp_path):
    from halluscope.hashing import STAMP_FIELDS, path_stamp, stamp_tuple, stat_stamp
    path = tmp_path / "a.json"
    path.write_bytes(b"{}")
    st = path.stat()
    assert stat_stamp(st) == dict(zip(STAMP_FIELDS, stamp_tuple(st)))
    assert stamp_tuple(st) == (2, st.st_mtime_ns, st.st_ino, st.st_ctime_ns)
    assert stamp_tuple(st, ctime=False) == (2, st.st_mtime_ns, st.st_ino)
    assert path_stamp(path) == stamp_tuple(st) and path_stamp(tmp_path / "missing") is None


def test_an_indexed_digest_is_read_again_after_a_copy_that_kept_the_time(tmp_path):
    """The weights index and CHAIR's ground-truth memo share one implementation: a file of the
    same size copied over with its modification time kept is hashed again, an unchanged one
    is not, and an index that is not a JSON object is started afresh."""
    from halluscope.hashing import hash_index, indexed_sha256
    index_path = tmp_path / "cache" / "index.json"
    path = tmp_path / "w.bin"
    path.write_bytes(b"old!")
    with hash_index(index_path) as index:
        assert indexed_sha256(path, index) == _sha(b"old!")
    assert json.loads(index_path.read_text())[str(path.resolve())]["sha256"] == _sha(b"old!")
    assert oct(index_path.stat().st_mode & 0o777) == oct(0o600)
    reads = []
    original = hashing.sha256_file
    try:
        hashing.sha256_file = lambda p, *a: reads.append(p) or original(p, *a)
        with hash_index(index_path) as index:
            assert indexed_sha256(path, index) == _sha(b"old!") and not reads
        st = path.stat()
        time.sleep(0.05)
        other = tmp_path / "other.bin"
        other.write_bytes(b"new!")
        os.utime(other, ns=(st.st_atime_ns, st.st_mtime_ns))
        shutil.copy2(other, path)                               # cp -p
        assert (path.stat().st_size, path.stat().st_mtime_ns) == (st.st_size, st.st_mtime_ns)
        with hash_index(index_path) as index:
            assert indexed_sha256(path, index) == _sha(b"new!") and len(reads) == 1
    finally:
        hashing.sha256_file = original
    index_path.write_text("[1, 2]")
    with hash_index(index_path) as index:
        assert index == {} and indexed_sha256(path, index) == _sha(b"new!")
    with hash_index(None) as index:                             # caching off: memory only
        assert indexed_sha256(path, index) == _sha(b"new!")


def test_hash_ahead_does_not_read_a_file_it_knows(tmp_path):
    path = tmp_path / "answers.jsonl"
    path.write_bytes(b"x\n")
    assert known_sha256(path) == _sha(b"x\n")                  # read once, remembered
    reads = []
    original = hashing.sha256_file
    try:
        hashing.sha256_file = lambda p, *a: reads.append(p) or original(p, *a)
        hash_ahead([path])
        assert known_sha256(path) == _sha(b"x\n") and not reads
    finally:
        hashing.sha256_file = original
