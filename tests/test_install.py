"""The install is reproducible: the set-up installs from requirements.lock, and the environment
the tests run in is the locked one."""

from __future__ import annotations

import importlib.util
import re
import sys
import tomllib
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _check_lock():
    spec = importlib.util.spec_from_file_location("check_lock", ROOT / "scripts" / "check_lock.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_setup_installs_from_the_lock():
    setup = (ROOT / "scripts" / "setup.sh").read_text()
    assert '-c requirements.lock -e ".[all,dev,hf-datasets,wandb,mlflow]"' in setup
    assert "scripts/check_lock.py requirements.lock" in setup
    # the stamp follows the lock, so a new lock reinstalls
    assert "requirements.lock" in setup.split("want=")[1].splitlines()[0]


def test_lock_pins_every_extra_the_setup_installs():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    check = _check_lock()
    pins = check.read_lock(ROOT / "requirements.lock")
    wanted = list(pyproject["project"]["dependencies"])
    extras = pyproject["project"]["optional-dependencies"]
    for name, reqs in extras.items():
        wanted.extend(r for r in reqs if not r.startswith("halluscope["))
    missing = []
    for req in wanted:
        name = check.canonical(re.split(r"[<>=!~\[; ]", req, maxsplit=1)[0])
        if name not in pins:
            missing.append(name)
    assert not missing, f"requirements without a pin in requirements.lock: {missing}"
    assert pins["torch"] == "2.14.1" and pins["torchvision"] == "0.29.1"


def test_lock_binds_to_no_machine(tmp_path):
    """A pin such as `halluscope @ file:///work/main` made CI's fresh clone (another path) fail
    with ResolutionImpossible: the lock holds plain `name==version` pins only."""
    check = _check_lock()
    assert check.lint(ROOT / "requirements.lock") == []
    bad = tmp_path / "bad.lock"
    bad.write_text("numpy==2.4.6\n    # via x\nhalluscope @ file:///work/main\n"
                   "halluscope==0.1.0\n-e .\nrequests>=2\n", encoding="utf-8")
    problems = check.lint(bad)
    assert [p.split(":")[1] for p in problems] == ["3", "4", "5", "6"]
    assert "pins itself" in problems[1]


def test_environment_is_the_locked_one():
    check = _check_lock()
    errors, _unlocked = check.differences(check.read_lock(ROOT / "requirements.lock"))
    if errors and not (ROOT / ".venv").resolve() == Path(sys.prefix).resolve():
        pytest.skip("not running in the project's .venv (make test-latest or another "
                    "environment): the lock is not expected to hold here")
    assert errors == [], "\n".join(errors)


def test_opencv_capped_below_5_with_the_reason():
    text = (ROOT / "pyproject.toml").read_text()
    assert '"opencv-python-headless>=4.8,<5"' in text
    before = text.split('"opencv-python-headless>=4.8,<5"')[0].splitlines()[-4:]
    assert any("TensorFlow importer" in line for line in before)


def test_opencv5_without_tensorflow_importer_is_a_clear_config_error(monkeypatch):
    from halluscope.errors import ConfigError
    from halluscope.evidence import detect_cocossd

    fake_dnn = types.SimpleNamespace(readNet=lambda *a: None)     # OpenCV 5: no TF importer
    fake_cv2 = types.SimpleNamespace(__version__="5.1.0", dnn=fake_dnn)
    monkeypatch.setattr(detect_cocossd, "require", lambda *a, **k: fake_cv2)
    with pytest.raises(ConfigError, match=r"OpenCV 5\.1\.0.*opencv-python-headless>=4\.8,<5"):
        detect_cocossd.CocoSsdDetector()


def test_version_module_matches_pyproject():
    """halluscope._version (imported by the low modules instead of the package) is the
    version pyproject declares."""
    from halluscope._version import __version__
    assert tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"] \
        == __version__
