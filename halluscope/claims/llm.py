"""LLM decomposition: a model (through a judge) splits a response into claims.

A :class:`Decomposer` has ``name`` and ``decompose(text) -> list[Claim]``. Two ship here:

* :class:`RuleDecomposer`, the rule-based splitter behind the same interface;
* :class:`JudgeDecomposer`, wrapping either a judge that has its own ``decompose(text)`` (used
  as is) or a raw model with ``async generate(request)`` (halluscope's ``ModelAPI``): it sends
  :data:`PROMPT` (our own, in FaithScore's style: label descriptive vs analytic, then one atomic
  fact a line with its kind) and parses the answer with :func:`parse_decomposition`.

Lines the parser cannot read are skipped and counted (``last_skipped``), never guessed.
Character spans are found by searching the claim's words in the response; a claim whose words
do not occur there is the model's no more (a judge can invent one) and is skipped and counted
as well: it would be scored against the model.
"""

from __future__ import annotations

import asyncio
import json
import logging

from typing import Any, Protocol, runtime_checkable

from halluscope.judges.judge import claim_words_said
from halluscope.types import Claim

log = logging.getLogger(__name__)

PROMPT = """You split a description of an image into atomic facts.
First decide, for each part of the description, whether it DESCRIBES what is visible or gives
ANALYSIS (guesses, interpretation, mood, purpose, likely causes).
Then list every atomic fact, one per line, as JSON objects with these keys:
  "kind": "existence" | "count" | "attribute" | "relation",
  "subject": the object noun, singular (e.g. "dog", "teddy bear"),
  "value": the attribute word, or the number for a count (omit otherwise),
  "relation": the predicate for a relation (e.g. "on", "next to", "holding"),
  "object": the second object of a relation,
  "analytic": true if the fact comes from an ANALYSIS part, else false.
Objects that the text says are absent ("there is no car") are not facts.

Example description: A brown dog sleeps on a sofa next to two cats, probably after a long walk.
{"kind": "existence", "subject": "dog", "analytic": false}
{"kind": "attribute", "subject": "dog", "value": "brown", "analytic": false}
{"kind": "attribute", "subject": "dog", "value": "sleeping", "analytic": false}
{"kind": "existence", "subject": "sofa", "analytic": false}
{"kind": "relation", "subject": "dog", "relation": "on", "object": "sofa", "analytic": false}
{"kind": "existence", "subject": "cat", "analytic": false}
{"kind": "count", "subject": "cat", "value": 2, "analytic": false}
{"kind": "relation", "subject": "dog", "relation": "next to", "object": "cat", "analytic": false}
{"kind": "existence", "subject": "walk", "analytic": true}

Description: {text}
Facts:"""

_KINDS = ("existence", "count", "attribute", "relation")


@runtime_checkable
class Decomposer(Protocol):
    """Anything that splits a response into claims."""

    name: str

    def decompose(self, text: str) -> list[Claim]:
        ...


class RuleDecomposer:
    """The rule-based splitter as a :class:`Decomposer`."""

    name = "rules"

    def __init__(self, vocabulary: Any = None):
        self.vocabulary = vocabulary

    def decompose(self, text: str) -> list[Claim]:
        from halluscope.claims.splitter import split_claims
        return split_claims(text, self.vocabulary)


def _span(text: str, *words: str | None) -> tuple[int, int]:
    low = text.lower()
    found = []
    for w in words:
        if not w:
            continue
        for cand in (str(w).lower(), str(w).lower().rstrip("s")):
            i = low.find(cand)
            if i >= 0:
                found.append((i, i + len(cand)))
                break
    if not found:
        return (0, 0)
    return (min(a for a, _ in found), max(b for _, b in found))


def parse_decomposition(answer: str, text: str, vocabulary: Any = None
                        ) -> tuple[list[Claim], int]:
    """Claims from a model's answer (one JSON object a line); returns ``(claims, skipped)``."""
    vocab = None
    if vocabulary is not False:
        from halluscope.claims.vocab import load_vocabulary
        vocab = load_vocabulary(vocabulary)
    claims: list[Claim] = []
    skipped = 0
    for line in answer.splitlines():
        line = line.strip().rstrip(",")
        if not line.startswith("{"):
            continue
        try:
            obj = json.loads(line)
            kind = str(obj["kind"]).strip().lower()
            subject = str(obj["subject"]).strip().lower()
        except (json.JSONDecodeError, KeyError, TypeError):
            skipped += 1
            continue
        if kind not in _KINDS or not subject:
            skipped += 1
            continue
        value = obj.get("value")
        if kind == "count":
            try:
                value = int(value)
            except (TypeError, ValueError):
                skipped += 1
                continue
        relation = obj.get("relation") if kind == "relation" else None
        other = obj.get("object") if kind == "relation" else None
        if kind == "relation" and (not relation or not other):
            skipped += 1
            continue
        span = _span(text, subject, str(value) if kind == "attribute" else None, other)
        if text and (span == (0, 0) or not claim_words_said(text, kind, value, other)):
            skipped += 1        # not in the response (a value, an object the model never
            continue            # said): not the model's claim
        claims.append(Claim(
            kind=kind, subject=subject, value=value, relation=relation,
            object=str(other).lower() if other else None,
            span=span,
            analytic=bool(obj.get("analytic", False)),
            node=vocab.map(subject) if vocab else None,
            object_node=vocab.map(str(other)) if vocab and other else None))
    return claims, skipped


class JudgeDecomposer:
    """LLM decomposition through a judge, or through a raw model with ``async generate``."""

    name = "judge"

    def __init__(self, target: Any, *, vocabulary: Any = None, prompt: str = PROMPT,
                 max_tokens: int = 1024):
        self.target = target
        self.vocabulary = vocabulary
        self.prompt = prompt
        self.max_tokens = max_tokens
        self.last_skipped = 0

    def request(self, text: str):
        from halluscope.adapters.types import Decoding, Message, Request
        return Request(messages=(Message.user(self.prompt.replace("{text}", text)),),
                       decoding=Decoding(temperature=0.0, max_tokens=self.max_tokens))

    def with_nodes(self, claims: list[Claim]) -> list[Claim]:
        """``claims`` with the vocabulary nodes of subject and object filled in where missing
        (a judge's own decomposition names nouns, not vocabulary entries)."""
        if self.vocabulary is False or not claims:
            return claims
        from dataclasses import replace
        from halluscope.claims.vocab import load_vocabulary
        vocab = load_vocabulary(self.vocabulary)
        return [replace(c, node=c.node or vocab.map(c.subject),
                        object_node=c.object_node or (vocab.map(c.object) if c.object else None))
                for c in claims]

    async def adecompose(self, text: str) -> list[Claim]:
        own = getattr(self.target, "decompose", None)
        if own is not None:
            out = own(text)
            return self.with_nodes(await out if asyncio.iscoroutine(out) else out)
        response = await self.target.generate(self.request(text))
        from halluscope._json import without_surrogates
        answer = without_surrogates(str(getattr(response, "text", response)))
        claims, self.last_skipped = parse_decomposition(answer, text, self.vocabulary)
        if self.last_skipped:
            log.warning("decomposition: %d lines skipped (unreadable, or a claim whose words "
                        "are not in the response)", self.last_skipped)
        return claims

    def decompose(self, text: str) -> list[Claim]:
        own_sync = getattr(self.target, "decompose_sync", None)
        if own_sync is not None:  # a Judge: its own event loop keeps its connections valid
            return self.with_nodes(own_sync(text))
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self.adecompose(text))
        raise RuntimeError("JudgeDecomposer.decompose called inside an event loop; "
                           "await adecompose(text) instead")


def decomposer_from_config(config, judge: Any = None) -> Decomposer:
    """The decomposer ``claim_splitter="judge"`` asks for: the configured judge's (``judge``
    when the caller already built it from ``config``, so that one judge serves both)."""
    from halluscope.errors import ConfigError
    if not config.judge and judge is None:
        raise ConfigError("claim_splitter 'judge' needs a judge: pass --judge <spec>")
    if judge is None:
        from halluscope.judges.loading import judge_from_config
        judge = judge_from_config(config)
    return JudgeDecomposer(judge, vocabulary=(config.options or {}).get("claims_vocabulary"))


