"""Judges: a model adapter + a pinned spec (judges/*.toml) + prompt templates + answer parsers.

>>> from halluscope.judges import Judge
>>> judge = Judge.load("gpt-4o-2024-08-06")
"""

from __future__ import annotations

from typing import Any

_LAZY = {
    "Judge": ("halluscope.judges.judge", "Judge"),
    "JudgeAnswer": ("halluscope.judges.judge", "JudgeAnswer"),
    "JudgeError": ("halluscope.judges.judge", "JudgeError"),
    "JudgeParseError": ("halluscope.judges.judge", "JudgeParseError"),
    "PinMismatch": ("halluscope.judges.judge", "PinMismatch"),
    "JudgeSpec": ("halluscope.judges.spec", "JudgeSpec"),
    "load_spec": ("halluscope.judges.spec", "load_spec"),
    "find_specs": ("halluscope.judges.spec", "find_specs"),
    "human_agreement": ("halluscope.judges.reliability", "human_agreement"),
    "repeat_agreement": ("halluscope.judges.reliability", "repeat_agreement"),
    "load_labels": ("halluscope.judges.reliability", "load_labels"),
}


def __getattr__(name: str) -> Any:
    try:
        module, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'halluscope.judges' has no attribute {name!r}") from None
    import importlib
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value


__all__ = list(_LAZY)
