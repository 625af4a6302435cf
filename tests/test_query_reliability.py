"""``halluscope query`` when things go wrong: refused requests, an unreachable server, a corrupt
cache, two runs on one output file, rate limits, and credentials in every channel."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fake_openai_server import FakeServer
from halluscope.adapters.cache import ResponseCache
from halluscope.cli.query import EXIT_FAILED, EXIT_OK, EXIT_USAGE

ROOT = Path(__file__).resolve().parents[1]
KEY = "sk-reliability-0000000000"


@pytest.fixture
def app():
    """The real CLI (query and judges are among its commands)."""
    from halluscope.cli import app
    return app


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture
def prompts(tmp_path):
    path = tmp_path / "prompts.jsonl"
    path.write_text("".join(json.dumps({"id": f"p{i}", "prompt": f"Is there a dog {i}?"}) + "\n"
                            for i in range(6)))
    return path


def _query(runner, app, prompts, out, url, *extra):
    return runner.invoke(app, ["query", str(prompts), "-m", "vllm/qwen-tiny", "--base-url", url,
                               "-o", str(out), "-q", *extra])


def _lines(path):
    return [json.loads(line) for line in open(path)]


def test_refused_requests_exit_2_with_the_server_reason_grouped(app, runner, prompts, tmp_path):
    out = tmp_path / "out.jsonl"
    with FakeServer(faults={"refuse": 1.0}, model_name="Qwen2.5-VL") as server:
        res = _query(runner, app, prompts, out, server.url, "--no-cache")
        assert len(server.requests) == 6  # a 400 is not retried
    assert res.exit_code == EXIT_USAGE, res.output  # none could be asked
    assert "6 record(s) failed" in res.output
    assert "6 x RequestError HTTP 400" in res.output
    assert "Server is pinned to 'Qwen2.5-VL'; requested 'qwen-tiny'" in res.output
    lines = _lines(out)
    assert len(lines) == 6 and all("pinned to 'Qwen2.5-VL'" in r["error"] for r in lines)
    assert all(r["error_status"] == 400 for r in lines)
    sheet = json.loads((tmp_path / "out.jsonl.runsheet.json").read_text())
    assert sheet["failures"][0]["count"] == 6 and sheet["failures"][0]["status"] == 400


def test_some_refused_exit_1_and_two_causes(app, runner, prompts, tmp_path):
    out = tmp_path / "out.jsonl"
    with FakeServer(script={"dog 1?": ["refuse"], "dog 4?": ["500"] * 10}) as server:
        res = _query(runner, app, prompts, out, server.url, "--no-cache", "--max-attempts", "2")
    assert res.exit_code == EXIT_FAILED, res.output
    assert "2 record(s) failed" in res.output
    assert "1 x RequestError HTTP 400 (p1)" in res.output
    assert "1 x ServerError HTTP 500 (p4)" in res.output
    assert "The server had an error" in res.output


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again on exit: connections are refused


def test_refused_connection_stops_early(app, runner, prompts, tmp_path):
    out = tmp_path / "out.jsonl"
    t0 = time.perf_counter()
    res = _query(runner, app, prompts, out, f"http://127.0.0.1:{_closed_port()}/v1",
                 "--no-cache", "-c", "1")
    elapsed = time.perf_counter() - t0
    assert res.exit_code == EXIT_USAGE, res.output
    assert "stopped:" in res.output and "cannot reach http://127.0.0.1:" in res.output
    assert "4 connection attempts in a row failed" in res.output
    sheet = json.loads((tmp_path / "out.jsonl.runsheet.json").read_text())
    assert sheet["client"]["calls"] == 4  # not 6 records x 6 attempts
    assert elapsed < 8
    assert not out.exists() or out.read_text() == ""  # nothing asked, nothing written


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_corrupt_cache_is_moved_aside_and_rebuilt(app, runner, prompts, tmp_path, damage):
    cache_dir = tmp_path / "cache"
    with FakeServer() as server:
        res = _query(runner, app, prompts, tmp_path / "first.jsonl", server.url, "--cache",
                     str(cache_dir))
        assert res.exit_code == EXIT_OK, res.output
        db = cache_dir / "responses.sqlite3"
        for side in ("-wal", "-shm"):
            Path(str(db) + side).unlink(missing_ok=True)
        if damage == "garbage":
            db.write_bytes(os.urandom(5000))
        else:
            data = db.read_bytes()
            db.write_bytes(data[: len(data) // 2])
        res = _query(runner, app, prompts, tmp_path / "second.jsonl", server.url, "--cache",
                     str(cache_dir))
    assert res.exit_code == EXIT_OK, res.output
    assert "warning:" in res.output and str(db) in res.output.replace("\n", "")
    moved = list(cache_dir.glob("responses.sqlite3.corrupt-*"))
    assert moved and moved[0].name in res.output.replace("\n", "")
    assert len(_lines(tmp_path / "second.jsonl")) == 6
    with ResponseCache(cache_dir) as cache:
        assert len(cache) == 6  # rebuilt


def test_unopenable_cache_exits_2_naming_the_file(app, runner, prompts, tmp_path):
    blocker = tmp_path / "cache.db"
    blocker.mkdir()  # a directory where the cache file should be
    with FakeServer() as server:
        res = _query(runner, app, prompts, tmp_path / "o.jsonl", server.url, "--cache",
                     str(blocker))
    assert res.exit_code == EXIT_USAGE
    assert "cannot use the response cache" in res.output and "--no-cache" in res.output


def test_cache_key_includes_the_endpoint(app, runner, prompts, tmp_path):
    cache = str(tmp_path / "cache")
    with FakeServer() as a, FakeServer() as b:
        assert _query(runner, app, prompts, tmp_path / "a.jsonl", a.url, "--cache",
                      cache).exit_code == EXIT_OK
        assert _query(runner, app, prompts, tmp_path / "a2.jsonl", a.url, "--cache",
                      cache).exit_code == EXIT_OK
        assert len(a.requests) == 6  # the same server: answered from the cache
        assert _query(runner, app, prompts, tmp_path / "b.jsonl", b.url, "--cache",
                      cache).exit_code == EXIT_OK
        assert len(b.requests) == 6  # another server serving the same model name: asked anew
        urls = {a.url, b.url}
    with ResponseCache(tmp_path / "cache") as store:
        endpoints = {json.loads(r["request"])["endpoint"] for r in store.rows()}
    assert endpoints == urls


def test_second_query_on_the_same_out_exits_2_naming_the_holder(app, runner, prompts,
                                                                 tmp_path):
    out = tmp_path / "out.jsonl"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")])}
    with FakeServer(latency=0.5) as server:
        first = subprocess.Popen(
            [sys.executable, "-c", "from halluscope.cli import app; app()", "query",
             str(prompts), "-m", "vllm/qwen-tiny", "--base-url", server.url, "-o", str(out),
             "-q", "--no-cache", "-c", "1"], env=env, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE)
        lock = tmp_path / "out.jsonl.lock"
        deadline = time.time() + 30
        while time.time() < deadline and not (lock.exists() and lock.read_text().strip()):
            time.sleep(0.05)
        res = _query(runner, app, prompts, out, server.url, "--no-cache")
        first.communicate(timeout=60)
    assert res.exit_code == EXIT_USAGE, res.output
    assert f"process {first.pid}" in res.output.replace("\n", " ")
    assert first.returncode == EXIT_OK
    ids = [r["id"] for r in _lines(out)]
    assert sorted(ids) == [f"p{i}" for i in range(6)]  # each id once


def test_rate_limit_wait_is_measured_and_reported(app, runner, prompts, tmp_path):
    out = tmp_path / "out.jsonl"
    with FakeServer(script={"dog 2?": ["429", "429"]}, retry_after="0.3") as server:
        res = runner.invoke(app, ["query", str(prompts), "-m", "vllm/m", "--base-url",
                                  server.url, "-o", str(out), "--no-cache"])
    assert res.exit_code == EXIT_OK, res.output
    sheet = json.loads((tmp_path / "out.jsonl.runsheet.json").read_text())
    assert sheet["client"]["rate_limited"] == 2
    assert 0.6 <= sheet["client"]["rate_limit_wait_s"] < 1.5
    assert "for 2 rate limit(s)" in res.output and "waited 0." in res.output


MARKERS = {"userinfo": "MKuserinfo7431", "query": "MKqueryparam5520", "header": "MKheader8812",
           "judge": "MKjudgeurl3309", "env": "MKenvkey6674"}


def test_no_secret_reaches_any_file_log_or_console(app, runner, tmp_path, monkeypatch):
    """A marker planted in each channel is found in no file written, no log line, no output."""
    import base64
    import logging

    from halluscope.cli import app as main_app
    monkeypatch.setenv("VLLM_API_KEY", MARKERS["env"])
    log_file = tmp_path / "debug.log"
    handler = logging.FileHandler(log_file)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text("".join(json.dumps({"question_id": f"q{i}",
                                           "text": f"Is there a dog in scene {i}.",
                                           "label": "yes" if i % 2 else "no"})
                               + "\n" for i in range(4)))
    out = tmp_path / "outputs.jsonl"
    basic = base64.b64encode(f"user:{MARKERS['userinfo']}".encode()).decode()
    try:
        with FakeServer(script={"scene 1.": ["leak"], "scene 3.": ["leak"]}) as server:
            url = (f"http://user:{MARKERS['userinfo']}@127.0.0.1:{server.port}/v1"
                   f"?api-key={MARKERS['query']}")
            headers = json.dumps({"X-Api-Key": MARKERS["header"]})
            res = runner.invoke(app, ["query", str(prompts), "-m", "vllm/m", "--base-url", url,
                                      "-O", f"default_headers={headers}", "-o", str(out),
                                      "--cache", str(tmp_path / "cache")])
            seen = json.dumps(server.headers)
        # the channels really carried the markers to the server ...
        assert MARKERS["header"] in seen and basic in seen
        assert res.exit_code == EXIT_FAILED, res.output
        assert "2 x RequestError HTTP 400" in res.output  # ... which echoed them back
        with FakeServer(script={"scene 2.": ["leak"]}) as server:  # the env key as bearer
            res_env = runner.invoke(app, ["query", str(prompts), "-m", "vllm/m", "--base-url",
                                          server.url, "-o", str(tmp_path / "env.jsonl"),
                                          "--cache", str(tmp_path / "cache")])
            assert MARKERS["env"] in json.dumps(server.headers)
        assert res_env.exit_code == EXIT_FAILED and "bad request from" in res_env.output
        judge_url = f"http://u:{MARKERS['judge']}@127.0.0.1:9/v1"
        audit_out = tmp_path / "audit"
        res2 = runner.invoke(main_app, ["audit", str(out), "--out", str(audit_out),
                                        "--option", f"judge_base_url={judge_url}",
                                        "--metric", "pope", "--bootstrap", "50"])
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        handler.close()
    assert (audit_out / "runsheet.json").is_file(), res2.output
    runsheet = (audit_out / "runsheet.json").read_text()
    assert "judge_base_url" in runsheet and "127.0.0.1:9" in runsheet  # recorded, redacted
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p.name != "prompts.jsonl"]
    names = {p.name for p in written}
    assert {"outputs.jsonl", "outputs.jsonl.runsheet.json", "responses.sqlite3", "results.json",
            "items.jsonl", "runsheet.json", "report.html", "debug.log"} <= names
    planted = {**MARKERS, "basic-auth": basic}
    for path in written:
        data = path.read_bytes()
        for channel, marker in planted.items():
            assert marker.encode() not in data, f"{channel} secret in {path}"
    for text in (res.output, res_env.output, res2.output):
        for channel, marker in planted.items():
            assert marker not in text, f"{channel} secret on the console"
    errors = [r["error"] for r in _lines(out) if "error" in r]
    assert len(errors) == 2 and all("<redacted>" in e for e in errors)


def test_answers_and_prompts_are_never_rewritten_by_redaction(app, runner, tmp_path,
                                                              monkeypatch):
    """A placeholder key ('none', as local servers take) was a 'secret': "No, there is none."
    was written and cached as "No, there is <redacted>.", and patterns cut text the model read
    off an image ("code=SUMMER2024", "Basic Training101"). A real key the model quotes is still
    cut."""
    monkeypatch.setenv("VLLM_API_KEY", "none")
    monkeypatch.setenv("BUILD_TOKEN", "please")
    real = "sk-real-key-0123456789abcdef"
    replies = [("dog", "No, there is none."),
               ("sign", "It says: visit shop.example?code=SUMMER2024 and use Basic Training101"),
               ("key", f"Your key is {real}.")]
    prompts = tmp_path / "p.jsonl"
    prompts.write_text("".join(json.dumps({"id": k, "prompt": f"Read the {k}, please. Answer "
                                                             f"none if none."}) + "\n"
                               for k, _ in replies))
    from fake_openai_server import scripted_responder
    from halluscope.redact import register_secret
    register_secret(real)
    out = tmp_path / "out.jsonl"
    with FakeServer(responder=scripted_responder(replies)) as server:
        for _ in range(2):                   # then from the cache
            res = _query(runner, app, prompts, out, server.url, "--cache",
                         str(tmp_path / "cache"), "--restart")
            assert res.exit_code == EXIT_OK, res.output
            got = {r["id"]: r for r in _lines(out)}
            assert got["dog"]["response"] == "No, there is none."
            assert got["dog"]["prompt"] == "Read the dog, please. Answer none if none."
            assert got["sign"]["response"] == replies[1][1]
            assert got["key"]["response"] == "Your key is <redacted>."


def test_a_line_without_an_answer_is_not_taken_for_answered(app, runner, prompts, tmp_path):
    """read_done counted every line with an id as done: a prompts file given as --out (or a
    line with a null response) was 'already done', exit 0, the prompts never asked."""
    out = tmp_path / "out.jsonl"
    out.write_text('{"id": "p0", "prompt": "Is there a dog 0?", "response": "No."}\n'
                   '{"id": "p1", "prompt": "Is there a dog 1?", "response": null}\n')
    with FakeServer() as server:
        # no run sheet beside it: not query's file (another tool's, another model's answers)
        res = _query(runner, app, prompts, out, server.url, "--no-cache")
        assert res.exit_code == EXIT_USAGE and "no run sheet" in res.output, res.output
        (tmp_path / "out.jsonl.runsheet.json").write_text('{"halluscope_runsheet": 1}')
        res = _query(runner, app, prompts, out, server.url, "--no-cache")
        assert res.exit_code == EXIT_USAGE and "with neither" in res.output, res.output
        assert len(server.requests) == 0
        assert "null" in out.read_text()                     # left as it is
        res = _query(runner, app, prompts, prompts, server.url, "--no-cache", "--restart")
        assert res.exit_code == EXIT_USAGE and "prompts file" in res.output
        assert len(_lines(prompts)) == 6                      # --restart did not empty it
        res = _query(runner, app, prompts, tmp_path / "o.jsonl.gz", server.url, "--no-cache")
        assert res.exit_code == EXIT_USAGE and "plain JSON-lines" in res.output
        res = _query(runner, app, prompts, prompts / "sub" / "o.jsonl", server.url)
        assert res.exit_code == EXIT_USAGE and "cannot create its folder" in res.output


def test_resume_appends_after_a_last_line_without_its_newline(app, runner, prompts, tmp_path):
    out = tmp_path / "out.jsonl"
    with FakeServer() as server:
        assert _query(runner, app, prompts, out, server.url, "--no-cache").exit_code == EXIT_OK
        lines = out.read_text().splitlines()
        out.write_text("\n".join(lines[:3]))                  # cut after line 3's text
        assert _query(runner, app, prompts, out, server.url, "--no-cache").exit_code == EXIT_OK
    assert sorted(r["id"] for r in _lines(out)) == [f"p{i}" for i in range(6)]


def test_a_killed_run_leaves_a_run_sheet_that_refuses_other_settings(app, runner, prompts,
                                                                      tmp_path):
    """The resume check read only the run sheet a run writes when it ends: after a kill,
    resuming with another temperature, system prompt or samples mixed two runs in one file."""
    from halluscope.adapters.outlock import answers_of, prepare_output, unlock_output
    from halluscope.adapters.registry import get_model
    from halluscope.adapters.types import Decoding
    out = tmp_path / "out.jsonl"
    with FakeServer() as server:
        api = get_model("vllm/qwen-tiny", base_url=server.url)
        lock, _ = prepare_output(out, resume=True, retry_failed=True,
                                 answers=answers_of(api, Decoding(), None))
        out.write_text('{"id": "p0", "prompt": "Is there a dog 0?", "response": "No."}\n')
        unlock_output(lock)                # killed here: no run sheet of its own was written
        sheet = json.loads((tmp_path / "out.jsonl.runsheet.json").read_text())
        assert "did not finish" in sheet["aborted"]
        for extra in (["-t", "0.7"], ["--system", "Always lie."], ["-n", "2"],
                      ["--detail", "low"]):
            res = _query(runner, app, prompts, out, server.url, "--no-cache", *extra)
            assert res.exit_code == EXIT_USAGE and "holds answers of another run" in res.output
        assert len(server.requests) == 0
        res = _query(runner, app, prompts, out, server.url, "--no-cache")   # the same: goes on
        assert res.exit_code == EXIT_OK, res.output
        assert len(server.requests) == 5 and len(_lines(out)) == 6


def test_the_output_lock_holds_through_a_symbolic_link(tmp_path):
    from halluscope.adapters.outlock import OutputLocked, prepare_output, unlock_output
    real = tmp_path / "out.jsonl"
    (tmp_path / "link").mkdir()
    real.write_text("")
    (tmp_path / "link" / "out.jsonl").symlink_to(real)
    lock, _ = prepare_output(real, resume=True, retry_failed=True)
    try:
        with pytest.raises(OutputLocked):
            prepare_output(tmp_path / "link" / "out.jsonl", resume=True, retry_failed=True)
    finally:
        unlock_output(lock)


@pytest.mark.parametrize("args,message", [
    (["--base-url", "http://127.0.0.1:99999/v1"], "expected the server as an http(s) URL"),
    (["--base-url", "http://[::1/v1"], "expected the server as an http(s) URL"),
    (["--base-url", "http://127.0.0.1:9/v1", "--timeout", "0"], "expected --timeout"),
    (["--base-url", "http://127.0.0.1:9/v1", "--timeout", "nan"], "expected --timeout"),
    (["--base-url", "http://127.0.0.1:9/v1", "-t", "inf"], "expected temperature"),
    (["--base-url", "http://127.0.0.1:9/v1", "--top-p", "nan"], "expected top_p in (0, 1]"),
])
def test_settings_no_request_can_use_are_usage_errors(app, runner, prompts, tmp_path, args,
                                                      message):
    """A bad port was an internal error (exit 3) at the first request; a zero timeout or an
    infinite temperature was sent, retried six times and blamed on the server."""
    res = runner.invoke(app, ["query", str(prompts), "-m", "vllm/qwen-tiny", "-o",
                              str(tmp_path / "o.jsonl"), "-q", *args], env={"COLUMNS": "300"})
    assert res.exit_code == EXIT_USAGE and message in res.output, res.output


def test_a_folder_that_is_no_model_is_a_usage_error(app, runner, prompts, tmp_path):
    pytest.importorskip("transformers")
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text("{not json")
    res = runner.invoke(app, ["query", str(prompts), "-m", f"hf/{folder}", "-o",
                              str(tmp_path / "o.jsonl"), "-q"], env={"COLUMNS": "300"})
    assert res.exit_code == EXIT_USAGE, res.output
    assert "expected a transformers image-text model folder" in res.output


def test_resume_refuses_answers_given_for_another_prompt(app, runner, prompts, tmp_path):
    """A prompt changed under the same id kept its old answer, and the run sheet named the new
    prompts file: the answer was filed under a prompt it never answered."""
    out = tmp_path / "out.jsonl"
    with FakeServer() as server:
        assert _query(runner, app, prompts, out, server.url, "--no-cache").exit_code == EXIT_OK
        changed = tmp_path / "changed.jsonl"
        rows = _lines(prompts)
        rows[2]["prompt"] = "Is there a cat 2?"
        changed.write_text("".join(json.dumps(r) + "\n" for r in rows))
        before = out.read_text()
        res = _query(runner, app, changed, out, server.url, "--no-cache")
        assert res.exit_code == EXIT_USAGE, res.output
        assert "'p2' was answered for another prompt" in " ".join(res.output.split())
        assert out.read_text() == before
        assert _query(runner, app, prompts, out, server.url, "--no-cache").exit_code == EXIT_OK


def test_an_interrupted_run_says_so_in_its_run_sheet(prompts, tmp_path):
    """Ctrl-C left a run sheet with aborted: None, as a finished run's."""
    from halluscope.adapters.query import query

    def stop_after_two(counts):
        if counts.done >= 2:
            raise KeyboardInterrupt
    out = tmp_path / "out.jsonl"
    with FakeServer() as server:
        with pytest.raises(KeyboardInterrupt):
            query(prompts, "vllm/qwen-tiny", base_url=server.url, cache=False, out=out,
                  progress=stop_after_two, max_connections=1)
    sheet = json.loads((tmp_path / "out.jsonl.runsheet.json").read_text())
    assert sheet["aborted"].startswith("interrupted") and sheet["counts"]["new"] == 2


def test_the_run_sheet_after_a_resume_counts_the_whole_files_models(app, runner, prompts,
                                                                     tmp_path):
    """After a resume the run sheet counted only the last run's answers: another model's
    answers from the first run were in the file, and model_mismatch said false."""
    out = tmp_path / "out.jsonl"
    with FakeServer(model_name="served-a") as server:
        assert _query(runner, app, prompts, out, server.url, "--no-cache").exit_code == EXIT_OK
        url = server.url
    out.write_text("".join(out.read_text().splitlines(keepends=True)[:3]))
    with FakeServer(model_name="qwen-tiny", port=int(url.rsplit(":", 1)[1].split("/")[0])
                    ) as server:
        assert _query(runner, app, prompts, out, server.url, "--no-cache").exit_code == EXIT_OK
    sheet = json.loads((tmp_path / "out.jsonl.runsheet.json").read_text())
    assert sheet["reported_models"] == {"served-a": 3, "qwen-tiny": 3}
    assert sheet["model_mismatch"] is True


def test_an_empty_prompts_file_and_duplicate_ids_are_named(app, runner, tmp_path):
    """An empty prompts file exited 0, as if every prompt had been asked; a duplicate id was
    named by its line without its file."""
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    res = _query(runner, app, empty, tmp_path / "o.jsonl", "http://127.0.0.1:9/v1")
    assert res.exit_code == EXIT_USAGE and "expected at least one prompt line" in res.output
    dup = tmp_path / "dup.jsonl"
    dup.write_text('{"id": "a", "prompt": "x?"}\n{"id": "a", "prompt": "y?"}\n')
    res = runner.invoke(app, ["query", str(dup), "-m", "vllm/q", "--base-url",
                              "http://127.0.0.1:9/v1", "-o", str(tmp_path / "o.jsonl"), "-q"],
                        env={"COLUMNS": "300"})
    assert res.exit_code == EXIT_USAGE and f"{dup}:2: duplicate id 'a'" in res.output


def test_a_file_of_lines_without_ids_is_left_alone(app, runner, prompts, tmp_path):
    """A CHAIR caption log given as --out lost every line (no id: 'dropped to ask again') and
    was replaced by answers, exit 0."""
    out = tmp_path / "captions.jsonl"
    out.write_text('{"image_id": 139, "caption": "A dog."}\n')
    (tmp_path / "captions.jsonl.runsheet.json").write_text('{"halluscope_runsheet": 1}')
    with FakeServer() as server:
        res = _query(runner, app, prompts, out, server.url, "--no-cache")
    assert res.exit_code == EXIT_USAGE and "got one without" in res.output
    assert out.read_text() == '{"image_id": 139, "caption": "A dog."}\n'


def test_an_empty_image_field_is_a_bad_prompt(app, runner, tmp_path):
    """"image": "" was asked as a text-only prompt without a word."""
    prompts = tmp_path / "p.jsonl"
    prompts.write_text('{"id": "a", "image": "", "prompt": "What is it?"}\n')
    res = _query(runner, app, prompts, tmp_path / "o.jsonl", "http://127.0.0.1:9/v1")
    assert res.exit_code == EXIT_USAGE and "got an empty string" in res.output
