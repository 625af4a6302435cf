"""``--engine ray`` on a local Ray instance with 2 CPUs gives the one-process results."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import shared_data_dir
from halluscope.api import audit
from tests.test_workers import amber_fixture, comparable, consistency_file

ray = pytest.importorskip("ray", reason="ray is not installed (pip install 'halluscope[ray]')")
pytest.importorskip("ray.data", reason="Ray Data is not installed")

DATA = Path(__file__).resolve().parents[1] / "data"
_SHARED = shared_data_dir("nltk")   # $HALLUSCOPE_SHARED_DATA or ../shared/data, else None
SHARED_NLTK = _SHARED / "nltk" if _SHARED is not None else None


def test_ray_gives_the_one_process_results_on_every_metric(tmp_path, local_ray, monkeypatch):
    if SHARED_NLTK is not None:
        monkeypatch.setenv("NLTK_DATA", str(SHARED_NLTK))
    answers = amber_fixture(tmp_path / "amber")
    groups = consistency_file(tmp_path / "groups.jsonl")
    runs = [
        (DATA, dict(metrics="pope,chair,claims,faithscore,region,page")),
        ([answers, groups], dict(metrics="amber,consistency",
                                 annotations=[tmp_path / "amber" / "annotations.json"])),
    ]
    for k, (inputs, opts) in enumerate(runs):
        outs = {}
        for engine in ("local", "ray"):
            out = tmp_path / f"{engine}{k}"
            audit(inputs, out=out, engine=engine, workers=2 if engine == "ray" else 1,
                  n_boot=200, write_report=False,
                  **opts)
            outs[engine] = comparable(out)
        assert outs["local"] == outs["ray"]
        assert set(outs["ray"][0]["metrics"]) == set(opts["metrics"].split(","))


def test_one_actor_pool_scores_the_whole_run_and_loads_the_models_once_per_actor(
        tmp_path, local_ray, monkeypatch):
    """25 records and 2 bad lines in blocks of 2 (14 blocks): the same two actors score them
    all (the run sheet counts the actors that returned rows), the bad lines travel with the
    records and are listed with file and line, and the results are the one-process ones."""
    import json

    from halluscope import ray_engine
    monkeypatch.setattr(ray_engine, "MIN_BLOCK", 2)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('not json\n{"id": "no-answer", "image_id": 1}\n')
    outs = {}
    for engine in ("local", "ray"):
        out = tmp_path / engine
        audit([DATA / "outputs.jsonl", bad], out=out, engine=engine,
              workers=2 if engine == "ray" else 1, metrics="chair,pope,region", n_boot=100,
              write_report=False)
        outs[engine] = comparable(out)
    assert outs["local"] == outs["ray"]
    listed = {(e["file"], e["line"]) for e in outs["ray"][0]["errors"]}
    assert {(str(bad), 1), (str(bad), 2)} <= listed
    sheet = json.loads((tmp_path / "ray" / "runsheet.json").read_text())
    assert sheet["execution"]["ray"]["blocks"] == 14
    assert 1 <= sheet["execution"]["ray"]["actors"] <= 2
    assert sheet["execution"]["workers"] == 2


def test_relative_paths_name_the_drivers_files_on_the_actors(tmp_path, local_ray,
                                                            monkeypatch):
    """Relative paths (inputs, option files, images, the cache folder) name what they name in
    the driver's folder: the actors worked in the folder Ray started in (where `ray start` ran),
    so `--coco-annotations sample/instances.json` failed there (exit 3) or read another file."""
    import shutil
    shutil.copytree(DATA, tmp_path / "sample")
    monkeypatch.chdir(tmp_path)     # Ray started in another folder (the local_ray fixture's)
    opts = dict(metrics="chair,claims,pope", n_boot=50, write_report=False, cache_dir="cache",
                coco_annotations=["sample/annotations/instances.json"],
                annotations=["sample/annotations/objects.json"])
    outs = {}
    for engine in ("local", "ray"):
        audit("sample/outputs.jsonl", out=engine, engine=engine,
              workers=2 if engine == "ray" else 1, **opts)
        outs[engine] = comparable(tmp_path / engine)
    assert outs["local"] == outs["ray"]


def test_blocks_grow_with_the_input_within_their_bounds(tmp_path):
    """About 16 blocks per actor: small blocks spread a small heavy run over every actor,
    large inputs get large blocks (Ray Data costs milliseconds per block)."""
    from types import SimpleNamespace

    from halluscope.ray_engine import MAX_BLOCK, MIN_BLOCK, RayEngine

    def size(records: int, workers: int) -> int:
        path = tmp_path / f"{records}.jsonl"
        path.write_text('{"id": "a", "caption": "A dog."}\n' * records)
        engine = RayEngine.__new__(RayEngine)
        engine.paths, engine.workers = [str(path)], workers
        engine.config = SimpleNamespace(input_format=None)
        return engine.block_size()

    assert size(10, 2) == MIN_BLOCK
    assert size(160, 2) == 5
    assert size(50_000, 2) == 1563
    assert size(50_000, 64) == 49
    assert size(200_000, 2) == MAX_BLOCK



def test_the_hallusionbench_array_layout_spreads_over_the_actors(tmp_path, local_ray):
    """One JSON array on one line (HallusionBench's evaluation.py layout) counted one record:
    its 180 entries went out in 45 blocks of the fewest rows (MIN_BLOCK, 4); counted by its
    elements, it gets blocks sized as its JSON Lines twin's (6 rows: 180 over 2 actors' 16
    blocks each), and the one-process results."""
    from tests.test_hallusionbench_array_workers import hb_rows
    rows = hb_rows(30)
    answers = tmp_path / "HallusionBench_result.json"
    answers.write_text(json.dumps(rows))
    lines = tmp_path / "hb.jsonl"
    lines.write_text("".join(json.dumps(row) + "\n" for row in rows))
    outs, blocks = {}, {}
    for name, inputs, engine in (("local", answers, "local"), ("ray", answers, "ray"),
                                 ("ray-lines", lines, "ray")):
        out = tmp_path / name
        audit(inputs, out=out, engine=engine, workers=1 if engine == "local" else 2,
              metrics="hallusionbench", n_boot=200, write_report=False,
              options={"hallusionbench_variant": "vlmevalkit"})
        outs[name] = comparable(out)
        if engine == "ray":
            sheet = json.loads((out / "runsheet.json").read_text())
            blocks[name] = sheet["execution"]["ray"]["blocks"]
    assert outs["local"] == outs["ray"]
    assert blocks["ray"] == blocks["ray-lines"] == 30


CRASHING_METRIC = '''
import os
import sys

sys.path.insert(0, {examples!r})
from custom_metric import WordCount


class Crash(WordCount):
    """Kills the process that scores a response about a cat (a segfault, the OOM killer)."""
    name = "crash"

    def score(self, record):
        if "cat" in (record.response or ""):
            os._exit(7)
        return super().score(record)


class Bug(WordCount):
    """Raises on a response about a cat (a bug in a metric)."""
    name = "bug"

    def score(self, record):
        if "cat" in (record.response or ""):
            raise ValueError(f"a bug met {{record.id}}")
        return super().score(record)
'''


DYING_METRICS = '''
import os
import sys

sys.path.insert(0, {examples!r})
from custom_metric import WordCount


class Every(WordCount):
    """Kills the process that scores any record."""
    name = "every"

    def score(self, record):
        os._exit(7)


class NoFile(WordCount):
    """A file the actors' node cannot read (the driver's can): their metric is not built."""
    name = "nofile"

    def __init__(self, *args, **kwargs):
        from halluscope.errors import ConfigError
        ray = sys.modules.get("ray")
        if ray is not None and ray.is_initialized() and ray.get_runtime_context().get_actor_id():
            raise ConfigError("cannot read /nfs/objects.json: [Errno 2] No such file")
        super().__init__(*args, **kwargs)


class Start(WordCount):
    """Kills a Ray actor while it builds its metrics (not the driver, which builds them too)."""
    name = "start"

    def __init__(self, *args, **kwargs):
        ray = sys.modules.get("ray")
        if ray is not None and ray.is_initialized() and ray.get_runtime_context().get_actor_id():
            os._exit(7)
        super().__init__(*args, **kwargs)
'''


def _ray_audit(tmp_path: Path, metric: str, inputs: Path = DATA / "outputs.jsonl", **env):
    import os
    import subprocess
    import sys
    return subprocess.run(
        [sys.executable, "-m", "halluscope", "audit", str(inputs), "--metric", metric,
         "--engine", "ray", "--workers", "2", "--no-report", "--out", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=300, env={**os.environ, **env})


def test_the_record_that_kills_its_actor_is_a_bad_record(tmp_path):
    """Ray Data restarts a dead actor and retries its batch for ever by default: the audit hung
    (and later ended with exit 3, losing the run). Now the retry scores the batch one record
    at a time, noting each before it is scored, so the record an actor dies on is listed as a
    bad record, as with --workers; items and results are the processes engine's, byte for
    byte."""
    metric = tmp_path / "crash.py"
    metric.write_text(CRASHING_METRIC.format(examples=str(DATA.parent / "examples")))
    done = _ray_audit(tmp_path, f"{metric}:Crash")
    assert done.returncode == 0, done.stderr[-3000:]
    two = audit(DATA / "outputs.jsonl", metrics=f"{metric}:Crash", workers=2,
                out=tmp_path / "processes", write_report=False)
    assert [(e["line"], e["metric"]) for e in two.errors if e.get("metric")] == \
        [(2, "crash"), (6, "crash"), (12, "crash")]
    out = tmp_path / "out"
    assert (out / "items.jsonl").read_bytes() == \
        (tmp_path / "processes" / "items.jsonl").read_bytes()
    ours = json.loads((out / "results.json").read_text())
    assert ours["metrics"] == json.loads(
        (tmp_path / "processes" / "results.json").read_text())["metrics"]
    ray_sheet = json.loads((out / "runsheet.json").read_text())["execution"]["ray"]
    assert ray_sheet["batches_retried_after_an_actor_died"] == 3


def test_actors_that_die_on_every_record_stop_the_run(tmp_path):
    """No record's fault (too little memory, a worker that cannot work): an internal error
    after a few tries of one batch, with the work so far kept for --resume, not every record
    listed as bad and not restarts for ever."""
    metric = tmp_path / "every.py"
    metric.write_text(DYING_METRICS.format(examples=str(DATA.parent / "examples")))
    six = tmp_path / "six.jsonl"
    six.write_text("".join(json.dumps({"id": str(i), "caption": f"a caption {i}"}) + "\n"
                           for i in range(6)))
    done = _ray_audit(tmp_path, f"{metric}:Every", six)
    assert done.returncode == 3, done.stderr[-3000:]
    assert "internal error: ActorsKeepDying: the Ray actors scoring the records " in done.stderr
    assert "not one record's fault" in done.stderr
    assert not (tmp_path / "out" / "results.json").exists()
    assert (tmp_path / "out" / "items.journal.part").exists()
    # actors that die while they start are not restarted for ever either
    done = _ray_audit(tmp_path, f"{metric}:Start", six)
    assert done.returncode == 3, done.stderr[-3000:]
    assert "internal error: ActorsKeepDying: Ray actors keep dying while they start" \
        in done.stderr


def test_a_usage_error_of_an_actor_being_built_is_a_usage_error(tmp_path):
    """Ray hands an actor's constructor error on as text (ActorDiedError): a file the node
    cannot read was an internal error (exit 3) inside Ray's message; one process says it as a
    usage error (exit 2), and so does Ray now, saying where."""
    metric = tmp_path / "nofile.py"
    metric.write_text(DYING_METRICS.format(examples=str(DATA.parent / "examples")))
    done = _ray_audit(tmp_path, f"{metric}:NoFile")
    assert done.returncode == 2, done.stderr[-3000:]
    assert "error: cannot read /nfs/objects.json: [Errno 2] No such file (on a Ray actor, " \
        "while it built its metrics)" in done.stderr
    assert "internal error" not in done.stderr


def test_an_error_raised_on_an_actor_reaches_the_user_as_itself(tmp_path):
    """Not as Ray's wrapper (RayTaskError(UserCodeException) and the actor's name): the
    error's own type and message, as with one process."""
    import subprocess
    import sys

    metric = tmp_path / "bug.py"
    metric.write_text(CRASHING_METRIC.format(examples=str(DATA.parent / "examples")))
    done = subprocess.run(
        [sys.executable, "-m", "halluscope", "audit", str(DATA / "outputs.jsonl"), "--metric",
         f"{metric}:Bug", "--engine", "ray", "--workers", "2", "--no-report", "--out",
         str(tmp_path / "out")], capture_output=True, text=True, timeout=300)
    assert done.returncode == 3, done.stderr[-2000:]
    assert "halluscope: internal error: ValueError: a bug met " in done.stderr


def test_asking_gpus_the_cluster_lacks_is_a_usage_error_not_a_wait_forever(tmp_path, local_ray):
    """Ray Data waits forever for an actor no node can hold ('The job may hang forever unless
    the cluster scales up'): the audit says so at once instead."""
    from halluscope.errors import ConfigError

    with pytest.raises(ConfigError, match=r"ray_num_gpus=1 asks 1 GPU\(s\) per Ray actor, but "
                                          r"the Ray cluster \(a local instance\) has 0"):
        audit(DATA, out=tmp_path / "gpu", engine="ray", workers=2, metrics="chair",
              options={"ray_num_gpus": 1}, write_report=False)
    with pytest.raises(ConfigError, match="expected option ray_num_gpus as a number"):
        audit(DATA, out=tmp_path / "nan", engine="ray", metrics="chair",
              options={"ray_num_gpus": "one"}, write_report=False)
    assert ray.is_initialized()       # the caller's Ray instance is left running


def test_sigterm_while_ray_runs_is_an_interruption_with_exit_143(monkeypatch):
    """Ray's SIGTERM handlers ended a run with exit 1 (a crossed gate; for query, "some records
    failed") and a run sheet that said nothing of it."""
    import os
    import signal

    from halluscope import _ray
    from halluscope.cli import _interrupted
    previous = signal.getsignal(signal.SIGTERM)
    monkeypatch.setattr(_ray, "terminated", False)
    try:
        _ray._terminate_as_an_interruption()
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGTERM)
            for _ in range(100):              # the handler runs between bytecodes
                pass
        assert _ray.was_terminated()
        with pytest.raises(SystemExit) as info:
            _interrupted(None)
        assert info.value.code == 143
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_a_cluster_address_nothing_answers_at_is_a_usage_error(tmp_path, monkeypatch):
    """Ray waited and retried well past a minute with only its own warnings."""
    from halluscope._ray import _check_reachable
    from halluscope.errors import ConfigError
    monkeypatch.delenv("RAY_ADDRESS", raising=False)    # (no cluster `ray start` left: below)
    monkeypatch.setenv("RAY_TMPDIR", str(tmp_path))
    with pytest.raises(ConfigError, match="cannot reach the Ray cluster at 127.0.0.1:1"):
        _check_reachable("127.0.0.1:1", timeout=2)
    with pytest.raises(ConfigError, match="expected --ray-address as host:port"):
        _check_reachable("nonsense")
    _check_reachable("auto")
    _check_reachable(None)


LOSING_METRIC = '''
import os
import signal
import sys
import time

sys.path.insert(0, {examples!r})
from custom_metric import WordCount


class Lose(WordCount):
    """Kills the cluster's GCS (the head node dies) at record 6, and takes its time."""
    name = "lose"

    def score(self, record):
        if record.id == "6":
            import psutil
            import ray
            session = ray._private.worker.global_worker.node.get_session_dir_path()
            for proc in psutil.process_iter(["name", "cmdline"]):
                if proc.info["name"] == "gcs_server" and \
                        f"--session-dir={{session}}" in (proc.info["cmdline"] or []):
                    os.kill(proc.pid, signal.SIGKILL)
        time.sleep(0.2)
        return super().score(record)
'''


def test_a_cluster_lost_mid_run_is_an_internal_error_not_a_crossed_gate(tmp_path):
    """Ray ends a driver whose GCS is gone for 60 s itself, with exit 1 (a crossed gate's
    code) and no word from halluscope. The run now notices within seconds, journals what it
    can and stops: exit 3, saying the cluster was lost, no results, the journal kept."""
    metric = tmp_path / "lose.py"
    metric.write_text(LOSING_METRIC.format(examples=str(DATA.parent / "examples")))
    many = tmp_path / "many.jsonl"
    many.write_text("".join(json.dumps({"id": str(i), "caption": f"a caption {i}"}) + "\n"
                            for i in range(200)))
    done = _ray_audit(tmp_path, f"{metric}:Lose", many)
    assert done.returncode == 3, done.stderr[-3000:]       # Ray's own end: 1, after 60 s
    assert "internal error: ClusterLost: lost the Ray cluster: its GCS at " in done.stderr
    assert not (tmp_path / "out" / "results.json").exists()
    assert (tmp_path / "out" / "items.journal.part").exists()


def test_the_watch_interrupts_once_the_gcs_refuses_and_stands_down_when_cancelled(
        monkeypatch):
    """The watch itself: a GCS that accepts is left alone; one that refuses for
    LOST_AFTER_S interrupts the main thread (a KeyboardInterrupt here) and says why."""
    import socket
    import time

    from halluscope import _ray
    monkeypatch.setattr(_ray, "LOST_AFTER_S", 1.5)
    monkeypatch.setattr(_ray, "_gcs_address", lambda ray: server.getsockname())
    server = socket.create_server(("127.0.0.1", 0))
    watch = _ray.ClusterWatch(None)
    with pytest.raises(KeyboardInterrupt):
        with watch:
            time.sleep(2.5)
            assert watch.lost is None       # it accepts: nothing to say
            server.close()
            time.sleep(10)
    watch.cancel()
    assert "lost the Ray cluster: its GCS at 127.0.0.1:" in watch.lost


def test_a_dead_cluster_that_ray_start_left_behind_is_a_usage_error_not_a_wait(
        tmp_path, monkeypatch):
    """Without an address Ray joins the cluster named in the file the last `ray start` wrote
    (or RAY_ADDRESS): one killed without `ray stop` left the file, and the audit waited in
    Ray's retries for more than ten minutes. Checked as a given address is; `local` asks
    for a new local instance and is Ray's."""
    from halluscope._ray import _check_reachable
    from halluscope.errors import ConfigError
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.setenv("RAY_TMPDIR", str(tmp_path))
    _check_reachable(None)                  # no file: a new local instance
    (tmp_path / "ray").mkdir()
    (tmp_path / "ray" / "ray_current_cluster").write_text("127.0.0.1:1")
    for address in (None, "auto"):
        with pytest.raises(ConfigError, match=r"joins the cluster that `ray start` last "
                           r"started on this machine, 127.0.0.1:1 \(named in .*ray_current_"
                           r"cluster\), which does not answer \(cannot reach .*--ray-address "
                           r"local"):
            _check_reachable(address, timeout=2)
    _check_reachable("local")
    monkeypatch.setenv("RAY_ADDRESS", "127.0.0.1:1")
    with pytest.raises(ConfigError, match="cannot reach the Ray cluster at 127.0.0.1:1"):
        _check_reachable(None, timeout=2)


def test_a_cluster_that_refuses_the_driver_says_why(monkeypatch):
    """A cluster of `ray start` (Ray 2.5x) asks for a token, which Ray sends only with
    RAY_AUTH_MODE=token when given an address: Ray said "Failed to connect to Ray cluster at
    ...", its cause (the token) left in a chained traceback, and the CLI printed only that."""
    from types import SimpleNamespace

    from halluscope import _ray
    from halluscope.errors import ConfigError

    def refused(**kwargs):
        try:
            raise RuntimeError("Failed to connect to GCS. ray.exceptions.AuthenticationError: "
                               "RPC error: InvalidAuthToken: Authentication token is missing")
        except RuntimeError as exc:
            raise ConnectionError("Failed to connect to Ray cluster at 10.0.0.5:6379") from exc

    def down(**kwargs):
        raise ConnectionError("Failed to connect to Ray cluster at 10.0.0.5:6379")

    monkeypatch.setattr(_ray, "_check_reachable", lambda address: None)
    monkeypatch.setattr(_ray, "_terminate_as_an_interruption", lambda: None)
    with pytest.raises(ConfigError, match="asks for an authentication token.*RAY_AUTH_MODE=token"):
        _ray.start_ray(SimpleNamespace(init=refused), "10.0.0.5:6379")
    with pytest.raises(ConfigError, match="cannot join the Ray cluster at 10.0.0.5:6379: Failed"):
        _ray.start_ray(SimpleNamespace(init=down), "10.0.0.5:6379")


def test_a_port_that_accepts_and_never_answers_is_a_usage_error_not_a_wait(monkeypatch):
    """A GCS address whose port accepts connections but is no Ray GCS (a Redis, a dashboard, a
    tunnel whose far end is gone): Ray's own connect retried it for minutes with only warnings;
    a ray:// address without the Ray Client installed was an internal error (exit 3)."""
    import socket
    import sys
    import time
    from halluscope._ray import _check_reachable
    from halluscope.errors import ConfigError
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(4)
        port = server.getsockname()[1]
        started = time.monotonic()
        with pytest.raises(ConfigError, match=f"nothing at 127.0.0.1:{port} answers as a Ray"):
            _check_reachable(f"127.0.0.1:{port}", timeout=1)
        assert time.monotonic() - started < 5
        monkeypatch.setitem(sys.modules, "grpc", None)      # the Ray Client not installed
        with pytest.raises(ConfigError, match=r"needs pip install 'ray\[client\]'"):
            _check_reachable(f"ray://127.0.0.1:{port}", timeout=1)


def test_a_death_that_lands_late_blames_no_innocent_record(tmp_path):
    """An actor that died on a record after scoring the one that doomed it (a death that lands
    late) got that innocent record named once it had died twice: each careful try scored the
    batch from its start, so the culprit doomed the same next record again. Now a careful try
    keeps what it scored with the tracker, the next try starts at the record the actor died
    on, and that one survives: no record is named, the items are one process's."""
    from tests.test_worker_death import late_inputs
    path, metric = late_inputs(tmp_path, late={9})
    done = _ray_audit(tmp_path, metric, path)
    assert done.returncode == 0, done.stderr[-3000:]
    one = audit(path, metrics=metric, workers=1, out=tmp_path / "one", write_report=False)
    assert one.errors == []
    out = tmp_path / "out"
    assert (out / "items.jsonl").read_bytes() == (tmp_path / "one" / "items.jsonl").read_bytes()
    sheet = json.loads((out / "runsheet.json").read_text())["execution"]["ray"]
    assert sheet["batches_retried_after_an_actor_died"] >= 1
