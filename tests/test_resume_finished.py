"""``--resume`` after the audit had finished (a CI job retried after the run crossed a gate):
it was a usage error (exit 2) instead of the run's verdict. Now the finished results are read
back, the gates given now judged on them, and the exit code is a fresh run's; nothing is
scored or rewritten. Other inputs or options are still refused, the folder left as it is."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from halluscope.api import audit
from halluscope.cli import app
from halluscope.errors import ConfigError
from conftest import write_results

DATA = Path(__file__).resolve().parents[1] / "data"


def _files(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in out.iterdir()}


def _cli(out: Path, *extra: str):
    return CliRunner().invoke(app, ["audit", str(DATA), "--metric", "pope", "--out", str(out),
                                    "--bootstrap", "20", "--no-report", "-q", *extra])


def test_a_retried_resume_of_a_finished_run_gives_its_gate_verdict(tmp_path):
    out = tmp_path / "run"
    first = _cli(out, "--fail-below", "pope.f1=0.99")
    assert first.exit_code == 1, first.output
    written = _files(out)
    again = _cli(out, "--fail-below", "pope.f1=0.99", "--resume")
    assert again.exit_code == 1, again.output        # the run's verdict, not a usage error
    assert "gate failed: pope.f1" in again.output
    assert _files(out) == written                   # nothing scored, nothing rewritten
    # the gates are those given now, judged on the finished results
    assert _cli(out, "--fail-below", "pope.f1=0.1", "--resume").exit_code == 0
    assert _cli(out, "--resume").exit_code == 0
    assert _files(out) == written


def test_the_results_read_back_are_the_finished_runs(tmp_path):
    out = tmp_path / "run"
    whole = audit(DATA, out=out, metrics="pope", n_boot=20, write_report=False)
    back = audit(DATA, out=out, metrics="pope", n_boot=20, write_report=False, resume=True)
    assert back.reread and not whole.reread
    assert back.to_dict() == json.loads(json.dumps(whole.to_dict()))
    assert back.get("pope.f1").ci == pytest.approx(whole.get("pope.f1").ci)
    assert back.get("pope.f1").bounds == (0.0, 1.0)      # a threshold's range is still checked
    with pytest.raises(ConfigError, match="did you mean 0.8"):
        back.gate_failures(below={"pope.f1": 80})
    assert list(back.items) == list(whole.items)
    assert back.gate_failures(below={"pope.f1": 0.99}) == whole.gate_failures(
        below={"pope.f1": 0.99})


@pytest.mark.parametrize("change, said", [
    ({"pope_parser": "strict"}, "pope_parser: expected 'original' in the finished run, "
                                "got 'strict'"),
    ({"seed": 7}, "seed: expected 0 as in the finished run, got 7"),
    ({"n_boot": 30}, "n_boot: expected 20 as in the finished run, got 30"),
])
def test_a_resume_with_other_options_is_still_refused(tmp_path, change, said):
    out = tmp_path / "run"
    audit(DATA, out=out, metrics="pope", n_boot=20, write_report=False)
    written = _files(out)
    options = {"n_boot": 20, **change}
    with pytest.raises(ConfigError, match="holds a finished audit of other inputs") as exc:
        audit(DATA, out=out, metrics="pope", write_report=False, resume=True, **options)
    assert said in str(exc.value)
    assert _files(out) == written


def test_a_changed_input_or_folder_is_refused(tmp_path):
    src = tmp_path / "data"
    src.mkdir()
    (src / "answers.jsonl").write_text("".join(
        json.dumps({"id": str(i), "question_id": i, "text": "Is there a dog?",
                    "label": "yes" if i % 2 else "no", "response": "yes"}) + "\n"
        for i in range(8)))
    out = tmp_path / "run"
    audit(src / "answers.jsonl", out=out, metrics="pope", n_boot=0, write_report=False)
    written = _files(out)
    with open(src / "answers.jsonl", "a") as fh:
        fh.write(json.dumps({"id": "8", "question_id": 8, "text": "Is there a cat?",
                             "label": "no", "response": "no"}) + "\n")
    with pytest.raises(ConfigError, match="other inputs.*answers.jsonl"):
        audit(src / "answers.jsonl", out=out, metrics="pope", n_boot=0, write_report=False,
              resume=True)
    assert _files(out) == written


def test_a_folder_that_does_not_match_its_results_is_refused(tmp_path):
    out = tmp_path / "run"
    audit(DATA, out=out, metrics="pope", n_boot=20, write_report=False)
    with open(out / "items.jsonl", "a") as fh:
        fh.write("{}\n")
    with pytest.raises(ConfigError, match="cannot be read back: .*items.jsonl does not match"):
        audit(DATA, out=out, metrics="pope", n_boot=20, write_report=False, resume=True)


def test_a_run_sheet_without_its_resume_key_is_refused_as_before(tmp_path):
    """A folder an older halluscope finished says nothing of what it ran on."""
    out = tmp_path / "run"
    audit(DATA, out=out, metrics="pope", n_boot=20, write_report=False)
    sheet = json.loads((out / "runsheet.json").read_text())
    del sheet["resume"]
    (out / "runsheet.json").write_text(json.dumps(sheet))
    results = json.loads((out / "results.json").read_text())
    from halluscope.hashing import sha256_file
    results["outputs"]["runsheet.json"]["sha256"] = sha256_file(out / "runsheet.json")
    write_results(out, results)
    written = _files(out)
    with pytest.raises(ConfigError, match="does not say what it was run on .* nothing to "
                                          "resume"):
        audit(DATA, out=out, metrics="pope", n_boot=20, write_report=False, resume=True)
    assert _files(out) == written


def _copied_data(tmp_path: Path) -> Path:
    import shutil
    return Path(shutil.copytree(DATA, tmp_path / "data"))


def _cli_on(data: Path, out: Path, *extra: str):
    return CliRunner().invoke(app, ["audit", str(data), "--metric", "pope", "--out", str(out),
                                    "--bootstrap", "20", "--no-report", "-q", *extra])


def test_a_finished_run_resumes_after_a_chmod_and_refuses_a_copy_that_kept_its_time(tmp_path):
    """The finished run's key hashed each file's inode and change time, so a chmod (or a move
    away and back, a restored CI cache) refused the retry saying only "headers differ"; now
    they are checked by content, as an interrupted run's resume does, and a file replaced
    with its size and time kept (cp -p) is refused naming it."""
    import os
    import shutil
    data = _copied_data(tmp_path)
    out = tmp_path / "run"
    assert _cli_on(data, out).exit_code == 0
    written = _files(out)
    answers = data / "outputs.jsonl"
    answers.chmod(0o600)
    moved = tmp_path / "away.jsonl"
    answers.rename(moved)
    moved.rename(answers)
    again = _cli_on(data, out, "--resume")
    assert again.exit_code == 0, again.output
    assert _files(out) == written
    other = tmp_path / "other.jsonl"
    text = answers.read_text()
    other.write_text(text.replace('"yes"', '"Yes"', 1))
    assert other.stat().st_size == answers.stat().st_size and other.read_text() != text
    st = answers.stat()
    os.utime(other, ns=(st.st_atime_ns, st.st_mtime_ns))
    shutil.copy2(other, answers)                     # cp -p: the size and the time kept
    refused = _cli_on(data, out, "--resume")
    assert refused.exit_code == 2, refused.output
    assert "content of" in refused.output and "outputs.jsonl" in refused.output
    assert _files(out) == written


def test_a_refused_finished_run_names_no_credential(tmp_path):
    """The run sheet keeps the finished run's options redacted, and the refusal compared them
    with this run's raw ones: a credential in an option was always 'a difference' and printed
    as it is. Both sides are compared redacted now."""
    out = tmp_path / "run"
    first = {"judge_base_url": "http://user:SECRET111@127.0.0.1:9/v1"}
    audit(DATA, out=out, metrics="pope", n_boot=20, write_report=False, options=first)
    now = {"judge_base_url": "http://user:SECRET222@127.0.0.1:9/v1",
           "judge_max_connections": 3}
    with pytest.raises(ConfigError) as refused:
        audit(DATA, out=out, metrics="pope", n_boot=20, write_report=False, options=now,
              seed=7, resume=True)
    said = str(refused.value)
    assert "SECRET111" not in said and "SECRET222" not in said, said
    assert "seed" in said          # (the two URLs are one once redacted: no difference)
    cli = _cli(out, "--option", "judge_base_url=http://user:SECRET222@127.0.0.1:9/v1",
               "--seed", "7", "--resume")
    assert cli.exit_code == 2 and "SECRET" not in cli.output, cli.output


@pytest.mark.parametrize("edit, field", [
    (lambda m: m["f1"].update(value="0.99"), "metrics.pope.f1.value"),
    (lambda m: m["f1"].update(value=True), "metrics.pope.f1.value"),
    (lambda m: m["f1"].update(value=[0.99]), "metrics.pope.f1.value"),
    (lambda m: m["f1"].update(value=7.0), "metrics.pope.f1.value"),
    (lambda m: m["f1"].update(value=float("inf")), "metrics.pope.f1.value"),
    (lambda m: m["tp"].update(value=-3), "metrics.pope.tp.value"),
    (lambda m: m["f1"].update(ci=["a", "b"]), "metrics.pope.f1.ci"),
    (lambda m: m["f1"].update(ci=[0.99]), "metrics.pope.f1.ci"),
    (lambda m: m["f1"].update(ci=[0.999, 0.995]), "metrics.pope.f1.ci"),
    (lambda m: m["f1"].update(n="abc"), "metrics.pope.f1.n"),
    (lambda m: m["f1"].update(n=-1), "metrics.pope.f1.n"),
    (lambda m: m.update(f1=0.99), "metrics.pope.f1"),
    (lambda m: m["groups"]["model:demo-vlm-a"]["f1"].update(value="1"),
     "metrics.pope.groups.model:demo-vlm-a.f1.value"),
    (lambda m: m.update(groups=[]), "metrics.pope.groups"),
    (lambda m: m["f1"].update(n=True), "metrics.pope.f1.n"),
])
def test_a_finished_run_whose_results_were_edited_is_refused_not_gated(tmp_path, edit, field):
    """A results.json read back by --resume was taken as it stood: a value written as text
    ("0.99") or true passed a gate as 0.99 or 1.0, an F1 of 7 or an inverted interval passed
    --fail-below, and a value of another type was an internal error (exit 3). Now such an
    entry is an input error naming the file and the field (exit 2), the folder left as is."""
    out = tmp_path / "run"
    assert _cli(out, "--fail-below", "pope.f1=0.95").exit_code == 1
    results = json.loads((out / "results.json").read_text())
    edit(results["metrics"]["pope"])
    write_results(out, results)
    written = _files(out)
    for gate in ("pope.f1=0.95", "pope.f1@upper=0.95"):
        again = _cli(out, "--fail-below", gate, "--resume")
        assert again.exit_code == 2, again.output
        text = " ".join(again.output.split())
        assert "results.json" in text and f"field '{field}'" in text, text
    assert _files(out) == written


def test_a_finished_run_whose_unscored_was_edited_is_refused(tmp_path):
    out = tmp_path / "run"
    assert _cli(out).exit_code == 0
    results = json.loads((out / "results.json").read_text())
    results["unscored"] = "nothing"
    write_results(out, results)
    again = _cli(out, "--resume")
    assert again.exit_code == 2 and "field 'unscored'" in " ".join(again.output.split())


def test_a_value_edited_by_hand_into_a_valid_one_is_refused_by_the_files_digest(tmp_path):
    """An F1 of 0.62 edited to 0.99 is a valid entry: no check of its type or range sees it,
    and --resume gated on it (exit 0). results.json holds its own sha256 (``digest``): the
    edit is an input error saying the file was edited (exit 2), the folder left as is; compare
    refuses it alike."""
    from halluscope.comparison import compare
    from halluscope.errors import InputError
    out = tmp_path / "run"
    assert _cli(out, "--fail-below", "pope.f1=0.95").exit_code == 1
    results = json.loads((out / "results.json").read_text())
    assert isinstance(results["digest"], str) and len(results["digest"]) == 64
    results["metrics"]["pope"]["f1"]["value"] = 0.99
    (out / "results.json").write_text(json.dumps(results))
    written = _files(out)
    again = _cli(out, "--fail-below", "pope.f1=0.95", "--resume")
    assert again.exit_code == 2, again.output
    assert "the file was edited" in " ".join(again.output.split())
    assert _files(out) == written
    with pytest.raises(InputError, match="the file was edited"):
        compare([out, out], n_boot=0)
    write_results(out, results)          # stamped afresh, as the run writes it: read back
    assert _cli(out, "--fail-below", "pope.f1=0.95", "--resume").exit_code == 0
