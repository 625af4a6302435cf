"""The smaller commands (metrics, benchmarks, pope build, judges, query --benchmark) as a new
user meets them following the README: honest listings, errors that name the file or flag and
exit 2."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from halluscope.cli import EXIT_USAGE, app

ROOT = Path(__file__).resolve().parents[1]
INSTANCES = ROOT / "data" / "annotations" / "instances.json"
runner = CliRunner()


def run(args, columns=100, **env):
    res = runner.invoke(app, args, env={"COLUMNS": str(columns), **env})
    return res, " ".join(res.output.split())


@pytest.fixture(autouse=True)
def _no_data_env(monkeypatch):
    monkeypatch.delenv("HALLUSCOPE_DATA", raising=False)


def test_a_missing_benchmark_file_says_where_it_was_looked_for_and_where_to_put_it(tmp_path):
    """'missing; expected a file with sha256 ... (get it from URL)' said nothing of where."""
    res, text = run(["benchmarks", "--data", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert f"looked in {tmp_path}" in text
    assert f"put it at {tmp_path / 'pope' / 'coco_pope_random.json'}" in text
    res, text = run(["benchmarks"])
    assert "no data folder was given: put it in a folder and pass --data FOLDER (or set " \
        "$HALLUSCOPE_DATA=FOLDER)" in text


def test_query_of_a_benchmark_whose_data_is_missing_says_where_to_put_it(tmp_path):
    res, text = run(["query", "--benchmark", "pope", "--data", str(tmp_path), "--model",
                     "mock/x", "--out", str(tmp_path / "q.jsonl")])
    assert res.exit_code == EXIT_USAGE
    assert "coco_pope_random.json: missing" in text
    assert f"put it at {tmp_path / 'pope' / 'coco_pope_random.json'}" in text


def test_a_wrong_hash_names_the_file(tmp_path):
    (tmp_path / "pope").mkdir()
    bad = tmp_path / "pope" / "coco_pope_random.json"
    bad.write_text("{}\n")
    res, text = run(["benchmarks", "--data", str(tmp_path)])
    assert f"coco_pope_random.json: wrong hash at {bad}: expected sha256" in text


def test_the_benchmarks_table_never_cuts_a_name_at_80_columns(tmp_path):
    """At 80 columns the table showed 'mmhal-gpt-4-03…', 'objhal-gpt-3.5…' and
    'hallusionbench…': names --judge and --benchmark take, cut."""
    res, _ = run(["benchmarks", "--data", str(tmp_path)], columns=80)
    table = res.output.split("└")[0]
    assert "…" not in table
    for name in ("hallusionbench@1", "mmhal-gpt-4-0314", "objhal-gpt-3.5-turbo-0613",
                 "hallusionbench-gpt-4"):
        assert name in table, name


@pytest.mark.parametrize("flag", ["--images", "--per-image"])
def test_pope_build_names_the_flag_of_a_count_below_one(tmp_path, flag):
    """It said 'expected n_images, n_per_image and min_objects >= 1, got 0, 3, 3'."""
    res, text = run(["pope", "build", "--annotations", str(INSTANCES), "--out",
                     str(tmp_path / "p"), flag, "0"])
    assert res.exit_code == EXIT_USAGE and f"'{flag}'" in text
    assert "n_images" not in text and not (tmp_path / "p").exists()


def test_pope_build_with_a_file_as_out_says_so_before_reading(tmp_path):
    """It said 'cannot write afile/coco_pope_random.json: File exists'."""
    out = tmp_path / "afile"
    out.write_text("")
    res, text = run(["pope", "build", "--annotations", str(INSTANCES), "--out", str(out)])
    assert res.exit_code == EXIT_USAGE
    assert f"{out}: expected a folder for coco_pope_<split>.json, got a file" in text


def test_pope_build_with_a_folder_as_annotations_says_it_is_a_folder(tmp_path):
    """It said 'COCO annotation file not found: DIR' of a folder that is there."""
    res, text = run(["pope", "build", "--annotations", str(tmp_path), "--out",
                     str(tmp_path / "p")])
    assert res.exit_code == EXIT_USAGE
    assert f"{tmp_path}: expected a COCO annotation file, got a folder" in text
    res, text = run(["pope", "build", "--annotations", str(tmp_path / "nope.json"), "--out",
                     str(tmp_path / "p")])
    assert res.exit_code == EXIT_USAGE and "COCO annotation file not found:" in text


def test_judges_list_with_a_spec_file_as_path_says_it_is_a_file(tmp_path):
    """It said '--path my.toml: no such folder' of a file that is there."""
    spec = tmp_path / "my.toml"
    spec.write_text('name = "my"\n')
    res, text = run(["judges", "list", "--path", str(spec)])
    assert res.exit_code == EXIT_USAGE
    assert "expected a folder of judge specs, got a file (judges show takes a spec file)" in text


def test_metrics_listing_points_to_what_a_terminal_user_can_read():
    """'original or refined (module docstring)', 'see the module docstring', '``page``':
    pointers and markup a command-line reader could not follow."""
    res, text = run(["metrics"], columns=200)
    assert res.exit_code == 0
    assert "module docstring" not in text and "``" not in text
    assert "(python -m pydoc halluscope.metrics.mmhal)" in text


def test_judges_show_refuses_a_mistyped_path_as_list_does(tmp_path):
    """`judges show gpt-4o-2024-08-06 --path /nowhere` showed the built-in spec, exit 0, when
    the user's own spec of that name was in the folder they meant."""
    res, text = run(["judges", "show", "gpt-4o-2024-08-06", "--path", str(tmp_path / "nowhere")])
    assert res.exit_code == EXIT_USAGE
    assert "nowhere: expected a folder of judge specs, got nothing there" in text


def test_pope_build_says_once_that_fewer_images_qualify(tmp_path, caplog):
    """The warning came once per split: three times the same sentence."""
    import logging

    from halluscope.metrics.pope_build import build_command
    with caplog.at_level(logging.WARNING, logger="halluscope"):
        paths = build_command(INSTANCES, tmp_path / "p", n_images=500)
    said = [r.getMessage() for r in caplog.records if "asked for 500 images" in r.getMessage()]
    assert len(paths) == 3 and len(said) == 1, said


def test_metrics_names_the_audit_flag_of_an_option_that_has_one(tmp_path):
    """region_iou, box_format and ocr were listed as '--option region_iou=VALUE' only, though
    audit has --region-iou, --box-format and --ocr; both ways set the same value."""
    res, text = run(["metrics"], columns=250)
    for flag, name in (("--region-iou", "region_iou"), ("--box-format", "box_format"),
                       ("--ocr", "ocr")):
        assert f"({flag} or --option {name}=VALUE)" in text, flag
        res, _ = run(["audit", "--help"])
        assert flag in res.output


def test_benchmarks_json_says_where_a_missing_file_goes(tmp_path):
    import json
    res, _ = run(["benchmarks", "--json", "--data", str(tmp_path)])
    pope = {b["name"]: b for b in json.loads(res.output)}["pope"]["files"][0]
    assert pope["status"] == "missing" and pope["searched"] == [str(tmp_path)]
    assert pope["put_at"] == str(tmp_path / "pope" / "coco_pope_random.json")


def test_chair_words_names_the_flag_and_the_variants_it_takes():
    """It said "expected CHAIR variant 'original' or 'refined', got 'foo'", naming no flag,
    where `chair gt --variant foo` names it."""
    res, text = run(["chair", "words", "A dog.", "--variant", "foo"])
    assert res.exit_code == EXIT_USAGE
    assert "expected --variant original or refined, got 'foo'" in text


def test_pope_build_takes_comma_separated_splits_as_metric_takes_names(tmp_path):
    """`--split random,popular` was refused with exit 2 quoting the value whole."""
    out = tmp_path / "p"
    res, text = run(["pope", "build", "--annotations", str(INSTANCES), "--out", str(out),
                     "--images", "1", "--split", "random,popular", "--split", "popular"])
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in out.iterdir()) == ["coco_pope_popular.json",
                                                     "coco_pope_random.json"]
    res, text = run(["pope", "build", "--annotations", str(INSTANCES), "--out", str(out),
                     "--split", "random,randm"])
    assert res.exit_code == EXIT_USAGE
    assert "expected POPE splits among random, popular, adversarial, got 'randm'" in text


@pytest.mark.parametrize("args, said", [
    (["pope", "build", "--annotations", str(INSTANCES), "--out", "p", "--images", "0"],
     "Invalid value for '--images': expected a whole number >= 1, got 0"),
    (["pope", "build", "--annotations", str(INSTANCES), "--out", "p", "--per-image=-2"],
     "Invalid value for '--per-image': expected a whole number >= 1, got -2"),
    (["audit", str(INSTANCES), "--workers=-1"],
     "Invalid value for '--workers': expected a whole number >= 0, got -1"),
    (["audit", str(INSTANCES), "--bootstrap=-5"],
     "Invalid value for '--bootstrap': expected a whole number >= 0, got -5"),
    (["query", "p.jsonl", "--model", "mock/x", "--max-tokens", "0"],
     "Invalid value for '--max-tokens': expected a whole number >= 1, got 0"),
    (["query", "p.jsonl", "--model", "mock/x", "--samples", "0"],
     "expected a whole number >= 1, got 0"),
    (["compare", "a", "b", "--bootstrap=-5"],
     "Invalid value for '--bootstrap': expected a whole number >= 0, got -5"),
    (["compare", "a", "b", "--bootstrap", "x"],
     "Invalid value for '--bootstrap': expected a whole number, got 'x'"),
])
def test_a_count_out_of_range_names_the_flag_and_the_value(tmp_path, monkeypatch, args, said):
    """typer said "Input should be greater than or equal to 1", without the value; --workers
    and --bootstrap were refused as settings ("workers: Input should be ..."). compare's
    --bootstrap was checked in the command's body, in words of its own, and a value that was
    no number was not named ("Input should be a valid integer")."""
    monkeypatch.chdir(tmp_path)
    res, text = run(args, columns=200)
    assert res.exit_code == EXIT_USAGE
    assert said in text, text
    assert "Input should be" not in text and not (tmp_path / "p").exists()
