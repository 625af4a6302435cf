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
