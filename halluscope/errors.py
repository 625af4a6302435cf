"""Errors raised by halluscope.

Every error halluscope raises on purpose derives from :class:`HalluscopeError`::

    HalluscopeError
    ├── InputError            bad input data; names file, line and field when known
    │   ├── RecordError       one record (one line) is malformed or misses a field
    │   │   ├── UnreadableImage   its image or document page cannot be read (imageio.open_image)
    │   │   └── WithheldAnswer    a filter withheld its answer (its finish reason: finish_reasons)
    │   └── AlignmentError    answers cannot be aligned with questions (count mismatch, unknown id)
    ├── ConfigError           bad options, unknown metric/variant/parser, missing companion file
    │   ├── UnknownNameError  an unknown metric, statistic, group or option (suggests the nearest)
    │   ├── GateArgumentError a gate's threshold, bound, tolerance or name of the wrong kind
    │   └── PinMismatch       a judge answered as another model than its pin (judges.judge)
    ├── MissingExtraError     an optional dependency is not installed (names the pip command)
    ├── CacheMiss             offline mode: a model/judge answer is not in the response cache
    └── GateFailed            a ``--fail-above``/``--fail-below`` gate was crossed (CLI exit code 1)

Messages follow the house rule: what was expected, what was found, and where (``file:line``).
"""

from __future__ import annotations

import difflib
import errno
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


#: Errors of a write that the disk refused (full, over quota, a file too large, read-only).
WRITE_ERRNOS = frozenset(getattr(errno, name) for name in ("ENOSPC", "EDQUOT", "EFBIG", "EROFS")
                         if hasattr(errno, name))


class HalluscopeError(Exception):
    """Base class of all halluscope errors."""


class ConfigError(HalluscopeError):
    """An option, metric name, variant or companion file is wrong or missing."""


class GateArgumentError(ConfigError, ValueError):
    """A gate's threshold, bound, tolerance or metric name is of the wrong kind (``"0.5"`` as a
    threshold, nan, ``bound="uper"``): the same error, with the same message, from
    ``assert_below``/``assert_above``, ``gate_failures`` and the pytest plugin. A ``ValueError``
    too, as these checks raised before."""


def suggest(name: str, known: Iterable[str], n: int = 3) -> str:
    """``"; did you mean 'a' or 'b'?"`` for the nearest of ``known`` (empty when none is): the
    hint an :class:`UnknownNameError` message carries."""
    close = difflib.get_close_matches(name, list(known), n=n, cutoff=0.6)
    if not close:
        return ""
    quoted = [repr(c) for c in close]
    return "; did you mean " + (" or ".join(quoted) if len(quoted) < 3
                                else ", ".join(quoted[:-1]) + " or " + quoted[-1]) + "?"


class UnknownNameError(ConfigError, KeyError):
    """An unknown metric, statistic, group or option name; the message names the nearest known
    ones. Also a ``KeyError``, for callers that look names up."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class MissingExtraError(HalluscopeError, ImportError):
    """An optional dependency is missing; the message names the pip command that installs it."""

    def __init__(self, what: str, extra: str, package: str | None = None):
        self.extra = extra
        hint = f'pip install "halluscope[{extra}]"'
        if package:
            hint += f" (or: pip install {package})"
        super().__init__(f"{what} needs the optional extra '{extra}': {hint}")


class CacheMiss(HalluscopeError):
    """Offline mode (``HALLUSCOPE_OFFLINE=1``, ``options["offline"]``, ``offline=True``) needs an
    answer that the response cache does not hold; no connection was opened to get it.

    Attributes:
        model: The model (or judge pin) that would have been asked.
        cache_path: The cache file looked in (``None`` when caching was off).
        record_id: The record the answer was for, when known.
        role: ``model`` or ``judge``.
    """

    def __init__(self, model: str, cache_path: str | None, *, record_id: str | None = None,
                 role: str = "model", at: str | None = None):
        self.model = model
        self.cache_path = cache_path
        self.record_id = record_id
        self.role = role
        self.at = at
        where = f"in the cache {cache_path}" if cache_path else "(caching is off)"
        record = f"record {record_id!r}" if record_id is not None else "a request"
        if at:
            record += f" ({at})"
        super().__init__(f"offline mode: no cached answer of {role} {model!r} for {record} "
                         f"{where}; run once without offline mode (HALLUSCOPE_OFFLINE, "
                         f"--offline, options['offline']) to fill the cache")

    def for_record(self, record_id: str | None, file: str | None = None,
                   line: int | None = None) -> "CacheMiss":
        """The same miss, naming ``record_id`` and where it is (``file:line``; callers that
        know the record add them)."""
        if record_id is None or self.record_id is not None:
            return self
        at = (f"{file}:{line}" if file and line is not None else f"line {line}"
              if line is not None else file)
        return CacheMiss(self.model, self.cache_path, record_id=record_id, role=self.role, at=at)


class InputError(HalluscopeError):
    """Input data is malformed."""


@dataclass(frozen=True)
class Location:
    """Where a problem was found: a file, a 1-based line number and a field name."""

    file: str | None = None
    line: int | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = self.file or "<input>"
        if self.line is not None:
            where += f":{self.line}"
        if self.field:
            where += f": field '{self.field}'"
        return where


class RecordError(InputError):
    """One record is malformed; carries its :class:`Location`.

    Code below the engines (checks, evidence sources, a metric's own rules) raises it without
    a file and line when it does not know them; the engine that scores the record locates it
    (:meth:`located`), in one place."""

    #: The bad line's own id, when it has a plain one (``None`` otherwise).
    record_id: str | None = None
    #: The record's element number (from 1) where it is an element of a JSON array, whose
    #: line may hold others (``json.dump`` writes the whole array on line 1); else ``None``.
    element: int | None = None

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None,
                 field: str | None = None):
        self.location = Location(file, line, field)
        self.message = message
        super().__init__(f"{self.location}: {message}")

    def at(self, file: str | None, line: int | None, field: str | None = None
           ) -> "RecordError":
        """The same error (its type, message, field and id) located at ``file:line``, with
        ``field`` instead of its own when given."""
        return _record_error(type(self), self.message, file, line,
                             field or self.location.field, self.record_id, self.element)

    def located(self, source) -> "RecordError":
        """This error at ``source``'s ``file:line`` (a record's :class:`~halluscope.records.
        Source`), unless it already names a file or a line; the engines call it where a
        record is scored. At the record's own line, an element of a JSON array (``source.
        array``) is named too (:attr:`element`)."""
        out = self
        if self.location.file is None and self.location.line is None:
            out = self.at(source.file, source.line)
        if (getattr(source, "array", False) and out.element is None
                and (out.location.file, out.location.line) == (source.file, source.line)):
            out.element = source.index
        return out

    def __str__(self) -> str:
        """``file:line: ...``, with the element after the line where known (``file:1
        (element 57): field 'category': ...``)."""
        text = super().__str__()
        head = f"{self.location.file or '<input>'}:{self.location.line}"
        if self.element is not None and self.location.line is not None and text.startswith(head):
            text = f"{head} (element {self.element:,})" + text[len(head):]
        return text

    def to_dict(self) -> dict:
        out = {"file": self.location.file, "line": self.location.line,
               "field": self.location.field, "message": self.message}
        if self.record_id is not None:
            out["id"] = self.record_id
        if self.element is not None:
            out["element"] = self.element
        return out

    def __reduce__(self):
        """Pickle by message and location (errors cross process boundaries from workers)."""
        return (_record_error, (type(self), self.message, self.location.file,
                                self.location.line, self.location.field, self.record_id,
                                self.element))


class WithheldAnswer(RecordError):
    """A record whose finish reason says a provider's filter, a safety stop or a refusal
    withheld the model's answer (``content_filter``, ``refusal``, ``SAFETY``, ...): not the
    model's answer, never scored (:mod:`halluscope.finish_reasons`)."""


def _record_error(cls, message, file, line, field, record_id=None, element=None):
    err = cls(message, file=file, line=line, field=field)
    err.record_id, err.element = record_id, element
    return err


class ReadingStopped(RecordError):
    """A syntax error that stopped the reading of a file before its end: a JSON array or
    object read one element (or entry) at a time cannot go on past it, so what follows in the
    file was not read and is in no number (:mod:`halluscope.json_array`). Listed as a bad
    record, marked ``reading_stopped`` in ``results.json``; the audit exits 2 and the pytest
    plugin fails the test, whatever the gates say.

    Attributes:
        unread: About how many elements follow it, counted from the file's commas and
            brackets where that count can be trusted (the array's ``]`` found, nothing after
            it); ``None`` where it cannot.
    """

    unread: int | None = None

    def to_dict(self) -> dict:
        out = super().to_dict()
        out["reading_stopped"] = True
        if self.unread is not None:
            out["unread"] = self.unread
        return out

    def __reduce__(self):
        return (_stopped, (self.message, self.location.file, self.location.line,
                           self.location.field, self.element, self.unread))


def _stopped(message, file, line, field, element=None, unread=None):
    err = ReadingStopped(message, file=file, line=line, field=field)
    err.element, err.unread = element, unread
    return err


class AlignmentError(InputError):
    """Answers and questions do not line up."""


class GateFailed(HalluscopeError):
    """One or more quality gates were crossed."""

    def __init__(self, failures: list[str]):
        self.failures = failures
        super().__init__("; ".join(failures))


class UnreadableImage(RecordError):
    """A record's image or document page cannot be read: missing, not an image, a directory, a
    broken or odd symlink, truncated or corrupt, over the pixel limit, or an unreadable PDF page.

    Raised by :func:`halluscope.imageio.open_image` (which knows the path, not the record);
    :meth:`at` names the record's file and line. Metrics count such records apart
    (``tallies.unreadable``) and the audit lists them as bad records.

    Attributes:
        path: The image or document that could not be read.
        reason: Why, in words ("not found", "not an image", "truncated or corrupt: ...").
    """

    def __init__(self, reason: str, *, path: str | None = None, file: str | None = None,
                 line: int | None = None, field: str | None = "image"):
        self.path = path
        self.reason = reason
        thing = "document" if field == "document" else "image"
        what = f"cannot read {thing} {path}: " if path else f"cannot read {thing}: "
        super().__init__(what + reason, file=file, line=line, field=field)
        if file is None and line is None:        # not yet located: no "<input>:" prefix
            self.args = (self.message,)

    def at(self, file: str | None, line: int | None, field: str | None = None
           ) -> "UnreadableImage":
        """The same error located at a record's ``file:line``."""
        out = UnreadableImage(self.reason, path=self.path, file=file, line=line,
                              field=field or self.location.field)
        out.element = self.element
        return out

    def to_dict(self) -> dict:
        out = super().to_dict()
        out["kind"] = "unreadable_image"
        out["path"] = self.path
        return out

    def __reduce__(self):
        """Pickle by reason and path (RecordError's way made a worker's error say "cannot read
        image: cannot read image X: ..." with no path: items differed by engine)."""
        return (_unreadable, (self.reason, self.path, self.location.file, self.location.line,
                              self.location.field, self.element))


def _unreadable(reason, path, file, line, field, element=None):
    err = UnreadableImage(reason, path=path, file=file, line=line, field=field)
    err.element = element
    return err


def failed_outcome(exc: Exception, metric: str, rec: Any) -> tuple[str, Any]:
    """A metric's outcome for record ``rec`` that raised ``exc``: a :class:`RecordError` is the
    record's problem, located at its source (``("error", ...)``); anything else is the
    metric's bug, raised again with a note naming the metric and the record (file and line):
    the traceback said "RuntimeError: ..." with neither, and a metric of one's own that failed
    on one record of 50,000 left that record to be found by hand."""
    source = rec.source
    if isinstance(exc, RecordError):
        return ("error", exc.located(source))
    where = f"{source.file}:{source.line}" if source.file and source.line is not None else \
        source.file
    exc.add_note(f"while metric {metric!r} scored record {rec.id!r}"
                 + (f" ({where})" if where else ""))
    raise exc
