"""Throughput of the rule-based claim splitter against the raw spaCy pipeline it runs on.

Prints texts/s for ``nlp.pipe`` alone and for ``split_claims_batch`` over the same texts in the
same process, and their ratio (the goal is at least 0.9). Audits split this way too: the engines
split the claims of 64 records (a chunk of a worker) in one parse
(``engines.claims_split_together``). ``--single`` also times ``split_claims`` one text at a
time, one parse each, as audits did before. Texts: the OPERA caption logs in
``../shared/data/chair/captions/opera`` when present (detailed descriptions of COCO images),
else a built-in set of captions repeated.

    python benchmarks/claims_speed.py [--n 1000] [--batch-size 64] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

_FALLBACK = [
    "A brown dog is sitting on a red sofa next to two small cats.",
    "A man and a woman are standing near a table, possibly enjoying their meal.",
    "There is no car in the image. A cat lies on the bed. It is sleeping next to a pillow.",
    "The image shows a kitchen with a white refrigerator, a stove and a wooden table. "
    "Several cups are placed on the counter, and a clock hangs on the wall above the sink.",
    "Two giraffes and a zebra are standing in a grassy field under a clear blue sky.",
]


def shared_data() -> Path:
    env = os.environ.get("HALLUSCOPE_SHARED_DATA")
    return Path(env) if env else ROOT.parent / "shared" / "data"


def load_texts(n: int) -> tuple[list[str], str]:
    folder = shared_data() / "chair" / "captions" / "opera"
    texts: list[str] = []
    if folder.is_dir():
        for f in sorted(folder.glob("*.jsonl")):
            with open(f, encoding="utf-8") as fh:
                for line in fh:
                    if line.strip():
                        texts.append(json.loads(line)["caption"])
            if len(texts) >= n:
                break
        if texts:
            return texts[:n], str(folder)
    out = (_FALLBACK * (n // len(_FALLBACK) + 1))[:n]
    return out, "built-in captions"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--single", action="store_true",
                    help="also split one text at a time (one parse each)")
    args = ap.parse_args(argv)

    from halluscope.claims.splitter import load_pipeline, split_claims, split_claims_batch
    from halluscope.claims.vocab import coco_vocabulary

    texts, source = load_texts(args.n)
    nlp = load_pipeline()
    vocab = coco_vocabulary()
    split_claims_batch(texts[:200], vocab, batch_size=args.batch_size)    # warm caches, WordNet
    raw_best = split_best = single_best = float("inf")
    n_claims = 0
    for _ in range(args.repeats):       # interleaved, best of each
        t0 = time.perf_counter()
        for _doc in nlp.pipe(texts, batch_size=args.batch_size):
            pass
        raw_best = min(raw_best, time.perf_counter() - t0)
        t0 = time.perf_counter()
        out = split_claims_batch(texts, vocab, batch_size=args.batch_size)
        split_best = min(split_best, time.perf_counter() - t0)
        n_claims = sum(len(c) for c in out)
        if args.single:
            t0 = time.perf_counter()
            for text in texts:
                split_claims(text, vocab)
            single_best = min(single_best, time.perf_counter() - t0)
    raw = len(texts) / raw_best
    split = len(texts) / split_best
    words = sum(len(t.split()) for t in texts) / len(texts)
    print(f"texts: {len(texts)} from {source} (mean {words:.0f} words), "
          f"pipeline {'+'.join(nlp.pipe_names)}")
    print(f"raw nlp.pipe:        {raw:8.1f} texts/s")
    print(f"split_claims_batch:  {split:8.1f} texts/s  ({n_claims} claims)")
    print(f"ratio: {split / raw:.3f} (goal >= 0.9)")
    if args.single:
        single = len(texts) / single_best
        print(f"split_claims, one text at a time: {single:8.1f} texts/s  "
              f"(ratio {single / raw:.3f}; batched is {split / single:.2f}x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
