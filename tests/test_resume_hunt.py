"""A user's hunt of interruption, ``--resume`` and the engines, with small CHAIR inputs: what
was found wrong, held to what it should be (an input that is one of the audit's own output
files, a full disk, a writer killed while it wrote an output, an ``http://`` Ray address,
a resume that goes online after an offline stop, refusal messages)."""

from __future__ import annotations

import errno
import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from halluscope.api import audit
from halluscope.errors import ConfigError

OBJECTS = ["dog", "cat", "car", "person", "chair", "cup", "bottle", "bird", "horse", "bus"]


def _captions(folder: Path, n: int = 120) -> tuple[Path, Path]:
    """``n`` CHAIR captions of 30 COCO images, a bad line among them, and their ground truth."""
    rnd = random.Random(3)
    folder.mkdir(parents=True, exist_ok=True)
    gt = folder / "gt.json"
    gt.write_text(json.dumps({str(i): rnd.sample(OBJECTS, 3) for i in range(1, 31)}))
    lines = []
    for k in range(n):
        said = rnd.sample(OBJECTS, 3)
        lines.append(json.dumps({"id": f"c{k}", "image_id": k % 30 + 1, "model": f"m{k % 2}",
                                 "caption": f"A {said[0]} beside a {said[1]} and a "
                                            f"{said[2]}."}))
        if k == 40:
            lines.append("{broken")
    path = folder / "caps.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path, gt


def _comparable(out: Path) -> tuple[dict, str]:
    data = json.loads((out / "results.json").read_text())
    data.pop("run_id")
    data.pop("outputs")
    data.pop("digest")
    return data, (out / "items.jsonl").read_text()


def _stopped_after(n: int, path: Path, **kw) -> None:
    def stop(progress):
        if progress.done == n:
            raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        audit(path, on_progress=stop, write_report=False, **kw)


# -- an input that is one of the audit's outputs ------------------------------------------
@pytest.mark.parametrize("name", ["items.jsonl", "items.jsonl.part", "items.journal.part"])
def test_an_input_that_the_audit_would_write_over_is_refused(tmp_path, name):
    """``halluscope audit runs/x/items.jsonl --out runs/x`` (auditing a file kept in the output
    folder under an output's name) replaced the input with the items: the user's answers were
    gone without a word. Now a usage error names the file before anything is written."""
    path, gt = _captions(tmp_path / "in")
    out = tmp_path / "out"
    out.mkdir()
    inside = out / name
    inside.write_bytes(path.read_bytes())
    with pytest.raises(ConfigError, match=f"input {inside} is the audit's own output file "
                                          f"{name}"):
        audit(inside, metrics="chair", gt_objects=gt, out=out, write_report=False, n_boot=20)
    assert inside.read_bytes() == path.read_bytes()
    assert sorted(p.name for p in out.iterdir()) == [name]
    # through a link, or spelled from another folder, it is the same file
    link = tmp_path / "link.jsonl"
    link.symlink_to(inside)
    with pytest.raises(ConfigError, match="is the audit's own output file"):
        audit(link, metrics="chair", gt_objects=gt, out=out, write_report=False, n_boot=20)
    # an input beside the outputs under its own name is fine
    (out / "answers.jsonl").write_bytes(path.read_bytes())
    audit(out / "answers.jsonl", metrics="chair", gt_objects=gt, out=out, write_report=False,
          n_boot=20)
    assert (out / "answers.jsonl").read_bytes() == path.read_bytes()


# -- a full disk -------------------------------------------------------------------------
def test_a_full_disk_names_the_output_folder_and_the_resume_goes_on(tmp_path, monkeypatch):
    """A write that fails for want of space said only "[Errno 28] No space left on device"
    (exit 2): not which file or folder, nor that the work so far is kept. It now names the
    output folder and --resume, and the resume ends with the uninterrupted results."""
    from halluscope import journal
    path, gt = _captions(tmp_path / "in")
    opts = dict(metrics="chair", gt_objects=gt, write_report=False, n_boot=50)
    audit(path, out=tmp_path / "whole", **opts)

    real = journal.Journal.append
    calls = []

    def full(self, *a, **kw):
        calls.append(1)
        if len(calls) > 70:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, *a, **kw)
    monkeypatch.setattr(journal.Journal, "append", full)
    out = tmp_path / "out"
    with pytest.raises(OSError) as caught:
        audit(path, out=out, **opts)
    message = str(caught.value)
    assert caught.value.errno == errno.ENOSPC
    assert f"cannot write the audit's outputs in {out}" in message, message
    assert "No space left on device" in message and "--resume" in message
    monkeypatch.setattr(journal.Journal, "append", real)
    audit(path, out=out, resume=True, **opts)
    assert _comparable(out) == _comparable(tmp_path / "whole")


def test_a_full_disk_at_the_command_line_is_exit_2_naming_the_folder(tmp_path):
    """The same through the CLI, with the report's write failing: exit 2, one line."""
    path, gt = _captions(tmp_path / "in", n=20)
    out = tmp_path / "out"
    code = ("import errno, sys\n"
            "import halluscope.report.html as h\n"
            "def full(*a, **k):\n"
            "    raise OSError(errno.ENOSPC, 'No space left on device')\n"
            "h.write_report = full\n"
            "from halluscope.cli import main\n"
            "sys.argv = ['halluscope'] + sys.argv[1:]\n"
            "main()\n")
    done = subprocess.run([sys.executable, "-c", code, "audit", str(path), "--metric", "chair",
                           "--gt-objects", str(gt), "--out", str(out), "--quiet",
                           "--bootstrap", "0"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert f"cannot write the audit's outputs in {out}" in done.stderr
    assert "Traceback" not in done.stderr
    assert (out / "items.journal.part").is_file() and not (out / "results.json").exists()


# -- a writer killed while it wrote an output ---------------------------------------------
def test_part_files_of_a_writer_killed_midway_are_removed(tmp_path):
    """kill -9 while report.html (or runsheet.json, results.json) was written left its
    temporary ``.report.html.<pid>.<random>.part`` in the folder, through every later run and
    resume. The next audit into the folder removes those whose writer is gone, and leaves
    another file of that shape whose process still runs."""
    path, gt = _captions(tmp_path / "in", n=20)
    out = tmp_path / "out"
    out.mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    left = [out / f".{name}.{dead}.0a1b2c3d.part"
            for name in ("report.html", "runsheet.json", "results.json", "items.jsonl")]
    for p in left:
        p.write_text("half")
    alive = out / f".report.html.{1}.0a1b2c3d.part"      # init never dies
    alive.write_text("someone's")
    mine = out / "notes.txt.part"
    mine.write_text("the user's own")
    audit(path, metrics="chair", gt_objects=gt, out=out, n_boot=0)
    assert not any(p.exists() for p in left)
    assert alive.exists() and mine.exists()


# -- Ray addresses ------------------------------------------------------------------------
def test_an_http_ray_address_is_a_usage_error_without_its_credentials():
    """The dashboard's address (``http://head:8265``, Ray Jobs) went to Ray, whose ValueError
    ended the audit as an internal error (exit 3)."""
    from halluscope._ray import _check_reachable
    for address in ("http://user:s3cret@127.0.0.1:8265", "HTTPS://127.0.0.1:8265"):
        with pytest.raises(ConfigError) as caught:
            _check_reachable(address, timeout=1)
        message = str(caught.value)
        assert "expected --ray-address as host:port" in message
        assert "s3cret" not in message
        assert "address is the dashboard's" in message


# -- what a resume may change -------------------------------------------------------------
def test_a_resume_may_go_online_after_an_offline_stop(tmp_path):
    """An offline audit stops at the first answer its cache lacks ("run once without offline
    mode ... to fill the cache"); the resume without --offline was refused ("--option
    offline: expected True as journaled, got not set"), though offline changes where answers
    come from, not what they are. Likewise the judge's connections and a Ray actor's GPUs."""
    path, gt = _captions(tmp_path / "in")
    opts = dict(metrics="chair", gt_objects=gt, n_boot=50)
    audit(path, out=tmp_path / "whole", write_report=False, **opts)
    out = tmp_path / "out"
    _stopped_after(50, path, out=out, options={"offline": True, "judge_max_connections": 4},
                   **opts)
    audit(path, out=out, write_report=False, resume=True, **opts)
    assert _comparable(out) == _comparable(tmp_path / "whole")
    # what does change outcomes is still refused
    _stopped_after(50, path, out=out, **opts)
    with pytest.raises(ConfigError, match="max_image_pixels"):
        audit(path, out=out, write_report=False, resume=True,
              options={"max_image_pixels": 10}, **opts)


def test_a_refused_resume_says_each_difference_once_and_plainly(tmp_path):
    """Another metric list was said twice ("metrics ['chair'] then, ['chair', 'pope'] now;
    metrics: expected ['chair'] as journaled, ...") and an option not set then as "None";
    an input appended to was "changed or differ" without how."""
    path, gt = _captions(tmp_path / "in")
    questions = tmp_path / "in" / "questions.jsonl"
    questions.write_text(json.dumps({"question_id": 1, "image": "a.jpg", "label": "yes",
                                     "text": "Is there a dog in the image?"}) + "\n")
    out = tmp_path / "out"
    _stopped_after(30, path, out=out, metrics="chair", gt_objects=gt, n_boot=20)
    with pytest.raises(ConfigError) as caught:
        audit(path, out=out, metrics="chair,pope", gt_objects=gt, questions=questions,
              n_boot=20, resume=True, write_report=False)
    message = str(caught.value)
    assert message.count("metrics") == 1, message
    assert "questions: expected not set as journaled" in message, message
    with path.open("a") as fh:
        fh.write(json.dumps({"id": "late", "image_id": 2, "caption": "A dog."}) + "\n")
    with pytest.raises(ConfigError) as caught:
        audit(path, out=out, metrics="chair", gt_objects=gt, n_boot=20, resume=True,
              write_report=False)
    assert f"{path.resolve()} (size" in str(caught.value), str(caught.value)


# -- nothing scored is lost ----------------------------------------------------------------
COUNTING = '''
import os
from pathlib import Path
from typing import ClassVar

from halluscope.metrics.base import ItemScore, Metric
from halluscope.metrics.stats import rate, ratio


class Counting(Metric):
    """Share of long answers; logs each score() call, and stands for a Ctrl-C (or a judge's
    cache miss offline) while record STOP_AT is scored, once."""

    name: ClassVar[str] = "counting"
    columns: ClassVar[tuple[str, ...]] = ("n", "long")
    statistics: ClassVar[dict] = {"long_rate": rate(lambda s: ratio(s["long"], s["n"]))}

    def score(self, record):
        log = os.environ["COUNTING_LOG"]
        flag = Path(log + ".stopped")
        if record.id == os.environ["STOP_AT"] and not flag.exists():
            flag.write_text("once")
            raise KeyboardInterrupt
        with open(log, "a") as fh:
            fh.write(str(record.id) + "\\n")
        return ItemScore(payload={}, row=(1.0, float(len(record.response or "") > 30)))
'''


def test_an_interrupt_inside_a_chunk_keeps_the_records_scored_before_it(tmp_path, monkeypatch):
    """One process scored 64 records before it handed any of them on to be journaled: a
    Ctrl-C (or an offline judge's cache miss) at the 20th record lost the 19 scored before it,
    and --resume scored them again (judge calls, detector passes made twice). Now each record
    is journaled as soon as it is scored: the resume scores only the records from the one
    interrupted on."""
    path, _ = _captions(tmp_path / "in", n=100)
    metric = tmp_path / "counting.py"
    metric.write_text(COUNTING)
    log = tmp_path / "scored.log"
    monkeypatch.setenv("COUNTING_LOG", str(log))
    monkeypatch.setenv("STOP_AT", "c19")
    opts = dict(metrics=f"{metric}:Counting", n_boot=30, write_report=False, workers=1)
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        audit(path, out=out, **opts)
    assert log.read_text().split() == [f"c{k}" for k in range(19)]
    log.write_text("")
    audit(path, out=out, resume=True, **opts)
    assert log.read_text().split() == [f"c{k}" for k in range(19, 100)]
    audit(path, out=tmp_path / "whole", **opts)
    assert _comparable(out) == _comparable(tmp_path / "whole")


def test_slow_records_reach_the_disk_within_a_second(tmp_path, monkeypatch):
    """The journal was flushed every 64 entries (or 8 KiB): records that take seconds each (a
    judge's calls) stayed in the buffer for a minute, and a kill -9 or the OOM killer lost
    them all, to be asked again on --resume. An entry is flushed once the last flush is
    FLUSH_SECONDS old."""
    from halluscope import journal
    clock = [100.0]
    monkeypatch.setattr(journal.time, "monotonic", lambda: clock[0])
    path = tmp_path / "items.journal.part"
    j = journal.Journal(path, {"version": 5}, resume=False)
    start = path.stat().st_size
    j.append([("ok", "small")])
    assert path.stat().st_size == start            # under a second: buffered
    clock[0] += journal.FLUSH_SECONDS
    j.append([("ok", "small")])
    on_disk = path.stat().st_size
    assert on_disk > start                         # both entries on disk
    entries, _ = journal.read_journal(path, {"version": 5})
    assert len(entries) == 2
    j.close()


def test_a_resume_with_the_inputs_in_another_order_says_so(tmp_path):
    """The records' order is the journal's: refused, but the reason was "headers differ"."""
    path, gt = _captions(tmp_path / "in", n=40)
    lines = path.read_text().splitlines(keepends=True)
    first, second = tmp_path / "in" / "a.jsonl", tmp_path / "in" / "b.jsonl"
    first.write_text("".join(lines[:20]))
    second.write_text("".join(lines[20:]))
    out = tmp_path / "out"
    _stopped_after(25, [first, second], out=out, metrics="chair", gt_objects=gt, n_boot=20)
    with pytest.raises(ConfigError) as caught:
        audit([second, first], out=out, metrics="chair", gt_objects=gt, n_boot=20,
              resume=True, write_report=False)
    message = str(caught.value)
    assert "headers differ" not in message
    assert (f"inputs in another order: {first.resolve()}, {second.resolve()} then, "
            f"{second.resolve()}, {first.resolve()} now") in message, message


def test_a_refusal_over_many_moved_inputs_names_the_first_few(tmp_path):
    """3,000 one-line inputs moved to another folder: the refusal named all 6,000 paths."""
    from halluscope.journal import _difference
    inputs = lambda root: [(f"/{root}/f{k:04d}.jsonl", 40, 7) for k in range(3000)]
    found = {"version": 5, "inputs": inputs("a"), "companions": [], "metrics": ["chair"],
             "config": "{}"}
    said = _difference(found, {**found, "inputs": inputs("b")})
    assert said.startswith("inputs changed or differ: /a/f0000.jsonl (not named now), ")
    assert said.endswith(" and 5,995 more"), said
    assert len(said) < 500


# -- judge counters over more than one chunk ------------------------------------------------
def test_a_resume_past_the_first_chunk_counts_each_judge_call_once(tmp_path):
    """One process handed each chunk's records on only after scoring all 64, and the caller
    added each record's judge counters back into the same judges: the first record of every
    later chunk took (and journaled) all the calls made so far. A resume that replayed past
    line 64 counted them again: 164 judge calls in the run sheet for 100 MMHal answers."""
    from fake_openai_server import FakeServer
    rows = [{"question_id": k, "question_type": "attribute", "image_content": ["dog"],
             "question": f"What is thing {k}?", "gt_answer": f"Thing {k}.",
             "model_answer": f"It is thing {k}.", "image_id": f"img{k}"} for k in range(100)]
    path = tmp_path / "mmhal.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with FakeServer(responder=lambda prompt, body: f"Fine. Rating: {len(prompt) % 7}") as server:
        opts = dict(metrics="mmhal", judge="mmhal-gpt-4-0314", n_boot=0, workers=1,
                    options={"judge_base_url": server.url, "mmhal_variant": "refined"})
        whole = audit(path, out=tmp_path / "whole", cache_dir=tmp_path / "c0",
                      write_report=False, **opts)
        _stopped_after(80, path, out=tmp_path / "out", cache_dir=tmp_path / "c1", **opts)
        resumed = audit(path, out=tmp_path / "out", cache_dir=tmp_path / "c2", resume=True,
                        write_report=False, **opts)
    calls = [r.metrics["mmhal"].info["judge_reliability"]["calls"] for r in (whole, resumed)]
    assert calls == [100, 100]
    assert json.loads((tmp_path / "out" / "runsheet.json").read_text())[
        "execution"]["resumed"]["lines_from_the_journal"] == 80
