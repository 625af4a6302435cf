"""``--resume`` and files replaced with their size and modification time kept.

The journal's header named each input and companion file (ground truth, questions,
annotations) by path, size and modification time only: a file replaced by another of the same
size with its time kept (``cp -p``, ``rsync -a``, ``touch -r``) resumed silently, folding the
outcomes scored against the old file with those scored against the new one. The header now
also holds each file's inode, change time and sha256: a file whose whole stamp matches is
trusted, one whose inode or change time moved is hashed again and resumed only when its content
is the same (a ``chmod``, a move away and back), else refused (exit 2) naming the file.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from halluscope import _version
from halluscope.api import audit
from test_resume_doubts import _captions, _gt, _stopped_after

ROOT = Path(__file__).resolve().parents[1]


def _stopped(root: Path) -> tuple[Path, Path, Path]:
    """Captions and ground truth under ``root/in``, an audit of them stopped after 15 of 40
    lines into ``root/out``."""
    path, gt = _captions(root / "in" / "caps.jsonl"), _gt(root / "in")
    _stopped_after(15, path, out=root / "out", metrics="chair", gt_objects=gt, n_boot=20)
    assert (root / "out" / "items.journal.part").is_file()
    return path, gt, root / "out"


def _resume(path: Path, gt: Path, out: Path) -> subprocess.CompletedProcess:
    """``halluscope audit ... --resume`` as a user types it."""
    return subprocess.run(
        [sys.executable, "-m", "halluscope", "audit", str(path), "--metric", "chair",
         "--gt-objects", str(gt), "--bootstrap", "20", "--out", str(out), "--resume",
         "--no-report", "--quiet"], capture_output=True, text=True, cwd=ROOT, timeout=300)


def _replace_keeping_time(target: Path, text: str) -> None:
    """``target`` replaced by ``text`` (of its size) with ``cp -p`` from a file given the
    target's modification time (``touch -r``): what a sync of another copy leaves."""
    assert len(text.encode()) == target.stat().st_size and text != target.read_text()
    other = target.with_name("other-" + target.name)
    other.write_text(text)
    st = target.stat()
    os.utime(other, ns=(st.st_atime_ns, st.st_mtime_ns))
    shutil.copy2(other, target)                 # cp -p
    after = target.stat()
    assert (after.st_size, after.st_mtime_ns) == (st.st_size, st.st_mtime_ns)


def _results(out: Path) -> tuple[dict, str]:
    data = json.loads((out / "results.json").read_text())
    data.pop("run_id")
    data.pop("outputs")
    data.pop("digest")
    return data, (out / "items.jsonl").read_text()


def _refused_naming(run: subprocess.CompletedProcess, changed: Path, out: Path) -> None:
    said = " ".join(run.stderr.split())
    assert run.returncode == 2, run.stderr
    assert f"the content of {changed.resolve()} changed since the interrupted run" in said, said
    assert "cp -p" in said and "without --resume" in said, said
    assert not (out / "results.json").exists()


def test_a_companion_file_replaced_with_its_time_kept_is_refused(tmp_path):
    """The hole: a ground-truth file replaced by one of the same size with its mtime kept
    resumed (exit 0) and mixed the two ground truths in one result."""
    path, gt, out = _stopped(tmp_path)
    text = gt.read_text()
    at = text.index('"dog"')
    _replace_keeping_time(gt, text[:at] + '"cup"' + text[at + 5:])
    _refused_naming(_resume(path, gt, out), gt, out)


def test_an_input_replaced_with_its_time_kept_is_refused_naming_it(tmp_path):
    path, gt, out = _stopped(tmp_path)
    text = path.read_text()
    assert "A dog" in text
    _replace_keeping_time(path, text.replace("A dog", "A cat"))
    _refused_naming(_resume(path, gt, out), path, out)


def test_a_chmod_resumes_to_the_results_of_an_uninterrupted_run(tmp_path):
    """A ``chmod`` moves the change time only: the files are hashed again, found the same, and
    the resume replays the journal to the results of a run that was never stopped."""
    path, gt, out = _stopped(tmp_path)
    before = {p: p.stat() for p in (path, gt)}
    path.chmod(0o600)
    gt.chmod(0o600)
    assert all(p.stat().st_ctime_ns != st.st_ctime_ns or p.stat().st_mode != st.st_mode
               for p, st in before.items())
    run = _resume(path, gt, out)
    assert run.returncode == 0, run.stderr
    sheet = json.loads((out / "runsheet.json").read_text())
    assert sheet["execution"]["resumed"]["lines_from_the_journal"] == 15
    full = tmp_path / "full"
    audit(path, out=full, metrics="chair", gt_objects=gt, n_boot=20, write_report=False)
    assert _results(out) == _results(full)


def test_a_file_moved_away_and_back_resumes(tmp_path):
    path, gt, out = _stopped(tmp_path)
    for p in (path, gt):
        away = tmp_path / ("away-" + p.name)
        p.rename(away)
        away.rename(p)
    run = _resume(path, gt, out)
    assert run.returncode == 0, run.stderr
    assert len((out / "items.jsonl").read_text().splitlines()) == 40


def test_an_old_format_journal_is_refused_as_such(tmp_path):
    """A journal of format 7 (files by size and time only) of the same halluscope version is
    refused as one of another journal format, not taken for other inputs."""
    path, gt, out = _stopped(tmp_path)
    journal = out / "items.journal.part"
    with open(journal, "rb") as fh:
        header = pickle.load(fh)
        rest = fh.read()
    assert header["version"] == 8
    old = header | {
        "version": 7, "inputs": [tuple(f[:3]) for f in header["inputs"]],
        "companions": [tuple(f[:3]) for f in header["companions"]]}
    journal.write_bytes(pickle.dumps(old) + rest)
    run = _resume(path, gt, out)
    said = " ".join(run.stderr.split())
    assert run.returncode == 2, run.stderr
    version = _version.__version__
    assert (f"the journal was written by halluscope {version} (journal format 7), this is "
            f"halluscope {version} (journal format 8)") in said, said
    assert "other inputs" not in said


def test_the_journal_holds_the_files_digests_and_an_unchanged_file_is_not_read(
        tmp_path, monkeypatch):
    """The header is on disk at once and the files' digests follow it with the first entry;
    a resume whose files kept their whole stamp reads none of them, one after a ``chmod``
    reads the changed file and goes on."""
    from halluscope import hashing
    from halluscope.config import AuditConfig
    from halluscope.journal import Journal, journal_header, read_journal
    path, gt = _captions(tmp_path / "caps.jsonl"), _gt(tmp_path)
    cfg = AuditConfig(metrics=("chair",), gt_objects=str(gt))
    header = journal_header([path], cfg, ["chair"])
    journal = Journal(tmp_path / "j.part", header, resume=False)
    with open(tmp_path / "j.part", "rb") as fh:
        assert pickle.load(fh) == header and not fh.read()   # the header at once
    journal.append([("ok", "an outcome")])
    journal.close()
    with open(tmp_path / "j.part", "rb") as fh:
        pickle.load(fh)
        digests = pickle.load(fh)                          # then the digests, before entry 1
    assert digests == {"sha256": {str(p.resolve()): hashing.sha256_file(p) for p in (path, gt)}}
    read: list[str] = []
    real = hashing.sha256_file
    monkeypatch.setattr(hashing, "sha256_file", lambda p, *a: read.append(str(p)) or real(p))
    monkeypatch.setattr(hashing, "_KNOWN", {})          # a new process: nothing remembered
    entries, _ = read_journal(tmp_path / "j.part", journal_header([path], cfg, ["chair"]))
    assert [e.outcomes for e in entries] == [[("ok", "an outcome")]] and read == []
    gt.chmod(0o600)
    read_journal(tmp_path / "j.part", journal_header([path], cfg, ["chair"]))
    assert read == [str(gt.resolve())]
    st = gt.stat()
    gt.write_text(gt.read_text())               # rewritten: the same bytes, the time put back
    os.utime(gt, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert len(read_journal(tmp_path / "j.part", journal_header([path], cfg, ["chair"]))[0]) == 1


if __name__ == "__main__":      # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
