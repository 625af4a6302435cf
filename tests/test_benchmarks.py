"""Benchmark manifests, `halluscope benchmarks`, `query --benchmark` on the loopback server, and
hand-worked HallusionBench cases (parsers, variants, clustered intervals)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from conftest import shared_data_dir
from fake_openai_server import FakeServer, scripted_responder
from halluscope.benchmark_specs import (FOUND, MISSING, WRONG_HASH, check_files, list_benchmarks,
                                        load_benchmark, read_benchmark)
from halluscope.cli import app
from halluscope.metrics.hallusionbench import (Unit, hallusionbench_scores, original_correctness,
                                               original_is_correct, vlmevalkit_extract)

ROWS = [  # HallusionBench-shaped: a VD pair on two figures, a VS pair without/with a figure
    {"category": "VD", "subcategory": "illusion", "visual_input": "1", "set_id": "0",
     "figure_id": "0", "question_id": "0", "question": "Is the left circle bigger?",
     "gt_answer_details": "The circles are the same size.", "gt_answer": "0",
     "filename": "./VD/illusion/0_0.png"},
    {"category": "VD", "subcategory": "illusion", "visual_input": "2", "set_id": "0",
     "figure_id": "1", "question_id": "0", "question": "Is the left circle bigger?",
     "gt_answer_details": "The left circle is bigger.", "gt_answer": "1",
     "filename": "./VD/illusion/0_1.png"},
    {"category": "VS", "subcategory": "chart", "visual_input": "0", "set_id": "0",
     "figure_id": "0", "question_id": "0", "question": "Did sales rise in 2019?",
     "gt_answer_details": "Sales rose in 2019.", "gt_answer": "1", "filename": None},
    {"category": "VS", "subcategory": "chart", "visual_input": "1", "set_id": "0",
     "figure_id": "1", "question_id": "0", "question": "Did sales rise in 2019 (chart)?",
     "gt_answer_details": "Sales rose in 2019.", "gt_answer": "1",
     "filename": "./VS/chart/0_1.png"},
]
ANSWERS = {"Is the left circle bigger?": "No, they are equal.",
           "Did sales rise in 2019?": "I cannot tell without the chart.",
           "Did sales rise in 2019 (chart)?": "Yes, they rose."}


def manifest(tmp: Path, questions: Path) -> Path:
    digest = hashlib.sha256(questions.read_bytes()).hexdigest()
    text = f'''name = "tinybench"
version = "1"
metric = "hallusionbench"
default_variant = "refined"
variants = ["original", "vlmevalkit", "refined"]
judge = "hallusionbench-gpt-4"
[[files]]
role = "questions"
name = "{questions.name}"
sha256 = "{digest}"
size = {questions.stat().st_size}
[prompt]
template = "{{question}}"
image_field = "filename"
id_field = "{{category}}_{{subcategory}}_{{set_id}}_{{figure_id}}_{{question_id}}"
'''
    path = tmp / "tinybench.toml"
    path.write_text(text)
    return path


@pytest.fixture
def bench(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    questions = data / "tiny.json"
    questions.write_text(json.dumps(ROWS))
    for i, row in enumerate(ROWS):
        if row["filename"]:
            p = tmp_path / "images" / row["filename"]
            p.parent.mkdir(parents=True, exist_ok=True)
            Image.new("RGB", (32, 32), (200, 10 * i, 10)).save(p)
    return tmp_path, manifest(tmp_path, questions), questions


def invoke(args, expect=0):
    res = CliRunner().invoke(app, [str(a) for a in args])
    assert res.exit_code == expect, res.output
    return res


def judge_replies(prompt: str, body: dict) -> str:
    """The judge's answers, keyed on the prediction inside the original prompt."""
    if "Prediction answer:No, they are equal." in prompt:
        return "correct" if "same size" in prompt else "Incorrect."
    if "Prediction answer:I cannot tell" in prompt:
        return "Output: N/A"
    if "Prediction answer:Yes, they rose." in prompt:
        return "Correct"
    return f"echo: {prompt}"


def respond(prompt: str, body: dict) -> str:
    """The judge when the original judge prompt is asked, else the model under test."""
    if prompt.startswith("Imagine you are an intelligent teacher."):
        return judge_replies(prompt, body)
    return scripted_responder(list(ANSWERS.items()))(prompt, body)


def test_query_benchmark_then_audit_both_variants(bench):
    tmp, spec, questions = bench
    out = tmp / "answers.jsonl"
    with FakeServer(responder=respond) as server:
        invoke(["query", "--benchmark", spec, "--data", questions.parent, "--images",
                tmp / "images", "--model", "openai/fake-vlm", "--base-url", server.url,
                "--cache", tmp / "cache", "--out", out, "--quiet"])
        rows = [json.loads(x) for x in out.read_text().splitlines()]
        assert [r["id"] for r in rows] == ["VD_illusion_0_0_0", "VD_illusion_0_1_0",
                                           "VS_chart_0_0_0", "VS_chart_0_1_0"]
        assert all(r["benchmark"] == "tinybench@1" for r in rows)
        assert "image" not in rows[2] and rows[3]["image"].endswith("0_1.png")
        sent = [r for r in server.requests if r["model"] == "fake-vlm"]
        assert len(sent) == 4
        results = {}
        for variant in ("original", "refined"):
            invoke(["audit", out, "--metric", "hallusionbench", "--option",
                    f"hallusionbench_variant={variant}", "--judge", "hallusionbench-gpt-4",
                    "--option", f"judge_base_url={server.url}", "--cache-dir", tmp / "jc",
                    "--bootstrap", "0", "--out", tmp / variant, "--quiet"])
            results[variant] = json.loads((tmp / variant / "results.json").read_text())
    # original: the VS no-image answer's "Output: N/A" reads as unclear (2) = correct
    m = results["original"]["metrics"]["hallusionbench"]
    assert m["aacc"]["value"] == 3 / 4          # VD fig1 wrong
    assert m["facc"]["value"] == 2 / 3          # VS figure 0 left out of fAcc
    assert m["qacc"]["value"] == 1 / 2          # VD pair broken, VS pair whole
    assert m["unverifiable"]["value"] == 0
    # refined: "Output: N/A" is no label: unverifiable, counted, left out with its pair
    r = results["refined"]["metrics"]["hallusionbench"]
    assert r["unverifiable"]["value"] == 1
    assert r["aacc"]["value"] == 2 / 3 and r["aacc"]["n"] == 3
    assert r["qacc"]["value"] == 0.0 and r["qacc"]["n"] == 1
    assert r["facc"]["value"] == 2 / 3


def test_query_benchmark_refuses_a_wrong_file_and_names_the_hash(bench):
    tmp, spec, questions = bench
    expected = load_benchmark(str(spec)).files[0].sha256
    questions.write_text(json.dumps(ROWS[:3]))
    res = invoke(["query", "--benchmark", spec, "--data", questions, "--images", tmp / "images",
                  "--model", "openai/fake-vlm", "--out", tmp / "o.jsonl"], expect=2)
    text = " ".join(res.output.split())
    assert "wrong hash" in text and expected in text.replace(" ", "")
    res = invoke(["query", "--benchmark", spec, "--data", tmp / "nowhere", "--model",
                  "openai/fake-vlm", "--out", tmp / "o.jsonl"], expect=2)
    assert "missing" in res.output and expected in res.output.replace("\n", "")


def test_query_benchmark_names_a_missing_image(bench):
    tmp, spec, questions = bench
    (tmp / "images" / "VS/chart/0_1.png").unlink()
    res = invoke(["query", "--benchmark", spec, "--data", questions, "--images", tmp / "images",
                  "--model", "openai/fake-vlm", "--out", tmp / "o.jsonl"], expect=2)
    assert "VS/chart/0_1.png" in res.output


@pytest.mark.parametrize("images", ["nowhere", "a-file.png"])
def test_query_benchmark_says_an_images_folder_that_is_none(bench, images):
    """It said every image was "not found under" the path, as if the folder lacked them."""
    tmp, spec, questions = bench
    (tmp / "a-file.png").write_bytes(b"x")
    res = invoke(["query", "--benchmark", spec, "--data", questions, "--images", tmp / images,
                  "--model", "openai/fake-vlm", "--out", tmp / "o.jsonl"], expect=2)
    text = " ".join(res.output.split())
    said = "no such folder" if images == "nowhere" else "a file"
    assert f"--images {tmp / images}: expected the folder of tinybench@1's images, got " \
           f"{said}" in text, text
    assert "not found under" not in text


@pytest.mark.parametrize("out", ["folder", "o.jsonl.gz"])
def test_query_benchmark_refused_out_leaves_no_prompts_file_behind(bench, out):
    """A refused --out (a folder, a compressed name) left <out>.prompts.jsonl beside it."""
    tmp, spec, questions = bench
    (tmp / "folder").mkdir()
    res = invoke(["query", "--benchmark", spec, "--data", questions, "--images", tmp / "images",
                  "--model", "openai/fake-vlm", "--out", tmp / out], expect=2)
    assert f"--out {tmp / out}: expected" in " ".join(res.output.split())
    assert not (tmp / f"{out}.prompts.jsonl").exists()


def test_check_files_statuses(bench):
    tmp, spec_path, questions = bench
    spec = read_benchmark(spec_path)
    assert [s.status for s in check_files(spec, tmp / "data")] == [FOUND]
    assert [s.status for s in check_files(spec, tmp / "images")] == [MISSING]
    (tmp / "other").mkdir()
    (tmp / "other" / "tiny.json").write_text("[]")
    st = check_files(spec, tmp / "other")[0]
    assert st.status == WRONG_HASH and st.actual_sha256 == hashlib.sha256(b"[]").hexdigest()


def test_check_files_searches_peer_layouts_aliases_and_shipped_copies(bench, tmp_path):
    """A copy a few folders down (POPE's output/coco/v3/...), under the name the file has
    upstream (an alias), or the copy halluscope ships is found; the right hash wins over a
    same-named file with another hash elsewhere in the tree."""
    from halluscope.benchmark_specs import BenchmarkSpec
    tmp, spec_path, questions = bench
    spec = read_benchmark(spec_path)
    f = spec.files[0]
    deep = tmp_path / "peer" / "output" / "coco" / "v3"
    deep.mkdir(parents=True)
    (tmp_path / "peer" / "output" / "coco" / "v1").mkdir()
    (tmp_path / "peer" / "output" / "coco" / "v1" / f.name).write_text("[]")   # wrong hash
    (deep / "upstream-name.json").write_bytes(questions.read_bytes())
    assert check_files(spec, tmp_path / "peer")[0].status == WRONG_HASH
    aliased = BenchmarkSpec.model_validate({
        **spec.model_dump(), "files": [{**f.model_dump(), "aliases": ["upstream-name.json"]}]})
    st = check_files(aliased, tmp_path / "peer")[0]
    assert st.status == FOUND and st.path == deep / "upstream-name.json"
    objhal = {s.name: s for s in list_benchmarks()}["objhal"]
    synonyms = [s for s in check_files(objhal, tmp_path / "empty") if s.file.role == "synonyms"]
    assert synonyms[0].status == FOUND                  # halluscope's own copy


def test_shipped_manifests_validate_and_list(monkeypatch, tmp_path):
    specs = {s.name: s for s in list_benchmarks()}
    hb = specs["hallusionbench"]
    assert hb.metric == "hallusionbench" and hb.judge == "hallusionbench-gpt-4"
    assert hb.default_variant in hb.variants and not hb.ships_data
    monkeypatch.delenv("HALLUSCOPE_DATA", raising=False)
    res = invoke(["benchmarks", "--json", "--data", str(tmp_path)])     # an empty folder
    listed = {b["name"]: b for b in json.loads(res.output)}
    assert listed["hallusionbench"]["status"] == "missing"
    assert listed["hallusionbench"]["files"][0]["expected_sha256"] == hb.files[0].sha256


@pytest.mark.skipif(shared_data_dir("hallusionbench/HallusionBench.json") is None,
                    reason="shared data not found (../shared/data)")
def test_benchmarks_finds_the_real_file_through_the_environment(monkeypatch):
    monkeypatch.setenv("HALLUSCOPE_DATA", str(shared_data_dir()))
    res = invoke(["benchmarks", "--json"])
    assert {b["name"]: b for b in json.loads(res.output)}["hallusionbench"]["status"] == FOUND


# -- hand-worked parser and variant cases ------------------------------------------------------
@pytest.mark.parametrize("text,code", [
    ("Correct", "1"), ("incorrect", "0"), ("The prediction is not incorrect.", "0"),
    ("CORRECT?? incorrect??", "0"), ("", "2"), ("Output: N/A", "2"),
    ("I'm sorry, I can't assess this.", "2"), ("unclear", "2"), ("Correctly answered", "1")])
def test_original_judge_text_parse(text, code):
    assert original_correctness(text) == code


def test_original_assign_correctness():
    assert original_is_correct("2", "VS", "0") and original_is_correct("1", "VS", "0")
    assert not original_is_correct("2", "VS", "1") and not original_is_correct("2", "VD", "0")
    assert not original_is_correct("0", "VS", "0")


@pytest.mark.parametrize("answer,label", [
    ("Yes.", "Yes"), ("NO", "No"), ("Nope.", "Unknown"), ("Yep, definitely.", "Unknown"),
    ("Answer (Yes/No): Yes", "Unknown"), ("Yes, no doubt about it.", "Unknown"), ("", "Unknown"),
    ("yes-it is", "Yes"), ("Yes-no: 1,000", "Unknown"), ("The answer is: no", "No")])
def test_vlmevalkit_keyword_extraction(answer, label):
    assert vlmevalkit_extract(answer) == label


def test_cluster_bootstrap_is_order_free_and_resamples_sets():
    units = [Unit(f"s{i // 4}", f"s{i // 4}_f{i % 2}", f"s{i // 4}_q{i % 2}", i % 3 != 0,
                  ("VD",)) for i in range(40)]
    a = hallusionbench_scores(units, n_boot=200, seed=3)
    b = hallusionbench_scores(list(reversed(units)), n_boot=200, seed=3)
    for k in ("aacc", "facc", "qacc"):
        assert a[k].ci == b[k].ci and a[k].value == b[k].value
        assert a[k].ci[0] <= a[k].value <= a[k].ci[1]
    assert a["aacc"].n == 40 and a["facc"].n == 20 and a["qacc"].n == 20


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    pytest.importorskip("torch")
    from tiny_vlms import tiny_vlm
    return tiny_vlm("qwen2vl", tmp_path_factory.getbasetemp() / "tiny-vlms")


def test_query_benchmark_with_a_tiny_local_vlm(bench, tiny_model):
    """The same prompts through a local transformers model (random weights: noise answers),
    then scored with the original judge prompt on the loopback server."""
    tmp, spec, questions = bench
    out = tmp / "answers.jsonl"
    invoke(["query", "--benchmark", spec, "--data", questions, "--images", tmp / "images",
            "--model", f"hf/{tiny_model}", "--max-tokens", "6", "--cache", tmp / "cache",
            "--out", out, "--quiet"])
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == ["VD_illusion_0_0_0", "VD_illusion_0_1_0",
                                       "VS_chart_0_0_0", "VS_chart_0_1_0"]
    assert all(isinstance(r["response"], str) and r["model"] == str(tiny_model) for r in rows)
    with FakeServer(responder=lambda prompt, body: "Incorrect") as server:
        invoke(["audit", out, "--metric", "hallusionbench", "--option",
                "hallusionbench_variant=original", "--judge", "hallusionbench-gpt-4",
                "--option", f"judge_base_url={server.url}", "--cache-dir", tmp / "jc",
                "--bootstrap", "0", "--out", tmp / "run", "--quiet"])
        asked = [r["messages"][0]["content"] for r in server.requests]
    assert all(p.startswith("Imagine you are an intelligent teacher.") for p in asked)
    assert sum("Prediction answer:" in p for p in asked) == 4        # correctness
    assert any("response2: " in p for p in asked)                    # consistency (diagnosis)
    m = json.loads((tmp / "run/results.json").read_text())["metrics"]["hallusionbench"]
    # the noise answers may repeat, so some consistency prompts come from the judge cache
    assert m["info"]["judge_reliability_same"]["calls"] == 4
    assert m["aacc"]["value"] == 0.0 and m["aacc"]["n"] == 4


@pytest.mark.parametrize("text,label", [
    ("Correct", "correct"), ("“correct”", "correct"), ("The prediction is correct.", "correct"),
    ("correct\n\nThe prediction matches the reference answer.", "correct"),
    ("The prediction answer conflicts with the reference answer, so it is incorrect.",
     "incorrect"), ("The prediction is unclear about the answer.", "unclear"),
    ("Output: N/A", None), ("", None), ("CORRECT?? incorrect??", None),
    ("The prediction is not incorrect.", None), ("I'm sorry, I can't assess this.", None),
    ("The prediction answer does not conflict with the reference answer.", None)])
def test_refined_judge_text_parse(text, label):
    from halluscope.judges.parsers import parse_correct_incorrect
    parsed = parse_correct_incorrect(text)
    assert parsed.ok == (label is not None) and parsed.value == label
    if label is None:
        assert parsed.error


@pytest.mark.parametrize("text,label", [
    ("Same", "same"), ("Different.", "different"), ("Consistent.", None),
    ("The two responses are not the same.", None)])
def test_same_different_parse(text, label):
    from halluscope.judges.parsers import parse_same_different
    assert parse_same_different(text).value == label


@pytest.mark.skipif(shared_data_dir("mmhal/mmhal-bench_answer_template.json") is None,
                    reason="shared data not found (../shared/data)")
def test_mmhal_prompts_name_images_by_their_url_file_name(tmp_path):
    from halluscope.benchmark_query import benchmark_prompts, questions_file
    spec = load_benchmark("mmhal")
    questions = questions_file(spec, shared_data_dir() / "mmhal")
    rows = json.loads(questions.read_text())
    for row in rows:
        (tmp_path / row["image_src"].rsplit("/", 1)[-1]).write_bytes(b"x")
    lines = benchmark_prompts(spec, questions, tmp_path)
    assert len(lines) == 96 and [x["prompt"] for x in lines] == [r["question"] for r in rows]
    assert lines[0]["image"] == str(tmp_path / "7206072054_c53d53b97d_o.jpg")
    assert lines[0]["id"] == rows[0]["image_id"] and lines[0]["benchmark"] == "mmhal@1"


def test_prompts_name_images_from_ids_with_the_manifests_template(tmp_path):
    """Object HalBench rows hold a COCO image id (an int), Reefknot rows a Visual Genome id:
    the manifest's image_file names the file (before, an int id crashed the query)."""
    from halluscope.benchmark_query import benchmark_prompts
    from halluscope.errors import InputError
    specs = {s.name: s for s in list_benchmarks()}
    questions = tmp_path / "q.jsonl"
    questions.write_text(json.dumps({"image_id": 339761, "question": "Describe it."}) + "\n")
    images = tmp_path / "val2014"
    images.mkdir()
    with pytest.raises(InputError, match="COCO_val2014_000000339761.jpg"):
        benchmark_prompts(specs["objhal"], questions, images)
    Image.new("RGB", (8, 8)).save(images / "COCO_val2014_000000339761.jpg")
    [line] = benchmark_prompts(specs["objhal"], questions, images)
    assert line["image"] == str(images / "COCO_val2014_000000339761.jpg")
    assert line["image_id"] == 339761 and line["prompt"] == "Describe it."
    rk = tmp_path / "yesno.jsonl"
    rk.write_text(json.dumps({"image_id": "2391735", "query_prompt": "Is the knife on the "
                              "apple? Please answer yes or no.", "label": "yes"}) + "\n")
    Image.new("RGB", (8, 8)).save(images / "2391735.jpg")
    [line] = benchmark_prompts(specs["reefknot"], rk, images)
    assert line["image"] == str(images / "2391735.jpg")
