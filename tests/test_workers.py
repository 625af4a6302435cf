"""Scale-out: identity-keyed bootstrap weights, ``--workers N`` giving the one-process results
(every value, interval bound, group, tally and items.jsonl line), and ``--resume``."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from conftest import shared_data_dir
from halluscope.metrics.stats import SumState, replicate_weights
from halluscope.api import audit

DATA = Path(__file__).resolve().parents[1] / "data"
_SHARED = shared_data_dir("nltk")   # $HALLUSCOPE_SHARED_DATA or ../shared/data, else None
SHARED_NLTK = _SHARED / "nltk" if _SHARED is not None else None


# -- weights ---------------------------------------------------------------------------------
def test_weights_depend_on_the_key_only():
    keys = [f"f.jsonl:{i}:id{i}" for i in range(50)]
    w = replicate_weights(keys, 200, seed=7)
    assert w.shape == (200, 50)
    # the same key gets the same column whatever its neighbours and position
    w2 = replicate_weights(list(reversed(keys[10:20])), 200, seed=7)
    assert np.array_equal(w2[:, ::-1], w[:, 10:20])
    assert np.array_equal(replicate_weights([keys[3]], 200, seed=7)[:, 0], w[:, 3])
    # another seed, other weights
    assert not np.array_equal(replicate_weights(keys, 200, seed=8), w)


def test_weights_are_poisson_one():
    w = replicate_weights([str(i) for i in range(400)], 500, seed=0)   # 200,000 draws
    assert abs(w.mean() - 1.0) < 0.01 and abs(w.var() - 1.0) < 0.02
    # P(0) = P(1) = e^-1, P(2) = e^-1 / 2
    for k, p in ((0, np.exp(-1)), (1, np.exp(-1)), (2, np.exp(-1) / 2)):
        assert abs((w == k).mean() - p) < 0.005
    assert w.min() == 0 and float(w.max()).is_integer()


def test_sumstate_shards_merge_to_the_whole():
    rows = [(float(i % 3), 1.0) for i in range(30)]
    whole = SumState(("x", "one"), n_boot=100, seed=2)
    for i, r in enumerate(rows):
        whole.add(r, key=f"k{i}")
    a, b = SumState(("x", "one"), 100, 2), SumState(("x", "one"), 100, 2)
    for i, r in enumerate(rows):                       # interleaved shards, other order
        (a if i % 2 else b).add(r, key=f"k{i}")
    b.merge(a)
    whole.flush()
    assert np.allclose(b.boot, whole.boot) and b.n == whole.n


# -- identical results -----------------------------------------------------------------------
def comparable(out: Path) -> tuple[dict, str]:
    """results.json without what differs by design (run id, output hashes)."""
    data = json.loads((out / "results.json").read_text())
    data.pop("run_id")
    data.pop("outputs")
    data.pop("digest")
    return data, (out / "items.jsonl").read_text()


def amber_fixture(folder: Path) -> Path:
    """A tiny AMBER: three items (one generative, two discriminative) and their answers."""
    folder.mkdir()
    (folder / "annotations.json").write_text(json.dumps([
        {"id": 1, "type": "generative", "truth": ["dog", "grass"], "hallu": ["cat", "ball"]},
        {"id": 2, "type": "discriminative-hallucination", "truth": "no"},
        {"id": 3, "type": "discriminative-attribute-state", "truth": "yes"},
    ]))
    (folder / "relation.json").write_text(json.dumps({"dog": [], "grass": ["lawn"],
                                                      "cat": [], "ball": []}))
    (folder / "safe_words.txt").write_text("picture\nimage\n")
    answers = folder / "answers.jsonl"
    answers.write_text("\n".join(json.dumps(r) for r in [
        {"id": 1, "task": "caption", "response": "A dog and a cat play on the lawn."},
        {"id": 2, "task": "yes-no", "prompt": "Is there a car?", "response": "No."},
        {"id": 3, "task": "yes-no", "prompt": "Is the dog running?", "response": "No"},
    ]) + "\n")
    return answers


def consistency_file(path: Path) -> Path:
    rows = []
    for q, answers in {"q1": ["Yes", "yes", "No"], "q2": ["No", "No", "No"]}.items():
        rows += [{"id": f"{q}-{k}", "prompt": "Is there a dog?", "task": "yes-no",
                  "response": a, "sample_of": q} for k, a in enumerate(answers)]
    rows += [{"id": "p1", "prompt": "Is there a cat?", "task": "yes-no", "response": "Yes",
              "paraphrase_of": "p1"},
             {"id": "p1b", "prompt": "Can you see a cat?", "task": "yes-no", "response": "No",
              "paraphrase_of": "p1"}]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def test_sample_audit_identical_for_one_and_two_workers(tmp_path, monkeypatch):
    """The sample data/ audit (pope, chair, claims with annotations and the COCO detector,
    region, page) plus faithscore: one process and two workers write the same results,
    intervals included (the sample is small: intervals are allowed from 2 units here)."""
    from halluscope.metrics.base import Metric
    monkeypatch.setattr(Metric, "min_units", 2)
    outs = {}
    for n in (1, 2):
        out = tmp_path / f"w{n}"
        audit(DATA, out=out, workers=n, n_boot=200,
              metrics="pope,chair,claims,faithscore,region,page", write_report=False)
        outs[n] = comparable(out)
    assert outs[1] == outs[2]
    assert set(outs[1][0]["metrics"]) == {"pope", "chair", "claims", "faithscore", "region",
                                          "page"}
    metrics = outs[1][0]["metrics"]
    for name, stat in [("pope", "accuracy"), ("chair", "chair_i"), ("claims", "existence_rate"),
                       ("faithscore", "faithscore")]:
        ci = metrics[name][stat]["ci"]
        assert ci[0] < ci[1], (name, stat, ci)


def test_amber_and_consistency_identical_for_one_and_two_workers(tmp_path, monkeypatch):
    if SHARED_NLTK is not None:
        monkeypatch.setenv("NLTK_DATA", str(SHARED_NLTK))
    answers = amber_fixture(tmp_path / "amber")
    groups = consistency_file(tmp_path / "groups.jsonl")
    outs = {}
    for n in (1, 2):
        out = tmp_path / f"w{n}"
        audit([answers, groups], out=out, workers=n, n_boot=100, metrics="amber,consistency",
              annotations=[tmp_path / "amber" / "annotations.json"], write_report=False)
        outs[n] = comparable(out)
    assert outs[1] == outs[2]
    metrics = outs[1][0]["metrics"]
    assert metrics["amber"]["n"] >= 2
    assert metrics["consistency"]["sample_groups"]["value"] == 2


# -- resume ----------------------------------------------------------------------------------
class Stop(Exception):
    """Stands for a kill in the middle of an audit."""


def stop_after(n: int):
    def progress(p):
        if p.done == n:
            raise Stop
    return progress


def test_interrupted_audit_resumes_to_the_same_results(tmp_path, monkeypatch):
    from halluscope.metrics.chair import ChairMetric
    whole = tmp_path / "whole"
    audit(DATA, out=whole, metrics="pope,chair,region", n_boot=200, write_report=False)

    out = tmp_path / "resumed"
    with pytest.raises(Stop):
        audit(DATA, out=out, metrics="pope,chair,region", n_boot=200, write_report=False,
              on_progress=stop_after(9))
    assert not (out / "results.json").exists() and (out / "items.journal.part").is_file()

    scored = []
    real = ChairMetric.score
    monkeypatch.setattr(ChairMetric, "score",
                        lambda self, rec: scored.append(rec.id) or real(self, rec))
    audit(DATA, out=out, metrics="pope,chair,region", n_boot=200, write_report=False,
          resume=True)
    assert comparable(out) == comparable(whole)
    assert not (out / "items.journal.part").exists()
    # only the records after the first 9 lines were scored again
    from halluscope.records import Record, iter_records
    lines = list(iter_records(DATA / "outputs.jsonl"))
    first = {r.id for r in lines[:9] if isinstance(r, Record)}
    later = [r.id for r in lines[9:] if isinstance(r, Record)]
    assert scored and not set(scored) & first
    assert scored == [i for i in later if i in scored]


def test_resume_cuts_a_half_written_entry_and_refuses_other_inputs(tmp_path):
    from halluscope.errors import ConfigError
    whole = tmp_path / "whole"
    audit(DATA, out=whole, metrics="pope", n_boot=50, write_report=False)
    out = tmp_path / "cut"
    with pytest.raises(Stop):
        audit(DATA, out=out, metrics="pope", n_boot=50, write_report=False,
              on_progress=stop_after(20))
    journal = out / "items.journal.part"
    journal.write_bytes(journal.read_bytes()[:-7])        # a kill in the middle of a write
    audit(DATA, out=out, metrics="pope", n_boot=50, write_report=False, resume=True, workers=2)
    assert comparable(out) == comparable(whole)

    with pytest.raises(Stop):
        audit(DATA, out=out, metrics="pope", n_boot=50, write_report=False,
              on_progress=stop_after(5))
    with pytest.raises(ConfigError, match="other inputs, options or companion files "
                                          r"\(pope_parser: expected 'original' as "
                                          r"journaled, got 'strict'\)"):
        audit(DATA, out=out, metrics="pope", n_boot=50, write_report=False, resume=True,
              pope_parser="strict")


def test_resume_refuses_when_a_file_the_options_name_changed(tmp_path):
    """The ground truth edited between the kill and --resume: the journal's scores were made
    against the old one, so resuming would mix two ground truths into one result (it did:
    only the inputs and the options' text were compared)."""
    import os

    from halluscope.errors import ConfigError
    gt = tmp_path / "gt.json"
    gt.write_text(json.dumps({"1": ["dog"], "2": ["cat"]}))
    captions = tmp_path / "captions.jsonl"
    captions.write_text("".join(json.dumps({"image_id": i % 2 + 1, "caption": "A dog and a cat."})
                                + "\n" for i in range(12)))
    out = tmp_path / "out"
    opts = dict(out=out, metrics="chair", gt_objects=gt, n_boot=20, write_report=False)
    with pytest.raises(Stop):
        audit(captions, on_progress=stop_after(5), **opts)
    gt.write_text(json.dumps({"1": [], "2": []}))
    os.utime(gt, ns=(gt.stat().st_atime_ns, gt.stat().st_mtime_ns + 10**9))
    with pytest.raises(ConfigError, match=f"files the options name changed or differ: {gt}"):
        audit(captions, resume=True, **opts)



def test_resume_refuses_an_input_rewritten_with_its_size_and_time_kept(tmp_path):
    """An input replaced in place by another of the same size, its modification time kept (cp
    -p, touch -r, an archive): the journal's header (path, size, time) matched, and the resume
    wrote the new lines' text beside the old lines' scores. Refused by the line digests, and
    now before them by the header (the file's change time moved, its sha256 differs)."""
    import os

    from halluscope.errors import ConfigError
    gt = tmp_path / "gt.json"
    gt.write_text(json.dumps({"1": ["dog"], "2": ["cat"]}))
    captions = tmp_path / "captions.jsonl"
    captions.write_text("".join(json.dumps({"image_id": i % 2 + 1, "caption": "A dog sat."})
                                + "\n" for i in range(12)))
    stamp = captions.stat()
    out = tmp_path / "out"
    opts = dict(out=out, metrics="chair", gt_objects=gt, n_boot=20, write_report=False)
    with pytest.raises(Stop):
        audit(captions, on_progress=stop_after(5), **opts)
    captions.write_text(captions.read_text().replace("A dog sat.", "A cat sat.", 1))
    os.utime(captions, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    assert captions.stat().st_size == stamp.st_size
    import re
    changed = re.escape(f"the content of {captions.resolve()} changed since the interrupted run")
    with pytest.raises(ConfigError, match=changed):
        audit(captions, resume=True, **opts)



def test_line_digests_take_any_metadata_and_tell_lines_apart():
    from dataclasses import replace

    from halluscope.journal import line_digest
    from halluscope.records import Record, Source
    rec = Record(id="1", task="caption", response="A dog.", source=Source("a.jsonl", 1),
                 metadata={2024: "a number as a column name", "b": {(1, 2): "a tuple key"}})
    assert line_digest(rec) == line_digest(replace(rec))
    assert line_digest(rec) != line_digest(replace(rec, response="A cat."))
    assert line_digest(rec) != line_digest(replace(rec, source=Source("a.jsonl", 2)))

def test_resume_takes_a_file_spelled_another_way_for_the_same_file(tmp_path, monkeypatch):
    """The ground truth given as gt.json from its folder, then by its absolute path from
    another folder: the same file, and the resume was refused as another option."""
    gt = tmp_path / "gt.json"
    gt.write_text(json.dumps({"1": ["dog"], "2": ["cat"]}))
    captions = tmp_path / "captions.jsonl"
    captions.write_text("".join(json.dumps({"image_id": i % 2 + 1, "caption": "A dog sat."})
                                + "\n" for i in range(12)))
    opts = dict(metrics="chair", n_boot=20, write_report=False)
    audit(captions, out=tmp_path / "whole", gt_objects=gt, **opts)
    out = tmp_path / "out"
    monkeypatch.chdir(tmp_path)
    with pytest.raises(Stop):
        audit(captions, out=out, gt_objects="gt.json", on_progress=stop_after(5), **opts)
    monkeypatch.chdir(DATA)
    audit(captions, out=out, gt_objects=gt, resume=True, **opts)
    assert comparable(out) == comparable(tmp_path / "whole")

def test_cli_workers_option(tmp_path):
    from typer.testing import CliRunner
    from halluscope.cli import app
    res = CliRunner().invoke(app, ["audit", str(DATA / "outputs.jsonl"), "--metric", "pope",
                                   "--workers", "2", "--out", str(tmp_path / "o"), "-q",
                                   "--no-report"])
    assert res.exit_code == 0, res.output
    assert json.loads((tmp_path / "o" / "results.json").read_text())["metrics"]["pope"]["n"]


def test_files_opened_while_warming_are_found(tmp_path):
    """Forked workers would share the offset of every file the parent holds open: a file
    opened while warming is found (and the engine then spawns its workers)."""
    from halluscope.forkfiles import open_files, opened_between
    before = open_files()
    if before is None:
        pytest.skip("no /proc/self/fd on this system")
    assert opened_between(before, open_files()) == {}
    with open(tmp_path / "held.txt", "w") as fh:
        fh.write("x")
        new = opened_between(before, open_files())
    assert list(new.values()) == [str(tmp_path / "held.txt")]
    assert opened_between(None, before) is None


def test_wordnet_files_closed_before_fork_and_reopened_on_use():
    """NLTK's WordNet reader keeps data files open; closing them before a fork leaves a
    reader that reopens them and answers as before."""
    from halluscope.claims.vocab import wordnet
    from halluscope.forkfiles import close_reopenable, open_files
    wn = wordnet()
    if wn is None:
        pytest.skip("WordNet is not installed")

    def hypernyms():        # NLTK caches synsets: forget them, so that the file is read
        wn._synset_offset_cache.clear()
        return [s.name() for s in wn.synset("dog.n.01").hypernyms()]

    want = hypernyms()      # whatever earlier tests in this process did to the reader
    assert any(t.endswith("data.noun") for t in (open_files() or {}).values())
    close_reopenable()
    assert not any(t.endswith("data.noun") for t in (open_files() or {}).values())
    assert hypernyms() == want
    assert any(t.endswith("data.noun") for t in (open_files() or {}).values())   # reopened


def _config(**kw):
    from types import SimpleNamespace
    base = {"workers": None, "detector": None, "segmenter": None, "input_format": None,
            "judge": None}
    return SimpleNamespace(**{**base, **kw})


def test_heavy_audits_use_every_core_by_default_and_light_ones_one_process(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from halluscope import engines
    from halluscope.engine_choice import HEAVY_RECORDS, choose_workers
    monkeypatch.setattr(engines, "default_workers", lambda: 4)
    monkeypatch.setattr(engines, "fork_is_safe", lambda: True)
    claims, pope = SimpleNamespace(needs_verification=True), SimpleNamespace(
        needs_verification=False)
    many, few = tmp_path / "many.jsonl", tmp_path / "few.jsonl"
    many.write_text('{"id": "a", "caption": "A dog."}\n' * HEAVY_RECORDS)
    few.write_text('{"id": "a", "caption": "A dog."}\n' * (HEAVY_RECORDS - 1))
    assert choose_workers(_config(detector="coco-ssd"), [claims], [many]) == (
        4, "default: heavy work (detector or segmenter), one worker per core")
    assert choose_workers(_config(detector="coco-ssd"), [claims], [few])[0] == 1
    assert choose_workers(_config(), [claims], [many]) == (1, "default: light work")
    assert choose_workers(_config(detector="coco-ssd"), [pope], [many])[0] == 1
    assert choose_workers(_config(detector="coco-ssd", workers=1), [claims], [many]) == (
        1, "--workers")
    assert choose_workers(_config(workers=0), [pope], [many]) == (4, "--workers")
    # a local judge model: one copy, in this process, unless --workers asks for more
    n, why = choose_workers(_config(detector="coco-ssd", judge="qwen2.5-vl-7b-instruct"),
                            [claims], [many])
    assert n == 1 and "local judge" in why
    assert choose_workers(_config(detector="coco-ssd", judge="qwen2.5-vl-7b-instruct",
                                  workers=2), [claims], [many]) == (2, "--workers")
    assert choose_workers(_config(detector="coco-ssd", judge="gpt-4o-2024-08-06"), [claims],
                          [many])[0] == 4
    monkeypatch.setattr(engines, "fork_is_safe", lambda: False)
    n, why = choose_workers(_config(detector="coco-ssd"), [claims], [many])
    assert n == 1 and "cannot be forked" in why


def test_the_run_sheet_says_how_the_records_were_scored(tmp_path):
    import halluscope
    answers = tmp_path / "answers.jsonl"
    answers.write_text("".join(json.dumps({"question": "Is there a dog in the image?",
                                           "answer": "Yes", "label": "yes"}) + "\n"
                               for _ in range(12)))
    result = halluscope.audit(answers, metrics="pope", out=tmp_path / "a")
    sheet = json.loads((tmp_path / "a" / "runsheet.json").read_text())
    assert sheet["execution"] == {"scored": "as columns (whole files)", "engine": "local",
                                  "workers": 1, "workers_from": "default: light work"}
    assert result.runsheet["execution"] == sheet["execution"]
    halluscope.audit(answers, metrics="pope", out=tmp_path / "b", workers=2, engine="local",
                     strict=False, n_boot=0, pope_align="auto", options={})
    sheet = json.loads((tmp_path / "b" / "runsheet.json").read_text())
    assert sheet["execution"] == {   # asked for 2, and told why it ran as one
        "scored": "as columns (whole files)", "engine": "local", "workers": 1,
        "workers_from": "--workers gave 2; whole files scored as columns run in one process"}


def test_no_more_workers_than_records(tmp_path):
    """``--workers 8`` on 3 records starts 3 processes (the others would start, fork or
    spawn, and never score: 64 workers on 5 records took twice one worker's time), with the
    same results, and the run sheet says why."""
    import halluscope
    answers = tmp_path / "answers.jsonl"
    answers.write_text("".join(json.dumps({"question": "Is there a dog in the image?",
                                           "answer": a, "label": "yes", "metadata": {"k": 1}})
                               + "\n" for a in ("Yes", "No", "Yes")))  # nested: by record
    runs = [halluscope.audit(answers, metrics="pope", out=tmp_path / f"w{n}", workers=n,
                             n_boot=0, write_report=False) for n in (1, 8)]
    ex = runs[1].runsheet["execution"]
    assert (ex["engine"], ex["workers"], ex["workers_from"]) == (
        "processes", 3, "--workers 8, capped at the 3 records")
    assert runs[0].metrics["pope"].to_dict() == runs[1].metrics["pope"].to_dict()
    assert runs[1].metrics["pope"].n == 3


def test_an_invalid_option_is_named_with_the_value_given(tmp_path):
    """Not pydantic's report (its class name, error codes and a link): each refused field,
    why, and what was given; exit 2 on the command line."""
    import halluscope
    from halluscope.errors import ConfigError
    with pytest.raises(ConfigError) as caught:
        halluscope.audit(DATA, metrics="chair", workers=-1, n_boot=-5, out=tmp_path / "o")
    message = str(caught.value)
    assert message.startswith("invalid audit options: ")
    assert "workers: Input should be greater than or equal to 0 (got -1)" in message
    assert "(got -5)" in message
    assert "pydantic" not in message and "AuditConfig" not in message


def test_resume_after_a_kill_before_the_journal_header_starts_again(tmp_path, caplog):
    """A SIGKILL in the first moments (Ray starting, a whole-file POPE run, fewer than 64
    records) left an empty journal, and --resume refused it with exit 2; nothing was scored
    then, so the audit starts again with a warning, as with no journal at all."""
    import logging
    whole = tmp_path / "whole"
    audit(DATA, out=whole, metrics="pope", n_boot=50, write_report=False)
    for cut in (b"", b"\x80\x05\x95"):          # empty, and a header cut short
        out = tmp_path / f"cut{len(cut)}"
        out.mkdir()
        (out / "items.journal.part").write_bytes(cut)
        (out / "items.jsonl.part").write_bytes(b"")
        with caplog.at_level(logging.WARNING, logger="halluscope.journal"):
            audit(DATA, out=out, metrics="pope", n_boot=50, write_report=False, resume=True)
        assert comparable(out) == comparable(whole)
        assert "cut before its header was written" in caplog.text


def test_the_journal_header_is_on_disk_before_the_first_record(tmp_path):
    from halluscope.config import AuditConfig
    from halluscope.journal import Journal, journal_header, read_journal
    header = journal_header([DATA / "outputs.jsonl"], AuditConfig(metrics=("pope",)), ["pope"])
    journal = Journal(tmp_path / "j.part", header, resume=False)
    try:
        assert read_journal(tmp_path / "j.part", header) == ([], (tmp_path / "j.part").stat(
        ).st_size)
    finally:
        journal.close()


def test_resume_on_a_finished_audit_of_other_options_leaves_its_results(tmp_path):
    """--resume where the audit had finished deleted results.json at once and scored it all
    again (hours for a detector audit, and nothing left if that run was stopped). A resume
    with the same options reads them back (tests/test_resume_finished.py); another is
    refused, and leaves them."""
    from halluscope.errors import ConfigError
    out = tmp_path / "done"
    audit(DATA, out=out, metrics="pope", n_boot=20, write_report=False)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with pytest.raises(ConfigError, match="holds a finished audit of other inputs"):
        audit(DATA, out=out, metrics="pope", n_boot=20, write_report=False, resume=True,
              pope_parser="strict")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_an_unreadable_document_is_reported_the_same_by_workers(tmp_path):
    """A worker's UnreadableImage crossed the process boundary as "cannot read document:
    cannot read document X: not found" with no path: items.jsonl differed by engine."""
    rows = [{"id": f"d{i}", "task": "document", "document": f"missing{i}.pdf",
             "response": "Page 1 says the meeting ended at noon."} for i in range(6)]
    path = tmp_path / "docs.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    outs = {}
    for n in (1, 2):
        out = tmp_path / f"w{n}"
        with pytest.raises(Exception):      # nothing readable: the metric scored nothing
            audit(path, out=out, workers=n, n_boot=0, metrics="page", write_report=False,
                  strict=True)
        res = audit(path, out=out, workers=n, n_boot=0, metrics="page", write_report=False)
        outs[n] = (out / "items.jsonl").read_text()
        assert res.errors[0]["path"].endswith("missing0.pdf")
        assert res.errors[0]["message"].count("cannot read document") == 1
    assert outs[1] == outs[2]
