"""The clusters a bootstrap state has seen, as flags over names its metric numbers once.

:class:`~halluscope.metrics.stats.SumState` counts the distinct units (clusters) its items fell
in; a metric keeps one state overall and one per group, and each used to hold a ``set`` of unit
names: POPE over a million answers (166,667 images, ten groups) held 926,860 set entries, 52 MB
that grew with the images for nothing but their count. Here the names are numbered once per
metric (:class:`UnitNames`, shared by its states) and each state keeps a flag per number
(:class:`UnitSet`): 166,667 images are 167 KB a state. A :class:`UnitSet` is the set it
replaces for what states do with it (``update``, ``discard``, ``|=``, ``len``, truth,
iteration, ``==`` with a set); pickled, it is its names, and it is numbered again where it is read back.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

__all__ = ["UnitNames", "UnitSet"]


class UnitNames:
    """Unit names numbered in the order first seen (one numbering for a metric's states)."""

    __slots__ = ("names", "numbers")

    def __init__(self) -> None:
        self.numbers: dict[str, int] = {}
        self.names: list[str] = []

    def of(self, names: Iterable[str]) -> np.ndarray:
        """The numbers of ``names`` (new names numbered after the others): looked up in one
        pass of ``dict.get`` (a metric's group states look up names its overall state has
        numbered already), the new ones numbered in a second."""
        names = names if isinstance(names, list) else list(names)
        numbers, table = self.numbers, self.names
        try:
            return np.fromiter(map(numbers.get, names), dtype=np.int64, count=len(names))
        except TypeError:       # names not numbered yet (None from dict.get): number them
            pass
        new = list(dict.fromkeys(name for name in names if name not in numbers))
        numbers.update(zip(new, range(len(table), len(table) + len(new))))
        table.extend(new)
        return np.fromiter(map(numbers.get, names), dtype=np.int64, count=len(names))


class UnitSet:
    """The distinct unit names a state has seen: one flag per name of its :class:`UnitNames`."""

    __slots__ = ("_flags", "_n", "names")

    def __init__(self, names: UnitNames | None = None, units: Iterable[str] = ()):
        self.names = names if names is not None else UnitNames()
        self._flags = np.zeros(0, dtype=bool)
        self._n = 0
        self.update(units)

    def update(self, units: Iterable[str]) -> None:
        numbers = self.names.of(units)
        if not len(numbers):
            return
        top = int(numbers.max())
        if top >= len(self._flags):
            grown = np.zeros(max(top + 1, 2 * len(self._flags), 64), dtype=bool)
            grown[:len(self._flags)] = self._flags
            self._flags = grown
        self._flags[numbers] = True
        self._n = int(np.count_nonzero(self._flags))     # (a pass over bytes: no sort)

    def discard(self, name: object) -> None:
        number = self.names.numbers.get(name)      # type: ignore[call-overload]
        if number is not None and number < len(self._flags) and self._flags[number]:
            self._flags[number] = False
            self._n -= 1

    def __ior__(self, other: Iterable[str]) -> UnitSet:
        if isinstance(other, UnitSet) and other.names is self.names:
            if len(other._flags) > len(self._flags):
                self._flags, other_flags = other._flags.copy(), self._flags
            else:
                other_flags = other._flags
            self._flags[:len(other_flags)] |= other_flags
            self._n = int(np.count_nonzero(self._flags))
        else:
            self.update(other)
        return self

    def __len__(self) -> int:
        return self._n

    def __iter__(self) -> Iterator[str]:
        names = self.names.names
        return (names[i] for i in np.flatnonzero(self._flags).tolist())

    def __contains__(self, name: object) -> bool:
        try:
            number = self.names.numbers.get(name)  # type: ignore[call-overload]
        except TypeError:                           # (not hashable: not a name)
            return False
        return number is not None and number < len(self._flags) and bool(self._flags[number])

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (UnitSet, set, frozenset)):
            return len(self) == len(other) and all(name in other for name in self)
        return NotImplemented

    __hash__ = None     # type: ignore[assignment]

    def __getstate__(self) -> dict[str, Any]:
        return {"units": list(self)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.names, self._flags, self._n = UnitNames(), np.zeros(0, dtype=bool), 0
        self.update(state["units"])

    def __repr__(self) -> str:
        return f"UnitSet({len(self)} units)"
