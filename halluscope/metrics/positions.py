"""An answer's position among the answers of its file, for the benchmarks whose original
scorers align the i-th answer with the i-th question (Object HalBench, MMHal-Bench's template,
Reefknot's pairs of consecutive rows): the record's line, less the blank lines before it. A blank
line shifted every later answer onto the next question before (a line number is not a
position)."""

from __future__ import annotations

import bisect
import threading
from pathlib import Path

from halluscope.records import Record

_BLANKS: dict[str, list[int]] = {}
_LOCK = threading.Lock()


def _blank_lines(file: str) -> list[int]:
    """The line numbers of ``file``'s blank lines (none for tables and JSON arrays), blank as
    the reader skips them (:mod:`halluscope.textfiles`: a BOM-only first line, a line of
    Unicode whitespace)."""
    with _LOCK:
        found = _BLANKS.get(file)
    if found is None:
        from halluscope.metrics.pope_answers import scan_answers
        from halluscope.tables import is_table
        found = []
        if not is_table(file):     # tables number their data rows
            scanned = scan_answers(Path(file))
            found = list(scanned[1]) if scanned is not None else []
        with _LOCK:
            _BLANKS[file] = found
    return found


def position(record: Record) -> int | None:
    """0-based position of ``record`` among its file's records; ``None`` without a line."""
    src = record.source
    if src is not None and getattr(src, "index", None) is not None:
        return src.index - 1          # a JSON array's element, a table's row
    if src is None or src.line is None:
        return None
    if not src.file:
        return src.line - 1
    return src.line - 1 - bisect.bisect_left(_blank_lines(src.file), src.line)


__all__ = ["position"]
