"""Detector-backed facts: records/s with a cold cache vs a warm one; one pass per image.

Builds N records over a few real photos (scikit-image's, saved as JPEG), each needing the facts
for a handful of objects, and runs :class:`~halluscope.evidence.detector_facts.DetectorFacts`
over them twice:

* cold: an empty cache folder; the detector runs once per distinct image (verified by counting
  model calls: ``passes == images``), however many records share that image;
* warm: a fresh provider on the same folder; no model is loaded and none runs
  (``passes == 0``).

Prints records/s of both and their ratio (warm / cold).

    python benchmarks/detector_cache.py [--records 400] [--images 8] [--detector coco-ssd]
                                        [--segmenter grabcut]

``--detector hf:<folder>`` times a transformers detector the same way.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PHOTOS = ("chelsea", "coffee", "astronaut", "rocket", "camera", "coins", "page", "text",
          "hubble_deep_field", "immunohistochemistry", "colorwheel", "logo")
CLAIMS = [("existence", "dog", None), ("existence", "cat", None), ("existence", "cup", None),
          ("attribute", "cat", "brown"), ("count", "person", 1),
          ("relation", "bowl", "on"), ("existence", "kitten", None)]


def make_inputs(folder: Path, n_records: int, n_images: int):
    from PIL import Image
    from skimage import data

    from halluscope.records import record_from_dict

    names = [p for p in PHOTOS if hasattr(data, p)][:n_images]
    for name in names:
        Image.fromarray(getattr(data, name)()).convert("RGB").save(folder / f"{name}.jpg",
                                                                   quality=90)
    from halluscope.evidence.cache import image_sha256
    distinct = len({image_sha256(folder / f"{n}.jpg") for n in names})
    f = folder / "outputs.jsonl"
    return [record_from_dict({"id": str(i), "image": f"{names[i % len(names)]}.jpg",
                              "response": "x"}, file=str(f), line=i + 1)
            for i in range(n_records)], distinct


def claims():
    from halluscope.types import Claim

    out = []
    for kind, subject, value in CLAIMS:
        if kind == "relation":
            out.append(Claim(kind, subject, relation=value, object="dining table"))
        else:
            out.append(Claim(kind, subject, value=value))
    return out


def run(spec: str, segmenter: str | None, records, cache_dir: Path) -> tuple[float, int, bool]:
    from halluscope.evidence.cache import EvidenceCache
    from halluscope.evidence.detector_facts import DetectorFacts

    cl = claims()
    t0 = time.perf_counter()
    facts = DetectorFacts(spec, segmenter=segmenter, cache=EvidenceCache(cache_dir))
    for rec in records:
        facts.facts(rec, cl)
    elapsed = time.perf_counter() - t0
    return elapsed, facts.passes, facts._detector is not None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--records", type=int, default=400)
    ap.add_argument("--images", type=int, default=8)
    ap.add_argument("--detector", default="coco-ssd")
    ap.add_argument("--segmenter", default=None)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="halluscope-bench-") as tmp:
        tmp = Path(tmp)
        records, n_images = make_inputs(tmp, args.records, args.images)
        cache = tmp / "cache"
        cold_s, cold_passes, _ = run(args.detector, args.segmenter, records, cache)
        warm_s, warm_passes, loaded = run(args.detector, args.segmenter, records, cache)
    print(f"detector {args.detector}" + (f", segmenter {args.segmenter}" if args.segmenter
                                         else "") + f": {len(records)} records over "
          f"{n_images} images, {len(CLAIMS)} claims each")
    print(f"cold cache: {len(records) / cold_s:10.1f} records/s  ({cold_s:.2f} s, "
          f"{cold_passes} detector passes = one per image: {cold_passes == n_images})")
    print(f"warm cache: {len(records) / warm_s:10.1f} records/s  ({warm_s:.2f} s, "
          f"{warm_passes} detector passes, model loaded: {loaded})")
    print(f"warm / cold: {cold_s / warm_s:.1f}x")
    ok = cold_passes == n_images and warm_passes == 0 and not loaded
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
