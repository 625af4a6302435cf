"""Synthetic answer files of the audits whose judge is asked about records (the three
benchmarks that ask once per record: HallusionBench original with its consistency diagnosis,
MMHal-Bench, Object HalBench; POPE answers no rule reads; claims and FaithScore, their claims
split by rules or by the judge), and deterministic judge replies for the loopback fake server,
some unreadable and some cut at max_tokens (failed calls): used by
``tests/test_judge_concurrency.py`` and ``benchmarks/judge_concurrency.py``."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path


def pick(prompt: str, choices: list[str]) -> str:
    """One of ``choices``, the same for the same prompt."""
    return choices[int(hashlib.sha256(prompt.encode()).hexdigest(), 16) % len(choices)]


#: A reply cut at max_tokens: a failed call, never read.
CUT = {"text": "It is", "finish_reason": "length"}


def _claims_reply(prompt: str) -> str | dict:
    """The decomposition of the description the prompt quotes: what it says of the dog and
    the sofa, a claim it does not say (the judge's own, left out), or no claims at all."""
    text = prompt.rsplit("Description:", 1)[1].strip()
    kind = pick(text, ["claims", "claims", "claims", "unreadable", "cut"])
    if kind != "claims":
        return CUT if kind == "cut" else "Sorry, I cannot split that."
    colour = text.split()[1]    # (each claim quotes the whole description: no two records'
    return json.dumps([         # checks are one question, asked by two workers at once)
        {"kind": "existence", "subject": "dog", "text": text},
        {"kind": "attribute", "subject": "dog", "value": colour, "text": text},
        {"kind": "relation", "subject": "dog", "relation": "on", "object": "sofa", "text": text},
        {"kind": "attribute", "subject": "sofa", "value": "purple"}])


def judge_reply(prompt: str, body: dict) -> str | dict:
    """The fake judge's reply to each prompt."""
    if "Decide whether its answer means yes or no" in prompt:   # POPE's fallback
        return pick(prompt, ["yes", "no", "unknown", "Well, it depends.", CUT])
    if prompt.startswith("You are checking one statement"):      # a claim's check
        return pick(prompt, [json.dumps({"verdict": v, "confidence": 0.7, "reason": "seen"})
                             for v in ("supported", "hallucinated", "unverifiable")]
                    + ["I cannot tell from here.", CUT])
    if "Split the description of an image" in prompt:            # the judge's split
        return _claims_reply(prompt)
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
    args = _claims_and_pope(folder, rows, odd_rows)
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
                       "objhal-gpt-3.5-turbo-0613", "--gt-objects", str(folder / "gt.json")],
            **args}


def _claims_and_pope(folder: Path, rows: int, odd_rows: bool) -> dict[str, list[str]]:
    """POPE answers some of which no rule reads, and captions of four images whose claims
    annotations cannot all decide, under ``folder``; their audit arguments (``claims``: claims
    and FaithScore, split by rules; ``claims_split``: split by the judge). ``odd_rows``: an
    answer and a caption given twice (cache hits: a repeat asked by another worker at the same
    time is sent again) and a caption of an unreadable image."""
    from PIL import Image
    (folder / "img").mkdir(exist_ok=True)
    for k in range(4):
        Image.new("RGB", (32, 32), (60 * k, 40, 90)).save(folder / "img" / f"{k}.png")
    (folder / "img" / "broken.png").write_bytes(b"not a png")
    objects = [{"label": "dog", "box": [0, 0, 16, 16]}, {"label": "couch", "box": [0, 8, 32, 32]}]
    (folder / "ann.json").write_text(json.dumps({"images": {
        f"{k}.png": {"size": [32, 32], "objects": objects[:1 + k % 2]} for k in range(4)}}))
    things = ["dog", "cat", "sofa", "zebra"]
    pope = [{"question_id": i, "prompt": f"Is there a {things[i % 4]} in the image?",
             "label": "yes" if i % 4 < 2 else "no",
             "response": ["Yes.", "No.", f"Perhaps, in a way ({i}).",
                          f"I cannot see well enough ({i})."][i % 4 if i % 3 else 2]}
            for i in range(rows)]
    colours = ["brown", "black", "white", "golden", "grey"]
    captions = [{"id": f"c{i}", "image": f"img/{i % 4}.png", "prompt": "Describe the image.",
                 "response": f"A {colours[i % 5]} dog sits on a red sofa next to {i % 3 + 1} "
                             f"cats near window {i}."} for i in range(rows)]
    if odd_rows:    # (a repeat next to its first: in one worker's batch, whatever its size)
        pope.insert(3, dict(pope[2], question_id=rows))
        captions.insert(2, dict(captions[1], id="again"))
        captions.insert(6, dict(captions[4], id="broken", image="img/broken.png",
                                response=captions[4]["response"].replace("window", "door")))
    for name, data in (("pope", pope), ("captions", captions)):
        (folder / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in data))
    claims = [str(folder / "captions.jsonl"), "--metric", "claims", "--metric", "faithscore",
              "--judge", "gpt-4o-2024-08-06", "--annotations", str(folder / "ann.json")]
    return {"pope": [str(folder / "pope.jsonl"), "--metric", "pope", "--judge",
                     "gpt-4o-2024-08-06", "--pope-parser", "strict"],
            "claims": claims, "claims_split": [*claims, "--claim-splitter", "judge"]}
