"""The documents a record carries: what its ``document`` field names, its paths resolved
against the record's file. One document (a PDF, page images, or a mapping with one of
``pdf``, ``path``, ``pages``) or several: a list of PDFs, or a mapping name -> document (a PDF,
or a list of page images), each named for the citations that name it. Split from
:mod:`halluscope.records`, which re-exports its functions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from halluscope.errors import ConfigError

_DOCUMENT_KEYS = ("pdf", "path", "pages")


Source = str | list[str]
"""One document's resolved paths: a PDF or page image, or a list of page images."""


def document_source(value: Any, base: Path | None) -> Source | dict[str, Source] | None:
    """The document paths a record's ``document`` value names, resolved against ``base``: one
    document (a PDF, page images, or a mapping with one of ``pdf``, ``path``, ``pages``) as a
    path or a list of page-image paths; several (a list of PDFs, a mapping of names to
    documents: :func:`several_documents`) as a ``dict`` name -> one document's paths. What
    fits neither (``{"pdf": ..., "pages": [...]}``, PDFs among page images) raises
    :class:`ConfigError`, never one of them read and the rest dropped unsaid."""
    if value is None:
        return None
    several = several_documents(value, base)
    if several is not None:
        return several
    return _one_document(value, base)


def several_documents(value: Any, base: Path | None) -> dict[str, Source] | None:
    """The documents of a ``document`` value that names several, name -> resolved paths, or
    ``None`` when it names one (or none). Several are a list of PDFs (each named by its file
    name: two of one name are refused, a citation could not tell them apart) or a mapping whose
    keys are names (not ``pdf``, ``path``, ``pages``) and whose values are a PDF or page-image
    path, or a list of page images."""
    if isinstance(value, (list, tuple)):
        pdfs = [_is_pdf(v) for v in value]
        if sum(pdfs) < 2:
            return None
        if not all(pdfs):
            raise ConfigError(f"expected a list of PDFs (several documents) or a list of page "
                              f"images (one document) as 'document', got {sum(pdfs)} PDFs "
                              f"and {len(value) - sum(pdfs)} other entries in {value!r:.80}")
        named = [(_file_name(v), v) for v in value]
    elif isinstance(value, dict) and value and not set(value) & set(_DOCUMENT_KEYS):
        named = list(value.items())
        for k, v in named:
            if not isinstance(k, str) or not k.strip():
                raise ConfigError(f"expected a name for each document in 'document', got "
                                  f"{k!r:.40}")
            if isinstance(v, dict) or v is None:
                raise ConfigError(f"expected a PDF path or a list of page images for the "
                                  f"document {k!r:.40} in 'document', got {v!r:.80}")
    else:
        return None
    out: dict[str, Source] = {}
    for name, v in named:
        if _file_name(name).lower() in {_file_name(n).lower() for n in out}:
            raise ConfigError(f"expected documents of distinct names in 'document', got "
                              f"{_file_name(name)} twice (a citation names its document by "
                              f"its file name: name each document in a mapping instead)")
        out[name] = _one_document(v, base)
    return out


def _is_pdf(value: Any) -> bool:
    """Whether a ``document`` entry is a path that names a PDF."""
    return isinstance(value, str) and value.strip().lower().endswith(".pdf")


def _is_text(value: str) -> bool:
    """Whether a ``document`` entry is text rather than a file name: a line end, or words
    apart with no document or image suffix (``"Revenue reached 4,210 units."``)."""
    v = value.strip()
    return "\n" in v or (any(c.isspace() for c in v)
                         and not v.lower().endswith(_DOCUMENT_SUFFIXES))


def _file_name(path: str) -> str:
    """A path's file name, folders (``/`` or ``\\``) left out."""
    return str(path).replace("\\", "/").rsplit("/", 1)[-1].strip()


def _one_document(value: Any, base: Path | None) -> Source:
    """The resolved paths of a ``document`` value that names one document."""
    if isinstance(value, dict):
        given = [k for k in _DOCUMENT_KEYS if value.get(k) is not None]
        if len(given) != 1 or set(value) - set(_DOCUMENT_KEYS):
            # {"pdf": a, "pages": [...]} read the PDF alone and dropped the rest unsaid
            raise ConfigError(f"expected one document, named by one of "
                              f"{', '.join(map(repr, _DOCUMENT_KEYS))} in 'document', got the "
                              f"keys {', '.join(map(repr, value))}; several documents are a "
                              f"mapping of names to documents without those keys, or a list "
                              f"of PDFs")
        value = value[given[0]]
    pdfs = sum(map(_is_pdf, value)) if isinstance(value, (list, tuple)) else 0
    if pdfs > 1:
        raise ConfigError(f"expected one document (a PDF, or a list of page images), got "
                          f"{pdfs} PDFs in {value!r:.80}; several documents are a list of "
                          f"PDFs or a mapping of names to documents in 'document'")

    def resolve(v: Any) -> str:
        if not str(v).strip():      # it was read as the input's folder: "got ."
            raise ConfigError(f"expected a PDF path or a list of page images as 'document', "
                              f"got an empty path in {value!r:.80}")
        if _is_text(str(v)):        # was "got /data/Revenue reached 4,210 units in 2023."
            raise ConfigError(f"expected a PDF path or a list of page images as 'document', "
                              f"got text, not a file name: {str(v).strip()!r:.60}; a "
                              f"document's page texts are not read (give its PDF or page "
                              f"images)")
        p = Path(str(v))
        return str(p if p.is_absolute() or base is None else base / p)
    if isinstance(value, str):
        return resolve(value)
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, str) for v in value):
        return [resolve(v) for v in value]
    raise ConfigError(f"expected a PDF path or a list of page images as 'document', got "
                      f"{value!r:.80}")


_DOCUMENT_SUFFIXES = (".pdf", ".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".gif")


def document_aliases(name: str, files: Any) -> dict[str, str]:
    """What a citation may call the document ``name`` of a record's several whose paths are
    ``files`` (a path, or a list of page images), lower case -> how it names it (``""``: by
    its name; `` by its file report.pdf``): its name in the record (and that name's file name
    and stem), its PDF's (or one page image's) file name and stem, its page images' file
    names."""
    files = [files] if isinstance(files, (str, Path)) else list(files)
    out: dict[str, str] = {}
    for i, f in enumerate([name, *files]):
        base = _file_name(str(f))
        how = "" if i == 0 else f" by its file {base}"
        stem = base.rsplit(".", 1)[0] if base.lower().endswith(_DOCUMENT_SUFFIXES) else base
        keep = [" ".join(str(f).split()).lower()] if i == 0 else []
        if i == 0 or len(files) == 1:
            keep.append(" ".join(stem.split()).lower())
        for k in [*keep, base.lower()]:
            out.setdefault(k, how)
    return out


def citation_names(documents: dict[str, Any]) -> tuple[str, ...]:
    """The names a citation in prose may give a record's several documents (name -> paths:
    :func:`several_documents`), for the citation parser to find beside a citation."""
    return tuple(dict.fromkeys(a for n, f in documents.items()
                               for a in document_aliases(n, f)))


def record_citation_names(record: Any) -> tuple[str, ...]:
    """:func:`citation_names` of a record's ``document`` when it names several documents
    (none opened), else ``()``; a ``document`` that names none readable: ``()`` too (its
    error is the record's, reported where the document is opened)."""
    try:
        several = several_documents(getattr(record, "document", None), None)
    except ConfigError:
        return ()
    return citation_names(several) if several else ()


def file_folder(file: str | Path) -> Path:
    """The folder a record's relative paths are read against: its file's, where the file is
    when it is a symbolic link (``halluscope query`` writes them so, through a link too)."""
    path = Path(file)
    return path.resolve().parent if path.is_symlink() else path.parent


def record_document_source(record: Any) -> Source | dict[str, Source] | None:
    """:func:`document_source` of a record's ``document``, resolved against its file's folder
    (a ``dict`` name -> paths when it carries several documents)."""
    document = getattr(record, "document", None)
    if document is None:        # (most records: no Path of their file made for nothing)
        return None
    source = getattr(record, "source", None)
    file = getattr(source, "file", None)
    base = file_folder(file) if file and not str(file).startswith("<") else None
    return document_source(document, base)
