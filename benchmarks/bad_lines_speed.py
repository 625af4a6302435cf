"""A POPE answer file with a few bad lines against the same file without them, in one process.

A bad line (invalid JSON, a list answer, a blank line, ...) used to send the whole file line by
line, 16-26 times slower an answer; now its chunk is halved until the bad lines (and at most a
few beside them) are read line by line and the rest as columns. This times
``halluscope.audit(..., metrics="pope", write_report=False)`` on a clean file (as
``pope_speed.py`` makes it) and on a copy with ``--bad`` bad lines put in (the first line, a few
together in the middle, a blank one, the last line cut), best of ``--repeat`` runs each,
alternated, and prints the ratio bad/clean; with ``--line-path`` also the bad file scored wholly
line by line (``score_columns`` switched off: what the audit did before), and its ratio. The
outputs of the bad file's two paths are compared (results.json but for its volatile keys, and
items.jsonl byte for byte) and must be equal.

    python benchmarks/bad_lines_speed.py [--n 300000] [--bad 5] [--spread] [--repeat 3]
                                         [--line-path]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a source tree
sys.path.insert(0, str(Path(__file__).resolve().parent))

import halluscope  # noqa: E402
import halluscope.pipeline as pipeline  # noqa: E402
from pope_speed import make_data  # noqa: E402

BAD = [b'{"question_id": 1, "answer": "Ye\n', b'{"question_id": 2, "answer": ["Yes"]}\n',
       b"\n", b'{"answer": "caf\xe9"}\n', b"17\n", b'{"question_id": 3, "answer": null}\n']


def with_bad_lines(answers: Path, n_bad: int, spread: bool = False) -> Path:
    """A copy of ``answers`` with ``n_bad`` bad lines put in (every answer kept): the first
    line, the rest a few together in the middle (``spread``: evenly over the file), and the
    last line cut without its end."""
    lines = answers.read_bytes().splitlines(keepends=True)
    middle = len(lines) // 2
    bad = [BAD[i % len(BAD)] for i in range(max(n_bad - 2, 0))]
    if spread and bad:
        step = len(lines) // (len(bad) + 1)
        for k in range(len(bad), 0, -1):
            lines.insert(k * step, bad[k - 1])
        bad, middle = [], 0
    lines = [BAD[0]] + lines[:middle] + bad + lines[middle:] + [b'{"question_id": 4, ']
    out = answers.with_name("answers_bad.jsonl")
    out.write_bytes(b"".join(lines[:len(lines) - (n_bad < 2)]))
    return out


def run(answers: Path, questions: Path, out: Path, line_path: bool = False
        ) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds, how it was scored) of one audit."""
    original = pipeline.score_columns
    if line_path:
        pipeline.score_columns = lambda *a, **k: None
    try:
        wall, cpu = time.perf_counter(), time.process_time()
        result = halluscope.audit(answers, metrics="pope", questions=questions, out=out,
                                  write_report=False)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    finally:
        pipeline.score_columns = original
    return wall, cpu, result.runsheet["execution"]["scored"]


def outputs(folder: Path) -> tuple[str, bytes]:
    results = json.loads((folder / "results.json").read_text())
    for key in ("run_id", "outputs", "digest", "wall_time_s", "started", "finished"):
        results.pop(key, None)
    return json.dumps(results, sort_keys=True), (folder / "items.jsonl").read_bytes()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=300_000)
    ap.add_argument("--bad", type=int, default=5)
    ap.add_argument("--spread", action="store_true", help="bad lines spread over the file")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--line-path", action="store_true",
                    help="also score the bad file wholly line by line (slow)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        answers, questions = make_data(folder, args.n)
        bad = with_bad_lines(answers, args.bad, args.spread)
        cases = [("clean", answers, False), ("bad lines", bad, False)]
        if args.line_path:
            cases.append(("bad lines, line by line", bad, True))
        best: dict[str, tuple[float, float, str]] = {}
        for r in range(args.repeat):
            for name, path, slow in cases:
                if slow and r:          # (once: it takes a minute at 300,000 answers)
                    continue
                got = run(path, questions, folder / name.replace(" ", "_").replace(",", ""),
                          slow)
                if name not in best or got[1] < best[name][1]:
                    best[name] = got
        where = "spread" if args.spread else "first, last, the rest together"
        print(f"{args.n:,} POPE answers, {args.bad} bad lines ({where}); best of "
              f"{args.repeat} (line by line: 1 run)")
        for name, (wall, cpu, how) in best.items():
            print(f"  {name:<26} wall {wall:7.2f} s  CPU {cpu:7.2f} s  ({how})")
        clean = best["clean"]
        for name in best:
            if name != "clean":
                print(f"  ratio {name} / clean: wall {best[name][0] / clean[0]:.2f}, "
                      f"CPU {best[name][1] / clean[1]:.2f}")
        if args.line_path:
            same = outputs(folder / "bad_lines") == outputs(folder / "bad_lines_line_by_line")
            print(f"  bad file, columns+lines vs line by line: "
                  f"{'identical' if same else 'DIFFERENT'} results.json and items.jsonl")
            if not same:
                sys.exit(1)


if __name__ == "__main__":
    main()
