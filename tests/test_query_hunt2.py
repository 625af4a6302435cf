"""Regressions found by a second user-style bug hunt of ``halluscope query`` (loopback servers
only): see also ``test_query_hunt.py`` and ``test_ray_stopping.py``."""

from __future__ import annotations

import json

from PIL import Image

from halluscope.benchmark_query import write_benchmark_prompts
from test_benchmarks import ROWS, manifest


def _benchmark(tmp_path, roots):
    """A tiny benchmark's manifest and data folder, its images under each of ``roots``."""
    data = tmp_path / "data"
    data.mkdir()
    questions = data / "tiny.json"
    questions.write_text(json.dumps(ROWS))
    for root in roots:
        for row in ROWS:
            if row["filename"]:
                path = tmp_path / root / row["filename"]
                path.parent.mkdir(parents=True, exist_ok=True)
                Image.new("RGB", (8, 8)).save(path)
    return manifest(tmp_path, questions), data


def test_a_second_benchmark_query_leaves_the_running_ones_prompts_whole(tmp_path):
    """``query --benchmark`` wrote its prompts file beside ``--out`` in place (truncated, then
    written), before it took the output's lock: a second command on the same ``--out`` --
    refused -- rewrote the file the running one was still reading, which then stopped with
    "invalid JSON" (exit 2), its run lost (other ``--images``), or could read a file cut short."""
    spec, data = _benchmark(tmp_path, ("img", "images/in/a/longer/folder"))
    dest = tmp_path / "out.jsonl.prompts.jsonl"
    write_benchmark_prompts(str(spec), data, tmp_path / "img", dest)
    before = dest.read_text().splitlines()
    stat = dest.stat()
    write_benchmark_prompts(str(spec), data, tmp_path / "img", dest)   # the same: untouched
    again = dest.stat()
    assert (again.st_ino, again.st_mtime_ns) == (stat.st_ino, stat.st_mtime_ns)
    with dest.open(encoding="utf-8") as reading:                        # the running run
        first = reading.readline()
        write_benchmark_prompts(str(spec), data, tmp_path / "images/in/a/longer/folder", dest)
        rest = reading.read().splitlines()
    assert [first.rstrip("\n"), *rest] == before
    assert "longer/folder" in dest.read_text()                         # the new one's file


def test_a_refused_benchmark_query_leaves_the_running_ones_prompts_untouched(tmp_path):
    """A second ``query --benchmark`` on the ``--out`` a running query holds is refused; it
    replaced the prompts file first (renamed into place, so the running one read its own whole,
    but its final run sheet then hashed the refused command's prompts)."""
    import pytest

    from halluscope.adapters.outlock import OutputLocked, lock_output, unlock_output

    spec, data = _benchmark(tmp_path, ("img", "other"))
    out = tmp_path / "out.jsonl"
    dest = tmp_path / "out.jsonl.prompts.jsonl"
    write_benchmark_prompts(str(spec), data, tmp_path / "img", dest, out)
    assert not (tmp_path / "out.jsonl.lock").exists()       # taken and given back
    before = dest.read_bytes()
    running = lock_output(out)                               # the running query
    try:
        with pytest.raises(OutputLocked, match="being written by another"):
            write_benchmark_prompts(str(spec), data, tmp_path / "other", dest, out)
        assert dest.read_bytes() == before
        write_benchmark_prompts(str(spec), data, tmp_path / "img", dest, out)   # unchanged: no lock needed
    finally:
        unlock_output(running)
    write_benchmark_prompts(str(spec), data, tmp_path / "other", dest, out)     # once it is done
    assert "other" in dest.read_text()
