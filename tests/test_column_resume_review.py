"""Second-opinion review of ``--resume`` on the columnar path (halluscope.column_journal): an
interrupt that lands while a chunk's entry is being taken, and crafted journals whose state
would make the restricted unpickler allocate without bound or set what is not state."""

from __future__ import annotations

import io
import pickle

import numpy as np
import pytest

import halluscope.column_journal as column_journal
from halluscope.errors import ConfigError
from halluscope.journal import ChunkEntry
from halluscope.metrics.pope import PopeMetric
from halluscope.metrics.unit_sets import UnitNames
from test_column_resume import (_answers, _audit, _interrupted_then_resumed, _outputs,
                                _raise_at, _small_chunks)  # noqa: F401 - the fixture

__all__ = []


@pytest.mark.parametrize("nth", [2, 4])
def test_an_interrupt_while_a_chunk_entry_is_taken_resumes_alike(tmp_path, monkeypatch, nth):
    """Ctrl-C while the state after a chunk is pickled: the entry taken again on the way out
    must still list the unit names and bad records first seen in that chunk (before, they
    were counted as journaled already, the entry went out without them, and the resume
    numbered the units otherwise)."""
    answers = _answers(tmp_path, bad=[(70, "list"), (200, "json"), (330, "number")])
    result, _ = _interrupted_then_resumed(tmp_path, monkeypatch, answers, column_journal,
                                          "snapshot", nth)
    assert result.runsheet["execution"]["resumed"]["chunks_from_the_journal"] >= nth - 1
    assert len(result.errors) == 3


class _Call:
    """Pickles as a call of ``fn`` with ``args`` (what a crafted journal may hold)."""

    def __init__(self, fn, *args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return self.fn, self.args


def _load_state(raw: bytes, tmp_path):
    unpickler = column_journal._StateUnpickler(io.BytesIO(raw), tmp_path / "j", UnitNames(),
                                               frozenset())
    return unpickler.load()


@pytest.mark.parametrize("args", [
    (np.zeros(1, np.uint8), 10 ** 15),       # (numpy would pad: any amount of memory)
    (np.zeros(1, np.uint8), -1), (np.zeros(4, np.uint8), 3), ([0, 1], 16),
    (np.zeros(2, np.int64), 16), (np.zeros((1, 1), np.uint8), 8)])
def test_a_crafted_unit_set_is_refused_without_allocating(tmp_path, args):
    """The unit sets' reconstructors, which the state unpickler calls, accept only the packed
    flags :func:`numpy.packbits` gives for the count named."""
    for raw in (pickle.dumps(_Call(column_journal._unit_set, UnitNames(), *args)),
                pickle.dumps(_Call(column_journal._answered, *args))):
        with pytest.raises(column_journal.BadState):
            _load_state(raw, tmp_path)
    with pytest.raises(column_journal.BadState, match="unit names"):
        _load_state(pickle.dumps(_Call(column_journal._unit_set, 7, np.zeros(1, np.uint8), 8)),
                    tmp_path)


def test_the_unit_sets_written_are_read_back(tmp_path):
    from halluscope.metrics.unit_sets import UnitSet
    names = UnitNames()
    units = UnitSet(names, [f"u{i}" for i in range(13)])
    out = io.BytesIO()
    column_journal._StatePickler(out, names).dump(units)
    back = column_journal._StateUnpickler(io.BytesIO(out.getvalue()), tmp_path / "j", names,
                                          frozenset()).load()
    assert back._flags.tolist() == units._flags.tolist() and back._n == 13


def _crafted(tmp_path, monkeypatch, key, value):
    """An audit stopped after 2 chunks whose journaled states hold ``value`` under ``key``
    (``"metric.n_boot"``: in the metric's)."""
    answers = _answers(tmp_path)
    out = tmp_path / "out"
    real = column_journal._StatePickler.dump

    def dump(self, data):
        where, _, name = key.rpartition(".")
        (data[where] if where else data)[name] = value
        real(self, data)

    with monkeypatch.context() as mp:
        mp.setattr(column_journal._StatePickler, "dump", dump)
        _raise_at(mp, PopeMetric, "score_columns", 3)
        with pytest.raises(KeyboardInterrupt):
            _audit(answers, out)
    return answers, out


@pytest.mark.parametrize("key, value", [
    ("metric.n_boot", 3), ("metric.parser", "strict"), ("metric.__class__", ChunkEntry),
    ("tally.problems", []), ("surplus", 1), ("finish", None)])
def test_a_state_setting_what_is_not_state_is_refused(tmp_path, monkeypatch, key, value):
    """Only the attributes the metric's ``reset`` assigns and the tallies' own fields are set
    from a journal; anything else (a crafted or foreign journal) is refused as a usage error,
    never set on the metric or raised as an internal error."""
    answers, out = _crafted(tmp_path, monkeypatch, key, value)
    with pytest.raises(ConfigError, match="state is not one halluscope writes"):
        _audit(answers, out, resume=True)


def test_a_failed_write_of_items_journals_no_chunk_after_it(tmp_path, monkeypatch):
    """A write of a chunk's items that fails on the writer's thread (raised on the main thread
    only at a later hand-over) must not be followed by a chunk entry naming the file as it is:
    before, the entry went out with that chunk's items missing, and the resume went on from
    it, its items.jsonl short of them."""
    import time

    import halluscope.column_json as column_json
    answers = _answers(tmp_path)
    clean = tmp_path / "clean"
    _audit(answers, clean)
    out = tmp_path / "out"
    real = column_json.Writer._parts
    calls = {"n": 0}

    def failing(self, lines, parts):
        calls["n"] += 1
        if calls["n"] == 3:         # (slow: the next entry is handed over before it fails)
            time.sleep(0.5)
            raise ValueError("stopped here by the test")
        return real(self, lines, parts)

    with monkeypatch.context() as mp:
        mp.setattr(column_json.Writer, "_parts", failing)
        with pytest.raises(ValueError):
            _audit(answers, out)
    _audit(answers, out, resume=True)
    assert _outputs(out) == _outputs(clean)


def test_an_entry_journals_only_the_own_unit_ids_of_its_chunk(tmp_path, monkeypatch):
    """Clustered by item, the metric's ``_own_units`` grows with the items: each entry holds
    only the ids its chunk gave (before, its state held them all, and the journal grew with
    the square of the file), and the resume puts them back in order, repeats counted."""
    import halluscope.column_chunks as column_chunks
    from test_column_lines import _rows, _write
    monkeypatch.setattr(column_chunks, "CHUNK_BYTES", 40_000)
    questions, lines = _rows(3_000, labels=True)
    lines[2_000:2_000] = lines[100:110]         # (repeated ids: each another item)
    answers = _write(tmp_path, lines, questions=questions)
    options = {"questions": None, "cluster_by": "item"}
    out = tmp_path / "out"
    sizes = []
    real = column_journal.snapshot
    monkeypatch.setattr(column_journal, "snapshot",
                        lambda *a: sizes.append(len(real(*a))) or real(*a))
    with monkeypatch.context() as mp:
        _raise_at(mp, PopeMetric, "score_columns", 8)
        with pytest.raises(KeyboardInterrupt):
            _audit(answers, out, **options)
    assert len(sizes) >= 6
    # the state grows by the unit sets' packed flags only (a bit a unit), not by the ids
    assert sizes[5] - sizes[1] < 16_000, sizes    # (27,600 before: the ids too)
    clean = tmp_path / "clean"
    _audit(answers, clean, **options)
    _audit(answers, out, resume=True, **options)
    assert _outputs(out) == _outputs(clean)
