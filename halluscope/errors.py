"""Errors raised by halluscope.

Every error halluscope raises on purpose derives from :class:`HalluscopeError`::

    HalluscopeError
    ├── InputError            bad input data; names file, line and field when known
    │   ├── RecordError       one record (one line) is malformed or misses a field
    │   └── AlignmentError    answers cannot be aligned with questions (count mismatch, unknown id)
    ├── ConfigError           bad options, unknown metric/variant/parser, missing companion file
    ├── MissingExtraError     an optional dependency is not installed (names the pip command)
    └── GateFailed            a ``--fail-above``/``--fail-below`` gate was crossed (CLI exit code 1)

Messages follow the house rule: what was expected, what was found, and where (``file:line``).
"""

from __future__ import annotations

from dataclasses import dataclass


class HalluscopeError(Exception):
    """Base class of all halluscope errors."""


class ConfigError(HalluscopeError):
    """An option, metric name, variant or companion file is wrong or missing."""


class MissingExtraError(HalluscopeError, ImportError):
    """An optional dependency is missing; the message names the pip command that installs it."""

    def __init__(self, what: str, extra: str, package: str | None = None):
        self.extra = extra
        hint = f'pip install "halluscope[{extra}]"'
        if package:
            hint += f" (or: pip install {package})"
        super().__init__(f"{what} needs the optional extra '{extra}': {hint}")


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
    """One record is malformed; carries its :class:`Location`."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None,
                 field: str | None = None):
        self.location = Location(file, line, field)
        self.message = message
        super().__init__(f"{self.location}: {message}")

    def to_dict(self) -> dict:
        return {"file": self.location.file, "line": self.location.line,
                "field": self.location.field, "message": self.message}


class AlignmentError(InputError):
    """Answers and questions do not line up."""


class GateFailed(HalluscopeError):
    """One or more quality gates were crossed."""

    def __init__(self, failures: list[str]):
        self.failures = failures
        super().__init__("; ".join(failures))
