"""On-disk cache of evidence (detections, colour measurements, OCR text), keyed by content.

A cached answer is reused only when everything that decides it is the same: the image's
sha256 and the version of the rules that decode it into pixels (:func:`pixels_key`), the
backend, the weights' hash and the backend's configuration, the type of device a torch model
runs on (``cpu``, ``cuda``: a GPU's kernels give other scores; ``cuda:0`` and ``cuda:1`` alike),
plus, for open-vocabulary detectors, the phrases asked. Entries are small JSON files under
``<cache dir>/<namespace>/<key[:2]>/<key>.json``, written atomically, so that concurrent
audits can share a folder and a re-audit of the same records runs no model at all.

The folder is the ``cache_dir`` an :class:`~halluscope.config.AuditConfig` names, else
halluscope's cache folder (:func:`halluscope.cachedir.default_cache_dir`: ``$HALLUSCOPE_CACHE``,
else ``~/.cache/halluscope``). ``HALLUSCOPE_CACHE=off`` disables caching.

Hashing a multi-gigabyte checkpoint for every run would cost more than it saves, so
:func:`weights_hash` remembers each file's hash in ``weights-index.json`` by absolute path,
size, modification time, inode and status-change time.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import os
import threading
from pathlib import Path
from collections.abc import Callable
from typing import Any

import numpy as np

from halluscope.atomicfiles import PRIVATE, write_text_atomically
from halluscope.cachedir import default_cache_dir
from halluscope.hashing import hash_index, indexed_sha256, sha256_file
from halluscope.packages import installed_version

log = logging.getLogger(__name__)

_CHUNK = 1 << 20


def evidence_cache_dir(config: Any = None) -> Path | None:
    """The folder of the evidence cache: ``config.cache_dir`` when set, else halluscope's cache
    folder; ``None`` when caching is off."""
    configured = getattr(config, "cache_dir", None) if config is not None else None
    if configured:
        return Path(configured).expanduser()
    return default_cache_dir()


def image_sha256(image: Any) -> str:
    """sha256 of an image: of the file's bytes for a path, of the RGB pixels otherwise. What
    the file decodes to also depends on halluscope's decoding rules: cache evidence under
    :func:`pixels_key`, never under this hash alone."""
    if isinstance(image, (str, os.PathLike)):
        return sha256_file(image)
    from halluscope.evidence.detect import load_rgb

    arr = load_rgb(image)
    h = hashlib.sha256(f"rgb{arr.shape}".encode())
    h.update(arr.tobytes())
    return h.hexdigest()


def pixels_key(kind: str, sha: str, *parts: Any) -> str:
    """The cache key of evidence of ``kind`` computed from the decoded pixels of the image
    whose :func:`image_sha256` is ``sha``: that hash, the version of the decoding rules
    (:data:`halluscope.imageio.DECODING_RULES`) and ``parts`` (what else decides it: the
    component's identity, its options, the phrases asked). The same file bytes decode to
    other pixels when the rules change (a 16-bit PNG that was a white picture, an EXIF-turned
    photo read on its side), so entries computed under older rules miss."""
    from halluscope import imageio
    return EvidenceCache.key(kind, sha, {"decoding": imageio.DECODING_RULES}, *parts)


def config_hash(obj: Any) -> str:
    """A short stable hash of a JSON-able configuration."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _index_path() -> Path | None:
    root = default_cache_dir()
    return None if root is None else root / "weights-index.json"


_WEIGHT_SUFFIXES = {".safetensors", ".bin", ".pth", ".pt", ".ckpt", ".pb", ".pbtxt", ".onnx",
                    ".json", ".txt", ".model", ".py"}


def weights_hash(path: str | os.PathLike) -> str:
    """sha256 (first 16 hex digits) of a weights file, or of the weight/config files of a folder
    (names and contents, in name order). Each file's digest is remembered in
    ``weights-index.json`` by :func:`~halluscope.hashing.indexed_sha256` (path, size, mtime,
    inode, change time)."""
    p = Path(path)
    files = [p] if p.is_file() else sorted(
        f for f in p.rglob("*") if f.is_file() and f.suffix in _WEIGHT_SUFFIXES
        and ".cache" not in f.parts)
    if not files:
        raise FileNotFoundError(f"expected a weights file or folder, got {p}")
    h = hashlib.sha256()
    with hash_index(_index_path()) as index:
        for f in files:
            h.update(str(f.relative_to(p) if f != p else f.name).encode())
            h.update(indexed_sha256(f, index).encode())
    return h.hexdigest()[:16]


def hub_revision(repo_id: str) -> str | None:
    """The commit of the snapshot of hub model ``repo_id`` the local Hugging Face cache
    holds (what ``from_pretrained`` loads offline), or ``None``. A hub id alone keyed the
    evidence, so a newer snapshot of the weights reused the old weights' results."""
    try:
        from huggingface_hub import try_to_load_from_cache
        found = try_to_load_from_cache(repo_id, "config.json")
    except Exception:                                    # noqa: BLE001 - no hub client, bad id
        return None
    return Path(found).parent.name if isinstance(found, str) else None


def hf_model_identity(source: str) -> dict[str, Any]:
    """What decides the output of a transformers model given as a local folder or a hub id
    (an ``hf:`` detector, an ``hf-sam:`` segmenter), read without loading it: the folder's
    weights hash, or the hub id and the commit of the snapshot the local cache loads
    (:func:`hub_revision`); and the transformers and torch versions (transformers' model code
    and torch's kernels change the numbers a release computes, as for a local answering model:
    :class:`halluscope.adapters.hf_local.HFLocalModel`)."""
    p = Path(source).expanduser()
    ident: dict[str, Any] = ({"model": weights_hash(p)} if p.exists() else
                             {"model": source, "revision": hub_revision(source)})
    ident["transformers"] = installed_version("transformers")
    ident["torch"] = installed_version("torch")
    return ident


def _atomic_write(path: Path, text: str) -> None:
    """``text`` at ``path``, written atomically; a cache file, its owner's only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomically(path, text, mode=PRIVATE)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


#: Cache folders this process has said it cannot write: said once per folder, not once per
#: image (every image of a run logged the same warning); each worker process says it once.
_UNWRITABLE: set[str] = set()
_UNWRITABLE_LOCK = threading.Lock()


class EvidenceCache:
    """A content-addressed JSON cache in a folder (``root=None`` disables it).

    Attributes:
        hits: Lookups answered from disk.
        misses: Lookups that were not.
        unwritten: Entries that could not be written (the folder is not writable): their
            evidence was computed and used, not cached.
    """

    def __init__(self, root: str | os.PathLike | None):
        self.root = Path(root) if root is not None else None
        self.hits = 0
        self.misses = 0
        self.unwritten = 0

    @classmethod
    def from_config(cls, config: Any = None) -> "EvidenceCache":
        return cls(evidence_cache_dir(config))

    @property
    def enabled(self) -> bool:
        return self.root is not None

    @staticmethod
    def key(*parts: Any) -> str:
        """The sha256 of the JSON form of ``parts``."""
        return hashlib.sha256(json.dumps(_jsonable(parts), sort_keys=True, default=str)
                              .encode()).hexdigest()

    def _path(self, namespace: str, key: str) -> Path:
        assert self.root is not None
        return self.root / namespace / key[:2] / f"{key}.json"

    def get(self, namespace: str, key: str, parse: Callable[[Any], Any] | None = None, *,
            shape: Any = None) -> Any | None:
        """The value stored under ``key`` (read by ``parse`` when given), or ``None``. An entry
        that cannot be read, or whose JSON is not of ``shape`` (:func:`shape_problem`; written
        by hand, by another tool, a disk fault), is a miss, said with its path, so the
        evidence is computed again; it stopped the record's facts, every claim of it
        unverifiable. ``parse`` runs on an entry of the right shape only, outside that: an
        exception it raises is halluscope's bug and propagates, never a miss on every
        record."""
        if self.root is None:
            return None
        path = self._path(namespace, key)
        try:
            value = json.loads(path.read_text(encoding="utf-8"))
        except (FileNotFoundError, NotADirectoryError):   # (the folder is a file: no entry;
            self.misses += 1                                # put says so, once)
            return None
        except (OSError, ValueError) as exc:       # (UnicodeDecodeError, JSONDecodeError)
            log.warning("ignoring unreadable cache entry %s (computed again): %s: %s", path,
                        type(exc).__name__, exc)
            self.misses += 1
            return None
        if value is None:
            self.misses += 1
            return None
        problem = None if shape is None else shape_problem(value, shape)
        if problem is not None:
            log.warning("ignoring unreadable cache entry %s (computed again): %s", path,
                        problem)
            self.misses += 1
            return None
        self.hits += 1
        return value if parse is None else parse(value)

    def put(self, namespace: str, key: str, value: Any) -> None:
        if self.root is None:
            return
        try:
            _atomic_write(self._path(namespace, key), json.dumps(_jsonable(value)))
        except OSError as exc:
            self.unwritten += 1
            with _UNWRITABLE_LOCK:
                first = str(self.root) not in _UNWRITABLE
                _UNWRITABLE.add(str(self.root))
            if first:
                log.warning("cannot write the evidence cache folder %s (%s: %s): results are "
                            "still computed, not cached (said once for this folder)",
                            self.root, type(exc).__name__, exc)

    def stats(self) -> dict[str, Any]:
        return {"dir": str(self.root) if self.root else None, "hits": self.hits,
                "misses": self.misses}


#: In a :func:`shape_problem` shape: a JSON number (an int or a float; a bool is none).
NUMBER = "number"


def shape_problem(value: Any, shape: Any, where: str = "the entry") -> str | None:
    """Why ``value`` (JSON read back from the cache) is not of ``shape``; ``None`` when it is.

    ``shape`` is a type (``str``, ``int``, ``dict``: ``isinstance``, a bool being no number),
    :data:`NUMBER`, a dict (an object with at least these keys, each value of its shape), a
    list ``[s]`` (a list whose every item is of shape ``s``) or a tuple ``(s1, s2, ...)`` (a
    list of exactly that many items, each of its shape)."""
    if isinstance(shape, dict):
        if not isinstance(value, dict):
            return _unexpected("an object", value, where)
        for name, inner in shape.items():
            if name not in value:
                return _unexpected(f"an object with {name!r}", value, where)
            if (problem := shape_problem(value[name], inner, f"{where}[{name!r}]")):
                return problem
        return None
    if isinstance(shape, (list, tuple)):
        if not isinstance(value, list) or isinstance(shape, tuple) and len(value) != len(shape):
            return _unexpected("a list" if isinstance(shape, list) else
                               f"a list of {len(shape)} items", value, where)
        inners = itertools.repeat(shape[0]) if isinstance(shape, list) else shape
        for i, (item, inner) in enumerate(zip(value, inners)):
            if (problem := shape_problem(item, inner, f"{where}[{i}]")):
                return problem
        return None
    if shape == NUMBER:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return None
        return _unexpected("a number", value, where)
    if isinstance(value, shape) and (shape is bool or not isinstance(value, bool)):
        return None
    return _unexpected(_JSON_NAMES.get(shape, f"a {shape.__name__}"), value, where)


_JSON_NAMES = {str: "a string", int: "an integer", float: "a float", bool: "a boolean",
               dict: "an object", list: "a list"}


def _unexpected(what: str, value: Any, where: str) -> str:
    return f"expected {what} in {where}, got {value!r:.60}"
