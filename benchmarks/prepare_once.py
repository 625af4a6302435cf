"""Naming and sending a resized image: two preparations before, one now; same process.

For a noisy WxH JPEG under the openai policy, times per image (median of ``--repeat``):

* before: the key's digest (:func:`~halluscope.adapters.images.sent_digest`) and the send
  (:func:`~halluscope.adapters.images.prepare`) each prepare it;
* now: an adapter's ``sent_image_digest`` then ``prepared_image`` (one preparation, the send
  served by its :class:`~halluscope.adapters.images.PreparedMemo`).

Checks that both send the same bytes and name the same digest; prints both times and the ratio.

    python benchmarks/prepare_once.py [--size 2000x1500] [--repeat 3]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    import numpy as np
    from PIL import Image

    from halluscope.adapters import images
    from halluscope.adapters.openai_compat import OpenAICompatible
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="2000x1500")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    w, h = map(int, args.size.split("x"))
    buf = io.BytesIO()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).save(buf, "JPEG")
    data, pol = buf.getvalue(), images.POLICIES["openai"]
    os.environ.setdefault("OPENAI_API_KEY", "sk-benchmark-not-used-0123")
    before, now = [], []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        digest_old = images.sent_digest(data, pol)
        sent_old = images.prepare(data, pol).data
        before.append(time.perf_counter() - t0)
        api = OpenAICompatible("gpt-x", provider="openai", base_url="http://127.0.0.1:9")
        t0 = time.perf_counter()
        digest_new = api.sent_image_digest(data, "photo.jpg")
        sent_new = api.prepared_image(data, "photo.jpg").data
        now.append(time.perf_counter() - t0)
        assert (digest_old, sent_old) == (digest_new, sent_new), "bytes or digest differ"
    b, n = statistics.median(before), statistics.median(now)
    print(f"{w}x{h} JPEG ({len(data) // 1024} KiB), openai policy, median of {args.repeat}")
    print(f"  before (digest + send each prepare): {b:.3f} s")
    print(f"  now    (one preparation)           : {n:.3f} s")
    print(f"  ratio before/now: {b / n:.2f}x; same bytes sent and same digest")


if __name__ == "__main__":
    main()
