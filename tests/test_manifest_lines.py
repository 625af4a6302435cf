"""config.key_line locates keys of a manifest read once per file (and again once it changes)."""

import os

from halluscope import config
from halluscope.config import key_line


def test_key_line_reads_a_manifest_once_for_all_its_keys(tmp_path, monkeypatch):
    path = tmp_path / "halluscope.toml"
    path.write_text('[audit]\nquestions = "q.json"\n"gt_objects" = 7\n[audit.options]\n',
                    encoding="utf-8")
    reads = []
    real = config.read_toml_text
    monkeypatch.setattr(config, "read_toml_text", lambda p: reads.append(p) or real(p))
    assert key_line(path, "questions") == 2
    assert key_line(path, "gt_objects") == 3
    assert key_line(path, "cache_dir") is None
    assert len(reads) == 1
    # a changed file (same size, its modification time put back) is read again
    st = os.stat(path)
    path.write_text('[audit]\ngt_objects = "x.json"\n"questions" = 7\n[audit.options]\n',
                    encoding="utf-8")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert key_line(path, "questions") == 3
    assert len(reads) == 2


def test_key_line_of_a_file_that_is_not_there_or_not_text(tmp_path):
    assert key_line(tmp_path / "missing.toml", "questions") is None
    bad = tmp_path / "bad.toml"
    bad.write_bytes(b"questions = \xff\n")
    assert key_line(bad, "questions") is None
