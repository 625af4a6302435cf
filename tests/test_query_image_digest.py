"""``query`` resumes by id and compared the image by its path only: an image file whose bytes
changed under the same name kept the answer about the old picture. Each output line now
carries the image's sha256 and a resume refuses other bytes (exit 2, naming the file, line
and field); files written before lines carried it resume as before, with a note."""

from __future__ import annotations

import hashlib
import json
import logging

import pytest
from PIL import Image
from typer.testing import CliRunner

from conftest import pope_prompt_file
import halluscope
from halluscope.cli import EXIT_USAGE, app
from halluscope.errors import InputError


@pytest.fixture
def prompts(tmp_path):
    return pope_prompt_file(tmp_path, n=6)


def _interrupted(prompts, out, n=3):
    def stop(counts):
        if counts.new >= n:
            raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        halluscope.query(prompts, "mock/yes-no", out=out, cache=False, progress=stop)


def test_each_line_carries_the_sha256_of_its_image(prompts, tmp_path):
    out = tmp_path / "out.jsonl"
    halluscope.query(prompts, "mock/yes-no", out=out, cache=False)
    lines = [json.loads(t) for t in out.read_text().splitlines()]
    want = {f"img{n}.png": hashlib.sha256((tmp_path / f"img{n}.png").read_bytes()).hexdigest()
            for n in range(2)}
    assert lines and all(line["image_sha256"] == want[line["image"]] for line in lines)
    # the audit reads such a file as before (the digest is no field it scores)
    result = halluscope.audit(out, metrics=["pope"], n_boot=0)
    assert result.get("pope.accuracy").n == 6 and not result.errors


def test_a_resume_refuses_an_image_whose_bytes_changed(prompts, tmp_path):
    """The image redrawn under the same name: the resume kept the old answers, exit 0."""
    out = tmp_path / "out.jsonl"
    _interrupted(prompts, out)
    first = json.loads(out.read_text().splitlines()[0])
    Image.new("RGB", (8, 8), (255, 0, 0)).save(tmp_path / first["image"])
    before = out.read_text()
    with pytest.raises(InputError) as info:
        halluscope.query(prompts, "mock/yes-no", out=out, cache=False)
    said = str(info.value)
    assert f"{out}:1: field 'image_sha256'" in said and first["image"] in said
    assert first["image_sha256"][:12] in said and "--restart" in said
    assert out.read_text() == before            # nothing asked, nothing written
    res = CliRunner().invoke(app, ["query", str(prompts), "-m", "mock/yes-no", "--no-cache",
                                   "-o", str(out), "-q"])
    assert res.exit_code == EXIT_USAGE and "field 'image_sha256'" in " ".join(res.output.split())


def test_a_file_without_image_digests_resumes_with_a_note(prompts, tmp_path, caplog):
    """Lines written before they carried image_sha256 resume as before, said once."""
    out = tmp_path / "out.jsonl"
    _interrupted(prompts, out)
    old = [json.loads(t) for t in out.read_text().splitlines()]
    out.write_text("".join(json.dumps({k: v for k, v in line.items() if k != "image_sha256"})
                           + "\n" for line in old))
    with caplog.at_level(logging.WARNING):
        halluscope.query(prompts, "mock/yes-no", out=out, cache=False)
    notes = [r.getMessage() for r in caplog.records if "image_sha256" in r.getMessage()]
    assert len(notes) == 1 and "older halluscope" in notes[0] and str(out) in notes[0]
    lines = [json.loads(t) for t in out.read_text().splitlines()]
    assert len(lines) == 6 and sum("image_sha256" in line for line in lines) == 6 - len(old)

    # an unchanged image resumes quietly
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        halluscope.query(prompts, "mock/yes-no", out=tmp_path / "b.jsonl", cache=False)
        halluscope.query(prompts, "mock/yes-no", out=tmp_path / "b.jsonl", cache=False)
    assert not [r for r in caplog.records if "image_sha256" in r.getMessage()]
