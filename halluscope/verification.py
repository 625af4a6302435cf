"""Verification: the stage between records and metrics.

A :class:`Verifier` turns one record into a :class:`VerifiedRecord`: it splits the response
into claims (rules, or a judge with ``claim_splitter="judge"``), gathers facts about the image
from the configured providers (annotations, detector), checks every claim against them and puts
the descriptive claims no evidence decides to a model judge. Metrics that declare
``needs_verification`` are handed the verified record (``score_verified``) instead of doing this
themselves; the engines (:func:`halluscope.engines.score_outcomes`) verify each record once per
distinct verifier, wherever scoring runs, so ``claims`` and ``faithscore`` share one verification
and metrics that need none (CHAIR, POPE) do not pay for it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from halluscope.checks import check_claim
from halluscope.checks.model import Verdict
from halluscope.errors import CacheMiss, ConfigError, HalluscopeError, RecordError
from halluscope.judges.fallback import is_model_judge, judge_claims
from halluscope.records import Record

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VerifiedRecord:
    """A record with every claim of its response and that claim's verdict."""

    record: Record
    verdicts: tuple[Verdict, ...]

    @property
    def claims(self) -> tuple[Any, ...]:
        """The claims, in response order (each verdict's claim)."""
        return tuple(v.claim for v in self.verdicts)

    def claims_list(self) -> list[dict[str, Any]]:
        """The ``"claims"`` list an item of ``items.jsonl`` holds."""
        return [v.to_dict() for v in self.verdicts]


@dataclass(frozen=True, eq=False)
class Verifier:
    """What a record is verified with: evidence providers, an optional judge (a model judge,
    or a check hook), an optional judge-backed claim splitter and the splitter's vocabulary."""

    providers: tuple[Any, ...] = ()
    judge: Any = None
    decomposer: Any = None
    vocabulary: Any = None
    include_analytic: bool = False
    config_key: str = ""

    @property
    def key(self) -> tuple:
        """Verifiers with equal keys give equal verified records (one verification serves
        all of them): the configuration's key, or the identities of the components."""
        if self.config_key:
            return ("config", self.config_key, self.include_analytic)
        return ("objects", tuple(map(id, self.providers)), id(self.judge), id(self.decomposer),
                id(self.vocabulary), self.include_analytic)

    def split(self, text: str):
        """The claims of ``text`` (judge splitter, else rules over :attr:`vocabulary`)."""
        if self.decomposer is not None:
            return self.decomposer.decompose(text)
        from halluscope.claims.splitter import MAX_SPLIT_CHARS, split_claims
        if len(text) > MAX_SPLIT_CHARS:
            raise RecordError(f"expected a response of at most {MAX_SPLIT_CHARS:,} characters "
                              f"for the rule-based claim splitter, got {len(text):,}",
                              field="response")
        return split_claims(text, self.vocabulary)

    def split_record(self, record: Record):
        """:meth:`split` of the record's response; a judge that cannot split it (an answer its
        parser cannot read, a failed call) makes this record an item error, not the audit's."""
        try:
            return self.split(record.response or "")
        except CacheMiss as exc:
            raise exc.for_record(record.id) from None
        except RecordError as exc:
            if exc.location.file is None and exc.location.line is None:
                raise RecordError(exc.message, file=record.source.file, line=record.source.line,
                                  field=exc.location.field) from None
            raise
        except HalluscopeError as exc:
            from halluscope.adapters.types import AuthError
            if self.decomposer is None or isinstance(exc, (RecordError, ConfigError,
                                                           AuthError)):
                raise
            raw = getattr(exc, "raw", None)
            detail = f"; raw answer: {raw[:300]!r}" if raw else ""
            raise RecordError(f"the judge could not split the response into claims: "
                              f"{exc}{detail}", file=record.source.file,
                              line=record.source.line, field="response") from None

    def verify(self, record: Record) -> VerifiedRecord:
        """Split, gather facts, check and (with a model judge) judge: the verified record."""
        claims = self.split_record(record)
        from halluscope.evidence.providers import gather_facts
        facts = gather_facts(list(self.providers), record, claims) if claims else []
        model_judge = is_model_judge(self.judge)
        hook = None if model_judge else self.judge
        verdicts = [check_claim(c, facts, hook) for c in claims]
        if model_judge:
            verdicts, _ = judge_claims(self.judge, record, verdicts,
                                       include_analytic=self.include_analytic)
        return VerifiedRecord(record=record, verdicts=tuple(verdicts))
