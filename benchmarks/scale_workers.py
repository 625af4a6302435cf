"""Scaling of a CPU-heavy audit: claims checked by the packaged COCO SSD detector, one process
against ``--workers N`` and Ray Data on a local instance, in the same process run.

Builds ``--n`` distinct photos (scikit-image's astronaut, chelsea, coffee and rocket, each copy
with a different one-pixel mark so no two share a detector cache entry) with one caption each,
audits them with ``metrics=claims, detector=coco-ssd`` and a fresh cache folder per run (every
image is detected), and prints seconds per run, images/s, per-image cost and the ratio against
the one-process baseline. Also checks that every run's results.json equals the baseline's.

Every run is a fresh Python process (a user's audit starts cold). The machine may be shared:
every run also reports its CPU seconds (this process and its worker
processes), and ``--repeats`` runs the pair again (interleaved) to give the range of ratios. The
processes engine logs per worker the records it scored, its seconds scoring and its slowest
record (a worker's first record carries its start-up: imports, spaCy, WordNet, the detector),
printed here under each ``--workers`` run.

    python benchmarks/scale_workers.py [--n 160] [--workers 2] [--repeats 1] [--ray]
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CAPTIONS = {
    "astronaut": "A woman in a space suit stands next to a flag and a dog.",
    "chelsea": "A cat lies on a bed next to a laptop and a cup.",
    "coffee": "A cup of coffee sits on a table beside a bowl and a spoon.",
    "rocket": "A rocket stands on a launch pad near a truck and a person.",
}


def build_inputs(folder: Path, n: int) -> Path:
    import numpy as np
    from PIL import Image
    from skimage import data as skdata
    photos = {name: getattr(skdata, name)() for name in CAPTIONS}
    rows = []
    for i in range(n):
        name = list(CAPTIONS)[i % len(CAPTIONS)]
        img = np.array(photos[name], copy=True)
        if img.ndim == 2:
            img = np.stack([img] * 3, axis=-1)
        img[i // img.shape[1] % img.shape[0], i % img.shape[1]] ^= 0xFF   # a distinct copy
        path = folder / f"{name}-{i}.png"
        Image.fromarray(img[..., :3]).save(path)
        rows.append({"id": f"{name}-{i}", "task": "caption", "image": path.name,
                     "response": CAPTIONS[name]})
    out = folder / "captions.jsonl"
    out.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return out


def cpu_seconds() -> float:
    """CPU seconds (user + system) of this process and of its finished child processes."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


class EngineLog(logging.Handler):
    """Keeps the processes engine's per-worker summary line."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


ENGINE_LOG = EngineLog()


def run_here(inputs: Path, work: Path, label: str, **opts) -> dict:
    """One audit into a fresh cache in this process: wall and CPU seconds, the claims summary
    and the engine's log lines."""
    import shutil
    from halluscope.api import audit
    out = work / f"out-{label}"
    cache = work / f"cache-{label}"
    shutil.rmtree(cache, ignore_errors=True)
    c0 = cpu_seconds()
    t0 = time.perf_counter()
    audit(inputs, out=out, metrics="claims", detector="coco-ssd", cache_dir=cache,
          n_boot=200, write_report=False, **opts)
    secs = time.perf_counter() - t0
    cpu = cpu_seconds() - c0
    data = json.loads((out / "results.json").read_text())
    summary = {k: v for k, v in data["metrics"]["claims"].items() if k != "info"}
    return {"secs": secs, "cpu": cpu, "summary": summary, "log": list(ENGINE_LOG.lines)}


def run(inputs: Path, work: Path, label: str, **opts) -> dict:
    """:func:`run_here` in a fresh Python process, so that no run finds spaCy, WordNet or the
    detector already loaded by an earlier one (a user's audit starts cold)."""
    import subprocess
    cmd = [sys.executable, __file__, "--_one", json.dumps([str(inputs), str(work), label, opts])]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"expected the {label} run to succeed, got exit {done.returncode}:\n"
                         f"{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _one(spec: str) -> None:
    inputs, work, label, opts = json.loads(spec)
    engine_log = logging.getLogger("halluscope.engines")
    engine_log.addHandler(ENGINE_LOG)
    engine_log.setLevel(logging.INFO)
    if opts.get("engine") == "ray":
        import ray
        ray.init(num_cpus=opts.get("workers"), include_dashboard=False, log_to_driver=False)
    print(json.dumps(run_here(Path(inputs), Path(work), label, **opts)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=160)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=1, help="pairs of runs (interleaved)")
    ap.add_argument("--ray", action="store_true", help="also run on a local Ray instance")
    ap.add_argument("--_one", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._one:
        return _one(args._one)
    with tempfile.TemporaryDirectory(prefix="halluscope-scale-") as tmp:
        work = Path(tmp)
        inputs = build_inputs(work, args.n)
        ratios, cpu_ratios = [], []
        for _ in range(max(1, args.repeats)):
            one = run(inputs, work, "one", workers=1)
            base, base_cpu = one["secs"], one["cpu"]
            print(f"1 process:      {base:7.2f} s  {args.n / base:6.1f} images/s  "
                  f"{1000 * base / args.n:6.1f} ms/image  CPU {base_cpu:6.1f} s")
            par = run(inputs, work, "workers", workers=args.workers)
            secs, cpu = par["secs"], par["cpu"]
            ratios.append(base / secs)
            cpu_ratios.append(cpu / base_cpu)
            print(f"{args.workers} workers:      {secs:7.2f} s  {args.n / secs:6.1f} images/s  "
                  f"ratio {base / secs:4.2f}x  CPU {cpu:6.1f} s (CPU ratio {cpu / base_cpu:4.2f})"
                  f"  identical={par['summary'] == one['summary']}")
            for line in par["log"]:
                print(f"    {line}")
        if len(ratios) > 1:
            print(f"wall ratio {args.workers} workers / 1 process: {min(ratios):4.2f}x-"
                  f"{max(ratios):4.2f}x; CPU seconds ratio {min(cpu_ratios):4.2f}-"
                  f"{max(cpu_ratios):4.2f} over {len(ratios)} pairs")
        if args.ray:
            ray_run = run(inputs, work, "ray", engine="ray", workers=args.workers)
            secs = ray_run["secs"]
            print(f"Ray ({args.workers} CPUs):   {secs:7.2f} s  {args.n / secs:6.1f} images/s  "
                  f"ratio {base / secs:4.2f}x  identical={ray_run['summary'] == one['summary']}"
                  f"  (ray.init outside the timing)")


if __name__ == "__main__":
    main()
