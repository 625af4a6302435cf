"""`halluscope query` leftovers, used as a user would (the loopback server): a lost Ray query
actor (or cluster) is said as such, not as a crash; a refused resume creates no cache folder;
a finished run removes its lock file."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fake_openai_server import FakeServer
from halluscope.cli import app, main


def tree_digest(folder: Path) -> dict[str, str]:
    """Every entry under ``folder``: a file's path with the sha256 of its bytes, a folder's
    with ``"folder"`` (so that a new empty folder is a change too)."""
    return {str(p.relative_to(folder)): ("folder" if p.is_dir() else
                                         hashlib.sha256(p.read_bytes()).hexdigest())
            for p in sorted(folder.rglob("*"))}


def run_main(monkeypatch, capsys, *args) -> tuple[int, str]:
    """The console script itself (``main``: exit codes and the crash handler), its exit code
    and stderr."""
    monkeypatch.setattr("sys.argv", ["halluscope", *map(str, args)])
    with pytest.raises(SystemExit) as done:
        main()
    return done.value.code, capsys.readouterr().err


@pytest.fixture
def prompts(tmp_path: Path) -> Path:
    path = tmp_path / "p.jsonl"
    path.write_text("".join(json.dumps({"id": i, "prompt": f"question {i}"}) + "\n"
                            for i in ("a", "b", "c")))
    return path


# -- 1. a Ray query actor that died for good: said as such, exit 3 ---------------------------
class RayActorError(Exception):
    """Ray's error for a dead actor, as ``actor_died`` reads it (by name)."""


def test_a_lost_query_actor_says_what_was_lost_kept_and_left_not_a_crash(
        tmp_path, prompts, monkeypatch, capsys):
    """WorkerLost went through the crash handler: "internal error ... (traceback in
    /tmp/halluscope-crash-...log)", a traceback of the driver waiting on Ray. Now: what was
    lost, the requests left unanswered, that the answers received are in the output, and that
    the same command asks only what is missing; exit 3 still, and no crash log."""
    from halluscope.adapters import ray_query
    from halluscope.adapters.ray_actors import worker_lost
    died = RayActorError("The actor died unexpectedly before finishing this task.\n"
                         "The actor is dead because its worker process has died.")
    ids = [f"p{i:02d}" for i in range(7)]

    def lose(*args, **kwargs):
        raise worker_lost(ids, died)
    monkeypatch.setattr(ray_query, "query_ray", lose)
    monkeypatch.setenv("TMPDIR", str(tmp_path))     # where a crash log would go
    import tempfile
    monkeypatch.setattr(tempfile, "tempdir", None)
    out = tmp_path / "out.jsonl"
    code, err = run_main(monkeypatch, capsys, "query", prompts, "-m", "mock/echo", "-o", out,
                         "--engine", "ray", "-q")
    text = " ".join(err.split())
    assert code == 3, err
    assert text.startswith("halluscope: internal error: WorkerLost: lost a Ray query actor: it "
                           "died and could not be restarted (at most 2 restarts each; The "
                           "actor is dead because its worker process has died)"), err
    assert "unanswered: the 7 request(s) it was asking (p00, p01, p02, p03, p04, ...)" in text
    assert f"kept: every answer received before, in {out}" in text
    assert "run the same command again; it asks only what is missing" in text
    assert "traceback" not in text and not list(tmp_path.glob("halluscope-crash-*"))


def test_a_lost_cluster_is_said_alike_by_query_and_audit(tmp_path, prompts, monkeypatch,
                                                        capsys):
    """ClusterLost: the audit's words (internal error: ClusterLost: lost the Ray cluster ...)
    in both commands, exit 3, without a crash log."""
    from halluscope import api
    from halluscope._ray import ClusterLost
    from halluscope.adapters import ray_query
    lost = ("lost the Ray cluster: its GCS at 127.0.0.1:6379 has refused connections for 10 "
            "s (the head node died, or `ray stop` ran); what was scored or answered is kept: "
            "run the command again (an audit with --resume) once a cluster runs")

    def lose(*args, **kwargs):
        raise ClusterLost(lost)
    monkeypatch.setattr(ray_query, "query_ray", lose)
    monkeypatch.setattr(api, "audit", lose)
    code, err = run_main(monkeypatch, capsys, "query", prompts, "-m", "mock/echo", "-o",
                         tmp_path / "out.jsonl", "--engine", "ray", "-q")
    answers = tmp_path / "a.jsonl"
    answers.write_text(json.dumps({"id": "1", "image": "x.jpg", "caption": "a cat"}) + "\n")
    code_audit, err_audit = run_main(monkeypatch, capsys, "audit", answers, "-o",
                                     tmp_path / "audit", "-q")
    for code, err in ((code, err), (code_audit, err_audit)):
        assert code == 3, err
        assert " ".join(err.split()) == f"halluscope: internal error: ClusterLost: {lost}"


# -- 2. a refused resume creates nothing, not even the cache folder --------------------------
@pytest.mark.parametrize("engine", ["local", "ray"])
@pytest.mark.parametrize("change", ["decoding", "prompt"])
def test_a_refused_resume_creates_no_cache_folder_inside_the_output_folder(
        tmp_path, prompts, monkeypatch, engine, change):
    """--cache run/cache, a folder that does not exist yet: the cache was opened (its folder
    and database made) before the resume was refused for its other decoding or a changed
    prompt, leaving a new folder in the output's."""
    if engine == "ray":
        pytest.importorskip("ray")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-loopback")
    run = tmp_path / "run"
    out = run / "out.jsonl"
    base = ["query", str(prompts), "-m", "openai/fake-vlm", "-o", str(out), "-q"]
    with FakeServer() as server:
        first = CliRunner().invoke(app, [*base, "--base-url", server.url, "--no-cache"])
        assert first.exit_code == 0, first.output
        if change == "prompt":
            prompts.write_text(prompts.read_text().replace("question a", "question A"))
        before = tree_digest(run)
        again = CliRunner().invoke(app, [
            *base, "--base-url", server.url, "--cache", str(run / "cache"), "--engine", engine,
            *(["-t", "0.5"] if change == "decoding" else []),
            *(["--ray-address", "local", "--ray-workers", "1"] if engine == "ray" else [])])
    assert again.exit_code == 2, again.output
    said = " ".join(again.output.split())
    assert ("holds answers of another run" if change == "decoding"
            else "'a' was answered for another prompt") in said
    assert tree_digest(run) == before       # no cache folder, no lock file, nothing rewritten


def test_a_run_that_is_not_refused_still_makes_its_cache_folder(tmp_path, prompts, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-loopback")
    out = tmp_path / "run" / "out.jsonl"
    with FakeServer() as server:
        res = CliRunner().invoke(app, ["query", str(prompts), "-m", "openai/fake-vlm", "-o",
                                       str(out), "-q", "--base-url", server.url, "--cache",
                                       str(tmp_path / "run" / "cache")])
    assert res.exit_code == 0, res.output
    assert any((tmp_path / "run" / "cache").iterdir())
    sheet = json.loads(out.with_name("out.jsonl.runsheet.json").read_text())
    assert sheet["cache"]["path"].startswith(str(tmp_path / "run" / "cache"))


# -- 3. the lock file goes when the run ends ---------------------------------------------------
@pytest.mark.parametrize("engine", ["local", "ray"])
def test_a_finished_query_removes_its_lock_file(tmp_path, prompts, monkeypatch, engine):
    """The lock file stayed beside the output after every run (emptied): harmless (a flock is
    released with its process) but it looked like a run still going on."""
    if engine == "ray":
        pytest.importorskip("ray")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-loopback")
    out = tmp_path / "out.jsonl"
    with FakeServer(script={"question c": ["refuse"]}) as server:
        res = CliRunner().invoke(app, [
            "query", str(prompts), "-m", "openai/fake-vlm", "-o", str(out), "-q", "--no-cache",
            "--base-url", server.url, "--max-attempts", "1", "--engine", engine,
            *(["--ray-address", "local", "--ray-workers", "1"] if engine == "ray" else [])])
    assert res.exit_code == 1, res.output          # c failed: a run that ended all the same
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl", "out.jsonl.runsheet.json",
                                                          "p.jsonl"]


def test_removing_the_lock_file_leaves_another_runs_lock_alone(tmp_path):
    """A lock file removed by hand while a run holds it, and made again by a second run: the
    first run's end must not remove the second's (a third run would then write beside it)."""
    from halluscope.adapters.outlock import OutputLocked, lock_output, unlock_output
    out = tmp_path / "out.jsonl"
    lock = tmp_path / "out.jsonl.lock"
    first = lock_output(out)
    lock.unlink()                       # by hand
    second = lock_output(out)           # a new file, locked
    unlock_output(first, remove=lock)
    assert lock.read_text() == f"{os.getpid()}\n"
    with pytest.raises(OutputLocked):
        lock_output(out)
    unlock_output(second, remove=lock)
    assert not lock.exists()
    unlock_output(lock_output(out), remove=lock)      # and the next run takes it at once
    assert not lock.exists()
