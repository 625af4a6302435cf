"""CHAIR ground truth: for each COCO image id, the set of COCO categories it holds.

Two sources:

* a ground-truth objects file: ``{"imid_to_objects": {"558840": ["cup", ...]}, ...}`` (the
  shape of the evaluator cache of the CHAIR re-implementations) or a plain
  ``{image_id: [words]}`` mapping; words that are synonyms are mapped to their category;
* COCO annotation files read with pycocotools, as the original code builds it: the category of
  every instance annotation, plus every object word found in the image's reference captions
  (parsed by the variant's own parser, so the ``original`` ground truth is singularised the
  original way). Every image listed in the files is known, with an empty set if nothing is
  found for it.

Building from COCO parses ~600k reference captions, so the result is cached as JSON under
``chair/`` in halluscope's cache folder (``$HALLUSCOPE_CACHE``, else ``~/.cache/halluscope``),
keyed by the sha256 of the input files and the identity of the variant's rules (:func:`parser_rules`:
the vocabulary file and the parser's code), so a parser change needs no manual
``CACHE_FORMAT`` bump; a later start reads the cache in well under a second. Hashes of files of
8 MiB or more are remembered by path, size, modification time, inode and inode change time
(ctime: set by every write and not settable, so a file rewritten in place with its size and
mtime set back is hashed again) so that large annotation files are not hashed at every start.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import json
import logging
import operator
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from halluscope import _json as fast_json
from halluscope.atomicfiles import PRIVATE, write_text_atomically
from halluscope.cachedir import default_cache_dir
from halluscope.errors import ConfigError
from halluscope.hashing import sha256_file as _sha256_file
from halluscope.hashing import hash_index, indexed_sha256
from halluscope.records import coco_image_id
from halluscope.textfiles import read_json_file

log = logging.getLogger(__name__)

CACHE_FORMAT = 2     # 2: the block counts the reference captions read
_EMPTY: frozenset[str] = frozenset()


class GroundTruth(Mapping[int, frozenset[str]]):
    """Image id -> COCO categories, with where it came from.

    Attributes:
        source: ``"gt-objects"`` or ``"coco"``.
        files: ``(path, sha256)`` of each input file.
        captions: How many reference captions a COCO-built ground truth read (``None``: not
            built from COCO, or read from a cache written before it was counted).
        built_by: The CHAIR variant whose parser read the reference captions of a
            ground-truth objects file, as the file says (``halluscope chair gt --variant``);
            ``None`` when it says none or read no caption. The run sheet records it: a file
            built by the other variant gives other numbers than the run's variant would.
    """

    def __init__(self, objects: Mapping[int, frozenset[str]], source: str,
                 files: Iterable[tuple[str, str]], captions: int | None = None,
                 built_by: str | None = None):
        self._objects = objects
        self.source = source
        self.files = tuple(files)
        self.captions = captions
        self.built_by = built_by

    def __getitem__(self, image_id: int) -> frozenset[str]:
        return self._objects[image_id]

    def __contains__(self, image_id: object) -> bool:
        return image_id in self._objects

    def __iter__(self) -> Iterator[int]:
        return iter(self._objects)

    def __len__(self) -> int:
        return len(self._objects)

    @property
    def name(self) -> str:
        """The input file(s), for messages."""
        return ", ".join(p for p, _ in self.files) or "<in-memory ground truth>"

    def describe(self) -> dict[str, Any]:
        out = {"source": self.source, "images": len(self),
               "files": [{"path": p, "sha256": h} for p, h in self.files]}
        if self.captions == 0:
            out["reference_captions"] = 0    # the original always reads them: see no_captions
        if self.built_by:
            out["built_by_variant"] = self.built_by
        return out


def cache_dir() -> Path | None:
    """``chair/`` in halluscope's cache folder (:func:`halluscope.cachedir.default_cache_dir`);
    ``None`` when caching is off."""
    root = default_cache_dir()
    return None if root is None else root / "chair"


def file_sha256(path: str | Path, cache: Path | None = None) -> str:
    """sha256 of a file; remembered in ``<cache>/file-hashes.json`` by
    :func:`~halluscope.hashing.indexed_sha256` (path, size, mtime, inode, ctime) for files of
    8 MiB or more."""
    path = Path(path).resolve()
    try:
        st = path.stat()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    if cache is None or st.st_size < (8 << 20):
        return _sha256_file(path)
    with hash_index(cache / "file-hashes.json") as memo:
        return indexed_sha256(path, memo)


#: The modules whose code decides what a CHAIR parser finds in a caption (the parser's own
#: module is added): their source is part of :func:`parser_rules`.
PARSER_MODULES = ("halluscope.metrics.chair_vocab", "halluscope.metrics.chair_singular",
                  "halluscope.metrics.chair_text")


def parser_rules(parser: Any) -> dict[str, Any]:
    """The identity of a CHAIR variant's rules, as the ground-truth cache keys it: the variant,
    its vocabulary file (synonyms, phrases and the variant's rules: label and sha256), the
    sha256 of the parser's code (:data:`PARSER_MODULES` and the parser class's module) and the
    NLTK release that tokenises. A changed parser thus builds its own ground truth."""
    modules = tuple(dict.fromkeys((*PARSER_MODULES, type(parser).__module__)))
    return {"variant": parser.variant, "parser": type(parser).__qualname__,
            "vocabulary": parser.spec.label, "vocabulary_sha256": parser.spec.sha256,
            "code_sha256": _code_sha256(modules), "nltk": _nltk_version()}


@functools.lru_cache(maxsize=8)
def _code_sha256(modules: tuple[str, ...]) -> str:
    """sha256 over the source files of ``modules``; a module whose source cannot be read
    (frozen, compiled only) counts by halluscope's version instead."""
    import sys
    from halluscope._version import __version__
    h = hashlib.sha256()
    for name in modules:
        h.update(name.encode() + b"\0")
        try:
            h.update(Path(sys.modules[name].__file__).read_bytes())
        except (KeyError, TypeError, OSError):
            h.update(f"halluscope {__version__}".encode())
    return h.hexdigest()


@functools.lru_cache(maxsize=1)
def _nltk_version() -> str | None:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("nltk")
    except PackageNotFoundError:
        return None


def _write_json(path: Path, obj: Any) -> None:
    """``obj`` as compact JSON at ``path``, written atomically; a cache file, its owner's only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomically(path, json.dumps(obj, separators=(",", ":")), mode=PRIVATE)


# -- ground-truth objects file --------------------------------------------------------------

def objects_from_mapping(mapping: Mapping[Any, Iterable[str]], vocabulary: Mapping[str, str],
                         where: str = "<mapping>") -> dict[int, frozenset[str]]:
    """Normalise ``{image id: words}``: integer ids, words mapped to categories.

    ``vocabulary`` maps words (categories and synonyms) to categories; a word outside it is
    kept as written (it can then never be matched) and reported once in the log."""
    fast = _objects_fast(mapping, vocabulary, where)
    if fast is not None:
        return fast
    interned: dict[tuple[str, ...], frozenset[str]] = {}
    by_list: dict[tuple, frozenset[str]] = {}     # most images share their list with others
    out: dict[int, frozenset[str]] = {}
    unknown: set[str] = set()
    for key, words in mapping.items():
        if type(key) is str and key.isdigit():
            image_id = int(key)
        else:
            image_id = coco_image_id(key)
            if image_id is None:
                raise ConfigError(f"{where}: expected COCO image ids as keys, got {key!r:.60}")
        if type(words) is not list:
            if isinstance(words, (str, bytes, Mapping)) or not isinstance(words, Iterable):
                # a dict ({"dog": true, "person": false}) would be read as its keys, the
                # objects marked false or 0 included
                raise ConfigError(f"{where}: image {key}: expected a list of object words "
                                  f"(the objects present), got {type(words).__name__}"
                                  f"{' (list the present objects instead)' if isinstance(words, Mapping) else ''}")
            words = list(words)
        as_tuple = tuple(words)
        found = by_list.get(as_tuple)
        if found is None:
            for w in as_tuple:
                if not isinstance(w, str):
                    raise ConfigError(f"{where}: image {key}: expected object words, "
                                      f"got {w!r:.60}")
            found = by_list[as_tuple] = _node_set(as_tuple, vocabulary, unknown, interned)
        out[image_id] = found
    if unknown:
        log.warning("%s: %d object word(s) outside the CHAIR vocabulary, kept as written: %s",
                    where, len(unknown), ", ".join(sorted(unknown)[:10]))
    return out


def _node_set(words: tuple[str, ...], vocabulary: Mapping[str, str], unknown: set[str],
              interned: dict[tuple[str, ...], frozenset[str]]) -> frozenset[str]:
    """The CHAIR nodes of an image's object words (a word outside the vocabulary is kept as
    written and added to ``unknown``), one shared frozenset per distinct set of nodes."""
    nodes = set()
    for w in words:
        node = vocabulary.get(w)
        if node is None:
            unknown.add(w)
            node = w
        nodes.add(node)
    k = tuple(sorted(nodes))
    return interned.setdefault(k, frozenset(k)) if k else _EMPTY


def _objects_fast(mapping: Mapping[Any, Iterable[str]], vocabulary: Mapping[str, str],
                  where: str) -> dict[int, frozenset[str]] | None:
    """:func:`objects_from_mapping` for the common shape (decimal string keys, lists of words),
    with the per-image work done by C loops and each distinct word list converted once; ``None``
    for any other shape (the general loop then checks and reports it)."""
    if not isinstance(mapping, dict) \
            or not all(type(k) is str and k.isdigit() and k.isascii() for k in mapping) \
            or not all(type(v) is list for v in mapping.values()):
        return None
    lists = list(map(tuple, mapping.values()))
    distinct = dict.fromkeys(lists)
    if not all(type(w) is str for t in distinct for w in t):
        return None
    interned: dict[tuple[str, ...], frozenset[str]] = {}
    unknown: set[str] = set()
    for words in distinct:
        distinct[words] = _node_set(words, vocabulary, unknown, interned)
    if unknown:
        log.warning("%s: %d object word(s) outside the CHAIR vocabulary, kept as written: %s",
                    where, len(unknown), ", ".join(sorted(unknown)[:10]))
    return dict(zip(map(int, mapping), map(distinct.__getitem__, lists)))


class _WordLists(Mapping[int, frozenset[str]]):
    """Image id -> categories over the ``{"image id": [words]}`` dict of a ground-truth objects
    file, each distinct word list mapped to categories when first read: an audit of a few
    captions reads a few of 120k images. Built only by :func:`_lazy_objects`, which checks the
    shape (canonical decimal keys, lists of strings) and reports unknown words up front."""

    def __init__(self, raw: dict[str, list[str]], vocabulary: Mapping[str, str]):
        self._raw = raw
        self._vocabulary = vocabulary
        self._sets: dict[tuple[str, ...], frozenset[str]] = {}

    def __getitem__(self, image_id: object) -> frozenset[str]:
        try:
            key = str(operator.index(image_id))     # ints (numpy's too), as a dict keyed by int
        except TypeError:
            raise KeyError(image_id) from None
        words = tuple(self._raw[key])
        found = self._sets.get(words)
        if found is None:
            vocab = self._vocabulary
            nodes = tuple(sorted({vocab.get(w, w) for w in words}))
            found = self._sets[words] = frozenset(nodes) if nodes else _EMPTY
        return found

    def __contains__(self, image_id: object) -> bool:
        try:
            self[image_id]
        except KeyError:
            return False
        return True

    def __iter__(self) -> Iterator[int]:
        return map(int, self._raw)

    def __len__(self) -> int:
        return len(self._raw)


#: Keys, each followed by a newline, that are all canonical decimals ("0", "139"; not "007",
#: "+1", " 1", "1.0", or digits of other scripts).
_DECIMAL_LINES = re.compile(r"(?:(?:0|[1-9][0-9]*)\n)*")


def _decimal_keys(mapping: dict) -> bool:
    """Whether every key of ``mapping`` is a canonical decimal string: one regular-expression
    match over the keys joined by newlines (a key holding a newline makes one newline too many)
    instead of a Python test per key, a third of the time for 120k keys."""
    if not mapping:
        return True
    try:
        joined = "\n".join(mapping)
    except TypeError:       # a key that is not a string
        return False
    joined += "\n"
    return joined.count("\n") == len(mapping) and _DECIMAL_LINES.fullmatch(joined) is not None


def _lazy_objects(mapping: Any, vocabulary: Mapping[str, str], where: str
                  ) -> _WordLists | None:
    """A :class:`_WordLists` over ``mapping`` when it has the plain shape (the object of a JSON
    document, whose keys are strings), else ``None``."""
    if not isinstance(mapping, dict) or not _decimal_keys(mapping) \
            or not set(map(type, mapping.values())) <= {list}:
        return None
    try:
        words = set().union(*mapping.values())
    except TypeError:           # an unhashable "word": the general path reports it
        return None
    if not all(type(w) is str for w in words):
        return None
    unknown = sorted(w for w in words if w not in vocabulary)
    if unknown:
        log.warning("%s: %d object word(s) outside the CHAIR vocabulary, kept as written: %s",
                    where, len(unknown), ", ".join(unknown[:10]))
    return _WordLists(mapping, vocabulary)


def load_gt_objects(path: str | Path, vocabulary: Mapping[str, str],
                    variant: str | None = None) -> GroundTruth:
    """Read a ground-truth objects file (see the module docstring for the shapes); with
    ``variant``, warn when the file says it was built by the other variant's parser."""
    path = Path(path).expanduser()
    where = str(path)
    built = None
    with fast_json.gc_paused(long_lived=True):   # ~120k small lists, kept for the run
        data = read_json_file(path, "a ground-truth objects file")
        if isinstance(data, dict) and isinstance(data.get("imid_to_objects"), dict):
            built = _built_by(data.get("source"))
            _warn_other_variant(built, variant, where)
            data = data["imid_to_objects"]
        if not isinstance(data, dict):
            raise ConfigError(f"{where}: expected {{\"imid_to_objects\": {{image_id: [words]}}}} "
                              f"or {{image_id: [words]}}, got a JSON {type(data).__name__}")
        objects = _lazy_objects(data, vocabulary, where) \
            or objects_from_mapping(data, vocabulary, where)
        del data
    return GroundTruth(objects, "gt-objects", [(where, _sha256_file(path))], built_by=built)


def _built_by(source: Any) -> str | None:
    """The variant whose parser read the reference captions of a file ``halluscope chair gt``
    wrote (its ``source``), or ``None``: a file built from instances alone
    (``reference_captions: 0``) read no caption, so no parser, and is the same under both."""
    built = source.get("variant") if isinstance(source, dict) else None
    if not isinstance(built, str) or source.get("reference_captions") == 0:
        return None
    return built


def _warn_other_variant(built: str | None, variant: str | None, where: str) -> None:
    """A warning when ``halluscope chair gt`` built the file reading the reference captions
    with another variant's parser than the run's (both default to ``refined``; ``--variant
    original`` on one of them only): the ground truth then differs from what ``--coco-annotations`` gives (the
    run sheet records it too: ``ground_truth.built_by_variant``)."""
    if variant is None or built is None or built == variant:
        return
    log.warning("CHAIR %s: %s was built reading the reference captions with the %s parser "
                "(halluscope chair gt --variant %s), so its ground truth differs from the %s "
                "variant's own; rebuild it with --variant %s to match --coco-annotations",
                variant, where, built, built, variant, variant)


# -- COCO annotations -------------------------------------------------------------------------

def _load_coco(path: Path):
    try:
        from pycocotools.coco import COCO
    except ImportError as exc:  # pragma: no cover - a core dependency
        from halluscope.errors import MissingExtraError
        raise MissingExtraError("Building CHAIR ground truth from COCO", "chair",
                                "pycocotools") from exc
    data = read_json_file(path, "a COCO annotation file")
    if not isinstance(data, dict) or not isinstance(data.get("annotations"), list):
        raise ConfigError(f"{path}: expected a COCO annotation file with 'annotations', "
                          f"got {type(data).__name__}")
    from halluscope.evidence.annotations import check_coco
    check_coco(data, path)
    coco = COCO()
    coco.dataset = data
    chatter = io.StringIO()
    with contextlib.redirect_stdout(chatter):  # pycocotools prints its progress
        coco.createIndex()
    log.debug("%s: %s", path, chatter.getvalue().strip())
    return coco


def build_objects_from_coco(paths: Iterable[str | Path], parser, counts: dict | None = None
                            ) -> dict[int, frozenset[str]]:
    """Ground truth from COCO instance and caption files, the original way (``counts``, when
    given, gets ``captions``: how many reference captions were read)."""
    vocab = parser.vocabulary
    nodes = frozenset(parser.nodes)
    per_image: dict[int, set[str]] = {}
    unknown: set[str] = set()
    n_captions = 0
    for p in paths:
        path = Path(p).expanduser()
        coco = _load_coco(path)
        for image_id in coco.imgs:
            per_image.setdefault(int(image_id), set())
        names = {cid: cat.get("name") for cid, cat in coco.cats.items()}
        for ann in coco.dataset["annotations"]:
            image_id = int(ann["image_id"])
            found = per_image.setdefault(image_id, set())
            if "category_id" in ann:
                name = names.get(ann["category_id"])
                node = name if name in nodes else vocab.get(name)
                if node is None:
                    unknown.add(str(name))
                    continue
                found.add(node)
            if isinstance(ann.get("caption"), str):
                n_captions += 1
                found.update(m.node for m in parser.parse(ann["caption"], spans=False).mentions)
    if unknown:
        log.warning("COCO categories outside the CHAIR vocabulary were ignored: %s",
                    ", ".join(sorted(unknown)[:10]))
    log.info("CHAIR ground truth: %d images, %d reference captions", len(per_image), n_captions)
    if counts is not None:
        counts["captions"] = n_captions
    interned: dict[tuple[str, ...], frozenset[str]] = {}
    out = {}
    for image_id, nodes in per_image.items():
        k = tuple(sorted(nodes))
        out[image_id] = interned.setdefault(k, frozenset(k)) if k else _EMPTY
    return out


def _encode(objects: Mapping[int, frozenset[str]], nodes: tuple[str, ...]) -> dict[str, Any]:
    index = {n: i for i, n in enumerate(nodes)}
    extra = sorted({w for s in objects.values() for w in s if w not in index})
    allnodes = list(nodes) + extra
    index.update({w: len(nodes) + i for i, w in enumerate(extra)})
    masks = {}
    for image_id, s in objects.items():
        m = 0
        for w in s:
            m |= 1 << index[w]
        masks[str(image_id)] = m
    return {"nodes": allnodes, "masks": masks}


def _decode(block: Mapping[str, Any]) -> dict[int, frozenset[str]]:
    nodes = block["nodes"]
    sets: dict[int, frozenset[str]] = {}
    out = {}
    for key, m in block["masks"].items():
        s = sets.get(m)
        if s is None:
            s = sets[m] = frozenset(n for i, n in enumerate(nodes) if m >> i & 1)
        out[int(key)] = s
    return out


def load_coco_ground_truth(paths: Iterable[str | Path], parser, *,
                           cache: Path | None = None, use_cache: bool = True) -> GroundTruth:
    """Ground truth built from COCO annotation files, through the JSON cache."""
    paths = [Path(p).expanduser() for p in paths]
    if not paths:
        raise ConfigError("expected COCO annotation files (--coco-annotations), got none")
    cache = cache_dir() if cache is None else Path(cache)
    use_cache = use_cache and cache is not None
    files = [(str(p), file_sha256(p, cache if use_cache else None)) for p in paths]
    spec = parser.spec
    rules = parser_rules(parser)
    key_src = json.dumps({"format": CACHE_FORMAT, "files": sorted(h for _, h in files),
                          "rules": rules}, sort_keys=True)
    key = hashlib.sha256(key_src.encode()).hexdigest()
    target = cache / f"gt-{parser.variant}-{key[:32]}.json" if use_cache else None
    if target is not None and target.is_file():
        try:
            with open(target, "rb") as fh, fast_json.gc_paused(long_lived=True):
                block = json.load(fh)
                objects = _decode(block) if block.get("key") == key else None
            if objects is not None:
                log.debug("CHAIR ground truth from cache %s", target)
                return _coco_truth(objects, files, block.get("captions"), parser.variant)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring unreadable CHAIR cache %s: %s", target, exc)
    counts: dict[str, int] = {}
    objects = build_objects_from_coco(paths, parser, counts)
    if use_cache:
        block = {"format": CACHE_FORMAT, "key": key, "variant": parser.variant,
                 "captions": counts["captions"], "rules": rules,
                 "vocabulary": spec.label, "files": [{"path": p, "sha256": h} for p, h in files],
                 **_encode(objects, parser.nodes)}
        try:
            _write_json(target, block)
        except OSError as exc:
            log.warning("cannot write the CHAIR cache %s: %s", target, exc)
    return _coco_truth(objects, files, counts["captions"], parser.variant)


def _coco_truth(objects: Mapping[int, frozenset[str]], files: list[tuple[str, str]],
                captions: int | None, variant: str) -> GroundTruth:
    """The COCO-built :class:`GroundTruth`, warning when the ``original`` variant has no
    reference captions: the original always adds their object words to each image's ground
    truth, so its numbers cannot be reproduced from instances alone."""
    if captions == 0 and variant == "original":
        log.warning("CHAIR original: the COCO annotations (%s) hold no reference captions; the "
                    "original always adds the objects its captions_*.json name to each image's "
                    "ground truth, so these numbers differ from the original's: pass the "
                    "captions file too (--coco-annotations instances.json --coco-annotations "
                    "captions.json)",
                    ", ".join(p for p, _ in files))
    return GroundTruth(objects, "coco", files, captions)


def load_ground_truth(parser, gt_objects: str | Path | None = None,
                      coco_annotations: Iterable[str | Path] = (), *,
                      cache: Path | None = None) -> GroundTruth:
    """The ground truth a CHAIR run uses: the objects file if given, else COCO annotations."""
    coco_annotations = tuple(coco_annotations or ())
    if gt_objects is not None:
        if coco_annotations:
            log.info("CHAIR uses --gt-objects %s; --coco-annotations are not read", gt_objects)
        words = {**parser.vocabulary, **{n: n for n in parser.nodes}}
        return load_gt_objects(gt_objects, words, parser.variant)
    if coco_annotations:
        return load_coco_ground_truth(coco_annotations, parser, cache=cache)
    raise ConfigError("CHAIR needs ground-truth objects: pass --gt-objects FILE (image id -> "
                      "object words) or --coco-annotations FILES (COCO instances and captions)")
