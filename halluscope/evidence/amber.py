"""AMBER annotations (Wang et al., 2023; junyangwang0410/AMBER) read into :class:`ImageFacts`.

AMBER ships ``annotations.json`` (ids 1-1004: generative items with ``truth`` and ``hallu``
object lists; ids 1005-15220: yes/no questions with ``truth`` "yes"/"no"), ``query/*.json``
(each id's image file and question), ``relation.json`` (each object word's association words),
``safe_words.txt`` and ``metrics.txt`` (the scorer's initial counter values). They are looked for
beside ``annotations.json`` (or in a folder passed instead of it).

Facts per image (``AMBER_<n>.jpg``), closed world over AMBER's object words as AMBER's own
generative scorer treats them:

* ``present``: the generative item's truth objects and their association words;
* ``absent``: its hallu objects, and objects of existence questions answered "no";
* one :class:`Instance` per truth object (no boxes), with ``attributes`` from state and action
  questions answered "yes", and in ``payload``: ``count`` (number questions answered "yes"),
  ``not_counts`` and ``absent_attributes`` (questions answered "no");
* ``relations``: ``(a, "contact", b)`` for "Is there direct contact between the a and b?"
  answered "yes", ``(a, "no contact", b)`` for "no";
* ``vocabulary``: every object and association word, less AMBER's safe words.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from halluscope.errors import ConfigError
from halluscope.textfiles import read_json_file, read_text_file
from halluscope.types import ImageFacts, Instance

log = logging.getLogger(__name__)

_Q_STATE = re.compile(r"^Is the (.+?) (\S+) in this image\?$")
_Q_NUMBER = re.compile(r"^(?:Is|Are) there (\w+) (.+?) in this image\?$")
_Q_ACTION = re.compile(r"^Does the (.+?) (\S+(?: \S+)?) in this image\?$")
_Q_EXIST = re.compile(r"^Is there an? (.+?) in this image\?$")
_Q_CONTACT = re.compile(r"^Is there direct contact between the (.+?) and (.+?)\?$")
_LOCK = threading.Lock()
_CACHE: dict[str, "AmberData"] = {}

DIMENSIONS = {"discriminative-hallucination": ("existence", None),
              "discriminative-attribute-state": ("attribute", "state"),
              "discriminative-attribute-number": ("attribute", "number"),
              "discriminative-attribute-action": ("attribute", "action")}


def dimension(item_type: str) -> tuple[str, str | None]:
    """``(dimension, sub-dimension)`` of a discriminative item as AMBER's scorer counts it:
    any type that is not existence or attribute counts as relation."""
    return DIMENSIONS.get(item_type, ("relation", None))


def is_amber(obj: Any) -> bool:
    """Whether parsed JSON looks like AMBER's ``annotations.json``."""
    return isinstance(obj, list) and bool(obj) and isinstance(obj[0], dict) and \
        {"id", "type", "truth"} <= set(obj[0])


@dataclass
class AmberData:
    """AMBER's files, loaded."""

    path: Path
    items: dict[int, dict[str, Any]]
    queries: dict[int, dict[str, Any]] = field(default_factory=dict)
    association: dict[str, list[str]] = field(default_factory=dict)
    safe_words: list[str] = field(default_factory=list)
    initial: dict[str, float] = field(default_factory=dict)
    _facts: dict[str, ImageFacts] | None = None

    def image_of(self, item_id: int) -> str | None:
        q = self.queries.get(item_id)
        if q and q.get("image"):
            return q["image"]
        item = self.items.get(item_id)
        if item and item.get("type") == "generative":
            return f"AMBER_{item_id}.jpg"
        return None

    def words(self) -> list[str]:
        """Every AMBER object word and association word (the original's hallucination words)."""
        out = []
        for k, v in self.association.items():
            out.append(k)
            out.extend(v)
        return out

    def facts(self) -> dict[str, ImageFacts]:
        if self._facts is None:
            self._facts = _build_facts(self)
        return self._facts


def _read_initial(path: Path) -> dict[str, float]:
    out = {}
    for line in read_text_file(path, "AMBER's metrics.txt").splitlines():
        name, sep, value = line.partition("=")
        if sep:
            out[name.strip()] = float(value.strip())
    return out


def _safe_words(path: Path) -> list[str]:
    """AMBER's safe words, one a line, as inference.py reads them: the file opened in text
    mode, so its lines end at "\\n", "\\r\\n" or "\\r" alike (a CRLF copy of the file keeps its
    words; split at "\\n" alone, "grass\\r" matched no noun)."""
    text = read_text_file(path, "AMBER's safe words")
    return [ln for ln in text.replace("\r\n", "\n").replace("\r", "\n").split("\n") if ln]


def _words(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(w, str) for w in value)


def _items(raw: list, path: Path) -> dict[int, dict[str, Any]]:
    """AMBER's items by id, each checked for what the scorer reads: a whole-number id given
    once, a ``type``, and a ``truth`` of its type (a description's truth and hallu object lists,
    a question's "yes"/"no"). A malformed item was an internal error (KeyError: 'type') when an
    answer reached it, or a letter-by-letter truth list."""
    items: dict[int, dict[str, Any]] = {}
    for k, x in enumerate(raw):
        where = f"{path}: item {k + 1} (0-based {k})"
        i = x.get("id") if isinstance(x, dict) else None
        if isinstance(i, bool) or not isinstance(i, int) or i < 1:
            raise ConfigError(f"{where}: field 'id': expected a whole number >= 1, got {i!r:.60}"
                              if isinstance(x, dict) else f"{where}: expected an object, got "
                              f"{type(x).__name__}")
        kind, truth = x.get("type"), x.get("truth")
        bad = ("type", "a question type string", kind) if not isinstance(kind, str) else \
            (("truth", "a list of object words", truth) if not _words(truth) else
             ("hallu", "a list of object words", x.get("hallu")) if not _words(x.get("hallu"))
             else None) if kind == "generative" else \
            ("truth", "'yes' or 'no'", truth) if truth not in ("yes", "no") else None
        if bad is not None:
            raise ConfigError(f"{where}, id {i}: field {bad[0]!r}: expected {bad[1]}, got "
                              f"{bad[2]!r:.60}")
        if i in items:
            raise ConfigError(f"{where}: field 'id': id {i} is given twice")
        items[i] = x
    return items


def load_amber(path: str | Path) -> AmberData:
    """Load AMBER from ``annotations.json`` or the folder holding it (cached per path)."""
    p = Path(path)
    if p.is_dir():
        p = p / "annotations.json"
    key = str(p.resolve())
    with _LOCK:
        if key in _CACHE:
            return _CACHE[key]
    if not p.is_file():
        raise ConfigError(f"expected AMBER's annotations.json at {p}, found none")
    raw = read_json_file(p, "AMBER's annotations.json")
    if not is_amber(raw):
        raise ConfigError(f"{p}: expected AMBER annotations (a list of {{id, type, truth}}), "
                          f"got something else")
    data = AmberData(path=p, items=_items(raw, p))
    for d in (p.parent, p.parent / "data"):
        q = d / "query" / "query_all.json"
        if q.is_file() and not data.queries:
            data.queries = {int(x["id"]): x for x in read_json_file(q, "AMBER's queries")}
        if (d / "relation.json").is_file() and not data.association:
            data.association = read_json_file(d / "relation.json", "AMBER's relation.json")
        if (d / "safe_words.txt").is_file() and not data.safe_words:
            data.safe_words = _safe_words(d / "safe_words.txt")
        if (d / "metrics.txt").is_file() and not data.initial:
            data.initial = _read_initial(d / "metrics.txt")
    if not data.association:
        log.warning("AMBER: no relation.json beside %s; association words are unknown", p)
    if not data.queries:
        log.warning("AMBER: no query/query_all.json beside %s; discriminative questions cannot "
                    "be read into facts", p)
    with _LOCK:
        _CACHE[key] = data
    return data


def _build_facts(data: AmberData) -> dict[str, ImageFacts]:
    assoc = data.association
    safe = set(data.safe_words)
    vocab = frozenset(w for w in data.words() if w not in safe)
    per: dict[str, dict[str, Any]] = {}

    def slot(image: str) -> dict[str, Any]:
        return per.setdefault(image, {"present": set(), "absent": set(), "truth": [],
                                      "attrs": {}, "neg_attrs": {}, "count": {},
                                      "not_counts": {}, "relations": set()})

    for item_id, item in sorted(data.items.items()):
        image = data.image_of(item_id)
        if image is None:
            continue
        s = slot(image)
        if item["type"] == "generative":
            for w in item["truth"]:
                s["truth"].append(w)
                s["present"].add(w)
                s["present"].update(assoc.get(w, ()))
            s["absent"].update(item["hallu"])
            continue
        q = data.queries.get(item_id, {}).get("query", "")
        yes = item["truth"] == "yes"
        dim, sub = dimension(item["type"])
        if dim == "existence":
            m = _Q_EXIST.match(q)
            if m and not yes:
                s["absent"].add(m.group(1))
        elif dim == "relation":
            m = _Q_CONTACT.match(q)
            if m:
                s["relations"].add((m.group(1), "contact" if yes else "no contact", m.group(2)))
        elif sub == "number":
            m = _Q_NUMBER.match(q)
            if m:
                from halluscope.claims.lexicon import NUMBER_WORDS
                from halluscope.claims.vocab import singular_forms
                n = NUMBER_WORDS.get(m.group(1).lower())
                obj = m.group(2)
                obj = next((f for f in singular_forms(obj) if f in vocab), obj)
                if n is not None:
                    (s["count"] if yes else s["not_counts"]).setdefault(obj, set()).add(n)
        else:
            m = (_Q_STATE if sub == "state" else _Q_ACTION).match(q)
            if m:
                (s["attrs"] if yes else s["neg_attrs"]).setdefault(m.group(1), set()).add(
                    m.group(2))
    out = {}
    for image, s in per.items():
        labels = list(dict.fromkeys(s["truth"]))
        for extra in list(s["attrs"]) + list(s["count"]):
            if extra not in labels and extra in s["present"]:
                labels.append(extra)
        instances = []
        for label in labels:
            payload: dict[str, Any] = {}
            if label in s["count"]:
                payload["count"] = sorted(s["count"][label])[0]
            if label in s["not_counts"]:
                payload["not_counts"] = sorted(s["not_counts"][label])
            if label in s["neg_attrs"]:
                payload["absent_attributes"] = sorted(s["neg_attrs"][label])
            instances.append(Instance(label=label, source="annotation",
                                      attributes=tuple(sorted(s["attrs"].get(label, ()))),
                                      payload=payload))
        out[image] = ImageFacts(
            key=image, instances=tuple(instances), present=frozenset(s["present"]),
            absent=frozenset(s["absent"] - s["present"]), vocabulary=vocab, closed_world=True,
            relations=frozenset(s["relations"]),
            provenance={"source": "annotation", "name": "amber", "file": str(data.path)})
    return out


def amber_id(record) -> int | None:
    """The AMBER item id of a record: its numeric ``id``, ``metadata["amber_id"]``, or the
    generative item of an image named ``AMBER_<n>.jpg``. An id that is only the record's line
    number (:attr:`~halluscope.records.Record.id_from_line`) names no AMBER item and is not
    read: the image's name is, or there is no AMBER id."""
    meta = getattr(record, "metadata", None) or {}
    own_id = None if getattr(record, "id_from_line", False) else getattr(record, "id", None)
    for value in (meta.get("amber_id"), own_id, getattr(record, "question_id", None)):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().isdigit():
            return int(value.strip())
    return amber_image(getattr(record, "image", None))


_AMBER_IMAGE = re.compile(r"AMBER_(\d+)\.jpg$")


def amber_image(image) -> int | None:
    """The number ``n`` of an image named ``AMBER_<n>.jpg`` (a path before it is allowed), the
    name all of AMBER's images have; ``None`` for any other image or none."""
    m = _AMBER_IMAGE.search(image) if isinstance(image, str) else None
    return int(m.group(1)) if m else None


def amber_among(paths) -> Path:
    """AMBER's ``annotations.json`` among annotation paths (a folder holding it counts), or a
    usage error saying what each given path was instead."""
    seen = []
    for p in map(Path, paths):
        cand = p / "annotations.json" if p.is_dir() else p
        if p.is_dir() and not cand.is_file():
            seen.append(f"the folder {p} (no annotations.json in it)")
            continue
        try:
            if is_amber(read_json_file(cand, "AMBER's annotations.json")):
                return cand
            seen.append(f"{cand} (not AMBER's annotations)")
        except ConfigError as exc:
            seen.append(f"{exc}")
    got = "; got " + ", ".join(seen) if seen else "; got no --annotations"
    raise ConfigError("the amber metric needs AMBER's annotations.json (or the folder holding "
                      "it): pass it with --annotations or options amber_annotations" + got)
