"""`halluscope query` leftovers, used as a user would against the loopback server: a refused
resume touches nothing; answers of `query --benchmark objhal` count the questions never
answered; what `--quiet` and a benchmark run say."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from fake_openai_server import FakeServer
from halluscope.cli import app

QUESTIONS = [{"image_id": 11, "question": "Describe the image."},
             {"image_id": 12, "question": "What is this photo about?"},
             {"image_id": 13, "question": "Describe the picture in detail."}]
GT = {"11": ["dog"], "12": ["cat"], "13": ["person"]}


def folder_digest(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (its path) with the sha256 of its bytes."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def objhal_bench(tmp: Path) -> tuple[Path, Path, Path]:
    """A three-question Object HalBench (the manifest named ``objhal``, as the shipped one,
    pinning this question file), its images; the manifest, the data folder, the images."""
    data = tmp / "data"
    data.mkdir()
    questions = data / "questions.jsonl"
    questions.write_text("".join(json.dumps(q) + "\n" for q in QUESTIONS))
    images = tmp / "val2014"
    images.mkdir()
    for q in QUESTIONS:
        Image.new("RGB", (8, 8), (q["image_id"], 0, 0)).save(
            images / f"COCO_val2014_{q['image_id']:012d}.jpg")
    digest = hashlib.sha256(questions.read_bytes()).hexdigest()
    spec = tmp / "objhal.toml"
    spec.write_text(f'''name = "objhal"
version = "1"
metric = "objhal"
default_variant = "refined"
variants = ["original", "refined"]
judge = "objhal-gpt-3.5-turbo-0613"
[[files]]
role = "questions"
name = "questions.jsonl"
sha256 = "{digest}"
size = {questions.stat().st_size}
[prompt]
template = "{{question}}"
image_field = "image_id"
image_file = "COCO_val2014_{{image_id:012d}}.jpg"
id_field = "image_id"
''')
    return spec, data, images


def query(server: FakeServer, *args) -> tuple[int, str]:
    res = CliRunner().invoke(app, ["query", "-m", "openai/fake-vlm", "--base-url", server.url,
                                   "--no-cache", *map(str, args)])
    return res.exit_code, res.output


# -- 1. a refused resume touches nothing ----------------------------------------------------
def test_a_benchmark_resume_refused_for_its_decoding_writes_no_prompts_file(tmp_path,
                                                                           monkeypatch):
    """The prompts file of --benchmark was written before the resume was refused for its
    other temperature: a refused resume left a new prompts file (and removed the lock
    file)."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-loopback")
    spec, data, images = objhal_bench(tmp_path)
    out = tmp_path / "run" / "out.jsonl"
    bench = ["--benchmark", spec, "--data", data, "--images", images, "-o", out, "-q"]
    with FakeServer() as server:
        code, text = query(server, *bench)
        assert code == 0, text
        (out.parent / "out.jsonl.prompts.jsonl").unlink()    # or changed, or never there
        before = folder_digest(out.parent)
        for other in (["-t", "0.5"], ["--system", "Be brief."], ["-n", "2", "-t", "1"],
                      ["-m", "openai/another-vlm"]):
            code, text = query(server, *bench, *other)
            assert code == 2, text
            assert "holds answers of another run" in text, text
            assert folder_digest(out.parent) == before, other


@pytest.mark.parametrize("engine", ["local", "ray"])
def test_a_resume_refused_for_an_answered_line_leaves_the_output_as_it_was(tmp_path,
                                                                          monkeypatch, engine):
    """A resume refused because an answered id now has another prompt was refused mid-run,
    after the failed lines had been dropped from the output and the run sheet rewritten."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-loopback")
    if engine == "ray":
        pytest.importorskip("ray")
    prompts = tmp_path / "p.jsonl"
    prompts.write_text("".join(json.dumps({"id": i, "prompt": f"question {i}"}) + "\n"
                               for i in ("a", "b", "c")))
    out = tmp_path / "run" / "out.jsonl"
    with FakeServer(script={"question c": ["refuse"]}) as server:
        code, text = query(server, prompts, "-o", out, "-q", "--max-attempts", "1")
        assert code == 1, text              # c failed: a resume would ask it again
        assert not (out.parent / "out.jsonl.lock").exists()     # removed when the run ended
        prompts.write_text(prompts.read_text().replace("question a", "question A"))
        before = folder_digest(out.parent)
        code, text = query(server, prompts, "-o", out, "-q", "--engine", engine,
                           *(["--ray-address", "local", "--ray-workers", "1"]
                             if engine == "ray" else []))
        assert code == 2, text
        assert "'a' was answered for another prompt" in text
        assert folder_digest(out.parent) == before      # no lock file left behind either
        assert not [r for r in server.requests if "question c" in json.dumps(r)][1:]


# -- 3. Object HalBench answers of `query --benchmark objhal` count the unanswered -----------
def test_objhal_answers_of_a_benchmark_query_count_the_questions_never_answered(
        tmp_path, monkeypatch, caplog):
    """`query --benchmark objhal` lines carry their image_id; the audit left them unpaired
    with the question file and `unanswered` had no value. The query's run sheet names the
    question file (checked by its sha256), so the audit knows the question set: a question
    whose request failed has no answer and is unanswered, never scored."""
    pytest.importorskip("spacy")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-loopback")
    spec, data, images = objhal_bench(tmp_path)
    out = tmp_path / "out.jsonl"
    gt = tmp_path / "gt.json"
    gt.write_text(json.dumps(GT))
    with FakeServer(script={"photo about": ["refuse"]}) as server:
        code, text = query(server, "--benchmark", spec, "--data", data, "--images", images,
                           "-o", out, "-q", "--max-attempts", "1")
    assert code == 1, text
    res = CliRunner().invoke(app, ["audit", str(out), "--gt-objects", str(gt), "--bootstrap",
                                   "0", "--out", str(tmp_path / "a"), "-q"])
    assert res.exit_code == 0, res.output
    results = json.loads((tmp_path / "a" / "results.json").read_text())["metrics"]["objhal"]
    assert (results["unanswered"]["value"], results["unanswered"]["n"]) == (1, 3)
    assert results["chairs"]["n"] == 2                  # the failed line is not scored
    assert "objhal: 1 of the 3 questions never answered" in caplog.text

    # the question file gone (or changed): no count, and why
    (data / "questions.jsonl").write_text("")
    res = CliRunner().invoke(app, ["audit", str(out), "--gt-objects", str(gt), "--bootstrap",
                                   "0", "--out", str(tmp_path / "b"), "-q"])
    results = json.loads((tmp_path / "b" / "results.json").read_text())["metrics"]["objhal"]
    assert results["unanswered"]["value"] is None
    assert "other bytes than the query checked" in results["unanswered"]["why_no_value"]


# -- 4. what a benchmark run and --quiet say; flags that need another flag -------------------
def test_a_benchmark_query_names_the_judge_its_audit_asks_not_one_it_asked(tmp_path,
                                                                          monkeypatch):
    """The query asks no judge; a benchmark scored with one said nothing of it. The run sheet
    now records the metric and the judge (name, version, pin) and the summary names it for
    the audit, except under --quiet, which keeps the notes, failures and the line written."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-loopback")
    spec, data, images = objhal_bench(tmp_path)
    bench = ["--benchmark", spec, "--data", data, "--images", images]
    with FakeServer() as server:
        code, text = query(server, *bench, "-o", tmp_path / "a.jsonl")
        assert code == 0, text
        quiet_code, quiet = query(server, *bench, "-o", tmp_path / "b.jsonl", "-q")
    asked = json.loads((tmp_path / "a.jsonl.runsheet.json").read_text())["benchmark"]
    assert asked["metric"] == "objhal"
    assert asked["judge"] == {"name": "objhal-gpt-3.5-turbo-0613", "version": 1,
                              "pin": "openai/gpt-3.5-turbo-0613"}
    said = " ".join(text.split())
    assert ("benchmark objhal@1 is scored by objhal with the judge objhal-gpt-3.5-turbo-0613@1 "
            "(openai/gpt-3.5-turbo-0613): this run asked none") in said
    assert "--judge objhal-gpt-3.5-turbo-0613" in said
    assert quiet_code == 0 and "judge" not in quiet and "wrote" in quiet


@pytest.mark.parametrize("flags, said", [
    (["--ray-workers", "2"], "--ray-workers is for --engine ray; got --engine local"),
    (["--ray-address", "local"], "--ray-address is for --engine ray"),
    (["--ray-gpus-per-worker", "1"], "--ray-gpus-per-worker is for --engine ray"),
    (["--images", "imgs"], "--images is for --benchmark; got no --benchmark"),
    (["--data", "d"], "--data is for --benchmark"),
    (["--split", "popular"], "--split is for --benchmark; got no --benchmark"),
])
def test_a_flag_that_needs_another_is_a_usage_error_not_ignored(tmp_path, flags, said):
    """--ray-workers without --engine ray ran in one process without a word (as did --data
    and --images without --benchmark; --split alone was refused)."""
    prompts = tmp_path / "p.jsonl"
    prompts.write_text('{"id": "1", "prompt": "Hi?"}\n')
    res = CliRunner().invoke(app, ["query", str(prompts), "-m", "mock/echo", "-o",
                                   str(tmp_path / "o.jsonl"), "--no-cache", *flags])
    assert res.exit_code == 2, res.output
    assert said in " ".join(res.output.split())
    assert not (tmp_path / "o.jsonl").exists()


def test_query_help_says_what_quiet_keeps():
    res = CliRunner().invoke(app, ["query", "--help"], env={"COLUMNS": "200"})
    assert "No progress bar or counts table (notes, failures and the file written are still " \
           "said)." in " ".join(res.output.split())
