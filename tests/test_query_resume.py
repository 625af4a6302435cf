"""``halluscope query`` resumed and stopped: the answers a stopped run got are kept, a resume
puts the file back in prompt order, signed image URLs resume, a run sheet that cannot be read
refuses a resume, and credential headers stay out of the run sheet. Every server is a loopback
one (127.0.0.1) that the test starts and stops."""

from __future__ import annotations

import asyncio
import functools
import json
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from fake_openai_server import FakeServer
from halluscope.adapters.client import RetryPolicy
from halluscope.cli.query import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from test_query_reliability import _query, app, prompts, runner  # noqa: F401 - fixtures


def _ids(path):
    return [json.loads(line)["id"] for line in open(path) if line.strip()]


class VanishingServer(FakeServer):
    """A server that answers every prompt but those holding ``hold``: their requests wait
    until the others are answered, then the server goes away (its socket closed: later
    connections are refused) and they are dropped without an answer."""

    def __init__(self, hold: tuple[str, ...], others: int, **kw):
        super().__init__(**kw)
        self.hold, self.others = hold, others
        self.answered = threading.Semaphore(0)
        self.gone = threading.Event()
        self.responder = self._respond

    def _respond(self, prompt, body):
        self.answered.release()
        return "Yes."

    def choose_fault(self, prompt):
        if not any(h in prompt for h in self.hold):
            return super().choose_fault(prompt)
        with self._lock:
            first = not self.gone.is_set()
            self.gone.set()
        if first:
            for _ in range(self.others):
                assert self.answered.acquire(timeout=20), "the other prompts were not asked"
            threading.Event().wait(0.3)     # their answers are on the wire
            threading.Thread(target=self.stop, daemon=True).start()
        return "disconnect"


def test_a_run_stopped_by_a_server_that_went_away_keeps_the_answers_it_got(prompts, tmp_path):
    """Issue 1 (query part): answered records queued behind the one that stopped the run were
    dropped (out.jsonl stayed empty: they waited to be written in order). They are written,
    behind the gap; the resume asks only the missing ones and puts the file in prompt order."""
    from halluscope.adapters.query import aquery
    out = tmp_path / "out.jsonl"
    server = VanishingServer(("dog 0?", "dog 1?"), others=4).start()
    port = server.port
    try:
        result = asyncio.run(aquery(prompts, "vllm/qwen-tiny", base_url=server.url, out=out,
                                    cache=False, max_connections=8,
                                    retry=RetryPolicy(base_delay=0.05, max_delay=0.2)))
    finally:
        server.stop()
    assert result.stopped and "ServerUnreachable" in result.stopped
    assert result.exit_code == EXIT_FAILED
    lines = [json.loads(line) for line in open(out)]
    # nothing answered was lost; a held prompt may be written as failed (its connection was
    # lost before the server went away: retried for itself, not counted as unreachable)
    assert [r["id"] for r in lines if "response" in r] == ["p2", "p3", "p4", "p5"]
    assert {r["id"] for r in lines if "response" not in r} <= {"p0", "p1"}
    assert result.counts.new == 4
    sheet = json.loads((tmp_path / "out.jsonl.runsheet.json").read_text())
    assert sheet["aborted"].startswith("ServerUnreachable") and sheet["counts"]["new"] == 4

    with FakeServer(port=port) as back:                  # the same server, back again
        again = asyncio.run(aquery(prompts, "vllm/qwen-tiny", base_url=back.url, out=out,
                                   cache=False))
        asked = sorted(json.dumps(r) for r in back.requests)
    assert again.exit_code == EXIT_OK and again.counts.skipped == 4 and again.counts.new == 2
    assert len(asked) == 2 and "dog 0?" in asked[0] + asked[1] and "dog 1?" in asked[0] + asked[1]
    assert _ids(out) == [f"p{i}" for i in range(6)]
    assert [r["id"] for r in again.records] == [f"p{i}" for i in range(6)]


def test_a_resume_that_asks_a_failed_record_again_keeps_prompt_order(app, runner, prompts,
                                                                   tmp_path):
    """Issue 9: the retried answer was appended at the end (p0 p1 p3 p4 p5 p2)."""
    out = tmp_path / "out.jsonl"
    with FakeServer(script={"dog 2?": ["500"]}) as server:
        res = _query(runner, app, prompts, out, server.url, "--no-cache", "--max-attempts", "1")
        assert res.exit_code == EXIT_FAILED, res.output
        res = _query(runner, app, prompts, out, server.url, "--no-cache", "--max-attempts", "1")
        assert res.exit_code == EXIT_OK, res.output
        assert len(server.requests) == 7                 # 6, then p2 alone
    assert _ids(out) == [f"p{i}" for i in range(6)]
    assert all("response" in json.loads(line) for line in open(out))
    assert not list(tmp_path.glob(".*.part"))


def test_put_in_order_keeps_unknown_ids_and_a_cut_last_line_after_the_rest(tmp_path):
    from halluscope.adapters.outlock import put_in_order
    out = tmp_path / "out.jsonl"
    lines = ['{"id": "b#1"}', '{"id": "zz"}', '{"id": "a#0"}', '{"id": "b#0"}', '{"id": "a#']
    out.write_text("\n".join(lines))                     # the last one cut, no newline
    rank = {"a#0": 0, "a#1": 1, "b#0": 2, "b#1": 3}
    assert put_in_order(out, rank) is True
    assert out.read_text().splitlines() == [lines[2], lines[3], lines[0], lines[1], lines[4]]
    assert put_in_order(out, rank) is False              # in order: left as it is


def _image_server(folder: Path) -> ThreadingHTTPServer:
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *a, **k: None
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                     daemon=True).start()
    return httpd


def test_a_run_on_signed_image_urls_resumes(app, runner, tmp_path):
    """Issue 3: the output line holds the URL with its signature redacted, the resume compared
    it with the real URL and refused every run ('answered for another image'). It compares
    the redacted forms now; no signature is written; another image is still refused."""
    from PIL import Image
    Image.new("RGB", (8, 8), "red").save(tmp_path / "img.png")
    Image.new("RGB", (8, 8), "blue").save(tmp_path / "img2.png")
    images = _image_server(tmp_path)
    try:
        base = f"http://127.0.0.1:{images.server_address[1]}"

        def write(sig, name="img.png"):
            path = tmp_path / "signed.jsonl"
            path.write_text("".join(json.dumps({
                "id": i, "prompt": f"describe {i}",
                "image": f"{base}/{name}?X-Amz-Expires=60&X-Amz-Signature={sig}"}) + "\n"
                for i in ("a", "b")))
            return path
        out = tmp_path / "out.jsonl"
        with FakeServer(script={"describe b": ["500"]}) as server:
            res = _query(runner, app, write("SIGONE0123456789"), out, server.url, "--no-cache",
                         "--allow-urls", "--max-attempts", "1")
            assert res.exit_code == EXIT_FAILED, res.output
            res = _query(runner, app, write("SIGTWO0123456789"), out, server.url, "--no-cache",
                         "--allow-urls", "--max-attempts", "1")
            assert res.exit_code == EXIT_OK, res.output
            assert len(server.requests) == 3             # a and b, then b alone
            before = out.read_text()
            res = _query(runner, app, write("SIGTWO0123456789", "img2.png"), out, server.url,
                         "--no-cache", "--allow-urls")
        assert res.exit_code == EXIT_USAGE, res.output
        assert "'a' was answered for another image" in " ".join(res.output.split())
        assert out.read_text() == before
        for path in tmp_path.glob("out.jsonl*"):
            text = path.read_text()
            assert "SIGONE" not in text and "SIGTWO" not in text, path
        assert _ids(out) == ["a", "b"]
    finally:
        images.shutdown()
        images.server_close()


@pytest.mark.parametrize("damage", ["cut", "not an object", "not UTF-8"])
def test_a_run_sheet_that_cannot_be_read_refuses_the_resume(app, runner, prompts, tmp_path,
                                                            damage):
    """Issue 7: a run sheet cut short let a resume with another model and temperature mix its
    answers into the file (exit 0)."""
    out = tmp_path / "out.jsonl"
    sheet = tmp_path / "out.jsonl.runsheet.json"
    with FakeServer() as server:
        assert _query(runner, app, prompts, out, server.url, "--no-cache").exit_code == EXIT_OK
        text = sheet.read_text()
        sheet.write_bytes({"cut": text[:200].encode(), "not an object": b"[1, 2]",
                           "not UTF-8": b'{"model": "\xff\xfe"}'}[damage])
        before = out.read_text()
        res = runner.invoke(app, ["query", str(prompts), "-m", "vllm/model-two", "-t", "0.9",
                                  "--base-url", server.url, "-o", str(out), "-q", "--no-cache"])
        assert res.exit_code == EXIT_USAGE, res.output
        shown = " ".join(res.output.split())
        assert "cannot read the run sheet" in shown and "--restart" in shown
        assert "out.jsonl.runsheet.json" in shown
        assert out.read_text() == before and len(server.requests) == 6
        res = runner.invoke(app, ["query", str(prompts), "-m", "vllm/model-two", "--base-url",
                                  server.url, "-o", str(out), "-q", "--no-cache", "--restart"])
        assert res.exit_code == EXIT_OK, res.output
    assert json.loads(sheet.read_text())["counts"]["new"] == 6


def test_a_run_sheet_is_replaced_whole_or_not_at_all(tmp_path, monkeypatch):
    """Issue 7: the run sheet was written in place; a run killed while writing it left half."""
    from halluscope.atomicfiles import write_json_atomically
    sheet = tmp_path / "out.jsonl.runsheet.json"
    write_json_atomically(sheet, {"model": {"name": "one"}})
    real = Path.write_text

    def half_then_fail(self, text, *a, **kw):
        real(self, text[: len(text) // 2], *a, **kw)
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(Path, "write_text", half_then_fail)
    with pytest.raises(OSError):
        write_json_atomically(sheet, {"model": {"name": "two"}, "pad": "x" * 1000})
    monkeypatch.undo()
    assert json.loads(sheet.read_text()) == {"model": {"name": "one"}}
    assert [p.name for p in tmp_path.iterdir()] == [sheet.name]   # no temporary file left


@pytest.mark.parametrize("header", ["Ocp-Apim-Subscription-Key", "x-functions-key"])
def test_a_key_header_stays_out_of_the_run_sheet(app, runner, prompts, tmp_path, header):
    """Issue 6: a header named '...-Key' was written in clear into the run sheet's command."""
    out = tmp_path / "out.jsonl"
    key = "SUBKEY-0123456789abcdef"
    with FakeServer() as server:
        res = _query(runner, app, prompts, out, server.url, "--no-cache",
                     "-O", f'default_headers={{"{header}": "{key}"}}')
        assert res.exit_code == EXIT_OK, res.output
        assert server.headers[0][header.lower()] == key      # sent, as asked
    for path in tmp_path.glob("out.jsonl*"):
        assert key not in path.read_text(), path
    assert key not in res.output
