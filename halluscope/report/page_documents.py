"""The document of an item the report draws pages of: opened without OCR (the report reads
text layers only) at :data:`RENDER_DPI`, from the item's ``document`` field or, failing that,
found by name next to its source file; of an item carrying several documents, each. Split
from :mod:`halluscope.report.citations`, which uses it."""

from __future__ import annotations

import glob
from collections.abc import Mapping
from pathlib import Path
from typing import Any

#: Resolution pages are rendered at for the report (then shrunk to ≤ 480 px wide).
RENDER_DPI = 100


# -- documents ----------------------------------------------------------------------------------
class _NoOcr:
    """An OCR engine that refuses: the report reads text layers only, never runs OCR."""

    name = "none"

    def read(self, image: Any):
        raise LookupError("the report does not run OCR")

    def provenance(self) -> dict[str, Any]:
        return {"name": "none"}


def _source_dir(item: Mapping[str, Any]) -> Path | None:
    source = item.get("source")
    if not isinstance(source, str) or not source or source.startswith("<"):
        return None
    file, sep, line = source.rpartition(":")
    return Path(file if sep and line.isdigit() else source).parent


def _find(name: str, base: Path) -> Path | None:
    """``name`` (a bare file name) in ``base`` or up to two folders below it."""
    if not name or name != Path(name).name or name in (".", ".."):
        return None
    pattern = glob.escape(name)
    for depth in ("", "*/", "*/*/"):
        hits = sorted(base.glob(depth + pattern))
        if hits and hits[0].is_file():
            return hits[0]
    return None


def document_for(item: Mapping[str, Any], payload: Mapping[str, Any]):
    """The item's document, opened without OCR at :data:`RENDER_DPI`, or a string saying why
    there is none. The item's ``document`` field is used when it has one; otherwise the
    payload's document name is looked for next to the item's source file (and up to two
    folders below), and accepted when its page count is the payload's."""
    from halluscope.errors import ConfigError
    from halluscope.evidence.documents import document_source

    base = _source_dir(item)
    try:
        source = document_source(item.get("document"), base) if item.get("document") else None
    except ConfigError as exc:
        return str(exc)
    if isinstance(source, dict):        # several: name -> each opened (or why not)
        return {k: _opened(v, k, None) for k, v in source.items()}
    name = str(payload.get("document") or "")
    if source is None:
        if base is None or not name:
            return "document not found locally"
        names = [name] if name.lower().endswith(".pdf") else name.split(", ")
        found = [_find(n, base) for n in names]
        if not all(found):
            return f"{name} not found next to {base}"
        source = str(found[0]) if len(found) == 1 and names == [name] else [str(f) for f in found]
    return _opened(source, name, payload.get("pages"))


def _opened(source: Any, name: str, n_pages: Any):
    """The document of ``source`` opened without OCR, or why not (it cannot be opened, or has
    not the ``n_pages`` the audit saw)."""
    from halluscope.evidence.documents import Document
    try:
        doc = Document(source, ocr=_NoOcr(), dpi=RENDER_DPI)
    except Exception as exc:  # noqa: BLE001 - missing file, pdfium error, no pypdfium2
        return f"cannot open {name or source}: {exc}"
    if isinstance(n_pages, int) and doc.n_pages != n_pages:
        doc.close()
        return f"{name} found locally has {doc.n_pages} pages, the audit saw {n_pages}"
    return doc


def open_item_document(item: Mapping[str, Any], payload: Mapping[str, Any], images: Any,
                   n_pages: int | None) -> Any:
    """The item's document from ``images``' cache of open documents (opened once per
    document), a string saying why there is none, or ``None`` without ``images``."""
    if images is None:
        return None
    key = ("document", str(item.get("document") or ""), str(payload.get("document") or ""),
           str(_source_dir(item)), n_pages)
    if key not in images.documents:
        images.documents[key] = document_for(item, payload)
    return images.documents[key]
