"""Object HalBench's object extraction (:mod:`halluscope.metrics.objhal`): by the pinned judge,
as the original scorer does (:class:`JudgeExtractor`), or by halluscope's own rules offline
(:func:`rule_extractor`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from halluscope.errors import ConfigError, RecordError

USE = "objhal_extract"
FAIL_LIMIT = 100
_NOUN_TAGS = frozenset({"NNP", "NNPS", "NN", "NNS"})


@dataclass
class JudgeExtractor:
    """Object extraction by a pinned judge whose spec defines the ``objhal_extract`` prompt."""

    judge: Any
    fail_limit: int = FAIL_LIMIT

    def __post_init__(self):
        if USE not in self.judge.spec.prompts:
            raise ConfigError(f"judge {self.judge.spec.name!r} has no prompts.{USE}; expected a "
                              f"spec such as objhal-gpt-3.5-turbo-0613")

    def prompt(self, question: str, answer: str) -> str:
        """The extraction prompt as the original builds it: ``{question}`` is replaced first,
        then every ``{answer}`` in the result, so a question holding the text ``{answer}`` gets
        the answer there too (an answer holding ``{question}`` keeps it)."""
        return self.judge.spec.prompt(USE).render(
            question=question.replace("{answer}", answer), answer=answer)

    def __call__(self, question: str, answer: str) -> tuple[Any, list[str]]:
        """``(parsed JSON, raw completions)``; raises :class:`RecordError` after ``fail_limit``
        unparsable answers (the original stops the whole run there), or at once when a call
        got no reply after the adapter's own retries (an outage: asked 100 times more, each
        with its retries, one answer took half an hour and counted 100 calls)."""
        prompt = self.prompt(question, answer)
        raws: list[str] = []
        for attempt in range(self.fail_limit):
            got = self.judge._run(self.judge.ask_prompt(USE, prompt, replicate=attempt))
            raws.append(got.raw if got.raw is not None else f"<call failed: {got.error}>")
            if got.parsed:
                return got.label, raws
            if got.raw is None and got.cut is None:    # no reply, after the adapter's retries
                raise RecordError(got.error if got.refused else      # "the judge refused: ..."
                                  f"the judge could not be asked: {got.error}",
                                  field="response")
        raise RecordError(f"expected a JSON object list from the judge within "
                          f"{self.fail_limit} attempts, got {raws[-1]!r:.80}", field="response")

    def describe(self) -> dict[str, Any]:
        """The judge's entry, with ``judge_calls``: the extraction calls of the whole audit,
        read from the judge's counters, which the parent adds up from every worker, Ray actor
        and journaled line. (A count kept on this object counted only the calls made in the
        process that describes it: 0 with ``--workers`` or Ray, the resumed part alone after
        a ``--resume``.)"""
        from halluscope.judges.fallback import judge_info
        info = judge_info(self.judge, USE)
        return {**info, "judge_calls": info["judge_reliability"]["calls"]}


def rule_extractor(nlp) -> Callable[[str, str], tuple[list[str], list[str]]]:
    """halluscope's offline extractor: the answer's spaCy noun chunks (their compound nouns
    and head), so that the judge-free numbers are halluscope's own. A chunk whose noun the
    answer denies ("there is no cat", "neither a dog nor a person is visible": the claim
    splitter's rules, :mod:`halluscope.claims.negation`) is left out, as the benchmark's judge
    prompt asks only for the objects the answer says are shown."""
    from halluscope.claims.negation import denied

    def extract(question: str, answer: str):
        doc = nlp(answer)
        out = []
        for chunk in doc.noun_chunks:
            if denied(chunk.root):
                continue
            toks = [t.text for t in chunk if t.tag_ in _NOUN_TAGS]
            if toks:
                out.append(" ".join(toks))
        return out, []
    return extract


__all__ = ["FAIL_LIMIT", "USE", "JudgeExtractor", "rule_extractor"]
