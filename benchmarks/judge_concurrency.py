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
import hashlib
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
from fake_openai_server import FakeServer  # noqa: E402


def _pick(prompt: str, choices: list[str]) -> str:
    return choices[int(hashlib.sha256(prompt.encode()).hexdigest(), 16) % len(choices)]


def respond(prompt: str, body: dict) -> str:
    """Deterministic judge replies for the three benchmarks' prompts."""
    if "Prediction answer:" in prompt:
        return _pick(prompt, ["correct", "incorrect", "The answer is unclear."])
    if "consistency" in prompt:
        return _pick(prompt, ["same", "different"])
    if "Rating:" in prompt or "rating" in prompt.lower():
        return f"Some review.\nRating: {_pick(prompt, list('0123456'))}"
    return '["dog", "wooden table", "cat"]'      # Object HalBench (a system message)


def write_inputs(folder: Path, rows: int) -> dict[str, list[str]]:
    """The three benchmarks' answer files and their audit arguments."""
    hb = []
    for k in range(rows):
        s, rest = divmod(k, 6)
        fig, q = divmod(rest, 3)
        hb.append({"category": "VD", "subcategory": "illusion", "visual_input": "1" if fig == 0
                   else "2", "set_id": str(s), "figure_id": str(fig), "question_id": str(q),
                   "question": f"Is it so ({s}, {fig}, {q})?", "gt_answer_details": "It is so.",
                   "gt_answer": "1",
                   "model_prediction": f"{['Yes', 'No', 'Maybe'][k % 3]}, as seen ({k})."})
    mm = [{"question_type": "attribute", "question": f"What is thing {i}?",
           "gt_answer": f"Thing {i}.", "image_content": [f"thing {i}"],
           "model_answer": f"It is thing {i % 7}."} for i in range(rows)]
    oh = [{"image_id": i, "prompt": "Describe the image.",
           "response": f"A dog sits on a wooden table next to cup number {i}."}
          for i in range(rows)]
    (folder / "gt.json").write_text(json.dumps({str(i): ["dog", "dining table"]
                                                for i in range(rows)}))
    for name, data in (("hb", hb), ("mm", mm), ("oh", oh)):
        (folder / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in data))
    return {"hallusionbench": [str(folder / "hb.jsonl"), "--metric", "hallusionbench",
                               "--judge", "hallusionbench-gpt-4",
                               "--option", "hallusionbench_variant=original"],
            "mmhal": [str(folder / "mm.jsonl"), "--metric", "mmhal", "--judge",
                      "mmhal-gpt-4o-2024-08-06"],
            "objhal": [str(folder / "oh.jsonl"), "--metric", "objhal", "--judge",
                       "objhal-gpt-3.5-turbo-0613", "--gt-objects", str(folder / "gt.json")]}


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
    ap.add_argument("--metrics", nargs="+", default=["hallusionbench", "mmhal", "objhal"])
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
                with FakeServer(latency=a.latency, responder=respond) as server:
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
