"""Memory of an audit grows with nothing but the metric state: streaming, not loading.

Audits a synthetic caption log of N records and of 10*N records (CHAIR, original variant,
bootstrap on) in child processes and prints peak resident memory of each and their ratio. Flat
memory means a ratio near 1.0 even though the input is ten times larger.

    .venv/bin/python benchmarks/stream_memory.py [--n 10000]
    .venv/bin/python benchmarks/stream_memory.py --records 1000000   # one audit; goal < 1 GiB
    .venv/bin/python benchmarks/stream_memory.py --pope 100000       # POPE, 100,000 and 1M
    .venv/bin/python benchmarks/stream_memory.py --pope 100000 --api # the same, score_answers

``--records N`` audits one generated log of N records and prints its peak resident memory next
to that of an audit of 10,000 records (the fixed cost: interpreter, libraries, ground truth,
and the bootstrap's full blocks of 2,048 items).

``--pope N`` audits POPE answer files of N and of 10*N answers instead (each with its question
file of as many questions, as ``benchmarks/pope_speed.py`` makes them; bootstrap on, items
written), on the whole-column path that reads, scores and writes a chunk at a time
(``halluscope/column_chunks.py``). What still grows is what grows with the question file and
the images (the questions' columns, the clusters each group has seen), not with the answers;
the goal is under 300 MB at a million answers. With ``--api`` the same files are scored by the
Python API, :func:`halluscope.metrics.pope.score_answers` (bootstrap on), which reads them a
chunk at a time too; what it returns grows with the answers (a prediction and a label per line).
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WORDS = ["dog", "cat", "table", "chair", "person", "car", "bus", "pizza", "cup", "bench",
         "tree", "grass", "sky", "window", "street", "kitchen", "bottle", "laptop"]


def make_inputs(folder: Path, n: int) -> tuple[Path, Path]:
    rng = random.Random(0)
    gt = {str(i): rng.sample(["dog", "cat", "dining table", "chair", "person", "car", "cup"], 3)
          for i in range(1000)}
    gt_path = folder / "gt.json"
    gt_path.write_text(json.dumps(gt))
    out = folder / f"captions_{n}.jsonl"
    with open(out, "w") as fh:
        for i in range(n):
            words = " ".join(rng.choice(WORDS) for _ in range(12))
            fh.write(json.dumps({"image_id": i % 1000, "caption": f"A photo of a {words}."}) + "\n")
    return out, gt_path


def child(path: str, gt: str, out: str) -> None:
    import halluscope
    t0 = time.perf_counter()
    if out == "api":                                # POPE's answers through score_answers
        from halluscope.metrics.pope import score_answers
        res = score_answers(path, gt, n_boot=1000)
        dt = time.perf_counter() - t0
        peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(json.dumps({"items": len(res["predictions"]), "seconds": dt,
                          "peak_mib": peak_kib / 1024,
                          "accuracy": res["results"]["accuracy"]}))
        return
    if Path(gt).name.startswith("coco_pope"):       # a POPE question file: POPE's answers
        res = halluscope.audit(path, metrics="pope", questions=gt, out=out, write_report=False)
    else:
        res = halluscope.audit(path, metrics="chair", chair_variant="original", gt_objects=gt,
                               out=out, write_report=False)
    dt = time.perf_counter() - t0
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"items": len(res.items), "seconds": dt, "peak_mib": peak_kib / 1024}))


def run(path: Path, gt: Path, out: Path | str) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--child", str(path), str(gt), str(out)],
                          capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def one_large(n: int) -> None:
    """Peak memory of one audit of ``n`` records beside one of 10,000 records."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        small, gt = make_inputs(folder, 10_000)
        large, _ = make_inputs(folder, n)
        a = run(small, gt, folder / "a")
        b = run(large, gt, folder / "b")
    for r in (a, b):
        print(f"{r['items']:>9,} records: peak {r['peak_mib']:.0f} MiB, "
              f"{r['items'] / r['seconds']:.0f} records/s")
    print(f"peak memory ratio ({n:,} records / 10,000 records): "
          f"{b['peak_mib'] / a['peak_mib']:.2f}; goal: under 1 GiB "
          f"({'met' if b['peak_mib'] < 1024 else 'NOT met'})")


def pope(n: int, api: bool = False) -> None:
    """Peak memory of POPE audits (``api``: :func:`score_answers`) of ``n`` and ``10 * n``
    answers, and their ratio."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from pope_speed import make_data          # (the same answers as the speed benchmark)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in (n, 10 * n):
            folder = Path(tmp) / str(size)
            folder.mkdir()
            answers, questions = make_data(folder, size)
            rows.append(run(answers, questions, "api" if api else folder / "out"))
            for path in (answers, questions):     # (the disk: a million answers are 200 MB)
                path.unlink()
    for r in rows:
        print(f"POPE{' API' if api else ''} {r['items']:>9,} answers: peak {r['peak_mib']:.0f} MiB, "
              f"{r['items'] / r['seconds']:,.0f} answers/s")
    a, b = rows
    print(f"POPE peak memory ratio ({10 * n:,} answers / {n:,} answers): "
          f"{b['peak_mib'] / a['peak_mib']:.2f} (1.00 = flat); goal at 1,000,000: under 300 MB "
          f"({b['peak_mib'] * 2**20 / 1e6:.0f} MB at {10 * n:,})")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(*sys.argv[2:5])
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--records", type=int, default=None,
                    help="audit one log of this many records and report its peak memory")
    ap.add_argument("--pope", type=int, default=None, metavar="N",
                    help="audit POPE answer files of N and 10*N answers instead")
    ap.add_argument("--api", action="store_true",
                    help="with --pope: score them with score_answers, not an audit")
    args = ap.parse_args()
    if args.records:
        one_large(args.records)
        return
    if args.pope:
        pope(args.pope, args.api)
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        small, gt = make_inputs(folder, args.n)
        large, _ = make_inputs(folder, args.n * 10)
        a = run(small, gt, folder / "a")
        b = run(large, gt, folder / "b")
    print(f"{a['items']:>8} records: peak {a['peak_mib']:.0f} MiB, "
          f"{a['items'] / a['seconds']:.0f} records/s")
    print(f"{b['items']:>8} records: peak {b['peak_mib']:.0f} MiB, "
          f"{b['items'] / b['seconds']:.0f} records/s")
    print(f"peak memory ratio (10x input / 1x input): {b['peak_mib'] / a['peak_mib']:.2f} "
          f"(1.00 = flat)")


if __name__ == "__main__":
    main()
