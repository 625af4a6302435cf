"""Doubts the input hunt left (tests/test_input_hunt.py): results that depended on how busy the
machine was, and halluscope.toml values taken in silence (an empty path, ``strict = "yes"``,
an audit option checked only when used, a spec path left relative to the working directory)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import halluscope
from halluscope.cli import EXIT_USAGE, app
from halluscope.config import load_manifest
from halluscope.errors import ConfigError
from halluscope.metrics.chair_text import MAX_TOKENIZE_CHARS, WordTokenizer, word_tokenizer
from halluscope.metrics.settings import declared_value_check
from test_input_hunt import _caption, _gt  # the hunt's ground truth and captions

runner = CliRunner()



@pytest.fixture
def tokenized(monkeypatch) -> list[int]:
    """The lengths of the texts NLTK's word tokenizer is called on."""
    seen: list[int] = []
    real = WordTokenizer.__call__

    def spy(self, text):
        seen.append(len(text))
        return real(self, text)
    monkeypatch.setattr(WordTokenizer, "__call__", spy)
    return seen


# -- 1, 2: a response too long to tokenize is refused by its length, not by the clock ---------

def test_caption_over_the_limit_is_a_bad_record_before_nltk_runs(tmp_path, tokenized):
    """NLTK gives up on a regular expression after 5 s of wall-clock time, so whether a
    multi-MB caption was scored or a bad record depended on the machine's load. Its length
    decides now, before NLTK sees it; a caption of exactly the limit is scored."""
    path = tmp_path / "captions.jsonl"
    at_limit = ("A cat. " * MAX_TOKENIZE_CHARS)[:MAX_TOKENIZE_CHARS]
    path.write_text("\n".join([_caption(1, "A dog."), _caption(2, "x" * (MAX_TOKENIZE_CHARS + 1)),
                               _caption(2, at_limit)]) + "\n")
    result = halluscope.audit(path, metrics="chair", chair_variant="original",
                              gt_objects=_gt(tmp_path), out=tmp_path / "out", n_boot=0,
                              write_report=False)
    (err,) = result.errors
    # the field as the file has it (it was "response", a field a caption log has not)
    assert (Path(err["file"]).name, err["line"], err["field"]) == (path.name, 2, "caption")
    assert f"{MAX_TOKENIZE_CHARS + 1:,}" in err["message"]
    assert f"{MAX_TOKENIZE_CHARS:,}" in err["message"]
    assert result.metrics["chair"].results["chair_s"].n == 2
    assert max(tokenized) == MAX_TOKENIZE_CHARS        # the long one never reached NLTK


def test_amber_description_over_the_limit_is_a_bad_record_before_nltk_runs(tmp_path,
                                                                          tokenized):
    from halluscope.evidence.amber import AmberData
    from halluscope.metrics.amber import AmberMetric
    items = {1: {"type": "generative", "truth": ["dog"], "hallu": ["cat"]},
             2: {"type": "generative", "truth": ["dog"], "hallu": ["cat"]}}
    data = AmberData(path=Path("annotations.json"), items=items,
                     association={"dog": [], "cat": []},
                     initial={c: 0.001 if c.endswith("_num") else 0.0
                              for c in AmberMetric.columns if not c.endswith("either_no_num")})
    rows = [{"id": 1, "response": "A dog. " + "x" * MAX_TOKENIZE_CHARS},
            {"id": 2, "response": "A dog on a mat."}]
    result = halluscope.audit(records=rows, metrics=[AmberMetric(data, variant="refined",
                                                                 n_boot=0)],
                              out=tmp_path / "o", write_report=False)
    (err,) = result.errors
    assert (err["line"], err["field"]) == (1, "response")
    assert f"{MAX_TOKENIZE_CHARS + 7:,}" in err["message"]
    assert all(n <= MAX_TOKENIZE_CHARS for n in tokenized)


def test_the_limit_is_far_below_what_nltk_gives_up_on():
    """The limit is chosen so that NLTK's 5 s wall-clock limit is never near: measured on
    this 2-core machine, a 1,000,000-character text of the slowest shapes found took 0.4 s
    of CPU (0.6 s wall at load 8); the limit is a fifth of that. The tokenizer is the shared one,
    built once."""
    assert MAX_TOKENIZE_CHARS == 200_000
    assert word_tokenizer() is word_tokenizer()


# -- 3: an empty path ----------------------------------------------------------------------------

def _folder(tmp_path: Path, manifest: str) -> Path:
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "a.jsonl").write_text(_caption(1, "A dog.") + "\n")
    _gt(folder)
    (folder / "halluscope.toml").write_text(manifest)
    return folder


@pytest.mark.parametrize("line", ['gt_objects = ""', 'questions = "  "', 'cache_dir = ""',
                                  'coco_annotations = ""', 'annotations = ["gt.json", ""]',
                                  'inputs = ["a.jsonl", ""]',
                                  'options = {chair_vocabulary_file = ""}'])
def test_empty_path_in_the_manifest_is_a_usage_error(tmp_path, monkeypatch, line):
    """``gt_objects = ""`` became the working directory (Path("") is ".")."""
    key = line.split(" ")[0]
    head = "" if key == "inputs" else 'inputs = ["a.jsonl"]\n'
    folder = _folder(tmp_path, f'[audit]\nmetrics = "chair"\n{head}{line}\n')
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as info:
        load_manifest(folder)
    line_no = 3 if key == "inputs" else 4
    assert f"{folder / 'halluscope.toml'}:{line_no}" in str(info.value)
    assert key in str(info.value) and "empty" in str(info.value)


# -- 4: booleans are TOML booleans -------------------------------------------------------------

@pytest.mark.parametrize("line", ['strict = "yes"', 'resume = "no"', 'strict = 1',
                                  'options = {offline = "yes"}',
                                  'options = {judge_fatal_mismatch = 1}'])
def test_manifest_boolean_must_be_a_toml_boolean(tmp_path, line):
    folder = _folder(tmp_path, f'[audit]\ninputs = ["a.jsonl"]\nmetrics = "chair"\n{line}\n')
    with pytest.raises(ConfigError) as info:
        load_manifest(folder, check_value=declared_value_check())
    assert f"{folder / 'halluscope.toml'}:4" in str(info.value)
    assert "true or false" in str(info.value)


def test_manifest_boolean_strict_exits_2(tmp_path):
    folder = _folder(tmp_path, '[audit]\ninputs = ["a.jsonl"]\nmetrics = "chair"\n'
                               'gt_objects = "gt.json"\nstrict = "yes"\n')
    res = runner.invoke(app, ["audit", str(folder), "--out", str(tmp_path / "o"),
                              "--no-report"])
    assert res.exit_code == EXIT_USAGE, res.output
    assert "halluscope.toml:5" in res.output and "strict" in res.output


def test_manifest_toml_booleans_are_read(tmp_path):
    folder = _folder(tmp_path, '[audit]\ninputs = ["a.jsonl"]\nstrict = true\n'
                               'options = {offline = false}\n')
    table = load_manifest(folder, check_value=declared_value_check())
    assert table["strict"] is True and table["options"]["offline"] is False


# -- 5: every audit option is checked when the manifest is loaded ------------------------------

@pytest.mark.parametrize("option", ['judge_max_connections = 0',
                                    'judge_max_connections = "many"',
                                    'detector_present = "abc"', 'detector_absent = true',
                                    'image_size = "big"', 'image_size = 2.5',
                                    'ray_num_gpus = -1', 'judge_base_url = "ftp://x"',
                                    'judge_options = "key=1"', 'device = 5',
                                    'allow_download = "maybe"'])
def test_manifest_audit_option_is_checked_at_load(tmp_path, option):
    """Only ``max_image_pixels`` was; ``judge_max_connections = 0`` stopped the audit when
    the judge was built, without the file or line (or never, if no judge ran)."""
    folder = _folder(tmp_path, f'[audit]\ninputs = ["a.jsonl"]\nmetrics = "chair"\n'
                               f'options = {{{option}}}\n')
    with pytest.raises(ConfigError) as info:
        load_manifest(folder, check_value=declared_value_check())
    assert f"{folder / 'halluscope.toml'}:4" in str(info.value)
    assert option.split(" ")[0] in str(info.value)


def test_manifest_good_audit_options_are_kept(tmp_path):
    folder = _folder(tmp_path, '[audit]\ninputs = ["a.jsonl"]\noptions = {judge_max_connections '
                               '= 8, detector_present = 0.5, image_size = 640, ray_num_gpus = '
                               '0.5, judge_base_url = "http://127.0.0.1:9/v1", judge_options = '
                               '{temperature = 0}, device = "cpu", allow_download = false}\n')
    opts = load_manifest(folder, check_value=declared_value_check())["options"]
    assert opts["judge_max_connections"] == 8 and opts["judge_options"] == {"temperature": 0}


# -- 6: spec values holding paths are relative to the manifest --------------------------------

def test_manifest_spec_paths_are_relative_to_the_manifest(tmp_path, monkeypatch):
    folder = _folder(tmp_path, '[audit]\ninputs = ["a.jsonl"]\njudge = "my-judge.toml"\n'
                               'detector = "hf:./model"\nsegmenter = "sam:vit_b:ckpt.pth"\n')
    (folder / "my-judge.toml").write_text("")
    (folder / "ckpt.pth").write_bytes(b"")
    monkeypatch.chdir(tmp_path)
    table = load_manifest(folder)
    assert table["judge"] == str(folder.resolve() / "my-judge.toml")
    assert table["detector"] == "hf:" + str(folder.resolve() / "model")
    assert table["segmenter"] == "sam:vit_b:" + str(folder.resolve() / "ckpt.pth")


def test_manifest_groundingdino_paths_are_relative_to_the_manifest(tmp_path):
    folder = _folder(tmp_path, '[audit]\ninputs = ["a.jsonl"]\n'
                               'detector = "groundingdino:cfg.py,../w.pth,bert"\n')
    (folder / "cfg.py").write_text("")
    table = load_manifest(folder)
    base = folder.resolve()
    assert table["detector"] == (f"groundingdino:{base / 'cfg.py'},{base.parent / 'w.pth'},"
                                 f"bert")            # "bert": no such file, not ./: kept


@pytest.mark.parametrize("key, value", [("detector", "hf:owner/name"), ("detector", "coco-ssd"),
                                        ("judge", "gpt-4o-2024-08-06"),
                                        ("segmenter", "hf-sam:facebook/sam-vit-base")])
def test_manifest_hub_ids_and_names_are_kept(tmp_path, key, value):
    folder = _folder(tmp_path, f'[audit]\ninputs = ["a.jsonl"]\n{key} = "{value}"\n')
    assert load_manifest(folder)[key] == value


# -- 7: zstd --------------------------------------------------------------------------------------

def test_zstd_input_says_to_decompress_it_first(tmp_path):
    path = tmp_path / "a.jsonl.zst"
    path.write_bytes(bytes.fromhex("28b52ffd") + b"\x00" * 16)
    res = runner.invoke(app, ["audit", str(path), "--metric", "chair", "--gt-objects",
                              str(_gt(tmp_path)), "--out", str(tmp_path / "o"), "--no-report"])
    assert res.exit_code == EXIT_USAGE, res.output
    assert "zstd" in res.output and "decompress it first" in res.output


def _chair_folder(root: Path, name: str, gt_objects: str, variant: str) -> Path:
    folder = root / name
    folder.mkdir()
    _gt(folder)
    (folder / "o.jsonl").write_text(_caption(1, "A dog and a cat.") + "\n")
    (folder / "halluscope.toml").write_text(
        f'[audit]\ninputs = ["o.jsonl"]\n\ngt_objects = "{gt_objects}"\n'
        f'chair_variant = "{variant}"\n')
    return folder


def test_two_folders_whose_manifests_disagree_are_a_usage_error(tmp_path):
    """Two folders audited together whose halluscope.toml set one key to different values: the
    first folder's value won without a word (the second folder's captions were scored against
    the first's ground truth). Now exit 2 naming both files with their lines, the key and both
    values; a value given on the command line chooses it for both."""
    a = _chair_folder(tmp_path, "a", "gt.json", "original")
    b = _chair_folder(tmp_path, "b", "gt.json", "original")
    res = runner.invoke(app, ["audit", str(a), str(b), "--out", str(tmp_path / "o1"),
                              "--no-report", "--quiet", "--bootstrap", "0"])
    assert res.exit_code == EXIT_USAGE, res.output
    said = " ".join(res.output.split())
    assert f"{b / 'halluscope.toml'}:4: gt_objects:" in said
    assert f"{a / 'halluscope.toml'}:4" in said and str(a / "gt.json") in said
    # the same ground truth named by both (one file) and one variant: no disagreement
    c = _chair_folder(tmp_path, "c", "../a/gt.json", "refined")
    d = _chair_folder(tmp_path, "d", "../a/gt.json", "refined")
    res = runner.invoke(app, ["audit", str(c), str(d), "--out", str(tmp_path / "o2"),
                              "--no-report", "--quiet", "--bootstrap", "0"])
    assert res.exit_code == 0, res.output
    # a variant that differs, chosen on the command line for both
    e = _chair_folder(tmp_path, "e", "../a/gt.json", "original")
    res = runner.invoke(app, ["audit", str(c), str(e), "--out", str(tmp_path / "o3"),
                              "--no-report", "--quiet", "--bootstrap", "0"])
    assert res.exit_code == EXIT_USAGE and "chair_variant" in res.output, res.output
    res = runner.invoke(app, ["audit", str(c), str(e), "--out", str(tmp_path / "o4"),
                              "--no-report", "--quiet", "--bootstrap", "0",
                              "--chair-variant", "original"])
    assert res.exit_code == 0, res.output
