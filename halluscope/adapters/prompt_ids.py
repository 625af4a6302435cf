"""What ``halluscope query`` says about a prompt id used twice. A prompt line without an id
(``id``, ``question_id`` or ``image_id``) gets its line number as id; when that number is also
another line's own id, "duplicate id '1'" alone sent people looking for two lines that say
``"id": 1``. The message says which line had no id and was given its number."""

from __future__ import annotations

from typing import Any


def duplicate_id_problem(item: Any, first_line: int | None, first_from_line: bool) -> str:
    """The problem line for ``item`` (a prompt item: ``id``, ``line``, ``file``,
    ``id_from_line``) whose id the prompt on ``first_line`` already has (``first_from_line``:
    that line had no id and was given its line number)."""
    where = f"{item.file}:{item.line}" if item.file else f"line {item.line}"
    if first_from_line:
        how = (f"line {first_line} had no id and was given its line number {item.id} as id, "
               f"which this line also has; give every line its own 'id'")
    elif getattr(item, "id_from_line", False):
        how = (f"this line has no id and was given its line number {item.id} as id, which "
               f"line {first_line} has as its own id; give every line its own 'id'")
    else:
        how = f"first on line {first_line}"
    return (f"{where}: duplicate id {item.id!r} ({how}); ids must be unique for resuming to "
            f"work")
