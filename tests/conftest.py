"""Shared test helpers: where the public reference data lives.

``shared_data_dir()`` is ``$HALLUSCOPE_SHARED_DATA`` if set, else ``../shared/data`` beside the
repository; ``None`` when it is not there (fidelity tests then skip with a reason).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def shared_data_dir(*required: str) -> Path | None:
    """The shared data folder if it exists and holds every ``required`` sub-path."""
    env = os.environ.get("HALLUSCOPE_SHARED_DATA")
    path = Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared" / "data"
    if not path.is_dir() or not all((path / r).exists() for r in required):
        return None
    return path


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared data folder; skips the test when it is absent."""
    path = shared_data_dir()
    if path is None:
        pytest.skip("shared reference data not found (set HALLUSCOPE_SHARED_DATA or place it "
                    "at ../shared/data)")
    return path


@pytest.fixture(scope="session", autouse=True)
def _own_cache_folder(tmp_path_factory):
    """The tests' cache folder is their session's own, never the user's ``~/.cache/halluscope``:
    a query test against a loopback server on a port an earlier run (another day's) had used
    found that run's answer in the shared cache and asked the server nothing. A test that sets
    ``HALLUSCOPE_CACHE`` itself (monkeypatch) still decides for itself."""
    before = os.environ.get("HALLUSCOPE_CACHE")
    os.environ["HALLUSCOPE_CACHE"] = str(tmp_path_factory.mktemp("halluscope-cache"))
    yield
    if before is None:
        os.environ.pop("HALLUSCOPE_CACHE", None)
    else:
        os.environ["HALLUSCOPE_CACHE"] = before


def pope_prompt_file(folder: Path, n: int = 8, text: str = "Is there a dog {i}?") -> Path:
    """``folder/pope.jsonl``: ``n`` POPE questions (``text`` formatted with the question's
    number; labels alternate no/yes) on two tiny images, ``img0.png`` and ``img1.png``."""
    import json

    from PIL import Image
    for k in range(2):
        Image.new("RGB", (8, 8), (40 * k, 90, 200)).save(folder / f"img{k}.png")
    path = folder / "pope.jsonl"
    path.write_text("".join(json.dumps({
        "question_id": i, "image": f"img{i % 2}.png", "text": text.format(i=i),
        "label": "yes" if i % 2 else "no"}) + "\n" for i in range(n)))
    return path


def document_answers(path: Path, document: str, rows) -> Path:
    """Write ``path``: one document-task answer line per ``(id, response)`` of ``rows``, each
    citing ``document``, as a page-grounding audit reads them."""
    import json

    path.write_text("".join(json.dumps({"id": i, "task": "document", "document": document,
                                        "response": r}) + "\n" for i, r in rows))
    return path


def write_results(run: Path, results: dict) -> None:
    """Write ``results`` as ``run``'s results.json with its own sha256 (``digest``) stamped
    afresh, as a tool that rewrites a run's outputs consistently would: the tests that use it
    look past that check, at what the file says."""
    import json

    from halluscope.result import DIGEST, results_digest
    results = {**results}
    results[DIGEST] = results_digest(results)
    (Path(run) / "results.json").write_text(json.dumps(results), encoding="utf-8")


@pytest.fixture(scope="module")
def local_ray():
    """A local Ray instance with 2 CPUs for one test module (the tests' cluster)."""
    ray = pytest.importorskip("ray", reason="ray is not installed (pip install 'halluscope[ray]')")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def _keep_halluscope_modules_across_inline_runs() -> None:
    """An in-process ``pytester.runpytest`` restores ``sys.modules`` afterwards, dropping every
    module it loaded first; a halluscope module dropped so is loaded again by the next import,
    beside the copies of its classes that modules loaded before still hold, and an isinstance
    check between the two fails ("'Coded' object is not subscriptable") in whichever test the
    order of the run puts after it. Keep halluscope's modules as a user's one process would:
    pytest's snapshot already keeps a few (zope, readline) by a ``preserve`` test; widen it."""
    from _pytest import pytester
    base = getattr(pytester, "SysModulesSnapshot", None)
    if base is None or getattr(base, "_keeps_halluscope", False):
        return

    class KeepHalluscope(base):
        _keeps_halluscope = True

        def __init__(self, preserve=None):
            def keep(name: str) -> bool:
                return name == "halluscope" or name.startswith("halluscope.") or \
                    bool(preserve and preserve(name))
            super().__init__(preserve=keep)

    pytester.SysModulesSnapshot = KeepHalluscope


_keep_halluscope_modules_across_inline_runs()
