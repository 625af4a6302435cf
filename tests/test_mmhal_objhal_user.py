"""MMHal-Bench and Object HalBench used as a researcher would, end to end through the CLI with a
loopback judge: what a run over several worker processes records about the judge, and the
answer files the peers' tools write."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from halluscope.cli import app
from replay_judge_server import ReplayServer
from test_question_align import nlp  # noqa: F401 - the spaCy pipeline fixture, shared

ROOT = Path(__file__).resolve().parents[1]
OBJHAL_SPEC = ROOT / "judges" / "objhal-gpt-3.5-turbo-0613.toml"


class _EveryPrompt(dict):
    """Replies for a :class:`ReplayServer`: the same completion whatever the prompt."""

    def __init__(self, text: str):
        super().__init__()
        self.text = text

    def __contains__(self, key) -> bool:
        return True

    def __missing__(self, key) -> str:
        return self.text


def mmhal_bad_records(template: Path, answers: Path) -> list[tuple[int, str, str]]:
    """(line, field, message) of each answer line MMHal-Bench's update refuses, judged by a
    stand-in judge that rates every answer 4 (the rating is not what these tests look at)."""
    from halluscope.errors import RecordError
    from halluscope.judges.judge import JudgeAnswer
    from halluscope.judges.reliability import JudgeStats
    from halluscope.metrics.mmhal import MMHalMetric, load_template
    from halluscope.records import iter_records

    class Judge:
        stats = JudgeStats()

        def ask_sync(self, use, **values):
            return JudgeAnswer(4, "Rating: 4", True)

        def describe(self):
            return {"name": "four"}

    metric = MMHalMetric(judge=Judge(), template=load_template(template), n_boot=0)
    metric.begin([answers])
    bad = []
    for rec in iter_records(answers):
        try:
            metric.update(rec)
        except RecordError as exc:
            bad.append((rec.source.line, exc.location.field, exc.message))
    return bad


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def no_keys(monkeypatch):
    for var in ("OPENAI_API_KEY", "HALLUSCOPE_OFFLINE"):
        monkeypatch.delenv(var, raising=False)


def _objhal_files(tmp: Path, n: int = 12) -> tuple[Path, Path, Path]:
    """Answers as RLAIF-V's muffin_vqa.py writes them, their question file and ground truth."""
    questions = _jsonl(tmp / "q.jsonl", [{"image_id": 100 + i, "question": "Describe the image."}
                                         for i in range(n)])
    answers = _jsonl(tmp / "answers.jsonl", [
        {"question_id": i, "image_id": 100 + i, "prompt": "Describe the image.",
         "text": f"A dog and a cat sit on a sofa in room {i}.", "model_id": "llava-v1.5-7b"}
        for i in range(n)])
    gt = tmp / "gt.json"
    gt.write_text(json.dumps({str(100 + i): ["dog"] if i % 2 else ["cat"] for i in range(n)}))
    return answers, questions, gt


def test_objhal_judge_counted_and_pin_checked_over_workers(tmp_path, nlp):
    """With --workers 2 the extraction judge ran in the workers, and the run sheet said 0
    calls, no reported model and 'pin unverified', though another model than the pinned one
    had answered every call (one process said 'pin MISMATCH'): Object HalBench's judge sits in
    its extractor, where the workers' judge counters were never taken from."""
    answers, questions, gt = _objhal_files(tmp_path)
    sheets = {}
    with ReplayServer(_EveryPrompt('["dog", "cat", "sofa"]'), model="impostor") as server:
        for name, workers in (("one", "1"), ("two", "2")):
            res = CliRunner().invoke(app, [
                "audit", str(answers), "--metric", "objhal", "--gt-objects", str(gt),
                "--questions", str(questions), "--judge", str(OBJHAL_SPEC),
                "--option", f"judge_base_url={server.url}", "--option",
                "objhal_variant=original", "--cache-dir", str(tmp_path / f"cache-{name}"),
                "--bootstrap", "0", "--workers", workers, "--out", str(tmp_path / name),
                "--quiet"])
            assert res.exit_code == 0, res.output
            sheets[name] = json.loads((tmp_path / name / "runsheet.json").read_text())
    one, two = (sheets[k]["metrics"]["objhal"] for k in ("one", "two"))
    assert one["judge"]["reported_models"] == {"impostor": 12}
    assert two["judge"]["reported_models"] == one["judge"]["reported_models"]
    assert two["judge"]["pin_mismatch"] is one["judge"]["pin_mismatch"] is True
    drop = (lambda d: {k: v for k, v in d.items() if k != "cached"})
    assert drop(two["judge_reliability"]) == drop(one["judge_reliability"])
    assert two["judge_reliability"]["calls"] == 12
    assert (tmp_path / "one/items.jsonl").read_bytes() == \
        (tmp_path / "two/items.jsonl").read_bytes()


def _mmhal_files(tmp: Path) -> tuple[Path, Path]:
    """A three-row MMHal-Bench template and answers as RLAIF-V's muffin_vqa.py writes them
    (``question_id``, ``image_id``, ``prompt``, ``text``, ``model_id``)."""
    rows = [{"question_type": t, "question_topic": "outdoor", "image_id": f"df62a56fdc1bb1{i:02x}",
             "image_src": f"https://example.org/{i}.jpg", "image_content": ["Dog", "Cat"],
             "question": f"What is in picture {i}?", "gt_answer": "A dog and a cat.",
             "model_answer": ""} for i, t in enumerate(("attribute", "adversarial", "comparison"))]
    template = tmp / "template.json"
    template.write_text(json.dumps(rows, indent=4), encoding="utf-8")
    answers = _jsonl(tmp / "mmhal_answers.jsonl", [
        {"question_id": i, "image_id": r["image_id"], "prompt": r["question"],
         "text": "A dog and a cat.", "model_id": "llava-v1.5-7b"} for i, r in enumerate(rows)])
    return answers, template


def test_run_sheet_names_the_benchmark_files_each_metric_read(tmp_path, nlp):
    """The MMHal-Bench template (every question, standard answer and image content the judge
    is shown) was read but not in the run sheet's files, so no sha256 said which template the
    numbers came from; and Object HalBench's --gt-objects / --questions were listed as 'chair
    ground truth' and 'pope questions'."""
    answers, template = _mmhal_files(tmp_path)
    with ReplayServer(_EveryPrompt("Fine.\nRating: 4"), model="gpt-4-0314") as server:
        res = CliRunner().invoke(app, [
            "audit", str(answers), "--metric", "mmhal", "--judge", "mmhal-gpt-4-0314",
            "--option", f"mmhal_template={template}", "--option",
            f"judge_base_url={server.url}", "--cache-dir", str(tmp_path / "cache"),
            "--bootstrap", "0", "--out", str(tmp_path / "mmhal"), "--quiet"])
    assert res.exit_code == 0, res.output
    files = json.loads((tmp_path / "mmhal/runsheet.json").read_text())["files"]
    from halluscope.hashing import sha256_file
    assert {"role": "mmhal_template", "path": str(template), "sha256": sha256_file(template),
            "bytes": template.stat().st_size} in files
    objhal_answers, questions, gt = _objhal_files(tmp_path, 2)
    res = CliRunner().invoke(app, [
        "audit", str(objhal_answers), "--metric", "objhal", "--gt-objects", str(gt),
        "--questions", str(questions), "--bootstrap", "0", "--out", str(tmp_path / "objhal"),
        "--quiet"])
    assert res.exit_code == 0, res.output
    roles = {f["path"]: f["role"] for f in
             json.loads((tmp_path / "objhal/runsheet.json").read_text())["files"]}
    assert roles[str(gt)] == "ground truth objects (--gt-objects)"
    assert roles[str(questions)] == "questions (--questions)"


def test_report_counts_mmhal_hallucinations(tmp_path):
    """MMHal-Bench marks an answer rated below 3 with ``hallucination: 1``; the HTML report
    looked only for ``hallucinated`` and said 'with hallucinations 0' beside a hallucination
    rate of 0.5, and its 'with hallucinations' filter showed none of them."""
    from halluscope.report.itemview import has_hallucination, item_view
    rated = {"index": 0, "question_type": "attribute", "judge_raw": "Rating: 1", "rating": 1,
             "hallucination": 1}
    fine = {**rated, "judge_raw": "Rating: 5", "rating": 5, "hallucination": 0}
    item = {"id": "0", "task": "vqa", "response": "A dog.", "mmhal": rated}
    assert has_hallucination(item) and not has_hallucination({**item, "mmhal": fine})
    view = item_view(item, 0, ["mmhal"])
    assert view["n_halluc"] == 1 and "f-halluc" in view["flags"]
    assert item_view({**item, "mmhal": fine}, 1, ["mmhal"])["n_halluc"] == 0


def _audit(tmp: Path, name: str, answers: Path, *args: str) -> Path:
    out = tmp / name
    res = CliRunner().invoke(app, ["audit", str(answers), *args, "--bootstrap", "0",
                                   "--out", str(out), "--quiet"])
    assert res.exit_code == 0, res.output
    return out


def test_compare_pairs_one_benchmark_question_across_answer_layouts(tmp_path, nlp):
    """Two models' MMHal-Bench answers, one in LLaVA-RLHF's template layout (rows without an
    id) and one as RLAIF-V's JSON lines (question_id 0..95): compare paired items by image and
    id ('<image>|<image>' against '<image>|0') and stopped with 'share no item'. Object
    HalBench answers with their image id against RLAIF-V's answers without one ('|0' against
    '100|0') likewise. Items are paired by the benchmark question their metric paired them
    with (the template row, the question file row)."""
    answers, template = _mmhal_files(tmp_path)
    rows = json.loads(template.read_text())
    as_template = tmp_path / "answers_template.json"
    as_template.write_text(json.dumps([{**r, "model_answer": "A dog."} for r in rows]))
    with ReplayServer(_EveryPrompt("Fine.\nRating: 4"), model="gpt-4-0314") as server:
        judge = ["--metric", "mmhal", "--judge", "mmhal-gpt-4-0314", "--option",
                 f"judge_base_url={server.url}", "--cache-dir", str(tmp_path / "cache")]
        a = _audit(tmp_path, "a", as_template, *judge)
        b = _audit(tmp_path, "b", answers, *judge, "--option", f"mmhal_template={template}")
    res = CliRunner().invoke(app, ["compare", str(a), str(b), "--bootstrap", "0",
                                   "-o", str(tmp_path / "cmp"), "--quiet"])
    assert res.exit_code == 0, res.output
    stat = json.loads((tmp_path / "cmp/compare.json").read_text())["metrics"]
    assert stat["mmhal.average_score"]["n_paired"] == 3, stat["mmhal.average_score"]

    with_ids, questions, gt = _objhal_files(tmp_path, 3)
    without = _jsonl(tmp_path / "no_ids.jsonl", [
        {"question_id": i, "prompt": "Describe the image.", "text": "A dog sits on a sofa."}
        for i in range(3)])
    objhal = ["--metric", "objhal", "--gt-objects", str(gt), "--questions", str(questions)]
    c = _audit(tmp_path, "c", with_ids, *objhal)
    d = _audit(tmp_path, "d", without, *objhal)
    res = CliRunner().invoke(app, ["compare", str(c), str(d), "--bootstrap", "0",
                                   "-o", str(tmp_path / "cmp2"), "--quiet"])
    assert res.exit_code == 0, res.output
    stat = json.loads((tmp_path / "cmp2/compare.json").read_text())["metrics"]
    assert stat["objhal.chairs"]["n_paired"] == 3, stat["objhal.chairs"]


def test_mmhal_line_naming_another_rows_image_is_a_bad_record(tmp_path):
    """RLAIF-V's muffin_vqa.py numbers question_id from 0 in every --num-chunks chunk, so two
    chunks' answers put together pair the second chunk with the first one's rows. Most are
    caught by their prompt, but MMHal-Bench asks 'Describe the image in detail.' of several
    images: such a line was judged against another image's contents and answer, though it
    names its own image. A line whose image is another template row's (its image_id, its
    image_src or that file's name) is a bad record naming the field."""
    _, template = _mmhal_files(tmp_path)
    rows = json.loads(template.read_text())
    for r in rows:
        r["question"] = "Describe the image in detail."
    template.write_text(json.dumps(rows))
    lines = [{"question_id": 0, "image_id": rows[0]["image_id"]},             # its own: fine
             {"question_id": 0, "image_id": rows[1]["image_id"]},             # row 1's image
             {"question_id": 1, "image": "/imgs/" + rows[2]["image_src"].rsplit("/", 1)[1]},
             {"question_id": 2, "image_id": rows[2]["image_src"]},            # its own URL
             {"question_id": 2, "image": "/imgs/other.jpg"}]                  # unknown: fine
    answers = _jsonl(tmp_path / "a.jsonl", [{**x, "prompt": "Describe the image in detail.",
                                             "text": "A dog."} for x in lines])
    bad = mmhal_bad_records(template, answers)
    assert [(line, field) for line, field, _ in bad] == [(2, "image_id"), (3, "image")]
    assert "the image of row 1" in bad[0][2] and "answers and questions are misaligned" in bad[0][2]


def test_compare_says_once_where_each_runs_unanswered_count_is(tmp_path):
    """compare's note on MMHal-Bench's and Object HalBench's unanswered count ended 'each
    run's count is in its results.json; each run's value is in its results.json'."""
    from types import SimpleNamespace
    from halluscope.comparison import _not_compared
    run = SimpleNamespace(path=tmp_path, summaries={"mmhal": {"unanswered": {"value": 0}}})
    why = _not_compared("mmhal", set(), run)["mmhal.unanswered"]
    assert why.count("results.json") == 2 and why.endswith("each run's value is in its "
                                                           "results.json"), why
