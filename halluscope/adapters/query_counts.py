"""What a ``halluscope query`` run counts and hands back: :class:`QueryCounts` (its progress and
the run sheet's ``counts``), :class:`FailureGroup` (failed records grouped by cause) and
:class:`QueryResult` (with the exit code the CLI gives). Both engines, one process and Ray,
fill them (:mod:`halluscope.adapters.query`, :mod:`halluscope.adapters.ray_query`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class FailureGroup:
    """Failed records that share one cause (error type, HTTP status, message)."""

    kind: str
    status: int | None
    message: str
    count: int = 0
    ids: list[str] = field(default_factory=list)




@dataclass
class QueryCounts:
    """Progress of a run.

    Attributes:
        total: Outputs of the whole prompt set (prompts x samples), those an earlier run
            already wrote included (:attr:`to_ask`: the ones this run set out to ask).
        skipped: Outputs already in the output file from an earlier run.
        cached: Answered from the cache.
        new: Answered by the model in this run.
        failed: Written with an ``"error"``.
        refused: Of ``failed``, the failures that the same request meets every time (a
            provider's filter, the model declining, a request rejected as invalid: HTTP 400,
            413, 415, 422; :func:`~halluscope.adapters.types.is_refusal`), written with
            ``"refused": true``: a resume keeps them rather than asking again (``retry_failed``,
            ``--retry-failed``, asks them again). Rate limits, server errors and timeouts
            are asked again by every resume.
        kept_failed: Of ``skipped``, the failed lines an earlier run wrote that this run kept
            as they are: its refusals (every failed line with ``retry_failed=False``). The
            file holds no answer for them: the exit code is 1, as for :attr:`failed`.
        truncated: Answers the model stopped at the token limit (``finish_reason`` says so
            in their lines): answers, but cut short.
        filtered: Answers a provider's filter (or the model declining) stopped after some
            text (``finish_reason`` ``content_filter``, ``refusal``, ``SAFETY``, ...): kept,
            but not the whole answer (an audit lists such lines as bad records, never scored:
            :mod:`halluscope.finish_reasons`).
        reasoning: Answers that came with a reasoning model's thoughts (a leading ``<think>``
            block, the server's ``reasoning_content``/``reasoning`` field, Claude's thinking,
            Gemini's thought summary), kept out
            of ``response`` and written as ``reasoning``.
        thought_only: Of those, answers whose ``response`` is empty: the model's output was
            all reasoning. An empty answer is an answer (an audit scores it by each metric's
            rule for one, and says so); this says where it came from.
        think_close: Answers whose ``response`` holds a ``</think>`` with no ``<think>``
            before it: most likely a reasoning model whose chat template opens the block
            (DeepSeek-R1 distills, QwQ) behind a server without a reasoning parser, its
            thoughts sent as the answer. They are kept as written (the tag alone cannot tell
            thoughts from an answer that mentions it); this says so.
        url_images_unchecked: Of ``skipped``, the answers about an image URL: kept without
            fetching the image again, so bytes that changed at the same URL go unnoticed
            (their lines' ``image_sha256`` says what was sent).
    """

    total: int = 0
    skipped: int = 0
    cached: int = 0
    new: int = 0
    failed: int = 0
    refused: int = 0
    kept_failed: int = 0
    truncated: int = 0
    filtered: int = 0
    reasoning: int = 0
    thought_only: int = 0
    think_close: int = 0
    url_images_unchecked: int = 0

    @property
    def done(self) -> int:
        return self.cached + self.new + self.failed

    @property
    def to_ask(self) -> int:
        return self.total - self.skipped


@dataclass
class QueryResult:
    """What a run produced: the records (when collected), counts and the run sheet."""

    records: list[dict[str, Any]] | None
    counts: QueryCounts
    runsheet: dict[str, Any] = field(default_factory=dict)
    reported_models: dict[str, int] = field(default_factory=dict)
    elapsed_s: float = 0.0
    failures: list[FailureGroup] = field(default_factory=list)
    stopped: str | None = None

    @property
    def answered(self) -> int:
        return self.counts.cached + self.counts.new

    @property
    def exit_code(self) -> int:
        """0 all answered; 2 the run stopped or no record could be asked; 1 some failed (this
        run's failures, or refused records an earlier run wrote and this one kept: the file
        still holds records with no answer)."""
        if self.stopped and not self.answered:
            return 2
        if self.counts.failed and not self.answered and not self.counts.skipped:
            return 2
        return 1 if (self.counts.failed or self.counts.kept_failed or self.stopped) else 0
