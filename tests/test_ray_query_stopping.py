"""SIGTERM around Ray's start and shutdown (``halluscope query --engine ray``, and the audit's
Ray engine, which start Ray the same way), found by a user-style bug hunt that sent SIGTERM to
``halluscope query --engine ray`` at random moments. Ray's own handlers are stood in for by a
fake ``ray`` module doing what Ray 2.x does, so that no test starts Ray or risks its own
process: ``ray.init`` first sets a SIGTERM handler that calls ``sys.exit(signum)``, and
``ray.shutdown`` resets the C-level SIGTERM disposition to the default while Python's
``signal.getsignal`` still names the old handler."""

from __future__ import annotations

import ctypes
import json
import os
import signal
import sys

import pytest

from fake_openai_server import FakeServer
from halluscope import _ray
from halluscope.adapters import ray_query

LINUX = sys.platform.startswith("linux")


def _c_sigterm_handler() -> int:
    """The C-level SIGTERM handler address (0: SIG_DFL), read with ``sigaction``."""
    libc = ctypes.CDLL(None, use_errno=True)
    buf = ctypes.create_string_buffer(512)      # larger than any struct sigaction
    assert libc.sigaction(signal.SIGTERM, None, buf) == 0
    return ctypes.c_void_p.from_buffer(buf).value or 0


def _sigterm_now() -> None:
    os.kill(os.getpid(), signal.SIGTERM)
    for _ in range(1000):       # a Python handler runs between bytecodes
        pass


class FakeRay:
    """Enough of ``ray`` for :func:`halluscope._ray.start_ray` and the query's actor pool."""

    def __init__(self, *, term_in_init: bool = False, term_in_get: bool = False):
        self.term_in_init, self.term_in_get = term_in_init, term_in_get
        self.up = False
        self.shut_down = 0

    def init(self, **kwargs):
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(signum))   # as Ray's
        if self.term_in_init:
            _sigterm_now()
        self.up = True

    def is_initialized(self):
        return self.up

    def cluster_resources(self):
        return {"CPU": 2.0}

    def remote(self, cls):
        class Actor:
            def __init__(self, *args):
                self.ready = self.close = self.ask = self

            def remote(self, *args):
                return "ref"

        class Cls:
            def options(self, **kwargs):
                return self

            def remote(self, *args):
                return Actor()
        return Cls()

    def get(self, refs, timeout=None):
        if self.term_in_get:       # once: the actors' ready calls
            self.term_in_get = False
            _sigterm_now()
        return refs

    def kill(self, actor):
        pass

    def get_runtime_context(self):
        class Context:
            def get_node_id(self):
                return "node"
        return Context()

    def cancel(self, ref, force=False):
        pass

    def shutdown(self):
        self.up = False
        self.shut_down += 1
        if LINUX:       # what Ray's core worker does at shutdown: SIG_DFL behind Python's back
            ctypes.CDLL(None).signal(signal.SIGTERM, ctypes.c_void_p(0))


@pytest.fixture
def sigterm_restored(monkeypatch):
    previous = signal.getsignal(signal.SIGTERM)
    monkeypatch.setattr(_ray, "terminated", False)
    yield
    signal.signal(signal.SIGTERM, previous)


def test_sigterm_while_ray_starts_is_an_interruption(sigterm_restored):
    """SIGTERM during ``ray.init`` (seconds of every Ray run) met Ray's handler,
    ``sys.exit(15)``: the run ended with exit 15, not 143, as no interruption."""
    with pytest.raises(KeyboardInterrupt):
        _ray.start_ray(FakeRay(term_in_init=True), None)
    assert _ray.was_terminated()
    assert signal.getsignal(signal.SIGTERM) is _ray._on_sigterm


@pytest.mark.skipif(not LINUX, reason="reads the C-level handler with sigaction")
def test_sigterm_after_ray_shut_down_still_meets_the_handler(sigterm_restored):
    """Ray's shutdown leaves SIGTERM's C-level disposition at the default while Python still
    names its handler: a SIGTERM while the run sheet was written killed the process (-15)."""
    fake = FakeRay()
    _ray.start_ray(fake, None)
    assert _c_sigterm_handler() != 0
    _ray.stop_ray(fake)
    assert fake.shut_down == 1
    assert _c_sigterm_handler() != 0
    assert signal.getsignal(signal.SIGTERM) is _ray._on_sigterm


@pytest.mark.parametrize("where", ["init", "actors"])
def test_a_query_terminated_while_its_actors_start_says_so(tmp_path, monkeypatch,
                                                           sigterm_restored, where):
    """SIGTERM before the first batch (Ray starting, actors getting ready) left a run sheet
    with ``aborted: null``: a run that looked finished, having asked nothing."""
    fake = FakeRay(term_in_init=where == "init", term_in_get=where == "actors")
    monkeypatch.setattr(ray_query, "import_ray", lambda: fake)
    prompts = tmp_path / "p.jsonl"
    prompts.write_text("".join(json.dumps({"id": f"p{i}", "prompt": f"Q{i}"}) + "\n"
                               for i in range(3)))
    out = tmp_path / "out.jsonl"
    with FakeServer() as server:
        with pytest.raises(KeyboardInterrupt):
            ray_query.query_ray(prompts, "vllm/m", out=out, base_url=server.url, cache=False,
                                workers=1)
        assert not server.requests
    sheet = json.loads((tmp_path / "out.jsonl.runsheet.json").read_text())
    assert sheet["aborted"] == "interrupted (SIGTERM); run again to ask what is left"
    # actors that never got ready are shut down with their Ray; a Ray interrupted while it
    # started is left to Ray's own exit handler (shutting it down then crashed the exit, -11)
    assert fake.shut_down == (1 if where == "actors" else 0)
