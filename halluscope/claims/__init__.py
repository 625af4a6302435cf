"""Claims: a response split into atomic statements about the image.

``split_claims(text)`` is the rule-based splitter (spaCy, offline); ``JudgeDecomposer`` asks a
model to decompose instead. :mod:`halluscope.claims.citations` parses the boxes, region ids and
pages a response cites. Heavy modules load on first use.
"""

from __future__ import annotations

from halluscope._lazy import lazy_exports

from halluscope.types import CLAIM_KINDS, Claim

_LAZY = {
    "split_claims": ("halluscope.claims.splitter", "split_claims"),
    "split_claims_batch": ("halluscope.claims.splitter", "split_claims_batch"),
    "Vocabulary": ("halluscope.claims.vocab", "Vocabulary"),
    "load_vocabulary": ("halluscope.claims.vocab", "load_vocabulary"),
    "Decomposer": ("halluscope.claims.llm", "Decomposer"),
    "RuleDecomposer": ("halluscope.claims.llm", "RuleDecomposer"),
    "JudgeDecomposer": ("halluscope.claims.llm", "JudgeDecomposer"),
    "ensure_wordnet": ("halluscope.claims.wordnet", "ensure_wordnet"),
}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())


__all__ = ["CLAIM_KINDS", "Claim", *_LAZY]
