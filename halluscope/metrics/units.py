"""The resampling unit and the groups of a record: what the bootstrap resamples together
(:func:`unit_of`), what identity draws an item's weights (:func:`item_key`) and which groups
(``model:...``) a record joins (:func:`group_names`)."""

from __future__ import annotations

import json
import os
from typing import Any

from halluscope.records import Record
from halluscope.redact import redact_url

CLUSTER_DEFAULT = "image"
"""Items that share an image are resampled together unless ``--cluster-by`` says otherwise."""
CLUSTER_DOCUMENT = "document"
"""``--cluster-by document``: items about the same document files are resampled together,
whatever image or image id they name (one cluster per document, or per set of documents)."""


def record_field(record: Record, name: str) -> Any:
    """The value of a record field (``model``, ``task``, ``image_id``, ...) or of a metadata key
    (dotted paths reach into nested metadata); ``None`` when the record has none."""
    if name in ("id", "task", "image", "image_id", "model", "label", "question_id"):
        return getattr(record, name)
    value: Any = record.metadata
    for part in name.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def cluster_field(record: Record, name: str) -> Any:
    """The value ``--cluster-by NAME`` reads: the record's documents for ``document`` (not a
    metadata key of that name), else :func:`record_field`."""
    return record.document if name == CLUSTER_DOCUMENT else record_field(record, name)


def unit_of(record: Record, cluster_by: str | None = CLUSTER_DEFAULT,
            seen: dict[str, int] | None = None, images: ImageKeys | None = None) -> str:
    """The key of the resampling unit ``record`` belongs to: its image (``image_id``, else the
    image path, else the document) by default, its document files alone (``document``: the
    same keys as a record with no image gets by default), any field given, or the item itself
    (``item``) when the field is empty or ``cluster_by`` is ``None``/``"item"``.

    The item's own key is ``item:<id>|<question_id>``. With ``seen`` (the own keys folded so
    far, in input order), a record whose id and question id an earlier record already had is
    another item, not the same cluster: it gets its identity (:func:`item_key`, file, line and
    id) instead, so two files of captions of the same images count twice the clusters. The
    first record of an id keeps the plain key, so the weights (drawn from the key) of an input
    without repeated ids are those they always were.

    With ``images`` (the image paths folded so far, in input order), an image path clusters the
    file it names (:class:`ImageKeys`) rather than the string written."""
    own = f"item:{record.id}|{record.question_id or ''}"
    unit = _unit(record, cluster_by, own, images)
    return _distinct(own, record, seen) if seen is not None and unit == own else unit


def _unit(record: Record, cluster_by: str | None, own: str,
          images: ImageKeys | None = None) -> str:
    """:func:`unit_of` without ``seen``."""
    if cluster_by in (None, "", "item", "none"):
        return own
    if cluster_by in ("image", CLUSTER_DOCUMENT):
        values = (record.document,) if cluster_by == CLUSTER_DOCUMENT else \
            (record.image_id, record.image, record.document)
        for value in values:
            if isinstance(value, str) and value != "":
                # a URL's credentials name no other image, and the key is written (items)
                value = redact_url(value)
                if images is not None:
                    return images.key(record, value)
            if isinstance(value, (int, str)) and value != "":
                return image_unit(value)
            if isinstance(value, (list, tuple, dict)) and value:
                files = _document_files(value)
                if files:
                    return _files_unit(record, files, images)
        return own
    value = record_field(record, cluster_by)
    return own if value is None else f"{cluster_by}:{json.dumps(value, sort_keys=True)}"


def _document_files(value: Any) -> list[str]:
    """The files a record's ``document`` names that is no single path: page images, one of
    ``pdf``, ``path``, ``pages``, a list of PDFs or a mapping name -> document (the names left
    out: the same files under other names are the same documents)."""
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (list, tuple)):
        return [f for v in value for f in _document_files(v)]
    return []


def _files_unit(record: Record, files: list[str], images: ImageKeys | None) -> str:
    """The unit of the items about the documents of ``files``: the file's own unit when there
    is one (``["a.pdf"]``, ``{"pdf": "a.pdf"}`` cluster with ``"a.pdf"``), else
    ``documents:[...]``, the units of its files, sorted: records of the same files cluster
    together, in any order or under any names, and records of different ones never do."""
    keys = sorted({images.key(record, redact_url(f)) if images is not None
                   else image_unit(f) for f in files})
    if len(keys) == 1:
        return keys[0]
    return "documents:" + json.dumps([k.removeprefix("image:") for k in keys])


def image_unit(image: str | int) -> str:
    """The unit of the items about ``image`` (an id, a path or a URL): ``image:<image>``, a
    URL without its credentials (the key is written, in items.jsonl; a signature that changed
    names the same image)."""
    return f"image:{redact_url(image) if type(image) is str else image}"


def _distinct(own: str, record: Record, seen: dict[str, int]) -> str:
    """``own``, or the record's identity when an earlier record had ``own`` (the same id)."""
    count = seen.get(own, 0)
    seen[own] = count + 1
    if not count:
        return own
    identity = f"item@{item_key(record)}|{record.question_id or ''}"
    again = seen.get(identity, 0)           # the same file name, line and id (other folders)
    seen[identity] = again + 1
    return identity if not again else f"{identity}#{again}"


class ImageKeys:
    """The cluster keys of image (and document) paths, given in input order: a path is
    resolved against its record's file's folder (as :meth:`Record.image_path` reads it), so
    ``imgs/0.jpg`` and ``./imgs/0.jpg`` of one folder are one cluster, and ``0.jpg`` of
    ``a/answers.jsonl`` and of ``b/answers.jsonl`` are two.

    The key holds no folder (moving the inputs changes no weight): the first file named by a
    (normalised) string is ``image:<the string as first written>``, the key it always had; a
    different file named by the same string later (another input's folder) is
    ``image:<string>#<k>``, its ``k``-th. The resolved paths are only compared, never keyed."""

    def __init__(self) -> None:
        self.keys: dict[str, str] = {}     # the file a path names (folder joined) -> its key
        self.named: dict[str, int] = {}    # normalised path -> how many files it named so far
        self.taken: set[str] = set()
        self._folders: dict[str | None, str] = {}   # a record's file -> its folder, absolute

    def _folder(self, file: str | None) -> str:
        folder = self._folders.get(file)
        if folder is None:                 # once per input file, not a getcwd per record
            folder = os.path.abspath(os.path.dirname(file) if file and not file.startswith("<")
                                     else "")
            self._folders[file] = folder
        return folder

    def key(self, record: Record, path: str) -> str:
        """The cluster key of ``path`` (the record's image or document)."""
        if "://" in path:                  # a URL names the same thing from every folder
            where = name = path
        else:
            name = os.path.normpath(path)
            where = os.path.normpath(os.path.join(self._folder(record.source.file), path))
        key = self.keys.get(where)
        if key is None:
            count = self.named.get(name, 0)
            key = f"image:{path}" if not count else f"image:{path}#{count}"
            while key in self.taken:       # a file literally called "0.jpg#1"
                count += 1
                key = f"image:{path}#{count}"
            self.named[name] = count + 1
            self.keys[where] = key
            self.taken.add(key)
        return key

    def merge(self, other: "ImageKeys") -> None:
        """Take in the paths another shard's state keyed (its keys, where this had none)."""
        for where, key in other.keys.items():
            self.keys.setdefault(where, key)
        for name, count in other.named.items():
            self.named[name] = max(self.named.get(name, 0), count)
        self.taken |= other.taken


def group_names(record: Record, by: tuple[str, ...]) -> tuple[str, ...]:
    """The groups ``field:value`` a record joins for each field of ``by`` it has a value for."""
    out = []
    for name in by:
        value = record_field(record, name)
        if isinstance(value, str) and value != "":
            out.append(f"{name}:{redact_url(value)}")     # written: a URL's credentials not
        elif isinstance(value, (int, float, bool)):
            out.append(f"{name}:{value}")
    return tuple(out)


def item_key(record: Record) -> str:
    """The identity of a record, from which its bootstrap weights are drawn: the source file's
    name, the 1-based line and the record id (``"outputs.jsonl:12:img-7"``). The same in one
    process, in N workers and on Ray, whatever the order of scoring; records passed in memory
    without a source are keyed by their id and position (``"<records>:3:img-7"``)."""
    file = record.source.file
    name = file.replace("\\", "/").rsplit("/", 1)[-1] if file else "<records>"
    return f"{name}:{record.source.line}:{record.id}"
