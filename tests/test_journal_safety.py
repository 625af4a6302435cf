"""``--resume`` reads the output folder's journal without running what it names: a journal
someone else made (a shared drive, a downloaded run) is refused, exit 2, naming the file and the
global it names, and nothing of it is run (it was read with ``pickle.load``, so a crafted one
ran any code on ``halluscope audit ... --resume``)."""

from __future__ import annotations

import collections
import datetime
import io
import json
import os
import pickle
import random
import subprocess
import sys
from pathlib import Path, PurePosixPath

import numpy as np
import pytest

from halluscope.api import audit
from halluscope.errors import ConfigError, RecordError, UnreadableImage
from halluscope.journal import Entry, _load
from halluscope.judges.reliability import JudgeStats
from halluscope.metrics.base import ItemScore

ROOT = Path(__file__).resolve().parents[1]
OBJECTS = ["dog", "cat", "car", "person", "chair", "cup", "bottle", "bird", "horse", "bus"]


def _chair(tmp_path: Path, n: int = 30) -> tuple[Path, Path]:
    rnd = random.Random(5)
    folder = tmp_path / "in"
    folder.mkdir()
    gt = folder / "gt.json"
    gt.write_text(json.dumps({str(i): rnd.sample(OBJECTS, 3) for i in range(1, n + 1)}))
    rows = []
    for k in range(n):
        said = rnd.sample(OBJECTS, 2)
        rows.append(json.dumps({"id": f"c{k}", "image_id": k + 1,
                                "caption": f"A {said[0]} beside a {said[1]}."}))
    path = folder / "caps.jsonl"
    path.write_text("\n".join(rows) + "\n")
    return path, gt


def _stopped(path: Path, gt: Path, out: Path, done: int = 12) -> Path:
    """A chair audit stopped (as by Ctrl-C) after ``done`` records: its journal."""
    def stop(progress):
        if progress.done == done:
            raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        audit(path, out=out, metrics="chair", gt_objects=gt, n_boot=20, write_report=False,
              on_progress=stop)
    return out / "items.journal.part"


def _resume_cli(path: Path, gt: Path, out: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "halluscope", "audit", str(path), "--metric", "chair",
         "--gt-objects", str(gt), "--bootstrap", "20", "--out", str(out), "--resume",
         "--no-report", "--quiet"], capture_output=True, text=True, cwd=ROOT, timeout=300)


class _System:
    """Pickles as a call of ``os.system`` (the classic crafted pickle)."""

    def __init__(self, command: str):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


def test_a_crafted_entry_calling_os_system_is_refused_and_never_run(tmp_path):
    path, gt = _chair(tmp_path)
    out = tmp_path / "out"
    journal = _stopped(path, gt, out)
    marker = tmp_path / "pwned"
    with open(journal, "ab") as fh:         # after the real header and entries
        pickle.dump(Entry(outcomes=[("ok", _System(f"touch {marker}"))]), fh)
    run = _resume_cli(path, gt, out)
    said = " ".join(run.stderr.split())
    assert run.returncode == 2, run.stderr
    assert str(journal) in said and f"{os.system.__module__}.system" in said, said
    assert "not written by halluscope" in said and "without --resume" in said, said
    assert not marker.exists()
    assert not (out / "results.json").exists()


def test_a_crafted_header_calling_os_system_is_refused_and_never_run(tmp_path):
    path, gt = _chair(tmp_path)
    out = tmp_path / "out"
    journal = _stopped(path, gt, out)
    marker = tmp_path / "pwned"
    # protocol 0, by hand: GLOBAL os.system, called with one string (REDUCE)
    journal.write_bytes(b"cos\nsystem\n(S'touch " + str(marker).encode() + b"'\ntR.")
    with pytest.raises(ConfigError) as err:
        audit(path, out=out, metrics="chair", gt_objects=gt, n_boot=20, write_report=False,
              resume=True)
    said = str(err.value)
    assert str(journal) in said and "os.system" in said and "not written by halluscope" in said
    assert not marker.exists()
    run = _resume_cli(path, gt, out)        # the CLI: exit 2, the same words
    assert run.returncode == 2 and "os.system" in run.stderr, run.stderr
    assert not marker.exists()


def _pickle_naming(module: str, name: str) -> bytes:
    """A protocol-4 pickle that looks up ``module.name`` and calls it with no arguments."""
    def text(s: str) -> bytes:
        data = s.encode()
        return b"\x8c" + bytes([len(data)]) + data
    return b"\x80\x04" + text(module) + text(name) + b"\x93" + b")R."


@pytest.mark.parametrize("module,name", [
    ("builtins", "eval"), ("builtins", "exec"), ("builtins", "getattr"),
    ("builtins", "__import__"), ("os", "system"), ("posix", "system"),
    ("subprocess", "Popen"), ("importlib", "import_module"), ("functools", "partial"),
    ("operator", "attrgetter"), ("shutil", "rmtree"), ("pickle", "loads"),
    ("collections", "defaultdict"),
    ("halluscope.journal", "os"),                   # a module imported into halluscope's
    ("halluscope.journal", "pickle"),
    ("halluscope.journal", "Entry.__init__"),       # an attribute path
    ("halluscope.journal", "discard_journal"),      # halluscope functions: they act
    ("halluscope.journal", "Journal"),              # a class that opens (truncates) a file
    ("halluscope.api", "audit"),
    ("halluscope.__main__", "main"),
    ("halluscope.hashing", "code_sha256"),
])
def test_no_callable_beyond_halluscopes_data_classes_is_looked_up(tmp_path, module, name):
    journal = tmp_path / "items.journal.part"
    journal.write_bytes(_pickle_naming(module, name))
    with pytest.raises(ConfigError) as err, open(journal, "rb") as fh:
        _load(fh, journal)
    assert f"{module}.{name}" in str(err.value) and str(journal) in str(err.value)


def test_halluscopes_reconstructors_only_build_allowed_classes(tmp_path):
    """``halluscope.errors._record_error`` calls the class it is given: that class is looked
    up through the same gate, so it cannot be ``os.system``."""
    journal = tmp_path / "items.journal.part"

    class Sneaky:
        def __reduce__(self):
            from halluscope.errors import _record_error
            return (_record_error, (os.system, "true", None, None, None))
    journal.write_bytes(pickle.dumps(Sneaky()))
    with pytest.raises(ConfigError, match="system"), open(journal, "rb") as fh:
        _load(fh, journal)


def test_what_journals_hold_is_read_back(tmp_path):
    """The values journals were found to hold (halluscope's data classes, its errors,
    Counters) and inert data a custom metric's items may hold come back as written."""
    stats = JudgeStats()
    values = [
        Entry(outcomes=[("ok", ItemScore(payload={"n": collections.Counter(a=2)}, row=(1.0,))),
                        ("error", RecordError("bad", file="f.jsonl", line=3, field="x")),
                        ("error", UnreadableImage("broken", path="a.jpg", file="f", line=1))],
              files=(("a.jpg", 1, 2, 3, 4),), line="abc", judges=((0, stats),)),
        {"when": datetime.datetime(2026, 1, 2, tzinfo=datetime.timezone.utc),
         "d": datetime.timedelta(seconds=3), "p": PurePosixPath("a/b"), "s": {1, 2},
         "f": frozenset({3}), "np": np.float64(1.5), "arr": np.arange(4).reshape(2, 2),
         "o": collections.OrderedDict(a=1), "c": 1 + 2j},
    ]
    for protocol in (4, pickle.HIGHEST_PROTOCOL):      # the header's and the entries'
        buf = io.BytesIO(b"".join(pickle.dumps(v, protocol=protocol) for v in values))
        entry, other = _load(buf, tmp_path / "j"), _load(buf, tmp_path / "j")
        assert entry.outcomes[0][1].payload["n"] == collections.Counter(a=2)
        assert str(entry.outcomes[1][1]) == str(values[0].outcomes[1][1])
        assert entry.outcomes[2][1].path == "a.jpg"
        assert isinstance(entry.judges[0][1], JudgeStats) and entry.line == "abc"
        assert other["arr"].tolist() == [[0, 1], [2, 3]] and other["np"] == 1.5
        assert other["when"].year == 2026 and other["p"] == PurePosixPath("a/b")


def test_a_stopped_audit_still_resumes_to_the_uninterrupted_results(tmp_path):
    path, gt = _chair(tmp_path)
    opts = dict(metrics="chair", gt_objects=gt, n_boot=20, write_report=False)
    whole = audit(path, out=tmp_path / "whole", **opts)
    journal = _stopped(path, gt, tmp_path / "out")
    with open(journal, "rb") as fh:         # the header, the files' digests, then 12 entries
        read = [_load(fh, journal) for _ in range(14)]
        assert fh.read() == b""
    assert isinstance(read[0], dict) and set(read[1]) == {"sha256"}
    assert all(isinstance(e, Entry) for e in read[2:])
    resumed = audit(path, out=tmp_path / "out", resume=True, **opts)
    assert resumed.summary == whole.summary


NOTED = '''
import os
from dataclasses import dataclass
from typing import ClassVar

from halluscope.metrics.base import ItemScore, Metric
from halluscope.metrics.stats import rate, ratio


@dataclass(frozen=True)
class Seen:
    words: int
    long: bool


@dataclass
class Tagged:
    tag: str
    seen: Seen


@dataclass
class SetsState:
    path: str

    def __setstate__(self, state):
        open(state["path"], "w").close()


@dataclass
class PostInit:
    path: str

    def __post_init__(self):
        open(self.path, "w").close()


@dataclass
class Reduces:
    path: str

    def __reduce__(self):
        return (os.system, ("true",))


@dataclass
class Dropped:
    path: str

    def __del__(self):
        open(self.path, "w").close()


@dataclass
class Hashes:
    path: str

    def __hash__(self):
        open(self.path, "w").close()
        return 0


@dataclass
class Looks:
    path: str

    def __getattr__(self, name):
        open(self.__dict__["path"], "w").close()
        raise AttributeError(name)


@dataclass
class FromAnother(SetsState):
    more: int = 0


class Plain:
    def __init__(self, path="x"):
        open(path, "w").close()


def helper():
    open("marker", "w").close()


class Noted(Metric):
    name: ClassVar[str] = "noted"
    columns: ClassVar[tuple[str, ...]] = ("n", "long")
    statistics: ClassVar[dict] = {"long_rate": rate(lambda s: ratio(s["long"], s["n"]))}

    def score(self, record):
        words = len((record.response or "").split())
        seen = Seen(words, words > 3)
        return ItemScore(payload={"words": words}, row=(1.0, 0.0),
                         notes={"seen": seen, "tagged": [Tagged("t", seen)]})

    def fold(self, record, item):
        seen, tagged = item.notes["seen"], item.notes["tagged"][0]
        assert type(seen).__name__ == "Seen" and tagged.seen == seen, item.notes
        self.add(ItemScore(payload=item.payload, row=(1.0, float(seen.long))), record=record)
'''


def _noted(tmp_path: Path) -> tuple[Path, str]:
    metric = tmp_path / "noted_metric.py"
    metric.write_text(NOTED)
    rows = [{"id": str(i), "caption": "a caption" + " x" * (i % 5), "task": "caption"}
            for i in range(30)]
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path, f"{metric}:Noted"


def test_a_custom_metrics_own_data_classes_in_its_notes_resume(tmp_path):
    """A custom metric whose item notes hold dataclasses of its own module was refused on
    --resume as "not written by halluscope": the user runs that module anyway, and a data
    class a pickle can only fill is read back."""
    path, ref = _noted(tmp_path)
    opts = dict(metrics=ref, n_boot=20, write_report=False)
    whole = audit(path, out=tmp_path / "whole", **opts)

    def stop(progress):
        if progress.done == 12:
            raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        audit(path, out=tmp_path / "out", on_progress=stop, **opts)
    resumed = audit(path, out=tmp_path / "out", resume=True, **opts)
    assert resumed.runsheet["execution"]["resumed"]["lines_from_the_journal"] == 12
    assert resumed.summary == whole.summary
    assert (tmp_path / "out" / "items.jsonl").read_bytes() == \
        (tmp_path / "whole" / "items.jsonl").read_bytes()


@pytest.mark.parametrize("name", ["SetsState", "PostInit", "Reduces", "Dropped", "Hashes",
                                  "Looks", "FromAnother", "Plain", "helper", "os", "Noted",
                                  "Seen.__init__", "ItemScore"])
def test_what_a_metric_module_holds_beyond_inert_data_classes_is_refused(tmp_path, name):
    """In a module the audit loaded its metric from, only data classes a pickle can only
    fill are looked up: not one that acts when unpickled, hashed or dropped, not a plain
    class, a function, a module or a name imported into it, not an attribute path."""
    from halluscope.metrics.references import load_reference
    _, ref = _noted(tmp_path)
    module = load_reference(ref).__module__
    journal = tmp_path / "items.journal.part"
    journal.write_bytes(_pickle_naming(module, name))
    with pytest.raises(ConfigError) as err, open(journal, "rb") as fh:
        _load(fh, journal, frozenset({module}))
    assert f"{module}.{name}" in str(err.value)
    with open(journal, "rb") as fh:     # and an admitted class, from a module not admitted
        journal.write_bytes(pickle.dumps(getattr(sys.modules[module], "Seen")(1, False)))
        with pytest.raises(ConfigError, match=f"{module}.Seen"):
            _load(fh, journal, frozenset())
    assert not (tmp_path / "marker").exists()


def test_a_crafted_entry_naming_an_acting_class_of_the_metric_is_refused(tmp_path):
    """End to end: a journal entry whose notes hold an instance of a class of the metric's
    module that runs code when unpickled (``__setstate__``) stops the resume, nothing run."""
    from halluscope.journal import Entry as JournalEntry
    from halluscope.metrics.references import load_reference
    path, ref = _noted(tmp_path)
    out = tmp_path / "out"

    def stop(progress):
        if progress.done == 5:
            raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        audit(path, out=out, metrics=ref, n_boot=20, write_report=False, on_progress=stop)
    module = sys.modules[load_reference(ref).__module__]
    marker = tmp_path / "marker"
    crafted = JournalEntry(outcomes=[("ok", ItemScore(payload={}, row=(1.0, 0.0),
                                                      notes={"x": module.SetsState("")}))])
    evil = pickle.dumps(crafted).replace(b"\x8c\x00", b"\x8c" + bytes([len(str(marker))])
                                         + str(marker).encode(), 1)
    with open(out / "items.journal.part", "ab") as fh:
        fh.write(evil)
    with pytest.raises(ConfigError, match=f"{module.__name__}.SetsState.*not written by"):
        audit(path, out=out, metrics=ref, n_boot=20, write_report=False, resume=True)
    assert not marker.exists()
