"""Claims: a response split into atomic statements about the image.

``split_claims(text)`` is the rule-based splitter (spaCy, offline); ``JudgeDecomposer`` asks a
model to decompose instead. Heavy modules load on first use.
"""

from __future__ import annotations

from typing import Any

from halluscope.claims.model import CLAIM_KINDS, Claim

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


def __getattr__(name: str) -> Any:
    try:
        module, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'halluscope.claims' has no attribute {name!r}") from None
    import importlib
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value


__all__ = ["CLAIM_KINDS", "Claim", *_LAZY]
