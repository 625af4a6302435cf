"""The fast bootstrap draws (key hashes in a batch, a Poisson table on the top bits, blocks on
threads) against a reference written out from the definition: every weight and every
replicate sum the same to the bit."""

import hashlib
import math

import numpy as np
import pytest

from halluscope.metrics import draws as stats
from halluscope.metrics.draws import block_replicates, key_hashes, replicate_weights

MASK = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15
M1, M2 = 0xBF58476D1CE4E5B9, 0x94D049BB133111EB


def reference_cdf() -> np.ndarray:
    """Poisson(1) CDF at 0, 1, 2, ... summed term by term until it reaches 1 in float64."""
    pmf, k, total, cdf = math.exp(-1.0), 0, 0.0, []
    while total < 1.0 - 1e-17 and k < 40:
        total += pmf
        cdf.append(total)
        k += 1
        pmf /= k
    return np.asarray(cdf)


def reference_mix(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser as written, on a uint64 array (new arrays, nothing in place)."""
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * np.uint64(M1)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(M2)
    return x ^ (x >> np.uint64(31))


def reference_counts(mixed: np.ndarray) -> np.ndarray:
    """Inverse Poisson(1) CDF of the uniform ``(mixed >> 11) / 2**53``."""
    u = (mixed >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)
    return np.searchsorted(reference_cdf(), u, side="right").astype(np.float64)


def reference_weights(keys, n_boot: int, seed: int) -> np.ndarray:
    """Weights ``(n_boot, len(keys))``: blake2b per key, counters, mix, inverse CDF."""
    hashes = np.array([int.from_bytes(hashlib.blake2b(
        k.encode("utf-8"), digest_size=8, key=str(seed).encode("ascii")).digest(), "little")
        for k in keys], dtype=np.uint64)
    with np.errstate(over="ignore"):
        counters = np.arange(1, n_boot + 1, dtype=np.uint64) * np.uint64(GOLDEN)
        x = counters[:, None] + hashes[None, :]
    return reference_counts(reference_mix(x))


def reference_replicates(per_unit: np.ndarray, keys, n_boot: int, seed: int) -> np.ndarray:
    """``W @ per_unit``: integer sums exactly (an int64 product, no rounding at all); other
    sums as 64-unit float64 products added in block order (the order that defines
    them)."""
    w = reference_weights(keys, n_boot, seed)
    if (per_unit == np.floor(per_unit)).all():
        return (w.astype(np.int64) @ per_unit.astype(np.int64)).astype(np.float64)
    out = np.zeros((n_boot, per_unit.shape[1]))
    for s in range(0, len(keys), 64):
        out += np.ascontiguousarray(w[:, s:s + 64]) @ per_unit[s:s + 64]
    return out


def random_keys(rng: np.random.Generator, n: int) -> list[str]:
    """Distinct keys of 0 to 300 characters, some beyond ASCII and beyond a blake2b block."""
    alphabet = list("abcXYZ019:./_- ") + ["é", "ß", "画", "😀"]
    keys = {"", "image:1.jpg", "x" * 128, "y" * 129}
    while len(keys) < n:
        size = int(rng.integers(0, 300)) if rng.random() < 0.1 else int(rng.integers(1, 20))
        keys.add("".join(rng.choice(alphabet, size=size)))
    return sorted(keys)[:n]


def test_key_hashes_are_key_hash_of_each_key():
    keys = random_keys(np.random.default_rng(1), 300)
    for seed in (0, 5, 123456789):
        assert key_hashes(keys, seed).tolist() == [stats.key_hash(k, seed) for k in keys]
    assert key_hashes([], 0).dtype == np.uint64 and key_hashes([], 0).size == 0


@pytest.mark.parametrize("n_boot", [1, 7, 200, 1000])
def test_replicate_weights_equal_the_reference(n_boot):
    keys = random_keys(np.random.default_rng(n_boot), 150)
    for seed in (0, 3):
        want = reference_weights(keys, n_boot, seed)
        assert np.array_equal(replicate_weights(keys, n_boot, seed), want)
        got32 = replicate_weights(keys, n_boot, seed, np.float32)
        assert got32.dtype == np.float32 and np.array_equal(got32, want)


def unmix(y: int) -> int:
    """The value SplitMix64's finaliser maps to ``y`` (each step inverted)."""
    def unxorshift(v: int, s: int) -> int:
        x = v
        for _ in range(64 // s + 1):
            x = v ^ (x >> s)
        return x
    y = unxorshift(y, 31)
    y = (y * pow(M2, -1, 1 << 64)) & MASK
    y = unxorshift(y, 27)
    y = (y * pow(M1, -1, 1 << 64)) & MASK
    return unxorshift(y, 30)


def test_draws_at_every_threshold_edge():
    """Draws whose mixed bits sit on either side of every inverse-CDF threshold (the buckets
    of the top-bits table that a threshold splits), at the bottom and top of the range, and in
    between: the count the CDF gives."""
    cdf = reference_cdf()
    edges = [0, 1, MASK - 1, MASK]
    for c in cdf[cdf < 1.0]:
        t = math.ceil(c * 2.0 ** 53) << 11         # smallest bits with (bits >> 11) / 2**53 >= c
        edges += [t + d for d in (-(1 << 11), -1, 0, 1, 1 << 11) if 0 <= t + d <= MASK]
        top = t >> 48 << 48                         # the table bucket the threshold splits
        edges += [top, top | ((1 << 48) - 1)]
    mixed = np.array(sorted(set(edges)), dtype=np.uint64)
    assert np.array_equal(reference_mix(np.array([unmix(int(v)) for v in mixed],
                                                 dtype=np.uint64)), mixed)
    for dtype in (np.float32, np.float64):
        x = np.array([unmix(int(v)) for v in mixed], dtype=np.uint64)
        got = stats._draw_weights(x, np.empty(x.shape, dtype), np.empty_like(x))
        assert np.array_equal(got, reference_counts(mixed)), dtype
    assert reference_counts(mixed).max() >= 15


def test_poisson_table_agrees_with_both_ends_of_each_bucket():
    thresholds = stats._poisson1_thresholds()
    table = stats._poisson1_table(np.float64)
    top = np.arange(1 << 16, dtype=np.uint64) << np.uint64(48)
    low = np.searchsorted(thresholds, top, side="right")
    high = np.searchsorted(thresholds, top | np.uint64((1 << 48) - 1), side="right")
    assert np.array_equal(table[low == high], low[low == high])
    assert (table[low != high] == -1).all() and (low != high).sum() <= len(thresholds)


@pytest.mark.parametrize("threads", [1, 3])
@pytest.mark.parametrize("n_boot", [5, 300])
def test_block_replicates_equal_the_reference(threads, n_boot):
    """Integer sums (float32 products where they stay exact, float64 above 2**24; repeated and
    all-zero columns multiplied once and not at all) and
    non-integer sums (float64 in 64-unit blocks), over more than one span of each path (a
    narrower last one too), on one thread and on three."""
    rng = np.random.default_rng(n_boot)
    keys = random_keys(rng, 2100)
    ints = rng.integers(-3, 4, size=(len(keys), 5)).astype(np.float64)
    cases = {"integer": ints,
             "repeated and zero columns": np.column_stack([ints[:, :2], 0 * ints[:, :1], ints,
                                                           ints[:, 1], 0 * ints[:, :1]]),
             "all zero": np.zeros((len(keys), 3)),
             "large integer": rng.integers(0, 2 ** 20, size=(len(keys), 2)).astype(np.float64),
             "float": rng.normal(size=(len(keys), 4)) * 1e3}
    for name, per_unit in cases.items():
        want = reference_replicates(per_unit, keys, n_boot, 9)
        got = block_replicates(per_unit, keys, n_boot, 9, threads=threads)
        assert np.array_equal(got, want), name
        part = block_replicates(per_unit[:70], keys[:70], n_boot, 9, threads=threads)
        assert np.array_equal(part, reference_replicates(per_unit[:70], keys[:70], n_boot, 9))


def test_block_replicates_threads_by_default_give_the_same_bits(monkeypatch):
    rng = np.random.default_rng(2)
    keys = random_keys(rng, 1500)
    per_unit = rng.normal(size=(len(keys), 3))
    one = block_replicates(per_unit, keys, 100, 1, threads=1)
    monkeypatch.setattr(stats, "default_threads", lambda n_units: 2)
    assert np.array_equal(block_replicates(per_unit, keys, 100, 1), one)
    assert block_replicates(per_unit, [], 100).shape == (100, 3)
    assert block_replicates(per_unit, keys, 0).shape == (0, 3)


def test_default_threads_respect_worker_limits(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    assert stats.default_threads(10) == 1                  # too few units to pay off
    many = stats.default_threads(10 ** 6)
    assert 1 <= many <= stats.MAX_THREADS
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")        # a process-pool worker's share
    assert stats.default_threads(10 ** 6) == 1


def test_distinct_columns():
    x = np.array([[1, 0, 1, 2, 0], [3, 0, 3, 2, 0], [0, 0, 0, 1, 0]], dtype=float)
    distinct, column = stats._distinct_columns(x)
    assert distinct.tolist() == [[1, 2], [3, 2], [0, 1]]
    assert column.tolist() == [0, -1, 0, 1, -1]
    c = math.cos(1.0)       # the fingerprint vector is cos(0), cos(1), ...: equal dot products
    same_print = np.array([[c, 0.0], [0.0, 1.0]])
    assert np.array_equal(same_print.T @ np.cos(np.arange(2.0)), [c, c])
    distinct, column = stats._distinct_columns(same_print)
    assert np.array_equal(distinct, same_print) and column.tolist() == [0, 1]


def test_replicate_weights_in_row_chunks(monkeypatch):
    keys = random_keys(np.random.default_rng(4), 300)
    monkeypatch.setattr(stats, "WEIGHT_ROWS_CELLS", 7 * 300 + 5)  # 7 rows, a short last chunk
    assert np.array_equal(replicate_weights(keys, 50, 3), reference_weights(keys, 50, 3))
    monkeypatch.setattr(stats, "WEIGHT_ROWS_CELLS", 1)            # one row at a time
    assert np.array_equal(replicate_weights(keys, 9, 0), reference_weights(keys, 9, 0))


def test_replicate_sums_per_unit_are_every_items_weights_times_rows():
    """Items sharing units: counts added up per unit first, the same bits as ``W @ x`` with
    every item's weight; other rows (fractions, negatives) multiplied item by item."""
    rng = np.random.default_rng(5)
    names = random_keys(rng, 400)
    units = [names[i] for i in rng.integers(0, len(names), size=3000)]
    w = reference_weights(units, 200, 7)
    counts = rng.integers(0, 3, size=(3000, 6)).astype(float)
    counts[:, 4] = 0                                 # a column with nothing in it
    sums = stats.ReplicateSums(units, 200, 7)
    assert sums._per_unit(counts) is not None
    assert np.array_equal(sums.of(counts), w @ counts)
    assert sums.of(counts) is sums.of(counts)        # multiplied once
    fractions = rng.random((3000, 2))
    signed = counts - 1
    for x in (fractions, signed):
        assert sums._per_unit(x) is None
        with stats.one_blas_thread():                # as compare always multiplied them
            expected = w @ x
        assert np.array_equal(sums.of(x), expected)
    assert np.array_equal(np.asarray(sums.names)[sums.cluster_of], units)
