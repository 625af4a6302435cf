"""The document a record carries: what its ``document`` field names (one document per
record), its paths resolved against the record's file. Split from :mod:`halluscope.records`,
which re-exports both functions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from halluscope.errors import ConfigError

_DOCUMENT_KEYS = ("pdf", "path", "pages")


def document_source(value: Any, base: Path | None) -> str | list[str] | None:
    """The document paths a record's ``document`` value names, resolved against ``base``: one
    document (a PDF, page images, or a mapping with one of ``pdf``, ``path``, ``pages``);
    several (two PDFs, a mapping with more keys) raise :class:`ConfigError`, not one of them
    read and the rest dropped unsaid."""
    if value is None:
        return None
    if isinstance(value, dict):
        given = [k for k in _DOCUMENT_KEYS if value.get(k) is not None]
        if len(given) != 1 or set(value) - set(_DOCUMENT_KEYS):
            # {"pdf": a, "pages": [...]} read the PDF alone and dropped the rest unsaid
            raise ConfigError(f"expected one document per record, named by one of "
                              f"{', '.join(map(repr, _DOCUMENT_KEYS))} in 'document', got the "
                              f"keys {', '.join(map(repr, value))}; several documents per "
                              f"record are not supported")
        value = value[given[0]]
    if isinstance(value, (list, tuple)) and sum(
            isinstance(v, str) and v.strip().lower().endswith(".pdf") for v in value) > 1:
        raise ConfigError(f"expected one document per record (a PDF, or a list of page images),"
                          f" got {sum(str(v).strip().lower().endswith('.pdf') for v in value)} "
                          f"PDFs in 'document'; several documents per record are not supported:"
                          f" give each its own record")

    def resolve(v: Any) -> str:
        if not str(v).strip():      # it was read as the input's folder: "got ."
            raise ConfigError(f"expected a PDF path or a list of page images as 'document', "
                              f"got an empty path in {value!r:.80}")
        p = Path(str(v))
        return str(p if p.is_absolute() or base is None else base / p)
    if isinstance(value, str):
        return resolve(value)
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, str) for v in value):
        return [resolve(v) for v in value]
    raise ConfigError(f"expected a PDF path or a list of page images as 'document', got "
                      f"{value!r:.80}")


def file_folder(file: str | Path) -> Path:
    """The folder a record's relative paths are read against: its file's, where the file is
    when it is a symbolic link (``halluscope query`` writes them so, through a link too)."""
    path = Path(file)
    return path.resolve().parent if path.is_symlink() else path.parent


def record_document_source(record: Any) -> str | list[str] | None:
    """:func:`document_source` of a record's ``document``, resolved against its file's folder."""
    document = getattr(record, "document", None)
    if document is None:        # (most records: no Path of their file made for nothing)
        return None
    source = getattr(record, "source", None)
    file = getattr(source, "file", None)
    base = file_folder(file) if file and not str(file).startswith("<") else None
    return document_source(document, base)
