"""Model adapters: the ModelAPI protocol, providers, cache, limiter and the query run loop.

>>> from halluscope.adapters.query import query      # also re-exported as halluscope.query
>>> records = query("prompts.jsonl", "openai/gpt-4o-2024-08-06", out="outputs.jsonl")

Submodules load lazily, so that importing this package pulls in no SDK.
"""

from __future__ import annotations

from halluscope._lazy import lazy_exports

_LAZY = {
    "aquery": ("halluscope.adapters.query", "aquery"),
    "get_model": ("halluscope.adapters.registry", "get_model"),
    "parse_model": ("halluscope.adapters.registry", "parse_model"),
    "available_providers": ("halluscope.adapters.registry", "available_providers"),
    "ModelClient": ("halluscope.adapters.client", "ModelClient"),
    "RetryPolicy": ("halluscope.adapters.client", "RetryPolicy"),
    "ResponseCache": ("halluscope.adapters.cache", "ResponseCache"),
    "ModelAPI": ("halluscope.adapters.types", "ModelAPI"),
    "Request": ("halluscope.adapters.types", "Request"),
    "Response": ("halluscope.adapters.types", "Response"),
    "Message": ("halluscope.adapters.types", "Message"),
    "Decoding": ("halluscope.adapters.types", "Decoding"),
    "MockModel": ("halluscope.adapters.mock", "MockModel"),
}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())


__all__ = list(_LAZY)
