"""Adaptive concurrency per model: halve on 429, grow back by one per window of successes.

The limit follows additive-increase / multiplicative-decrease (as TCP congestion control does):

* a rate-limited call halves the limit (never below ``min_limit``) -- at most once per
  *generation*: calls that were already in flight when the limit was cut carry the old
  generation, and their 429s do not cut it again, so one burst of 429s is one decrease;
* a server-sent ``Retry-After`` pauses every new call until that moment;
* after ``limit`` consecutive successes, the limit grows by one, up to ``max_limit``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from contextlib import asynccontextmanager

log = logging.getLogger(__name__)


class AdaptiveLimiter:
    """Bounds the calls in flight to one model.

    Args:
        max_limit: The configured concurrency bound (``--max-connections``).
        min_limit: The floor that 429s cannot push the limit under.
        initial: Starting limit (default ``max_limit``).
        max_pause: Upper bound on a single Retry-After pause in seconds.
    """

    def __init__(self, max_limit: int, *, min_limit: int = 1, initial: int | None = None,
                 max_pause: float = 120.0):
        if max_limit < 1:
            raise ValueError(f"expected max_limit >= 1, got {max_limit}")
        self.max_limit = max_limit
        self.min_limit = max(1, min(min_limit, max_limit))
        self.limit = max(self.min_limit, min(initial or max_limit, max_limit))
        self.max_pause = max_pause
        self.in_flight = 0
        self.waiting = 0            # calls waiting for a slot
        self.generation = 0
        self.pause_until = 0.0
        self._successes = 0
        self._cond: asyncio.Condition | None = None
        self.decreases = 0
        self.increases = 0
        self.peak_in_flight = 0

    def _condition(self) -> asyncio.Condition:
        if self._cond is None:
            self._cond = asyncio.Condition()
        return self._cond

    async def acquire(self) -> int:
        """Wait for a free slot; returns the generation the slot belongs to."""
        cond = self._condition()
        async with cond:
            while True:
                wait = self.pause_until - time.monotonic()
                if wait > 0:
                    try:
                        await asyncio.wait_for(cond.wait(), timeout=wait)
                    except asyncio.TimeoutError:
                        pass
                    continue
                if self.in_flight < self.limit:
                    self.in_flight += 1
                    self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
                    return self.generation
                self.waiting += 1
                try:
                    await cond.wait()
                finally:
                    self.waiting -= 1

    async def release(self) -> None:
        cond = self._condition()
        async with cond:
            self.in_flight -= 1
            # the limit may have grown while this call ran: wake as many as there are slots
            cond.notify(max(1, self.limit - self.in_flight))

    @asynccontextmanager
    async def slot(self):
        """``async with limiter.slot() as generation:`` around one call."""
        gen = await self.acquire()
        try:
            yield gen
        finally:
            await self.release()

    def on_success(self) -> None:
        self._successes += 1
        if self._successes >= self.limit and self.limit < self.max_limit:
            self._successes = 0
            self.limit += 1
            self.increases += 1

    def on_rate_limited(self, generation: int, retry_after: float | None = None) -> None:
        """A call of ``generation`` got a 429; cut the limit once per generation."""
        self._successes = 0
        if retry_after:
            until = time.monotonic() + min(retry_after, self.max_pause)
            self.pause_until = max(self.pause_until, until)
        if generation == self.generation:
            new = max(self.min_limit, self.limit // 2)
            if new != self.limit:
                log.info("rate limited: concurrency %d -> %d", self.limit, new)
                self.decreases += 1
            self.limit = new
            self.generation += 1

    def describe(self) -> dict:
        return {"max_limit": self.max_limit, "limit": self.limit, "decreases": self.decreases,
                "increases": self.increases, "peak_in_flight": self.peak_in_flight}
