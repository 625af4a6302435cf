"""The one atomic writer (halluscope.atomicfiles): the whole new file or the old one, the
temporary file gone either way, and the mode each caller asks for."""

from __future__ import annotations

import os

import pytest

from halluscope.atomicfiles import (PRIVATE, replace_atomically, write_json_atomically,
                                    write_text_atomically)


def test_json_is_indented_unescaped_with_a_final_newline(tmp_path):
    path = tmp_path / "sheet.json"
    write_json_atomically(path, {"name": "café", "n": [1, 2]})
    assert path.read_text(encoding="utf-8") == '{\n  "name": "café",\n  "n": [\n    1,\n    2\n  ]\n}\n'


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "results.json"
    write_text_atomically(path, "old")

    def half_then_fail(tmp):
        tmp.write_text("ne")
        raise KeyboardInterrupt          # not only Exception: a Ctrl-C midway too
    with pytest.raises(KeyboardInterrupt):
        replace_atomically(path, half_then_fail)
    assert path.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json"]


def test_modes_shared_as_open_gives_and_private(tmp_path):
    umask = os.umask(0o022)
    try:
        write_text_atomically(tmp_path / "shared.txt", "x")
        write_text_atomically(tmp_path / "private.txt", "x", mode=PRIVATE)
        (tmp_path / "plain.txt").write_text("x")
    finally:
        os.umask(umask)
    mode = {p.name: p.stat().st_mode & 0o777 for p in tmp_path.iterdir()}
    assert mode == {"shared.txt": 0o644, "private.txt": 0o600, "plain.txt": 0o644}


def test_the_writer_gets_a_fresh_temporary_beside_the_target(tmp_path):
    seen = []

    def write(tmp):
        seen.append((tmp.parent, tmp.name, tmp.exists(), tmp.stat().st_size))
        tmp.write_bytes(b"\x00\x01")
    replace_atomically(tmp_path / "a.bin", write)
    replace_atomically(tmp_path / "a.bin", write)
    assert (tmp_path / "a.bin").read_bytes() == b"\x00\x01"
    assert [s[0] for s in seen] == [tmp_path, tmp_path] and seen[0][1] != seen[1][1]
    assert all(name.startswith(".a.bin.") and name.endswith(".part") and exists and size == 0
               for _, name, exists, size in seen)


def test_a_baseline_is_readable_by_others_as_any_output(tmp_path):
    """A baseline is kept in the repository and read by CI: the mode open() gives, not the
    owner-only mode the caches keep."""
    import os
    import stat

    from halluscope.gates.baseline import write_baseline
    old = os.umask(0o022)
    try:
        path = write_baseline(tmp_path / "baseline.json", {})
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
