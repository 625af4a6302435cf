"""POPE scoring speed against a naive in-process baseline; prints times and ratios.

The baseline does what the original ``evaluate.py`` does (read both files whole, parse every
answer with the original rule, count) and nothing else. halluscope does more per line: record
parsing, alignment by id with a question-text check, groups, and 1,000 bootstrap replicates.
``score_answers`` scores a flat answer file as columns; ``PopeMetric`` streaming is the
line-by-line path (any other input). End to end, ``halluscope audit --no-report`` (items.jsonl,
results.json and the run sheet written) is timed as a fresh process against the original rule
run as a script (the baseline: the trimmed rule the scale issue measured, which counts only
what precision needs) and against all of evaluate.py's steps (every answer object kept, its
answer rewritten, the labels and predictions as lists, a four-way count, five figures), both with
interpreter start-up included, at ``--n`` answers and at ``--large`` answers; the difference
between the two sizes is the cost per answer once the programs have started (halluscope imports
numpy and pyarrow, the original only ``json``).

    python benchmarks/pope_speed.py [--n 30000] [--large 300000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a source tree

from halluscope.metrics.pope import PopeMetric, score_answers
from halluscope.metrics.pope_parsers import PARSERS
from halluscope.records import iter_records

OBJECTS = ["person", "dog", "cat", "car", "apple", "bus", "umbrella", "dining table", "skis"]
PHRASES = ["Yes", "No", "Yes.", "No, there is not.", "NO", "Not sure.",
           "Yes, but it is not clearly visible.", "There is a {o} in the image.",
           "I don't see any {o}.", "The image shows no {o}."]


def make_data(folder: Path, n: int, seed: int = 0) -> tuple[Path, Path]:
    rng = random.Random(seed)
    questions, answers = folder / "coco_pope_random.json", folder / "answers.jsonl"
    with open(questions, "w") as qf, open(answers, "w") as af:
        for i in range(1, n + 1):
            obj = rng.choice(OBJECTS)
            article = "an" if obj[0] in "aeiou" else "a"
            text = f"Is there {article} {obj} in the image?"
            label = "yes" if i % 2 else "no"
            qf.write(json.dumps({"question_id": i, "image": f"{i // 6}.jpg", "text": text,
                                 "label": label}) + "\n")
            answer = rng.choice(PHRASES).format(o=obj)
            af.write(json.dumps({"question_id": i, "question": text, "answer": answer}) + "\n")
    return answers, questions


def naive(answers: Path, questions: Path) -> dict:
    """The original scorer's work, in-process."""
    preds = []
    for line in open(answers):
        text = json.loads(line)["answer"]
        words = text.split(".")[0].replace(",", "").split(" ")
        preds.append(0 if ("No" in words or "not" in words or "no" in words) else 1)
    labels = [0 if json.loads(line)["label"] == "no" else 1 for line in open(questions)]
    tp = sum(p == 1 and y == 1 for p, y in zip(preds, labels))
    fp = sum(p == 1 and y == 0 for p, y in zip(preds, labels))
    tn = sum(p == 0 and y == 0 for p, y in zip(preds, labels))
    fn = sum(p == 0 and y == 1 for p, y in zip(preds, labels))
    return {"tp": tp, "fp": fp, "tn": tn, "fn": fn}


def streaming(answers: Path, questions: Path, n_boot: int) -> dict:
    metric = PopeMetric(questions, n_boot=n_boot)
    metric.begin([answers])
    for rec in iter_records(answers):
        metric.update(rec)
    metric.finish()
    return {k: v.value for k, v in metric.compute().results.items()}


ORIGINAL_SCRIPT = """
import json, sys
preds = []
for line in open(sys.argv[1]):
    words = json.loads(line)["answer"].split(".")[0].replace(",", "").split(" ")
    preds.append(0 if ("No" in words or "not" in words or "no" in words) else 1)
labels = [0 if json.loads(line)["label"] == "no" else 1 for line in open(sys.argv[2])]
tp = sum(p == 1 and y == 1 for p, y in zip(preds, labels))
print(tp / max(1, sum(preds)))
"""


# The whole of what evaluate.py does, step for step (its steps described in our own words):
# every answer object is kept in a list and its answer rewritten to yes/no, the labels become
# 0/1 in place, the predictions are a third list, the yes ratio is counted, TP/FP/TN/FN come
# from one four-way loop, and the five figures are printed.
EVALUATE_PY_STEPS = """
import json, sys
answers = [json.loads(line) for line in open(sys.argv[1])]
labels = [json.loads(line)["label"] for line in open(sys.argv[2])]
for a in answers:
    text = a["answer"]
    if "." in text:
        text = text.split(".")[0]
    words = text.replace(",", "").split(" ")
    a["answer"] = "no" if ("No" in words or "not" in words or "no" in words) else "yes"
for i, y in enumerate(labels):
    labels[i] = 0 if y == "no" else 1
preds = [0 if a["answer"] == "no" else 1 for a in answers]
yes_ratio = preds.count(1) / len(preds)
tp = fp = tn = fn = 0
for p, y in zip(preds, labels):
    if p == 1 and y == 1:
        tp += 1
    elif p == 1 and y == 0:
        fp += 1
    elif p == 0 and y == 0:
        tn += 1
    elif p == 0 and y == 1:
        fn += 1
precision, recall = tp / (tp + fp), tp / (tp + fn)
print(tp, fp, tn, fn, (tp + tn) / len(preds), precision, recall,
      2 * precision * recall / (precision + recall), yes_ratio)
"""


def end_to_end(answers: Path, questions: Path, repeat: int) -> tuple[float, float, float]:
    """(seconds for the original rule as a script, for all of evaluate.py's steps as a script,
    for ``halluscope audit``), best of ``repeat`` fresh processes each, interleaved."""
    script = answers.parent / "evaluate_original.py"
    script.write_text(ORIGINAL_SCRIPT)
    steps = answers.parent / "evaluate_steps.py"
    steps.write_text(EVALUATE_PY_STEPS)
    original = [sys.executable, str(script), str(answers), str(questions)]
    whole = [sys.executable, str(steps), str(answers), str(questions)]
    ours = [sys.executable, "-m", "halluscope", "audit", str(answers), "--metric", "pope",
            "--questions", str(questions), "--out", str(answers.parent / "out"), "--no-report",
            "--quiet"]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    best = [float("inf")] * 3
    for _ in range(repeat):             # interleaved: a noisy minute hits all three alike
        for k, cmd in enumerate((original, whole, ours)):
            t = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True, env=env)
            best[k] = min(best[k], time.perf_counter() - t)
    return best[0], best[1], best[2]


def best_of(fn, repeat: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=30000, help="questions and answers")
    ap.add_argument("--large", type=int, default=300000,
                    help="answers in the second end-to-end run (0: none)")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        answers, questions = make_data(Path(tmp), args.n)
        base_t, base = best_of(lambda: naive(answers, questions), args.repeat)
        rows = [("naive original (baseline)", base_t)]
        t, out = best_of(lambda: score_answers(answers, questions), args.repeat)
        assert {k: out["metrics"][k] for k in base} == base, "score_answers disagrees"
        rows.append(("score_answers (no bootstrap)", t))
        t, out = best_of(lambda: score_answers(answers, questions, n_boot=1000), args.repeat)
        assert {k: out["metrics"][k] for k in base} == base, "score_answers disagrees"
        rows.append(("score_answers, n_boot=1000", t))
        for n_boot in (0, 1000):
            t, out = best_of(lambda: streaming(answers, questions, n_boot), args.repeat)
            assert {k: out[k] for k in base} == base, "PopeMetric disagrees"
            rows.append((f"PopeMetric streaming, n_boot={n_boot}", t))
        script_t, steps_t, cli_t = end_to_end(answers, questions, args.repeat)
        if args.large:
            big = Path(tmp) / "large"
            big.mkdir()
            large = end_to_end(*make_data(big, args.large), args.repeat)
        texts = [json.loads(line)["answer"] for line in open(answers)]
        for name in ("original", "opera", "vlmevalkit", "lmms-eval", "strict"):
            t, _ = best_of(lambda: [PARSERS[name](x) for x in texts], args.repeat)
            rows.append((f"parser {name} alone", t))
    print(f"{args.n:,} answers, best of {args.repeat}")
    for label, t in rows:
        print(f"  {label:<36} {t * 1000:9.1f} ms  {args.n / t:>10,.0f}/s  "
              f"{t / base_t:6.2f}x baseline")
    print("end to end, fresh processes")
    for label, t in (("original rule as a script (baseline)", script_t),
                     ("all of evaluate.py's steps", steps_t),
                     ("halluscope audit --no-report", cli_t)):
        print(f"  {label:<36} {t * 1000:9.1f} ms  {args.n / t:>10,.0f}/s  "
              f"{t / script_t:6.2f}x baseline")
    if args.large:
        extra = args.large - args.n
        print(f"end to end at {args.large:,} answers; per answer beyond the first {args.n:,}")
        for label, t, small in (("original rule as a script (baseline)", large[0], script_t),
                                ("all of evaluate.py's steps", large[1], steps_t),
                                ("halluscope audit --no-report", large[2], cli_t)):
            per = (t - small) / extra
            print(f"  {label:<36} {t * 1000:9.1f} ms  {per * 1e6:6.2f} us/answer  "
                  f"{per / ((large[0] - script_t) / extra):6.2f}x baseline")


if __name__ == "__main__":
    main()
