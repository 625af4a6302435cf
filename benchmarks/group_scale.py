"""``--by`` a field with a value per answer (``question_id``) against the same audit without
``--by``, in one process; prints seconds, peak memory added and the ratio to the baseline.

The answers are ``pope_speed.make_data``'s (six questions an image). Each audit is timed in
two parts: ``run_audit`` (score, fold with the bootstrap, compute every group's statistics)
and ``write_outputs`` (items, run sheet, report.html, results.json). With ``--eager N``, the
``--by question_id`` audit of the first N answers is also run with every group's replicates
drawn as it is folded (``DEFER_UNITS`` = 0, what the fold did before groups over few units
kept their sums; its memory grows with groups x images: keep N small).

    python benchmarks/group_scale.py [--n 50000] [--eager 5000] [--repeat 1]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))             # run from a source tree
sys.path.insert(0, str(ROOT / "benchmarks"))

from pope_speed import make_data          # noqa: E402

from halluscope.api import write_outputs  # noqa: E402
from halluscope.metrics import group_fold, stats  # noqa: E402
from halluscope.pipeline import run_audit  # noqa: E402


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(answers: Path, questions: Path, by: tuple[str, ...], repeat: int
          ) -> tuple[float, float, float, int]:
    """(best seconds of run_audit, of write_outputs, results.json MB, groups)."""
    best = [float("inf"), float("inf")]
    size = groups = 0
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as out:
            t = time.perf_counter()
            result = run_audit(answers, metrics="pope", questions=questions, by=by, out=out)
            t1 = time.perf_counter()
            write_outputs(result, out)
            t2 = time.perf_counter()
            best = [min(best[0], t1 - t), min(best[1], t2 - t1)]
            size = (Path(out) / "results.json").stat().st_size / 1e6
            groups = len(result.metrics["pope"].groups)
    return best[0], best[1], size, groups


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=50000, help="answers")
    ap.add_argument("--eager", type=int, default=0,
                    help="answers of the run with every group's replicates drawn (0: none)")
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        answers, questions = make_data(Path(tmp), args.n)
        for label, by in (("no --by (baseline)", ()), ("--by question_id", ("question_id",))):
            before = _peak_mb()
            rows.append((label, *timed(answers, questions, by, args.repeat),
                         _peak_mb() - before))
        if args.eager:
            small = Path(tmp) / "small"
            small.mkdir()
            answers, questions = make_data(small, args.eager)
            for label, defer in ((f"--by question_id, {args.eager:,} answers", None),
                                 (f"  the same, every group drawn at once", 0)):
                saved = stats.DEFER_UNITS
                if defer is not None:
                    stats.DEFER_UNITS = group_fold.DEFER_UNITS = defer
                try:
                    before = _peak_mb()
                    rows.append((label, *timed(answers, questions, ("question_id",),
                                               args.repeat), _peak_mb() - before))
                finally:
                    stats.DEFER_UNITS = group_fold.DEFER_UNITS = saved
    base = rows[0][1] + rows[0][2]
    print(f"{args.n:,} answers, best of {args.repeat}; peak memory is the process's growth")
    print(f"  {'':<38} {'audit s':>8} {'write s':>8} {'total':>7} {'ratio':>6} "
          f"{'results MB':>10} {'groups':>7} {'+peak MB':>8}")
    for label, run, write, size, groups, peak in rows:
        total = run + write
        print(f"  {label:<38} {run:8.2f} {write:8.2f} {total:7.2f} {total / base:5.1f}x "
              f"{size:10.1f} {groups:7,} {peak:8.0f}")
    if args.eager:
        new, old = rows[2][1], rows[3][1]
        print(f"  fold and compute at {args.eager:,}: {old / new:.1f}x faster with groups over "
              f"few units deferred")


if __name__ == "__main__":
    main()
