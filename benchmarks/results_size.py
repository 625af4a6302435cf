"""results.json of a ``--by question_id`` audit (a group per answer): its text as
``result.results_text`` writes it (each group on one line once a metric has more than
``ONE_LINE_OVER`` groups) against ``json.dumps(indent=2)``, every line indented (the baseline,
what was written before), in one process: seconds, MB and the ratios; then the read-back
check (``check_outputs``: parse, digest, output hashes) of the file written, and that both
texts hold the same JSON values.

The answers are ``pope_speed.make_data``'s (six questions an image); the audit runs once.

    python benchmarks/results_size.py [--n 50000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))             # run from a source tree
sys.path.insert(0, str(ROOT / "benchmarks"))

from pope_speed import make_data          # noqa: E402

from halluscope.api import write_outputs  # noqa: E402
from halluscope.pipeline import run_audit  # noqa: E402
from halluscope.result import RESULTS, check_outputs, results_text  # noqa: E402


def best(fn, repeat: int) -> tuple[float, object]:
    """(best seconds of ``repeat`` calls, the last call's value)."""
    seconds, value = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        value = fn()
        seconds = min(seconds, time.perf_counter() - t)
    return seconds, value


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=50000, help="answers (one group each)")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        answers, questions = make_data(Path(tmp), args.n)
        out = Path(tmp) / "out"
        result = run_audit(answers, metrics="pope", questions=questions, by=("question_id",),
                           out=out)
        write_s, _ = best(lambda: write_outputs(result, out, write_report=False), 1)
        data = json.loads((out / RESULTS).read_text(encoding="utf-8"))
        old_s, old = best(lambda: json.dumps(data, indent=2, ensure_ascii=False), args.repeat)
        new_s, new = best(lambda: results_text(data), args.repeat)
        read_s, _ = best(lambda: check_outputs(out), args.repeat)
        same = json.loads(new) == json.loads(old) == data
    groups = len(data["metrics"]["pope"]["groups"])
    old_mb, new_mb = len(old.encode()) / 1e6, len(new.encode()) / 1e6
    print(f"{args.n:,} answers, {groups:,} groups, best of {args.repeat}")
    print(f"  {'results.json text':<34} {'s':>6} {'MB':>7} {'lines':>9}")
    print(f"  {'indent=2 everywhere (baseline)':<34} {old_s:6.2f} {old_mb:7.1f} "
          f"{old.count(chr(10)) + 1:9,}")
    print(f"  {'results_text (a line a group)':<34} {new_s:6.2f} {new_mb:7.1f} "
          f"{new.count(chr(10)) + 1:9,}")
    print(f"  ratio: {old_s / new_s:.1f}x faster, {old_mb / new_mb:.2f}x smaller; same JSON "
          f"values: {same}")
    print(f"  write_outputs without the report {write_s:.2f} s; check_outputs (read back) "
          f"{read_s:.2f} s")
    if not same:
        raise SystemExit("results_text changed a value")


if __name__ == "__main__":
    main()
