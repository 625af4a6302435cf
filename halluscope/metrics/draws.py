"""Poisson(1) bootstrap weights drawn from identities, and the replicates of sums over units.

The weight of a unit in replicate ``b`` is a function of the unit's key and the seed only
(:func:`replicate_weights`): a 64-bit blake2b hash of ``(seed, key)``, a counter-based
SplitMix64 stream from it, the inverse Poisson(1) CDF of the stream's uniform numbers. How the
weights are computed (keyed hashers copied, a table on the top bits, blocks on threads) never
changes which weight a (key, replicate) pair gets: ``tests/test_bootstrap_draws.py`` holds
them, and the replicate sums of :func:`block_replicates`, to a reference written out from the
definition, to the bit. :mod:`halluscope.metrics.stats` keeps the sums and the intervals.
"""

from __future__ import annotations

import hashlib
import math
import os
import threading
from collections import deque
from collections.abc import Iterable, Sequence

import numpy as np


_POISSON_CDF = None
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _poisson1_cdf() -> np.ndarray:
    """CDF of Poisson(1) at 0, 1, 2, ... until it reaches 1 in float64 (inverse-CDF table)."""
    global _POISSON_CDF
    if _POISSON_CDF is None:
        pmf, k, cdf = math.exp(-1.0), 0, []
        total = 0.0
        while total < 1.0 - 1e-17 and k < 40:
            total += pmf
            cdf.append(total)
            k += 1
            pmf /= k
        _POISSON_CDF = np.asarray(cdf)
    return _POISSON_CDF


_TWO_53 = 9007199254740992.0
_THRESHOLDS = None


def _poisson1_thresholds() -> np.ndarray:
    """``cdf[k] <= bits / 2**64`` as integers: ``bits >> 11 >= ceil(cdf[k] * 2**53)``, that is
    ``bits >= ceil(cdf[k] * 2**53) << 11`` (scaling by a power of two is exact)."""
    global _THRESHOLDS
    if _THRESHOLDS is None:
        cdf = _poisson1_cdf()
        _THRESHOLDS = np.ceil(cdf[cdf < 1.0] * _TWO_53).astype(np.uint64) << np.uint64(11)
    return _THRESHOLDS


def _poisson1_from_bits(bits: np.ndarray, dtype=np.float64) -> np.ndarray:
    """The inverse Poisson(1) CDF of ``u = (bits >> 11) / 2**53``: the number of CDF values
    ``<= u``, counted on the integers (:func:`_poisson1_thresholds`)."""
    return np.searchsorted(_poisson1_thresholds(), bits, side="right").astype(dtype)


_TOP_BITS = 16
_TOP_SHIFT = np.uint64(64 - _TOP_BITS)
_MIX = ((np.uint64(30), np.uint64(0xBF58476D1CE4E5B9)),
        (np.uint64(27), np.uint64(0x94D049BB133111EB)))
"""SplitMix64's first four steps: ``x ^= x >> shift; x *= mult`` twice."""
_TABLES: dict = {}


def _poisson1_table(dtype) -> np.ndarray:
    """The Poisson(1) count of every 64-bit value by its top 16 bits, as ``dtype``: the count
    where every value with those top bits has the same one, -1 in the buckets that a threshold
    of :func:`_poisson1_thresholds` splits (8 of 65,536; the largest thresholds share one)."""
    key = np.dtype(dtype)
    if key not in _TABLES:
        thresholds, shift = _poisson1_thresholds(), _TOP_SHIFT
        top = np.arange(1 << _TOP_BITS, dtype=np.uint64)
        low = np.searchsorted(thresholds, top << shift, side="right")
        high = np.searchsorted(thresholds, (top << shift) | ((np.uint64(1) << shift)
                                                             - np.uint64(1)), side="right")
        _TABLES[key] = np.where(low == high, low, -1).astype(key)
    return _TABLES[key]


def _draw_weights(x: np.ndarray, out: np.ndarray, tmp: np.ndarray) -> np.ndarray:
    """Poisson(1) weights into ``out`` (C-contiguous, a float type) of the counter values ``x``
    (uint64, ``key hash + (b + 1) * golden`` per draw, ``out``'s shape, C-contiguous; mixed in
    place), with ``tmp`` as scratch: the same numbers as :func:`_poisson1_from_bits` of
    SplitMix64's finaliser (``x ^= x >> 30; x *= 0xBF58476D1CE4E5B9; x ^= x >> 27;
    x *= 0x94D049BB133111EB; x ^= x >> 31``), in fewer passes. The last step leaves the top 31
    bits as they are, so the top 16 bits after the first four index :func:`_poisson1_table`;
    only the draws in a bucket that a threshold splits (about 1 in 8,000) are finished and
    searched one by one."""
    if not (out.flags.c_contiguous and x.flags.c_contiguous):
        raise ValueError("expected C-contiguous weight and counter arrays, got strided ones")
    for shift, mult in _MIX:            # uint64 arrays wrap around silently
        np.right_shift(x, shift, out=tmp)
        x ^= tmp
        x *= mult
    np.right_shift(x, _TOP_SHIFT, out=tmp)
    np.take(_poisson1_table(out.dtype), tmp.view(np.int64), out=out, mode="clip")  # < 2**16
    flat = out.reshape(-1)
    split = np.flatnonzero(flat < 0)
    if split.size:
        bits = x.reshape(-1)[split]
        bits ^= bits >> np.uint64(31)
        flat[split] = _poisson1_from_bits(bits, out.dtype)
    return out


def _steps(n_boot: int) -> np.ndarray:
    """The counters ``(b + 1) * golden`` (mod 2**64) of replicates ``b < n_boot``."""
    with np.errstate(over="ignore"):
        return np.arange(1, n_boot + 1, dtype=np.uint64) * _GOLDEN


_CONTROLLER = None


def one_blas_thread():
    """A context in which numpy's BLAS runs on one thread. The bootstrap's products are small
    (1,000 replicates x a few dozen units or columns), and a threaded BLAS spends longer waking
    its threads than multiplying: measured here, 8 ms per product on two threads while the other
    core was busy, against 0.07 ms on one. The previous limits come back on exit."""
    global _CONTROLLER
    if _CONTROLLER is None:
        from threadpoolctl import ThreadpoolController
        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER.limit(limits=1, user_api="blas")


def key_hash(key: str, seed: int = 0) -> int:
    """A 64-bit hash of ``(seed, key)`` (blake2b), the stream every replicate weight of the key
    is drawn from."""
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8,
                             key=str(int(seed)).encode("ascii")).digest()
    return int.from_bytes(digest, "little")


def key_hashes(keys: Iterable[str], seed: int = 0) -> np.ndarray:
    """:func:`key_hash` of every key, as uint64. The keyed hasher is set up once (keying
    blake2b compresses a whole block) and copied per key: the same digests, half the time."""
    keyed = hashlib.blake2b(digest_size=8, key=str(int(seed)).encode("ascii"))
    copy = keyed.copy

    def digest(key: str) -> bytes:
        h = copy()
        h.update(key.encode("utf-8"))
        return h.digest()

    return np.frombuffer(b"".join(map(digest, keys)), dtype="<u8").astype(np.uint64)


def replicate_weights(keys: Sequence[str], n_boot: int, seed: int = 0,
                      dtype=np.float64) -> np.ndarray:
    """Poisson(1) bootstrap weights, shape ``(n_boot, len(keys))``, drawn from each key's
    identity: column ``j`` depends only on ``(keys[j], seed)``, never on the other keys or the
    order, so any sharding of the items gives them the same weights.

    Replicate ``b`` of key ``k`` is the inverse Poisson(1) CDF of the uniform number
    ``splitmix64(blake2b(seed, k) + (b + 1) * golden) / 2**64`` (a counter-based generator).
    """
    m = len(keys)
    if not n_boot or not m:
        return np.zeros((int(n_boot), m))
    hashes, steps = key_hashes(keys, seed)[None, :], _steps(n_boot)[:, None]
    out = np.empty((n_boot, m), dtype)
    rows = max(1, min(n_boot, WEIGHT_ROWS_CELLS // m))  # counters of a few rows at a time
    x, tmp = np.empty((rows, m), np.uint64), np.empty((rows, m), np.uint64)
    for b in range(0, n_boot, rows):    # each weight is its own (key, b): any rows, same bits
        r = min(rows, n_boot - b)
        with np.errstate(over="ignore"):
            np.add(steps[b:b + r], hashes, out=x[:r])
        _draw_weights(x[:r], out[b:b + r], tmp[:r])
    return out


WEIGHT_ROWS_CELLS = 1 << 20
"""Counters :func:`replicate_weights` mixes at a time (two uint64 scratch arrays of this many
cells, 16 MiB, rather than two of the whole matrix's size: 800 MB for 1,000 replicates of
50,000 items)."""


def small_integers(x: np.ndarray) -> bool:
    """Whether every value is an integer below 2**31 in size: weighted sums of a chunk of such
    rows are exact in float64, whatever the order of the additions."""
    return bool((np.abs(x) < 2.0 ** 31).all() and (x == np.floor(x)).all())


UNIT_BLOCK = 64
"""Units multiplied at a time in :func:`block_replicates` when the sums are not
:func:`small_integers` (the blocks that define those sums' rounding)."""

DRAW_UNITS = 32
"""Units whose weights :func:`block_replicates` draws at a time on one thread (their counters
stay in the CPU's cache: 5,001 units x 1,000 replicates 27.4 ms with 32, 28.4-29.8 ms with 64,
39 ms with 256)."""

THREAD_DRAW_UNITS = 128
"""Units drawn at a time on several threads: longer numpy passes, fewer hand-overs of the GIL
(5,000 units on two threads: 24.5 ms with 32, 18.9 ms with 128, against 22.8 ms on one)."""

EXACT_BLOCK = 1024
"""Units multiplied at a time in :func:`block_replicates` when the sums are
:func:`small_integers` (exact in any order, so one product of 1,024 units: 1.2 ms against
1.9 ms for 16 products of 64 and their additions, 1,000 replicates x 66 columns)."""

MAX_THREADS = 4
"""Most threads :func:`block_replicates` draws blocks on (numpy's passes and BLAS release the
GIL, so blocks run side by side)."""

THREAD_MIN_UNITS = 8 * UNIT_BLOCK
"""Fewest units worth starting threads for."""


def default_threads(n_units: int) -> int:
    """Threads for the weights of ``n_units`` units: half the CPUs this process may use (the
    other half for the rest of the program and the machine: on two CPUs, one busy elsewhere, a
    second thread measured slower, 28 -> 35 ms for 5,000 units), at most :data:`MAX_THREADS`
    and the ``OMP_NUM_THREADS``/``OPENBLAS_NUM_THREADS`` a process-pool worker is given
    (:func:`halluscope.threadlimits.limit_threads`); one below :data:`THREAD_MIN_UNITS` units."""
    if n_units < THREAD_MIN_UNITS:
        return 1
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    limit = MAX_THREADS
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        value = os.environ.get(var, "").strip()
        if value.isdigit() and int(value) > 0:
            limit = min(limit, int(value))
    return max(1, min(limit, (cpus or 1) // 2))


def block_replicates(per_unit: np.ndarray, keys: Sequence[str], n_boot: int, seed: int = 0,
                     threads: int | None = None, integers: bool | None = None) -> np.ndarray:
    """The bootstrap replicates ``W @ per_unit`` (n_boot x columns) of sums over units, where
    ``per_unit`` holds one row per unit (``keys[u]`` its identity) and ``W`` their weights
    (:func:`replicate_weights`), drawn :data:`DRAW_UNITS` units at a time into reused buffers
    (:data:`THREAD_DRAW_UNITS` on threads), on ``threads`` threads (default
    :func:`default_threads`).

    :func:`small_integers` sums are exact in any order: :data:`EXACT_BLOCK` units are
    multiplied at a time, in float32 where the products and sums stay below 2**24. Other sums
    are multiplied :data:`UNIT_BLOCK` units at a time in float64, and the blocks' products
    added in block order whatever the threads, so they too are the same to the bit for any
    number of threads. Of integer sums, only the distinct columns that are not all zero are
    multiplied (:func:`_distinct_columns`; POPE's 66 columns are 40). ``integers``: whether
    ``per_unit`` is known to be :func:`small_integers` (``None``: checked here)."""
    out = np.zeros((n_boot, per_unit.shape[1]))
    if not n_boot or not len(keys):
        return out
    if not (small_integers(per_unit) if integers is None else integers):
        return _replicates(per_unit, keys, n_boot, seed, threads, exact=False)
    distinct, column = _distinct_columns(per_unit)
    if distinct.shape[1]:               # all zero: no weights needed, every replicate is 0
        used = column >= 0
        out[:, used] = _replicates(distinct, keys, n_boot, seed, threads, exact=True)[
            :, column[used]]
    return out


def _distinct_columns(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(distinct, column)``: the distinct columns of ``x`` that are not all zero, in order of
    first appearance, and for each column of ``x`` its index among them (-1: all zero).
    Columns are grouped by a dot product with a fixed vector and compared in full (read in
    place: a transposed copy of a tall ``x`` costs more than the rare comparisons)."""
    zero = ~x.any(axis=0)
    fingerprints = (np.cos(np.arange(len(x), dtype=np.float64)) @ x).tolist()
    seen: dict[float, list[int]] = {}
    column, keep = np.full(x.shape[1], -1, dtype=np.intp), []
    for c, f in enumerate(fingerprints):
        if zero[c]:
            continue
        same = [r for r in seen.get(f, ()) if np.array_equal(x[:, r], x[:, c])]
        if same:
            column[c] = column[same[0]]
        else:
            seen.setdefault(f, []).append(c)
            column[c] = len(keep)
            keep.append(c)
    return x.take(keep, axis=1), column


def _replicates(per_unit: np.ndarray, keys: Sequence[str], n_boot: int, seed: int,
                threads: int | None, exact: bool) -> np.ndarray:
    """:func:`block_replicates` of ``per_unit``, in spans of :data:`EXACT_BLOCK` units
    (``exact``: :func:`small_integers` sums) or :data:`UNIT_BLOCK` units, on ``threads``
    threads, the spans' products added in span order."""
    out = np.zeros((n_boot, per_unit.shape[1]))
    span = EXACT_BLOCK if exact else UNIT_BLOCK
    base = key_hashes(keys, seed)
    threads = default_threads(len(keys)) if threads is None else max(1, int(threads))
    threads = min(threads, -(-len(keys) // span))      # no more threads than spans
    draw = DRAW_UNITS if threads == 1 else THREAD_DRAW_UNITS
    steps = np.repeat(_steps(n_boot)[None, :], min(draw, len(keys)), axis=0)
    local = threading.local()

    def product(s: int) -> np.ndarray:
        if not hasattr(local, "buffers"):
            local.buffers = (np.empty((min(span, len(keys)), n_boot), np.float32),
                             np.empty(steps.shape, np.uint64), np.empty(steps.shape, np.uint64))
        return _span_product(per_unit[s:s + span], base[s:s + span], steps, exact,
                             local.buffers)

    with one_blas_thread():             # process-wide for OpenBLAS: every worker's products
        if threads == 1:
            for s in range(0, len(keys), span):
                out += product(s)
            return out
        from concurrent.futures import ThreadPoolExecutor   # only where threads are used
        with ThreadPoolExecutor(max_workers=threads) as pool:
            pending: deque = deque()
            for s in range(0, len(keys), span):     # a few ahead, added in order
                pending.append(pool.submit(product, s))
                if len(pending) > 2 * threads:
                    out += pending.popleft().result()
            while pending:
                out += pending.popleft().result()
    return out


def _span_product(counts: np.ndarray, base: np.ndarray, steps: np.ndarray, exact: bool,
                  buffers: tuple[np.ndarray, np.ndarray, np.ndarray]) -> np.ndarray:
    """One span of :func:`block_replicates`: the weights of the units whose key hashes are
    ``base`` (``steps``: each replicate's counter, repeated on as many rows as units are drawn
    at a time), drawn transposed (one row per unit, contiguous) into ``buffers`` (float32
    weights, as many rows as the longest span; counters and scratch, as ``steps``), times the
    span's rows ``counts``."""
    weights_t, x, tmp = buffers
    weights_t = weights_t[:len(base)]
    for r in range(0, len(base), len(steps)):
        m = min(len(steps), len(base) - r)
        np.add(base[r:r + m, None], steps[:m], out=x[:m])
        _draw_weights(x[:m], weights_t[r:r + m], tmp[:m])
    if not exact:                       # C-contiguous float64, as it always was multiplied
        return np.ascontiguousarray(weights_t.T, dtype=np.float64) @ counts
    if float(np.abs(counts).sum(axis=0).max()) * float(weights_t.max()) < 2.0 ** 24:
        return weights_t.T @ counts.astype(np.float32)
    return weights_t.T.astype(np.float64) @ counts


class ReplicateSums:
    """The bootstrap replicates ``W @ x`` (n_boot x columns) of sums over items, one row of
    ``x`` per item, where item ``i`` is resampled as unit ``units[i]`` (items of one unit get
    its weights: :func:`replicate_weights` of the units' names).

    Where ``x`` holds non-negative integers whose weighted sums stay exact in float64, the rows
    are first added up per unit and :func:`block_replicates` draws one weight column per unit
    (50,000 POPE answers on 8,334 images: 8,334 columns drawn a span at a time, not 50,000
    held whole): the same numbers to the bit as ``W @ x``, since every product and partial sum
    of either is an integer below 2**53. Any other ``x`` is multiplied by every item's weights,
    as it always was. Each ``x`` (by identity) is multiplied once."""

    def __init__(self, units: Sequence[str], n_boot: int, seed: int = 0):
        self.units, self.n_boot, self.seed = units, int(n_boot), seed
        names, inverse = np.unique(np.asarray(units), return_inverse=True)
        #: each item's unit, as an index into the units' sorted names
        self.cluster_of = inverse.reshape(-1)
        self.names = names.tolist()
        self._weights: np.ndarray | None = None
        self._done: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def of(self, x: np.ndarray) -> np.ndarray:
        """``W @ x`` for ``x`` of one row per item (float64)."""
        done = self._done.get(id(x))
        if done is not None and done[0] is x:
            return done[1]
        per_unit = self._per_unit(x)
        if per_unit is not None:
            boot = block_replicates(per_unit, self.names, self.n_boot, self.seed,
                                    integers=True)
        else:
            if self._weights is None:
                self._weights = replicate_weights(self.units, self.n_boot, self.seed)
            with one_blas_thread():
                boot = self._weights @ x
        self._done[id(x)] = (x, boot)
        return boot

    def _per_unit(self, x: np.ndarray) -> np.ndarray | None:
        """``x``'s rows added up per unit where that keeps ``W @ x`` exact (non-negative
        integers, every weighted sum below 2**53), else ``None``."""
        if x.ndim != 2 or not len(x) or not small_integers(x) or (x < 0).any():
            return None
        most = len(_poisson1_thresholds())      # the largest weight a draw can give
        if float(x.sum(axis=0).max()) * most >= 2.0 ** 53:
            return None
        per_unit = np.empty((len(self.names), x.shape[1]))
        for c in range(x.shape[1]):
            per_unit[:, c] = np.bincount(self.cluster_of, weights=x[:, c],
                                         minlength=len(self.names))
        return per_unit if small_integers(per_unit) else None
