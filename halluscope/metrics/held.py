"""Which clusters hold a column's units: what :class:`~halluscope.metrics.stats.SumState` notes
so that an interval over units lying in too few clusters is not given (CHAIR_i's mentions in two
images rest on two clusters, however many images were resampled).

A fold codes its rows' clusters once (:class:`RowUnits`) for the overall state and every group;
each state looks only at the columns still short of :data:`HELD_CAP` and, in them, at the
distinct (cluster, column) pairs present. :class:`NonzeroUnits` answers the same for a block of
rows already summed per unit.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence

import numpy as np

HELD_CAP = 100
"""Most clusters :class:`~halluscope.metrics.stats.SumState` notes per column as holding a
nonzero value: enough to tell whether a statistic's units lie in ``MIN_UNITS`` clusters (or any
``min_units`` up to this), at a bounded cost on large runs."""

FEW_PAIRS = 64
"""Up to how many rows :class:`RowUnits` walks as they are (a small group's: fewer array
operations), and up to how many (cluster, column) pairs :meth:`RowUnits.nonzero` takes as they
come; more are made distinct first (counted, or sorted)."""


class RowUnits:
    """Each row's cluster, coded once for a fold: row ``i`` is in ``names[codes[i]]`` (a code
    of -1: in none); ``whole`` when every name is some row's. A metric folding rows into its
    state and its groups' codes them once and hands each group its rows (:meth:`take`); a
    state then finds where its open columns are nonzero from the distinct (cluster, column)
    pairs present (:meth:`nonzero`), not a walk down every column's rows (which is left for
    the one fold in which a column reaches :data:`HELD_CAP`, :meth:`down`)."""

    __slots__ = ("codes", "names", "whole", "complete")

    def __init__(self, codes: np.ndarray, names: list[str], whole: bool = False,
                 complete: bool | None = None):
        self.codes, self.names, self.whole = codes, names, whole
        #: every row is in a cluster (no code -1)
        self.complete = bool((codes >= 0).all()) if complete is None else complete

    @classmethod
    def of(cls, units: Sequence[str | None]) -> "RowUnits":
        index: dict[str, int] = {}
        codes = np.fromiter((-1 if u is None else index.setdefault(u, len(index))
                             for u in units), dtype=np.intp, count=len(units))
        return cls(codes, list(index), True)

    @classmethod
    def of_keys(cls, inv: np.ndarray, keys: list[str],
                units: Sequence[str | None]) -> "RowUnits":
        """The clusters of rows whose bootstrap keys are ``keys[inv[i]]``: a row with a unit
        (``units[i]``) has it as its key; a row without one is in no cluster."""
        if None not in units:
            return cls(inv, keys, whole=True, complete=True)
        has = np.fromiter((u is not None for u in units), dtype=bool, count=len(inv))
        return cls(np.where(has, inv, -1), keys)

    def take(self, rows: np.ndarray) -> "RowUnits":
        """The units of ``rows`` (an array of row indices) alone."""
        return RowUnits(self.codes[rows], self.names,
                        complete=True if self.complete else None)

    def present(self) -> Collection[str]:
        """The clusters the rows are in (each once)."""
        names = self.names
        if self.whole:
            return names
        if len(self.codes) <= FEW_PAIRS:
            return ({names[c] for c in self.codes.tolist()} if self.complete
                    else {names[c] for c in self.codes.tolist() if c >= 0})
        codes = np.unique(self.codes)
        return [names[c] for c in codes[codes >= 0].tolist()]

    def nonzero(self, x: np.ndarray, columns: list[int]) -> list[tuple[int, set[str]]]:
        """``(c, clusters)`` for each column ``c`` of ``columns`` nonzero in some row of ``x``
        with a cluster: those clusters (:meth:`down` gives them in the rows' order)."""
        names, codes = self.names, self.codes
        if len(x) <= FEW_PAIRS:         # a few rows (a small group's): walked as they are
            walked = ((c, {names[u] for u in codes[np.flatnonzero(x[:, c])].tolist()
                           if u >= 0}) for c in columns)
            return [(c, f) for c, f in walked if f]
        width = len(columns)
        hit = (x if width == x.shape[1] else x[:, columns]) != 0
        if not self.complete:
            hit &= (codes >= 0)[:, None]
        rows, cols = np.nonzero(hit)
        pairs = codes[rows] * width + cols
        if len(pairs) > FEW_PAIRS:      # each (cluster, column) pair once
            size = len(names) * width
            pairs = (np.flatnonzero(np.bincount(pairs, minlength=size))
                     if size <= 4 * len(pairs) + 4096 else np.unique(pairs))
        found: list[set[str]] = [set() for _ in range(width)]
        for pair in pairs.tolist():
            code, col = divmod(pair, width)
            found[col].add(names[code])
        return [(c, f) for c, f in zip(columns, found) if f]

    def down(self, x: np.ndarray, column: int) -> Iterator[str]:
        """The clusters of the rows of ``x`` where ``column`` is nonzero, row by row (again
        for each row)."""
        hit = x[:, column] != 0
        if not self.complete:
            hit &= self.codes >= 0
        return (self.names[c] for c in self.codes[hit].tolist())


class NonzeroUnits:
    """The units (names) whose sum in a column of ``per_unit`` (units x columns) is nonzero,
    the first :data:`HELD_CAP` of them (all a state notes). The
    matrix is read once, transposed, when a state first asks (a strided column of a wide
    matrix per group and column cost 21 ms over 50,000 images)."""

    def __init__(self, per_unit: np.ndarray, units: list[str]):
        self.per_unit, self.names, self.rows = per_unit, units, None

    def units(self, column: int) -> list[str]:
        if self.rows is None:
            self.rows = np.ascontiguousarray((self.per_unit != 0).T)
        return [self.names[u] for u in np.flatnonzero(self.rows[column])[:HELD_CAP].tolist()]
