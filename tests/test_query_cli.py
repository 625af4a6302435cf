"""``halluscope query`` and ``halluscope judges`` through typer's CliRunner on the real app."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from fake_openai_server import FakeServer
from halluscope.cli.query import EXIT_FAILED, EXIT_OK, EXIT_USAGE

KEY = "sk-cli-test-0000000000"


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
    from PIL import Image
    Image.new("RGB", (30, 30)).save(tmp_path / "a.png")
    path.write_text("".join(json.dumps({"id": f"p{i}", "image": "a.png",
                                        "prompt": f"Is there a dog {i}?"}) + "\n"
                            for i in range(6)))
    return path


def test_query_writes_outputs_and_exits_0(app, runner, prompts, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    out = tmp_path / "out.jsonl"
    with FakeServer(api_key=KEY, model_name="served-model") as server:
        res = runner.invoke(app, ["query", str(prompts), "--model", "openai/m", "--base-url",
                                  server.url, "--max-connections", "3", "--cache",
                                  str(tmp_path / "c"), "--out", str(out)])
        assert res.exit_code == EXIT_OK, res.output
        records = [json.loads(line) for line in open(out)]
        assert [r["id"] for r in records] == [f"p{i}" for i in range(6)]
        assert all(r["model"] == "served-model" and r["response"] for r in records)
        assert "served-model" in res.output            # the mismatch with 'm' is reported
        res = runner.invoke(app, ["query", str(prompts), "-m", "openai/m", "--base-url",
                                  server.url, "--cache", str(tmp_path / "c"), "-o", str(out)])
        assert res.exit_code == EXIT_OK and len(server.requests) == 6
    assert "already done" in res.output
    assert (tmp_path / "out.jsonl.runsheet.json").is_file()


def test_option_base_url_is_the_server_as_with_base_url(app, runner, prompts, tmp_path,
                                                         monkeypatch):
    """``--option base_url=URL`` crashed (exit 3: get_model() got base_url twice); it names the
    server like ``--base-url``, two different servers are a usage error, and options that the
    model name or --offline set are refused."""
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    out = tmp_path / "out.jsonl"
    with FakeServer(api_key=KEY) as server:
        res = runner.invoke(app, ["query", str(prompts), "-m", "openai/m", "--option",
                                  f"base_url={server.url}", "--no-cache", "-o", str(out)])
        assert res.exit_code == EXIT_OK, res.output
        assert len(server.requests) == 6
        res = runner.invoke(app, ["query", str(prompts), "-m", "openai/m", "--option",
                                  f"base_url={server.url}", "--base-url", server.url + "/x",
                                  "--no-cache", "-o", str(tmp_path / "two.jsonl")])
        assert res.exit_code == EXIT_USAGE and "two servers given" in res.output
        assert len(server.requests) == 6
    for key in ("offline", "provider", "model"):
        res = runner.invoke(app, ["query", str(prompts), "-m", "mock/echo", "--option",
                                  f"{key}=x", "--no-cache", "-o", str(tmp_path / f"{key}.jsonl")])
        assert res.exit_code == EXIT_USAGE, res.output
        assert f"option '{key}' cannot be given as a provider option" in res.output


def test_query_exits_1_when_records_fail(app, runner, prompts, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    out = tmp_path / "out.jsonl"
    with FakeServer(script={"dog 2?": ["500"] * 5}) as server:
        res = runner.invoke(app, ["query", str(prompts), "-m", "openai/m", "--base-url",
                                  server.url, "--no-cache", "--max-attempts", "2", "-o",
                                  str(out), "--quiet"])
        assert res.exit_code == EXIT_FAILED, res.output
        failed = [json.loads(line) for line in open(out) if "error" in line]
        assert [r["id"] for r in failed] == ["p2"]
        res = runner.invoke(app, ["query", str(prompts), "-m", "openai/m", "--base-url",
                                  server.url, "--no-cache", "-o", str(out), "--quiet"])
        assert res.exit_code == EXIT_OK                 # the retry of p2 succeeds
    assert sorted(json.loads(line)["id"] for line in open(out)) == [f"p{i}" for i in range(6)]


@pytest.mark.parametrize("case", ["missing file", "bad model", "bad prompts", "no key",
                                  "unknown provider", "bad option"])
def test_query_usage_errors_exit_3(case, app, runner, prompts, tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    args = ["query", str(prompts), "-m", "openai/gpt-4o-2024-08-06", "-o",
            str(tmp_path / "o.jsonl"), "--no-cache"]
    if case == "missing file":
        args[1] = str(tmp_path / "nope.jsonl")
    elif case == "bad model":
        args[3] = "gpt-4o"
    elif case == "bad prompts":
        prompts.write_text('{"id": "x"}\n')
        args[3] = "mock/echo"
    elif case == "unknown provider":
        args[3] = "nosuch/model"
    elif case == "bad option":
        args[3] = "mock/echo"
        args += ["--option", "colour=red"]
    res = runner.invoke(app, args)
    assert res.exit_code == EXIT_USAGE, res.output
    if case == "no key":
        assert "OPENAI_API_KEY" in res.output
    if case == "bad option":
        assert "does not take the option 'colour'" in res.output


def test_query_mock_samples(app, runner, prompts, tmp_path):
    out = tmp_path / "s.jsonl"
    res = runner.invoke(app, ["query", str(prompts), "-m", "mock/yes-no", "-n", "3", "-t", "0.7",
                              "--seed", "1", "-o", str(out), "--no-cache", "-q"])
    assert res.exit_code == EXIT_OK, res.output
    records = [json.loads(line) for line in open(out)]
    assert len(records) == 18 and records[0]["id"] == "p0#0" and records[2]["sample_index"] == 2


def test_judges_list_and_show(app, runner):
    res = runner.invoke(app, ["judges", "list"])
    assert res.exit_code == 0, res.output
    assert "gpt-4o-2024-08-06" in res.output and "qwen2.5-vl-7b-instruct" in res.output
    res = runner.invoke(app, ["judges", "show", "gpt-4o-2024-08-06", "--templates"])
    assert res.exit_code == 0, res.output
    assert "cc2020cedf026cac810fa74c1c78b254f0ba4d1712e9ffd2f16c9906ca008cd0" in res.output
    assert "Statement: $statement" in res.output
    res = runner.invoke(app, ["judges", "show", "no-such-judge"])
    assert res.exit_code == EXIT_USAGE and "unknown judge" in res.output


def test_resume_refuses_a_file_another_model_answered(app, runner, prompts, tmp_path):
    """Resuming mock/yes's file with mock/no said 'already done' and the run sheet named
    mock/no over mock/yes's answers; now a usage error, and --restart starts it again."""
    out = tmp_path / "out.jsonl"
    args = ["query", str(prompts), "-o", str(out), "--no-cache", "-q"]
    assert runner.invoke(app, [*args, "-m", "mock/yes"]).exit_code == EXIT_OK
    before = out.read_text()
    res = runner.invoke(app, [*args, "-m", "mock/no"])
    assert res.exit_code == EXIT_USAGE, res.output
    assert "holds answers of another run" in res.output and "mock-yes" in res.output
    assert out.read_text() == before
    res = runner.invoke(app, [*args, "-m", "mock/yes", "--temperature", "0.7"])
    assert res.exit_code == EXIT_USAGE and "decoding" in res.output
    assert runner.invoke(app, [*args, "-m", "mock/no", "--restart"]).exit_code == EXIT_OK
    assert {json.loads(line)["response"] for line in open(out)} == {"No."}


def test_resume_leaves_a_file_that_is_not_query_output_alone(app, runner, prompts, tmp_path):
    """-o pointed at an unrelated file: its lines were dropped as 'cut short' and the file
    rewritten; only a last line cut short by a kill is dropped."""
    notes = tmp_path / "notes.txt"
    notes.write_text("hi\n")
    res = runner.invoke(app, ["query", str(prompts), "-m", "mock/yes", "-o", str(notes),
                              "--no-cache", "-q"])
    assert res.exit_code == EXIT_USAGE, res.output
    assert "no run sheet" in res.output
    assert notes.read_text() == "hi\n"
    cut = tmp_path / "cut.jsonl"
    cut.write_text(json.dumps({"id": "p0", "prompt": "Is there a dog 0?", "response": "Yes.",
                               "model": "yes"}) + '\n{"id": "p1", "prom')
    # a killed run leaves the run sheet it wrote before its first answer
    (tmp_path / "cut.jsonl.runsheet.json").write_text('{"halluscope_runsheet": 1}')
    res = runner.invoke(app, ["query", str(prompts), "-m", "mock/yes", "-o", str(cut),
                              "--no-cache", "-q"])
    assert res.exit_code == EXIT_OK, res.output
    assert sorted(json.loads(line)["id"] for line in open(cut)) == [f"p{i}" for i in range(6)]


def test_the_note_on_withheld_answers_says_what_an_audit_does_with_them(app, runner, prompts,
                                                                        tmp_path, monkeypatch):
    """query said answers a filter cut short are 'partial answers, which an audit scores as
    given'; an audit lists them as bad records and never scores them (finish_reasons.FILTERED),
    and the audit of the same file does so."""
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    out = tmp_path / "out.jsonl"
    reply = {"text": "A dog on a", "finish_reason": "content_filter"}
    with FakeServer(api_key=KEY, responder=lambda prompt, body: reply) as server:
        res = runner.invoke(app, ["query", str(prompts), "--model", "openai/m", "--base-url",
                                  server.url, "--out", str(out)])
    assert res.exit_code == EXIT_OK, res.output
    text = " ".join(res.output.split())
    assert "scores as given" not in text
    assert "bad records" in text and "never scored" in text


def test_a_prompt_line_giving_a_key_twice_exits_2_naming_file_line_and_key(app, runner,
                                                                           prompts, tmp_path):
    lines = prompts.read_text().splitlines()
    lines[1] = lines[1][:-1] + ', "prompt": "What else?"}'
    prompts.write_text("\n".join(lines) + "\n")
    res = runner.invoke(app, ["query", str(prompts), "-m", "mock/echo", "-o",
                              str(tmp_path / "o.jsonl"), "--no-cache"])
    assert res.exit_code == EXIT_USAGE, res.output
    assert f"{prompts}:2: field 'prompt'" in " ".join(res.output.split())
    assert not (tmp_path / "o.jsonl").exists() or not (tmp_path / "o.jsonl").read_text()
