"""Scaling of a CPU-heavy audit: claims checked by the packaged COCO SSD detector, one process
against ``--workers N`` and Ray Data on a local instance, in the same process run.

Builds ``--n`` distinct photos (scikit-image's astronaut, chelsea, coffee and rocket, each copy
with a different one-pixel mark so no two share a detector cache entry) with one caption each,
audits them with ``metrics=claims, detector=coco-ssd`` and a fresh cache folder per run (every
image is detected), and prints seconds per run, images/s, per-image cost and the ratio against
the one-process baseline. Also checks that every run's results.json equals the baseline's.

    python benchmarks/scale_workers.py [--n 160] [--workers 2] [--ray]
"""

from __future__ import annotations

import argparse
import json
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


def run(inputs: Path, work: Path, label: str, **opts) -> tuple[float, dict]:
    from halluscope.api import audit
    out = work / f"out-{label}"
    t0 = time.perf_counter()
    audit(inputs, out=out, metrics="claims", detector="coco-ssd", cache_dir=work / f"cache-{label}",
          n_boot=200, write_report=False, **opts)
    secs = time.perf_counter() - t0
    data = json.loads((out / "results.json").read_text())
    summary = {k: v for k, v in data["metrics"]["claims"].items() if k != "info"}
    return secs, summary


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=160)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--ray", action="store_true", help="also run on a local Ray instance")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="halluscope-scale-") as tmp:
        work = Path(tmp)
        inputs = build_inputs(work, args.n)
        base, base_res = run(inputs, work, "one", workers=1)
        print(f"1 process:      {base:7.2f} s  {args.n / base:6.1f} images/s  "
              f"{1000 * base / args.n:6.1f} ms/image")
        secs, res = run(inputs, work, "workers", workers=args.workers)
        print(f"{args.workers} workers:      {secs:7.2f} s  {args.n / secs:6.1f} images/s  "
              f"ratio {base / secs:4.2f}x  identical={res == base_res}")
        if args.ray:
            import ray
            ray.init(num_cpus=args.workers, include_dashboard=False, log_to_driver=False)
            try:
                secs, res = run(inputs, work, "ray", engine="ray", workers=args.workers)
            finally:
                ray.shutdown()
            print(f"Ray ({args.workers} CPUs):   {secs:7.2f} s  {args.n / secs:6.1f} images/s  "
                  f"ratio {base / secs:4.2f}x  identical={res == base_res}")


if __name__ == "__main__":
    main()
