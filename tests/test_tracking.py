"""Logging audits to MLflow and Weights & Biases, offline into tmp folders."""

import json
import sys
import time

import pytest
from typer.testing import CliRunner

from halluscope.cli import EXIT_USAGE, app
from halluscope.errors import ConfigError
from halluscope.api import audit
from halluscope.tracking import flat_metrics, log_run

from test_clusters import _pope_rows


@pytest.fixture
def run(tmp_path):
    out = tmp_path / "run"
    result = audit(records=_pope_rows(n_images=12), metrics="pope", n_boot=100, out=out)
    return result, out


def test_flat_metrics_names_values_bounds_and_n(run):
    result, _ = run
    flat = flat_metrics(result)
    acc = result.get("pope.accuracy")
    assert flat["pope.accuracy"] == acc.value
    assert (flat["pope.accuracy.ci_lower"], flat["pope.accuracy.ci_upper"]) == acc.ci
    assert flat["pope.accuracy.n"] == 72
    assert flat["model_m-a/pope.accuracy"] == result.get("pope.accuracy@model:m-a").value
    assert all("@" not in k and ":" not in k for k in flat)


def test_mlflow_file_store(run, tmp_path, monkeypatch):
    mlflow = pytest.importorskip("mlflow")
    result, out = run
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    ids = log_run(result, out, ["mlflow"], name="unit")
    uri = (out / "mlruns").resolve().as_uri()
    client = mlflow.tracking.MlflowClient(tracking_uri=uri)
    got = client.get_run(ids["mlflow"])
    assert got.data.metrics["pope.accuracy"] == pytest.approx(result.get("pope.accuracy").value)
    assert "pope.accuracy.ci_upper" in got.data.metrics
    assert got.data.params["config.pope_parser"] == "original"
    arts = {a.path for a in client.list_artifacts(ids["mlflow"])}
    assert {"report.html", "runsheet.json"} <= arts


def test_wandb_offline(run, tmp_path, monkeypatch):
    pytest.importorskip("wandb")
    result, out = run
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path / "wb"))
    monkeypatch.setenv("WANDB_SILENT", "true")
    # W&B recorded the raw command line itself: a password in an --option URL reached its files
    secret_arg = "judge_base_url=http://u:JPASS7777@127.0.0.1:9/v1?token=JTOK8888"
    monkeypatch.setattr(sys, "argv", ["halluscope", "audit", "--option", secret_arg])
    result.runsheet["command"] = list(sys.argv)
    ids = log_run(result, out, ["wandb"], name="unit")
    runs = list((tmp_path / "wb" / "wandb").glob(f"offline-run-*-{ids['wandb']}"))
    assert len(runs) == 1
    # the offline run's record log (protobuf) holds every metric name, the values as JSON text,
    # the run sheet as config and the report artifact
    # the offline record log is written by wandb's own service process; under load its last
    # records can land a moment after finish() returns
    keys = ("pope.accuracy", "pope.accuracy.ci_lower", "pope.accuracy.ci_upper",
            "pope.accuracy.n", "model_m-a/pope.f1", "pope_parser", "report.html")
    deadline = time.monotonic() + 30
    while True:
        data = (runs[0] / f"run-{ids['wandb']}.wandb").read_bytes()
        if all(k.encode() in data for k in keys) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    for key in ("pope.accuracy", "pope.accuracy.ci_lower", "pope.accuracy.ci_upper",
                "pope.accuracy.n", "model_m-a/pope.f1", "pope_parser", "report.html"):
        assert key.encode() in data, key
    assert json.dumps(result.get("pope.accuracy").ci[0]).encode() in data
    for path in (tmp_path / "wb").rglob("*"):
        if path.is_file():
            blob = path.read_bytes()
            assert b"JPASS7777" not in blob and b"JTOK8888" not in blob, path


def test_unknown_tracker(run, tmp_path):
    result, out = run
    with pytest.raises(ConfigError, match="wandb, mlflow"):
        log_run(result, out, ["tensorboard"])
    rows = tmp_path / "rows.jsonl"
    rows.write_text("".join(json.dumps(r) + "\n" for r in _pope_rows(n_images=2)))
    res = CliRunner().invoke(app, ["audit", str(rows), "-m", "pope", "--out",
                                   str(tmp_path / "o"), "-q", "--log", "tensorboard"])
    assert res.exit_code == EXIT_USAGE


def test_mlflow_logging_one_audit_twice_keeps_one_run(run, monkeypatch):
    """A --resume of a finished audit (a CI retry) reads it back and logs it again: that added
    a second MLflow run of the same audit. The audit's run id is now the run's tag, so the
    second logging continues the first run."""
    mlflow = pytest.importorskip("mlflow")
    result, out = run
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    first = log_run(result, out, ["mlflow"], name="unit")["mlflow"]
    second = log_run(result, out, ["mlflow"], name="unit")["mlflow"]
    assert first == second
    client = mlflow.tracking.MlflowClient(tracking_uri=(out / "mlruns").resolve().as_uri())
    [exp] = [e for e in client.search_experiments() if e.name == "halluscope"]
    runs = client.search_runs([exp.experiment_id])
    assert [r.info.run_id for r in runs] == [first]
    assert runs[0].data.tags["halluscope.run_id"] == result.run_id
    # another audit is another run
    other = audit(records=_pope_rows(n_images=12), metrics="pope", n_boot=0,
                  out=out.parent / "other")
    third = log_run(other, out, ["mlflow"])["mlflow"]
    assert third != first and len(client.search_runs([exp.experiment_id])) == 2


def test_wandb_run_id_is_the_audits(run, tmp_path, monkeypatch):
    pytest.importorskip("wandb")
    result, out = run
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path / "wb"))
    monkeypatch.setenv("WANDB_SILENT", "true")
    assert log_run(result, out, ["wandb"])["wandb"] == result.run_id
    assert log_run(result, out, ["wandb"])["wandb"] == result.run_id


@pytest.mark.parametrize("tracker,said", [
    ("wandbb", "got wandbb; did you mean 'wandb'?"),
    ("wandb", "needs the optional extra 'wandb': pip install \"halluscope[wandb]\""),
    ("mlflow", "needs the optional extra 'mlflow': pip install \"halluscope[mlflow]\""),
])
def test_log_checked_before_the_audit(tmp_path, monkeypatch, tracker, said):
    """A misspelt --log or a tracker whose extra is not installed was found only after the
    whole audit had run (hours with a judge), and its exit 2 hid the summary and the gates.
    Both are refused before anything is scored, nothing written."""
    monkeypatch.setitem(sys.modules, "wandb", None)     # neither extra installed
    monkeypatch.setitem(sys.modules, "mlflow", None)
    rows = tmp_path / "rows.jsonl"
    rows.write_text("".join(json.dumps(r) + "\n" for r in _pope_rows(n_images=2)))
    out = tmp_path / "o"
    res = CliRunner().invoke(app, ["audit", str(rows), "-m", "pope", "--out", str(out), "-q",
                                   "--log", tracker, "--fail-above", "pope.f1=0.01"])
    assert res.exit_code == EXIT_USAGE
    assert said in " ".join(res.output.split())
    assert not out.exists()


def test_a_tracker_down_is_said_after_the_summary_and_gates(tmp_path, monkeypatch):
    """A tracker that could not be reached (MLFLOW_TRACKING_URI at a server that is down) was
    an internal error, exit 3, and the audit's gates were never judged: a crossed gate went
    unsaid. Now the gates are judged and said, then the tracker's failure, exit 2, naming
    the tracker, with the tracker's URL password cut and how to log the saved results."""
    import halluscope.tracking as tracking

    def down(*_a, **_k):
        raise RuntimeError("API request to http://u:TRKPASS55@127.0.0.1:1/api failed")
    monkeypatch.setattr(tracking, "_log_mlflow", down)
    rows = tmp_path / "rows.jsonl"
    rows.write_text("".join(json.dumps(r) + "\n" for r in _pope_rows(n_images=12)))
    out = tmp_path / "o"
    res = CliRunner().invoke(app, ["audit", str(rows), "-m", "pope", "--out", str(out), "-q",
                                   "--bootstrap", "0", "--log", "mlflow",
                                   "--fail-below", "pope.f1=0.999"])
    said = " ".join(res.output.split())
    assert res.exit_code == EXIT_USAGE, said
    assert "gate failed: pope.f1" in said
    assert "--log mlflow: the audit could not be logged (RuntimeError: " in said
    assert "with --resume logs them again" in said and "TRKPASS55" not in said
    assert (out / "results.json").is_file()
    with pytest.raises(ConfigError, match="could not be logged"):
        log_run(audit(records=_pope_rows(n_images=2), metrics="pope", n_boot=0), out,
                ["mlflow"])


def test_group_names_are_paths_mlflow_takes_and_one_per_group(tmp_path, monkeypatch):
    """A model named as a checkpoint folder (``ckpt/llava/``) made ``model_ckpt/llava//pope.f1``,
    which MLflow refuses (the whole logging failed), and two models whose names differ only in
    characters trackers refuse (``llava:13b``, ``llava_13b``) were logged under one name, the
    second's numbers over the first's."""
    names = ["ckpt/llava/", "llava:13b", "llava_13b", "a/./b"]
    rows = _pope_rows(n_images=16)
    for i, row in enumerate(rows):
        row["model"] = names[i % 4]
    result = audit(records=rows, metrics="pope", n_boot=0, out=tmp_path / "run")
    flat = flat_metrics(result)
    firsts = sorted(k[:-len("/pope.accuracy")] for k in flat
                    if k.endswith("/pope.accuracy") and k.startswith("model_"))
    assert len(firsts) == 4 and "model_ckpt/llava" in firsts and "model_a/b" in firsts
    assert "model_llava_13b" in firsts
    for name in names:
        assert result.get(f"pope.accuracy@model:{name}").value in {
            v for k, v in flat.items() if k.endswith("/pope.accuracy")}
    mlflow = pytest.importorskip("mlflow")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    run_id = log_run(result, tmp_path / "run", ["mlflow"])["mlflow"]
    uri = (tmp_path / "run" / "mlruns").resolve().as_uri()
    got = mlflow.tracking.MlflowClient(tracking_uri=uri).get_run(run_id).data.metrics
    assert got["model_ckpt/llava/pope.accuracy"] == flat["model_ckpt/llava/pope.accuracy"]


def test_a_rate_over_no_units_is_not_logged_as_a_value(tmp_path):
    """AMBER's original variant keeps relation_precision 0.0 (0 / its 0.001 starting counter)
    over no answer read No: the gates and compare take it for no value, but trackers were
    sent 0.0, plotted as a measurement. Its n (0) is logged, the value is not."""
    from test_amber_units import ANSWERS, _audit
    result = _audit(tmp_path, ANSWERS, "original")
    res = result.metrics["amber"].results["relation_precision"]
    assert (res.value, res.n) == (0.0, 0)
    flat = flat_metrics(result)
    assert "amber.relation_precision" not in flat and flat["amber.relation_precision.n"] == 0
    assert flat["amber.relation_accuracy"] == 0.0      # 0.0 over 1 answer: a measurement


def test_two_audits_in_one_process_log_into_their_own_folders(tmp_path, monkeypatch):
    """MLflow's set_tracking_uri also sets MLFLOW_TRACKING_URI in the environment, so after a
    first audit logged into <out>/mlruns, halluscope took that for the user's choice: a second
    audit of the same notebook or test session (another --out) was logged into the first's
    folder, and its own had none. A URI the user set is still followed."""
    mlflow = pytest.importorskip("mlflow")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    runs = {}
    for name in ("a", "b"):
        out = tmp_path / name
        result = audit(records=_pope_rows(n_images=12), metrics="pope", n_boot=0, out=out)
        runs[name] = (out, log_run(result, out, ["mlflow"])["mlflow"])
    for out, run_id in runs.values():
        client = mlflow.tracking.MlflowClient(tracking_uri=(out / "mlruns").resolve().as_uri())
        [exp] = [e for e in client.search_experiments() if e.name == "halluscope"]
        assert [r.info.run_id for r in client.search_runs([exp.experiment_id])] == [run_id]
    mine = (tmp_path / "mine").resolve().as_uri()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mine)
    out = tmp_path / "c"
    result = audit(records=_pope_rows(n_images=12), metrics="pope", n_boot=0, out=out)
    run_id = log_run(result, out, ["mlflow"])["mlflow"]
    assert not (out / "mlruns").exists()
    assert mlflow.tracking.MlflowClient(tracking_uri=mine).get_run(run_id)


@pytest.mark.parametrize("argv,code,said", [
    (["--fail-below", "pope.f1=0.999"], 1, "gate failed: pope.f1"),
    (["-m", "chair", "--gt-objects", "{gt}"], 2, "chair scored nothing"),
])
def test_a_failed_audit_is_not_logged_as_a_success(tmp_path, monkeypatch, argv, code, said):
    """The trackers were told before the gates were judged: an audit whose metric scored
    nothing (exit 2) or that crossed a gate (exit 1) was an MLflow run FINISHED and a W&B run
    with exit code 0, a success on every dashboard. The tracker run now ends as the command
    does (MLflow FAILED, W&B the exit code), the reason in the tag/summary halluscope.outcome;
    a passing audit is FINISHED, 'passed'."""
    mlflow = pytest.importorskip("mlflow")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    rows = tmp_path / "rows.jsonl"
    rows.write_text("".join(json.dumps(r) + "\n" for r in _pope_rows(n_images=12)))
    gt = tmp_path / "gt.json"
    gt.write_text("{}")
    argv = [a.replace("{gt}", str(gt)) for a in argv]
    for out, extra, want in ((tmp_path / "bad", argv, code), (tmp_path / "good", [], 0)):
        res = CliRunner().invoke(app, ["audit", str(rows), "-m", "pope", "--out", str(out),
                                       "-q", "--bootstrap", "0", "--log", "mlflow", *extra])
        assert res.exit_code == want, res.output
        client = mlflow.tracking.MlflowClient(tracking_uri=(out / "mlruns").resolve().as_uri())
        [exp] = [e for e in client.search_experiments() if e.name == "halluscope"]
        [got] = client.search_runs([exp.experiment_id])
        if want:
            assert got.info.status == "FAILED"
            assert said in got.data.tags["halluscope.outcome"]
        else:
            assert got.info.status == "FINISHED"
            assert got.data.tags["halluscope.outcome"] == "passed"


def test_an_audit_that_read_its_input_in_part_is_not_logged_as_a_success(tmp_path, monkeypatch):
    """A syntax error that stopped the reading of a JSON array fails the audit (exit 2); the
    trackers were told 'passed' (the gates had passed), a FINISHED MLflow run over part of the
    file."""
    mlflow = pytest.importorskip("mlflow")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    rows = _pope_rows(n_images=12)
    text = json.dumps(rows)
    fifth = json.dumps(rows[4])
    broken = tmp_path / "rows.json"
    broken.write_text(text.replace(fifth, fifth.replace('": ', '" ', 1)))
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["audit", str(broken), "-m", "pope", "--out", str(out), "-q",
                                   "--bootstrap", "0", "--log", "mlflow"])
    assert res.exit_code == 2, res.output
    client = mlflow.tracking.MlflowClient(tracking_uri=(out / "mlruns").resolve().as_uri())
    [exp] = [e for e in client.search_experiments() if e.name == "halluscope"]
    [got] = client.search_runs([exp.experiment_id])
    assert got.info.status == "FAILED"
    assert got.data.tags["halluscope.outcome"].startswith("input read in part: ")


def test_wandb_offline_logging_one_audit_twice_keeps_one_folder(run, tmp_path, monkeypatch):
    """W&B ignores a resume offline: a --resume of a finished audit with --log wandb wrote a
    second offline-run-*-<run id> folder holding the same numbers, two runs to sync where
    there is one audit. A logging the audit already has (same numbers, same outcome, same
    report) is kept; one that differs (here: the gate now fails) is logged anew."""
    pytest.importorskip("wandb")
    result, out = run
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path / "wb"))
    monkeypatch.setenv("WANDB_SILENT", "true")
    folders = lambda: sorted((tmp_path / "wb" / "wandb").glob(f"offline-run-*-{result.run_id}"))
    assert log_run(result, out, ["wandb"])["wandb"] == result.run_id
    assert log_run(result, out, ["wandb"])["wandb"] == result.run_id
    assert len(folders()) == 1
    time.sleep(1.1)     # (W&B names its folders by the second)
    log_run(result, out, ["wandb"], exit_code=1, why="gate failed: pope.f1")
    assert len(folders()) == 2


def test_mlflow_logging_one_audit_twice_adds_no_second_point(run, monkeypatch):
    """Logging a finished audit again (--resume) continued its MLflow run but logged every
    metric a second time: each had two points in its history, plotted as two measurements of
    one audit. Only what the run does not hold already, or holds otherwise, is logged."""
    mlflow = pytest.importorskip("mlflow")
    result, out = run
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    first = log_run(result, out, ["mlflow"])["mlflow"]
    assert log_run(result, out, ["mlflow"])["mlflow"] == first
    client = mlflow.tracking.MlflowClient(tracking_uri=(out / "mlruns").resolve().as_uri())
    for key in ("pope.accuracy", "pope.accuracy.n", "model_m-a/pope.f1"):
        assert len(client.get_metric_history(first, key)) == 1, key
