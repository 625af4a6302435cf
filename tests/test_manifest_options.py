"""A folder's ``halluscope.toml`` ``options`` table and the options given on the command line or
in Python are merged key by key: an explicit option replaces the manifest's value of that key
only. The explicit ``options`` used to replace the whole table, so ``--offline`` (or any
``--option``) dropped the manifest's ``complete_only`` in silence and answers cut at the token
limit were scored."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import halluscope
from halluscope.cli import EXIT_USAGE, app
from halluscope.errors import ConfigError
from tests.conftest import shared_data_dir
from tests.test_finish_reasons import _answers, _jsonl, _questions


def _folder(root: Path, options: str, name: str = "run") -> Path:
    """A folder of 12 POPE answers, the 4th and 8th cut at the token limit, whose manifest
    sets ``options``."""
    folder = root / name
    folder.mkdir()
    _questions(folder)
    reasons = ["stop"] * 12
    reasons[3] = reasons[7] = "length"
    _answers(folder, reasons)
    (folder / "halluscope.toml").write_text(
        '[audit]\ninputs = ["answers.jsonl"]\nquestions = "coco_pope_random.json"\n'
        f'metrics = ["pope"]\noptions = {{{options}}}\n', encoding="utf-8")
    return folder


def _cut_left_out(result) -> list[int]:
    return sorted(e["line"] for e in result.errors if e["field"] == "finish_reason")


def test_an_explicit_option_keeps_the_manifests_other_options(tmp_path):
    folder = _folder(tmp_path, "complete_only = true")
    alone = halluscope.audit(folder, n_boot=0)
    assert _cut_left_out(alone) == [4, 8]
    both = halluscope.audit(folder, n_boot=0, options={"offline": True})
    assert _cut_left_out(both) == [4, 8]
    assert both.runsheet["config"]["options"] == {"complete_only": True, "offline": True}
    assert both.metrics["pope"].to_dict() == alone.metrics["pope"].to_dict()


def test_the_command_line_keeps_the_manifests_other_options(tmp_path):
    folder = _folder(tmp_path, "complete_only = true")
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["audit", str(folder), "--out", str(out), "--bootstrap", "0",
                                   "--no-report", "-q", "--offline"])
    assert res.exit_code == 0, res.output
    results = json.loads((out / "results.json").read_text())
    assert [e["line"] for e in results["errors"]] == [4, 8]
    sheet = json.loads((out / "runsheet.json").read_text())
    assert sheet["config"]["options"] == {"complete_only": True, "offline": True}


def test_an_explicit_option_replaces_the_manifests_value_of_that_key_alone(tmp_path):
    folder = _folder(tmp_path, 'complete_only = true, judge_max_connections = 2')
    result = halluscope.audit(folder, n_boot=0, options={"complete_only": False})
    assert _cut_left_out(result) == []
    assert result.runsheet["config"]["options"] == {"complete_only": False,
                                                    "judge_max_connections": 2}
    # a manifest value given explicitly is not the one used, so it is not checked either
    bad = _folder(tmp_path, 'complete_only = "maybe"', name="bad")
    with pytest.raises(ConfigError, match="complete_only"):
        halluscope.audit(bad, n_boot=0)
    assert _cut_left_out(halluscope.audit(bad, n_boot=0, options={"complete_only": True})) \
        == [4, 8]


def test_two_folders_options_merge_key_by_key_and_a_key_set_twice_otherwise_is_refused(tmp_path):
    a = _folder(tmp_path, "complete_only = true", name="a")
    b = _folder(tmp_path, "judge_max_connections = 2", name="b")
    questions = a / "coco_pope_random.json"      # (each folder names its own copy)
    result = halluscope.audit([a, b], n_boot=0, questions=questions)
    assert result.runsheet["config"]["options"] == {"complete_only": True,
                                                    "judge_max_connections": 2}
    assert len(_cut_left_out(result)) == 4
    c = _folder(tmp_path, "complete_only = false", name="c")
    with pytest.raises(ConfigError) as info:
        halluscope.audit([a, c], n_boot=0, questions=questions)
    message = str(info.value)
    assert "options.complete_only" in message
    assert str(a / "halluscope.toml") in message and str(c / "halluscope.toml") in message
    # given explicitly, one value for both
    assert len(_cut_left_out(halluscope.audit([a, c], n_boot=0, questions=questions,
                                              options={"complete_only": True}))) == 4


def test_a_usage_error_in_the_merged_options_exits_2(tmp_path):
    folder = _folder(tmp_path, "complete_only = true")
    res = CliRunner().invoke(app, ["audit", str(folder), "--out", str(tmp_path / "out"),
                                   "--option", "complete_onyl=true", "-q"])
    assert res.exit_code == EXIT_USAGE, res.output
    assert "complete_onyl" in res.output
    assert "halluscope.toml" not in res.output     # the command line's key, not the file's


@pytest.mark.parametrize("line, key, expected", [
    ('input_format = "xml"', "input_format", "expected one of jsonl"),
    ("[audit.options]\ncomplete_only = \"yes\"", "options.complete_only", "TOML boolean"),
    ("[audit.options]\ncomplete_onyl = true", "options.complete_onyl", "unknown option"),
    ('options = {pope_parser = "yesno"}', "options.pope_parser", "is an audit setting"),
])
def test_a_bad_manifest_value_found_late_names_the_file_the_line_and_the_key(tmp_path, line,
                                                                             key, expected):
    """Each was refused (exit 2) naming neither the manifest nor the key: the input format
    when the files were read (as a bad ``--format``), an ``options`` key once the settings were
    merged; a quoted ``complete_only`` was read as a flag."""
    folder = tmp_path / "run"
    folder.mkdir()
    _questions(folder)
    _answers(folder, ["stop"] * 12)
    manifest = folder / "halluscope.toml"
    manifest.write_text('[audit]\ninputs = ["answers.jsonl"]\nquestions = '
                        f'"coco_pope_random.json"\n{line}\n', encoding="utf-8")
    res = CliRunner().invoke(app, ["audit", str(folder), "--out", str(tmp_path / "out"), "-q"])
    assert res.exit_code == EXIT_USAGE, res.output
    text = " ".join(res.output.split())
    assert f"{manifest}:" in text and f": {key}: " in text and expected in text, text


pytest_plugins = ["pytester"]


def test_the_pytest_plugins_offline_mode_keeps_the_manifests_options(pytester, monkeypatch):
    """``halluscope_offline`` (the usual CI setting) passed ``options={"offline": True}``, which
    replaced the data folder's whole ``options`` table: its ``complete_only`` was dropped."""
    import os
    root = Path(__file__).resolve().parents[1]
    monkeypatch.delenv("HALLUSCOPE_OFFLINE", raising=False)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(root), *filter(None, [os.environ.get("PYTHONPATH")])]))
    pytester.makeconftest('pytest_plugins = ["halluscope.pytest_plugin"]\n')
    _folder(pytester.path, "complete_only = true")
    pytester.makeini("[pytest]\nhalluscope_outputs = run\nhalluscope_offline = true\n"
                     "addopts = -p no:asyncio -p no:cacheprovider\n")
    pytester.makepyfile(test_gate='''
def test_cut_answers_left_out(halluscope_audit):
    assert halluscope_audit.runsheet["config"]["options"] == {"complete_only": True,
                                                               "offline": True}
    assert sorted(e["line"] for e in halluscope_audit.errors) == [4, 8]
''')
    pytester.runpytest_subprocess().assert_outcomes(passed=1)


# -- options that name files: relative to the manifest's folder -------------------------------
FILE_OPTIONS = ("amber_annotations", "mmhal_template", "objhal_gt_objects", "objhal_questions")


def test_a_metrics_file_options_in_a_manifest_are_relative_to_its_folder(tmp_path, monkeypatch):
    """Only keys ending in ``_file`` or ``_path`` were resolved: ``amber_annotations``,
    ``mmhal_template`` and ObjHal's files were read from the working directory, where a file of
    the same name (another data set's) would have been used without a word."""
    from halluscope.audit_inputs import resolve_inputs
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "answers.jsonl").write_text('{"id": 1, "response": "Yes"}\n', encoding="utf-8")
    table = ", ".join(f'{k} = "data/{k}.json"' for k in FILE_OPTIONS)
    (folder / "halluscope.toml").write_text(
        f'[audit]\ninputs = ["answers.jsonl"]\noptions = {{{table}}}\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    _, manifest = resolve_inputs(folder)
    assert manifest["options"] == {k: str(folder / "data" / f"{k}.json") for k in FILE_OPTIONS}
    # and an empty one is refused as an empty path, naming the file and the key
    (folder / "halluscope.toml").write_text(
        '[audit]\ninputs = ["answers.jsonl"]\noptions = {amber_annotations = ""}\n',
        encoding="utf-8")
    with pytest.raises(ConfigError, match=r"halluscope.toml:3: .*options.amber_annotations: "
                                          r"expected a path, got an empty one"):
        resolve_inputs(folder)


SHARED = shared_data_dir("amber/annotations.json")


@pytest.mark.skipif(SHARED is None, reason="AMBER annotations not in ../shared/data/amber")
def test_an_amber_audit_finds_the_annotations_its_manifest_names_from_any_folder(tmp_path,
                                                                                  monkeypatch):
    folder = tmp_path / "amber"
    folder.mkdir()
    (folder / "annotations.json").write_bytes((SHARED / "amber/annotations.json").read_bytes())
    _jsonl(folder / "answers.jsonl", [{"id": i, "response": "Yes" if i % 2 else "No"}
                                      for i in range(1005, 1025)])
    (folder / "halluscope.toml").write_text(
        '[audit]\ninputs = ["answers.jsonl"]\nmetrics = ["amber"]\n'
        'options = {amber_annotations = "annotations.json"}\n', encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    result = halluscope.audit(folder, n_boot=0)
    assert result.runsheet["config"]["options"] == {
        "amber_annotations": str(folder / "annotations.json")}
    assert not result.errors and len(result.items) == 20


# -- files from several folders: each file's folder's manifest --------------------------------
def test_files_from_two_folders_read_both_manifests_and_a_key_they_set_apart_is_refused(tmp_path):
    """Only the first file's folder's manifest was read: the second folder's answers were
    scored against the first folder's question file, its own labels never read."""
    a, b = tmp_path / "a", tmp_path / "b"
    for folder, flip in ((a, False), (b, True)):
        folder.mkdir()
        questions = [json.loads(line) for line in
                     _questions(folder).read_text(encoding="utf-8").splitlines()]
        if flip:            # b's truth is the other answer to every question
            _jsonl(folder / "coco_pope_random.json", [
                {**q, "label": "no" if q["label"] == "yes" else "yes"} for q in questions])
        _answers(folder, ["stop"] * 12)
        (folder / "halluscope.toml").write_text(
            '[audit]\ninputs = ["answers.jsonl"]\nquestions = "coco_pope_random.json"\n'
            'metrics = ["pope"]\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        halluscope.audit([a / "answers.jsonl", b / "answers.jsonl"], n_boot=0)
    message = str(info.value)
    assert str(a / "halluscope.toml") in message and str(b / "halluscope.toml") in message
    assert "questions" in message and "PosixPath" not in message
    # chosen explicitly, b's answers are scored against b's questions
    alone = halluscope.audit(b / "answers.jsonl", n_boot=0)
    both = halluscope.audit([b / "answers.jsonl", a / "answers.jsonl"], n_boot=0,
                            questions=b / "coco_pope_random.json")
    assert [i["pope"] for i in both.items][:12] == [i["pope"] for i in alone.items]
    # a folder and a file of it read one manifest: nothing to refuse
    assert len(halluscope.audit([a, a / "answers.jsonl"], n_boot=0).items) == 24


def test_the_command_line_switches_off_a_true_the_manifest_sets_for_one_run(tmp_path):
    """``strict``, ``resume``, ``allow_unfinished_query`` and the ``complete_only`` and
    ``offline`` options set true in a folder's manifest had no flag that switched them off."""
    folder = _folder(tmp_path, "complete_only = true, offline = true")
    toml = folder / "halluscope.toml"
    toml.write_text(toml.read_text() + "strict = true\nresume = true\n"
                    "allow_unfinished_query = true\n", encoding="utf-8")
    base = ["audit", str(folder), "--bootstrap", "0", "--no-report", "-q"]
    res = CliRunner().invoke(app, base + ["--out", str(tmp_path / "strict")])
    assert res.exit_code == EXIT_USAGE, res.output         # strict: the first cut answer stops it
    out = tmp_path / "out"
    res = CliRunner().invoke(app, base + ["--out", str(out), "--no-strict", "--no-resume",
                                          "--no-complete-only", "--no-offline",
                                          "--no-allow-unfinished-query"])
    assert res.exit_code == 0, res.output
    sheet = json.loads((out / "runsheet.json").read_text())
    config = sheet["config"]
    assert (config["strict"], config["resume"], config["allow_unfinished_query"]) == (
        False, False, False)
    assert config["options"] == {"complete_only": False, "offline": False}
    assert json.loads((out / "results.json").read_text())["errors"] == []


def test_a_metric_the_manifest_chose_that_scored_nothing_names_the_file_and_key(tmp_path):
    coco = Path(__file__).resolve().parents[1] / "data" / "annotations" / "instances.json"
    (tmp_path / "a.jsonl").write_text(json.dumps(
        {"id": "q1", "question_id": 1, "image": "a.jpg", "label": "no",
         "prompt": "Is there a dog in the image?", "response": "No."}) + "\n")
    toml = tmp_path / "halluscope.toml"
    toml.write_text(f'[audit]\ninputs = ["a.jsonl"]\nmetrics = ["chair"]\n'
                    f'coco_annotations = ["{coco}"]\n', encoding="utf-8")
    result = halluscope.audit(tmp_path, n_boot=0)
    assert result.unscored["chair"][-1] == f"chair was chosen by the 'metrics' key of {toml}:3"
    asked = halluscope.audit(tmp_path / "a.jsonl", metrics="chair", n_boot=0,
                             coco_annotations=[coco])
    assert not any("chosen by" in r for r in asked.unscored["chair"])
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["audit", str(tmp_path), "--out", str(out), "--no-report"])
    assert res.exit_code == EXIT_USAGE
    assert f"chosen by the 'metrics' key of {toml}:3" in "".join(res.output.split("\n"))
