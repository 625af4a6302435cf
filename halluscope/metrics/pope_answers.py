"""POPE answer files, looked at before scoring: how many answers a file holds, where its blank
lines are and what its first answer looks like (for by-order alignment, see
:meth:`halluscope.metrics.pope.PopeMetric.begin`)."""

from __future__ import annotations

import gzip
import json
import re
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


_BLANK = re.compile(rb"\n[ \t\r\f\v]*\n")


def _count_lines(fh) -> tuple[int, list[int], dict | None] | None:
    """The scan of a file without blank lines, read in blocks (``None`` when it has one, or a
    line that is only whitespace: those are found line by line)."""
    count, first, tail = 0, None, b""
    for block in iter(lambda: fh.read(1 << 20), b""):
        block = tail + block
        cut = block.rfind(b"\n") + 1
        whole, tail = block[:cut], block[cut:]
        if _BLANK.search(b"\n" + whole):     # (the block's first line too)
            return None
        if first is None and whole:
            first = whole[:whole.index(b"\n")]
        count += whole.count(b"\n")
    if tail:
        if not tail.strip():
            return None
        first = tail if first is None else first
        count += 1
    try:
        parsed = json.loads(first) if first is not None else None
    except ValueError:
        parsed = None
    return count, [], parsed


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
        counted = _count_lines(fh)
        if counted is not None:
            return counted
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
