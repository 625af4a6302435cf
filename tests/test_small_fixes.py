"""Regressions for small defects bug hunts found: a resumed ``halluscope query --samples N``
that called every answer "not in prompts", the CHAIR ground-truth cache's keys, ``judges list``
exiting 0 over invalid specs, and ``$HALLUSCOPE_DATA`` naming a missing folder unnoticed."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from halluscope.cli import app


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _sheet(out):
    return json.loads(out.with_name(out.name + ".runsheet.json").read_text())


# -- 1. a resumed run with several samples per prompt ---------------------------------------
def _query(prompts, out, *extra):
    res = CliRunner().invoke(app, ["query", str(prompts), "-m", "mock/echo", "--no-cache",
                                   "-o", str(out), "--quiet", *extra])
    assert res.exit_code == 0, res.output
    return res


def test_a_resumed_run_with_samples_finds_its_answers_in_the_prompts(tmp_path, caplog):
    """Answers ``q0#0``, ``q0#1`` belong to prompt ``q0``: a resume must not call them
    answers to prompts the file no longer holds (it did, every one of them)."""
    prompts = _write(tmp_path / "p.jsonl", [{"id": f"q{i}", "prompt": f"say {i}"}
                                            for i in range(3)])
    out = tmp_path / "o.jsonl"
    _query(prompts, out, "--samples", "2", "--temperature", "0.7")
    res = _query(prompts, out, "--samples", "2", "--temperature", "0.7")
    assert "not in the prompts file" not in res.output
    assert "not in the prompts file" not in caplog.text
    assert "not_in_prompts" not in _sheet(out)
    ids = [json.loads(line)["id"] for line in out.read_text().splitlines()]
    assert ids == [f"q{i}#{k}" for i in range(3) for k in range(2)]


def test_samples_of_a_prompt_that_left_are_still_counted(tmp_path):
    """The fix compares the prompt an answer belongs to: samples of a prompt that left the
    prompts file are still named, and ids with their own '#' are not cut at it."""
    first = _write(tmp_path / "p1.jsonl", [{"id": "a#1", "prompt": "x"},
                                           {"id": "gone", "prompt": "y"}])
    second = _write(tmp_path / "p2.jsonl", [{"id": "a#1", "prompt": "x"}])
    out = tmp_path / "o.jsonl"
    _query(first, out, "--samples", "2", "--temperature", "0.7")
    res = _query(second, out, "--samples", "2", "--temperature", "0.7")
    assert _sheet(out)["not_in_prompts"] == {"count": 2, "examples": ["gone#0", "gone#1"]}
    assert "keeps 2 answer line(s)" in res.output


def test_an_id_with_a_hash_is_not_read_as_a_sample_of_another_prompt(tmp_path):
    """With one sample per prompt, the answer id ``a#1`` is the prompt id ``a#1``: when that
    prompt left and ``a`` stayed, ``a#1`` is not in the prompts (not a sample of ``a``)."""
    first = _write(tmp_path / "p1.jsonl", [{"id": "a", "prompt": "x"},
                                           {"id": "a#1", "prompt": "y"}])
    second = _write(tmp_path / "p2.jsonl", [{"id": "a", "prompt": "x"}])
    out = tmp_path / "o.jsonl"
    _query(first, out)
    _query(second, out)
    assert _sheet(out)["not_in_prompts"] == {"count": 1, "examples": ["a#1"]}


# -- 2. the CHAIR ground-truth cache --------------------------------------------------------
def test_a_big_file_rewritten_with_its_size_and_mtime_is_hashed_again(tmp_path):
    """The hash memo of files of 8 MiB or more matched path, size and mtime: a file rewritten
    in place with the same size and its mtime set back got the old hash. Its ctime (set by
    every write, and not settable) now belongs to the match too."""
    import hashlib
    import os
    import time

    from halluscope.metrics.chair_gt import file_sha256
    big = tmp_path / "instances.json"
    big.write_bytes(b"a" * (8 << 20))
    cache = tmp_path / "cache"
    first = file_sha256(big, cache)
    assert first == hashlib.sha256(b"a" * (8 << 20)).hexdigest()
    assert file_sha256(big, cache) == first                     # remembered
    st = big.stat()
    time.sleep(0.05)                                            # past the clock's granularity
    with open(big, "r+b") as fh:                                # same inode, same size
        fh.write(b"b")
    os.utime(big, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert big.stat().st_size == st.st_size and big.stat().st_mtime_ns == st.st_mtime_ns
    assert file_sha256(big, cache) == hashlib.sha256(b"b" + b"a" * ((8 << 20) - 1)).hexdigest()


def _tiny_coco(folder):
    images = [{"id": 10, "file_name": "10.jpg"}]
    inst = {"images": images, "categories": [{"id": 18, "name": "dog"}], "annotations": [
        {"id": 1, "image_id": 10, "category_id": 18, "bbox": [0, 0, 1, 1], "area": 1,
         "iscrowd": 0}]}
    caps = {"images": images, "annotations": [
        {"id": 1, "image_id": 10, "caption": "A man walking his dog."}]}
    (folder / "instances.json").write_text(json.dumps(inst))
    (folder / "captions.json").write_text(json.dumps(caps))
    return [folder / "instances.json", folder / "captions.json"]


def test_a_parser_with_other_rules_does_not_read_the_cached_ground_truth(tmp_path,
                                                                           monkeypatch):
    """The cache key named the variant and the vocabulary file, not the parser's rules: a
    parser whose code changed read the ground truth the old code built (unless someone bumped
    CACHE_FORMAT by hand). The key now holds the rules' identity, its code included."""
    from halluscope.metrics.chair import parser_for
    from halluscope.metrics.chair_gt import load_coco_ground_truth
    from halluscope.metrics.chair_vocab import OriginalParser

    class NoPeopleParser(OriginalParser):      # same variant and vocabulary, other code
        def parse(self, caption, spans=True):
            found = super().parse(caption, spans=spans)
            return found._replace(mentions=tuple(m for m in found.mentions
                                                 if m.node != "person"))

    monkeypatch.setenv("HALLUSCOPE_CACHE", str(tmp_path / "cache"))
    files = _tiny_coco(tmp_path)
    original = parser_for("original")
    assert load_coco_ground_truth(files, original)[10] == {"dog", "person"}
    changed = NoPeopleParser(original.spec)
    assert load_coco_ground_truth(files, changed)[10] == {"dog"}
    block = json.loads(next((tmp_path / "cache" / "chair").glob("gt-*.json")).read_text())
    assert block["rules"]["variant"] == "original" and len(block["rules"]["code_sha256"]) == 64


# -- 3. judges list over an invalid spec -----------------------------------------------------
def test_judges_list_names_each_invalid_spec_file_and_exits_2(tmp_path):
    """An invalid spec was listed as a row and its problem printed, but the command exited 0,
    so a script could not tell. The valid specs are still listed; each invalid file is named
    with its reason; the exit is 2, as for a --path that is no folder."""
    import shutil

    from halluscope.judges.spec import spec_dirs
    builtin = next(d for d in spec_dirs() if (d / "gpt-4o-2024-08-06.toml").is_file())
    shutil.copytree(builtin / "templates", tmp_path / "templates")
    text = (builtin / "gpt-4o-2024-08-06.toml").read_text()
    (tmp_path / "mine.toml").write_text(text.replace('name = "gpt-4o-2024-08-06"',
                                                     'name = "mine"'))
    (tmp_path / "broken.toml").write_text("name = [unclosed\n")
    (tmp_path / "nomodel.toml").write_text('name = "nomodel"\n')
    res = CliRunner().invoke(app, ["judges", "list", "--path", str(tmp_path)],
                             env={"COLUMNS": "300"})
    assert res.exit_code == 2, res.output
    listed = [line for line in res.output.splitlines() if "│" in line]
    assert any(" mine " in line for line in listed)
    assert any("gpt-4o-2024-08-06" in line for line in listed)     # built-in specs too
    assert not any("broken" in line or "nomodel" in line for line in listed)
    for bad in ("broken.toml", "nomodel.toml"):
        line = next(x for x in res.output.splitlines() if bad in x)
        assert str(tmp_path / bad) in line and "error" in line
    assert "2 judge spec file(s) are invalid" in res.output


# -- 4. $HALLUSCOPE_DATA naming a missing folder ----------------------------------------------
def test_a_missing_halluscope_data_folder_is_reported_like_a_missing_data(tmp_path,
                                                                          monkeypatch):
    """``--data /typo`` stops with exit 2; ``HALLUSCOPE_DATA=/typo`` listed every benchmark
    as missing and exited 0. It is now reported the same way, naming the variable."""
    typo = tmp_path / "typo"
    monkeypatch.setenv("HALLUSCOPE_DATA", str(typo))
    res = CliRunner().invoke(app, ["benchmarks", "--json"])
    assert res.exit_code == 2, res.output
    assert f"$HALLUSCOPE_DATA {typo}: no such file or folder" in res.output
    res = CliRunner().invoke(app, ["query", "--benchmark", "hallusionbench", "-m", "mock/echo",
                                   "-o", str(tmp_path / "o.jsonl"), "--quiet"])
    assert res.exit_code == 2
    assert f"$HALLUSCOPE_DATA {typo}: no such file or folder" in res.output
    res = CliRunner().invoke(app, ["query", "--benchmark", "hallusionbench", "--data",
                                   str(tmp_path / "nodata"), "-m", "mock/echo", "-o",
                                   str(tmp_path / "o.jsonl"), "--quiet"])
    assert res.exit_code == 2 and "--data" in res.output and "nodata" in res.output
    monkeypatch.setenv("HALLUSCOPE_DATA", str(tmp_path))          # a folder that exists
    res = CliRunner().invoke(app, ["benchmarks", "--json"])
    assert res.exit_code == 0, res.output
    assert {b["status"] for b in json.loads(res.output)} <= {"missing", "found"}
