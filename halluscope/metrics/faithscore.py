"""FaithScore (Jing et al., 2023): the share of a response's descriptive atomic claims that hold.

Per response: ``supported / (supported + hallucinated)`` over its descriptive claims (analytic
claims, FaithScore's [A] sub-sentences, are not scored). Unverifiable claims are left out of
the denominator by default; ``options["faithscore_unverifiable"] = "unsupported"`` counts them
as not supported instead (as FaithScore's verifier, which answers every claim yes or no,
would). The sentence-level score of a response is the share of its descriptive sentences none of
whose decided claims is hallucinated. ``faithscore`` and ``faithscore_sentence`` are the means
over responses.

**Responses with no scored claim** (an empty response is one). The published code (bcdnlp/FAITHSCORE ``framework.py``)
counts such a response as 0 in FaithScore but as 1 in the sentence-level score. Choose with
``options["faithscore_empty"]``:

* ``"skip"`` (default): left out of both means (``n_empty`` says how many): a response none of
  whose claims could be decided has no evidence either way, and a 0 would be a number from
  nothing (a run where every claim is unverifiable decides nothing and fails);
* ``"zero"``: 0 in both means;
* ``"original"``: 0 for FaithScore and 1 for the sentence-level score, as published.

Pure-function twin: :func:`faithscore_scores`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

from halluscope.errors import ConfigError
from halluscope.metrics.base import ItemScore, MetricOption
from halluscope.metrics.claims import ClaimsMetric
from halluscope.metrics.stats import Statistic, rate, ratio
from halluscope.records import Record
from halluscope.types import Verdict, VerifiedRecord

EMPTY = ("zero", "skip", "original")


def response_scores(verdicts: Sequence[Verdict], *, unverifiable: str = "skip"
                    ) -> tuple[float | None, float | None, int]:
    """``(faithscore, sentence score, scored claims)`` of one response; ``None`` scores when
    it has no scored claim."""
    supported = decided = 0
    sentences: dict[str, bool] = {}
    for v in verdicts:
        if v.claim.analytic:
            continue
        if v.label == "unverifiable" and unverifiable == "skip":
            continue
        decided += 1
        ok = v.label == "supported"
        supported += ok
        key = v.claim.text if v.claim.text is not None else f"@{v.claim.span[0]}"
        sentences[key] = sentences.get(key, True) and ok
    if not decided:
        return None, None, 0
    return supported / decided, sum(sentences.values()) / len(sentences), decided


def _empty_values(empty: str) -> tuple[float | None, float | None]:
    if empty == "zero":
        return 0.0, 0.0
    if empty == "original":
        return 0.0, 1.0
    return None, None


def faithscore_scores(responses: Iterable[Sequence[Verdict]], *, empty: str = "skip",
                      unverifiable: str = "skip") -> dict[str, float]:
    """FaithScore over responses given as lists of verdicts (the functional twin)."""
    if empty not in EMPTY:
        raise ConfigError(f"expected faithscore_empty in {EMPTY}, got {empty!r}")
    fs, ss = [], []
    n_empty = 0
    for verdicts in responses:
        f, s, _ = response_scores(verdicts, unverifiable=unverifiable)
        if f is None:
            n_empty += 1
            f, s = _empty_values(empty)
        if f is not None:
            fs.append(f)
            ss.append(s)
    return {"faithscore": sum(fs) / len(fs) if fs else float("nan"),
            "faithscore_sentence": sum(ss) / len(ss) if ss else float("nan"),
            "n_empty": n_empty, "n": len(fs)}


class FaithScoreMetric(ClaimsMetric):
    """FaithScore and its sentence-level variant, over the same verdicts as ``claims``."""

    name: ClassVar[str] = "faithscore"
    headline: ClassVar[tuple[str, ...]] = ("faithscore",)
    options: ClassVar[tuple[MetricOption, ...]] = ClaimsMetric.options + (
        MetricOption("faithscore_empty", str, "skip", "a response with no scored claim is "
                     "skipped, counts as zero, or as the original does", choices=EMPTY),
        MetricOption("faithscore_unverifiable", str, "skip", "skip unverifiable claims or count "
                     "them as unsupported", choices=("skip", "unsupported")),
    )
    columns: ClassVar[tuple[str, ...]] = ("fs_sum", "fs_n", "sent_sum", "sent_n", "empty",
                                          "scored_claims")
    meanings: ClassVar[dict[str, str]] = {      # its own, not the claims metric's it extends
        "faithscore": "mean over responses of the share of their decided descriptive claims "
                      "that are supported",
        "faithscore_sentence": "mean over responses of the share of their descriptive "
                               "sentences with no hallucinated claim",
        "n_empty": "responses with no scored claim (faithscore_empty says how they count)",
        "n_scored_claims": "descriptive claims FaithScore counted (decided ones; unverifiable "
                           "ones too with faithscore_unverifiable=unsupported)"}
    statistics: ClassVar[dict[str, Statistic]] = {
        # n: the responses averaged, not every record: twelve records of which
        # one had claims gave n=12 and an "interval" from that one response. Both are means of
        # each response's share of its claims (or sentences), not shares of responses counted
        # 0 or 1: no proportions (a zero-width interval is none, ``ci_note`` saying why)
        "faithscore": rate(lambda s: ratio(s["fs_sum"], s["fs_n"]), higher_is_better=True,
                           units="fs_n"),
        "faithscore_sentence": rate(lambda s: ratio(s["sent_sum"], s["sent_n"]),
                                    higher_is_better=True, units="sent_n"),
        "n_empty": Statistic(lambda s: s["empty"], count=True),
        "n_scored_claims": Statistic(lambda s: s["scored_claims"], count=True),
    }

    @classmethod
    def fits(cls, sample, config) -> bool:
        """Never inferred (claims is): asked for by name."""
        return False

    empty_answer: ClassVar[str] = ("a response with no claim, scored as option "
                                   "faithscore_empty says (skip: left out of both means and "
                                   "counted in n_empty; zero; original)")

    def applies_to(self, record: Record) -> bool:
        """Captions and free-form answers about an image, an empty one included: it is a
        response with no claim, which ``faithscore_empty`` decides (``claims`` passes it by,
        having no claim to rate)."""
        return record.task in ("caption", "vqa") and record.response is not None

    def __init__(self, *, empty: str = "skip", unverifiable: str = "skip", **kw):
        if empty not in EMPTY:
            raise ConfigError(f"expected faithscore_empty in {EMPTY}, got {empty!r}")
        if unverifiable not in ("skip", "unsupported"):
            raise ConfigError(f"expected faithscore_unverifiable 'skip' or 'unsupported', got "
                              f"{unverifiable!r}")
        self.empty = empty
        self.unverifiable = unverifiable
        super().__init__(**kw)

    @classmethod
    def from_config(cls, config, **kw):
        opts = config.options or {}
        return super().from_config(config, empty=opts.get("faithscore_empty", "skip"),
                                   unverifiable=opts.get("faithscore_unverifiable", "skip"), **kw)

    def score_verified(self, verified: VerifiedRecord, *, emit_claims: bool = True
                       ) -> ItemScore:
        verdicts = verified.verdicts
        f, s, n = response_scores(verdicts, unverifiable=self.unverifiable)
        empty = f is None
        if empty:
            f, s = _empty_values(self.empty)
        row = (f or 0.0, 1.0 if f is not None else 0.0, s or 0.0, 1.0 if s is not None else 0.0,
               1.0 if empty else 0.0, float(n))
        payload: dict[str, Any] = {"faithscore": f, "faithscore_sentence": s,
                                   "scored_claims": n}
        if empty:
            payload["empty"] = True
        return ItemScore(payload=payload, row=row, top={"claims": verified.claims_list()} if emit_claims else {})

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "empty": self.empty, "unverifiable": self.unverifiable}
