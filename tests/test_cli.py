"""The `halluscope` command on the embedded sample data, as a user runs it."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from halluscope.cli import EXIT_GATE, EXIT_USAGE, app

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
runner = CliRunner()


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("sample")
    res = runner.invoke(app, ["audit", str(DATA), "--out", str(out), "--bootstrap", "200"])
    return res, out


def test_sample_audit_prints_a_summary_and_writes_four_files(sample_run):
    res, out = sample_run
    assert res.exit_code == 0, res.output
    for name in ("results.json", "items.jsonl", "report.html", "runsheet.json"):
        assert (out / name).is_file(), name
    assert "chair_i" in res.output and "f1" in res.output
    results = json.loads((out / "results.json").read_text())
    chair, pope = results["metrics"]["chair"], results["metrics"]["pope"]
    for key in ("chair_s", "chair_i", "recall", "len", "n"):
        assert key in chair
    for key in ("tp", "fp", "tn", "fn", "accuracy", "precision", "recall", "f1", "yes_ratio",
                "unknown_rate", "n"):
        assert key in pope
    # 8 captions + the region answer about COCO image 1; the document and the non-COCO photo
    # are not CHAIR items
    assert chair["n"] == 9 and pope["n"] == 12
    assert results["metrics"]["region"]["fabricated_id_rate"]["value"] > 0
    assert results["metrics"]["page"]["citation_accuracy"]["value"] < 1
    assert 0 < results["metrics"]["claims"]["attribute_rate"]["value"] < 1
    assert 0 < chair["chair_i"]["value"] < 1
    # nine captions on few images: the interval is flagged rather than printed as [x, x]
    assert "ci" in chair["chair_i"] or "fewer than" in chair["chair_i"]["ci_note"]
    # the two deliberately broken lines are reported with file, line and field
    assert results["n_errors"] == 2
    assert [(e["line"], e["field"]) for e in results["errors"]] == [(24, None), (25, "response")]


def test_sample_items_follow_the_contract(sample_run):
    _, out = sample_run
    items = [json.loads(line) for line in (out / "items.jsonl").read_text().splitlines()]
    assert len(items) == 25
    by_id = {i["id"]: i for i in items}
    chelsea = by_id["cap-chelsea-a"]["chair"]
    assert ["dog", "dog"] in chelsea["hallucinated"] and "cat" in chelsea["gt"]
    assert all(len(pair) == 2 for pair in chelsea["mentioned"])
    assert by_id["pope-02"]["pope"] == {**by_id["pope-02"]["pope"], "prediction": "yes",
                                        "label": "no"}
    assert "error" in items[-1] and "error" in items[-2]
    kinds = {(c["kind"], c["verdict"]) for c in by_id["cap-coffee-a"]["claims"]}
    assert {("attribute", "supported"), ("relation", "supported"),
            ("existence", "hallucinated")} <= kinds
    hopper = by_id["det-hopper"]["claims"]
    laptop = next(c for c in hopper if c["subject"] == "laptop" and c["kind"] == "existence")
    assert laptop["verdict"] == "hallucinated"
    woman = next(c for c in hopper if c["subject"] == "woman" and c["kind"] == "existence")
    assert woman["verdict"] == "supported"
    assert any(e["source"] == "detector" and len(e["box"]) == 4 for e in woman["evidence"])
    assert any(c["kind"] == "region" and c["verdict"] == "hallucinated"
               for c in by_id["region-astronaut"]["claims"])
    assert any(c["kind"] == "page" and c["verdict"] == "hallucinated"
               for c in by_id["doc-report"]["claims"])


def test_runsheet_records_what_ran(sample_run):
    _, out = sample_run
    sheet = json.loads((out / "runsheet.json").read_text())
    assert sheet["config"]["chair_variant"] == "refined"
    assert {f["role"] for f in sheet["files"]} >= {"input", "coco annotations"}
    assert all(len(f["sha256"]) == 64 for f in sheet["files"])
    assert sheet["environment"]["libraries"]["numpy"]
    assert "chair" in sheet["metrics"] and "pope" in sheet["metrics"]


def test_gate_exit_code(tmp_path):
    res = runner.invoke(app, ["audit", str(DATA), "--out", str(tmp_path), "--bootstrap", "0",
                              "--quiet", "--fail-above", "chair.chair_i=0.01"])
    assert res.exit_code == EXIT_GATE
    assert "chair.chair_i" in res.output


def test_group_names_print_as_written_not_as_emoji(tmp_path):
    """A group such as ``model:smile`` printed as ``model😄`` in the summary and in the gate's
    message: rich read ``:smile:`` as an emoji code."""
    (tmp_path / "gt.json").write_text('{"1": ["dog"], "2": ["car"]}')
    (tmp_path / "caps.jsonl").write_text(
        '{"image_id": 1, "caption": "A dog and a cat.", "model": "smile"}\n'
        '{"image_id": 2, "caption": "A car.", "model": "smile"}\n')
    res = runner.invoke(app, ["audit", str(tmp_path / "caps.jsonl"), "--metric", "chair",
                              "--gt-objects", str(tmp_path / "gt.json"), "--out",
                              str(tmp_path / "out"), "--no-report", "--bootstrap", "0",
                              "--fail-above", "chair.chair_i@model:smile=0.1"])
    assert res.exit_code == EXIT_GATE
    assert "chair.chair_i@model:smile:" in res.output and "\U0001f604" not in res.output


def test_usage_errors_exit_2(tmp_path):
    res = runner.invoke(app, ["audit", str(tmp_path / "missing.jsonl"), "--quiet"])
    assert res.exit_code == EXIT_USAGE and "does not exist" in res.output
    res = runner.invoke(app, ["audit", str(DATA), "--quiet", "--fail-above", "oops"])
    assert res.exit_code == EXIT_USAGE
    res = runner.invoke(app, ["audit", str(DATA / "outputs.jsonl"), "--metric", "nope",
                              "--quiet", "--out", str(tmp_path)])
    assert res.exit_code == EXIT_USAGE and "unknown metric" in res.output
    # a Ray address without --engine ray was ignored: the audit ran here, exit 0
    res = runner.invoke(app, ["audit", str(DATA / "outputs.jsonl"), "--metric", "chair",
                              "--ray-address", "auto", "--quiet", "--out", str(tmp_path)])
    assert res.exit_code == EXIT_USAGE and "is for --engine ray" in res.output


def test_strict_stops_at_the_first_bad_line(tmp_path):
    res = runner.invoke(app, ["audit", str(DATA), "--strict", "--quiet", "--out", str(tmp_path)])
    assert res.exit_code == EXIT_USAGE and "outputs.jsonl:24" in res.output


def test_version_and_metrics_listing():
    assert runner.invoke(app, ["--version"]).output.startswith("halluscope ")
    res = runner.invoke(app, ["metrics"])
    assert res.exit_code == 0 and "chair" in res.output and "strict" in res.output
    # each POPE parser names how unknown answers are scored
    assert "[unknown answers: lmms-eval]" in res.output
    assert "[unknown answers: halluscope]" in res.output and "share of yes" in res.output


def test_a_reader_that_closes_the_pipe_is_not_a_crossed_gate(tmp_path):
    """`halluscope audit ... | head -1` exited 1, the code of a crossed gate (rich and click
    answer a broken pipe with exit 1); it is 141, as for a process ended by SIGPIPE."""
    import subprocess
    import sys
    cmd = [sys.executable, "-m", "halluscope", "audit", str(DATA), "--metric", "chair",
           "--out", str(tmp_path / "o"), "--no-report"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()                          # the reader went away before the first line
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141, err
    assert subprocess.run(cmd, capture_output=True, timeout=120).returncode == 0


def test_a_missing_benchmarks_data_folder_is_a_usage_error(tmp_path):
    """--data /nonexistent listed every benchmark as 'missing', exit 0."""
    res = runner.invoke(app, ["benchmarks", "--data", str(tmp_path / "nowhere")])
    assert res.exit_code == EXIT_USAGE and "no such file or folder" in " ".join(res.output.split())


def test_help_shows_the_extra_in_brackets():
    """rich markup ate '[ray]' in `pip install 'halluscope[ray]'`."""
    res = runner.invoke(app, ["audit", "--help"], env={"COLUMNS": "250"})
    assert "halluscope[ray]" in res.output


def test_no_help_text_of_any_command_loses_a_bracket():
    """`--segmenter`'s help showed `sam:<checkpoint>`: rich read `[vit_b|vit_l|vit_h:]` as a
    markup tag and dropped it. Every option's and command's help must render as written."""
    import typer
    from rich.text import Text

    def walk(cmd):
        yield cmd
        for sub in getattr(cmd, "commands", {}).values():  # typer's click may be its own copy
            yield from walk(sub)

    lost, seen = [], 0
    for cmd in walk(typer.main.get_command(app)):
        texts = [cmd.help or ""] + [getattr(p, "help", None) or "" for p in cmd.params]
        for text in texts:
            if Text.from_markup(text).plain != text.replace("\\[", "["):
                lost.append((cmd.name, text))
            seen += 1
    assert seen > 100 and not lost


def test_records_a_named_metric_cannot_score_are_bad_records_not_skipped(tmp_path):
    """A CHAIR caption of a non-COCO image, a POPE answer without question_id: with the metric
    asked for, a bad record naming file:line and field (they were passed by in silence, and
    --strict passed); on a mixed file, records another metric scores stay as they were."""
    import halluscope
    from halluscope.errors import RecordError
    gt = tmp_path / "gt.json"
    gt.write_text('{"1": ["dog"]}')
    caps = tmp_path / "chair.jsonl"
    caps.write_text('{"image_id": 1, "caption": "A dog."}\n'
                    '{"image_id": "abc", "caption": "A cat."}\n'
                    '{"image": "dog.jpg", "caption": "A cat."}\n')
    res = halluscope.audit(caps, metrics="chair", gt_objects=gt, n_boot=0, out=tmp_path / "c")
    assert [(e["line"], e["field"], e["metric"]) for e in res.errors] == \
        [(2, "image", "chair"), (3, "image", "chair")]
    assert res.n_skipped == 0 and "got an image without one" in res.errors[1]["message"]
    with pytest.raises(RecordError):
        halluscope.audit(caps, metrics="chair", gt_objects=gt, n_boot=0, strict=True,
                         out=tmp_path / "s")
    inferred = halluscope.audit(caps, gt_objects=gt, n_boot=0, out=tmp_path / "i")
    assert inferred.n_skipped == 2 and not inferred.errors        # not asked for: passed by
    q = tmp_path / "q.jsonl"
    q.write_text('{"question_id": 1, "image": "a.jpg", "text": "Is there a dog?", "label": "yes"}\n'
                 '{"question_id": 2, "image": "a.jpg", "text": "Is there a cat?", "label": "no"}\n')
    from halluscope.columns import read_record_columns
    for rows, bad in ((['{"question_id": 1, "answer": "Yes"}', '{"answer": "Yes"}'], [2]),
                      (['{"answer": "Yes"}', '{"answer": "No"}'], [1, 2])):
        a = tmp_path / "a.jsonl"
        a.write_text("\n".join(rows) + "\n")
        assert (read_record_columns(a) is None) == (bad == [2])   # line by line, as columns
        res = halluscope.audit(a, metrics="pope", questions=q, n_boot=0, out=tmp_path / "p")
        assert [(e["line"], e["field"]) for e in res.errors] == \
            [(n, "question_id") for n in bad]
        assert res.n_skipped == 0


def test_the_command_freezes_what_is_alive_at_exit_after_its_outputs(tmp_path):
    """The interpreter's exit-time collections skip what is alive when the command ends (they
    rescanned all of NLTK, numpy and pydantic); the outputs are whole and exit handlers that
    were registered before the command still run after it, the collector frozen by then."""
    import os
    import subprocess
    import sys
    out = tmp_path / "out"
    code = ("import atexit, gc, sys\n"
            "atexit.register(lambda: print('frozen at exit:', gc.get_freeze_count() > 0))\n"
            "from halluscope.cli import main\n"
            f"sys.argv = ['halluscope', 'audit', {str(DATA)!r}, '-o', {str(out)!r}, '--quiet']\n"
            "main()\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get(
        "PYTHONPATH", "")])}
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         cwd=tmp_path, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().splitlines()[-1] == "frozen at exit: True"
    assert json.loads((out / "results.json").read_text())["metrics"]
    assert (out / "report.html").read_text().rstrip().endswith("</html>")


def test_no_help_text_loses_a_bracket_to_rich_markup():
    """rich took '[@GROUP][@BOUND]' (audit --fail-above), '[@upper|@lower]' (compare's gates)
    and '[vit_b|vit_l|vit_h:]' (--segmenter) for style tags and dropped them: --help showed
    'Gate METRIC.STAT=VALUE' for a syntax that has groups and bounds. Every option's and
    command's help must show as written (a literal '[' escaped as '\\[')."""
    import typer.main
    from rich.text import Text
    group = typer.main.get_command(app)
    seen = []

    def walk(cmd, path):
        texts = [("", cmd.help or "")] + [(p.name, getattr(p, "help", None) or "")
                                          for p in cmd.params]
        for name, text in texts:
            seen.append(path)
            shown = Text.from_markup(text).plain
            assert shown == text.replace("\\[", "["), (path, name, text, shown)
        for sub in getattr(cmd, "commands", {}).values():
            walk(sub, f"{path} {sub.name}")

    walk(group, "halluscope")
    assert "halluscope audit" in seen and "halluscope compare" in seen
    res = runner.invoke(app, ["audit", "--help"], env={"COLUMNS": "250"})
    assert "METRIC.STAT[@GROUP][@BOUND]=VALUE" in res.output
