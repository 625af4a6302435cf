"""CHAIR (``original`` variant) speed against a naive in-process baseline; prints ratios.

The baseline is the original algorithm's per-caption loop as the original writes it:
``nltk.word_tokenize`` (Punkt, then NLTK's Treebank-style rules), a Pattern-style
``singularize`` on every token (word lists scanned with ``endswith``, regular-expression rules
tried in order), two-token fusion, the toilet/seat filter, and ``word in
set(self.mscoco_objects)`` for every word (the original rebuilds that set each time). It runs in
this process on the same captions; both must find the same mentions.

Times are CPU time of this process (``time.process_time``), so that other work on the machine
does not distort the ratios.

Start-up: building the ground truth from COCO annotation files (cold) against reading it back
from the cache, on synthetic COCO files made from the ground-truth objects file; and reading the
123k-image ground-truth objects file.

    python benchmarks/chair_speed.py [--n 3000] [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a source tree

from halluscope.metrics import chair_singular as cs  # noqa: E402
from halluscope.metrics.chair import chair_scores, parser_for  # noqa: E402

OBJECTS = ["dog", "cats", "a bus", "buses", "people", "man", "women", "hot dogs", "teddy bear",
           "dining table", "chairs", "toilet", "seat", "oranges", "baby elephant", "skis",
           "wine glasses", "cell phone", "laptop", "horse-drawn carriage", "traffic lights"]
FRAMES = ["The image shows {a} next to {b}.", "In the scene, {a} sits near {b}, and {c} is "
          "visible in the background.", "There are {a} and {b} on the street. {c} can be seen.",
          "A close-up of {a}; {b} (left) and {c} -- all in focus."]


def shared_data(arg: str | None) -> Path | None:
    for cand in (arg, os.environ.get("HALLUSCOPE_SHARED_DATA"),
                 Path(__file__).resolve().parents[2] / "shared" / "data"):
        if cand and (Path(cand) / "chair").is_dir():
            return Path(cand)
    return None


def load_inputs(data: Path | None, n: int, seed: int = 0):
    """``(captions, gt)``: the OPERA caption files and ground truth if present, else synthetic."""
    rng = random.Random(seed)
    if data is not None:
        caps = []
        for f in sorted((data / "chair" / "captions" / "opera").glob("*.jsonl")):
            for line in open(f, encoding="utf-8"):
                obj = json.loads(line)
                caps.append((int(obj["image_id"]), obj["caption"]))
        rng.shuffle(caps)
        raw = json.load(open(data / "chair" / "gt_objects_coco2014.json"))["imid_to_objects"]
        return caps[:n], {int(k): set(v) for k, v in raw.items()}
    caps, gt = [], {}
    for i in range(n):
        parts = {k: rng.choice(OBJECTS) for k in "abc"}
        text = " ".join(rng.choice(FRAMES).format(**parts) for _ in range(rng.randint(3, 7)))
        caps.append((i, text))
        gt[i] = set(rng.sample(["dog", "person", "bus", "chair", "cat", "toilet"], 3))
    return caps, gt


# -- the baseline -----------------------------------------------------------------------------

class NaiveChair:
    """The original per-caption loop, written plainly (no caches)."""

    def __init__(self):
        from collections import defaultdict

        from nltk.tokenize.destructive import NLTKWordTokenizer
        from nltk.tokenize.punkt import PunktParameters, PunktSentenceTokenizer
        from punkt.data import english as model

        params = PunktParameters()
        params.abbrev_types = set(model.ABBREV_TYPES)
        params.collocations = set(model.COLLOCATIONS)
        params.sent_starters = set(model.SENT_STARTERS)
        params.ortho_context = defaultdict(int, model.ORTHO_CONTEXT)
        self.sentences = PunktSentenceTokenizer(params)
        self.treebank = NLTKWordTokenizer()
        spec = parser_for("original").spec.data
        synonyms = []
        for node, words in spec["objects"].items():
            synonyms.append([node] + words)
        for u in spec["original"]["unmatchable"]:  # written as the original file has them
            for line in synonyms:
                if u["word"] in line and u["word"] != line[0]:
                    line[line.index(u["word"])] = u["as_written"]
        self.mscoco_objects = [w for line in synonyms for w in line]
        self.inverse = {w: line[0] for line in synonyms for w in line}
        self.double = {p: p for p in spec["original"]["phrases"]}
        for group in spec["original"]["qualifiers"]:
            for head in group["heads"]:
                for q in group["qualifiers"]:
                    self.double[f"{q} {head}"] = head
        self.double.update(spec["original"]["phrase_targets"])
        self.rules = [(re.compile(p, re.IGNORECASE), r) for p, r in cs._RULES_SRC]

    def word_tokenize(self, text):
        return [t for s in self.sentences.tokenize(text) for t in self.treebank.tokenize(s)]

    def singularize(self, word):
        if "-" in word:
            head, _, tail = word.partition("-")
            if tail.split("-")[0] in cs._PREPOSITIONS:
                return self.singularize(head) + "-" + tail
        if word.endswith("'"):
            return self.singularize(word[:-1]) + "'s"
        w = word.lower()
        for x in cs._UNINFLECTED:
            if x.endswith(w):
                return word
        for x in cs._IE_PLURALS:
            if w.endswith(x):
                return w
        for x, y in cs._IRREGULAR:
            if w.endswith(x):
                return re.sub("(?i)" + x + "$", y, word)
        for rx, repl in self.rules:
            m = rx.search(word)
            if m:
                out = re.sub(r"\{(\d)\}", lambda g: m.group(int(g.group(1))) or "", repl)
                return word[:m.start()] + out + word[m.end():]
        return word

    def caption_to_words(self, caption):
        words = self.word_tokenize(caption.lower())
        words = [self.singularize(w) for w in words]
        i, double_words, idxs = 0, [], []
        while i < len(words):
            idxs.append(i)
            double_word = " ".join(words[i:i + 2])
            if double_word in self.double:
                double_words.append(self.double[double_word])
                i += 2
            else:
                double_words.append(words[i])
                i += 1
        words = double_words
        if "toilet" in words and "seat" in words:
            words = [w for w in words if w != "seat"]
        idxs = [idxs[k] for k, w in enumerate(words) if w in set(self.mscoco_objects)]
        words = [w for w in words if w in set(self.mscoco_objects)]
        return words, [self.inverse[w] for w in words], idxs, double_words

    def score(self, captions, gt):
        n_h = n_w = n_caps = n_hc = 0
        found = []
        for image_id, caption in captions:
            words, nodes, idxs, raw = self.caption_to_words(caption)
            hallucinated = [(w, n) for w, n in zip(words, nodes) if n not in gt[image_id]]
            n_w += len(nodes)
            n_h += len(hallucinated)
            n_hc += bool(hallucinated)
            n_caps += 1
            found.append(nodes)
        return {"chair_s": n_hc / n_caps, "chair_i": n_h / max(n_w, 1)}, found


# -- start-up -----------------------------------------------------------------------------------

def synthetic_coco(folder: Path, gt: dict, captions: list, n_images: int, seed: int = 0):
    """Instance and caption files for ``n_images`` images of ``gt`` (5 captions each)."""
    rng = random.Random(seed)
    nodes = parser_for("original").nodes
    cats = [{"id": i + 1, "name": n, "supercategory": "x"} for i, n in enumerate(nodes)]
    cat_id = {n: i + 1 for i, n in enumerate(nodes)}
    ids = sorted(gt)[:n_images]
    images = [{"id": i, "file_name": f"{i:012d}.jpg", "width": 640, "height": 480} for i in ids]
    inst, caps = [], []
    texts = [c for _, c in captions] or ["A dog on a bench."]
    for image_id in ids:
        for node in sorted(gt[image_id]):
            inst.append({"id": len(inst) + 1, "image_id": image_id, "category_id": cat_id[node],
                         "bbox": [0, 0, 10, 10], "area": 100, "iscrowd": 0})
        for _ in range(5):
            sentence = rng.choice(texts).split(". ")[0] + "."
            caps.append({"id": len(caps) + 1, "image_id": image_id, "caption": sentence})
    paths = (folder / "instances_synth.json", folder / "captions_synth.json")
    json.dump({"images": images, "annotations": inst, "categories": cats}, open(paths[0], "w"))
    json.dump({"images": images, "annotations": caps}, open(paths[1], "w"))
    return paths


def fresh_caches() -> None:
    """Forget everything our side has memoised (singulars, Punkt decisions, captions)."""
    from halluscope.metrics.chair_text import word_tokenizer
    cs.pattern_singular.cache_clear()
    parser_for("original")._cache.clear()
    parser_for("original").clear_memo()
    word_tokenizer()._splitter._memo.clear()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=6000,
                    help="captions to score (default 6000: all OPERA caption files)")
    ap.add_argument("--coco-images", type=int, default=5000,
                    help="images in the synthetic COCO files for the start-up test")
    ap.add_argument("--data", default=None, help="shared data folder (default: ../shared/data)")
    args = ap.parse_args()

    t = time.process_time()
    import nltk  # noqa: F401  - measured apart: both sides need it
    t_nltk = time.process_time() - t
    data = shared_data(args.data)
    captions, gt = load_inputs(data, args.n)
    n = len(captions)
    print(f"captions: {n} ({'OPERA caption files' if data else 'synthetic'}); CPU seconds "
          f"(time.process_time); importing NLTK took {t_nltk:.2f} s (both sides need it)")

    naive = NaiveChair()
    t = time.process_time()
    base_overall, base_found = naive.score(captions, gt)
    t_base = time.process_time() - t

    parser = parser_for("original")
    if data is not None:   # our side reads the ground truth the way a user does
        from halluscope.metrics.chair_gt import load_ground_truth
        ours_gt = load_ground_truth(parser, data / "chair" / "gt_objects_coco2014.json")
    else:
        ours_gt = gt
    parser.parse("Build the tokenizer.")
    fresh_caches()
    t = time.process_time()
    out = chair_scores(captions, ours_gt, "original")
    t_cold = time.process_time() - t
    # warm: words and Punkt decisions known, every caption parsed anew (its memo emptied)
    t_warm = min(_timed(lambda: (parser.clear_memo(), chair_scores(captions, ours_gt,
                                                                   "original"))) for _ in range(3))
    # every caption seen shortly before: what a repeat costs (the parser's memo of recent
    # captions, about 2,000 detailed descriptions: blocks of 1,000 scored twice, the second
    # time timed)
    t_seen = 0.0
    for k in range(0, n, 1000):
        block = captions[k:k + 1000]
        parser.clear_memo()
        chair_scores(block, ours_gt, "original")
        t_seen += _timed(lambda: chair_scores(block, ours_gt, "original"))
    from halluscope.metrics.chair import ChairMetric
    from halluscope.records import Record

    def stream():
        parser.clear_memo()
        metric = ChairMetric(ours_gt, "original", n_boot=1000)
        for k, (image_id, caption) in enumerate(captions):
            metric.update(Record(id=str(k), task="caption", image_id=image_id,
                                 response=caption))
        return metric.compute()
    t_metric = min(_timed(stream) for _ in range(2))

    same = sum(c["words"] == f for c, f in zip(out["captions"], base_found))
    print(f"same mentions as the baseline: {same}/{n}; CHAIRs "
          f"{out['overall']['chair_s']:.4f} vs {base_overall['chair_s']:.4f}, CHAIRi "
          f"{out['overall']['chair_i']:.4f} vs {base_overall['chair_i']:.4f}")
    print(f"{'':46}{'captions/s':>11}{'ratio':>8}")
    rows = [("baseline (the original loop)", t_base),
            ("chair_scores, caches empty at start", t_cold),
            ("chair_scores, caches warm (best of 3)", t_warm),
            ("chair_scores, each caption a repeat (memo)", t_seen),
            ("ChairMetric stream: spans, 1000-rep bootstrap", t_metric)]
    for label, secs in rows:
        print(f"{label:46}{n / secs:11.0f}{t_base / secs:7.1f}x")

    # start-up
    from halluscope.metrics.chair_gt import load_coco_ground_truth, load_gt_objects
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        paths = synthetic_coco(tmp, gt, captions, args.coco_images)
        cache = tmp / "cache"
        t = time.process_time()
        built = load_coco_ground_truth(paths, parser, cache=cache)
        t_build = time.process_time() - t
        t = time.process_time()
        cached = load_coco_ground_truth(paths, parser, cache=cache)
        t_cached = time.process_time() - t
        assert dict(built) == dict(cached)
    print(f"ground truth from COCO files ({args.coco_images} images, "
          f"{5 * args.coco_images} captions): cold start {t_build:.2f} s, from the cache "
          f"{t_cached:.3f} s ({t_build / t_cached:.0f}x faster)")
    if data is not None:
        words = {**parser.vocabulary, **{n_: n_ for n_ in parser.nodes}}
        t = time.process_time()
        gtf = load_gt_objects(data / "chair" / "gt_objects_coco2014.json", words)
        print(f"ground-truth objects file ({len(gtf)} images): {time.process_time() - t:.2f} s")


def _timed(fn) -> float:
    t = time.process_time()
    fn()
    return time.process_time() - t


if __name__ == "__main__":
    main()
