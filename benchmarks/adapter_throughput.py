"""Adapter throughput: achieved requests/s as a fraction of the concurrency bound.

Starts the loopback OpenAI-compatible server (tests/fake_openai_server.py) in a separate process
with a fixed latency per request, sends N requests through ``halluscope.query``'s run loop
(OpenAI SDK, adaptive limiter, cache writes, ordered output file), and prints

* achieved requests/s and its ratio to the bound ``max_connections / latency`` (goal >= 0.9);
* records/s of a fully cached re-run (same prompts, new output file: no model calls).

    python benchmarks/adapter_throughput.py [--requests 1000] [--latency 0.25] [--connections 32]
                                            [--ray WORKERS]

With ``--ray N`` the same requests are also sent through ``--engine ray`` (N actors sharing the
``--connections``, a fresh cache; a local Ray instance started before the clock runs), and the
ratio of its requests/s to the one-process run's is printed.

What limits the ratio: the client handles answers on one event loop. An answer costs ~0.8 ms of
CPU in the openai SDK, httpx, httpcore, h11 and anyio (a bare httpx post ~0.57 ms) plus
halluscope's own work (redacting the output line and the cache row, the cache key, the row, the
line), ~1.0-1.35 ms in all (set-up included) at no latency on 8 connections; ~4,500 Python
function calls per answer against ~3,600 for a bare loop of SDK posts. With a fixed latency the
requests of one "wave" come back together and are handled one after another, so the last of C
waits its turn before its next request goes out (a freed slot's next request goes out before
the answer that freed it is cached and written, and a freed slot goes to the request that waited
longest: when newer requests could take it, answers finished far out of prompt order and lines
were written in bursts). At 640 requests (4 s of latency) fixed costs count too: ~60-120 ms
before the first request (building the SDK's HTTP client imports httpcore and loads the TLS
certificates, 20-40 ms; a fresh cache's switch to WAL, 10-20 ms; the prompts) and ~15-50 ms
after the last answer (closing the cache's WAL, 5-20 ms; the connections; the run sheet, whose
library versions are read while the last answers are awaited). On this shared 2-core machine
the ratio follows the load of the other processes more than anything in the client: compare
runs made in the same minutes, and a bare loop of SDK posts (the ceiling) beside them. Real
model latencies are longer and vary, which spreads the waves out.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def start_server(latency: float) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen([sys.executable, str(ROOT / "tests" / "fake_openai_server.py"),
                             "--latency", str(latency)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    port = int(proc.stdout.readline())
    return proc, port


def write_prompts(path: Path, n: int, image: Path | None) -> None:
    with open(path, "w") as fh:
        for i in range(n):
            rec = {"id": f"b{i}", "prompt": f"Is there a dog in image {i}?"}
            if image is not None:
                rec["image"] = str(image)
            fh.write(json.dumps(rec) + "\n")


def run_ray(prompts: Path, url: str, tmp: Path, args) -> tuple[float, float]:
    """Seconds the ``--engine ray`` run of the same prompts takes (Ray started beforehand),
    and the part of it that starting the actors took."""
    import ray

    from halluscope.adapters.ray_query import query_ray
    ray.init(num_cpus=max(2, args.ray), include_dashboard=False, log_to_driver=False)
    try:
        t0 = time.perf_counter()
        result = query_ray(prompts, "openai/bench-model", out=tmp / "out_ray.jsonl",
                           base_url=url, cache=tmp / "cache_ray",
                           max_connections=args.connections, workers=args.ray)
        elapsed = time.perf_counter() - t0
    finally:
        ray.shutdown()
    assert result.counts.new == args.requests and result.counts.failed == 0, result.counts
    return elapsed, result.runsheet["engine"]["startup_s"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--latency", type=float, default=0.25, help="seconds per request")
    ap.add_argument("--connections", type=int, default=32, help="--max-connections")
    ap.add_argument("--images", action="store_true", help="attach a 640x480 JPEG to each")
    ap.add_argument("--ray", type=int, default=0, metavar="WORKERS",
                    help="also run with --engine ray on WORKERS actors (local Ray instance)")
    args = ap.parse_args(argv)

    os.environ.setdefault("OPENAI_API_KEY", "sk-benchmark-not-a-real-key")
    import openai  # noqa: F401 - imported before timing: a one-off ~0.7 s, not throughput
    from halluscope.adapters.query import aquery

    proc, port = start_server(args.latency)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            image = None
            if args.images:
                from PIL import Image
                image = tmp / "img.jpg"
                Image.effect_noise((640, 480), 60).convert("RGB").save(image)
            prompts = tmp / "prompts.jsonl"
            write_prompts(prompts, args.requests, image)
            url = f"http://127.0.0.1:{port}/v1"

            def run(out: str):
                t0 = time.perf_counter()
                result = asyncio.run(aquery(prompts, "openai/bench-model", out=tmp / out,
                                            base_url=url, cache=tmp / "cache",
                                            max_connections=args.connections))
                return time.perf_counter() - t0, result

            elapsed, result = run("out.jsonl")
            c = result.counts
            assert c.new == args.requests and c.failed == 0, c
            bound = args.connections / args.latency
            achieved = args.requests / elapsed
            print(f"requests: {args.requests}, latency {args.latency * 1000:.0f} ms, "
                  f"max_connections {args.connections}"
                  + (", with 640x480 JPEG images" if args.images else ""))
            print(f"concurrency bound: {bound:.1f} req/s")
            print(f"achieved:          {achieved:.1f} req/s in {elapsed:.2f} s")
            print(f"ratio:             {achieved / bound:.3f}  (goal >= 0.9)")

            cached_elapsed, cached = run("out_cached.jsonl")
            assert cached.counts.cached == args.requests, cached.counts
            print(f"cached re-run:     {args.requests / cached_elapsed:.0f} records/s "
                  f"({cached_elapsed:.2f} s, {cached.runsheet['client']['calls']} model calls)")
            if args.ray:
                ray_elapsed, startup = run_ray(prompts, url, tmp, args)
                print(f"ray, {args.ray} workers:  {args.requests / ray_elapsed:.1f} req/s in "
                      f"{ray_elapsed:.2f} s ({startup:.2f} s of it starting the actors); "
                      f"ratio to one process: {elapsed / ray_elapsed:.3f}")
    finally:
        proc.stdin.close()
        proc.wait(timeout=10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
