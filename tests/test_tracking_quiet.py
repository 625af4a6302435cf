"""``audit --quiet --log wandb --log mlflow``: the trackers' own notes (W&B's banner and run
summary, MLflow's "Creating a new experiment" and the URLs it writes to stdout for a server)
filled the terminal of a run asked to be quiet. They are kept off it; a tracker failure and
halluscope's own warnings are still said."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from halluscope.api import audit
from halluscope.tracking import _hushed, log_run
from test_clusters import _pope_rows

ROOT = Path(__file__).resolve().parents[1]


def _env(tmp: Path, **more: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WANDB_", "MLFLOW_"))}
    env.update(PYTHONPATH=str(ROOT), WANDB_MODE="offline", **more)
    return env


def _cli(tmp: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    rows = tmp / "rows.jsonl"
    rows.write_text("".join(json.dumps(r) + "\n" for r in _pope_rows(n_images=12)))
    return subprocess.run([sys.executable, "-m", "halluscope", "audit", str(rows), "-m", "pope",
                           "--bootstrap", "0", "--out", str(tmp / "o"), *args],
                          capture_output=True, text=True, env=env, timeout=300)


def test_quiet_audit_logged_to_both_trackers_prints_nothing_but_the_gate(tmp_path):
    pytest.importorskip("wandb")
    pytest.importorskip("mlflow")
    res = _cli(tmp_path, "-q", "--log", "wandb", "--log", "mlflow", "--fail-below",
               "pope.f1=0.999", env=_env(tmp_path))
    assert res.returncode == 1, res.stderr
    assert res.stdout == ""
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert lines and all(line.startswith("gate failed: pope.f1") for line in lines), res.stderr
    # logged all the same, the failed gate as the outcome
    assert list((tmp_path / "o/wandb").glob("offline-run-*"))
    assert (tmp_path / "o/mlruns").is_dir()


def test_quiet_still_says_a_tracker_that_cannot_be_reached(tmp_path):
    pytest.importorskip("mlflow")
    res = _cli(tmp_path, "-q", "--log", "mlflow", env=_env(
        tmp_path, MLFLOW_TRACKING_URI="http://127.0.0.1:1", MLFLOW_HTTP_REQUEST_MAX_RETRIES="0"))
    assert res.returncode == 2, res.stderr
    assert res.stdout == ""
    assert "--log mlflow: the audit could not be logged" in res.stderr


def test_hushed_sets_the_trackers_switches_and_puts_them_back(monkeypatch):
    monkeypatch.setenv("WANDB_SILENT", "false")
    monkeypatch.delenv("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", raising=False)
    mlflow_log = logging.getLogger("mlflow")
    before = mlflow_log.level
    with _hushed(True, "wandb"):
        assert os.environ["WANDB_SILENT"] == "true"
        assert os.environ["MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT"] == "true"
        assert mlflow_log.getEffectiveLevel() >= logging.WARNING
    assert os.environ["WANDB_SILENT"] == "false"
    assert "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT" not in os.environ
    assert mlflow_log.level == before
    with _hushed(False, "wandb"):
        assert os.environ["WANDB_SILENT"] == "false"


def test_quiet_keeps_halluscopes_own_tracker_warning(tmp_path, monkeypatch, caplog):
    """Logging one audit offline again, differently, warns that W&B keeps a second folder:
    halluscope's warning, which quiet does not hide."""
    pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path / "wb"))
    out = tmp_path / "run"
    result = audit(records=_pope_rows(n_images=12), metrics="pope", n_boot=0, out=out)
    log_run(result, out, ["wandb"], quiet=True)
    with caplog.at_level(logging.WARNING, logger="halluscope.tracking"):
        log_run(result, out, ["wandb"], quiet=True, exit_code=1, why="gate failed: x")
    assert "W&B offline keeps each logging in a folder of its own" in caplog.text
