"""Resuming an audit scored as columns (:mod:`halluscope.column_scoring`), a chunk at a time.

The line path journals every line's outcomes and, on ``--resume``, folds them all again
(:mod:`halluscope.journal`). A flat answer file scored as columns is folded a chunk (about 4 MiB,
40,000 POPE answers) at a time, and its items are written from whole columns: there are no
per-line outcomes to replay. Instead, once a chunk is scored, folded and its items handed to
the writer, the same journal (its header, the same checks of inputs, options and code) receives
a :class:`~halluscope.journal.ChunkEntry`: where the chunk ends in its file, how many bytes of
items were written up to it and their sha256, and what the metric, the tallies and the reader
hold after it (:func:`state_names`: the attributes the metric's ``reset`` assigns). The entry is
written on the items' writer thread once the chunk's items are on disk, so an entry never
names items that are not there.

``--resume`` (:class:`ResumePlan`) checks that the items written before the interrupt are the
journaled ones (their sha256), cuts them after the last chunk journaled, restores the state
and passes the finished chunks unread (each checked for its size in bytes and lines), then
scores the rest as an uninterrupted run would: the same items, to the byte, and the same
state, to the bit. What changed in between is refused by the journal's header (inputs, options,
companion files, code) or by a chunk of another size; items that are not the journaled ones (or
a chunk size that is not this run's) make the audit start afresh, with a warning.

The state is pickled with the metric's unit names and own-unit ids left out
(:class:`_StatePickler`: only the names first seen and the ids given in each chunk are
journaled, with the chunk: :class:`OwnUnits`) and each unit set as its packed
flags, so that an entry costs a few milliseconds however many images were seen; it is read back
by the journal's restricted unpickler, which admits here only the state classes named in
:data:`_STATE_GLOBALS` (none runs code when unpickled: ``tests/test_column_resume.py``).
"""

from __future__ import annotations

import hashlib
import io
import logging
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from halluscope.errors import ConfigError
from halluscope.journal import ChunkEntry, Journal
from halluscope.journal_safety import _JournalUnpickler
from halluscope.metrics.unit_sets import UnitNames, UnitSet

log = logging.getLogger(__name__)

_TALLY = ("items", "skipped", "scored", "empty", "bad_lines", "passed_by")
"""The :class:`~halluscope.scoring.StreamTally` fields a chunk's entry holds (its problems are
journaled as they come, each with the chunk that listed it)."""

_STATE_GLOBALS = frozenset({
    ("halluscope.metrics.stats", "SumState"), ("halluscope.metrics.unit_sets", "UnitNames"),
    ("halluscope.metrics.pope_coverage", "Answered"), ("halluscope.metrics.units", "ImageKeys"),
    ("halluscope.column_journal", "_unit_set"), ("halluscope.column_journal", "_answered"),
})
"""What a metric's state pickled by :func:`snapshot` may name beyond what any journal may
(:mod:`halluscope.journal_safety`): the classes of the built-in metrics' states (plain classes
without ``__new__``, ``__setstate__`` or ``__reduce__`` of their own: unpickling one only fills
its attributes) and the unit sets' reconstructor."""


def state_names(metric: Any) -> tuple[str, ...]:
    """The attributes of ``metric`` that its ``reset`` assigns (its state), found by running
    ``reset`` on a copy that notes what is assigned: the state is what ``reset`` makes anew."""
    names: list[str] = []

    class _Noting(type(metric)):        # type: ignore[misc, valid-type]
        def __setattr__(self, name: str, value: Any) -> None:
            names.append(name)
            object.__setattr__(self, name, value)

    probe = object.__new__(_Noting)
    probe.__dict__.update(metric.__dict__)
    _Noting.reset(probe)
    return tuple(dict.fromkeys(names))


class BadState(ValueError):
    """A journaled state that :func:`snapshot` cannot have written (:meth:`ResumePlan.restore`
    refuses the resume, naming the journal)."""


def _unpacked(packed: Any, size: Any) -> np.ndarray:
    """The ``size`` flags :func:`numpy.packbits` packed into ``packed``; :class:`BadState`
    unless ``packed`` holds exactly those bits (``count`` beyond them would make numpy pad
    with zeros: a crafted journal could ask for any amount of memory)."""
    if type(packed) is not np.ndarray or packed.dtype != np.uint8 or packed.ndim != 1 or \
            type(size) is not int or size < 0 or len(packed) != (size + 7) // 8:
        raise BadState(f"expected the packed flags of a unit set, got {type(packed).__name__} "
                       f"of {getattr(packed, 'shape', '?')} for {size!r} flags")
    return np.unpackbits(packed, count=size).astype(bool)


def _unit_set(names: UnitNames, packed: np.ndarray, size: int) -> UnitSet:
    """A :class:`UnitSet` of ``names`` whose flags are ``packed`` (:func:`numpy.packbits`)."""
    if type(names) is not UnitNames:
        raise BadState(f"expected the unit names of a unit set, got {type(names).__name__}")
    units = UnitSet.__new__(UnitSet)
    units.names = names
    units._flags = _unpacked(packed, size)
    units._n = int(np.count_nonzero(units._flags))
    return units


def _answered(packed: np.ndarray, size: int) -> Any:
    """An :class:`~halluscope.metrics.pope_coverage.Answered` whose flags are ``packed``
    (:func:`numpy.packbits`)."""
    from halluscope.metrics.pope_coverage import Answered
    answered = Answered.__new__(Answered)
    answered._flags = _unpacked(packed, size)
    answered._n = int(np.count_nonzero(answered._flags))
    return answered


class OwnUnits(dict):
    """A metric's ``_own_units`` (the ids :func:`~halluscope.metrics.units.unit_of` saw, each
    with how many times) noting the ids it is given (``touched``): an entry journals only
    those of its chunk (:attr:`ChunkEntry.own`), not the whole dict, which grows with the
    items where units come from the records (``--cluster-by item``)."""

    def __init__(self, *args: Any):
        super().__init__(*args)
        self.touched: list[str] = []

    def __setitem__(self, key: str, value: int) -> None:
        self.touched.append(key)
        super().__setitem__(key, value)

    def __reduce__(self) -> Any:        # (pickled elsewhere as the dict it is)
        return dict, (dict(self),)


class _StatePickler(pickle.Pickler):
    """Pickles a state with ``names`` (the metric's :class:`UnitNames`) and ``own`` (its
    :class:`OwnUnits`) left out, to be given back on loading, and each :class:`UnitSet` and
    ``Answered`` as its packed flags."""

    def __init__(self, fh: Any, names: Any, own: Any = None):
        from halluscope.metrics.pope_coverage import Answered
        super().__init__(fh, protocol=pickle.HIGHEST_PROTOCOL)
        self._names, self._own, self._answered = names, own, Answered

    def persistent_id(self, obj: Any) -> str | None:
        if obj is self._names and obj is not None:
            return "unit names"
        return "own units" if obj is self._own and obj is not None else None

    def reducer_override(self, obj: Any) -> Any:
        if type(obj) is UnitSet:
            return _unit_set, (obj.names, np.packbits(obj._flags), len(obj._flags))
        if type(obj) is self._answered:
            return _answered, (np.packbits(obj._flags), len(obj._flags))
        return NotImplemented


class _StateUnpickler(_JournalUnpickler):
    """The journal's restricted unpickler, admitting :data:`_STATE_GLOBALS` too and giving the
    unit names back."""

    def __init__(self, fh: Any, path: Path, names: UnitNames, modules: frozenset[str],
                 own: OwnUnits | None = None):
        super().__init__(fh, path, modules)
        self._names, self._own = names, own

    def persistent_load(self, pid: Any) -> Any:
        if pid == "own units" and self._own is not None:
            return self._own
        if pid != "unit names":
            raise ConfigError(f"{self.path}: cannot resume: an unknown reference {pid!r} in "
                              f"the journal; run without --resume to start again")
        return self._names

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _STATE_GLOBALS:
            return pickle._Unpickler.find_class(self, module, name)  # type: ignore[attr-defined]
        return super().find_class(module, name)


def snapshot(metric: Any, names: tuple[str, ...], tally: Any, finish: Any, extra: dict
             ) -> bytes:
    """The state after a chunk, pickled: the metric's ``names`` attributes, the tallies (but
    their problems), the finish screen's counts and ``extra`` (the reader's and the pass's)."""
    data = {"metric": {k: getattr(metric, k) for k in names if hasattr(metric, k)},
            "tally": {k: getattr(tally, k) for k in _TALLY},
            "finish": (finish.kinds, finish.unrecognised), **extra}
    out = io.BytesIO()
    own = getattr(metric, "_own_units", None)
    _StatePickler(out, getattr(metric, "_unit_names", None),
                  own if type(own) is OwnUnits else None).dump(data)
    return out.getvalue()


class Checkpoints:
    """The chunk entries of one columnar pass (:meth:`entry`), and what a resume restores
    (:attr:`plan`, ``None`` for a fresh pass)."""

    def __init__(self, journal: Journal, metric: Any, chunk_bytes: int, fold: dict):
        self.journal, self.metric, self.chunk_bytes = journal, metric, chunk_bytes
        self.fold = fold            # the options the state is folded with (fold_options)
        self.names = state_names(metric)
        self.names_done = 0         # unit names journaled so far
        self.problems_done = 0      # bad records journaled so far
        self.plan: ResumePlan | None = None
        self.note_own()

    def note_own(self) -> None:
        """Have the metric's ``_own_units`` note the ids it is given from now on."""
        own = getattr(self.metric, "_own_units", None)
        if isinstance(own, dict) and type(own) is not OwnUnits:
            self.metric._own_units = OwnUnits(own)

    def entry(self, mark: dict, tally: Any, finish: Any) -> ChunkEntry:
        """The entry of the chunk ``mark`` names (``file``, ``chunk``, ``lines``, ``sizes`` and
        the state the pass keeps: ``extra``), but for the items written up to it (filled in on
        the writer's thread). Taken once the chunk is folded, before the next one is scored.
        Nothing changes here (an interrupt inside may take it again): :meth:`taken` says it
        was handed over."""
        unit_names = getattr(self.metric, "_unit_names", None)
        new_names = list(unit_names.names[self.names_done:]) if unit_names is not None else []
        problems = tally.problems[self.problems_done:]
        own = getattr(self.metric, "_own_units", None)
        touched = {k: own[k] for k in dict.fromkeys(own.touched)} \
            if type(own) is OwnUnits else {}
        return ChunkEntry(mark["file"], mark["chunk"], mark["lines"], mark["sizes"],
                          self.chunk_bytes, -1, None, new_names, problems,
                          snapshot(self.metric, self.names, tally, finish, mark["extra"]),
                          self.fold, touched)

    def taken(self, entry: ChunkEntry) -> None:
        """``entry`` is handed to the journal: its unit names and bad records are journaled."""
        self.names_done += len(entry.names)
        self.problems_done += len(entry.problems)
        own = getattr(self.metric, "_own_units", None)
        if type(own) is OwnUnits:
            own.touched.clear()     # (nothing is scored between the entry and here)


class ResumePlan:
    """What a resumed columnar pass goes on from: the last chunk journaled (``last``), each
    file's journaled chunk sizes, and (:meth:`restore`) the state after it."""

    def __init__(self, journal: Journal, hasher: Any):
        self.entries = list(journal.chunks)     # (the pass appends to the journal's)
        self.last = journal.chunks[-1]
        self.hasher = hasher
        self.path = journal.path
        self.modules = getattr(journal, "modules", frozenset())

    def sizes(self, file: int) -> list[tuple[int, int]]:
        return [e.sizes for e in self.entries if e.file == file]

    def restore(self, metric: Any, tally: Any, finish: Any) -> dict:
        """Put the journaled state into ``metric``, ``tally`` and ``finish``; the rest of
        the state (the reader's, the pass's) is returned."""
        names = UnitNames()
        for entry in self.entries:
            names.names.extend(entry.names)
        names.numbers = {name: i for i, name in enumerate(names.names)}
        own = OwnUnits()
        for entry in self.entries:      # (in order: each id where it was first given)
            if type(entry.own) is not dict:
                raise ConfigError(f"{self.path}: cannot resume: a chunk entry's ids are not "
                                  f"a dict; run without --resume to start again")
            dict.update(own, entry.own)
        try:
            data = _StateUnpickler(io.BytesIO(self.last.state), self.path, names,
                                   self.modules, own).load()
            _check_state(data, state_names(metric))
        except (BadState, pickle.UnpicklingError, EOFError) as exc:
            raise ConfigError(f"{self.path}: cannot resume: its last chunk's state is not one "
                              f"halluscope writes ({exc}); run without --resume to start "
                              f"again") from None
        for key, value in data.pop("metric").items():
            setattr(metric, key, value)
        for key, value in data.pop("tally").items():
            setattr(tally, key, value)
        tally.problems = [p for e in self.entries for p in e.problems]
        finish.kinds, finish.unrecognised = data.pop("finish")
        return data

    def lines(self) -> int:
        return sum(e.sizes[1] for e in self.entries)

    def note(self, paths: list[Path], items: int) -> dict[str, Any]:
        """The run sheet's ``execution.resumed`` of a resumed columnar pass (``items``: the
        item lines taken from before the interrupt)."""
        from halluscope.textfiles import path_text
        last = self.last
        where = (f"{path_text(str(paths[last.file]))}:{last.lines + 1}"
                 if last.file < len(paths) else None)
        return {"chunks_from_the_journal": len(self.entries),
                "lines_from_the_journal": self.lines(),
                "items_from_the_journal": items,
                "scored_from": where,
                "how": "the chunks scored as columns before the interrupt were taken from the "
                       "journal (the state after the last one, and the items written up to it, "
                       "checked by their sha256), not read or scored again; the rest was "
                       "scored as in an uninterrupted run"}


_EXTRA = frozenset({"reader", "apart", "mixing"})
"""What a state holds beside the metric's, the tallies' and the finish screen's (the pass's)."""


def _check_state(data: Any, names: tuple[str, ...]) -> None:
    """:class:`BadState` unless ``data`` has the shape :func:`snapshot` gives: only the
    metric's state attributes (``names``) and the tallies' fields are ever set from it."""
    if type(data) is not dict or set(data) != {"metric", "tally", "finish"} | _EXTRA:
        raise BadState(f"expected the keys metric, tally, finish, {', '.join(sorted(_EXTRA))}")
    if type(data["metric"]) is not dict or not set(data["metric"]) <= set(names):
        extra = sorted(set(data["metric"]) - set(names)) if type(data["metric"]) is dict else []
        raise BadState(f"expected the metric's state attributes, got {extra or 'another type'}")
    if type(data["tally"]) is not dict or set(data["tally"]) != set(_TALLY):
        raise BadState(f"expected the tallies {', '.join(_TALLY)}")
    if type(data["finish"]) is not tuple or len(data["finish"]) != 2:
        raise BadState("expected the finish screen's two counts")


def fold_options(cfg: Any) -> dict[str, Any]:
    """The options a chunk's state is folded with, of :data:`~halluscope.journal.FOLD_ONLY`
    (the line path folds its journaled outcomes again, so a resume may change them there;
    the confidence only reads the replicates, so it may change here too)."""
    from halluscope.journal_diff import FOLD_ONLY
    return {k: json_ready(getattr(cfg, k)) for k in FOLD_ONLY if k != "confidence"}


def json_ready(value: Any) -> Any:
    """``value`` as the journal compares it (a tuple as a list)."""
    return list(value) if isinstance(value, (list, tuple)) else value


def _check_fold(journal: Journal, fold: dict[str, Any]) -> None:
    """A :class:`ConfigError` naming each option the journaled chunks were folded otherwise
    with: their state holds the bootstrap's replicates and the groups already."""
    last = journal.chunks[-1].fold
    said = [f"option {k}: expected {last.get(k)!r} as journaled, got {v!r}"
            for k, v in fold.items() if last.get(k) != v]
    if said:
        raise ConfigError(
            f"{journal.path}: cannot resume: {'; '.join(said)} (the chunks scored as columns "
            f"were folded with it: their bootstrap replicates and groups are in the journal, "
            f"not their answers' outcomes); resume with the journaled value, or run without "
            f"--resume to start again")


def resume_plan(journal: Journal | None, sink: Any, chunk_bytes: int,
                fold: dict[str, Any] | None = None) -> ResumePlan | None:
    """The :class:`ResumePlan` of ``journal``'s chunks, with ``sink`` (the items file, open
    for reading and writing) cut after the last one's items; ``None`` when there is nothing
    to resume (no chunk journaled), or, with a warning, when the items written are not the
    journaled ones or the chunks were read in another size: then the chunks are forgotten
    and ``sink`` emptied (the pass starts afresh). Chunks folded with other ``fold`` options
    (:func:`fold_options`) are refused, naming them."""
    if journal is None or not journal.chunks:
        return None
    if fold is not None:
        _check_fold(journal, fold)
    last = journal.chunks[-1]
    why = None
    if any(e.chunk_bytes != chunk_bytes for e in journal.chunks):
        why = f"its chunks were read {last.chunk_bytes:,} bytes at a time, this run's " \
              f"{chunk_bytes:,}"
    hasher = None if why else _items_prefix(sink, last)
    if why is None and hasher is None:
        why = "the items written before the interrupt are not the journaled ones"
    if why is not None:
        log.warning("--resume: %s (%s): scoring the answers afresh", journal.path, why)
        journal.cut_chunks()
        sink.seek(0)
        sink.truncate()
        return None
    if last.state is None:
        raise ConfigError(f"{journal.path}: cannot resume: its last chunk entry holds no "
                          f"state; run without --resume to start again")
    return ResumePlan(journal, hasher)


def _items_prefix(sink: Any, last: ChunkEntry) -> Any:
    """A sha256 object fed the first ``last.items`` bytes of ``sink`` when they are those
    journaled (``sink`` is then cut there, and positioned to write on); else ``None``."""
    raw = sink.buffer if hasattr(sink, "buffer") else None
    if raw is None:
        return None
    sink.flush()
    raw.seek(0)
    hasher, left = hashlib.sha256(), last.items
    while left:
        block = raw.read(min(left, 1 << 22))
        if not block:
            return None
        hasher.update(block)
        left -= len(block)
    if last.items_sha256 is not None and hasher.hexdigest() != last.items_sha256:
        return None
    sink.seek(last.items)
    sink.truncate()
    return hasher if last.items_sha256 is not None else None


def open_items(tmp_path: Path, items_path: Path, journal: Journal | None) -> Any:
    """The items file a pass writes: ``tmp_path`` afresh, or, where ``journal`` holds chunks
    scored as columns, the one the interrupted pass wrote (``tmp_path``, or ``items_path``
    when the pass had ended and the interrupt came in the finish step), open to read and
    write (:func:`resume_plan` checks it and cuts it)."""
    if journal is not None and journal.chunks:
        if not tmp_path.exists() and items_path.is_file():
            items_path.replace(tmp_path)
        if tmp_path.is_file():
            return open(tmp_path, "r+", encoding="utf-8")
    return open(tmp_path, "w", encoding="utf-8")


__all__ = ["BadState", "Checkpoints", "OwnUnits", "ResumePlan", "fold_options", "open_items",
           "resume_plan", "snapshot", "state_names"]
