"""Judges: a model adapter + a pinned spec (judges/*.toml) + prompt templates + answer parsers.

>>> from halluscope.judges import load_judge
>>> judge = load_judge("gpt-4o-2024-08-06")          # or Judge.load(...), or a path to a spec
"""

from __future__ import annotations

from halluscope._lazy import lazy_exports

_LAZY = {
    "Judge": ("halluscope.judges.judge", "Judge"),
    "JudgeAnswer": ("halluscope.judges.judge", "JudgeAnswer"),
    "JudgeError": ("halluscope.judges.judge", "JudgeError"),
    "JudgeParseError": ("halluscope.judges.judge", "JudgeParseError"),
    "PinMismatch": ("halluscope.judges.judge", "PinMismatch"),
    "JudgeSpec": ("halluscope.judges.spec", "JudgeSpec"),
    "load_spec": ("halluscope.judges.spec", "load_spec"),
    "load_judge": ("halluscope.judges.loading", "load_judge"),
    "judge_from_config": ("halluscope.judges.loading", "judge_from_config"),
    "find_specs": ("halluscope.judges.spec", "find_specs"),
    "human_agreement": ("halluscope.judges.reliability", "human_agreement"),
    "repeat_agreement": ("halluscope.judges.reliability", "repeat_agreement"),
    "load_labels": ("halluscope.judges.reliability", "load_labels"),
}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())


__all__ = list(_LAZY)
