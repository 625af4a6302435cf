"""One cache folder, one variable: ``HALLUSCOPE_CACHE`` (``HALLUSCOPE_CACHE_DIR`` is its
deprecated alias) for answers, evidence and CHAIR ground truth alike."""

from __future__ import annotations

import logging

import pytest

from halluscope import cachedir
from halluscope.adapters.cache import ResponseCache, open_response_cache
from halluscope.errors import InputError


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in ("HALLUSCOPE_CACHE", "HALLUSCOPE_CACHE_DIR", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(cachedir, "_warned", False)


def test_the_variable_names_the_folder_of_every_cache(monkeypatch, tmp_path):
    from halluscope.evidence.cache import evidence_cache_dir
    from halluscope.metrics.chair_gt import cache_dir as chair_cache_dir
    monkeypatch.setenv("HALLUSCOPE_CACHE", str(tmp_path / "c"))
    assert cachedir.default_cache_dir() == tmp_path / "c"
    assert evidence_cache_dir() == tmp_path / "c"
    assert chair_cache_dir() == tmp_path / "c" / "chair"
    store = ResponseCache()
    assert store.path == tmp_path / "c" / "responses.sqlite3"
    store.close()


def test_default_is_the_user_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cachedir.default_cache_dir() == tmp_path / "home" / ".cache" / "halluscope"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cachedir.default_cache_dir() == tmp_path / "xdg" / "halluscope"


def test_deprecated_alias_works_and_warns_once(monkeypatch, tmp_path, caplog):
    monkeypatch.setenv("HALLUSCOPE_CACHE_DIR", str(tmp_path / "old"))
    with caplog.at_level(logging.WARNING, logger="halluscope.cachedir"):
        assert cachedir.default_cache_dir() == tmp_path / "old"
        assert cachedir.default_cache_dir() == tmp_path / "old"
    warnings = [r.getMessage() for r in caplog.records if r.name == "halluscope.cachedir"]
    assert warnings == ["HALLUSCOPE_CACHE_DIR is deprecated: set HALLUSCOPE_CACHE instead "
                        "(same meaning)"]


def test_the_new_name_wins_over_the_alias(monkeypatch, tmp_path, caplog):
    monkeypatch.setenv("HALLUSCOPE_CACHE", str(tmp_path / "new"))
    monkeypatch.setenv("HALLUSCOPE_CACHE_DIR", str(tmp_path / "old"))
    with caplog.at_level(logging.WARNING, logger="halluscope.cachedir"):
        assert cachedir.default_cache_dir() == tmp_path / "new"
    assert not [r for r in caplog.records if r.name == "halluscope.cachedir"]


@pytest.mark.parametrize("value", ["off", "OFF", "none", "0", "false", "no"])
def test_off_turns_every_cache_off(monkeypatch, value):
    from halluscope.metrics.chair_gt import cache_dir as chair_cache_dir
    monkeypatch.setenv("HALLUSCOPE_CACHE", value)
    assert cachedir.default_cache_dir() is None
    assert chair_cache_dir() is None
    assert open_response_cache(None) == (None, False)
    assert open_response_cache(True) == (None, False)
    with pytest.raises(InputError, match="caching is off"):
        ResponseCache()


def test_an_explicit_folder_wins_over_off(monkeypatch, tmp_path):
    monkeypatch.setenv("HALLUSCOPE_CACHE", "off")
    store, owned = open_response_cache(tmp_path / "mine")
    assert owned and store.path == tmp_path / "mine" / "responses.sqlite3"
    store.close()
    assert open_response_cache(False) == (None, False)
