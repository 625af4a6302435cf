"""How long the benchmark judges take against a slow judge, one call or several in flight.

HallusionBench (original, with its consistency diagnosis), MMHal-Bench and Object HalBench put
one judge question per record. This audits a synthetic file of each against the loopback fake
OpenAI server (``tests/fake_openai_server.py``, 127.0.0.1 only) with a fixed latency per answer,
at each ``judge_max_connections`` asked, and prints the wall time, the judge requests the server
saw and the most it had in flight at once; with ``--compare`` it also checks that results.json
(less timings) and items.jsonl are the same whatever the connections::

    python benchmarks/judge_concurrency.py --latency 0.05 --rows 240 --connections 1 4
    python benchmarks/judge_concurrency.py --tree /work/main ...   # another checkout's code
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from benchmark_judges import judge_reply, write_inputs  # noqa: E402
from fake_openai_server import FakeServer  # noqa: E402


def audit(tree: Path, args: list[str], server: FakeServer, out: Path, connections: int,
          extra: list[str]) -> float:
    env = {**os.environ, "PYTHONPATH": str(tree), "OPENAI_API_KEY": "sk-fake"}
    cmd = [sys.executable, "-m", "halluscope", "audit", *args, "--option",
           f"judge_base_url={server.url}", "--option", f"judge_max_connections={connections}",
           "--cache-dir", str(out / "cache"), "--out", str(out / "o"), "--no-report",
           "--quiet", "--bootstrap", "0", *extra]
    t0 = time.perf_counter()
    done = subprocess.run(cmd, env=env, cwd=tree, capture_output=True, text=True)  # -m: cwd first
    seconds = time.perf_counter() - t0
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)}: exit {done.returncode}\n{done.stdout}{done.stderr}")
    return seconds


def _results(out: Path) -> tuple[str, str]:
    """results.json less what names this run (its id, digest, outputs, server port, folder)
    and items.jsonl."""
    res = json.loads((out / "o" / "results.json").read_text())
    for key in ("run_id", "digest", "outputs"):
        res.pop(key, None)
    text = re.sub(r"127\.0\.0\.1:\d+", "SERVER", json.dumps(res, sort_keys=True))
    return text.replace(str(out), "OUT"), (out / "o" / "items.jsonl").read_text()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--latency", type=float, default=0.05)
    ap.add_argument("--rows", type=int, default=240)
    ap.add_argument("--connections", type=int, nargs="+", default=[1, 4])
    ap.add_argument("--metrics", nargs="+", default=["hallusionbench", "mmhal", "objhal", "pope",
                                                     "claims", "claims_split"])
    ap.add_argument("--tree", type=Path, default=ROOT, help="the checkout whose code runs")
    ap.add_argument("--workers", type=int, default=0, help="--workers N (0: one process)")
    ap.add_argument("--compare", action="store_true")
    ap.add_argument("--keep", default=None, help="make the work folder under this one")
    a = ap.parse_args(argv)
    extra = ["--workers", str(a.workers)] if a.workers else []
    with (tempfile.TemporaryDirectory() if a.keep is None else
          contextlib.nullcontext(tempfile.mkdtemp(dir=a.keep))) as tmp:
        inputs = write_inputs(Path(tmp), a.rows)
        for metric in a.metrics:
            seen = None
            for c in a.connections:
                out = Path(tmp) / f"{metric}-{c}"
                with FakeServer(latency=a.latency, responder=judge_reply) as server:
                    seconds = audit(a.tree, inputs[metric], server, out, c, extra)
                    n, peak = len(server.requests), server.peak_in_flight
                print(f"{metric:15s} connections {c}: {seconds:6.2f} s, {n} judge requests, "
                      f"peak {peak} in flight", flush=True)
                if a.compare:
                    got = _results(out)
                    if seen is not None and got != seen:
                        print(f"  DIFFERENT results or items from connections "
                              f"{a.connections[0]}")
                    seen = seen or got
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
