"""Memory of ``--resume``: an interrupted record-by-record audit goes on without loading its journal.

Audits a synthetic caption log of N records (CHAIR, original variant, bootstrap on: the
per-record path, journaled line by line in ``items.journal.part``) three ways, each in a fresh
child process: uninterrupted (the baseline), stopped after ``--cut`` of the records (a
``KeyboardInterrupt`` from the progress callback, as Ctrl-C gives), and resumed with
``resume=True``. Prints the peak resident memory of the uninterrupted run and of the resume,
their ratio (1.00: a resume costs no more than a fresh run, however long the journal) and the
journal's size, and checks that the resumed ``items.jsonl`` is the uninterrupted one's, to the
byte, its ``results.json`` the same but for what differs by run (run id, output digests), and
its ``runsheet.json`` the same but for ids, times, the command line, ``config.resume`` and
``execution.resumed`` (which says how many lines came from the journal).

    .venv/bin/python benchmarks/resume_memory.py [--n 100000] [--cut 0.9]

Before the journal was streamed (2026-12-07, 100,000 records cut at 90%), the resume held every
journaled entry (outcomes, files' stamps, line digests) in memory: its peak was ~351 MiB above
the uninterrupted run's.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stream_memory import make_inputs  # noqa: E402  (the same captions and ground truth)

_VOLATILE = {"run_id", "outputs", "digest"}


class _Stop(KeyboardInterrupt):
    """Raised from the progress callback: the audit stops as at a Ctrl-C."""


def child(mode: str, path: str, gt: str, out: str, cut: str) -> None:
    import halluscope
    stop_at = int(cut)

    def stop(progress) -> None:
        if progress.done >= stop_at:
            raise _Stop

    kwargs = {"metrics": "chair", "chair_variant": "original", "gt_objects": gt, "out": out,
              "write_report": False}
    t0 = time.perf_counter()
    items = None
    if mode == "cut":
        try:
            halluscope.audit(path, on_progress=stop, **kwargs)
        except KeyboardInterrupt:
            pass
    else:
        res = halluscope.audit(path, resume=(mode == "resume"), **kwargs)
        items = len(res.items)
    dt = time.perf_counter() - t0
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"items": items, "seconds": dt, "peak_mib": usage.ru_maxrss / 1024,
                      "cpu": usage.ru_utime + usage.ru_stime}))


def run(mode: str, path: Path, gt: Path, out: Path, cut: int = 0) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--child", mode, str(path), str(gt),
                           str(out), str(cut)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{mode} run failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _results(out: Path) -> dict:
    data = json.loads((out / "results.json").read_text())
    return {k: v for k, v in data.items() if k not in _VOLATILE}


def _runsheet(out: Path) -> dict:
    """The run sheet but what a resume changes by design: ids, times, the command line,
    ``config.resume`` and ``execution.resumed`` (the lines and calls of each part)."""
    sheet = json.loads((out / "runsheet.json").read_text())
    for key in ("run_id", "started", "finished", "wall_time_s", "argv", "command"):
        sheet.pop(key, None)
    sheet.get("config", {}).pop("resume", None)
    sheet.get("execution", {}).pop("resumed", None)
    return sheet


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(*sys.argv[2:7])
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--cut", type=float, default=0.9, help="share of records before the stop")
    args = ap.parse_args()
    cut = max(1, int(args.n * args.cut))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        captions, gt = make_inputs(folder, args.n)
        whole = run("whole", captions, gt, folder / "whole")
        stopped = run("cut", captions, gt, folder / "cut", cut)
        journal = folder / "cut" / "items.journal.part"
        journal_mib = journal.stat().st_size / 2**20
        resumed = run("resume", captions, gt, folder / "cut")
        same_items = (folder / "whole" / "items.jsonl").read_bytes() == \
            (folder / "cut" / "items.jsonl").read_bytes()
        same_results = _results(folder / "whole") == _results(folder / "cut")
        sheets = _runsheet(folder / "whole"), _runsheet(folder / "cut")
        same_sheet = sheets[0] == sheets[1]
        for key in sorted(set(sheets[0]) | set(sheets[1])):
            if sheets[0].get(key) != sheets[1].get(key):
                print(f"run sheets differ at {key}: {sheets[0].get(key)!r:.300} against "
                      f"{sheets[1].get(key)!r:.300}")
        note = json.loads((folder / "cut" / "runsheet.json").read_text())["execution"]["resumed"]
    print(f"uninterrupted: {whole['items']:,} records, peak {whole['peak_mib']:.0f} MiB, "
          f"{whole['seconds']:.1f} s ({whole['cpu']:.1f} s CPU, start-up included)")
    print(f"stopped after {cut:,} records: peak {stopped['peak_mib']:.0f} MiB; journal "
          f"{journal_mib:.1f} MiB")
    print(f"resumed: {resumed['items']:,} records, peak {resumed['peak_mib']:.0f} MiB, "
          f"{resumed['seconds']:.1f} s ({resumed['cpu']:.1f} s CPU)")
    print(f"peak memory ratio (resume / uninterrupted): "
          f"{resumed['peak_mib'] / whole['peak_mib']:.2f} (1.00 = a resume holds no more than a "
          f"fresh run); resume - uninterrupted: {resumed['peak_mib'] - whole['peak_mib']:+.0f} MiB")
    print(f"run sheet: {note['lines_from_the_journal']:,} lines from the journal, "
          f"{note['lines_scored_after_the_resume']:,} scored after the resume")
    print(f"items.jsonl identical: {same_items}; results.json identical (but run ids, times, "
          f"digests): {same_results}; runsheet.json identical (but ids, times, argv, "
          f"config.resume, execution.resumed): {same_sheet}")
    if not (same_items and same_results and same_sheet):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
