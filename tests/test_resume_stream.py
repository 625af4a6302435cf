"""--resume of a record-by-record audit streams its journal: it held every journaled entry in
memory (a 100,000-line CHAIR journal: ~475 MiB above the uninterrupted run's peak), and its run
sheet could not tell the lines taken from the journal from those scored again, nor the judge
calls of each part (a stop inside a batch whose questions were asked ahead: those lines came
back as cache hits, with nothing to say so)."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest

from test_workers import Stop, comparable, stop_after
from halluscope.api import audit

WORDS = ["dog", "cat", "table", "chair", "person", "car", "bus", "pizza", "cup", "bench"]


def _captions(folder: Path, n: int) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(7)
    gt = folder / "gt.json"
    gt.write_text(json.dumps({str(i): rng.sample(["dog", "cat", "chair", "person", "cup"], 3)
                              for i in range(40)}))
    path = folder / "captions.jsonl"
    path.write_text("".join(json.dumps(
        {"image_id": i % 40, "caption": "A photo of a " + " ".join(
            rng.choice(WORDS) for _ in range(10)) + "."}) + "\n" for i in range(n)))
    return path, gt


def _chair(path: Path, gt: Path, out: Path, **kw):
    return audit(path, out=out, metrics="chair", chair_variant="original", gt_objects=gt,
                 n_boot=20, write_report=False, workers=1, **kw)


def _traced_peak(run) -> tuple[float, object]:
    tracemalloc.start()
    try:
        result = run()
        return tracemalloc.get_traced_memory()[1], result
    finally:
        tracemalloc.stop()


def _peaks(tmp_path: Path) -> dict:
    """Audit 1,500 records whole, then stopped after 1,400 and resumed: the peaks (Python
    allocations) of the whole run and of the resume, and the resume's run-sheet note."""
    path, gt = _captions(tmp_path / "in", 1500)
    _chair(path, gt, tmp_path / "warm")             # (imports, ground truth: not measured)
    whole_peak, _ = _traced_peak(lambda: _chair(path, gt, tmp_path / "whole"))
    with pytest.raises(Stop):
        _chair(path, gt, tmp_path / "cut", on_progress=stop_after(1400))
    resume_peak, resumed = _traced_peak(lambda: _chair(path, gt, tmp_path / "cut",
                                                       resume=True))
    return {"whole": whole_peak, "resume": resume_peak,
            "note": resumed.runsheet["execution"]["resumed"]}


_MEASURE = ("import json, sys\n"
            "from pathlib import Path\n"
            "sys.path[:0] = [{tests!r}, {root!r}]\n"
            "import test_resume_stream\n"
            "print(json.dumps(test_resume_stream._peaks(Path({tmp!r}))))\n")


def test_a_resume_of_a_long_journal_holds_no_more_than_an_uninterrupted_run(tmp_path):
    """1,500 records stopped after 1,400: the resume's peak (Python allocations) was ~4x the
    uninterrupted run's (every entry read into a list first); now it is the same, and so are
    the items and results. Measured in a fresh interpreter: in a test process, what other
    tests left running (a server's thread) allocates during the measure too (a resume at
    13 MB against 2.3 MB whole, once, in the whole suite)."""
    tests = Path(__file__).resolve().parent
    code = _MEASURE.format(tests=str(tests), root=str(tests.parent), tmp=str(tmp_path))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert got["resume"] < 1.5 * got["whole"], got
    assert comparable(tmp_path / "cut") == comparable(tmp_path / "whole")
    note = got["note"]
    assert (note["lines_from_the_journal"], note["lines_scored_after_the_resume"]) == (1400, 100)
    assert "judge_calls" not in note                # no judge: nothing to split


@pytest.mark.parametrize("damage", ["cut", "garbage"])
def test_a_half_written_last_entry_is_cut_and_its_line_scored_again(tmp_path, damage):
    """A kill in the middle of a write (the last entry cut short) or bytes after the last
    complete entry: the entry is dropped, its line scored again, the results a fresh run's."""
    path, gt = _captions(tmp_path / "in", 300)
    _chair(path, gt, tmp_path / "whole")
    with pytest.raises(Stop):
        _chair(path, gt, tmp_path / "cut", on_progress=stop_after(250))
    journal = tmp_path / "cut" / "items.journal.part"
    data = journal.read_bytes()
    journal.write_bytes(data[:-7] if damage == "cut" else data + b"\x80\x05\x95\x40\x00")
    resumed = _chair(path, gt, tmp_path / "cut", resume=True)
    assert comparable(tmp_path / "cut") == comparable(tmp_path / "whole")
    note = resumed.runsheet["execution"]["resumed"]
    replayed = 249 if damage == "cut" else 250
    assert (note["lines_from_the_journal"], note["lines_scored_after_the_resume"]) == \
        (replayed, 300 - replayed)


def test_a_resume_cut_at_a_changed_file_journals_the_rest_where_the_cut_was(tmp_path,
                                                                            monkeypatch):
    """A record whose image changed ends the replay there: the journal is cut at that entry
    (the offset its replay read it from, nothing held for the others), the rest is journaled
    after it, and a second stop and resume still give a fresh run's results."""
    from test_resume_finish import IMAGE_BYTES
    (tmp_path / "image_bytes.py").write_text(IMAGE_BYTES)
    metric = f"{tmp_path / 'image_bytes.py'}:ImageBytes"
    monkeypatch.setenv("IMAGE_LOG", str(tmp_path / "calls.log"))
    for i in range(1, 41):
        (tmp_path / f"{i}.jpg").write_bytes(b"x" * i)
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps({"id": str(i), "image": f"{i}.jpg", "caption": "c",
                                        "task": "caption"}) + "\n" for i in range(1, 41)))
    kw = dict(out=tmp_path / "run", metrics=metric, workers=1, write_report=False)
    with pytest.raises(Stop):
        audit(path, on_progress=stop_after(30), **kw)
    (tmp_path / "12.jpg").write_bytes(b"y" * 99)        # replaced after the stop
    with pytest.raises(Stop):
        audit(path, on_progress=stop_after(20), resume=True, **kw)
    resumed = audit(path, resume=True, **kw)
    note = resumed.runsheet["execution"]["resumed"]
    assert (note["lines_from_the_journal"], note["lines_scored_after_the_resume"]) == (20, 20)
    audit(path, out=tmp_path / "fresh", metrics=metric, workers=1, write_report=False)
    assert comparable(tmp_path / "run") == comparable(tmp_path / "fresh")


def test_a_resumed_judge_run_says_what_came_from_the_journal_and_the_cache(tmp_path):
    """A stop after 5 lines of a batch whose judge questions were all asked ahead: the lines
    scored after the resume are answered from the response cache. The run sheet says how many
    lines each part holds and each part's calls and cache hits, which add up to the totals."""
    from benchmark_judges import judge_reply, write_inputs
    from fake_openai_server import FakeServer
    answers = write_inputs(tmp_path, 30, odd_rows=True)["mmhal"][0]
    lines = sum(1 for line in Path(answers).read_text().splitlines() if line.strip())

    def run(**kw):
        return audit(answers, out=tmp_path / "out", metrics="mmhal",
                     judge="mmhal-gpt-4o-2024-08-06", n_boot=20,
                     options={"judge_base_url": server.url, "judge_max_connections": 4},
                     cache_dir=str(tmp_path / "cache"), workers=1, write_report=False, **kw)

    with FakeServer(latency=0.01, responder=judge_reply) as server:
        with pytest.raises(Stop):
            run(on_progress=stop_after(5))
        asked = len(server.requests)
        resumed = run(resume=True)
        assert len(server.requests) == asked            # every answer came from the cache
    note = resumed.runsheet["execution"]["resumed"]
    assert note["lines_from_the_journal"] == 5
    assert note["lines_from_the_journal"] + note["lines_scored_after_the_resume"] == lines
    parts = note["judge_calls"]
    before = parts["from_the_journal"]["mmhal"]["mmhal_rating"]
    after = parts["after_the_resume"]["mmhal"]["mmhal_rating"]
    assert after["calls"] and after["cached"] == after["calls"]
    total = resumed.metrics["mmhal"].info["judge_reliability"]
    assert (before["calls"] + after["calls"], before["cached"] + after["cached"]) == \
        (total["calls"], total["cached"])
    assert "cached after the resume" in note["judge_counters"]
    from halluscope.report.console import resumed_lines
    said = [str(line) for line in resumed_lines(resumed)]
    assert said == [f"resumed: 5 lines taken from the journal, {lines - 5:,} scored after the "
                    f"resume; judge calls from the journal: {before['calls']:,} "
                    f"({before['cached']:,} from the response cache); judge calls after the "
                    f"resume: {after['calls']:,} ({after['cached']:,} from the response cache)"]
