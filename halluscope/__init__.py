"""halluscope: audit what multimodal language models say about images and documents.

>>> import halluscope
>>> result = halluscope.audit("outputs.jsonl", metrics="chair", gt_objects="gt.json")
>>> result.summary                     # {"chair.chair_s": ..., "chair.chair_i": ..., ...}
>>> result.to_pandas()                 # one row per item

Heavy modules (spaCy, torch, detectors) load only when a feature that needs them is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from halluscope._lazy import lazy_exports

from halluscope._version import __version__

_LAZY = {
    "audit": ("halluscope.api", "audit"),
    "AuditResult": ("halluscope.result", "AuditResult"),
    "NotebookResult": ("halluscope.api", "NotebookResult"),
    "AuditConfig": ("halluscope.config", "AuditConfig"),
    "Record": ("halluscope.records", "Record"),
    "iter_records": ("halluscope.records", "iter_records"),
    "read_records": ("halluscope.records", "read_records"),
    "Claim": ("halluscope.types", "Claim"),
    "Verdict": ("halluscope.types", "Verdict"),
    "Evidence": ("halluscope.types", "Evidence"),
    "MetricResult": ("halluscope.metrics.stats", "MetricResult"),
    "split_claims": ("halluscope.claims.splitter", "split_claims"),
    "split_claims_batch": ("halluscope.claims.splitter", "split_claims_batch"),
    "check_claim": ("halluscope.checks", "check_claim"),
    "query": ("halluscope.adapters.query", "query"),
    "compare": ("halluscope.comparison", "compare"),
}

if TYPE_CHECKING:  # pragma: no cover
    from halluscope.api import NotebookResult, audit  # noqa: F401
    from halluscope.result import AuditResult  # noqa: F401


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())


__all__ = ["__version__", *_LAZY]
