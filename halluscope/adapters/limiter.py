"""Adaptive concurrency per model: halve on 429, grow back by one per window of successes.

The limit follows additive-increase / multiplicative-decrease (as TCP congestion control does):

* a rate-limited call halves the limit (never below ``min_limit``) -- at most once per
  *generation*: calls that were already in flight when the limit was cut carry the old
  generation, and their 429s do not cut it again, so one burst of 429s is one decrease;
* a server-sent ``Retry-After`` pauses every new call until that moment;
* after ``limit`` consecutive successes, the limit grows by one, up to ``max_limit``.

Waiting calls get a freed slot in the order the calls were *made*: each call takes a ticket
(:meth:`AdaptiveLimiter.ticket`) when it starts, and a freed slot is handed to the waiting call
with the lowest ticket (a heap of futures), so a call that came later never takes it first. (An
``asyncio.Condition`` let newcomers take a freed slot before the woken call ran; a query run's
answers then finished far out of prompt order and each waited ~0.6 s behind starved earlier
prompts before its line could be written. Serving calls in the order they reached the limiter
was not enough either: a call reaches it only after its images are hashed and prepared in
threads, which finish in any order, so the first prompts on an image could reach it after every
other prompt, and the output file, written in prompt order, stayed empty until the end of the
run: a ``kill -9`` or a run without a cache lost every answer.) A retry keeps its call's
ticket, so it goes before calls made after it.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import time

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
        self.waiting = 0            # calls waiting for a slot (or handed one, not yet running)
        self.generation = 0
        self.pause_until = 0.0
        self._successes = 0
        # the calls waiting, as a heap of (ticket, arrival, future): a freed slot is handed to
        # the call made first (its future set), never taken by a call made later
        self._queue: list[tuple[int, int, asyncio.Future]] = []
        self._tickets = itertools.count()
        self._arrivals = itertools.count()
        self._resume: asyncio.TimerHandle | None = None    # hands out slots when a pause ends
        self.decreases = 0
        self.increases = 0
        self.peak_in_flight = 0

    def ticket(self) -> int:
        """A call's place in line, taken when the call starts (before the work that precedes
        its first :meth:`acquire`): lower tickets are handed slots first."""
        return next(self._tickets)

    async def acquire(self, ticket: int | None = None) -> int:
        """Wait for a free slot; returns the generation the slot belongs to. ``ticket``: the
        call's place in line (:meth:`ticket`; default: a new one, after every call so far)."""
        if ticket is None:
            ticket = self.ticket()
        while True:
            wait = self.pause_until - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            if self.in_flight < self.limit and not self._queue:
                self._take()
                return self.generation
            waiter = asyncio.get_running_loop().create_future()
            entry = (ticket, next(self._arrivals), waiter)
            heapq.heappush(self._queue, entry)
            self.waiting += 1
            try:
                await waiter    # the slot is ours once it is set (taken for us by _hand_out)
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():    # handed a slot, then cancelled
                    self.release()
                elif entry in self._queue:      # not skipped by _hand_out yet
                    self._queue.remove(entry)
                    heapq.heapify(self._queue)
                raise
            finally:
                self.waiting -= 1
            return self.generation

    def _take(self) -> None:
        self.in_flight += 1
        if self.in_flight > self.peak_in_flight:
            self.peak_in_flight = self.in_flight

    def release(self) -> None:
        """Give back a slot that :meth:`acquire` took (:meth:`slot` does it on leaving)."""
        self.in_flight -= 1
        self._hand_out()

    def _hand_out(self) -> None:
        """Give free slots to the waiting calls made first (the limit may have grown while a
        call ran: as many as there are slots); during a Retry-After pause, when it ends."""
        queue = self._queue
        while queue and self.in_flight < self.limit:
            wait = self.pause_until - time.monotonic()
            if wait > 0:
                if self._resume is None:
                    self._resume = asyncio.get_running_loop().call_later(wait, self._unpause)
                return
            waiter = heapq.heappop(queue)[2]
            if waiter.done():   # cancelled, its call not yet told: skipped
                continue
            self._take()
            waiter.set_result(None)

    def _unpause(self) -> None:
        self._resume = None
        self._hand_out()

    def slot(self, ticket: int | None = None) -> "_Slot":
        """``async with limiter.slot(ticket) as generation:`` around one call."""
        return _Slot(self, ticket)

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


class _Slot:
    """One call's slot of an :class:`AdaptiveLimiter` (``async with``): a plain class, cheaper
    than an ``asynccontextmanager`` generator on every request."""

    __slots__ = ("_limiter", "_ticket")

    def __init__(self, limiter: AdaptiveLimiter, ticket: int | None = None):
        self._limiter = limiter
        self._ticket = ticket

    async def __aenter__(self) -> int:
        return await self._limiter.acquire(self._ticket)

    async def __aexit__(self, *exc) -> None:
        self._limiter.release()
