"""``query --benchmark`` names its prompts file as its run sheet and lock are named: after the
file ``--out`` resolves to (``<real>.prompts.jsonl``), not after ``--out`` as given. Through a
symbolic link it wrote ``<link>.prompts.jsonl`` beside the link (and a run through the real
path a second one beside the file), and the run sheet named it by a path relative to the
folder the command ran in."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from halluscope.cli import app
from test_query_hunt2 import _benchmark


def _query(spec, data, images, out) -> tuple[int, str]:
    res = CliRunner().invoke(app, ["query", "--benchmark", str(spec), "--data", str(data),
                                   "--images", str(images), "-m", "mock/echo", "-o", str(out),
                                   "-q", "--no-cache"])
    return res.exit_code, res.output


def _linked_out(tmp_path):
    """runs/real/out.jsonl (empty) and links/link.jsonl, a symbolic link to it."""
    real_dir, link_dir = tmp_path / "runs" / "real", tmp_path / "links"
    real_dir.mkdir(parents=True)
    link_dir.mkdir()
    (real_dir / "out.jsonl").write_text("")
    (link_dir / "link.jsonl").symlink_to(real_dir / "out.jsonl")
    return real_dir, link_dir


def test_the_prompts_file_is_named_after_the_file_out_names(tmp_path, monkeypatch):
    spec, data = _benchmark(tmp_path, ("img",))
    real_dir, link_dir = _linked_out(tmp_path)
    monkeypatch.chdir(tmp_path)
    code, text = _query(spec, data, tmp_path / "img", "links/link.jsonl")   # relative, a link
    assert code == 0, text
    prompts = real_dir / "out.jsonl.prompts.jsonl"
    assert prompts.is_file() and not (link_dir / "link.jsonl.prompts.jsonl").exists()
    sheet = json.loads((real_dir / "out.jsonl.runsheet.json").read_text())
    assert sheet["benchmark"]["prompts"] == str(prompts)        # absolute, the real one
    assert sheet["counts"]["new"] == 4
    stat = prompts.stat()

    monkeypatch.chdir(real_dir)         # the same run through the real name, from its folder
    code, text = _query(spec, data, tmp_path / "img", "out.jsonl")
    assert code == 0, text
    again = prompts.stat()
    assert (again.st_ino, again.st_mtime_ns) == (stat.st_ino, stat.st_mtime_ns)   # untouched
    sheet = json.loads((real_dir / "out.jsonl.runsheet.json").read_text())
    assert sheet["counts"]["skipped"] == 4 and sheet["counts"]["new"] == 0
    assert sheet["benchmark"]["prompts"] == str(prompts)
    assert sorted(p.name for p in tmp_path.rglob("*.prompts.jsonl")) == \
        ["out.jsonl.prompts.jsonl"]


def test_a_relative_out_in_another_folder_names_its_prompts_file_absolutely(tmp_path,
                                                                           monkeypatch):
    spec, data = _benchmark(tmp_path, ("img",))
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    code, text = _query(spec, data, tmp_path / "img", "../results/new/o.jsonl")
    assert code == 0, text
    prompts = (tmp_path / "results" / "new" / "o.jsonl.prompts.jsonl").resolve()
    sheet = json.loads((prompts.parent / "o.jsonl.runsheet.json").read_text())
    assert sheet["benchmark"]["prompts"] == str(prompts) and prompts.is_file()


def test_image_paths_of_answers_written_through_a_link_hold_from_both_names(tmp_path,
                                                                            monkeypatch):
    """The answers' relative image paths were written against the link's folder: read
    through the real name (a resume, an audit), they named files that are not there, and the
    resume through the real name refused every answer as asked "for another image"."""
    from halluscope.errors import RecordError
    from halluscope.readers import iter_input_records
    spec, data = _benchmark(tmp_path, ("img",))
    real_dir, link_dir = _linked_out(tmp_path)
    code, text = _query(spec, data, tmp_path / "img", link_dir / "link.jsonl")
    assert code == 0, text
    for name in (link_dir / "link.jsonl", real_dir / "out.jsonl"):
        records = [r for r in iter_input_records(name) if not isinstance(r, RecordError)]
        paths = [r.image_path() for r in records if r.image]
        assert paths and all(p.is_file() for p in paths), (name, paths)
