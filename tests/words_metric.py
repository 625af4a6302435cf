"""A toy metric shared by the assertion, gate and plugin tests: words of a tiny vocabulary that a
record's ``truth`` lacks. ``words.rate`` over :data:`RECORDS` is 4 hallucinated / 8 mentions."""

from __future__ import annotations

import re

from halluscope.metrics.base import ItemScore, Metric
from halluscope.metrics.stats import Statistic, rate, ratio

VOCAB = {"dog", "cat", "car", "frisbee", "person", "tree", "bird"}

RECORDS = [
    {"id": "a", "image": "1.jpg", "response": "A dog and a person.", "truth": ["dog", "person"]},
    {"id": "b", "image": "2.jpg", "response": "A cat on a car.", "truth": ["cat"]},
    {"id": "c", "image": "3.jpg", "response": "A dog, a dog and a frisbee.", "truth": []},
    {"id": "d", "image": "4.jpg", "response": "A tree.", "truth": ["tree"]},
]


class WordHallucination(Metric):
    """Words of :data:`VOCAB` that the record's ``truth`` lacks; ``rate`` has no declared range."""

    name = "words"
    columns = ("hallucinated", "mentions", "one")
    min_units = 1          # hand-worked cases of a few items still get (wide) intervals
    statistics = {
        "rate": Statistic(lambda s: ratio(s["hallucinated"], s["mentions"])),
        "recall": Statistic(lambda s: ratio(s["mentions"] - s["hallucinated"], s["mentions"]),
                            higher_is_better=True),
        "items": Statistic(lambda s: s["one"], count=True),
    }

    def score(self, record):
        words = [w for w in re.findall(r"[a-z]+", record.response.lower()) if w in VOCAB]
        truth = set(record.metadata.get("truth", ()))
        halluc = [w for w in words if w not in truth]
        return ItemScore(payload={"hallucinated": halluc, "mentioned": words},
                         row=(len(halluc), len(words), 1.0))


class Words(WordHallucination):
    """:class:`WordHallucination` with ``rate`` declared a rate (range [0, 1]) and no recall."""

    statistics = {
        "rate": rate(lambda s: ratio(s["hallucinated"], s["mentions"])),
        "items": Statistic(lambda s: s["one"], count=True),
    }
