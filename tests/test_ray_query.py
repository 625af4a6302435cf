"""``halluscope query --engine ray`` on a local Ray instance with 2 CPUs gives the one-process
output: the same lines in the same order, resume, cache, failures and exit codes."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fake_openai_server import FakeServer
from halluscope.cli.query import EXIT_FAILED, EXIT_OK, EXIT_USAGE

ray = pytest.importorskip("ray", reason="ray is not installed (pip install 'halluscope[ray]')")
pytest.importorskip("ray.data", reason="Ray Data is not installed")

KEY = "sk-rayquery-secret-0000000000"
N = 14


@pytest.fixture
def app():
    from halluscope.cli import app
    return app


@pytest.fixture
def prompts(tmp_path):
    from PIL import Image
    Image.new("RGB", (24, 24), (10, 200, 30)).save(tmp_path / "a.png")
    path = tmp_path / "prompts.jsonl"
    path.write_text("".join(json.dumps({"id": f"p{i}", "image": "a.png", "label": "yes",
                                        "prompt": f"Is there a dog {i}?"}) + "\n"
                            for i in range(N)))
    return path


def _query(app, prompts, out, url, engine, *extra):
    args = ["query", str(prompts), "-m", "openai/m", "--base-url", url, "-o", str(out), "-q",
            "--engine", engine, *extra]
    if engine == "ray":
        args += ["--ray-workers", "2"]
    return CliRunner().invoke(app, args)


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _sheet(out: Path) -> dict:
    return json.loads(out.with_name(out.name + ".runsheet.json").read_text())


def test_ray_output_equals_local_and_keeps_the_key_secret(app, prompts, tmp_path, local_ray,
                                                          monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    outs = {}
    with FakeServer(api_key=KEY, model_name="served") as server:
        for engine in ("local", "ray"):
            out = tmp_path / f"{engine}.jsonl"
            res = _query(app, prompts, out, server.url, engine, "-c", "4", "--cache",
                         str(tmp_path / f"cache-{engine}"))
            assert res.exit_code == EXIT_OK, res.output
            outs[engine] = out
        assert len(server.requests) == 2 * N
    local, ray_lines = _lines(outs["local"]), _lines(outs["ray"])
    assert ray_lines == local
    assert [r["id"] for r in ray_lines] == [f"p{i}" for i in range(N)]
    assert all(r["response"] and r["model"] == "served" for r in ray_lines)
    sheet, local_sheet = _sheet(outs["ray"]), _sheet(outs["local"])
    assert sheet["counts"] == local_sheet["counts"] == {"total": N, "skipped": 0, "to_ask": N,
                                                        "cached": 0, "new": N, "failed": 0,
                                                        "refused": 0, "kept_failed": 0,
                                                        "truncated": 0,
                                                        "filtered": 0, "reasoning": 0,
                                                        "thought_only": 0, "think_close": 0,
                                                        "url_images_unchecked": 0}
    assert sheet["client"]["calls"] == N and sheet["client"]["workers"] == 2
    assert sheet["reported_models"] == local_sheet["reported_models"] == {"served": N}
    assert sheet["cache"]["writes"] == N and sheet["engine"]["workers"] == 2
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    session = Path(ray._private.worker.global_worker.node.get_session_dir_path())
    written += [p for p in session.rglob("*") if p.is_file()]
    assert not [p for p in written if KEY.encode() in p.read_bytes()]


def test_ray_counts_answers_whose_server_named_no_model_as_local_does(app, prompts, tmp_path,
                                                                     local_ray):
    """The run sheet's ``model_not_reported`` sums the actors' clients (WorkerStats had no
    ``unreported_models``: every Ray query ended in an AttributeError once the count came)."""
    outs = {}
    script = {f"Is there a dog {i}?": ["no_model"] for i in (1, 4, 9)}
    for engine in ("local", "ray"):         # a script's faults are spent: a server each
        with FakeServer(script=script, model_name="served") as server:
            out = tmp_path / f"{engine}.jsonl"
            res = _query(app, prompts, out, server.url, engine, "-c", "4", "--no-cache")
            assert res.exit_code == EXIT_OK, res.output
            outs[engine] = out
    local, ray_lines = _lines(outs["local"]), _lines(outs["ray"])
    assert ray_lines == local
    assert [r["id"] for r in ray_lines if r["model"] is None] == ["p1", "p4", "p9"]
    assert _sheet(outs["ray"])["model_not_reported"] == \
        _sheet(outs["local"])["model_not_reported"] == 3


def test_ray_resumes_and_a_cached_rerun_makes_no_calls(app, prompts, tmp_path, local_ray):
    out = tmp_path / "out.jsonl"
    cache = str(tmp_path / "cache")
    with FakeServer() as server:
        assert _query(app, prompts, out, server.url, "local", "--cache", cache).exit_code == 0
        full = _lines(out)
        out.write_text("".join(json.dumps(r) + "\n" for r in full[:5]) + '{"id": "p5", "resp')
        res = _query(app, prompts, out, server.url, "ray", "--no-cache")
        assert res.exit_code == EXIT_OK, res.output
        assert len(server.requests) == N + N - 5       # only the unanswered ones
        assert _lines(out) == full
        counts = _sheet(out)["counts"]     # total: the whole set, not what was left of it
        assert (counts["total"], counts["skipped"], counts["to_ask"]) == (N, 5, N - 5)
        again = tmp_path / "again.jsonl"
        res = _query(app, prompts, again, server.url, "ray", "--cache", cache)
        assert res.exit_code == EXIT_OK, res.output
        assert len(server.requests) == 2 * N - 5       # every answer from the cache
    sheet = _sheet(again)
    assert sheet["counts"]["cached"] == N and sheet["client"]["calls"] == 0
    assert sheet["cache"]["hits"] == N
    assert _lines(again) == full


def test_relative_paths_name_the_drivers_files_on_the_actors(app, prompts, tmp_path,
                                                            local_ray, monkeypatch):
    """The images and the cache folder given relative to this folder: the actors worked in
    the folder Ray started in, so every image was "not found" and the cache was another one."""
    monkeypatch.chdir(tmp_path)     # Ray started in another folder (the local_ray fixture's)
    with FakeServer() as server:
        res = _query(app, "prompts.jsonl", "local.jsonl", server.url, "local", "--cache", "c")
        assert res.exit_code == EXIT_OK, res.output
        res = _query(app, "prompts.jsonl", "ray.jsonl", server.url, "ray", "--cache", "c")
        assert res.exit_code == EXIT_OK, res.output
        assert len(server.requests) == N        # every answer from the driver's cache
    assert _lines(tmp_path / "ray.jsonl") == _lines(tmp_path / "local.jsonl")
    assert _sheet(tmp_path / "ray.jsonl")["counts"]["cached"] == N


def test_actors_lost_mid_run_leave_a_run_sheet_that_says_the_run_did_not_finish(
        tmp_path, local_ray):
    """Query actors that die (their node lost, the OOM killer) ended the run with Ray's error
    (exit 3) and a run sheet whose ``aborted`` was null, a finished run's: an audit of the
    answers it held (32 of 300 in a user's run) judged its gates as over the whole set."""
    import signal

    import psutil

    from fake_openai_server import scripted_responder
    from halluscope.adapters.ray_query import query_ray
    from halluscope.query_sheets import query_run

    def die(prompt, body):          # the actors asking die
        raylet = ray._private.worker._global_node.all_processes["raylet"][0].process.pid
        for proc in psutil.Process(raylet).children():
            if "QueryWorker" in " ".join(proc.cmdline()):
                proc.send_signal(signal.SIGKILL)
        return f"echo: {prompt}"

    src = tmp_path / "p.jsonl"
    src.write_text("".join(json.dumps({"id": f"p{i}", "prompt": f"Q{i}" +
                                       (" die" if i == 9 else "")}) + "\n" for i in range(30)))
    out = tmp_path / "out.jsonl"
    # (each actor restarted asks the batch again, and dies again: WorkerLost, exit 3)
    from halluscope.adapters.ray_query import WorkerLost
    with FakeServer(responder=scripted_responder({"die": die})) as server:
        with pytest.raises(WorkerLost):
            query_ray(src, "openai/m", base_url=server.url, out=out, cache=False, workers=2,
                      max_connections=2, batch_size=2)
    sheet = _sheet(out)
    assert sheet["aborted"] and "Ray query actor died" in sheet["aborted"]
    assert query_run(out)["finished"] is False


def test_ray_resume_says_which_kept_answers_left_the_prompts(app, prompts, tmp_path,
                                                             local_ray):
    """As the one-process run: answers for ids the prompts file no longer holds are kept,
    warned about and counted in the run sheet (they were carried silently)."""
    out = tmp_path / "out.jsonl"
    with FakeServer() as server:
        assert _query(app, prompts, out, server.url, "local", "--no-cache").exit_code == 0
        fewer = tmp_path / "fewer.jsonl"
        fewer.write_text("".join(prompts.read_text().splitlines(keepends=True)[:N - 3]))
        res = _query(app, fewer, out, server.url, "ray", "--no-cache")
        assert res.exit_code == EXIT_OK, res.output
    assert "keeps 3 answer line(s) whose id is not in the prompts file" in \
        " ".join(res.output.split())
    assert _sheet(out)["not_in_prompts"] == {"count": 3,
                                             "examples": [f"p{i}" for i in range(N - 3, N)]}
    assert len(_lines(out)) == N


def test_an_interrupted_run_without_a_cache_keeps_every_answer_its_actors_received(
        tmp_path, local_ray):
    """Ctrl-C with --no-cache lost every answer of the batches in flight (an actor hands back
    a batch once all of it is answered; only a cache kept the rest), and the resume asked
    those prompts again. Now the actors stop and hand back what they received, which is
    written: the resume asks only the prompts that had no answer."""
    import os
    import signal
    import threading
    import time

    from fake_openai_server import _last_user_text, scripted_responder
    from halluscope.adapters.ray_query import query_ray
    release, answered = threading.Event(), []

    def slow(prompt, body):         # answered only once the resume asks again
        release.wait(60)
        return f"echo: {prompt}"

    def fast(prompt, body):
        answered.append(prompt)
        return f"echo: {prompt}"

    n = 12
    src = tmp_path / "p.jsonl"
    kind = ["fast", "fast", "slow"]
    src.write_text("".join(json.dumps({"id": f"p{i}", "prompt": f"Q{i} {kind[i % 3]}"}) + "\n"
                           for i in range(n)))
    fast_ids = [f"p{i}" for i in range(n) if i % 3 != 2]

    def interrupt_once_answered():
        while len(answered) < len(fast_ids):
            time.sleep(0.02)
        time.sleep(1.0)             # the answers reach the actors
        os.kill(os.getpid(), signal.SIGINT)

    out = tmp_path / "out.jsonl"
    opts = dict(out=out, cache=False, workers=2, max_connections=16)
    with FakeServer(responder=scripted_responder({"slow": slow}, default=fast)) as server:
        watcher = threading.Thread(target=interrupt_once_answered, daemon=True)
        watcher.start()
        try:
            with pytest.raises(KeyboardInterrupt):
                query_ray(src, "openai/m", base_url=server.url, **opts)
        finally:
            release.set()
            watcher.join(5)
        assert [r["id"] for r in _lines(out)] == fast_ids
        assert _sheet(out)["counts"]["new"] == len(fast_ids)
        asked = len(server.requests)
        result = query_ray(src, "openai/m", base_url=server.url, **opts)
        again = [_last_user_text(r["messages"]) for r in server.requests[asked:]]
    assert result.exit_code == EXIT_OK and result.counts.skipped == len(fast_ids)
    assert sorted(again) == sorted(f"Q{i} slow" for i in range(2, n, 3))
    assert [r["id"] for r in _lines(out)] == [f"p{i}" for i in range(n)]


def test_an_actor_stops_asking_once_its_driver_is_gone(local_ray):
    """A driver killed with SIGKILL left its actors sending requests until Ray ended them
    (about 2 s, 60-90 requests at 8 connections and 0.2 s a request); an actor on the
    driver's node now cancels its requests within a tenth of a second."""
    import asyncio
    import subprocess
    import time

    from halluscope.adapters.client import RetryPolicy
    from halluscope.adapters.ray_query import ForwardedEnv, QueryWorker, WorkerSettings
    from halluscope.adapters.types import Decoding
    driver = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    node = ray.get_runtime_context().get_node_id()
    settings = WorkerSettings("mock/echo", None, {}, False, None, 1, RetryPolicy(), 1.0, False,
                              1, None, None, Decoding(), None, (node, driver.pid))
    worker = QueryWorker(settings, ForwardedEnv({}))

    async def asked_while_the_driver_dies():
        request = asyncio.ensure_future(asyncio.sleep(60))
        worker.asking.add(request)
        watch = asyncio.ensure_future(worker._watch())
        await asyncio.sleep(0.3)
        assert not worker.stopping
        driver.kill()
        driver.wait()
        t0 = time.monotonic()
        await asyncio.wait_for(watch, 5)
        took = time.monotonic() - t0
        await asyncio.gather(request, return_exceptions=True)
        assert request.cancelled()
        return took

    assert asyncio.run(asked_while_the_driver_dies()) < 1.0
    assert worker.stopping


def test_ray_failures_give_the_local_exit_code_and_causes(app, prompts, tmp_path, local_ray):
    script = {"dog 1?": ["refuse"], "dog 4?": ["500"] * 10}
    results = {}
    for engine in ("local", "ray"):
        out = tmp_path / f"{engine}.jsonl"
        with FakeServer(script={k: list(v) for k, v in script.items()}) as server:
            res = _query(app, prompts, out, server.url, engine, "--no-cache",
                         "--max-attempts", "2")
        results[engine] = (res, _lines(out), _sheet(out))
    for engine, (res, lines, _) in results.items():
        assert res.exit_code == EXIT_FAILED, (engine, res.output)
        assert "2 record(s) failed" in res.output
        assert "1 x RequestError HTTP 400 (p1)" in res.output
        assert "1 x ServerError HTTP 500 (p4)" in res.output
    assert results["ray"][1] == results["local"][1]
    assert [(r["id"], r["model"], r["requested_model"]) for r in results["ray"][1]
            if "error" in r] == [("p1", None, "m"), ("p4", None, "m")]   # none answered them
    assert results["ray"][2]["failures"] == results["local"][2]["failures"]


def test_a_ray_resume_with_nothing_left_to_ask_still_checks_the_kept_lines(app, prompts,
                                                                          tmp_path, local_ray):
    """With every answer in the file no actor was started and the kept lines were never
    checked against the prompts: an image whose bytes changed since was kept without a word
    (the one-process run refuses it)."""
    out = tmp_path / "out.jsonl"
    with FakeServer() as server:
        assert _query(app, prompts, out, server.url, "ray", "--no-cache").exit_code == EXIT_OK
        from PIL import Image
        Image.new("RGB", (24, 24), (200, 10, 30)).save(tmp_path / "a.png")    # other bytes
        res = _query(app, prompts, out, server.url, "ray", "--no-cache")
    assert res.exit_code == EXIT_USAGE, res.output
    assert "field 'image_sha256'" in " ".join(res.output.split())


def test_ray_url_image_lines_carry_the_hash_sent_and_a_resume_says_they_went_unchecked(
        app, tmp_path, local_ray):
    import hashlib

    from PIL import Image

    from test_query_resume import _image_server
    Image.new("RGB", (8, 8), "red").save(tmp_path / "a.png")
    images = _image_server(tmp_path)
    url = f"http://127.0.0.1:{images.server_address[1]}/a.png"
    prompts = tmp_path / "urls.jsonl"
    prompts.write_text("".join(json.dumps({"id": f"u{i}", "image": url, "prompt": f"dog {i}?"})
                               + "\n" for i in range(3)))
    out = tmp_path / "out.jsonl"
    try:
        with FakeServer() as server:
            for _ in range(2):
                res = _query(app, prompts, out, server.url, "ray", "--allow-urls", "--no-cache")
                assert res.exit_code == EXIT_OK, res.output
    finally:
        images.shutdown()
        images.server_close()
    sent = hashlib.sha256((tmp_path / "a.png").read_bytes()).hexdigest()
    assert [r["image_sha256"] for r in _lines(out)] == [sent] * 3
    counts = _sheet(out)["counts"]
    assert (counts["skipped"], counts["url_images_unchecked"]) == (3, 3)


def test_ray_unreachable_server_stops_with_exit_2(app, prompts, tmp_path, local_ray):
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = tmp_path / "out.jsonl"
    res = _query(app, prompts, out, f"http://127.0.0.1:{port}/v1", "ray", "--no-cache", "-c", "2")
    assert res.exit_code == EXIT_USAGE, res.output
    assert "stopped:" in res.output and "cannot reach" in res.output
    assert _sheet(out)["aborted"].startswith("ServerUnreachable")


def test_actors_the_cluster_cannot_hold_are_a_usage_error_not_a_wait_forever(app, prompts,
                                                                             tmp_path, local_ray):
    """Every actor must be ready before the first batch: 3 actors of 1 CPU on 2 CPUs, or an
    actor asking a GPU of a cluster without one, waited for ever; now exit 2 at once."""
    for extra in (["--ray-workers", "3"], ["--ray-gpus-per-worker", "1"]):
        out = tmp_path / "out.jsonl"
        res = CliRunner().invoke(app, ["query", str(prompts), "-m", "mock/echo", "-o", str(out),
                                       "-q", "--engine", "ray", "--no-cache", *extra])
        assert res.exit_code == EXIT_USAGE, res.output
        assert "do not fit the Ray cluster" in res.output and "2 CPU(s), 0 GPU(s)" in res.output
        assert out.read_text() == ""
        assert "do not fit the Ray cluster" in _sheet(out)["aborted"]
    assert ray.is_initialized()       # the test's own Ray instance is left running


def test_actors_that_fit_default_to_the_cluster_and_check_what_is_asked():
    from halluscope.adapters.ray_query import _actors_that_fit
    from halluscope.errors import ConfigError
    eight = {"CPU": 8.0, "GPU": 2.0}
    assert _actors_that_fit(eight, None, 0, None) == 8
    assert _actors_that_fit(eight, None, 1, None) == 2
    assert _actors_that_fit(eight, None, 0.5, None) == 4
    assert _actors_that_fit(eight, 3, 0, None) == 3
    with pytest.raises(ConfigError, match="3 query actor"):
        _actors_that_fit(eight, 3, 1, "auto")
    with pytest.raises(ConfigError):
        _actors_that_fit({"CPU": 8.0}, None, 1, None)


def test_missing_ray_is_a_clear_usage_error(app, prompts, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    monkeypatch.setitem(sys.modules, "ray.data", None)
    res = _query(app, prompts, tmp_path / "o.jsonl", "http://127.0.0.1:9/v1", "ray",
                 "--no-cache")
    assert res.exit_code == EXIT_USAGE, res.output
    assert "pip install 'halluscope[ray]'" in res.output
    assert not (tmp_path / "o.jsonl").exists()


def test_unknown_engine_exits_2(app, prompts, tmp_path):
    res = _query(app, prompts, tmp_path / "o.jsonl", "http://127.0.0.1:9/v1", "spark")
    assert res.exit_code == EXIT_USAGE and "expected --engine local or ray" in res.output


def test_local_model_on_an_actor_pool_answers_as_locally(tmp_path, local_ray):
    pytest.importorskip("torch")
    sys.path.insert(0, str(Path(__file__).parent))
    from tiny_vlms import tiny_vlm

    from halluscope.adapters.query import query
    from halluscope.adapters.ray_query import query_ray
    from PIL import Image
    Image.new("RGB", (64, 48), (180, 40, 40)).save(tmp_path / "photo.jpg")
    src = tmp_path / "p.jsonl"
    src.write_text("".join(json.dumps({"id": str(i), "image": "photo.jpg",
                                       "prompt": f"Question {i}?"}) + "\n" for i in range(4)))
    model = f"hf/{tiny_vlm('llava', tmp_path / 'vlm')}"
    opts = {"device": "cpu", "dtype": "float32"}
    local = query(src, model, out=tmp_path / "local.jsonl", cache=False, max_tokens=4,
                  model_options=opts)
    from halluscope.adapters.types import Decoding
    result = query_ray(src, model, out=tmp_path / "ray.jsonl", cache=tmp_path / "c",
                       decoding=Decoding(max_tokens=4), model_options=opts, workers=2)
    assert result.exit_code == 0 and result.counts.new == 4
    assert result.runsheet["engine"]["workers"] == 2
    assert result.runsheet["model"]["pin"].startswith("files:")
    assert _lines(tmp_path / "ray.jsonl") == local


_WRITER = """
import sys
from halluscope.adapters.cache import ResponseCache
from halluscope.adapters.types import Response
cache = ResponseCache(sys.argv[1])
for i in range(40):
    key = f"{sys.argv[2]}-{i}" if i % 2 else f"shared-{i}"
    cache.put(key, {"provider": "p", "model": "m"}, Response(text=f"{sys.argv[2]} {i}", model="m"))
    assert cache.get(key) is not None
assert cache.write_errors == 0, cache.write_errors
cache.close()
"""


def test_the_response_cache_is_safe_for_several_processes(tmp_path):
    """Four processes open one fresh cache at once and write: every row lands, none fails."""
    import os
    import subprocess
    from halluscope.adapters.cache import ResponseCache
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, str(tmp_path / "c"), f"w{n}"],
                              env=env, stderr=subprocess.PIPE, text=True) for n in range(4)]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, errors
    with ResponseCache(tmp_path / "c") as cache:
        assert len(cache) == 4 * 20 + 20


def test_bad_prompt_lines_are_named_before_ray_starts(app, prompts, tmp_path):
    with open(prompts, "a") as fh:
        fh.write('{"id": "nothing to ask"}\n')
    res = _query(app, prompts, tmp_path / "o.jsonl", "http://127.0.0.1:9/v1", "ray",
                 "--no-cache")
    assert res.exit_code == EXIT_USAGE, res.output
    assert f"prompts.jsonl:{N + 1}" in res.output and "expected the question" in res.output
