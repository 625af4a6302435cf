"""Large and odd inputs, and halluscope.toml, as a user auditing real output files meets them
(the input hunt). Each test is the small form of something found on big or broken files: one
bad line or one bad manifest value is reported with its file and line, and nothing else is
lost or crashes (exit 3)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import halluscope
from halluscope.cli import EXIT_USAGE, app
from halluscope.config import load_manifest
from halluscope.errors import ConfigError

runner = CliRunner()


def _gt(folder: Path) -> Path:
    path = folder / "gt.json"
    path.write_text(json.dumps({"1": ["dog"], "2": ["cat"], "3": ["car"]}))
    return path


def _caption(image_id: int, caption: str) -> str:
    return json.dumps({"image_id": image_id, "caption": caption})


def _chair(tmp_path: Path, inputs, **kw):
    return halluscope.audit(inputs, metrics="chair", chair_variant="original",
                            gt_objects=_gt(tmp_path), out=tmp_path / "out", n_boot=0,
                            write_report=False, **kw)


# -- a caption NLTK's tokenizer gives up on ------------------------------------------------

def test_caption_the_tokenizer_gives_up_on_is_one_bad_record(tmp_path, monkeypatch):
    """NLTK 3.10 bounds its regular expressions by a wall-clock limit (5 s) and raises
    TimeoutError past it. A 50 MB caption without spaces (a generation stuck in a loop) hit it,
    and the TimeoutError, an OSError, stopped the whole audit with exit 2 and NLTK's message,
    naming neither the file nor the line. Here the limit is made tiny so a short caption hits
    it: that record is a bad record naming its line and field (as the file names it: caption),
    the others are scored."""
    import nltk.redos
    path = tmp_path / "captions.jsonl"
    long = "A cat. " + "x" * 5_000
    path.write_text("\n".join([_caption(1, "A dog."), _caption(2, long),
                               _caption(3, "A car.")]) + "\n")
    from halluscope.metrics.chair_text import word_tokenizer
    word_tokenizer()                # the tokenizer's start-up self-check runs with the real limit
    monkeypatch.setattr(nltk.redos, "DEFAULT_TIMEOUT", 1e-9)
    result = _chair(tmp_path, path)
    errors = [(e["line"], e["field"]) for e in result.errors]
    assert errors == [(2, "caption")]
    assert "tokeniz" in result.errors[0]["message"]
    assert result.metrics["chair"].results["chair_s"].n == 2


# -- JSON arrays -----------------------------------------------------------------------------

def test_control_character_in_one_array_element_loses_only_that_element(tmp_path):
    """A raw NUL (or any control character) inside a string of a JSON array's element made
    the whole rest of the array unread ("the elements after it were not read"), where the same
    line in a JSON-lines file is one bad record. The element's end is still plain to find."""
    path = tmp_path / "captions.json"
    bad = _caption(2, "A c\x00at.").replace("\\u0000", "\x00")
    path.write_text("[\n" + ",\n".join([_caption(1, "A dog."), bad, _caption(3, "A car.")])
                    + "\n]\n")
    result = _chair(tmp_path, path)
    assert [(Path(e["file"]).name, e["line"]) for e in result.errors] == [(path.name, 3)]
    assert "control character" in result.errors[0]["message"]
    assert result.metrics["chair"].results["chair_s"].n == 2
    assert len(result.items) == 3


def test_truncated_array_names_where_the_string_starts(tmp_path):
    """A syntax error's message was cut at its first colon: "Unterminated string starting
    at; the elements after it were not read"."""
    path = tmp_path / "captions.json"
    path.write_text("[\n" + _caption(1, "A dog.") + ",\n" + '{"image_id": 3, "cap')
    result = _chair(tmp_path, path)
    (err,) = result.errors
    assert "starting at;" not in err["message"]
    assert "Unterminated string" in err["message"] and err["line"] == 3


# -- halluscope.toml ---------------------------------------------------------------------------

def _folder(tmp_path: Path, manifest: bytes | str) -> Path:
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "a.jsonl").write_text(_caption(1, "A dog.") + "\n")
    _gt(folder)
    data = manifest.encode() if isinstance(manifest, str) else manifest
    (folder / "halluscope.toml").write_bytes(data)
    return folder


@pytest.mark.parametrize("line", ['questions = 7', 'gt_objects = 5',
                                  'coco_annotations = ["a.json", 2]', 'annotations = true',
                                  'by = 5'])
def test_manifest_value_of_the_wrong_type_names_file_and_line(tmp_path, line):
    """A path key holding a number (`questions = 7`) or `by = 5` crashed: exit 3 with
    "TypeError: unsupported operand type(s) for /: 'PosixPath' and 'int'"."""
    folder = _folder(tmp_path, f'[audit]\ninputs = ["a.jsonl"]\nmetrics = "chair"\n{line}\n')
    with pytest.raises(ConfigError) as info:
        load_manifest(folder)
    assert f"{folder / 'halluscope.toml'}:4" in str(info.value)
    assert line.split(" ")[0] in str(info.value)


def test_manifest_inputs_of_the_wrong_type_is_a_usage_error(tmp_path):
    folder = _folder(tmp_path, '[audit]\ninputs = 5\nmetrics = "chair"\n')
    res = runner.invoke(app, ["audit", str(folder), "--out", str(tmp_path / "o"),
                              "--no-report"])
    assert res.exit_code == EXIT_USAGE, res.output
    assert "halluscope.toml:2" in res.output and "inputs" in res.output


def test_manifest_that_is_not_utf8_is_a_usage_error(tmp_path):
    """A manifest saved in Latin-1 crashed with a UnicodeDecodeError (exit 3)."""
    folder = _folder(tmp_path, b'[audit]\ninputs = ["a.jsonl"]\n# caf\xe9\n')
    with pytest.raises(ConfigError, match=r"halluscope\.toml.*UTF-8"):
        load_manifest(folder)


def test_manifest_with_a_byte_order_mark_is_read(tmp_path):
    """Windows editors write a byte-order mark; it was "invalid TOML: Invalid statement (at
    line 1, column 1)", where every other file halluscope reads accepts one."""
    folder = _folder(tmp_path, '\ufeff[audit]\ninputs = ["a.jsonl"]\nchair_variant = "original"\n')
    assert load_manifest(folder)["chair_variant"] == "original"


def test_manifest_cache_dir_is_relative_to_the_manifest(tmp_path, monkeypatch):
    """Every other path of the [audit] table is resolved against the manifest's folder;
    `cache_dir` was left relative, so it moved with the working directory."""
    folder = _folder(tmp_path, '[audit]\ninputs = ["a.jsonl"]\ncache_dir = "cache"\n')
    monkeypatch.chdir(tmp_path)
    assert Path(load_manifest(folder)["cache_dir"]) == (folder / "cache").resolve()


@pytest.mark.parametrize("option", ['max_image_pixels = "lots"', "judge_max_connections = 0"])
def test_manifest_bad_audit_option_names_file_and_line(tmp_path, option):
    """`options = {max_image_pixels = "lots"}` was refused without saying which file held it;
    a judge option out of range is exit 2 at its line too."""
    folder = _folder(tmp_path, '[audit]\ninputs = ["a.jsonl"]\nmetrics = "chair"\n'
                               'gt_objects = "gt.json"\n'
                               f'options = {{{option}}}\n')
    res = runner.invoke(app, ["audit", str(folder), "--out", str(tmp_path / "o"),
                              "--no-report"])
    assert res.exit_code == EXIT_USAGE, res.output
    assert "halluscope.toml:5" in res.output and option.split(" =")[0] in res.output


@pytest.mark.parametrize("name, why", [("missing.jsonl", "does not exist"),
                                       (".", "is a folder")])
def test_manifest_input_that_is_not_a_file_names_the_manifest(tmp_path, name, why):
    """An `inputs` entry naming no file gave Python's bare "[Errno 2] No such file or
    directory" (or "[Errno 21] Is a directory"), without the manifest that named it."""
    folder = _folder(tmp_path, f'[audit]\nmetrics = "chair"\ninputs = ["a.jsonl", "{name}"]\n'
                                  f'gt_objects = "gt.json"\n')
    res = runner.invoke(app, ["audit", str(folder), "--out", str(tmp_path / "o"),
                              "--no-report"])
    assert res.exit_code == EXIT_USAGE, res.output
    assert "halluscope.toml:3" in res.output and why in res.output
    assert "Errno" not in res.output


def test_amber_description_the_tokenizer_gives_up_on_is_one_bad_record(tmp_path, monkeypatch):
    """AMBER's nouns come through the same NLTK tokenizer as CHAIR's words: a description it
    gives up on stopped the audit (exit 2, NLTK's message, no file or line)."""
    import nltk.redos

    from halluscope.evidence.amber import AmberData
    from halluscope.metrics.amber import AmberMetric
    from halluscope.metrics.chair_text import word_tokenizer
    items = {1: {"type": "generative", "truth": ["dog"], "hallu": ["cat"]},
             2: {"type": "discriminative-hallucination", "truth": "yes"}}
    data = AmberData(path=Path("annotations.json"), items=items,
                     association={"dog": [], "cat": []},
                     initial={c: 0.001 if c.endswith("_num") else 0.0
                              for c in AmberMetric.columns if not c.endswith("either_no_num")})
    rows = [{"id": 1, "response": "A dog. " + "x" * 5_000}, {"id": 2, "response": "Yes"}]
    word_tokenizer()
    monkeypatch.setattr(nltk.redos, "DEFAULT_TIMEOUT", 1e-9)
    result = halluscope.audit(records=rows, metrics=[AmberMetric(data, variant="refined",
                                                                 n_boot=0)],
                              out=tmp_path / "o", write_report=False)
    assert [(e["line"], e["field"]) for e in result.errors] == [(1, "response")]
    assert "tokeniz" in result.errors[0]["message"]
