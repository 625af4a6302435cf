"""A metric in one file: ``WordCount`` (name ``wordcount``), the mean number of words per response.

Run it on the demo data without installing anything::

    halluscope audit data/ --metric examples/custom_metric.py:WordCount
    halluscope audit data/ --metric examples/custom_metric.py:WordCount --option wordcount_min_words=3

or from Python: ``halluscope.audit("data/", metrics="examples/custom_metric.py:WordCount")``.
To make ``--metric wordcount`` work, register the class in your package's ``pyproject.toml``::

    [project.entry-points."halluscope.metrics"]
    wordcount = "my_package.custom_metric:WordCount"

Everything else (the interval, groups, merging shards, workers, the console table,
``halluscope metrics``, gates such as ``--fail-above wordcount.mean_words=80``) comes from the
declaration below.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, ClassVar

from halluscope.metrics.base import ItemScore, Metric, MetricOption
from halluscope.metrics.stats import Statistic, rate, ratio
from halluscope.records import Record

_WORD = re.compile(r"\w+(?:['’-]\w+)*")


def count_words(text: str) -> int:
    """Words in ``text``: runs of letters and digits, with inner apostrophes and hyphens
    (``don't``, ``black-and-white`` are one word each)."""
    return len(_WORD.findall(text))


def wordcount_scores(responses: Iterable[str], min_words: int = 0) -> dict[str, float]:
    """The pure-function twin: ``mean_words`` and ``short_rate`` (share of responses with fewer
    than ``min_words`` words) over plain strings; NaN for no responses."""
    counts = [count_words(r) for r in responses]
    n = len(counts)
    return {"mean_words": sum(counts) / n if n else float("nan"),
            "short_rate": sum(c < min_words for c in counts) / n if n else float("nan"),
            "responses": n}


class WordCount(Metric):
    """Mean words per response, with a bootstrap interval; and the share of short responses."""

    name: ClassVar[str] = "wordcount"
    columns: ClassVar[tuple[str, ...]] = ("words", "short", "responses")
    statistics: ClassVar[dict[str, Statistic]] = {
        # a length has no better direction; its interval comes from the column sums
        "mean_words": Statistic(lambda s: ratio(s["words"], s["responses"]), direction=False,
                                units="responses"),
        "short_rate": rate(lambda s: ratio(s["short"], s["responses"]), units="responses"),
        "responses": Statistic(lambda s: s["responses"], count=True),
    }
    options: ClassVar[tuple[MetricOption, ...]] = (
        MetricOption("wordcount_min_words", int, 0, "responses with fewer words count as short"),
    )
    headline: ClassVar[tuple[str, ...]] = ("mean_words",)
    meanings: ClassVar[dict[str, str]] = {   # shown beside each statistic in report.html
        "mean_words": "mean number of words per response",
        "short_rate": "share of responses shorter than wordcount_min_words words",
        "responses": "responses scored"}

    def __init__(self, *, min_words: int = 0, **kw: Any):
        self.min_words = min_words
        super().__init__(**kw)

    @classmethod
    def from_config(cls, config: Any, **kw: Any) -> "WordCount":
        kw.setdefault("min_words", cls.option(config, "wordcount_min_words"))
        return super().from_config(config, **kw)

    def applies_to(self, record: Record) -> bool:
        return record.response is not None      # a record without an answer is never scored

    def skip_reason(self, record: Record) -> str:
        return "no model answer"

    def score(self, record: Record) -> ItemScore:
        words = count_words(record.response or "")
        short = words < self.min_words
        return ItemScore(payload={"words": words, "short": short},
                         row=(float(words), float(short), 1.0))

    def describe(self) -> dict[str, Any]:
        return {"min_words": self.min_words}

    @classmethod
    def explain_item(cls, item: dict, statistic: str, group: str | None):
        """Short responses count against ``short_rate``; nothing else is held against one."""
        payload = item.get(cls.name)
        if statistic != "short_rate" or not isinstance(payload, dict) or not payload.get("short"):
            return None
        return 1.0, [f"only {payload['words']} words"]
