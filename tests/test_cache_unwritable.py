"""An evidence cache folder that cannot be written logged one warning per image; now once per
folder, saying the folder and that results are still computed (not cached)."""

from __future__ import annotations

import logging

from halluscope.evidence import cache as cache_mod
from halluscope.evidence.cache import EvidenceCache


def test_an_unwritable_cache_folder_is_said_once(tmp_path, caplog, monkeypatch):
    monkeypatch.setattr(cache_mod, "_UNWRITABLE", set())
    root = tmp_path / "not-a-folder"
    root.write_text("a file where the cache folder should be")
    caplog.set_level(logging.WARNING, logger="halluscope.evidence.cache")
    first, second = EvidenceCache(root), EvidenceCache(root)   # two providers of one run
    for i in range(5):
        first.put("detections", f"{i:064x}", {"detections": []})
        second.put("ocr", f"{i:064x}", {"lines": []})
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == 1, said
    assert str(root) in said[0] and "results are still computed, not cached" in said[0]
    assert first.unwritten == second.unwritten == 5
    assert first.get("detections", f"{0:064x}") is None        # a miss, computed again
    # another folder is said on its own
    other = tmp_path / "also-a-file"
    other.write_text("x")
    EvidenceCache(other).put("detections", "ab" * 32, {})
    assert len(caplog.records) == 2 and str(other) in caplog.records[1].getMessage()
