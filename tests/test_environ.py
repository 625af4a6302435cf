"""Environment variables changed for a while are put back however the block ends: the tracking
hush (``audit --quiet --log ...``), the thread limit an engine holds while it warms its
metrics and the pytest plugin's offline switch each saved and restored them by hand; they use
:mod:`halluscope.environ` now, and an exception inside leaves the environment as it was."""

from __future__ import annotations

import logging
import os

import pytest

from halluscope.environ import environ_set, saved_environ
from halluscope.threadlimits import THREAD_VARIABLES, ThreadLimit
from halluscope.tracking import _hushed

A, B = "HALLUSCOPE_TEST_ENV_A", "HALLUSCOPE_TEST_ENV_B"


class Boom(Exception):
    pass


@pytest.mark.parametrize("fail", [False, True])
def test_environ_set_puts_back_values_and_unset_names(monkeypatch, fail):
    monkeypatch.setenv(A, "before")
    monkeypatch.delenv(B, raising=False)
    with pytest.raises(Boom) if fail else pytest.MonkeyPatch.context():
        with environ_set({A: "inside", B: "new"}):
            assert (os.environ[A], os.environ[B]) == ("inside", "new")
            os.environ[A] = "changed by the block"
            if fail:
                raise Boom
    assert os.environ[A] == "before" and B not in os.environ


def test_environ_set_none_unsets_for_the_block(monkeypatch):
    monkeypatch.setenv(A, "before")
    with environ_set({A: None}):
        assert A not in os.environ
    assert os.environ[A] == "before"


def test_a_value_that_cannot_be_set_leaves_nothing_behind(monkeypatch):
    monkeypatch.delenv(A, raising=False)
    monkeypatch.setenv(B, "before")
    with pytest.raises(ValueError):
        with environ_set({B: "set first", A: "nul\0inside"}):
            pass                                         # pragma: no cover - never entered
    assert os.environ[B] == "before" and A not in os.environ


def test_saved_environ_restores_only_what_it_names(monkeypatch):
    monkeypatch.delenv(A, raising=False)
    monkeypatch.delenv(B, raising=False)
    with pytest.raises(Boom):
        with saved_environ([A]):
            os.environ[A] = os.environ[B] = "set inside"
            raise Boom
    assert A not in os.environ and os.environ[B] == "set inside"
    monkeypatch.delenv(B)


@pytest.mark.parametrize("tracker", ["wandb", "mlflow"])
def test_hushed_puts_the_switches_back_when_the_tracker_raises(monkeypatch, tracker):
    """A tracker that fails mid-logging (a server down) left the process hushed: later
    loggings (the pytest plugin logs several audits in one process) printed nothing."""
    monkeypatch.setenv("WANDB_SILENT", "false")
    monkeypatch.delenv("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", raising=False)
    if tracker == "mlflow":     # (MLflow sets its logger's level when imported)
        pytest.importorskip("mlflow")
    mlflow_log = logging.getLogger("mlflow")
    before = mlflow_log.level
    with pytest.raises(Boom):
        with _hushed(True, tracker):
            assert os.environ["WANDB_SILENT"] == "true"
            assert mlflow_log.getEffectiveLevel() >= logging.WARNING
            raise Boom
    assert os.environ["WANDB_SILENT"] == "false"
    assert "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT" not in os.environ
    assert mlflow_log.level == before


def test_thread_limit_puts_the_variables_back_on_an_exception(monkeypatch):
    for var in THREAD_VARIABLES:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "7")             # the user's: kept, and back after
    with pytest.raises(Boom):
        with ThreadLimit(2):
            assert os.environ["OMP_NUM_THREADS"] == "7"
            assert os.environ["OPENBLAS_NUM_THREADS"] == "2"
            raise Boom
    assert os.environ["OMP_NUM_THREADS"] == "7"
    assert not any(var in os.environ for var in THREAD_VARIABLES[1:])


def test_a_thread_limit_that_fails_to_start_sets_nothing(monkeypatch):
    for var in THREAD_VARIABLES:
        monkeypatch.delenv(var, raising=False)
    import halluscope.threadlimits as threadlimits

    def half(threads):
        os.environ["OMP_NUM_THREADS"] = str(threads)
        raise Boom
    monkeypatch.setattr(threadlimits, "limit_threads", half)
    with pytest.raises(Boom):
        with ThreadLimit(2):
            pass                                         # pragma: no cover - never entered
    assert not any(var in os.environ for var in THREAD_VARIABLES)
