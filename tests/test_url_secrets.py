"""An image URL that carries credentials (a user-info password, ``?token=``, a signed URL's
``X-Amz-Signature``) is loaded as written but written nowhere: items.jsonl (both the line path
and the columnar path, to the same bytes), its units and groups, results.json, report.html,
the run sheet, a stopped audit's journal, compare.json/html, and the console. Every file under
each output folder is read and searched."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

import pytest

import halluscope
from halluscope.redact import REDACTED, redact_url

SECRETS = ("Hunter2Pass", "abcTOKEN123", "deadbeefSIG999", "AKIAEXAMPLECRED", "fragTOKEN77")
URL = ("https://alice:Hunter2Pass@img.example.com/x/{}.jpg?token=abcTOKEN123"
       "&X-Amz-Signature=deadbeefSIG999&X-Amz-Credential=AKIAEXAMPLECRED"
       "&X-Amz-Date=20260101T000000Z&size=a/b%20c")
SHOWN = (f"https://alice:{REDACTED}@img.example.com/x/{{}}.jpg?token={REDACTED}"
         f"&X-Amz-Signature={REDACTED}&X-Amz-Credential={REDACTED}"
         "&X-Amz-Date=20260101T000000Z&size=a/b%20c")


def _leaks(folder: Path) -> list[str]:
    """``file: secret`` for every secret found in any file under ``folder``."""
    found = []
    for root, _, files in os.walk(folder):
        for name in files:
            data = (Path(root) / name).read_bytes()
            found += [f"{name}: {s}" for s in SECRETS if s.encode() in data]
    return found


def _answers(path: Path, n: int = 48, bad: bool = False) -> Path:
    rows = [{"question_id": i, "image": URL.format(f"im{i % 6}"),
             "text": "Is there a dog in the image?", "label": "yes" if i % 2 else "no",
             "answer": "Yes" if i % 3 else "No", "model_id": "m1"} for i in range(n)]
    rows[5]["image"] = "https://img.example.com/x/plain.jpg?w=1&fmt=a/b"   # nothing to hide
    lines = [json.dumps(r) + "\n" for r in rows]
    if bad:
        lines.insert(7, "not json\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(lines))
    return path


def test_redact_url_keeps_what_it_does_not_redact_as_written():
    """It re-encoded every query parameter: ``a/b`` came back ``a%2Fb``, ``%20`` as ``+``,
    a URL with no secret changed in the items."""
    plain = "https://h/a.jpg?x=a/b&y=c%20d&z=e+f&&b"
    assert redact_url(plain) == plain
    assert redact_url(URL.format("i")) == SHOWN.format("i")
    assert redact_url("https://h/cb#access_token=fragTOKEN77&state=1") == \
        f"https://h/cb#access_token={REDACTED}&state=1"
    assert redact_url("https://h/x?api%2Dkey=sss9&max_tokens=3") == \
        f"https://h/x?api%2Dkey={REDACTED}&max_tokens=3"


@pytest.mark.parametrize("bad", [False, True])
def test_columnar_and_line_items_redact_image_urls_to_the_same_bytes(tmp_path, monkeypatch, bad):
    pytest.importorskip("pyarrow")
    import halluscope.column_scoring as column_scoring
    import halluscope.pipeline as pipeline
    monkeypatch.setattr(column_scoring, "ITEM_CHUNK", 5)
    answers = _answers(tmp_path / "answers.jsonl", bad=bad)
    kw = dict(metrics="pope", by=["image", "model"], n_boot=20)
    fast = halluscope.audit(answers, out=tmp_path / "fast", **kw)
    assert fast.runsheet["execution"]["scored"].startswith("as columns")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pipeline, "score_columns", lambda *a, **k: None)
        slow = halluscope.audit(answers, out=tmp_path / "slow", **kw)
    assert slow.runsheet["execution"]["scored"].startswith("record by record")
    lines = (tmp_path / "fast" / "items.jsonl").read_bytes()
    assert lines == (tmp_path / "slow" / "items.jsonl").read_bytes()
    assert json.dumps(fast.metrics["pope"].to_dict(), sort_keys=True) == \
        json.dumps(slow.metrics["pope"].to_dict(), sort_keys=True)
    items = [json.loads(line) for line in lines.decode().splitlines()]
    good = [i for i in items if "error" not in i]
    assert good[0]["image"] == SHOWN.format("im0")
    assert good[0]["scores"]["pope"]["unit"] == "image:" + SHOWN.format("im0")
    assert "image:" + SHOWN.format("im0") in good[0]["scores"]["pope"]["groups"]
    assert good[5]["image"] == "https://img.example.com/x/plain.jpg?w=1&fmt=a/b"
    assert _leaks(tmp_path / "fast") == [] and _leaks(tmp_path / "slow") == []
    # compare of the two runs: compare.json and compare.html
    from typer.testing import CliRunner

    from halluscope.cli import app
    got = CliRunner().invoke(app, ["compare", str(tmp_path / "fast"), str(tmp_path / "slow"),
                                   "-o", str(tmp_path / "cmp")])
    assert got.exit_code in (0, 1), got.output
    assert (tmp_path / "cmp" / "compare.json").is_file()
    assert _leaks(tmp_path / "cmp") == []
    assert not any(s in got.output for s in SECRETS)


def test_a_cli_audit_writes_no_credential_of_an_image_url(tmp_path):
    """The console, results.json, report.html, the run sheet: none holds them."""
    from typer.testing import CliRunner

    from halluscope.cli import app
    answers = _answers(tmp_path / "in" / "answers.jsonl", bad=True)
    got = CliRunner().invoke(app, ["audit", str(answers), "-m", "pope", "--by", "image",
                                   "--bootstrap", "20", "-o", str(tmp_path / "out")])
    assert got.exit_code == 0, got.output
    assert not any(s in got.output for s in SECRETS), got.output
    assert {p.name for p in (tmp_path / "out").iterdir()} >= {
        "items.jsonl", "results.json", "report.html", "runsheet.json"}
    assert _leaks(tmp_path / "out") == []


def test_a_stopped_audits_journal_holds_no_image_url_credential(tmp_path):
    from tests.test_resume_doubts import _captions, _gt, _stopped_after
    path, gt = _captions(tmp_path / "in" / "caps.jsonl"), _gt(tmp_path / "in")
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    for k, row in enumerate(rows):
        row["image"] = URL.format(k)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "out"
    kw = dict(metrics="chair", gt_objects=gt, n_boot=20)
    _stopped_after(15, path, out=out, **kw)
    assert (out / "items.journal.part").is_file()
    assert _leaks(out) == []
    halluscope.audit(path, out=out, resume=True, **kw)
    assert _leaks(out) == []
    first = json.loads((out / "items.jsonl").read_text().splitlines()[0])
    assert first["image"] == SHOWN.format(0)


def test_a_question_files_image_urls_and_errors_quoting_them_are_redacted(tmp_path):
    """The unit of an answer is its question's image (``image:<the question file's image>``),
    and an answer naming another image is a bad record whose message quotes both: the items'
    ``unit``, ``error`` and ``error_detail`` held them as written, and 'scored nothing'
    printed a cause that quoted one."""
    pytest.importorskip("pyarrow")
    from tests.test_pope_columns import _audit_both
    url, shown = (u.replace("&size=a/b%20c", "") for u in (URL, SHOWN))
    q = [{"question_id": i, "image": url.format(i % 3), "text": "Is there a dog in the image?",
          "label": "yes" if i % 2 else "no"} for i in range(12)]
    a = [{"question_id": i, "image": url.format(9 if i == 4 else i % 3),
          "text": "Is there a dog in the image?", "answer": "yes"} for i in range(12)]
    questions, answers = tmp_path / "q.jsonl", tmp_path / "a.jsonl"
    questions.write_text("".join(json.dumps(r) + "\n" for r in q))
    answers.write_text("".join(json.dumps(r) + "\n" for r in a))
    result, items = _audit_both(tmp_path, answers, questions=questions, n_boot=20)
    assert (tmp_path / "fast" / "items.jsonl").read_bytes() == \
        (tmp_path / "slow" / "items.jsonl").read_bytes()
    assert items[0]["scores"]["pope"]["unit"] == "image:" + shown.format(0)
    assert "expected the image" in items[4]["error"] and REDACTED in items[4]["error"]
    assert "https://alice:<redacted>@" in items[4]["error_detail"]["message"]
    assert _leaks(tmp_path / "fast") == [] and _leaks(tmp_path / "slow") == []
    assert not any(s in json.dumps(result.errors) for s in SECRETS)


def test_causes_of_a_metric_that_scored_nothing_are_redacted():
    from halluscope.errors import RecordError
    from halluscope.scoring import _cause
    err = RecordError(f"cannot read image {URL.format(1)}: a URL", field="image")
    assert _cause(err) == f"field 'image': cannot read image {SHOWN.format(1)}: a URL"


@contextlib.contextmanager
def _image_server():
    """A loopback server answering every GET with a small PNG: ``(port, [(path, auth)])``."""
    import http.server
    import io
    import threading

    from PIL import Image
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buf, "PNG")
    seen = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append((self.path, self.headers.get("Authorization")))
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(buf.getvalue())))
            self.end_headers()
            self.wfile.write(buf.getvalue())

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1], seen
    finally:
        server.shutdown()
        server.server_close()


def test_a_query_about_a_signed_image_url_fetches_it_and_writes_no_credential(tmp_path):
    """The image is fetched with its credentials (the server sees the token); the answers
    file, its run sheet, the cache and a resumed run's output hold none; then an audit of the
    answers neither."""
    with _image_server() as (port, seen):
        url = URL.replace("https://", "http://").replace(
            "img.example.com", f"127.0.0.1:{port}")
        prompts = tmp_path / "prompts.jsonl"
        prompts.write_text("".join(json.dumps({"id": f"p{i}", "image": url.format(i),
                                               "prompt": "Describe."}) + "\n"
                                   for i in range(3)))
        out = tmp_path / "out" / "answers.jsonl"
        kw = dict(out=out, cache=tmp_path / "cache", allow_urls=True)
        halluscope.query(prompts, "mock/caption", **kw)
        halluscope.query(prompts, "mock/caption", resume=True, **kw)     # resumed: kept
    assert seen and all("token=abcTOKEN123" in path for path, _ in seen)   # fetched as given
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["image"] for r in lines] == [
        SHOWN.replace("https://", "http://").replace(
            "img.example.com", f"127.0.0.1:{port}").format(i)
        for i in range(3)]
    assert _leaks(tmp_path / "out") == [] and _leaks(tmp_path / "cache") == []
    halluscope.audit(out, metrics="claims", out=tmp_path / "audit", write_report=True)
    assert _leaks(tmp_path / "audit") == []


def test_a_query_resumes_lines_written_with_the_old_re_encoded_url(tmp_path):
    """Lines written before redact_url kept the other parameters as written hold them
    re-encoded (``a%2Fb+c``): a resume must not call that another image; a URL that differs
    otherwise still is."""
    from halluscope.errors import InputError
    prompts, out = tmp_path / "prompts.jsonl", tmp_path / "answers.jsonl"
    kw = dict(out=out, cache=False, allow_urls=True)
    with _image_server() as (port, _):
        url = URL.replace("https://", "http://").replace("img.example.com",
                                                          f"127.0.0.1:{port}").format(1)
        prompts.write_text(json.dumps({"id": "p1", "image": url, "prompt": "Describe."}) + "\n")
        halluscope.query(prompts, "mock/caption", **kw)
    written = out.read_text()
    assert "size=a/b%20c" in written and '"error"' not in written
    for size, fine in (("a%2Fb+c", True), ("a%2Fb+d", False)):
        out.write_text(written.replace("size=a/b%20c", f"size={size}"))
        if fine:
            assert len(halluscope.query(prompts, "mock/caption", resume=True, **kw)) == 1
        else:
            with pytest.raises(InputError, match="another image"):
                halluscope.query(prompts, "mock/caption", resume=True, **kw)
