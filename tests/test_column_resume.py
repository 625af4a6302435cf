"""``--resume`` on the columnar path (halluscope.column_journal): an audit of a flat POPE answer
file scored as columns, interrupted at a chosen chunk (a KeyboardInterrupt or another exception
raised where that chunk is scored, read or its lines read apart, or in the finish step), then
resumed, gives the results.json (but for its volatile keys) and the items.jsonl, to the byte,
of an uninterrupted run, with bad lines too; the chunks journaled are not read or scored
again, and the run sheet says it resumed and from where. A changed input or option is refused
(exit 2), never mixed."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import halluscope
import halluscope.column_chunks as column_chunks
import halluscope.column_scoring as column_scoring
from halluscope.errors import ConfigError
from halluscope.metrics.pope import PopeMetric
from test_column_lines import BAD, _rows, _write

ROOT = Path(__file__).resolve().parents[1]
VOLATILE = ("run_id", "outputs", "digest", "wall_time_s", "started", "finished")
CHUNK = 6_000       # bytes: about 60 answers a chunk, 10 chunks a file


def _answers(tmp_path, n=600, bad=(), ids=True, labels=False, name="answers.jsonl"):
    """An answer file of ``n`` answers (and its question file), with the bad lines ``bad``
    (``(line index, kind)``) put in."""
    questions, lines = _rows(n, ids=ids, labels=labels)
    for at, kind in sorted(bad, reverse=True):
        lines.insert(at, BAD[kind])
    return _write(tmp_path, lines, name=name, questions=questions)


def _audit(inputs, out, **options):
    options.setdefault("questions", Path(inputs if not isinstance(inputs, list) else inputs[0])
                       .with_name("coco_pope_random.json"))
    options.setdefault("n_boot", 100)
    return halluscope.audit(inputs, metrics="pope", out=out, write_report=False, **options)


def _outputs(out: Path) -> tuple[str, bytes]:
    results = json.loads((out / "results.json").read_text())
    for key in VOLATILE:
        results.pop(key, None)
    return json.dumps(results, sort_keys=True), (out / "items.jsonl").read_bytes()


@pytest.fixture(autouse=True)
def _small_chunks(monkeypatch):
    monkeypatch.setattr(column_chunks, "CHUNK_BYTES", CHUNK)


def _raise_at(monkeypatch, owner, name, nth, exc=KeyboardInterrupt):
    """``owner.name`` raising ``exc`` at its ``nth`` call (from 1); the calls are counted."""
    real = getattr(owner, name)
    calls = {"n": 0}

    def wrapped(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == nth:
            raise exc("stopped here by the test")
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, wrapped)
    return calls


def _interrupted_then_resumed(tmp_path, monkeypatch, answers, owner, name, nth,
                              exc=KeyboardInterrupt, **options):
    """The audit interrupted at ``owner.name``'s ``nth`` call, then resumed: its result, and
    the clean run's folder beside it (whose outputs it must equal)."""
    clean = tmp_path / "clean"
    _audit(answers, clean, **options)
    out = tmp_path / "out"
    with monkeypatch.context() as mp:
        _raise_at(mp, owner, name, nth, exc)
        with pytest.raises(exc):
            _audit(answers, out, **options)
    assert (out / "items.journal.part").is_file() and not (out / "results.json").exists()
    scored = _count_scoring(monkeypatch)
    result = _audit(answers, out, resume=True, **options)
    assert _outputs(out) == _outputs(clean)
    assert not (out / "items.journal.part").exists()
    # the items' sha256 results.json lists: hashed as written, the part before the resume
    # read back (never the digest of another file)
    import hashlib
    listed = json.loads((out / "results.json").read_text())["outputs"]["items.jsonl"]
    assert listed["sha256"] == hashlib.sha256((out / "items.jsonl").read_bytes()).hexdigest()
    assert result.runsheet["execution"]["scored"].startswith("as columns")
    return result, scored


def _count_scoring(monkeypatch):
    """The lines scored as columns from now on (by PopeMetric.score_columns)."""
    real = PopeMetric.score_columns
    seen = {"lines": 0}

    def counting(self, cols, fold=True):
        seen["lines"] += cols.n
        return real(self, cols, fold=fold)

    monkeypatch.setattr(PopeMetric, "score_columns", counting)
    return seen


@pytest.mark.parametrize("nth", [1, 2, 5, 9])
def test_interrupted_while_a_chunk_is_scored_resumes_to_the_uninterrupted_results(
        tmp_path, monkeypatch, nth):
    answers = _answers(tmp_path)
    result, scored = _interrupted_then_resumed(tmp_path, monkeypatch, answers, PopeMetric,
                                               "score_columns", nth)
    resumed = result.runsheet["execution"].get("resumed")
    if nth == 1:        # nothing was done: a fresh run
        assert resumed is None and scored["lines"] == 600
        return
    # the chunks before the one interrupted come from the journal, and are not scored again
    assert resumed["chunks_from_the_journal"] == nth - 1
    assert resumed["lines_from_the_journal"] + scored["lines"] == 600
    assert resumed["items_from_the_journal"] == resumed["lines_from_the_journal"]
    line = resumed["lines_from_the_journal"] + 1
    assert resumed["scored_from"] == f"{answers}:{line}"
    assert resumed["items_scored_after_the_resume"] == 600 - resumed["items_from_the_journal"]


@pytest.mark.parametrize("nth", [1, 3])
def test_bad_lines_interrupted_in_the_lines_read_apart_resume_alike(tmp_path, monkeypatch, nth):
    """Mid-chunk: the interrupt comes while a chunk's bad lines are scored line by line,
    after its first columns were handed to the writer."""
    bad = [(0, "json"), (130, "list"), (131, "blank"), (260, "utf8"), (400, "null"),
           (401, "number"), (530, "nested"), (605, "cut")]
    answers = _answers(tmp_path, bad=bad)
    result, _ = _interrupted_then_resumed(tmp_path, monkeypatch, answers, column_scoring,
                                          "_score_lines", nth)
    assert result.runsheet["execution"]["lines_read_line_by_line"] > 0
    assert len(result.errors) >= 5


def test_interrupted_between_two_chunks_journals_the_first(tmp_path, monkeypatch):
    """At a chunk boundary: the interrupt comes while the next chunk is read, before anything
    of it is scored; the chunk done is journaled on the way out."""
    answers = _answers(tmp_path, bad=[(200, "list")])
    result, scored = _interrupted_then_resumed(
        tmp_path, monkeypatch, answers, column_chunks.RecordPieces, "_pieces", 4)
    resumed = result.runsheet["execution"]["resumed"]
    assert resumed["chunks_from_the_journal"] == 3
    assert resumed["lines_from_the_journal"] + scored["lines"] + 1 == 601


def test_an_exception_in_the_middle_of_the_file_resumes_alike(tmp_path, monkeypatch):
    answers = _answers(tmp_path, bad=[(300, "label")])
    result, _ = _interrupted_then_resumed(tmp_path, monkeypatch, answers, PopeMetric,
                                          "fold_columns", 6, exc=MemoryError)
    assert result.runsheet["execution"]["resumed"]["chunks_from_the_journal"] >= 4


def test_interrupted_in_the_finish_step_scores_nothing_again(tmp_path, monkeypatch):
    answers = _answers(tmp_path, bad=[(10, "json")])
    result, scored = _interrupted_then_resumed(tmp_path, monkeypatch, answers, PopeMetric,
                                               "finish", 1)
    resumed = result.runsheet["execution"]["resumed"]
    assert scored["lines"] == 0 and resumed["lines_from_the_journal"] == 601
    assert resumed["items_from_the_journal"] == 601
    assert resumed["items_scored_after_the_resume"] == 0 and resumed["scored_from"] is None


def test_interrupted_while_the_outputs_are_written_resumes_alike(tmp_path, monkeypatch):
    import halluscope.api as api
    answers = _answers(tmp_path)
    _, scored = _interrupted_then_resumed(tmp_path, monkeypatch, answers, api,
                                          "results_digest", 1)
    assert scored["lines"] == 0


def test_by_order_with_bad_and_blank_lines_resumes_alike(tmp_path, monkeypatch):
    """Aligned by order: a bad line takes an answer's place, blank lines take none."""
    questions, lines = _rows(600, ids=False)
    lines[50], lines[300] = BAD["json"], BAD["list"]
    lines[301:301] = [BAD["blank"], b"\n"]
    answers = _write(tmp_path, lines, questions=questions)
    _interrupted_then_resumed(tmp_path, monkeypatch, answers, PopeMetric, "score_columns", 6)


def test_labels_only_clustered_by_item_resumes_alike(tmp_path, monkeypatch):
    """No question file, each item its own cluster (units numbered as the records come)."""
    answers = _answers(tmp_path, labels=True, bad=[(70, "list")])
    _interrupted_then_resumed(tmp_path, monkeypatch, answers, PopeMetric, "score_columns", 4,
                              questions=None, cluster_by="item")


def test_two_files_interrupted_in_the_second_resume_alike(tmp_path, monkeypatch):
    first = _answers(tmp_path, n=600)
    second = tmp_path / "more.jsonl"
    second.write_bytes(first.read_bytes())
    result, scored = _interrupted_then_resumed(tmp_path, monkeypatch, [first, second],
                                               PopeMetric, "score_columns", 14)
    resumed = result.runsheet["execution"]["resumed"]
    assert resumed["scored_from"].startswith(f"{second}:")
    assert resumed["lines_from_the_journal"] + scored["lines"] == 1200


def test_a_resume_twice_interrupted_resumes_alike(tmp_path, monkeypatch):
    answers = _answers(tmp_path, bad=[(333, "number")])
    clean = tmp_path / "clean"
    _audit(answers, clean)
    out = tmp_path / "out"
    for nth, resume in ((3, False), (4, True)):
        with monkeypatch.context() as mp:
            _raise_at(mp, PopeMetric, "score_columns", nth)
            with pytest.raises(KeyboardInterrupt):
                _audit(answers, out, resume=resume)
    result = _audit(answers, out, resume=True)
    assert result.runsheet["execution"]["resumed"]["chunks_from_the_journal"] == 5
    assert _outputs(out) == _outputs(clean)


def _stopped(tmp_path, monkeypatch, nth=4):
    answers = _answers(tmp_path)
    out = tmp_path / "out"
    with monkeypatch.context() as mp:
        _raise_at(mp, PopeMetric, "score_columns", nth)
        with pytest.raises(KeyboardInterrupt):
            _audit(answers, out)
    return answers, out


def test_a_changed_input_is_refused(tmp_path, monkeypatch):
    answers, out = _stopped(tmp_path, monkeypatch)
    with open(answers, "ab") as fh:
        fh.write(BAD["json"])
    with pytest.raises(ConfigError, match="other inputs, options"):
        _audit(answers, out, resume=True)
    assert not (out / "results.json").exists()


def test_a_changed_option_is_refused(tmp_path, monkeypatch):
    answers, out = _stopped(tmp_path, monkeypatch)
    with pytest.raises(ConfigError, match="pope_parser"):
        _audit(answers, out, resume=True, pope_parser="llava")


def test_an_input_replaced_with_its_size_and_time_kept_is_refused_at_the_cli(tmp_path,
                                                                              monkeypatch):
    answers, out = _stopped(tmp_path, monkeypatch)
    data = answers.read_bytes()
    at = data.index(b'"No"')
    st = answers.stat()
    answers.write_bytes(data[:at] + b'"Ye"' + data[at + 4:])
    os.utime(answers, ns=(st.st_atime_ns, st.st_mtime_ns))
    run = subprocess.run(
        [sys.executable, "-m", "halluscope", "audit", str(answers), "--metric", "pope",
         "--questions", str(answers.with_name("coco_pope_random.json")), "--bootstrap", "100",
         "--out", str(out), "--resume", "--no-report", "--quiet"],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT)})
    said = " ".join(run.stderr.split())
    assert run.returncode == 2, run.stderr
    assert f"the content of {answers.resolve()} changed" in said, said
    assert not (out / "results.json").exists()


def test_a_chunk_of_another_size_is_refused_naming_its_line(tmp_path, monkeypatch):
    """Passed a check of the header (a journal copied beside another file of the same
    stamp cannot be made here): the chunks passed unread are each checked for their size."""
    answers, out = _stopped(tmp_path, monkeypatch)
    from halluscope.column_journal import resume_plan
    from halluscope.journal import ChunkEntry
    real = resume_plan

    def shifted(journal, *args):
        journal.chunks[1] = ChunkEntry(**{**journal.chunks[1].__dict__, "sizes": (1, 1)})
        return real(journal, *args)

    monkeypatch.setattr("halluscope.column_journal.resume_plan", shifted)
    with pytest.raises(ConfigError, match=r"answers.jsonl: cannot resume: line \d+ on is not"):
        _audit(answers, out, resume=True)


def test_items_not_the_journaled_ones_are_scored_afresh(tmp_path, monkeypatch, caplog):
    answers, out = _stopped(tmp_path, monkeypatch)
    part = out / "items.jsonl.part"
    data = part.read_bytes()
    part.write_bytes(data[:100] + (b"X" if data[100:101] != b"X" else b"Y") + data[101:])
    clean = tmp_path / "clean"
    _audit(answers, clean)
    result = _audit(answers, out, resume=True)
    assert "not the journaled ones" in caplog.text
    assert "resumed" not in result.runsheet["execution"]
    assert _outputs(out) == _outputs(clean)


def test_a_file_read_line_by_line_after_its_first_chunks_forgets_them(tmp_path, monkeypatch):
    """A file found not to be read as columns once its chunks were journaled (a column every
    chunk reads as dates: the whole file's would not be strings) is scored line by line,
    journaled line by line from its first line: its chunks are forgotten, and a resume after
    an interrupt there replays lines, never chunks."""
    questions, lines = _rows(600)
    lines = [line.replace(b"{", b'{"when": "2024-01-%02d", ' % (1 + k % 28), 1)
             for k, line in enumerate(lines)]
    answers = _write(tmp_path, lines, questions=questions)
    clean = tmp_path / "clean"
    first = _audit(answers, clean)
    if first.runsheet["execution"]["scored"].startswith("as columns"):
        pytest.skip("read as columns after all: nothing to test")
    import halluscope.scoring as scoring
    from halluscope.journal import ChunkEntry, Entry, Journal
    out = tmp_path / "out"
    cut, real_cut = [], Journal.cut_chunks

    def noting(self):
        cut.append(len(self.chunks))
        real_cut(self)

    with monkeypatch.context() as mp:
        mp.setattr(Journal, "cut_chunks", noting)
        _raise_at(mp, scoring, "_score_record", 500)
        with pytest.raises(KeyboardInterrupt):
            _audit(answers, out)
    assert cut and cut[0] >= 9      # every chunk was journaled, then forgotten
    entries = []
    with open(out / "items.journal.part", "rb") as fh:
        while True:
            try:
                entries.append(pickle.load(fh))
            except EOFError:
                break
    assert not any(isinstance(e, ChunkEntry) for e in entries)
    assert sum(isinstance(e, Entry) for e in entries) > 0
    result = _audit(answers, out, resume=True)
    assert result.runsheet["execution"]["resumed"]["lines_from_the_journal"] > 0
    assert _outputs(out) == _outputs(clean)


def test_the_state_classes_a_chunk_entry_may_name_run_no_code_when_read():
    """What the state unpickler admits beyond the journal's own rule builds values only."""
    import importlib

    from halluscope.column_journal import _STATE_GLOBALS
    for module, name in _STATE_GLOBALS:
        found = getattr(importlib.import_module(module), name)
        if not isinstance(found, type):
            assert module == "halluscope.column_journal"
            continue
        acting = [k for c in found.__mro__[:-1] for k in
                  ("__new__", "__setstate__", "__reduce__", "__reduce_ex__", "__getattr__",
                   "__getattribute__", "__setattr__", "__del__") if k in vars(c)]
        assert not acting, (found, acting)
        # (comparing is called by a set or dict a pickle builds, but for no unhashable value)
        assert "__eq__" not in vars(found) or found.__hash__ is None, found


def test_a_crafted_state_is_refused_naming_the_global(tmp_path, monkeypatch):
    answers, out = _stopped(tmp_path, monkeypatch)
    import halluscope.column_journal as column_journal
    real = column_journal.snapshot
    monkeypatch.setattr(column_journal, "snapshot",
                        lambda *a: pickle.dumps({"metric": {"x": shutil.rmtree}}))
    with monkeypatch.context() as mp:
        _raise_at(mp, PopeMetric, "score_columns", 3)
        with pytest.raises(KeyboardInterrupt):
            _audit(answers, out)
    monkeypatch.setattr(column_journal, "snapshot", real)
    with pytest.raises(ConfigError, match="names the global shutil.rmtree"):
        _audit(answers, out, resume=True)
    assert Path(tmp_path).is_dir()


_CLI = """
import sys, time
import halluscope.column_chunks as column_chunks
from halluscope.metrics.pope import PopeMetric
column_chunks.CHUNK_BYTES = {chunk}
if {slow}:          # a chunk takes a while: the test has time to press Ctrl-C
    real = PopeMetric.score_columns
    def slow(self, cols, fold=True):
        time.sleep(0.2)
        return real(self, cols, fold=fold)
    PopeMetric.score_columns = slow
sys.argv = ["halluscope"] + sys.argv[1:]
from halluscope.cli import main
main()
"""


def _cli(args, slow=False):
    """``halluscope audit`` in a process of its own, in chunks of :data:`CHUNK` bytes."""
    return subprocess.Popen([sys.executable, "-c", _CLI.format(chunk=CHUNK, slow=slow), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})


def _ended(proc, timeout=300) -> tuple[int, str]:
    """The exit status and the error output of ``proc`` once it ends (its pipes closed)."""
    with proc:
        _, err = proc.communicate(timeout=timeout)
    return proc.returncode, err


def _chunks_journaled(journal: Path) -> int:
    from halluscope.journal import ChunkEntry
    found = 0
    try:
        with open(journal, "rb") as fh:
            while True:
                found += isinstance(pickle.load(fh), ChunkEntry)
    except Exception:   # noqa: BLE001 - the end, or an entry being written
        return found


@pytest.mark.parametrize("how", ["SIGINT", "SIGTERM", "SIGKILL"])
def test_ctrl_c_or_a_kill_at_the_cli_then_resume_gives_the_uninterrupted_outputs(tmp_path,
                                                                                 how):
    """A real SIGINT (Ctrl-C) to ``halluscope audit`` once 3 chunks are journaled: exit 130,
    the journal kept (SIGTERM: 143); or a SIGKILL (the OOM killer), which nothing catches:
    ``--resume`` goes on from the last chunk journaled to the outputs of a run never
    stopped."""
    import signal
    import time
    answers = _answers(tmp_path, bad=[(100, "json"), (420, "blank")])
    questions = answers.with_name("coco_pope_random.json")
    args = ["audit", str(answers), "--metric", "pope", "--questions", str(questions),
            "--bootstrap", "100", "--no-report", "--quiet"]
    clean, out = tmp_path / "clean", tmp_path / "out"
    code, err = _ended(_cli(args + ["--out", str(clean)]))
    assert code == 0, err
    proc = _cli(args + ["--out", str(out)], slow=True)
    deadline = time.monotonic() + 120
    while _chunks_journaled(out / "items.journal.part") < 3 and proc.poll() is None:
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"no 3 chunks journaled in 120 s: {_ended(proc)[1]}")
        time.sleep(0.05)
    proc.send_signal(getattr(signal, how))
    code, err = _ended(proc, timeout=120)
    assert code == {"SIGINT": 130, "SIGTERM": 143, "SIGKILL": -signal.SIGKILL}[how], err
    assert not (out / "results.json").exists()
    code, err = _ended(_cli(args + ["--out", str(out), "--resume"]))
    assert code == 0, err
    sheet = json.loads((out / "runsheet.json").read_text())
    resumed = sheet["execution"]["resumed"]
    assert 3 <= resumed["chunks_from_the_journal"] < 10
    assert _outputs(out) == _outputs(clean)


@pytest.mark.parametrize("option", [{"seed": 7}, {"n_boot": 50}, {"by": ["image"]}])
def test_a_resume_with_another_fold_option_is_refused_naming_it(tmp_path, monkeypatch, option):
    """The line path folds its journaled outcomes again under a new --seed, --bootstrap or
    --by; the chunks journaled here are folded already: refused, naming the option."""
    answers, out = _stopped(tmp_path, monkeypatch)
    (key, value), = option.items()
    with pytest.raises(ConfigError, match=f"option {key}: expected .* as journaled, got"):
        _audit(answers, out, resume=True, **option)
    assert not (out / "results.json").exists()


def test_a_resume_with_another_confidence_gives_that_confidence(tmp_path, monkeypatch):
    """The confidence only reads the replicates: it may change, as on the line path."""
    answers, out = _stopped(tmp_path, monkeypatch)
    clean = tmp_path / "clean"
    _audit(answers, clean, confidence=0.9)
    result = _audit(answers, out, resume=True, confidence=0.9)
    assert result.runsheet["execution"]["resumed"]["chunks_from_the_journal"] == 3
    assert _outputs(out) == _outputs(clean)


@pytest.mark.parametrize("kind", ["gzip", "BOM"])
def test_a_gzipped_file_or_one_with_a_bom_resumes_alike(tmp_path, monkeypatch, kind):
    import gzip
    plain = _answers(tmp_path, bad=[(250, "json")])
    if kind == "gzip":
        answers = plain.with_name("answers.jsonl.gz")
        answers.write_bytes(gzip.compress(plain.read_bytes()))
        plain.unlink()
    else:
        answers = plain
        answers.write_bytes(b"\xef\xbb\xbf" + plain.read_bytes())
    result, scored = _interrupted_then_resumed(tmp_path, monkeypatch, answers, PopeMetric,
                                               "score_columns", 5)
    assert result.runsheet["execution"]["resumed"]["chunks_from_the_journal"] == 4


def test_complete_only_with_cut_answers_resumes_alike(tmp_path, monkeypatch):
    """Answers cut at the token limit, left out by --complete-only: the finish reasons'
    counts before the interrupt come from the journal."""
    answers = _answers(tmp_path, bad=[(40, "cut"), (41, "withheld"), (420, "cut")])
    result, _ = _interrupted_then_resumed(tmp_path, monkeypatch, answers, PopeMetric,
                                          "score_columns", 6, options={"complete_only": True})
    assert result.runsheet["counts"]["truncated"] == 2
