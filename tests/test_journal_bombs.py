"""A crafted journal cannot make ``--resume`` allocate what it likes: the allow-listed
constructors that take a size or build object arrays (``bytearray(n)``, ``numpy.ndarray``,
numpy's ``_reconstruct`` and ``_frombuffer``, an object dtype, a dtype whose pickled flags claim
object items, ``set(range(n))``) are refused with the journal's usage error (exit 2, naming the
file) instead of a MemoryError or the OOM killer; what journals really hold still reads back."""

from __future__ import annotations

import collections
import datetime
import io
import pickle
import struct

import numpy as np
import pytest

from halluscope.errors import ConfigError
from halluscope.journal import _load
from tests.test_journal_safety import _chair, _resume_cli, _stopped

try:
    from numpy._core.multiarray import _reconstruct
    from numpy._core.numeric import _frombuffer
except ImportError:         # numpy < 2
    from numpy.core.multiarray import _reconstruct
    from numpy.core.numeric import _frombuffer

HUGE = 10 ** 12


class _Call:
    """Pickles as ``func(*args)``, then ``BUILD`` with ``state`` when given."""

    def __init__(self, func, args, state=None):
        self.func, self.args, self.state = func, args, state

    def __reduce__(self):
        return (self.func, self.args) if self.state is None else \
            (self.func, self.args, self.state)


def _object_flags_dtype():
    """A plain ``V8`` dtype whose pickled state sets the flags of an object dtype."""
    return _Call(np.dtype, ("V8", False, True), (3, "|", None, None, None, 8, 1, 63))


BOMBS = {
    "bytearray": _Call(bytearray, (HUGE,)),
    "ndarray": _Call(np.ndarray, ((HUGE,), "u1")),
    "ndarray-object": _Call(np.ndarray, ((2,), "O")),
    "reconstruct-shape": _Call(_reconstruct, (np.ndarray, (HUGE,), b"b")),
    "object-array-state": _Call(_reconstruct, (np.ndarray, (0,), b"b"),
                                (1, (HUGE,), np.dtype("O"), False, [1])),
    "object-flags-state": _Call(_reconstruct, (np.ndarray, (0,), b"b"),
                                (1, (HUGE,), _object_flags_dtype(), False, [1])),
    "object-dtype": np.dtype("O"),
    "object-field": np.dtype([("a", "f8"), ("b", "O")]),
    "frombuffer-object": _Call(_frombuffer, (b"\0" * 8, np.dtype("O"), (1,), "C")),
    "set-range": _Call(set, (range(10 ** 6),)),
    "frozenset-range": _Call(frozenset, (range(10 ** 6),)),
    "counter-range": _Call(collections.Counter, (range(10 ** 6),)),
}


@pytest.mark.parametrize("name", sorted(BOMBS))
@pytest.mark.parametrize("protocol", [4, 5])     # the header's, the entries'
def test_a_crafted_allocation_is_refused_naming_the_journal(tmp_path, name, protocol):
    journal = tmp_path / "items.journal.part"
    journal.write_bytes(pickle.dumps({"x": BOMBS[name]}, protocol=protocol))
    with pytest.raises(ConfigError) as err, open(journal, "rb") as fh:
        _load(fh, journal)
    said = str(err.value)
    assert str(journal) in said and "not written by halluscope" in said, said
    assert "without --resume" in said, said


def test_a_crafted_allocation_in_a_real_journal_exits_2(tmp_path):
    path, gt = _chair(tmp_path)
    out = tmp_path / "out"
    journal = _stopped(path, gt, out)
    with open(journal, "ab") as fh:         # after the real header and entries
        pickle.dump(BOMBS["object-array-state"], fh)
    run = _resume_cli(path, gt, out)
    said = " ".join(run.stderr.split())
    assert run.returncode == 2, run.stderr
    assert str(journal) in said and "Python objects" in said, said
    assert "MemoryError" not in said and not (out / "results.json").exists()


def test_inert_arrays_and_bytes_still_read_back(tmp_path):
    """What the guards let through, as written: arrays of every plain kind (structured,
    strings, dates, empty, Fortran order), bytearrays, sets, Counters, ranges."""
    values = {"f": np.arange(12.0).reshape(3, 4), "fortran": np.asfortranarray(np.eye(3)),
              "s": np.array([(1, 2.0)], dtype=[("a", "i4"), ("b", "f8")]),
              "u": np.array(["ab", "c"]), "t": np.array(["2026-01-02"], dtype="M8[s]"),
              "e": np.zeros((0, 5)), "b": np.array([True, False]), "v": np.void(b"ab"),
              "sc": np.int16(-3), "ba": bytearray(b"xyz"), "set": {1, 2}, "fs": frozenset("a"),
              "c": collections.Counter("abba"), "r": range(HUGE), "d": datetime.date(2026, 1, 2),
              "od": collections.OrderedDict(a=1)}
    for protocol in (4, 5):
        data = pickle.dumps(values, protocol=protocol)
        back = _load(io.BytesIO(data), tmp_path / "j")
        # the same, to the byte, as the unrestricted reader gives
        assert pickle.dumps(back, protocol=4) == pickle.dumps(pickle.loads(data), protocol=4)
        assert all(pickle.dumps(back[k]) == pickle.dumps(v) for k, v in values.items())


@pytest.mark.parametrize("opcode", [b"\x8e", b"\x96", b"\x95"])  # BINBYTES8, BYTEARRAY8, FRAME
def test_a_pickle_length_no_machine_gives_is_refused(tmp_path, opcode):
    """A length of the pickle itself (read before any global is looked up) that no address
    space holds: a refusal, not a MemoryError taken for a half-written entry."""
    journal = tmp_path / "items.journal.part"
    journal.write_bytes(b"\x80\x05" + opcode + struct.pack("<Q", 2 ** 50) + b"x.")
    with pytest.raises(ConfigError, match="more memory") as err, open(journal, "rb") as fh:
        _load(fh, journal)
    assert str(journal) in str(err.value)
