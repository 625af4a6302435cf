"""The progress journal of an audit, so that a killed audit resumes where it stopped.

While an audit with an output folder runs, ``items.journal.part`` beside ``items.jsonl.part``
receives, for every input line in order, the outcomes of the metrics that score records
(:mod:`halluscope.engines`: ``("ok", ItemScore)``, ``("skip", reason)``, ``("error", ...)``), as
consecutive pickles, after a header that names the inputs and the scoring options.

Each entry also holds the judge counters its record's scoring took (calls, parse failures, the
model names the server reported: :func:`halluscope.engines.take_judge_stats`, taken record by
record in whichever process scored it); ``--resume`` adds back those of the lines it replays,
so that the run sheet and ``results.json`` count the calls of the whole audit once (a pin
mismatch in its first part is not lost) and the lines scored again after the kill are counted
once, as they are asked again. The counters then equal an uninterrupted run's, but for
``cached``: the lines whose calls the stopped run had made but not journaled (asked ahead for
their batch) are asked again, and answered from the response cache when the cache folder is the
same; the run sheet's ``execution.resumed`` says how many lines each part holds and each part's
calls and cache hits (:class:`~halluscope.scoring.ResumeCounts`). Before, the counters of a whole chunk were journaled with its first record, and the
records of that chunk scored again after a kill were counted twice.

A file scored as columns (:mod:`halluscope.column_scoring`) is journaled a chunk at a time
instead (:class:`ChunkEntry`, after the same header; :mod:`halluscope.column_journal`): the
state after each chunk and the items written up to it, so that ``--resume`` passes the finished
chunks unread. A journal holds line entries or chunk entries, never both.

``--resume`` reads the journal through once (:func:`scan_journal`: a half-written last entry,
from a kill, is cut off), keeping only how many lines it holds and where the first begins, and
the audit then streams the inputs again from the start: the first ``k`` records take their
outcomes from the journal, read back one entry at a time (:meth:`Journal.replayed`), instead of
being scored, the rest are scored, and everything is folded and written exactly as in an
uninterrupted run (``items.jsonl`` is rewritten from the records and outcomes, and the metric
states are rebuilt by folding in input order), so the final results are identical and nothing
already scored is scored again; a resume holds no more memory than a fresh run, however long
the journal (it held every entry: ~475 MiB more at 100,000 CHAIR lines,
``benchmarks/resume_memory.py``). Metrics that run in the parent (consistency) are cheap and
simply updated again.

The journal stays until the outputs are written (:func:`discard_journal`, called by
:func:`halluscope.api.write_outputs` once ``results.json`` is there): an interrupt in the metrics'
finish step (HallusionBench's consistency judge questions) or while the outputs are written
leaves a complete journal, so ``--resume`` replays every outcome and redoes only that step.

Each record's entry also holds the size and modification time of the files it names (its image,
its document's pages): a record whose file changed since (a broken image repaired, a photo
replaced) is not replayed. The journal is cut there and that record and every later one are
scored again, so that the results equal a fresh run on the files as they are now.

A journal is only resumed by the same audit: a header whose inputs (path, size, modification
time), options, or files the options name (ground truth, questions, annotations) differ is
refused with a usage error that names each difference ("option X: expected A as journaled,
got B"). The header also holds each of those files' inode and change time, and a record
before the first entry its sha256 (the digest the run sheet lists): a file whose size and modification time match but whose inode or
change time moved (a ``chmod``, a move away and back, or a copy that kept the old file's time:
``cp -p``, ``rsync -a``, ``touch -r``) is hashed again, and resumed only when its content is the
journaled one; else the resume is refused, naming the file. A file whose whole stamp matches is
not read again. The options that only change how the outcomes are folded (:data:`FOLD_ONLY`: the
bootstrap's seed, replicates and confidence, the ``--by`` groups) may differ: the journal holds
each record's outcome before folding, and resume folds them all again.

The header also names the halluscope version that wrote it and the sha256 of its code
(:func:`~halluscope.hashing.code_sha256`): a resume under another version (an upgrade between
the kill and the resume, which may change a metric's code or a packaged judge spec) or under
other code of the same version number (a development tree or an edited install) is refused,
saying what differs, rather than folding outcomes scored by two programs into one result.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import pickle
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from halluscope._version import __version__
from halluscope.errors import ConfigError
from halluscope.hashing import (STAMP_FIELDS, code_sha256, known_sha256, path_stamp,
                                stamp_tuple)
from halluscope.journal_diff import (FOLD_ONLY, _comparable, _content_changes,  # noqa: F401
                                     _difference, _first, _version_change, header_difference,
                                     shown_files)
from halluscope.journal_safety import _load
from halluscope.redact import redact_url

log = logging.getLogger(__name__)

JOURNAL = "items.journal.part"
FLUSH_EVERY = 64
FLUSH_SECONDS = 1.0
"""An entry is also flushed when the last flush is this old: records that take seconds each (a
judge's calls) were journaled 64 at a time (or 8 KiB), and a ``kill -9`` or the OOM killer
lost up to a minute of judged lines, which ``--resume`` asked again."""
_EXECUTION = ("workers", "engine", "ray_address", "resume", "cache_dir",
              "allow_unfinished_query")
EXECUTION_OPTIONS = ("offline", "judge_max_connections", "judge_fatal_mismatch", "ray_num_gpus")
"""``--option`` keys that change how the work is done, not what a line's outcomes are (answers
from the cache only, calls in flight, whether a pin mismatch stops the run, a Ray actor's
GPUs): a resume may change them. An offline audit stops at the first answer its cache lacks and
says to run without offline mode; its resume without ``--offline`` was refused."""
JOURNAL_FORMAT = 8
"""8: the header holds each input's and companion file's inode and change time too, and a
record ``{"sha256": {path: digest}}`` before the first entry the digest of each, so that a file
replaced with its size and modification time kept is told from one merely ``chmod``-ed or
moved away and back (format 7 held size and time only)."""


def _identity(path: Path) -> tuple[str, int, ...]:
    """An input's or companion file's absolute path and
    :func:`~halluscope.hashing.stamp_tuple` (size, mtime, inode, change time), as the header
    holds it: size and mtime must match for a resume; inode and change time only say whether
    the content must be hashed again (:func:`_content_changes`)."""
    return (str(path.resolve()), *stamp_tuple(path.stat()))


def _digests(header: dict[str, Any]) -> dict[str, Any]:
    """The journal's record of the sha256 of each input and companion file of ``header``,
    written just before its first entry (or when it closes without one): by then a whole-file
    audit has hashed its inputs beside its fold, and the run sheet lists the same digests
    (:func:`~halluscope.hashing.known_sha256` remembers them), so each file is still read once
    per audit, and never before scoring starts."""
    return {"sha256": {redact_url(f[0]): _digest_if_same(f) for key in ("inputs", "companions")
                       for f in header.get(key, ())}}


def _digest_if_same(identity: tuple) -> str | None:
    """The sha256 of the file :func:`_identity` stamped, while it still has that stamp; else
    ``None`` (changed since the audit began: a resume is refused, its stamp not matching)."""
    try:
        st = os.stat(identity[0])
        if (identity[0], *stamp_tuple(st)) != tuple(identity):
            return None
        return known_sha256(identity[0])
    except OSError:
        return None


def file_stamp(path: Path) -> tuple[str, int | None, ...]:
    """Path, size, modification time, inode and status-change time of a file
    (:func:`~halluscope.hashing.path_stamp`; ``None``s for one that is not there), as a
    record's journal entry holds them: an image replaced by another of the same byte size with
    its time kept (``cp -p`` of a BMP of the same dimensions) was taken for the journaled one,
    whose verdicts the resume replayed. A record's file that merely changed its change time
    (a ``chmod``) is scored again: a cost, never a wrong result."""
    return (str(path), *(path_stamp(path) or (None,) * len(STAMP_FIELDS)))


def file_stamps(paths: list[Path]) -> tuple[tuple[str, int | None, ...], ...]:
    """:func:`file_stamp` of each file."""
    return tuple(file_stamp(path) for path in paths)


def line_digest(entry: Any) -> str:
    """A digest of what an input line was read as (a record's fields and place, or a bad line's
    place and reason), the same in every process: a resume checks each journaled line against
    it, so that an input rewritten in place with its size and modification time kept (``cp
    -p``, ``touch -r``, an archive) is refused instead of mixing old outcomes with new lines.
    The input file is named by its absolute path: a resume may spell it otherwise (from
    another folder), as the journal's header allows."""
    import hashlib
    fields = entry.to_dict()
    source = getattr(entry, "source", None)
    if source is not None:
        place = [_absolute(source.file), source.line, source.index]
    else:                               # a bad line: its place is in its fields
        place = None
        fields = {**fields, "file": _absolute(fields.get("file"))}
    data = [type(entry).__name__, place, fields]
    try:        # in the order the line was read (keys of a table's header may be numbers)
        text = json.dumps(data, ensure_ascii=False, default=str)
    except (TypeError, ValueError):     # a key JSON cannot write: the record as Python says
        text = repr(data)
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=12).hexdigest()


def _absolute(file: Any) -> Any:
    """``file`` as an absolute path (a name that is no path as it is)."""
    if not (isinstance(file, str) and file):
        return file
    return _resolved(os.getcwd(), file)


@functools.lru_cache(maxsize=64)
def _resolved(cwd: str, file: str) -> str:
    """``file`` resolved from ``cwd``: every line of an input names the same file, and
    ``Path.resolve`` (an ``lstat`` per path part) took ~17% of a resume's time when it ran per
    line; the working folder is part of the key, as a relative name depends on it."""
    try:
        return str((Path(cwd) / file).resolve())
    except (OSError, ValueError, RuntimeError):
        return file


def _files_resolved(value: Any) -> Any:
    """A configuration value with each file it names written as the absolute path, so that a
    resume that spells a file otherwise (relative to another folder, through a link) is not
    taken for one with another option (``file.py:Class`` keeps its class); a credential in
    its name (``questions.json?token=...``) redacted, as the files' names of the header are."""
    if isinstance(value, dict):
        return {k: _files_resolved(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_files_resolved(v) for v in value]
    if isinstance(value, str) and value and len(value) <= 4096:
        head, colon, tail = value.rpartition(":")
        for path, rest in ((value, ""), (head, colon + tail)):
            if path and _is_file(path):
                return redact_url(str(Path(path).resolve())) + rest
    return value


def _is_file(path: str) -> bool:
    try:
        return Path(path).is_file()
    except (OSError, ValueError):
        return False


def _files_named(value: Any) -> set[Path]:
    """The files a configuration value names (strings, lists, tables; ``file.py:Class``)."""
    if isinstance(value, dict):
        return set().union(*(_files_named(v) for v in value.values()))
    if isinstance(value, (list, tuple)):
        return set().union(*(_files_named(v) for v in value))
    if not isinstance(value, str) or not value or len(value) > 4096:
        return set()
    return {Path(c) for c in {value, value.rpartition(":")[0]} - {""} if _is_file(c)}


def _dumped(config: Any) -> dict[str, Any]:
    """``config`` as JSON values, but its :data:`_EXECUTION` options. A Ctrl-C landing inside
    pydantic's serializer comes out as a ``PydanticSerializationError`` caused by the
    ``KeyboardInterrupt``: it is raised as the interrupt it was (the CLI said "internal error",
    exit 3, not "interrupted", exit 130)."""
    try:
        return config.model_dump(mode="json", exclude=set(_EXECUTION))
    except Exception as exc:
        if isinstance(exc.__cause__, KeyboardInterrupt):
            raise exc.__cause__ from None
        raise


def journal_header(paths: list[Path], config: Any, metrics: list[str],
                   models: dict[str, Any] | None = None) -> dict[str, Any]:
    """What a journal must match to be resumed: inputs, scoring options, the files the
    options name (ground truth, questions, annotations, a metric's file: path, size,
    modification time, inode and change time; their sha256 follows the header:
    :func:`_digests`) and ``models``, what decides the detector's and
    segmenter's outputs (their weights hashes and versions), not how many workers, which
    engine or which cache folder, nor the :data:`EXECUTION_OPTIONS` (those do not change
    results)."""
    from halluscope.textfiles import text_of     # a path that is not UTF-8, made writable
    inputs = [_identity(Path(p)) for p in paths]
    dumped = _dumped(config)
    if isinstance(dumped.get("options"), dict):
        dumped["options"] = {k: v for k, v in dumped["options"].items()
                             if k not in EXECUTION_OPTIONS}
    companions = sorted(_identity(p) for p in _files_named(dumped))
    if isinstance(dumped.get("options"), dict):
        # the header is written into the output folder, and stays there when the run is
        # stopped: a judge_base_url's password and judge_options' headers were in it
        from halluscope.redact import redact_mapping
        dumped["options"] = redact_mapping(dumped["options"])
    settings = json.dumps(text_of(_files_resolved(dumped)), ensure_ascii=False,
                          separators=(",", ":"))
    header = {"version": JOURNAL_FORMAT, "halluscope": __version__, "code": code_sha256(),
              "inputs": inputs, "metrics": list(metrics), "companions": companions,
              "config": settings}
    if models:          # only then: a journal of an audit without models resumes as before
        header["models"] = models
    return header


@dataclass(frozen=True)
class Entry:
    """A journal entry for one input line: the outcomes of its metrics, the
    :func:`file_stamps` of the files its record names, the :func:`line_digest` of what the
    line was read as, and the judge counters its scoring took (in the form
    :func:`halluscope.engines.take_judge_stats` gives: index of the first metric holding the
    judge, its :class:`~halluscope.judges.reliability.JudgeStats`)."""

    outcomes: Any
    files: tuple = ()
    line: str = ""
    judges: Any = ()


@dataclass(frozen=True)
class ChunkEntry:
    """A journal entry for a chunk of an answer file scored as columns
    (:mod:`halluscope.column_journal`): where the chunk ends (``file``: its input's index,
    ``chunk``: its index in that file, counted from 0, ``lines``: the file's lines read up to
    its end, ``sizes``: the chunk's bytes and lines, ``chunk_bytes``: the chunk size read
    with), the items written up to its end (``items``: their bytes, ``items_sha256``), the unit
    names first seen in it (``names``, in order) and the bad records it listed
    (``problems``), ``state``: what the metric, the tallies and the reader hold after it,
    pickled (only the last entry's is kept when a journal is read back), ``fold``: the
    :data:`FOLD_ONLY` options that state was folded with (a resume must keep them), and
    ``own``: the metric's own-unit ids given in the chunk, with their counts after it (the
    state holds the rest of the metric's, not these: they grow with the items)."""

    file: int
    chunk: int
    lines: int
    sizes: tuple[int, int]
    chunk_bytes: int
    items: int
    items_sha256: str | None
    names: list = field(default_factory=list)
    problems: list = field(default_factory=list)
    state: bytes | None = None
    fold: dict = field(default_factory=dict)
    own: dict = field(default_factory=dict)


def judge_counters(metrics: list[Any]) -> list[tuple[int, Any]]:
    """The counters of each judge of ``metrics`` (by the index of the first metric holding it):
    the judges' own objects, left in place (pickling one into the journal copies it)."""
    out, seen = [], set()
    for i, metric in enumerate(metrics):
        judge = getattr(metric, "judge", None)
        stats = getattr(judge, "stats", None)
        if stats is None or id(judge) in seen or not hasattr(stats, "merge"):
            continue
        seen.add(id(judge))
        if stats.uses or stats.reported_models:
            out.append((i, stats))
    return out


def read_journal(path: Path, header: dict[str, Any], offsets: list[int] | None = None,
                 modules: frozenset[str] = frozenset()) -> tuple[list[Any], int]:
    """The entries written so far (:class:`Entry`) and the byte offset just after the last
    complete entry; ``offsets`` receives the offset each :class:`Entry` begins at. All of them
    in memory: for a look at a journal (tests, a person); an audit's resume streams it
    (:class:`Journal`, :func:`scan_journal`)."""
    entries: list[Any] = []

    def keep(start: int, item: Any) -> None:
        if isinstance(item, ChunkEntry) and entries and isinstance(entries[-1], ChunkEntry):
            entries[-1] = replace(entries[-1], state=None)      # (one state held at a time)
        entries.append(item)
        if offsets is not None and isinstance(item, (Entry, ChunkEntry)):
            offsets.append(start)
    return entries, scan_journal(path, header, keep, modules)


def scan_journal(path: Path, header: dict[str, Any], keep: Callable[[int, Any], None],
                 modules: frozenset[str] = frozenset()) -> int:
    """Read the journal at ``path`` through once, handing each complete entry and the offset
    it begins at to ``keep`` (which holds what it needs: an audit's resume keeps a count of
    the lines, never their outcomes), and return the byte offset just after the last complete
    entry (a half-written last one, from a kill, is cut off there). The header must match
    ``header``; the record of the files' digests (:func:`_digests`) is no entry: it is checked
    here, against the files whose inode or change time moved (:func:`_check_contents`). The
    data classes of ``modules`` (the audit's own metrics' modules) may be read back too
    (:mod:`halluscope.journal_safety`)."""
    with open(path, "rb") as fh:
        found = _checked_header(fh, path, header)
        good, digests, outcomes = fh.tell(), {}, False
        for start, end, item in journal_items(fh, path, modules):
            good = end
            if isinstance(item, dict) and "sha256" in item:
                digests = item["sha256"]    # (the last: a resume of none writes them anew)
                continue
            outcomes = outcomes or isinstance(item, (Entry, ChunkEntry))
            keep(start, item)
    if outcomes:    # (without any, the resume is a fresh run whose digests are recorded then)
        _check_contents(path, found, header, digests)
    return good


def _checked_header(fh: Any, path: Path, header: dict[str, Any]) -> dict[str, Any]:
    """The journal's header, read from ``fh``: a :class:`ConfigError` naming what differs
    when it is not ``header`` (another version or code, other inputs or options)."""
    try:
        found = _load(fh, path)
    except ConfigError:
        raise
    except Exception as exc:  # noqa: BLE001 - an empty or cut header: nothing to resume
        raise _NoHeader(f"{exc}") from None
    upgraded = _version_change(found, header)
    if upgraded:
        raise ConfigError(f"{path}: cannot resume: {upgraded}; its outcomes and this "
                          f"version's would be mixed in one result: run without --resume "
                          f"to start afresh")
    if _comparable(found) != _comparable(header := shown_files(header)):
        raise ConfigError(
            f"{path}: cannot resume: the journal was written for other inputs, options "
            f"or companion files ({_difference(found, header)}); run without --resume to "
            f"start again")
    return found


def journal_items(fh: Any, path: Path, modules: frozenset[str] = frozenset()
                  ) -> Iterator[tuple[int, int, Any]]:
    """``(start, end, item)`` of each complete pickle in ``fh`` from where it stands, one at
    a time; ends at the end of the file or at a half-written entry (from a kill)."""
    good = fh.tell()
    while True:
        try:
            item = _load(fh, path, modules)
        except EOFError:
            return
        except ConfigError:
            raise
        except Exception:  # noqa: BLE001 - a half-written entry from a kill
            log.info("%s: cutting a half-written entry at byte %d", path, good)
            return
        end = fh.tell()
        yield good, end, item
        good = end


def _check_contents(path: Path, found: dict[str, Any], header: dict[str, Any],
                    digests: dict[str, Any]) -> None:
    """A :class:`ConfigError` naming the inputs and companion files whose content changed
    (:func:`_content_changes`), for a journal with outcomes to replay."""
    changed = _content_changes(found, header, digests)
    if changed:
        raise ConfigError(
            f"{path}: cannot resume: the content of {_first(changed)} changed since the "
            f"interrupted run (another sha256, though the size and modification time are the "
            f"same: a copy that kept the old file's time, as cp -p, rsync -a or touch -r leave "
            f"it); run without --resume to start again")


class _NoHeader(Exception):
    """A journal without a readable header: killed before its header was written, so no
    outcome was journaled either."""


class Journal:
    """Appends one entry per input line; flushed every :data:`FLUSH_EVERY` entries, and when
    the last flush is :data:`FLUSH_SECONDS` old. The header is on disk at once; the files'
    digests (:func:`_digests`) follow with the first entry, or when the journal closes.

    Resumed, it holds how many lines were journaled (:attr:`lines`) and where the first one
    begins, not their entries: :meth:`replayed` reads them back from the file one at a time,
    so a resume's memory does not grow with the journal (a 100,000-line journal held ~475 MiB
    of outcomes, files' stamps and digests)."""

    _due: dict[str, Any] | None = None      # the header whose digests are still to be written

    def __init__(self, path: Path, header: dict[str, Any], resume: bool,
                 modules: frozenset[str] = frozenset()):
        self.path = path
        self.modules = modules
        self.lines = 0                  # journaled lines (Entry) that a resume replays
        self.chunks: list[ChunkEntry] = []  # or each chunk scored as columns (not both)
        self._lines_at: int | None = None   # where the first line's entry begins
        self._chunks_at: int | None = None  # where the first chunk's entry begins
        self._replaying: tuple[int, int] | None = None  # (line, offset) replayed (for cut)
        good = None
        if resume and path.is_file():
            try:
                good = scan_journal(path, header, self._keep, modules)
                if self.lines and self.chunks:      # (never written so: cut before either)
                    raise ConfigError(f"{path}: cannot resume: the journal holds lines and "
                                      f"chunks both; run without --resume to start again")
            except _NoHeader as exc:
                log.warning("--resume: the journal in %s was cut before its header was "
                            "written (%s), so nothing was scored yet; starting from the "
                            "beginning", path.parent, exc)
        elif resume:
            log.warning("--resume: no journal in %s; starting from the beginning", path.parent)
        self._open(header, good)
        self._unflushed = 0
        self._flushed_at = time.monotonic()
        self.written = self.lines

    def _keep(self, start: int, item: Any) -> None:
        """What a resume keeps of an entry read back (:func:`scan_journal`): a line is
        counted, a chunk kept (only the last one's state: one state held at a time)."""
        if isinstance(item, Entry):
            if self._lines_at is None:
                self._lines_at = start
            self.lines += 1
        elif isinstance(item, ChunkEntry):
            if self._chunks_at is None:
                self._chunks_at = start
            if self.chunks:
                self.chunks[-1] = replace(self.chunks[-1], state=None)
            self.chunks.append(item)

    def _open(self, header: dict[str, Any], good: int | None) -> None:
        """Open the file to append after the ``good`` bytes read back, or anew."""
        if good is not None:
            self.fh = open(self.path, "r+b")
            self.fh.truncate(good)
            self.fh.seek(good)
            log.info("resuming: %d input lines already scored", self.lines)
            if not self.lines and not self.chunks:     # (killed before its first entry)
                self._due = header
        else:
            self.fh = open(self.path, "wb")
            pickle.dump(shown_files(header), self.fh)
            self.fh.flush()         # a kill from here on leaves a journal that resumes
            self._due = header

    def replayed(self) -> Iterator[Entry]:
        """The journaled lines' entries, in order, read back from the file one at a time
        (the first :attr:`lines`; :meth:`cut` ends them)."""
        if not self.lines:
            return
        with open(self.path, "rb") as fh:
            fh.seek(self._lines_at)
            k = 0
            for start, _, item in journal_items(fh, self.path, self.modules):
                if not isinstance(item, Entry):
                    continue
                self._replaying = (k, start)
                yield item
                k += 1
                if k >= self.lines:
                    break
            self._replaying = None
        if k < self.lines:      # (read through once already: changed since, by no audit)
            raise ConfigError(f"{self.path}: cannot resume: the journal held {self.lines:,} "
                              f"lines when it was opened and {k:,} now; run without --resume "
                              f"to start again")

    def append(self, outcomes: Any, judges: Any = (), files: tuple = (),
               line: str = "") -> None:
        """Journal one input line's outcomes, the judge counters its scoring took, its files'
        stamps and its :func:`line_digest`."""
        self._write_digests()
        pickle.dump(Entry(outcomes, files, line, judges or ()), self.fh,
                    protocol=pickle.HIGHEST_PROTOCOL)
        self.written += 1
        self._unflushed += 1
        if self._unflushed >= FLUSH_EVERY or \
                time.monotonic() - self._flushed_at >= FLUSH_SECONDS:
            self.flush()

    @property
    def digests_due(self) -> bool:
        """Whether the files' digests are still to be written (with the first entry)."""
        return self._due is not None

    def append_chunk(self, entry: ChunkEntry) -> None:
        """Journal a chunk scored as columns (flushed at once: a chunk is seconds of work)."""
        self._write_digests()
        if self._chunks_at is None:
            self._chunks_at = self.fh.tell()
        pickle.dump(entry, self.fh, protocol=pickle.HIGHEST_PROTOCOL)
        self.fh.flush()
        if self.chunks:         # (one state held at a time)
            self.chunks[-1] = replace(self.chunks[-1], state=None)
        self.chunks.append(entry)

    def cut_chunks(self) -> None:
        """Forget every chunk journaled (the file turned out not to be read as columns: it is
        scored line by line, and journaled so, from its first line)."""
        if self.chunks:
            self.fh.flush()
            self.fh.truncate(self._chunks_at)
            self.fh.seek(self._chunks_at)
            self.chunks, self._chunks_at = [], None

    def cut(self, k: int) -> None:
        """Forget the journaled lines from the ``k``-th on (counted from 0), their judge
        counters with them: they are scored, and their calls counted, again. Called while
        :meth:`replayed` is at the ``k``-th line, which knows where its entry begins."""
        if self._replaying is None or self._replaying[0] != k:
            raise ValueError(f"cut({k}) outside the replay of line {k}")
        at = self._replaying[1]
        self.fh.flush()
        self.fh.truncate(at)
        self.fh.seek(at)
        self.lines = self.written = k

    def _write_digests(self) -> None:
        if self._due is not None:
            pickle.dump(_digests(self._due), self.fh)
            self._due = None

    def flush(self) -> None:
        self.fh.flush()
        self._unflushed = 0
        self._flushed_at = time.monotonic()

    def close(self, discard: bool = False) -> None:
        """Close the file; ``discard`` removes it too (a strict stop, which leaves nothing to
        resume). A finished pass keeps it until the outputs are written
        (:func:`discard_journal`)."""
        if not discard:
            self._write_digests()
        self.fh.close()
        if discard:
            self.path.unlink(missing_ok=True)


def discard_journal(out: Path) -> None:
    """Remove the journal of the audit whose outputs were just written into ``out``."""
    (Path(out) / JOURNAL).unlink(missing_ok=True)
