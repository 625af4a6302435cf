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
