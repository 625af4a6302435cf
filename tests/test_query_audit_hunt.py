"""The ``query`` -> ``audit`` workflow as a user runs it (queryhunt): an audit of a query run
that did not finish says so and records who answered; prompts reach the model in prompt
order, so the output file grows as answers arrive. Servers are loopback ones (127.0.0.1)."""

from __future__ import annotations

import json
import logging
import os
import threading

import pytest
from PIL import Image

from conftest import pope_prompt_file
import halluscope


@pytest.fixture
def pope_prompts(tmp_path):
    """Eight POPE questions (labels alternate no/yes) on two tiny images."""
    return pope_prompt_file(tmp_path, text="Is there a dog {i} in the image?")


def _stop_after(n):
    def progress(counts):
        if counts.new >= n:
            raise KeyboardInterrupt
    return progress


def test_an_audit_of_a_query_run_that_did_not_finish_says_so(pope_prompts, tmp_path, caplog):
    """An interrupted query leaves the answers it got; the prompts it never asked are in no
    line. The audit scored those answers as if they were the whole benchmark, exit 0, without a
    word: it now warns (naming the file, how many of how many requests were answered) and the
    run sheet's ``query_runs`` records the run as unfinished, with the model that answered."""
    out = tmp_path / "out.jsonl"
    with pytest.raises(KeyboardInterrupt):
        halluscope.query(pope_prompts, "mock/yes-no", out=out, cache=False,
                         progress=_stop_after(3))
    held = len(out.read_text().splitlines())
    assert 3 <= held < 8
    with caplog.at_level(logging.WARNING):
        result = halluscope.audit(out, metrics=["pope"], out=tmp_path / "audit", n_boot=0)
    assert result.metrics["pope"].results["tp"].value + result.metrics["pope"].results[
        "fn"].value + result.metrics["pope"].results["fp"].value + result.metrics[
        "pope"].results["tn"].value == held
    notes = [r.getMessage() for r in caplog.records if "did not finish" in r.getMessage()]
    assert len(notes) == 1 and str(out) in notes[0]
    assert f"answers to {held} of the 8 requests" in notes[0]
    assert "interrupted (Ctrl-C)" in notes[0]
    sheet = json.loads((tmp_path / "audit" / "runsheet.json").read_text())
    (run,) = sheet["query_runs"]
    assert run["finished"] is False and run["answered"] == held and run["requests"] == 8
    assert run["model"]["provider"] == "mock" and run["decoding"]["temperature"] == 0.0

    # finished by a resume: the same audit is quiet, and the run sheet says it finished
    halluscope.query(pope_prompts, "mock/yes-no", out=out, cache=False)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        halluscope.audit(out, metrics=["pope"], out=tmp_path / "audit2", n_boot=0)
    assert not [r for r in caplog.records if "did not finish" in r.getMessage()]
    sheet = json.loads((tmp_path / "audit2" / "runsheet.json").read_text())
    assert sheet["query_runs"][0]["finished"] is True
    assert sheet["query_runs"][0]["answered"] == 8


def test_a_killed_query_run_and_an_unreadable_query_run_sheet_are_said(pope_prompts, tmp_path,
                                                                      caplog):
    """A run killed (kill -9) leaves only the run sheet written at its start: no counts, but
    not finished. A query run sheet that cannot be read is said, not guessed at. A file with
    no query run sheet beside it is audited as before, with no ``query_runs``."""
    out = tmp_path / "out.jsonl"
    halluscope.query(pope_prompts, "mock/yes-no", out=out, cache=False)
    sheet_path = tmp_path / "out.jsonl.runsheet.json"
    sheet = json.loads(sheet_path.read_text())
    started = {k: sheet[k] for k in ("halluscope_runsheet", "kind", "model", "decoding",
                                     "system_prompt", "samples", "detail")}
    sheet_path.write_text(json.dumps({**started, "aborted": "the run did not finish (killed "
                                                            "before it wrote its run sheet)"}))
    # its lock file still names it; that id now belongs to a process started after the lock
    import subprocess
    import sys
    import time
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        lock = tmp_path / "out.jsonl.lock"
        lock.write_text(f"{other.pid}\n")
        past = time.time() - 3600
        os.utime(lock, (past, past))
        with caplog.at_level(logging.WARNING):
            halluscope.audit(out, metrics=["pope"], out=tmp_path / "a1", n_boot=0)
    finally:
        other.kill()
        other.wait()
    (note,) = [r.getMessage() for r in caplog.records if "did not finish" in r.getMessage()]
    assert "killed" in note and "some of its prompts only" in note

    sheet_path.write_text('{"kind": "query", "model": ')
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        halluscope.audit(out, metrics=["pope"], out=tmp_path / "a2", n_boot=0)
    (note,) = [r.getMessage() for r in caplog.records if "cannot be read" in r.getMessage()]
    assert str(sheet_path) in note
    run = json.loads((tmp_path / "a2" / "runsheet.json").read_text())["query_runs"][0]
    assert run["finished"] is None

    sheet_path.unlink()
    halluscope.audit(out, metrics=["pope"], out=tmp_path / "a3", n_boot=0)
    assert "query_runs" not in json.loads((tmp_path / "a3" / "runsheet.json").read_text())



def test_an_audit_of_sampled_answers_says_each_prompt_counts_n_times(pope_prompts, tmp_path,
                                                                    caplog):
    """``query -n 3`` writes three answers per POPE question, each line with its label: POPE
    scored 24 answers to 8 questions without a word (it counts repeats only against a
    --questions file). The audit now says so for a metric that scores answers one by one, and
    not for consistency, which reads the samples as groups."""
    out = tmp_path / "out.jsonl"
    halluscope.query(pope_prompts, "mock/yes-no", out=out, cache=False, samples=3,
                     temperature=0.7, seed=1)
    with caplog.at_level(logging.WARNING):
        result = halluscope.audit(out, metrics=["pope"], out=tmp_path / "a1", n_boot=0)
    assert result.metrics["pope"].results["accuracy"].n == 24
    (note,) = [r.getMessage() for r in caplog.records if "sampled answers" in r.getMessage()]
    assert "3 sampled answers to each prompt" in note and "pope" in note
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        halluscope.audit(out, metrics=["consistency"], out=tmp_path / "a2", n_boot=0)
    assert not [r for r in caplog.records if "sampled answers" in r.getMessage()]



def test_an_audit_of_a_file_a_query_run_is_still_writing_says_so(pope_prompts, tmp_path,
                                                                caplog):
    """Audited while its query runs, a file's run sheet is the one a run writes at its start
    ('did not finish (killed ...)'): the audit said it was killed. It now says that a run (the
    process its lock file names, alive) is still writing it."""
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "out.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "halluscope", "query", str(pope_prompts),
                             "-m", "mock/yes-no", "-O", "latency=3", "-c", "1", "--no-cache",
                             "-o", str(out), "-q"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not (out.is_file() and out.read_text().count("\n") >= 1):
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
        with caplog.at_level(logging.WARNING):
            halluscope.audit(out, metrics=["pope"], out=tmp_path / "a", n_boot=0)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
    (note,) = [r.getMessage() for r in caplog.records if str(out) in r.getMessage()]
    assert f"still in progress (process {proc.pid})" in note
    run = json.loads((tmp_path / "a" / "runsheet.json").read_text())["query_runs"][0]
    assert run["in_progress"] == proc.pid and run["finished"] is False


# -- prompts are asked in prompt order --------------------------------------------------------
def test_the_limiter_hands_slots_by_ticket_not_by_arrival():
    """A freed slot goes to the waiting call made first (lowest ticket), even when it reached
    the limiter after calls made later; a cancelled waiter leaves the line without leaking
    its slot; a call without a ticket goes after every ticket taken before it."""
    import asyncio

    from halluscope.adapters.limiter import AdaptiveLimiter

    async def main():
        lim = AdaptiveLimiter(1)
        order, gate = [], asyncio.Event()
        tickets = {name: lim.ticket() for name in "abcde"}

        async def job(name, ticket):
            async with lim.slot(ticket):
                order.append(name)
                await gate.wait()
        holder = asyncio.create_task(job("a", tickets["a"]))
        await asyncio.sleep(0)
        waiting = {}
        for name in "edcb":         # they arrive last made, first
            waiting[name] = asyncio.create_task(job(name, tickets[name]))
            await asyncio.sleep(0)
        untagged = asyncio.create_task(job("f", None))
        await asyncio.sleep(0)
        waiting["c"].cancel()
        gate.set()
        await asyncio.gather(holder, waiting["b"], waiting["d"], waiting["e"], untagged)
        assert order == ["a", "b", "d", "e", "f"]
        assert (lim.in_flight, lim.waiting) == (0, 0)
    asyncio.run(main())


def test_a_prompt_whose_image_is_slow_to_read_is_still_asked_in_its_turn(tmp_path, monkeypatch):
    """The first prompt's image took longer to hash (a large file, a slow disk) than the other
    prompts': it reached the limiter after all of them and was asked last. The output file is
    written in prompt order, so it held no line until the run's end: a kill -9 (or a run
    without a cache) lost every answer. A call now keeps the place it was made in."""
    from halluscope.adapters.images import ImageLoader

    for name in ("slow", "fast"):
        Image.new("RGB", (8, 8), (200, 10, 10)).save(tmp_path / f"{name}.png")
    prompts = tmp_path / "p.jsonl"
    prompts.write_text("".join(json.dumps({
        "id": f"p{i}", "image": "slow.png" if i == 0 else "fast.png",
        "prompt": f"Is there a dog {i}?"}) + "\n" for i in range(8)))
    plain, first_answered = ImageLoader.sha256, threading.Event()
    hashed_after = []       # how many prompts had been asked when the slow image was hashed

    def slow_sha256(self, source):      # done once another prompt has been answered
        if str(source).endswith("slow.png"):
            first_answered.wait(10)
            digest = plain(self, source)
            hashed_after.append(len(asked))
            return digest
        return plain(self, source)
    monkeypatch.setattr(ImageLoader, "sha256", slow_sha256)
    asked = []

    def responder(request):
        asked.append(request.messages[-1].text())
        first_answered.set()
        return "No."
    halluscope.query(prompts, "mock/echo", out=tmp_path / "out.jsonl", cache=False,
                     max_connections=1, model_options={"latency": 0.1, "responder": responder})
    assert len(asked) == 8
    # once hashed, it is next in line: the prompt in flight then is answered first, and one more
    # at most (handed the slot while this thread's result reached the event loop, late on a
    # busy machine); before, every other prompt was already waiting and it was asked last
    assert asked.index("Is there a dog 0?") <= min(hashed_after) + 2 < 7, (hashed_after, asked)
    ids = [json.loads(line)["id"] for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert ids == [f"p{i}" for i in range(8)]


# -- the run sheet's waits are waits ----------------------------------------------------------
def test_an_interrupted_retry_wait_counts_the_time_waited_not_the_time_asked_for():
    """A 429 asking for 30 s, the run stopped 0.3 s later: the client counted the whole 30 s
    as waited (retry_wait_s 150 for five such requests of a run that lasted 3 s). It counts
    what it waited; a wait that ends counts whole."""
    import asyncio
    import time

    from halluscope.adapters.client import ModelClient, RetryPolicy
    from halluscope.adapters.mock import MockModel
    from halluscope.adapters.types import Decoding, Message, RateLimited, Request, Response

    class Limited(MockModel):
        def __init__(self, retry_after):
            super().__init__("echo")
            self.retry_after = retry_after

        async def generate(self, request):
            self.calls += 1
            if self.calls == 1:
                raise RateLimited("429", retry_after=self.retry_after)
            return Response("ok", "m")

    request = Request((Message.user("hi"),), Decoding())

    async def stopped():
        client = ModelClient(Limited(30.0), retry=RetryPolicy(max_attempts=3))
        task = asyncio.create_task(client.generate(request))
        await asyncio.sleep(0.3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return client
    client = asyncio.run(stopped())
    assert 0.2 <= client.waited_s < 2 and 0.2 <= client.rate_limit_wait_s < 2
    assert client.describe()["retry_wait_s"] < 2

    client = ModelClient(Limited(0.2), retry=RetryPolicy(max_attempts=3))
    t0 = time.monotonic()
    assert asyncio.run(client.generate(request)).text == "ok"
    assert 0.2 <= client.waited_s <= time.monotonic() - t0
    assert client.rate_limit_wait_s == client.waited_s


# -- usage errors say what is wrong -----------------------------------------------------------
@pytest.mark.parametrize("make, said", [
    (lambda p: p.mkdir(), "prompts: expected a JSON-lines file of prompts, got a folder"),
    (lambda p: os.mkfifo(p), "prompts: expected a JSON-lines file of prompts, got a pipe"),
    (lambda p: None, "prompts file not found:"),
])
def test_a_prompts_path_that_is_no_file_is_named_for_what_it_is(tmp_path, make, said):
    """A folder given as the prompts file was reported 'prompts file not found' (it exists);
    the message now says what the path is. Exit 2 either way."""
    from typer.testing import CliRunner

    from halluscope.cli import app
    path = tmp_path / "prompts"
    make(path)
    res = CliRunner().invoke(app, ["query", str(path), "-m", "mock/echo",
                                   "-o", str(tmp_path / "out.jsonl"), "-q"])
    assert res.exit_code == 2
    assert said.replace(" ", "") in "".join(res.output.split())     # wrapped anywhere


def test_a_bad_prompt_in_a_json_array_is_named_by_its_file_line(tmp_path):
    """A prompts file written as a JSON array: its bad element was named by its element number
    as if it were the line ('p.json:2' for the element on line 4), where an audit of the same
    file names the line. Both name the file line now; elements without an id still get their
    element number as id."""
    from halluscope.adapters.prompts import check_prompts
    from halluscope.errors import InputError

    path = tmp_path / "p.json"
    path.write_text('[\n  {"prompt": "Is there a cat?"},\n\n  {"image": "x.png"}\n]\n')
    with pytest.raises(InputError) as info:
        check_prompts(path)
    assert f"{path}:4: field 'prompt'" in str(info.value)
    path.write_text('[\n  {"prompt": "Is there a cat?"},\n\n  {"prompt": "A dog?"}\n]\n')
    assert check_prompts(path) == ["1", "2"]


# -- a resume keeps no stale truth ------------------------------------------------------------
def test_a_resume_refuses_answers_whose_prompt_line_changed_its_label(pope_prompts, tmp_path):
    """The labels of a POPE file corrected, query run again on the same --out: every id was
    answered, so every line kept the old label (the truth an audit scores against), exit 0, and
    the run sheet named the corrected prompts file. A resume now refuses it (exit 2 in the CLI)
    naming the id, line and field; --restart writes the lines anew from the cache. Lines whose
    fields did not change (a NaN, a redacted secret-named field, samples) resume as before."""
    from halluscope.errors import InputError

    lines = [json.loads(line) for line in pope_prompts.read_text().splitlines()]
    for line in lines:
        line.update({"score": float("nan"), "api_key": "sk-live-ABCDEF123456789"})
    pope_prompts.write_text("".join(json.dumps(line) + "\n" for line in lines))
    out = tmp_path / "out.jsonl"
    cache = tmp_path / "cache"
    halluscope.query(pope_prompts, "mock/yes-no", out=out, cache=cache)
    assert "sk-live-ABCDEF123456789" not in out.read_text()
    halluscope.query(pope_prompts, "mock/yes-no", out=out, cache=cache)   # nothing changed

    lines[3]["label"] = "no" if lines[3]["label"] == "yes" else "yes"
    pope_prompts.write_text("".join(json.dumps(line) + "\n" for line in lines))
    with pytest.raises(InputError) as info:
        halluscope.query(pope_prompts, "mock/yes-no", out=out, cache=cache)
    message = str(info.value)
    assert "'3' was answered for a prompt line" in message and "(line 4: 'label'" in message
    assert "--restart" in message
    records = halluscope.query(pope_prompts, "mock/yes-no", out=out, cache=cache, resume=False)
    assert [r["label"] for r in records] == [line["label"] for line in lines]

    samples = tmp_path / "samples.jsonl"
    halluscope.query(pope_prompts, "mock/yes-no", out=samples, cache=cache, samples=2,
                     temperature=0.5)
    halluscope.query(pope_prompts, "mock/yes-no", out=samples, cache=cache, samples=2,
                     temperature=0.5)


def test_the_query_run_sheet_records_the_retry_settings(pope_prompts, tmp_path):
    """--timeout and --max-attempts decide which records fail (a slow server: each attempt
    waits the timeout, then the record fails after its attempts), but the run sheet did not
    say them. It now does (``retry``); a run that takes the defaults records them too."""
    from typer.testing import CliRunner

    from halluscope.cli import app
    out = tmp_path / "out.jsonl"
    res = CliRunner().invoke(app, ["query", str(pope_prompts), "-m", "mock/yes-no", "-o",
                                   str(out), "-q", "--no-cache", "--timeout", "7.5",
                                   "--max-attempts", "2"])
    assert res.exit_code == 0, res.output
    sheet = json.loads((tmp_path / "out.jsonl.runsheet.json").read_text())
    assert sheet["retry"]["max_attempts"] == 2 and sheet["retry"]["timeout_s"] == 7.5
    halluscope.query(pope_prompts, "mock/yes-no", out=tmp_path / "b.jsonl", cache=False)
    sheet = json.loads((tmp_path / "b.jsonl.runsheet.json").read_text())
    assert sheet["retry"]["max_attempts"] == 6
    assert "timeout_s" in sheet["retry"] and sheet["retry"]["base_delay_s"] == 0.5
