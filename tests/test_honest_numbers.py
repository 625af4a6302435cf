"""Numbers never come from nothing: failed requests and questions are never scored, a metric
that scored nothing says why and the audit exits 2, gates cannot pass by accident, and every
command's exit code says what happened (0 fine, 1 gate crossed, 2 usage/input, 3 internal)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import halluscope
from halluscope import cli
from halluscope.errors import ConfigError, InputError, UnknownNameError


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _pope_questions(n: int = 6) -> list[dict]:
    objs = ["dog", "cat", "car", "bus", "cup", "tie"]
    return [{"question_id": i, "image": f"COCO_val2014_{i:012d}.jpg",
             "text": f"Is there a {objs[i % 6]} in the image?",
             "label": "yes" if i % 2 else "no"} for i in range(1, n + 1)]


def run_cli(*args: str, monkeypatch=None) -> tuple[int, str]:
    """Run the console script in-process; return (exit code, stderr+stdout text)."""
    proc = subprocess.run([sys.executable, "-m", "halluscope", *args], capture_output=True,
                          text=True, timeout=120)
    return proc.returncode, " ".join((proc.stdout + proc.stderr).split())


# -- never score what is not a model answer -----------------------------------------------------
def test_failed_query_lines_are_bad_records_never_scored(tmp_path):
    # what `halluscope query` writes when the server refused every request
    rows = [{**q, "prompt": q["text"], "model": "qwen-tiny",
             "error": "BadRequest: HTTP 400: {\"detail\": \"Server is pinned to x\"}"}
            for q in _pope_questions()]
    out = tmp_path / "out"
    code, text = run_cli("audit", str(_jsonl(tmp_path / "answers.jsonl", rows)),
                         "--metric", "pope", "--out", str(out), "--no-report")
    assert code == 2, text
    results = json.loads((out / "results.json").read_text())
    assert results["n_errors"] == 6
    assert {e["field"] for e in results["errors"]} == {"error"}
    assert all("the model gave no answer" in e["message"] for e in results["errors"])
    assert results["metrics"]["pope"]["tp"]["value"] is None     # a count of nothing: no 0
    assert results["metrics"]["pope"]["f1"]["value"] is None
    assert results["unscored"]["pope"][0] == "0 of 6 records scored"
    assert "pope scored nothing" in text and "6 records: bad record: field 'error'" in text
    # collapsed in the console: one line with the count, not six
    assert text.count("the model gave no answer") == 2   # problems table + reason line


def test_question_file_audited_as_answers_is_an_input_error(tmp_path):
    questions = _jsonl(tmp_path / "coco_pope_random.json", _pope_questions())
    code, text = run_cli("audit", str(questions), "--metric", "pope",
                         "--out", str(tmp_path / "o"), "--no-report")
    assert code == 2
    assert "got a POPE question" in text and "--questions" in text
    assert "pope scored nothing" in text


def test_metric_that_scored_nothing_is_counted_per_cause(tmp_path):
    rows = [{"id": str(i), "image": f"photo{i}.jpg", "response": "A dog on a sofa."}
            for i in range(5)]
    gt = tmp_path / "gt.json"
    gt.write_text(json.dumps({"1": ["dog"]}))
    result = halluscope.audit(_jsonl(tmp_path / "caps.jsonl", rows), metrics="chair",
                              gt_objects=gt, n_boot=0)
    # CHAIR was asked for: captions of images without a COCO id are its bad records, one cause
    assert result.unscored == {"chair": [
        "0 of 5 records scored",
        "5 records: field 'image': expected a COCO image id ('image_id' such as 139, or a COCO "
        "file name such as '000000000139.jpg' in 'image'), got an image without one: CHAIR "
        "scores captions of COCO images only"]}
    assert result.to_dict()["unscored"] == result.unscored
    assert [e["line"] for e in result.errors] == [1, 2, 3, 4, 5]


def test_records_with_answers_are_still_scored(tmp_path):
    rows = [{**q, "answer": "Yes" if q["label"] == "yes" else "No"} for q in _pope_questions()]
    result = halluscope.audit(_jsonl(tmp_path / "a.jsonl", rows), metrics="pope", n_boot=0)
    assert result.unscored == {}
    assert result.get("pope.accuracy").value == 1.0


@pytest.mark.parametrize("name", ["a.jsonl", "a.jsonl.gz"])     # as columns, line by line
def test_empty_answers_scored_by_a_rule_are_counted_and_said(tmp_path, name, caplog):
    import gzip
    answers = ["Yes", "", "No", "  \n", "No", "Yes"]
    rows = [{**q, "answer": a} for q, a in zip(_pope_questions(), answers)]
    path = _jsonl(tmp_path / "a.jsonl", rows)
    if name.endswith(".gz"):
        path = tmp_path / name
        path.write_bytes(gzip.compress((tmp_path / "a.jsonl").read_bytes()))
    with caplog.at_level("WARNING"):
        result = halluscope.audit(path, metrics="pope", n_boot=0, out=tmp_path / name[:-6])
    assert result.runsheet["counts"]["empty_answers_scored"] == {"pope": 2}
    assert result.get("pope.accuracy").n == 6       # the original rule reads them as yes
    said = [r.getMessage() for r in caplog.records if "empty model answer" in r.getMessage()]
    assert said == ["pope: 2 of 6 scored records have an empty model answer (nothing or only "
                    "whitespace), scored by pope's rule for one: read by the --pope-parser "
                    "rule: original, llava and opera read it as yes, as their scorers do; "
                    "vlmevalkit (either release), lmms-eval, exact and strict as unknown; "
                    "mark failed generations with an 'error' field instead"]
    clean = halluscope.audit(_jsonl(tmp_path / "c.jsonl", rows[:1]), metrics="pope", n_boot=0)
    assert "empty_answers_scored" not in clean.runsheet["counts"]


# -- gates ---------------------------------------------------------------------------------------
@pytest.fixture
def pope_run(tmp_path):
    """Six answers, all 'no', all labels 'no': precision and F1 are undefined (no 'yes')."""
    rows = [{**q, "label": "no", "answer": "No"} for q in _pope_questions()]
    return _jsonl(tmp_path / "no.jsonl", rows), tmp_path


def test_gate_on_a_metric_without_value_fails(pope_run):
    path, tmp = pope_run
    result = halluscope.audit(path, metrics="pope", n_boot=0)
    assert result.get("pope.f1").value is None  # undefined: no number (was NaN)
    failures = result.gate_failures(below={"pope.f1": 0.8})
    assert len(failures) == 1 and "has no value" in failures[0]
    code, text = run_cli("audit", str(path), "--metric", "pope", "--out", str(tmp / "o"),
                         "--no-report", "--fail-below", "pope.f1=0.8")
    assert code == 1 and "gate failed" in text and "has no value" in text


def test_threshold_outside_a_rates_range_is_a_usage_error(pope_run):
    path, tmp = pope_run
    result = halluscope.audit(path, metrics="pope", n_boot=0)
    with pytest.raises(ConfigError, match=r"rates are fractions: did you mean 0\.12\?"):
        result.gate_failures(above={"pope.yes_ratio": 12})
    code, text = run_cli("audit", str(path), "--metric", "pope", "--out", str(tmp / "o"),
                         "--no-report", "--fail-above", "pope.yes_ratio=12")
    assert code == 2 and "did you mean 0.12" in text
    with pytest.raises(ConfigError, match="outside its range"):
        result.assert_below("pope.accuracy", 1.5)


@pytest.mark.parametrize("gate", ["pope.tp=nan", "pope.f1=inf"])
def test_a_threshold_that_is_no_finite_number_is_a_usage_error(pope_run, gate):
    """NaN on a count (no range to check it against) was an internal error (exit 3)."""
    path, tmp = pope_run
    code, text = run_cli("audit", str(path), "--metric", "pope", "--out", str(tmp / "o"),
                         "--no-report", "--fail-above", gate)
    assert code == 2 and "expected a finite number as the threshold" in text


def test_unknown_gate_name_suggests_the_nearest(pope_run):
    path, tmp = pope_run
    result = halluscope.audit(path, metrics="pope", n_boot=0)
    with pytest.raises(UnknownNameError, match=r"did you mean 'accuracy'"):
        result.gate_failures(below={"pope.acuracy": 0.5})
    with pytest.raises(KeyError):                       # still a KeyError for look-ups
        result.get("pope.acuracy")
    code, text = run_cli("audit", str(path), "--metric", "pope", "--out", str(tmp / "o"),
                         "--no-report", "--fail-below", "pop.accuracy=0.5")
    assert code == 2 and "did you mean 'pope" in text


def test_gates_take_a_bound(tmp_path):
    rows = [{**q, "answer": "Yes" if (q["label"] == "yes") != (q["question_id"] == 1) else "No"}
            for q in _pope_questions(60)]
    path = _jsonl(tmp_path / "a.jsonl", rows)
    result = halluscope.audit(path, metrics="pope", n_boot=200)
    acc = result.get("pope.accuracy")
    lo, hi = acc.ci
    assert lo < acc.value <= hi
    mid = (lo + acc.value) / 2                         # between the lower bound and the value
    assert result.gate_failures(below={"pope.accuracy": mid}) == []
    fails = result.gate_failures(below={"pope.accuracy@lower": mid})
    assert len(fails) == 1 and "lower bound" in fails[0]
    code, _ = run_cli("audit", str(path), "--metric", "pope", "--out", str(tmp_path / "o"),
                      "--no-report", "--bootstrap", "200", "--fail-below",
                      f"pope.accuracy@lower={mid}")
    assert code == 1
    code, text = run_cli("audit", str(path), "--metric", "pope", "--out", str(tmp_path / "o"),
                         "--no-report", "--fail-below", "pope.accuracy@lowr=0.5")
    assert code == 2 and "did you mean @lower" in text


def test_audit_option_typo_suggests_the_option(tmp_path):
    with pytest.raises(UnknownNameError, match=r"'chair_varaint'; did you mean 'chair_variant'"):
        halluscope.audit(records=[{"id": "1", "response": "x"}], metrics="chair",
                         chair_varaint="original")


# -- exit codes -----------------------------------------------------------------------------------
def _crash_audit(monkeypatch, capsys, message: str, kind: type = RuntimeError
                 ) -> tuple[str, Path]:
    """Run ``halluscope audit`` with the pipeline raising ``kind(message)``; assert exit 3;
    return stderr and the traceback log it names."""
    def boom(*a, **k):
        raise kind(message)
    monkeypatch.setattr("halluscope.api.audit", boom)
    monkeypatch.setattr(sys, "argv", ["halluscope", "audit", "x.jsonl"])
    monkeypatch.setattr(cli, "_debug", False)
    monkeypatch.delenv(cli.ENV_DEBUG, raising=False)
    with pytest.raises(SystemExit) as exc:
        cli.main()
    assert exc.value.code == 3
    err = capsys.readouterr().err
    return err, Path(err.split("traceback in ")[1].split(";")[0])


def test_internal_error_exits_3_with_one_line_and_a_log(tmp_path, monkeypatch, capsys):
    err, log = _crash_audit(monkeypatch, capsys, "kaboom")
    assert "internal error: RuntimeError: kaboom" in err and "Traceback" not in err
    assert "RuntimeError: kaboom" in log.read_text() and "Traceback" in log.read_text()
    log.unlink()
    monkeypatch.setenv(cli.ENV_DEBUG, "1")
    with pytest.raises(SystemExit) as exc:
        cli.main()
    assert exc.value.code == 3 and "Traceback" in capsys.readouterr().err


def test_an_eof_error_inside_a_command_is_a_crash_not_an_interruption(monkeypatch, capsys):
    # click turns every EOFError into "Aborted" (end of input at a prompt): exit 3 here
    err, log = _crash_audit(monkeypatch, capsys, "a stream ended early", EOFError)
    assert "internal error: EOFError: a stream ended early" in err
    assert "interrupted" not in err
    log.unlink()


def test_ctrl_c_inside_a_command_says_interrupted_and_exits_130(monkeypatch, capsys):
    """typer turns a KeyboardInterrupt inside a command into a silent Exit(130): the run
    ended without a word."""
    def interrupted(*a, **k):
        raise KeyboardInterrupt
    monkeypatch.setattr("halluscope.api.audit", interrupted)
    monkeypatch.setattr(sys, "argv", ["halluscope", "audit", "x.jsonl"])
    with pytest.raises(SystemExit) as exc:
        cli.main()
    assert exc.value.code == 130
    assert "halluscope: interrupted" in capsys.readouterr().err


def test_ctrl_c_stops_workers_without_their_tracebacks(tmp_path):
    """Ctrl-C reaches every process of the terminal's group; each forked worker printed its
    own KeyboardInterrupt traceback. Now the parent alone stops the pool."""
    import os
    import signal
    import subprocess
    import time
    captions = tmp_path / "captions.jsonl"
    captions.write_text("".join(json.dumps({"image_id": i % 50, "caption": "A dog on a sofa "
                                            "with a cat and a cup."}) + "\n"
                                for i in range(300_000)))
    gt = tmp_path / "gt.json"
    gt.write_text(json.dumps({str(i): ["dog"] for i in range(50)}))
    proc = subprocess.Popen(
        [sys.executable, "-m", "halluscope", "audit", str(captions), "--metric", "chair",
         "--gt-objects", str(gt), "--workers", "2", "--no-report", "--out", str(tmp_path / "o")],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    while not (tmp_path / "o" / "items.journal.part").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(2)
    os.killpg(proc.pid, signal.SIGINT)           # what a terminal's Ctrl-C does
    out, _ = proc.communicate(timeout=120)
    text = out.decode()
    assert proc.returncode == 130, text[-2000:]
    assert "halluscope: interrupted" in text and "Traceback" not in text


@pytest.mark.parametrize("which", ["answers", "questions"])
def test_a_truncated_gzip_input_is_an_input_error_naming_the_file(tmp_path, which):
    import gzip
    rows = [{**q, "answer": "Yes"} for q in _pope_questions()] * 300
    answers = _jsonl(tmp_path / "a.jsonl", rows)
    questions = _jsonl(tmp_path / "q.jsonl", _pope_questions())
    src = answers if which == "answers" else questions
    cut = tmp_path / (src.name + ".gz")
    packed = gzip.compress(src.read_bytes())
    cut.write_bytes(packed[:len(packed) // 2])
    args = (["audit", str(cut), "--questions", str(questions)] if which == "answers" else
            ["audit", str(answers), "--questions", str(cut)])
    code, out = run_cli(*args, "--metric", "pope", "--out", str(tmp_path / "o"), "--no-report")
    assert code == 2, out
    assert f"{cut.name}: expected a complete gzip file, but its compressed stream ends " \
           "early" in out and "interrupted" not in out


def test_crash_line_and_log_hold_no_secret(monkeypatch, capsys):
    secret = "sk-live-0123456789abcdefABCDEF"
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    err, log = _crash_audit(monkeypatch, capsys,
                            f"request to https://u:pw@api.example/v1?api_key={secret} failed "
                            f"with Authorization: Bearer {secret}")
    text = log.read_text()
    log.unlink()
    assert secret not in err and secret not in text and ":pw@" not in err + text
    assert "<redacted>" in err and "RuntimeError" in text


@pytest.mark.parametrize("args", [["audit"], ["nosuch"], ["audit", "/no/such/file.jsonl"],
                                  ["audit", "x", "--bootstrap", "many"]])
def test_usage_errors_exit_2(args):
    code, _ = run_cli(*args)
    assert code == 2


def test_clean_run_exits_0(tmp_path):
    rows = [{**q, "answer": "Yes" if q["label"] == "yes" else "No"} for q in _pope_questions()]
    code, text = run_cli("audit", str(_jsonl(tmp_path / "a.jsonl", rows)), "--metric", "pope",
                         "--out", str(tmp_path / "o"), "--no-report", "-q")
    assert code == 0, text


# -- pytest plugin -----------------------------------------------------------------------------
def _plugin_project(tmp_path: Path, test_body: str) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text(textwrap.dedent("""
        [tool.pytest.ini_options]
        markers = ["marked_in_project: proves the project's ini file was read"]
        """))
    (project / "test_gate.py").write_text(textwrap.dedent(test_body))
    return project


def _pytest(project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "-p", "no:xdist", *args], cwd=project, capture_output=True, text=True,
                          timeout=300)


def test_outputs_option_with_a_space_keeps_the_rootdir(tmp_path):
    rows = [{**q, "answer": "Yes" if q["label"] == "yes" else "No"} for q in _pope_questions()]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    answers = _jsonl(elsewhere / "answers.jsonl", rows)
    project = _plugin_project(tmp_path, """
        import pytest

        @pytest.mark.marked_in_project
        def test_pope(halluscope_audit, pytestconfig):
            assert pytestconfig.rootpath.name == "project"
            halluscope_audit.assert_above("pope.accuracy", 0.9)
        """)
    for form in (["--halluscope-outputs", str(answers)], [f"--halluscope-outputs={answers}"]):
        proc = _pytest(project, "--strict-markers", "--halluscope-metrics", "pope", *form)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "rootdir" not in proc.stdout or "project" in proc.stdout


def test_marker_keyword_typo_and_auditor_metric_keywords(tmp_path):
    rows = [{**q, "answer": "Yes" if q["label"] == "yes" else "No"} for q in _pope_questions()]
    answers = _jsonl(tmp_path / "answers.jsonl", rows)
    project = _plugin_project(tmp_path, f"""
        import pytest

        @pytest.mark.halluscope(metric="pope.accuracy", max_rat=0.1)
        def test_typo(halluscope_audit):
            pass

        def test_metric_keyword(halluscope_auditor):
            r1 = halluscope_auditor.audit({str(answers)!r}, metric="pope", n_boot=0)
            r2 = halluscope_auditor.audit({str(answers)!r}, metrics="pope", n_boot=0)
            assert r1.get("pope.accuracy").value == r2.get("pope.accuracy").value == 1.0
        """)
    proc = _pytest(project, f"--halluscope-outputs={answers}", "--halluscope-metrics", "pope")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "unknown keyword 'max_rat'; did you mean 'max_rate'" in out
    assert "1 passed, 1 error" in out


# -- one run, one set of outputs ----------------------------------------------------------------
def test_outputs_carry_one_run_id_and_a_mix_is_refused(tmp_path, monkeypatch):
    from halluscope.errors import InputError
    from halluscope.result import check_outputs
    rows = [{**q, "answer": "Yes" if q["label"] == "yes" else "No"} for q in _pope_questions()]
    path = _jsonl(tmp_path / "a.jsonl", rows)
    out = tmp_path / "run"
    first = halluscope.audit(path, metrics="pope", n_boot=0, out=out)
    data = check_outputs(out)
    assert data["run_id"] == first.run_id
    assert json.loads((out / "runsheet.json").read_text())["run_id"] == first.run_id
    assert first.run_id in (out / "report.html").read_text()
    assert set(data["outputs"]) == {"items.jsonl", "runsheet.json", "report.html"}

    # a second run killed after items.jsonl was renamed into place: results.json is gone, so
    # the folder is refused instead of read as one run
    def killed(result, *a, **k):
        raise KeyboardInterrupt
    monkeypatch.setattr("halluscope.api.write_outputs", killed)
    with pytest.raises(KeyboardInterrupt):
        halluscope.audit(_jsonl(tmp_path / "b.jsonl", rows[:3]), metrics="pope", n_boot=0,
                         out=out)
    with pytest.raises(InputError, match="interrupted"):
        check_outputs(out)
    monkeypatch.undo()

    # files of two runs side by side (one copied in by hand) are refused: the file does not
    # match the sha256 its run recorded (which cannot tell a copy from an edit or a cut)
    second = halluscope.audit(path, metrics="pope", n_boot=0, out=out)
    other = tmp_path / "other"
    halluscope.audit(_jsonl(tmp_path / "c.jsonl", rows[:2]), metrics="pope", n_boot=0, out=other)
    (out / "items.jsonl").write_bytes((other / "items.jsonl").read_bytes())
    said = (f"items.jsonl does not match the sha256 results.json records for it "
            f"\\(run {second.run_id}\\): the file was edited, truncated or is from another run")
    with pytest.raises(InputError, match=said):
        check_outputs(out)


def test_quiet_audit_still_names_bad_records(tmp_path):
    """--quiet drops the table, never the fact that records were left out."""
    good = json.dumps({"id": "a", "task": "yes-no", "label": "yes", "response": "Yes",
                       "prompt": "Is there a dog?"})
    src = tmp_path / "answers.jsonl"
    src.write_bytes((good + "\n").encode() + b'{"id": "b", "response": "caf\xe9"}\n'
                    + (good.replace('"a"', '"c"') + "\n").encode())
    code, text = run_cli("audit", str(src), "--metric", "pope", "--out", str(tmp_path / "o"),
                         "-q")
    assert code == 0
    assert "1 bad record(s) left out" in text and "answers.jsonl:2" in text
    assert "not UTF-8" in text


def test_a_null_prediction_is_no_answer_not_the_truth_beside_it(tmp_path):
    """VLMEvalKit rows hold the truth in 'answer' and the model's answer in 'prediction'; a
    null prediction fell back to 'answer', so the truth was scored against itself (POPE and
    HallusionBench at 1.0 with no model answer at all)."""
    rows = [{"index": 1, "question": "Is there a dog in the image?", "answer": "Yes",
             "prediction": None},
            {"index": 2, "question": "Is there a cat in the image?", "answer": "No",
             "prediction": "Yes"}]
    path = _jsonl(tmp_path / "vk.jsonl", rows)
    result = halluscope.audit(path, metrics="pope", out=tmp_path / "o", n_boot=0,
                              write_report=False)
    assert result.metrics["pope"].results["accuracy"].value == 0.0      # the one real answer
    assert [(e["line"], e["field"]) for e in result.errors] == [(1, "prediction")]
    assert "expected the model's answer in 'prediction', got null" in result.errors[0]["message"]


def test_a_result_never_reads_another_audits_items(tmp_path):
    """A second audit into the same folder replaced items.jsonl: the first result went on
    reading it (its metrics beside the other run's items), and save() wrote the mix."""
    a = [{"id": f"a{i}", "image": f"a{i}.jpg", "prompt": "Is there a cat in the image?",
          "label": "yes", "response": "yes"} for i in range(3)]
    b = [{"id": "b0", "image": "b.jpg", "prompt": "Is there a dog in the image?",
          "label": "no", "response": "yes"}]
    r1 = halluscope.audit(records=a, metrics="pope", out=tmp_path / "run", n_boot=0,
                          write_report=False)
    assert [i["id"] for i in r1.items[0:2]] == ["a0", "a1"] and r1.items[::-1][0]["id"] == "a2"
    halluscope.audit(records=b, metrics="pope", out=tmp_path / "run", n_boot=0,
                     write_report=False)
    with pytest.raises(InputError, match="was replaced after this audit wrote it"):
        list(r1.items)
    with pytest.raises(InputError, match="was replaced"):
        r1.save(tmp_path / "saved")
    assert not (tmp_path / "saved" / "results.json").exists()


def test_a_bad_records_item_keeps_its_id(tmp_path):
    """items.jsonl wrote "id": null for a bad line whose id was plain to read."""
    src = tmp_path / "a.jsonl"
    src.write_text('{"id": "ok-1", "task": "yes-no", "label": "yes", "prompt": "Is there a '
                   'dog?", "response": "Yes"}\n{"id": "no-answer-7", "task": "yes-no", '
                   '"label": "no", "prompt": "Is there a cat?"}\n')
    result = halluscope.audit(src, metrics="pope", out=tmp_path / "o", n_boot=0,
                              write_report=False)
    bad = [json.loads(x) for x in (tmp_path / "o" / "items.jsonl").read_text().splitlines()][1]
    assert bad["id"] == "no-answer-7" and result.errors[0]["id"] == "no-answer-7"


def test_a_bad_record_object_is_named_by_its_place_in_the_list(tmp_path):
    """Record objects had no file or line: a bad one was listed as '<input>', not findable."""
    from halluscope.records import Record
    recs = [Record(id="r1", task="yes-no", image="a.jpg", prompt="Is there a dog?",
                   response="No", label="no"),
            Record(id="r2", task="yes-no", image="a.jpg", prompt="Is there a dog?",
                   response=None, label="no")]
    result = halluscope.audit(records=recs, metrics="pope", out=tmp_path / "o", n_boot=0,
                              write_report=False)
    assert [(e["file"], e["line"]) for e in result.errors] == [("<records>", 2)]


def test_an_audit_without_out_leaves_no_folder_behind():
    """Each audit without out= left a /tmp/halluscope-* folder (thousands on a busy machine);
    it goes once no result reads its items."""
    import gc
    result = halluscope.audit(records=[{"id": "a", "task": "yes-no", "label": "yes",
                                        "prompt": "Is there a dog?", "response": "Yes"}],
                              metrics="pope", n_boot=0)
    folder = result.items_path.parent
    assert folder.is_dir() and len(list(result.items)) == 1
    del result
    gc.collect()
    assert not folder.exists()
