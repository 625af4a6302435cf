"""Leftovers of a hunt of ``halluscope query --benchmark`` and ``audit``: the metric told by
the lines' ``benchmark`` field, the benchmark in the query run sheet, choosing a split,
a refused resume leaving the prompts file alone, repeated ``--data``, and ``unanswered`` as a
statistic of MMHal-Bench and Object HalBench."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from halluscope.cli import app


def _hb_line(**extra) -> dict:
    return {"category": "VD", "subcategory": "illusion", "visual_input": "1", "set_id": "0",
            "figure_id": "0", "question_id": "0", "question": "Is the left circle bigger?",
            "gt_answer_details": "Same.", "gt_answer": "0", "id": "VD_illusion_0_0_0",
            "prompt": "Is the left circle bigger?", "benchmark": "hallusionbench@1",
            "response": "No.", "model": "m", **extra}


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _audit(tmp_path: Path, *args) -> tuple[int, str]:
    res = CliRunner().invoke(app, ["audit", *map(str, args), "--bootstrap", "0",
                                   "--no-report", "--quiet", "--out", str(tmp_path / "o")])
    return res.exit_code, res.output


def test_audit_without_metric_scores_a_benchmark_file_with_its_own_metric(tmp_path):
    """A `query --benchmark hallusionbench` file was taken for POPE ("pass a question file
    with labels"): the lines' benchmark field names the metric."""
    answers = _write(tmp_path / "hb.jsonl", [_hb_line()])
    code, out = _audit(tmp_path, answers)
    assert code == 2, out
    assert "pass --judge hallusionbench-gpt-4" in out and "label" not in out
    code, out = _audit(tmp_path, answers, "--option", "hallusionbench_variant=vlmevalkit")
    assert code == 0, out
    results = json.loads((tmp_path / "o" / "results.json").read_text())
    assert list(results["metrics"]) == ["hallusionbench"]
    assert results["metrics"]["hallusionbench"]["aacc"]["value"] == 1.0


@pytest.mark.parametrize("pin, said", [("mmhal@1", "MMHal-Bench is scored by a judge"),
                                       ("objhal@1", "needs ground-truth objects"),
                                       ("amber@1", "AMBER's annotations.json")])
def test_each_benchmark_pin_runs_its_metric(tmp_path, pin, said):
    answers = _write(tmp_path / "a.jsonl", [_hb_line(benchmark=pin)])
    code, out = _audit(tmp_path, answers)
    assert code == 2 and said in " ".join(out.split()), out


def test_an_unknown_benchmark_pin_falls_back_and_says_so(tmp_path, caplog):
    from halluscope.metric_inference import choose_metrics
    from halluscope.config import AuditConfig
    answers = _write(tmp_path / "a.jsonl", [_hb_line(benchmark="nosuch@1", label="no")])
    with caplog.at_level("WARNING"):
        names, named = choose_metrics([answers], AuditConfig())
    assert names == ("pope",) and not named
    assert "'nosuch@1' names no known benchmark" in caplog.text


def _tiny(tmp_path: Path, roots=("img",)):
    from test_query_hunt2 import _benchmark
    return _benchmark(tmp_path, roots)


def _query(tmp_path: Path, spec, data, images, *args) -> tuple[int, str]:
    res = CliRunner().invoke(app, ["query", "--benchmark", str(spec), "--data", str(data),
                                   "--images", str(tmp_path / images), "-m", "mock/echo",
                                   "-o", str(tmp_path / "out.jsonl"), "-q", "--no-cache",
                                   *map(str, args)])
    return res.exit_code, res.output


def test_the_query_run_sheet_names_the_benchmark_its_question_file_and_split(tmp_path):
    import hashlib
    spec, data = _tiny(tmp_path)
    code, out = _query(tmp_path, spec, data, "img")
    assert code == 0, out
    sheet = json.loads((tmp_path / "out.jsonl.runsheet.json").read_text())
    asked = sheet["benchmark"]
    questions = data / "tiny.json"
    assert (asked["name"], asked["version"], asked["pin"]) == ("tinybench", "1", "tinybench@1")
    assert asked["questions"]["path"] == str(questions.resolve())
    assert asked["questions"]["sha256"] == hashlib.sha256(questions.read_bytes()).hexdigest()
    assert asked["split"] is None and asked["prompt_count"] == 4
    assert asked["images"] == str((tmp_path / "img").resolve())
    assert asked["prompts"].endswith("out.jsonl.prompts.jsonl")


def _two_splits(tmp_path: Path) -> tuple[Path, Path]:
    """A yes/no benchmark of two splits (a default ``first`` and ``second``), one image."""
    import hashlib
    from PIL import Image
    data = tmp_path / "data"
    data.mkdir()
    (tmp_path / "img").mkdir()
    Image.new("RGB", (8, 8)).save(tmp_path / "img" / "a.png")
    files = ""
    for role, name, text in (("questions", "first.jsonl", "Is there a dog?"),
                             ("questions_second", "second.jsonl", "Is there a cat?")):
        path = _write(data / name, [{"question_id": 1, "image": "a.png", "text": text,
                                     "label": "no"}])
        files += (f'[[files]]\nrole = "{role}"\nname = "{name}"\n'
                  f'sha256 = "{hashlib.sha256(path.read_bytes()).hexdigest()}"\n')
    spec = tmp_path / "twosplit.toml"
    spec.write_text(f'name = "twosplit"\nversion = "2"\nmetric = "pope"\n'
                    f'default_split = "first"\n{files}'
                    f'[prompt]\ntemplate = "{{text}}"\nimage_field = "image"\n'
                    f'id_field = "question_id"\n')
    return spec, data


@pytest.mark.parametrize("split, text", [(None, "Is there a dog?"), ("first", "Is there a dog?"),
                                         ("second", "Is there a cat?")])
def test_split_chooses_the_question_file_and_the_run_sheet_says_which(tmp_path, split, text):
    spec, data = _two_splits(tmp_path)
    code, out = _query(tmp_path, spec, data, "img", *(["--split", split] if split else []))
    assert code == 0, out
    [line] = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert line["prompt"] == text
    asked = json.loads((tmp_path / "out.jsonl.runsheet.json").read_text())["benchmark"]
    assert asked["split"] == (split or "first")
    assert asked["questions"]["role"] == ("questions_second" if split == "second"
                                          else "questions")


def test_an_unknown_split_or_one_without_benchmark_is_refused(tmp_path):
    spec, data = _two_splits(tmp_path)
    code, out = _query(tmp_path, spec, data, "img", "--split", "third")
    assert code == 2
    assert "--split third: benchmark twosplit@2 has the splits first, second" in out
    assert not (tmp_path / "out.jsonl.prompts.jsonl").exists()
    res = CliRunner().invoke(app, ["query", str(tmp_path / "p.jsonl"), "-m", "mock/echo",
                                   "-o", str(tmp_path / "o.jsonl"), "--split", "x"])
    assert res.exit_code == 2 and "got no --benchmark" in res.output


def test_the_shipped_manifests_name_their_splits():
    from halluscope.benchmark_query import splits
    from halluscope.benchmark_specs import load_benchmark
    assert splits(load_benchmark("pope")) == ["random", "popular", "adversarial"]
    assert splits(load_benchmark("reefknot")) == ["yesno", "multichoice"]
    assert splits(load_benchmark("hallusionbench")) == []


def test_a_refused_resume_leaves_the_prompts_file_and_run_sheet_untouched(tmp_path):
    """A rerun on the same --out with other --images is refused (its answers are about other
    pictures), but the prompts file of the existing answers was rewritten first (and the run
    sheet by the refused run)."""
    spec, data = _tiny(tmp_path, ("img", "other"))
    assert _query(tmp_path, spec, data, "img")[0] == 0
    kept = {p.name: (p.read_bytes(), p.stat().st_mtime_ns)
            for p in tmp_path.glob("out.jsonl*") if not p.name.endswith(".lock")}
    code, out = _query(tmp_path, spec, data, "other")
    assert code == 2, out
    assert "was answered for another image" in " ".join(out.split())
    assert {p.name: (p.read_bytes(), p.stat().st_mtime_ns)
            for p in tmp_path.glob("out.jsonl*") if not p.name.endswith(".lock")} == kept
    # changed bytes under the same name, and a changed question row, are refused alike
    from PIL import Image
    [png, *_] = sorted((tmp_path / "img").rglob("*.png"))
    Image.new("RGB", (8, 8), (255, 0, 0)).save(png)
    code, out = _query(tmp_path, spec, data, "img")
    assert code == 2 and "other bytes" in " ".join(out.split()), out
    prompts, (before, _) = tmp_path / "out.jsonl.prompts.jsonl", kept["out.jsonl.prompts.jsonl"]
    assert prompts.read_bytes() == before
    code, out = _query(tmp_path, spec, data, "other", "--restart")   # asked for: rewritten
    assert code == 0, out
    assert prompts.read_bytes() != before


def test_a_resume_that_only_adds_questions_goes_on(tmp_path):
    """Answers kept, new rows asked: the check refuses only what the query would."""
    spec, data = _tiny(tmp_path)
    assert _query(tmp_path, spec, data, "img")[0] == 0
    lines = (tmp_path / "out.jsonl").read_text().splitlines()
    (tmp_path / "out.jsonl").write_text("\n".join(lines[:2]) + "\n")   # two left to ask
    code, out = _query(tmp_path, spec, data, "img")
    assert code == 0, out
    assert len((tmp_path / "out.jsonl").read_text().splitlines()) == 4


def test_repeated_data_is_searched_in_order_by_query_and_benchmarks(tmp_path):
    """`query --data a --data b` searched b alone (the last one given): a question file in a
    was reported missing. Both commands search every --data, in order."""
    spec, data = _tiny(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    code, out = _query(tmp_path, spec, data, "img", "--data", empty)   # data first, then empty
    assert code == 0, out
    asked = json.loads((tmp_path / "out.jsonl.runsheet.json").read_text())["benchmark"]
    assert asked["questions"]["path"] == str((data / "tiny.json").resolve())
    res = CliRunner().invoke(app, ["benchmarks", "--json", "--data", str(empty), "--data",
                                   str(data)])
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(app, ["benchmarks", "--json", "--data", str(tmp_path / "typo"),
                                   "--data", str(data)])
    assert res.exit_code == 2 and "--data " + str(tmp_path / "typo") in res.output


def test_benchmarks_finds_files_in_either_of_two_data_folders(tmp_path):
    import shutil
    from conftest import shared_data_dir
    shared = shared_data_dir("hallusionbench/HallusionBench.json",
                             "mmhal/mmhal-bench_answer_template.json")
    if shared is None:
        pytest.skip("shared reference data not here")
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    shutil.copy(shared / "hallusionbench" / "HallusionBench.json", a)
    shutil.copy(shared / "mmhal" / "mmhal-bench_answer_template.json", b)
    res = CliRunner().invoke(app, ["benchmarks", "--json", "--data", str(a), "--data", str(b)],
                             env={"HALLUSCOPE_DATA": ""})
    status = {x["name"]: x["status"] for x in json.loads(res.output)}
    assert status["hallusionbench"] == "found" and status["mmhal"] == "found"


def _mmhal_lines(n: int, pin: str | None = "mmhal@1") -> list[dict]:
    """Lines as `query --benchmark mmhal` writes them (the template row's fields kept)."""
    return [{"question_type": "attribute", "question_topic": "x", "image_id": f"img{i}",
             "image_src": f"https://example.org/{i}.jpg", "image_content": ["Fire hydrant"],
             "question": f"What colour is hydrant {i}?", "gt_answer": "Red.",
             "id": f"img{i}", "prompt": f"What colour is hydrant {i}?", "response": "Red.",
             "model": "m", **({"benchmark": pin} if pin else {})} for i in range(n)]


def _mmhal_audit(tmp_path: Path, server, answers: Path, out: str, *args) -> tuple[int, str]:
    res = CliRunner().invoke(app, [str(a) for a in (
        "audit", answers, "--metric", "mmhal", "--judge", "mmhal-gpt-4-0314", "--option",
        f"judge_base_url={server.url}", "--cache-dir", tmp_path / "c", "--bootstrap", "0",
        "--no-report", "--quiet", "--out", tmp_path / out, *args)])
    return res.exit_code, res.output


def test_mmhal_reports_unanswered_and_a_gate_on_it_works(tmp_path, monkeypatch):
    """`unanswered` was only in info (and only when > 0): `--fail-above mmhal.unanswered=0`
    was refused as naming no statistic. It is a statistic, 0 included."""
    import halluscope.metrics.mmhal as mmhal
    from fake_openai_server import FakeServer
    monkeypatch.setattr(mmhal, "TEMPLATE_SIZE", 3)
    gate = ("--fail-above", "mmhal.unanswered=0")
    whole = _write(tmp_path / "whole.jsonl", _mmhal_lines(3))
    part = _write(tmp_path / "part.jsonl", _mmhal_lines(2))
    bare = _write(tmp_path / "bare.jsonl", _mmhal_lines(2, pin=None))
    with FakeServer(responder=lambda prompt, body: "Fine.\nRating: 5") as server:
        code, out = _mmhal_audit(tmp_path, server, whole, "w", *gate)
        assert code == 0, out
        res = json.loads((tmp_path / "w/results.json").read_text())["metrics"]["mmhal"]
        assert (res["unanswered"]["value"], res["unanswered"]["n"]) == (0, 3)
        code, out = _mmhal_audit(tmp_path, server, part, "p", *gate)
        assert code == 1 and "mmhal.unanswered: value 1 is above the threshold 0" in out, out
        # a file of template rows that is not the benchmark's (refined: its own question
        # set): the count is not known, and the gate does not pass on it
        code, out = _mmhal_audit(tmp_path, server, bare, "b", *gate)
        assert code == 1, out
        res = json.loads((tmp_path / "b/results.json").read_text())["metrics"]["mmhal"]
        assert res["unanswered"]["value"] is None
        assert "mmhal_template" in res["unanswered"]["why_no_value"]
        asked = len(server.requests)
        code, out = _mmhal_audit(tmp_path, server, whole, "x", "--fail-above",
                                 "mmhal.unanswerd=0")
        assert code == 2 and "has no statistic" in out, out
        assert len(server.requests) == asked
    # compare still works, and says why it does not pair the count
    res = CliRunner().invoke(app, ["compare", str(tmp_path / "w"), str(tmp_path / "p"),
                                   "--bootstrap", "0", "--out", str(tmp_path / "cmp")])
    assert res.exit_code == 0, res.output
    cmp = json.loads((tmp_path / "cmp" / "compare.json").read_text())
    assert "mmhal.average_score" in json.dumps(cmp["metrics"])
    assert "no paired difference" in json.dumps(cmp)


def test_objhal_reports_unanswered_against_its_question_file():
    from halluscope.metrics.objhal import ObjhalMetric, ObjhalVocabulary
    from halluscope.records import Record, Source
    vocab = ObjhalVocabulary.from_lines(["dog, puppy", "cat, kitten"], "test")

    def extract(question, answer):
        return [w.strip(".").lower() for w in answer.split() if w.strip(".") in ("dog", "cat")], []

    def run(lines, **kw):
        m = ObjhalMetric({7: ["dog"], 8: ["cat"], 9: ["dog"]}, extractor=extract,
                         vocabulary=vocab, n_boot=0, **kw)
        for i, text in enumerate(lines, 1):
            rec = Record(id=str(i), task="vqa", prompt="Describe.", response=text,
                         source=Source("o.jsonl", i))
            m.update(rec)
        m.finish()
        return m.compute().results["unanswered"]

    whole = run(["A dog.", "A cat.", "A dog."], question_image_ids=[7, 8, 9])
    assert (whole.value, whole.n) == (0, 3)
    part = run(["A dog.", "A cat."], question_image_ids=[7, 8, 9])
    assert (part.value, part.n) == (1, 3)
    from halluscope.metrics.repeats import unanswered_result
    unknown = unanswered_result([], 0, 2, "no question file")
    assert unknown.value is None and unknown.why_no_value == "no question file"
    assert unanswered_result([], 3, 0, "x").value is None        # nothing scored


def test_a_query_refused_for_an_answered_line_leaves_its_run_sheet_as_it_was(tmp_path):
    """A plain `query` resumed with another image for an answered id was refused while it
    ran, and the run sheet it then wrote said "aborted": null, as a finished run's. The
    refusal now comes before anything is written: the earlier run's sheet, which describes
    the file's answers, stays as it was."""
    from PIL import Image
    for name in ("a.png", "b.png"):
        Image.new("RGB", (8, 8)).save(tmp_path / name)
    prompts = _write(tmp_path / "p.jsonl", [{"id": "1", "image": "a.png", "prompt": "Hi?"}])
    args = ["query", str(prompts), "-m", "mock/echo", "-o", str(tmp_path / "o.jsonl"), "-q",
            "--no-cache"]
    assert CliRunner().invoke(app, args).exit_code == 0
    before = (tmp_path / "o.jsonl.runsheet.json").read_bytes()
    _write(prompts, [{"id": "1", "image": "b.png", "prompt": "Hi?"}])
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 2, res.output
    assert "answered for another image" in res.output
    assert (tmp_path / "o.jsonl.runsheet.json").read_bytes() == before


def test_a_pope_benchmark_file_is_still_scored_by_pope(tmp_path):
    rows = [{"question_id": i, "image": "a.jpg", "text": "Is there a dog?", "label": label,
             "id": str(i), "prompt": "Is there a dog?", "response": answer, "model": "m",
             "benchmark": "pope@3"}
            for i, (label, answer) in enumerate([("yes", "Yes"), ("no", "No"), ("no", "Yes")])]
    code, out = _audit(tmp_path, _write(tmp_path / "p.jsonl", rows))
    assert code == 0, out
    pope = json.loads((tmp_path / "o" / "results.json").read_text())["metrics"]["pope"]
    assert pope["accuracy"]["value"] == pytest.approx(2 / 3)
