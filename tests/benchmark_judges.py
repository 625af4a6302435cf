"""Synthetic answer files of the three benchmarks whose judge is asked once per record
(HallusionBench original with its consistency diagnosis, MMHal-Bench, Object HalBench), and
deterministic judge replies for the loopback fake server: used by
``tests/test_judge_concurrency.py`` and ``benchmarks/judge_concurrency.py``."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path


def pick(prompt: str, choices: list[str]) -> str:
    """One of ``choices``, the same for the same prompt."""
    return choices[int(hashlib.sha256(prompt.encode()).hexdigest(), 16) % len(choices)]


def judge_reply(prompt: str, body: dict) -> str:
    """The fake judge's reply to each benchmark's prompt."""
    if "Prediction answer:" in prompt:         # HallusionBench's correctness prompt
        return pick(prompt, ["correct", "incorrect", "The answer is unclear."])
    if "consistency" in prompt:                # its consistency prompt
        return pick(prompt, ["same", "different"])
    if "Rating:" in prompt or "rating" in prompt.lower():
        return f"A review.\nRating: {pick(prompt, list('0123456'))}"
    return '["dog", "wooden table", "cat"]'    # Object HalBench's (a system message)


def write_inputs(folder: Path, rows: int, *, odd_rows: bool = False) -> dict[str, list[str]]:
    """The three benchmarks' answer files under ``folder`` and each one's audit arguments;
    ``odd_rows``: with an MMHal-Bench row that asks nothing (no gt_answer), a repeated one (a
    cache hit) and an Object HalBench answer about an image without ground truth."""
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
    if odd_rows:
        mm.insert(3, dict(mm[3], gt_answer=None))
        mm.insert(5, dict(mm[5]))
        oh.insert(2, {"image_id": 999, "prompt": "Describe the image.",
                      "response": "A dog with no ground truth at all, here."})
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
