"""``halluscope query --out`` through a symbolic link: the run sheet is named after the file
the link names, as the lock is, so that a run through the link and a resume through the file
(or the other way round) read the same run sheet; a resume that rewrites the file writes the
file the link names and leaves the link a link."""

from __future__ import annotations

import json
import os

import pytest
from typer.testing import CliRunner

from fake_openai_server import FakeServer
from halluscope.cli import app
from halluscope.cli.query import EXIT_OK
from halluscope.query_sheets import query_run

KEY = "sk-link-test-000000000"


def _prompts(path, n):
    path.write_text("".join(json.dumps({"id": f"p{i}", "image": "a.png",
                                        "prompt": f"Is there a dog {i}?"}) + "\n"
                            for i in range(n)))
    return path


@pytest.fixture
def folder(tmp_path, monkeypatch):
    from PIL import Image
    Image.new("RGB", (30, 30)).save(tmp_path / "a.png")
    _prompts(tmp_path / "four.jsonl", 4)
    _prompts(tmp_path / "six.jsonl", 6)
    (tmp_path / "real.jsonl").write_text("")
    (tmp_path / "link.jsonl").symlink_to("real.jsonl")
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _query(server, prompts, out):
    res = CliRunner().invoke(app, ["query", prompts, "-m", "openai/m", "--base-url", server.url,
                                   "--no-cache", "-o", out], env={"COLUMNS": "200"})
    return res.exit_code, " ".join(res.output.split())


@pytest.mark.parametrize("first,then", [("link.jsonl", "real.jsonl"),
                                        ("real.jsonl", "link.jsonl")])
def test_a_resume_through_the_other_name_goes_on(folder, first, then):
    with FakeServer(api_key=KEY, model_name="m") as server:
        code, text = _query(server, "four.jsonl", first)
        assert code == EXIT_OK, text
        assert (folder / "real.jsonl.runsheet.json").is_file()
        assert not (folder / "link.jsonl.runsheet.json").exists()
        code, text = _query(server, "six.jsonl", then)
        assert code == EXIT_OK, text        # was: "holds lines but no run sheet", exit 2
        assert len(server.requests) == 6    # the four answered are not asked again
    assert os.path.islink(folder / "link.jsonl")
    lines = [json.loads(x) for x in (folder / "real.jsonl").read_text().splitlines()]
    assert [r["id"] for r in lines] == [f"p{i}" for i in range(6)]
    sheet = json.loads((folder / "real.jsonl.runsheet.json").read_text())
    assert sheet.get("aborted") is None, sheet["aborted"]
    # an audit of either name finds the run sheet that says what answered
    for name in ("link.jsonl", "real.jsonl"):
        entry = query_run(folder / name)
        assert entry is not None and entry["finished"] is True, entry


def test_a_resume_that_rewrites_the_file_keeps_the_link(folder):
    """A line cut short is dropped by rewriting the file: renamed over the link, the link
    became a file of its own (the target kept 4 answers and the cut line, the new file 6)."""
    with FakeServer(api_key=KEY, model_name="m") as server:
        assert _query(server, "four.jsonl", "link.jsonl")[0] == EXIT_OK
        with open(folder / "real.jsonl", "a") as fh:
            fh.write('{"id": "p9", "resp')
        code, text = _query(server, "six.jsonl", "link.jsonl")
        assert code == EXIT_OK, text
    assert os.path.islink(folder / "link.jsonl")
    lines = (folder / "real.jsonl").read_text().splitlines()
    assert [json.loads(x)["id"] for x in lines] == [f"p{i}" for i in range(6)]


def test_a_run_sheet_named_after_the_link_is_still_found(folder):
    """A run through a link by an earlier halluscope named its run sheet after the link: a
    resume through the link finds it, and goes on writing it."""
    with FakeServer(api_key=KEY, model_name="m") as server:
        assert _query(server, "four.jsonl", "link.jsonl")[0] == EXIT_OK
        os.replace(folder / "real.jsonl.runsheet.json", folder / "link.jsonl.runsheet.json")
        code, text = _query(server, "six.jsonl", "link.jsonl")
        assert code == EXIT_OK, text
        assert len(server.requests) == 6
    assert not (folder / "real.jsonl.runsheet.json").exists()
    assert query_run(folder / "link.jsonl")["finished"] is True
