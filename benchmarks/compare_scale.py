"""``halluscope compare`` of two POPE audits of ``--n`` answers each (the same questions, other
answers), in one process, against a baseline that only reads both runs' ``items.jsonl`` and
adds up their rows (the least any comparison must do); prints seconds, the ratio to the
baseline and the peak of memory allocated during each step (tracemalloc, in a call of its own
before the timed ones, which also warms caches).

The answers are ``pope_speed.make_data``'s (six questions an image); run B answers the same
questions with phrases drawn from another seed. Both are audited first (not timed). compare is
timed without replicates (``n_boot=0``), with 1,000 (the default), and writing compare.json and
compare.html as well (what ``halluscope compare --out`` does). CPU seconds are given beside
the wall clock (on a shared machine the wall clock follows the load); the peak also as a ratio
to the size of the two items.jsonl files read, in this process.

``--keep DIR`` audits the runs into DIR (once: a later call with the same DIR and ``--n``
reuses them) instead of a temporary folder, so that two versions compare the same runs at the
same paths; ``--record OUT`` then writes what compare outputs on them into OUT: compare.json,
compare.html and the console table of ``halluscope compare`` (``console.txt``, 160 columns),
to be set beside another version's with ``diff -r``.

    python benchmarks/compare_scale.py [--n 50000] [--repeat 1] [--keep DIR] [--record OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))             # run from a source tree
sys.path.insert(0, str(ROOT / "benchmarks"))

from pope_speed import OBJECTS, PHRASES, make_data  # noqa: E402

from halluscope.api import write_outputs  # noqa: E402
from halluscope.comparison import compare  # noqa: E402
from halluscope.pipeline import run_audit  # noqa: E402


def other_answers(questions: Path, out: Path, seed: int = 1) -> Path:
    """Answers to the same questions as ``make_data``'s, phrases drawn with another seed."""
    rng = random.Random(seed)
    with open(questions) as qf, open(out, "w") as af:
        for line in qf:
            q = json.loads(line)
            obj = next(o for o in OBJECTS if f" {o} in" in q["text"])
            af.write(json.dumps({"question_id": q["question_id"], "question": q["text"],
                                 "answer": rng.choice(PHRASES).format(o=obj)}) + "\n")
    return out


def audited(answers: Path, questions: Path, out: Path) -> Path:
    write_outputs(run_audit(answers, metrics="pope", questions=questions, out=out), out)
    return out


def read_rows(runs: list[Path]) -> dict:
    """The baseline: every line of each run's items.jsonl parsed, each metric's rows added."""
    sums: dict = {}
    for run in runs:
        for line in open(run / "items.jsonl", encoding="utf-8"):
            for name, score in json.loads(line).get("scores", {}).items():
                total = sums.setdefault((str(run), name), [0.0] * len(score["row"]))
                for i, v in enumerate(score["row"]):
                    total[i] += v
    return sums


def timed(fn, repeat: int) -> tuple[float, float, float]:
    """(best seconds and best CPU seconds of ``repeat`` calls, MB allocated at the peak of a
    traced call before)."""
    tracemalloc.start()
    try:
        fn()
        peak = tracemalloc.get_traced_memory()[1] / 2 ** 20
    finally:
        tracemalloc.stop()
    best = cpu = float("inf")
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        fn()
        best = min(best, time.perf_counter() - t)
        cpu = min(cpu, time.process_time() - c)
    return best, cpu, peak


def prepared(folder: Path, n: int) -> list[Path]:
    """Both runs audited in ``folder`` (reused where an earlier call made them with ``n``)."""
    runs = [folder / "run_a", folder / "run_b"]
    stamp = folder / "answers.n"
    if stamp.is_file() and stamp.read_text() == str(n) \
            and all((r / "results.json").is_file() for r in runs):
        return runs
    for run in runs:
        shutil.rmtree(run, ignore_errors=True)
    answers, questions = make_data(folder, n)
    audited(answers, questions, runs[0])
    audited(other_answers(questions, folder / "answers_b.jsonl"), questions, runs[1])
    stamp.write_text(str(n))
    return runs


def record(runs: list[Path], out: Path) -> None:
    """What compare outputs on ``runs``: compare.json, compare.html (``--out``) and the
    console of ``halluscope compare`` (console.txt), written into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "COLUMNS": "160", "NO_COLOR": "1", "TERM": "dumb",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-m", "halluscope", "compare", *map(str, runs),
                           "--out", str(out)], capture_output=True, text=True, env=env,
                          cwd=ROOT)
    said = f"exit {done.returncode}\n{done.stdout}{done.stderr}".replace(str(out), "OUT")
    (out / "console.txt").write_text(said)      # the same whichever OUT was given


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=50000, help="answers in each run")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--keep", type=Path, help="audit the runs into this folder, once")
    ap.add_argument("--record", type=Path, help="write compare's outputs on the runs here")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        folder = args.keep or tmp
        folder.mkdir(parents=True, exist_ok=True)
        runs = prepared(folder, args.n)
        if args.record:
            record(runs, args.record)
        rows = [("read items.jsonl, add rows (baseline)", *timed(lambda: read_rows(runs),
                                                                  args.repeat))]
        for label, kw in (("compare, n_boot=0", {"n_boot": 0}),
                          ("compare, n_boot=1000", {}),
                          ("compare, n_boot=1000, --out", {"out": tmp / "cmp"})):
            rows.append((label, *timed(lambda kw=kw: compare(runs, **kw), args.repeat)))
        read = sum((r / "items.jsonl").stat().st_size for r in runs) / 2 ** 20
    base = rows[0][1]
    print(f"{args.n:,} answers a run, best of {args.repeat}; peak MB: allocated during the step "
          f"(tracemalloc), and its ratio to the {read:.0f} MB of items.jsonl read")
    print(f"  {'':<40} {'seconds':>8} {'ratio':>6} {'CPU s':>6} {'peak MB':>8} {'ratio':>6}")
    for label, t, cpu, peak in rows:
        print(f"  {label:<40} {t:8.2f} {t / base:5.1f}x {cpu:6.2f} {peak:8.0f} "
              f"{peak / read:5.1f}x")


if __name__ == "__main__":
    main()
