"""Judge questions asked ahead, concurrently, and their answers taken one at a time.

A benchmark scorer puts one question per record to its judge (HallusionBench's correctness,
MMHal-Bench's rating, Object HalBench's extraction), POPE's fallback one per answer no rule
reads, the verification of claims a split and a check per undecided claim; a record is scored
at a time: asked one after the other, the calls never overlapped, whatever
``judge_max_connections`` said.
:meth:`Judge.ask_ahead <halluscope.judges.judge.Judge.ask_ahead>` sends the questions a batch
of records will ask all at once through the judge's client (its limiter keeps at most
``max_connections`` in flight, in the order they were asked), and holds each outcome -- the
response or the adapter's exception -- by its request. When the record is scored, the judge's
``_ask`` takes its held outcome instead of calling (:func:`take_held`) and reads it exactly as a
call's: the counters (calls, cached, failures, the models the server named) are counted then,
record by record, so the run sheet, the journal and the items are those of one call at a time.

Each distinct request is sent once: a request asked twice in a batch is held for its first
asker only, and the second one goes to the client as before (a cache hit where one call at a
time had one). What no record took (a record that failed before its call) is dropped with
:meth:`Judge.forget_ahead`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any


async def fetch_ahead(client: Any, requests: Iterable[Any], held: dict) -> int:
    """Ask ``client`` every request of ``requests`` not yet in ``held``, concurrently, and hold
    each one's outcome (a response or the exception its call raised); the number sent."""
    todo = [r for r in dict.fromkeys(requests) if r not in held]
    if not todo:
        return 0
    outcomes = await asyncio.gather(*(client.generate(r) for r in todo), return_exceptions=True)
    for request, outcome in zip(todo, outcomes):
        if isinstance(outcome, (KeyboardInterrupt, SystemExit)):
            raise outcome
        held[request] = outcome
    return len(todo)


def take_held(held: dict, request: Any) -> tuple[bool, Any]:
    """``(True, response)`` for a request asked ahead (taken: asked again, it is asked anew),
    raising what its call raised; ``(False, None)`` for one not asked ahead."""
    if request not in held:
        return False, None
    outcome = held.pop(request)
    if isinstance(outcome, BaseException):
        raise outcome
    return True, outcome


__all__ = ["fetch_ahead", "take_held"]
