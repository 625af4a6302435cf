"""POPE answer files, looked at before scoring: how many answers a file holds, where its blank
lines are and what its first answer looks like (for by-order alignment, see
:meth:`halluscope.metrics.pope.PopeMetric.begin`)."""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from pathlib import Path

__all__ = ["AnswerFile", "scan_answers"]


@dataclass
class AnswerFile:
    """What :meth:`PopeMetric.begin` learned about one answer file."""

    path: str
    n_answers: int
    blank_lines: list[int]
    by_order: bool


def scan_answers(path: Path) -> tuple[int, list[int], dict | None] | None:
    """(non-blank lines, line numbers of blank lines, first object) or ``None`` if unreadable."""
    try:
        if path.suffix == ".gz":
            fh = gzip.open(path, "rb")
        else:
            fh = open(path, "rb")
    except OSError:
        return None
    count, blanks, first = 0, [], None
    with fh:
        head = fh.read(1 << 16)
        if head.lstrip().startswith(b"["):
            try:
                arr = json.loads((head + fh.read()).decode("utf-8"))
            except (ValueError, UnicodeDecodeError):
                return None
            if not isinstance(arr, list):
                return None
            return len(arr), [], (arr[0] if arr else None)
        fh.seek(0)
        for lineno, line in enumerate(fh, 1):
            if line.strip():
                if count == 0:
                    try:
                        first = json.loads(line)
                    except ValueError:
                        first = None
                count += 1
            else:
                blanks.append(lineno)
    return count, blanks, first
