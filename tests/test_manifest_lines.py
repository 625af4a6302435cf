"""config.key_line locates a manifest's keys for its errors (file:line), reading the file as it
is when asked."""

import os

from halluscope.config import key_line


def test_key_line_finds_plain_and_quoted_keys_and_reads_a_changed_file_anew(tmp_path):
    path = tmp_path / "halluscope.toml"
    path.write_text('[audit]\nquestions = "q.json"\n"gt_objects" = 7\n[audit.options]\n',
                    encoding="utf-8")
    assert key_line(path, "questions") == 2
    assert key_line(path, "gt_objects") == 3
    assert key_line(path, "cache_dir") is None
    # a changed file (same size, its modification time put back) gives the new line
    st = os.stat(path)
    path.write_text('[audit]\ngt_objects = "x.json"\n"questions" = 7\n[audit.options]\n',
                    encoding="utf-8")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert key_line(path, "questions") == 3


def test_key_line_of_a_file_that_is_not_there_or_not_text(tmp_path):
    assert key_line(tmp_path / "missing.toml", "questions") is None
    bad = tmp_path / "bad.toml"
    bad.write_bytes(b"questions = \xff\n")
    assert key_line(bad, "questions") is None
