"""The progress journal of an audit, so that a killed audit resumes where it stopped.

While an audit with an output folder runs, ``items.journal.part`` beside ``items.jsonl.part``
receives, for every input line in order, the outcomes of the metrics that score records
(:mod:`halluscope.engines`: ``("ok", ItemScore)``, ``("skip", reason)``, ``("error", ...)``), as
consecutive pickles, after a header that names the inputs and the scoring options.

``--resume`` reads back every complete entry (a half-written last one, from a kill, is cut off),
and the audit then streams the inputs again from the start: the first ``k`` records take their
outcomes from the journal instead of being scored, the rest are scored, and everything is folded
and written exactly as in an uninterrupted run (``items.jsonl`` is rewritten from the records
and outcomes, and the metric states are rebuilt by folding in input order), so the final
results are identical and nothing already scored is scored again. Metrics that run in the parent
(consistency) are cheap and simply updated again. The journal goes when the audit finishes.

A journal is only resumed by the same audit: a header whose inputs (path, size, modification
time) or options differ is refused with a usage error.
"""

from __future__ import annotations

import logging
import pickle
from pathlib import Path
from typing import Any

from halluscope.errors import ConfigError

log = logging.getLogger(__name__)

JOURNAL = "items.journal.part"
FLUSH_EVERY = 64
_EXECUTION = ("workers", "engine", "ray_address", "resume", "cache_dir")


def journal_header(paths: list[Path], config: Any, metrics: list[str]) -> dict[str, Any]:
    """What a journal must match to be resumed: inputs and scoring options (not how many
    workers, which engine or which cache folder: those do not change results)."""
    inputs = []
    for p in paths:
        st = Path(p).stat()
        inputs.append((str(Path(p).resolve()), st.st_size, st.st_mtime_ns))
    return {"version": 1, "inputs": inputs, "metrics": list(metrics),
            "config": config.model_dump_json(exclude=set(_EXECUTION))}


def read_journal(path: Path, header: dict[str, Any]) -> tuple[list[Any], int]:
    """The outcomes written so far and the byte offset just after the last complete entry."""
    entries: list[Any] = []
    with open(path, "rb") as fh:
        try:
            found = pickle.load(fh)
        except Exception as exc:  # noqa: BLE001 - an empty or cut header: nothing to resume
            raise ConfigError(f"{path}: cannot resume: the journal has no readable header "
                              f"({exc}); run without --resume") from None
        if found != header:
            raise ConfigError(
                f"{path}: cannot resume: the journal was written for other inputs or options "
                f"(inputs {[i[0] for i in found.get('inputs', [])]}, metrics "
                f"{found.get('metrics')}); run without --resume to start again")
        good = fh.tell()
        while True:
            try:
                entries.append(pickle.load(fh))
            except EOFError:
                break
            except Exception:  # noqa: BLE001 - a half-written entry from a kill
                log.info("%s: cutting a half-written entry at byte %d", path, good)
                break
            good = fh.tell()
    return entries, good


class Journal:
    """Appends one entry per input line; flushed every :data:`FLUSH_EVERY` entries."""

    def __init__(self, path: Path, header: dict[str, Any], resume: bool):
        self.path = path
        self.replay: list[Any] = []
        if resume and path.is_file():
            self.replay, good = read_journal(path, header)
            self.fh = open(path, "r+b")
            self.fh.truncate(good)
            self.fh.seek(good)
            log.info("resuming: %d input lines already scored", len(self.replay))
        else:
            if resume:
                log.warning("--resume: no journal in %s; starting from the beginning",
                            path.parent)
            self.fh = open(path, "wb")
            pickle.dump(header, self.fh)
        self._unflushed = 0
        self.written = len(self.replay)

    def append(self, entry: Any) -> None:
        pickle.dump(entry, self.fh, protocol=pickle.HIGHEST_PROTOCOL)
        self.written += 1
        self._unflushed += 1
        if self._unflushed >= FLUSH_EVERY:
            self.flush()

    def flush(self) -> None:
        self.fh.flush()
        self._unflushed = 0

    def close(self, done: bool) -> None:
        self.fh.close()
        if done:
            self.path.unlink(missing_ok=True)
