"""``--resume`` after an interrupt in the metrics' finish step (the journal used to go before
it, so the resume scored everything again), and resumes that change only how outcomes are
folded (seed, replicates, ``--by``), or refusals that name what differs."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from halluscope.api import audit
from halluscope.errors import ConfigError

SLOW_FINISH = '''
import os
from pathlib import Path
from typing import ClassVar

from halluscope.metrics.base import ItemScore, Metric
from halluscope.metrics.stats import rate, ratio


class Finisher(Metric):
    """Share of long answers; each score() and finish() call is logged, and the first finish()
    is interrupted as a Ctrl-C in a slow finish step (a judge's questions) would be."""

    name: ClassVar[str] = "finisher"
    columns: ClassVar[tuple[str, ...]] = ("n", "long")
    statistics: ClassVar[dict] = {"long_rate": rate(lambda s: ratio(s["long"], s["n"]))}

    def _log(self, what):
        with open(os.environ["FINISHER_LOG"], "a") as fh:
            fh.write(what + "\\n")

    def score(self, record):
        self._log("score " + str(record.id))
        return ItemScore(payload={}, row=(1.0, float(len(record.response or "") > 12)))

    def finish(self):
        flag = Path(os.environ["FINISHER_LOG"] + ".interrupted")
        self._log("finish")
        if not flag.exists():
            flag.write_text("once")
            raise KeyboardInterrupt
'''


def _inputs(tmp_path: Path, n: int = 30) -> tuple[Path, str]:
    metric = tmp_path / "finisher.py"
    metric.write_text(SLOW_FINISH)
    rows = [{"id": str(i), "caption": "a caption" + " x" * (i % 5),
             "model": "m1" if i % 3 else "m2", "task": "caption"} for i in range(1, n + 1)]
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path, f"{metric}:Finisher"


def _comparable(out: Path) -> tuple[dict, str]:
    data = json.loads((out / "results.json").read_text())
    data.pop("run_id")
    data.pop("outputs")
    data.pop("digest")
    return data, (out / "items.jsonl").read_text()


def _interrupted_after(done: int, path: Path, **kw) -> None:
    """An audit of ``path`` in one process, stopped (as by Ctrl-C) once ``done`` records were
    scored, its journal left in ``kw["out"]``."""
    def stop(progress):
        if progress.done == done:
            raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        audit(path, workers=1, write_report=False, on_progress=stop, **kw)


def test_an_interrupt_in_finish_resumes_only_the_finish_step(tmp_path, monkeypatch):
    path, metric = _inputs(tmp_path)
    log = tmp_path / "calls.log"
    monkeypatch.setenv("FINISHER_LOG", str(log))
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        audit(path, metrics=metric, out=out, n_boot=50, workers=1, write_report=False)
    assert (out / "items.journal.part").is_file() and not (out / "results.json").exists()
    assert log.read_text().splitlines().count("finish") == 1
    log.write_text("")
    audit(path, metrics=metric, out=out, n_boot=50, workers=1, write_report=False,
          resume=True)
    assert log.read_text().splitlines() == ["finish"]     # not one record scored again
    assert not (out / "items.journal.part").exists()       # gone once results.json is written
    whole = tmp_path / "whole"
    audit(path, metrics=metric, out=whole, n_boot=50, workers=1, write_report=False)
    assert _comparable(out) == _comparable(whole)


def test_a_resume_may_change_what_only_folds_the_outcomes(tmp_path, monkeypatch):
    """Seed, replicates and --by change only how the journaled outcomes are folded: the
    resumed results are those of a fresh run with the new settings, and nothing journaled is
    scored again."""
    path, metric = _inputs(tmp_path)
    log = tmp_path / "calls.log"
    monkeypatch.setenv("FINISHER_LOG", str(log))
    (tmp_path / "calls.log.interrupted").write_text("no interrupt in finish here")
    out = tmp_path / "out"

    _interrupted_after(17, path, metrics=metric, out=out, n_boot=50)
    log.write_text("")
    new = dict(n_boot=80, seed=5, by=("model", "task"), confidence=0.9)
    audit(path, metrics=metric, out=out, workers=1, write_report=False, resume=True, **new)
    scored = [x.split()[1] for x in log.read_text().splitlines() if x.startswith("score")]
    assert scored == [str(i) for i in range(18, 31)]
    fresh = tmp_path / "fresh"
    audit(path, metrics=metric, out=fresh, workers=1, write_report=False, **new)
    assert _comparable(out) == _comparable(fresh)
    assert set(json.loads((out / "results.json").read_text())["metrics"]["finisher"]["groups"]) \
        >= {"model:m1", "model:m2", "task:caption"}


def test_a_refused_resume_names_each_option_with_both_values(tmp_path, monkeypatch):
    path, metric = _inputs(tmp_path)
    monkeypatch.setenv("FINISHER_LOG", str(tmp_path / "calls.log"))
    (tmp_path / "calls.log.interrupted").write_text("no interrupt in finish here")
    out = tmp_path / "out"

    _interrupted_after(5, path, metrics=metric, out=out, n_boot=20,
                       options={"max_image_pixels": 1000})
    with pytest.raises(ConfigError) as caught:
        audit(path, metrics=metric, out=out, n_boot=20, workers=1, write_report=False,
              resume=True, cluster_by="item", options={"max_image_pixels": 2000})
    message = str(caught.value)
    assert "cluster_by: expected 'image' as journaled, got 'item'" in message
    assert "--option max_image_pixels: expected 1000 as journaled, got 2000" in message
    assert "options differ" not in message
    assert os.path.isfile(out / "items.journal.part")      # left for a resume that matches


IMAGE_BYTES = '''
import os
from typing import ClassVar

from halluscope.errors import RecordError
from halluscope.metrics.base import ItemScore, Metric
from halluscope.metrics.stats import rate, ratio


class ImageBytes(Metric):
    """Share of images over 4 bytes (a bad record when one cannot be read); each score() call
    is logged."""

    name: ClassVar[str] = "image_bytes"
    columns: ClassVar[tuple[str, ...]] = ("n", "big")
    statistics: ClassVar[dict] = {"big_rate": rate(lambda s: ratio(s["big"], s["n"]))}

    def score(self, record):
        with open(os.environ["IMAGE_LOG"], "a") as fh:
            fh.write(str(record.id) + "\\n")
        data = record.image_path().read_bytes()
        if data.startswith(b"BROKEN"):
            raise RecordError("the image cannot be read", field="image")
        return ItemScore(payload={"bytes": len(data)}, row=(1.0, float(len(data) > 4)))
'''


def test_a_resume_scores_again_a_record_whose_image_changed(tmp_path, monkeypatch, caplog):
    """An image repaired (or replaced) after the interrupt: that record and the ones after it
    are scored again, and the results are those of a fresh run on the files as they are now."""
    import logging
    (tmp_path / "image_bytes.py").write_text(IMAGE_BYTES)
    metric = f"{tmp_path / 'image_bytes.py'}:ImageBytes"
    for i in range(1, 7):
        (tmp_path / f"{i}.jpg").write_bytes(b"BROKEN" if i == 2 else b"x" * i)
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps({"id": str(i), "image": f"{i}.jpg", "caption": "c",
                                        "task": "caption"}) + "\n" for i in range(1, 7)))
    log = tmp_path / "calls.log"
    monkeypatch.setenv("IMAGE_LOG", str(log))
    _interrupted_after(4, path, out=tmp_path / "run", metrics=metric)
    assert log.read_text().split()[:4] == ["1", "2", "3", "4"]
    (tmp_path / "2.jpg").write_bytes(b"y" * 20)          # the user repairs the image
    log.write_text("")
    with caplog.at_level(logging.WARNING, logger="halluscope.scoring"):
        resumed = audit(path, out=tmp_path / "run", metrics=metric, workers=1,
                        write_report=False, resume=True)
    assert log.read_text().split() == ["2", "3", "4", "5", "6"]    # line 1 is replayed
    assert "in.jsonl:2 names a file that changed" in caplog.text and "2.jpg" in caplog.text
    assert not resumed.errors
    audit(path, out=tmp_path / "fresh", metrics=metric, workers=1, write_report=False)
    assert _comparable(tmp_path / "run") == _comparable(tmp_path / "fresh")


def test_a_resume_with_unchanged_files_replays_every_journaled_record(tmp_path, monkeypatch):
    (tmp_path / "image_bytes.py").write_text(IMAGE_BYTES)
    metric = f"{tmp_path / 'image_bytes.py'}:ImageBytes"
    (tmp_path / "a.jpg").write_bytes(b"abc")
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps({"id": str(i), "image": "a.jpg", "caption": "c",
                                        "task": "caption"}) + "\n" for i in range(1, 6)))
    log = tmp_path / "calls.log"
    monkeypatch.setenv("IMAGE_LOG", str(log))
    _interrupted_after(3, path, out=tmp_path / "run", metrics=metric)
    log.write_text("")
    audit(path, out=tmp_path / "run", metrics=metric, workers=1, write_report=False, resume=True)
    assert log.read_text().split() == ["4", "5"]


def test_a_records_files_are_its_image_and_its_documents_pages(tmp_path):
    from halluscope.records import Record, Source
    from halluscope.scoring import _stamper
    (tmp_path / "p1.png").write_bytes(b"12")
    files = _stamper()
    rec = Record(id="1", task="document", image="img.jpg", document=["p1.png", "p2.png"],
                 source=Source(str(tmp_path / "in.jsonl"), 1))
    assert [(Path(p).name, size) for p, size, *_ in files(rec)] == [
        ("img.jpg", None), ("p1.png", 2), ("p2.png", None)]
    assert files(Record(id="2", task="caption", image="https://x/y.jpg")) == ()


def test_a_resume_may_name_the_input_from_another_folder(tmp_path, monkeypatch):
    """The header takes an input by its absolute path (7278dd9), but each line's digest held
    the path as spelled: 'in.jsonl' from its folder, then its absolute path, was refused as
    an input that changed since the interrupted run. A bad line is checked the same way."""
    path, metric = _inputs(tmp_path, n=6)
    path.write_text('{"id": "bad", "task": "caption"}\n' + path.read_text())  # no answer
    monkeypatch.setenv("FINISHER_LOG", str(tmp_path / "log"))
    (tmp_path / "log.interrupted").write_text("no interrupt in finish")
    monkeypatch.chdir(tmp_path)
    _interrupted_after(3, Path("in.jsonl"), out=tmp_path / "run", metrics=metric)
    monkeypatch.chdir("/")
    resumed = audit(path, out=tmp_path / "run", metrics=metric, workers=1, write_report=False,
                    resume=True)
    assert len(resumed.errors) == 1
    scored = [w for w in (tmp_path / "log").read_text().split() if w != "score"]
    assert scored.count("1") == 1       # line 1 was replayed, not scored again


def test_a_bad_line_rewritten_in_place_refuses_the_resume_naming_it(tmp_path, monkeypatch):
    """A bad line that differs from the journaled one is refused as a changed input naming
    file:line; the refusal read record.source, which a bad line lacks (AttributeError,
    exit 3). The journal's header now refuses such a rewrite first, by the file's change time
    and sha256 (tests/test_resume_identity.py); the line check stays behind it, for a file
    system whose change time says nothing, and is reached here by skipping the header's."""
    from halluscope import journal
    monkeypatch.setattr(journal, "_content_changes", lambda *args: [])
    path, metric = _inputs(tmp_path, n=6)
    path.write_text('{"id": "bad", "task": "caption"}\n' + path.read_text())
    monkeypatch.setenv("FINISHER_LOG", str(tmp_path / "log"))
    (tmp_path / "log.interrupted").write_text("no interrupt in finish")
    _interrupted_after(3, path, out=tmp_path / "run", metrics=metric)
    st = path.stat()
    path.write_text(path.read_text().replace('"bad"', '"bed"', 1))    # same size
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    with pytest.raises(ConfigError, match=r"in\.jsonl:1 is not what the journal scored"):
        audit(path, out=tmp_path / "run", metrics=metric, workers=1, write_report=False,
              resume=True)
