"""Doubts left by a hunt of ``--resume`` and the engines: a journal resumed under another
halluscope version, the bootstrap identity of records of same-named files in two folders, and
a ``--workers`` count far above what the machine can run."""

from __future__ import annotations

import json
import pickle
import random
import subprocess
import sys
from pathlib import Path

import pytest

from halluscope import _version
from halluscope.api import audit
from halluscope.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
OBJECTS = ["dog", "cat", "car", "person", "chair", "cup", "bottle", "bird", "horse", "bus"]


def _captions(path: Path, n: int = 40, seed: int = 3, images: bool = True) -> Path:
    """``n`` CHAIR captions (ids ``c0``...) of COCO images 1..n in ``path``."""
    rnd = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = []
    for k in range(n):
        said = rnd.sample(OBJECTS, 3)
        row = {"id": f"c{k}", "caption": f"A {said[0]} beside a {said[1]} and a {said[2]}."}
        if images:
            row["image_id"] = k + 1
        lines.append(json.dumps(row))
    path.write_text("\n".join(lines) + "\n")
    return path


def _gt(folder: Path, n: int = 40) -> Path:
    rnd = random.Random(7)
    gt = folder / "gt.json"
    folder.mkdir(parents=True, exist_ok=True)
    gt.write_text(json.dumps({str(i): rnd.sample(OBJECTS, 3) for i in range(1, n + 1)}))
    return gt


def _stopped_after(n: int, path, **kw) -> None:
    def stop(progress):
        if progress.done == n:
            raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        audit(path, on_progress=stop, write_report=False, **kw)


def _stopped_chair(tmp_path: Path) -> tuple[Path, Path, Path, Path, dict, bytes]:
    """A CHAIR audit stopped after 15 of 40 captions: its input, ground truth, output folder,
    journal, the journal's header and the bytes after it."""
    path, gt = _captions(tmp_path / "in" / "caps.jsonl"), _gt(tmp_path / "in")
    out = tmp_path / "out"
    _stopped_after(15, path, out=out, metrics="chair", gt_objects=gt, n_boot=20)
    journal = out / "items.journal.part"
    with open(journal, "rb") as fh:
        header = pickle.load(fh)
        rest = fh.read()
    return path, gt, out, journal, header, rest


# -- 1. the version that wrote a journal ------------------------------------------------------
def test_a_resume_under_another_halluscope_version_is_refused_naming_both(tmp_path):
    """The journal's header named no halluscope version: a resume after an upgrade folded
    outcomes scored by the old version's metrics (or judge specs) with the new one's into one
    result. Now the header names the version and another one is refused, exit 2, saying both
    versions once and to start afresh without --resume."""
    path, gt, out, journal, header, rest = _stopped_chair(tmp_path)
    assert header["halluscope"] == _version.__version__
    header["halluscope"] = "0.0.1"                  # as if written before an upgrade
    journal.write_bytes(pickle.dumps(header) + rest)
    run = subprocess.run(
        [sys.executable, "-m", "halluscope", "audit", str(path), "--metric", "chair",
         "--gt-objects", str(gt), "--bootstrap", "20", "--out", str(out), "--resume",
         "--no-report", "--quiet"], capture_output=True, text=True, cwd=ROOT, timeout=300)
    said = " ".join(run.stderr.split())
    assert run.returncode == 2, run.stderr
    assert (f"the journal was written by halluscope 0.0.1, this is halluscope "
            f"{_version.__version__}") in said, said
    assert "without --resume" in said and said.count("0.0.1") == 1, said
    assert not (out / "results.json").exists()


def test_a_resume_under_other_code_of_the_same_version_is_refused(tmp_path):
    """The version number is one per release: a development tree or an edited install ran
    other code under the same number, and a resume folded both programs' outcomes. The header
    holds the sha256 of halluscope's own files; other code is refused, saying so."""
    from halluscope.hashing import code_sha256
    path, gt, out, journal, header, rest = _stopped_chair(tmp_path)
    assert header["code"] == code_sha256() and len(header["code"]) == 64
    header["code"] = "0" * 64                       # as if written before an edit
    journal.write_bytes(pickle.dumps(header) + rest)
    with pytest.raises(ConfigError) as caught:
        audit(path, out=out, metrics="chair", gt_objects=gt, n_boot=20, resume=True,
              write_report=False)
    said = str(caught.value)
    assert f"halluscope {_version.__version__} with other code (sha256 000000000000...)" in said
    assert f"this is its code {code_sha256()[:12]}..." in said and "without --resume" in said
    assert not (out / "results.json").exists()
    header["code"] = code_sha256()                  # the same code: resumes to the end
    journal.write_bytes(pickle.dumps(header) + rest)
    done = audit(path, out=out, metrics="chair", gt_objects=gt, n_boot=20, resume=True,
                 write_report=False)
    assert len((out / "items.jsonl").read_text().splitlines()) == 40 and done is not None
    sheet = json.loads((out / "runsheet.json").read_text())
    assert sheet["environment"]["halluscope_code"] == code_sha256()


def test_a_journal_of_before_the_version_was_recorded_is_refused_as_such(tmp_path):
    """A journal of the format that recorded no version (5) is refused as one written by a
    halluscope that did not record its version, not as other inputs or options."""
    from halluscope.journal import journal_header, read_journal
    from halluscope.config import AuditConfig
    path = _captions(tmp_path / "caps.jsonl")
    header = journal_header([path], AuditConfig(metrics=("chair",)), ["chair"])
    old = {k: v for k, v in header.items() if k != "halluscope"} | {"version": 5}
    journal = tmp_path / "items.journal.part"
    journal.write_bytes(pickle.dumps(old))
    with pytest.raises(ConfigError) as caught:
        read_journal(journal, header)
    said = str(caught.value)
    assert ("written by a halluscope that did not record its version (journal format 5), "
            f"this is halluscope {_version.__version__}") in said, said
    assert "other inputs" not in said
    assert read_journal(_same(tmp_path, header), header)[0] == []   # the same: resumes


def _same(tmp_path: Path, header: dict) -> Path:
    same = tmp_path / "same.journal.part"
    same.write_bytes(pickle.dumps(header))
    return same


# -- 2. records of same-named files in two folders --------------------------------------------
def _units_and_results(out: Path) -> tuple[list[str], dict]:
    units = [json.loads(line)["scores"]["chair"]["unit"]
             for line in (out / "items.jsonl").read_text().splitlines()]
    chair = json.loads((out / "results.json").read_text())["metrics"]["chair"]
    return units, {k: v for k, v in chair.items() if k != "info"}    # info names the gt path


def test_same_named_files_in_two_folders_draw_different_weights(tmp_path):
    """The doubt: the item identity (``item_key``) names only the file's basename, so line 1,
    id c0 of a/answers.jsonl and of b/answers.jsonl would draw the same bootstrap weights and
    their resamples be perfectly correlated. They do not: the first record of an id keeps its
    plain key and a repeat of the id (the other folder's) takes ``item@file:line:id`` (a third
    folder's ``...#1``), so every item has its own unit and weights, the same in one process
    and in two workers, and wherever the folders are."""
    from halluscope.metrics.stats import replicate_weights
    results = {}
    for place, workers in (("here", 1), ("here", 2), ("moved", 1)):
        root = tmp_path / place
        files = [_captions(root / d / "answers.jsonl", seed=k) for k, d in enumerate("abc")]
        gt = _gt(root, 40)
        out = tmp_path / f"out-{place}-{workers}"
        audit(files, out=out, metrics="chair", gt_objects=gt, n_boot=200, cluster_by="item",
              workers=workers, write_report=False)
        results[place, workers] = _units_and_results(out)
    units, summary = results["here", 1]
    assert len(units) == 120 and len(set(units)) == 120, units
    assert units[0] == "item:c0|" and units[40] == "item@answers.jsonl:1:c0|"
    assert units[80] == "item@answers.jsonl:1:c0|#1"
    weights = replicate_weights(units[0::40], 200)
    assert not (weights[:, 0] == weights[:, 1]).all()
    assert not (weights[:, 1] == weights[:, 2]).all()
    assert summary["chair_s"]["clusters"] == 120
    assert results["here", 2] == results["here", 1] == results["moved", 1]


# -- 3. a --workers count far above the machine's ---------------------------------------------
def test_workers_far_above_the_cores_are_capped_with_a_warning(tmp_path, monkeypatch, caplog):
    """``--workers 100000`` forked one process per record (401 for 401 records): now at most
    WORKERS_PER_CORE per core start, a warning says what was asked and what is used, the run
    sheet says why, and the results are those of one process."""
    from halluscope import engines
    from halluscope.engine_choice import WORKERS_PER_CORE
    monkeypatch.setattr(engines, "default_workers", lambda: 1)
    path, gt = _captions(tmp_path / "caps.jsonl", n=40), _gt(tmp_path)
    opts = dict(metrics="chair", gt_objects=gt, n_boot=50, write_report=False)
    one = audit(path, out=tmp_path / "one", workers=1, **opts)
    with caplog.at_level("WARNING"):
        many = audit(path, out=tmp_path / "many", workers=100000, **opts)
    ex = many.runsheet["execution"]
    assert (ex["engine"], ex["workers"]) == ("processes", WORKERS_PER_CORE), ex
    assert ex["workers_from"] == (f"--workers 100000, capped at {WORKERS_PER_CORE} "
                                  f"({WORKERS_PER_CORE} per core on 1 core)")
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any("--workers 100000" in w and f"using {WORKERS_PER_CORE}" in w
               for w in warned), warned
    assert one.metrics["chair"].to_dict() == many.metrics["chair"].to_dict()
    assert (tmp_path / "one" / "items.jsonl").read_text() == \
        (tmp_path / "many" / "items.jsonl").read_text()


def test_workers_in_memory_records_are_capped_too(monkeypatch):
    """Records passed in memory took ``workers`` as given, without the cap."""
    from halluscope import engines
    from halluscope.engine_choice import WORKERS_PER_CORE, capped_workers
    monkeypatch.setattr(engines, "default_workers", lambda: 2)
    assert capped_workers(100000)[0] == 2 * WORKERS_PER_CORE
    assert capped_workers(3) == (3, "--workers") and capped_workers(0) == (2, "--workers")


@pytest.mark.parametrize("given", ["abc", "2.5"])
def test_a_workers_count_that_is_no_number_is_named(tmp_path, given):
    """typer's check said "Input should be a valid integer, unable to parse string as an
    integer" without the value given."""
    path, gt = _captions(tmp_path / "caps.jsonl"), _gt(tmp_path)
    run = subprocess.run(
        [sys.executable, "-m", "halluscope", "audit", str(path), "--metric", "chair",
         "--gt-objects", str(gt), "--workers", given, "--out", str(tmp_path / "o")],
        capture_output=True, text=True, cwd=ROOT, timeout=120)
    said = " ".join(run.stderr.split())
    assert run.returncode == 2, run.stderr
    assert f"'--workers': expected a whole number, got '{given}'" in said, said
