"""Start-up of the command line: ``halluscope --help``, a one-caption CHAIR audit and a
one-caption claims audit.

Each command runs in a fresh interpreter (best of ``--repeat`` wall-clock runs) beside two
baselines measured in the same run: ``python -c pass`` (the interpreter alone) and
``python -c "import json"``. Prints seconds and the ratio to ``python -c pass``. The audit reads
the 123,287-image ground-truth objects file of ``../shared/data/chair`` when present (else a
synthetic one of the same size) and is timed with and without ``report.html`` (its figures
are SVG written without matplotlib). Goals: ``--help`` under 0.3 s, the CHAIR audit under 1 s.
The claims audit (no goal) loads spaCy, its English pipeline and WordNet.

Where ``PYTHONDONTWRITEBYTECODE`` is set (this project's sandbox) halluscope's own modules are
compiled at every start, which an installed package never does; ``--pycache`` times the
commands with their bytecode cached in a temporary folder, and the output says which it was.
On a busy machine wall clock says little: the README's row also gives instruction counts
(``valgrind --tool=callgrind`` on the audit command, the same from run to run). Last measured
(README, benchmarks): 5.92 G -> 4.56 G instructions with the report, 5.21 G -> 3.89 G without.

    python benchmarks/startup.py [--repeat 5] [--data ../shared/data] [--pycache]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def shared_gt(arg: str | None) -> Path | None:
    for cand in (arg, os.environ.get("HALLUSCOPE_SHARED_DATA"), ROOT.parent / "shared" / "data"):
        if cand and (Path(cand) / "chair" / "gt_objects_coco2014.json").is_file():
            return Path(cand) / "chair" / "gt_objects_coco2014.json"
    return None


def synthetic_gt(folder: Path, n: int = 123_287) -> Path:
    rng = random.Random(0)
    names = ["dog", "cat", "dining table", "chair", "person", "car", "cup", "bus", "toilet"]
    path = folder / "gt_objects.json"
    path.write_text(json.dumps({"imid_to_objects": {
        str(i): rng.sample(names, rng.randint(1, 5)) for i in range(n)}}))
    return path


def best_wall(cmd: list[str], repeat: int, env: dict) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=env, cwd=ROOT)
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--data", default=None, help="shared data folder (default ../shared/data)")
    ap.add_argument("--pycache", action="store_true",
                    help="cache bytecode in a temporary folder (PYTHONPYCACHEPREFIX), as an "
                         "installed package has it, even where PYTHONDONTWRITEBYTECODE is set")
    args = ap.parse_args()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get(
        "PYTHONPATH", "")])}
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if args.pycache:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = str(tmp / "pycache")
        gt = shared_gt(args.data) or synthetic_gt(tmp)
        image_id = next(iter(json.loads(gt.read_text()).get("imid_to_objects", {"0": 0})))
        one = tmp / "one.jsonl"
        one.write_text(json.dumps({"image_id": int(image_id), "caption":
                                   "A man riding a bike next to a dog and two cars."}) + "\n")
        # the claims audit's evidence: the image's CHAIR objects as halluscope's annotation
        # format, closed world over COCO's 80 labels (claims does not read --gt-objects)
        from halluscope.claims.coco import COCO80
        objects = json.loads(gt.read_text())["imid_to_objects"][image_id]
        annotations = tmp / "objects.json"
        annotations.write_text(json.dumps({"vocabulary": list(COCO80), "images": {
            str(image_id): {"objects": [{"label": o} for o in objects], "closed_world": True,
                            "exhaustive_counts": False}}}))
        audit = [py, "-m", "halluscope", "audit", str(one), "--metric", "chair",
                 "--chair-variant", "original", "--gt-objects", str(gt), "-o", str(tmp / "out")]
        rows = [("python -c pass (baseline)", [py, "-c", "pass"]),
                ('python -c "import json"', [py, "-c", "import json"]),
                ("halluscope --help", [py, "-m", "halluscope", "--help"]),
                ("audit 1 caption, CHAIR original", audit),
                ("  the same with --no-report", audit + ["--no-report"]),
                # claims: spaCy (imported without torch), WordNet, the rules, no report
                ("audit 1 caption, claims --no-report", [
                    py, "-m", "halluscope", "audit", str(one), "--metric", "claims",
                    "--annotations", str(annotations), "-o", str(tmp / "out_claims"),
                    "--no-report"])]
        best_wall(rows[-1][1], 1, env)       # warm the disk cache and .pyc files
        times = [(label, best_wall(cmd, args.repeat, env)) for label, cmd in rows]
    base = times[0][1]
    print(f"wall-clock seconds, best of {args.repeat}; ground truth: {gt}")
    print("bytecode: " + ("halluscope's modules compiled at every start "
                          "(PYTHONDONTWRITEBYTECODE is set; --pycache caches it)"
                          if env.get("PYTHONDONTWRITEBYTECODE") else "cached"))
    for label, secs in times:
        print(f"  {label:<36} {secs:7.3f} s  {secs / base:6.1f}x python -c pass")


if __name__ == "__main__":
    main()
