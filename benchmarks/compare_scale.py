"""``halluscope compare`` of two POPE audits of ``--n`` answers each (the same questions, other
answers), in one process, against a baseline that only reads both runs' ``items.jsonl`` and
adds up their rows (the least any comparison must do); prints seconds, the ratio to the
baseline and the peak of memory allocated during each step (tracemalloc, in a call of its own
before the timed ones, which also warms caches).

The answers are ``pope_speed.make_data``'s (six questions an image); run B answers the same
questions with phrases drawn from another seed. Both are audited first (not timed). compare is
timed without replicates (``n_boot=0``), with 1,000 (the default), and writing compare.json and
compare.html as well (what ``halluscope compare --out`` does).

    python benchmarks/compare_scale.py [--n 50000] [--repeat 1]
"""

from __future__ import annotations

import argparse
import json
import random
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


def timed(fn, repeat: int) -> tuple[float, float]:
    """(best seconds of ``repeat`` calls, MB allocated at the peak of a traced call before)."""
    tracemalloc.start()
    try:
        fn()
        peak = tracemalloc.get_traced_memory()[1] / 2 ** 20
    finally:
        tracemalloc.stop()
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best, peak


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=50000, help="answers in each run")
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        answers, questions = make_data(tmp, args.n)
        runs = [audited(answers, questions, tmp / "run_a"),
                audited(other_answers(questions, tmp / "answers_b.jsonl"), questions,
                        tmp / "run_b")]
        rows = [("read items.jsonl, add rows (baseline)", *timed(lambda: read_rows(runs),
                                                                  args.repeat))]
        for label, kw in (("compare, n_boot=0", {"n_boot": 0}),
                          ("compare, n_boot=1000", {}),
                          ("compare, n_boot=1000, --out", {"out": tmp / "cmp"})):
            rows.append((label, *timed(lambda kw=kw: compare(runs, **kw), args.repeat)))
    base = rows[0][1]
    print(f"{args.n:,} answers a run, best of {args.repeat}; peak MB: allocated during the step")
    print(f"  {'':<40} {'seconds':>8} {'ratio':>6} {'peak MB':>8}")
    for label, t, peak in rows:
        print(f"  {label:<40} {t:8.2f} {t / base:5.1f}x {peak:8.0f}")


if __name__ == "__main__":
    main()
