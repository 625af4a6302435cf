"""The COCO-80 classes and the everyday words for them.

:data:`COCO91` is the TF object-detection COCO label map (91 ids, 80 used), :data:`COCO80` its
classes in id order; :func:`coco_node` maps a noun (``"kitten"``, ``"sofa"``, ``"people"``) to the
COCO class that covers it, through :data:`SYNONYMS` and a plain English :func:`singular`. The COCO
detector labels its detections with these classes, and cited boxes and region ids compare their
labels with them (:func:`halluscope.claims.citations.label_key`).
"""

from __future__ import annotations

import re

#: The TF object-detection COCO label map (91 ids, 80 used).
COCO91: dict[int, str] = {
    1: "person", 2: "bicycle", 3: "car", 4: "motorcycle", 5: "airplane", 6: "bus", 7: "train",
    8: "truck", 9: "boat", 10: "traffic light", 11: "fire hydrant", 13: "stop sign",
    14: "parking meter", 15: "bench", 16: "bird", 17: "cat", 18: "dog", 19: "horse", 20: "sheep",
    21: "cow", 22: "elephant", 23: "bear", 24: "zebra", 25: "giraffe", 27: "backpack",
    28: "umbrella", 31: "handbag", 32: "tie", 33: "suitcase", 34: "frisbee", 35: "skis",
    36: "snowboard", 37: "sports ball", 38: "kite", 39: "baseball bat", 40: "baseball glove",
    41: "skateboard", 42: "surfboard", 43: "tennis racket", 44: "bottle", 46: "wine glass",
    47: "cup", 48: "fork", 49: "knife", 50: "spoon", 51: "bowl", 52: "banana", 53: "apple",
    54: "sandwich", 55: "orange", 56: "broccoli", 57: "carrot", 58: "hot dog", 59: "pizza",
    60: "donut", 61: "cake", 62: "chair", 63: "couch", 64: "potted plant", 65: "bed",
    67: "dining table", 70: "toilet", 72: "tv", 73: "laptop", 74: "mouse", 75: "remote",
    76: "keyboard", 77: "cell phone", 78: "microwave", 79: "oven", 80: "toaster", 81: "sink",
    82: "refrigerator", 84: "book", 85: "clock", 86: "vase", 87: "scissors", 88: "teddy bear",
    89: "hair drier", 90: "toothbrush",
}
COCO80: tuple[str, ...] = tuple(COCO91[k] for k in sorted(COCO91))

#: Everyday words for COCO classes (singular, lower case). Words naming a class exactly are
#: not listed. Kept short on purpose: a word that could name two things is left out.
SYNONYMS: dict[str, str] = {
    # person
    "man": "person", "woman": "person", "people": "person", "child": "person",
    "kid": "person", "boy": "person", "girl": "person", "baby": "person", "lady": "person",
    "guy": "person", "astronaut": "person", "player": "person", "rider": "person",
    "skier": "person", "surfer": "person", "pedestrian": "person", "adult": "person",
    "men": "person", "women": "person", "children": "person", "human": "person",
    # animals
    "kitten": "cat", "kitty": "cat", "tabby": "cat", "puppy": "dog", "pup": "dog",
    "hound": "dog", "pony": "horse", "lamb": "sheep", "calf": "cow", "cattle": "cow",
    "bull": "cow", "ox": "cow", "teddy": "teddy bear", "teddybear": "teddy bear",
    # vehicles
    "bike": "bicycle", "motorbike": "motorcycle", "scooter": "motorcycle",
    "plane": "airplane", "jet": "airplane", "aeroplane": "airplane", "aircraft": "airplane",
    "automobile": "car", "taxi": "car", "suv": "car", "van": "car", "ship": "boat",
    "sailboat": "boat", "canoe": "boat", "kayak": "boat", "locomotive": "train",
    "pickup": "truck", "lorry": "truck",
    # household
    "sofa": "couch", "table": "dining table", "desk": "dining table",
    "television": "tv", "monitor": "tv", "screen": "tv", "mug": "cup", "teacup": "cup",
    "cellphone": "cell phone", "phone": "cell phone", "smartphone": "cell phone",
    "fridge": "refrigerator", "computer": "laptop", "notebook computer": "laptop",
    "plant": "potted plant", "houseplant": "potted plant", "flowerpot": "potted plant",
    "doughnut": "donut", "hotdog": "hot dog", "ball": "sports ball", "football": "sports ball",
    "soccer ball": "sports ball", "basketball": "sports ball", "baseball": "sports ball",
    "tennis ball": "sports ball", "racket": "tennis racket", "racquet": "tennis racket",
    "ski": "skis", "purse": "handbag", "luggage": "suitcase", "necktie": "tie",
    "hair dryer": "hair drier",
    "hairdryer": "hair drier", "remote control": "remote", "wineglass": "wine glass",
    "stool": "chair", "armchair": "chair", "toilet seat": "toilet",
}

_IRREGULAR = {"people": "person", "men": "man", "women": "woman", "children": "child",
              "mice": "mouse", "knives": "knife", "geese": "goose", "feet": "foot",
              "teeth": "tooth", "oxen": "ox", "cacti": "cactus", "skis": "skis",
              "scissors": "scissors", "glasses": "glass", "buses": "bus", "couches": "couch",
              "benches": "bench", "sandwiches": "sandwich", "boxes": "box", "dishes": "dish",
              "sheep": "sheep", "giraffes": "giraffe", "bottles": "bottle", "ties": "tie"}


def singular(word: str) -> str:
    """A plain English singular of the last word of ``word`` (lower case)."""
    word = " ".join(word.lower().split())
    if not word:
        return word
    head, _, last = word.rpartition(" ")
    if last in _IRREGULAR:
        last = _IRREGULAR[last]
    elif last.endswith("ies") and len(last) > 4:
        last = last[:-3] + "y"
    elif last.endswith(("ches", "shes", "sses", "xes")):
        last = last[:-2]
    elif last.endswith("s") and not last.endswith(("ss", "us", "is")) and len(last) > 3:
        last = last[:-1]
    return f"{head} {last}" if head else last


def coco_node(phrase: str | None) -> str | None:
    """The COCO-80 class a noun phrase names (``"kittens"`` -> ``cat``), or ``None``."""
    if not phrase:
        return None
    p = re.sub(r"[^a-z ]+", " ", phrase.lower())
    p = " ".join(w for w in p.split() if w not in ("a", "an", "the"))
    for cand in (p, singular(p)):
        if cand in COCO80:
            return cand
        if cand in SYNONYMS:
            return SYNONYMS[cand]
    words = singular(p).split()
    for n in (2, 1):      # the head noun: the last one or two words
        tail = " ".join(words[-n:])
        if len(words) >= n:
            if tail in COCO80:
                return tail
            if tail in SYNONYMS:
                return SYNONYMS[tail]
    return None
