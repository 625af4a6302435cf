"""Object vocabularies: which entry (node) a noun in a response stands for.

A :class:`Vocabulary` maps surface forms to nodes (``"puppy"`` -> ``"dog"``, ``"sofa"`` ->
``"couch"``). :meth:`Vocabulary.map` tries, in order:

1. the phrase itself, lower-cased (``"teddy bear"``, ``"people"``);
2. its singular forms (an irregular-plural table first, then lemminflect and inflect);
3. for a phrase of several words, its last word (``"police car"`` -> ``car``);
4. WordNet (NLTK): the words of the noun's most frequent concrete sense ("individual" ->
   ``person``), then its hypernyms, up to :data:`HYPERNYM_DEPTH` steps ("sedan" -> ``car``).

A noun none of these maps has node ``None``: *outside the vocabulary*, its claims unverifiable.

Built-in vocabularies: ``coco`` (the 80 COCO categories with the synonyms of the pinned
vocabulary file ``metrics/chair-coco.json``) and ``amber`` (AMBER's object words from its
``relation.json``). Any list or file of words a user gives works too (:func:`load_vocabulary`).

This is the one noun vocabulary mechanism of the package: CHAIR's caption parsers
(:mod:`halluscope.metrics.chair_vocab`) read the same pinned file through :func:`load_spec` and
build their word -> category tables with :func:`word_table`, in CHAIR's own order
(``last_wins=True``: a later word overwrites an earlier one, words taken as written, as the
original code builds its dictionary), so that the ``original`` variant keeps its quirks.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from halluscope.errors import ConfigError

log = logging.getLogger(__name__)

HYPERNYM_DEPTH = 6
_CONCRETE_LEXNAMES = frozenset({"noun.animal", "noun.artifact", "noun.person", "noun.food",
                                "noun.plant", "noun.object", "noun.body", "noun.substance",
                                "noun.location"})
#: Top-level senses (``noun.Tops``) of things a picture shows ("an individual", "an animal").
_CONCRETE_TOPS = frozenset({"person.n.01", "animal.n.01", "plant.n.02", "organism.n.01",
                            "food.n.01", "artifact.n.01"})

#: Plurals that singularisers get wrong, and plurale tantum nouns that stay as they are.
IRREGULAR_PLURALS: dict[str, str] = {
    "people": "people", "persons": "person", "children": "child", "men": "man",
    "women": "woman", "mice": "mouse", "geese": "goose", "teeth": "tooth", "feet": "foot",
    "cacti": "cactus", "fungi": "fungus", "octopi": "octopus", "leaves": "leaf",
    "knives": "knife", "shelves": "shelf", "loaves": "loaf", "wolves": "wolf", "calves": "calf",
    "halves": "half", "scarves": "scarf", "buses": "bus", "busses": "bus", "oxen": "ox",
    "dice": "die", "wives": "wife", "lives": "life", "thieves": "thief", "skis": "ski",
    "glasses": "glasses", "sunglasses": "sunglasses", "eyeglasses": "eyeglasses",
    "pants": "pants", "jeans": "jeans", "shorts": "shorts", "trousers": "trousers",
    "scissors": "scissors", "goggles": "goggles", "headphones": "headphones",
    "binoculars": "binoculars", "tongs": "tongs", "pliers": "pliers", "clothes": "clothes",
    "leggings": "leggings", "overalls": "overalls", "tweezers": "tweezers", "sheep": "sheep",
    "deer": "deer", "fish": "fish", "species": "species", "series": "series",
    "surroundings": "surroundings", "stairs": "stairs", "pajamas": "pajamas",
    "sweatpants": "sweatpants", "earphones": "earphones", "bleachers": "bleachers",
    "dishes": "dish", "boxes": "box", "hooves": "hoof",
}

VOCABULARY_FILE = "chair-coco.json"


@dataclass(frozen=True)
class ChairSpec:
    """The pinned COCO vocabulary file (``metrics/chair-coco.json``), read: the 80 categories
    with their words (``objects``) and the rules of CHAIR's two parsers (``original``,
    ``refined``)."""

    name: str
    version: int
    path: str
    sha256: str
    data: Mapping[str, Any]

    @property
    def label(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def objects(self) -> dict[str, list[str]]:
        return self.data["objects"]


def load_spec(path: str | Path | None = None) -> ChairSpec:
    """Read a CHAIR vocabulary file (default: the pinned ``chair-coco.json``)."""
    if path is None:
        from halluscope.resources import spec_path
        path = spec_path("metrics", VOCABULARY_FILE)
    path = Path(path).resolve()
    try:
        st = path.stat()
    except OSError as exc:
        raise ConfigError(f"cannot read the CHAIR vocabulary {path}: {exc}") from exc
    return _load_spec(str(path), st.st_mtime_ns, st.st_size)


@lru_cache(maxsize=8)
def _load_spec(path: str, mtime_ns: int, size: int) -> ChairSpec:
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read the CHAIR vocabulary {path}: {exc}") from exc
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from exc
    for key in ("name", "version", "objects", "original", "refined"):
        if key not in data:
            raise ConfigError(f"{path}: expected a CHAIR vocabulary with '{key}', found none")
    objects = data["objects"]
    if not isinstance(objects, dict) or not all(
            isinstance(v, list) and all(isinstance(w, str) for w in v) for v in objects.values()):
        raise ConfigError(f"{path}: expected 'objects' to map categories to lists of words")
    return ChairSpec(str(data["name"]), int(data["version"]), path,
                     hashlib.sha256(raw).hexdigest(), data)


def word_table(synonyms: Mapping[str, Iterable[str]], *,
               excluded: Collection[str] = frozenset(), last_wins: bool = False
               ) -> dict[str, str]:
    """Surface form -> node of a node -> synonyms table, leaving out ``excluded`` forms.

    By default (halluscope's vocabularies) every node maps to itself first, forms are stripped
    and lower-cased, and a form claimed by two nodes keeps the first. ``last_wins=True`` is
    CHAIR's order: each node and then its words, in file order, taken as written, a later claim
    overwriting an earlier one.
    """
    table: dict[str, str] = {}
    if last_wins:
        for node, words in synonyms.items():
            for w in (node, *words):
                if w not in excluded:
                    table[w] = node
        return table
    for node in synonyms:          # nodes first: a node is never the synonym of another
        if node.lower() not in excluded:
            table[node.lower()] = node
    for node, syns in synonyms.items():
        for form in syns:
            form = str(form).strip().lower()
            if form and form not in table and form not in excluded:
                table[form] = node
    return table


def _synonym_table(data: Any) -> dict[str, tuple[str, ...]] | None:
    """Read node -> synonyms from the shapes a spec may take."""
    if isinstance(data, dict):
        for key in ("synonyms", "vocabulary", "nodes", "objects"):
            if key in data:
                return _synonym_table(data[key])
        if all(isinstance(v, (list, tuple)) for v in data.values()):
            return {str(k): tuple(str(s) for s in v) for k, v in data.items()}
        if all(isinstance(v, str) for v in data.values()):   # synonym -> node
            out: dict[str, list[str]] = {}
            for syn, node in data.items():
                out.setdefault(node, []).append(syn)
            return {k: tuple(v) for k, v in out.items()}
        return None
    if isinstance(data, list):
        out2: dict[str, tuple[str, ...]] = {}
        for row in data:
            if isinstance(row, str):
                parts = [p.strip() for p in row.split(",") if p.strip()]
                if parts:
                    out2[parts[0]] = tuple(parts[1:])
            elif isinstance(row, (list, tuple)) and row:
                out2[str(row[0]).strip()] = tuple(str(s).strip() for s in row[1:])
            elif isinstance(row, dict) and ("node" in row or "name" in row):
                node = row.get("node") or row.get("name")
                out2[str(node)] = tuple(row.get("synonyms") or ())
        return out2 or None
    return None


def _no_instrumentation(target=None, **_options):
    """``typeguard.typechecked`` that leaves its target as it is (and works as
    ``@typechecked(...)`` too)."""
    return (lambda t: t) if target is None else target


def _import_inflect():
    """``import inflect`` without typeguard's instrumentation of its methods.

    inflect decorates about ten methods with ``@typeguard.typechecked``, which recompiles each
    from source at import: 1.3 s of a 1.4 s import, paid by every audit with claims and every
    spawned worker. The checks only reject arguments of the wrong type, and the one call made
    here (``singular_noun`` on a non-empty alphabetic ``str``) always passes them, so inflect
    is imported with the decorator standing in as the identity (it is restored right after).
    """
    import sys
    if "inflect" in sys.modules:
        return sys.modules["inflect"]
    import typeguard
    real = typeguard.typechecked
    typeguard.typechecked = _no_instrumentation
    try:
        import inflect
    finally:
        typeguard.typechecked = real
    return inflect


@lru_cache(maxsize=1)
def _inflect_engine():
    try:
        return _import_inflect().engine()
    except ImportError:  # pragma: no cover - a core dependency
        return None


@lru_cache(maxsize=65536)
def singular_forms(word: str) -> tuple[str, ...]:
    """Candidate singular forms of a (lower-case) noun, best first; the word itself included."""
    word = word.lower()
    out = [word]
    if word in IRREGULAR_PLURALS:
        out.insert(0, IRREGULAR_PLURALS[word])
    if " " in word:
        head, _, last = word.rpartition(" ")
        return tuple(dict.fromkeys(out + [f"{head} {s}" for s in singular_forms(last)]))
    try:
        from lemminflect import getLemma
        out.extend(getLemma(word, upos="NOUN"))
    except ImportError:  # pragma: no cover
        pass
    eng = _inflect_engine()
    if eng is not None and word.isalpha():
        try:
            s = eng.singular_noun(word)
        except Exception:  # noqa: BLE001 - inflect raises on odd input
            s = False
        if s:
            out.append(s)
    return tuple(dict.fromkeys(w for w in out if w))


_WN_LOCK = threading.Lock()
_WN: Any = None
_WN_FAILED = False


def wordnet():
    """NLTK's WordNet reader, or ``None`` when it cannot be loaded (logged once)."""
    global _WN, _WN_FAILED
    if _WN is not None or _WN_FAILED:
        return _WN
    with _WN_LOCK:
        if _WN is None and not _WN_FAILED:
            try:
                from halluscope.claims.wordnet import load_wordnet
                _WN = load_wordnet()
            except Exception as exc:  # noqa: BLE001 - WordNet is an enhancement
                _WN_FAILED = True
                log.warning("WordNet unavailable (%s): hypernym mapping and the concrete-noun "
                            "filter are off", exc)
    return _WN


@lru_cache(maxsize=65536)
def noun_senses(word: str) -> tuple[Any, ...]:
    wn = wordnet()
    if wn is None:
        return ()
    try:
        return tuple(wn.synsets(word.replace(" ", "_"), pos="n"))
    except Exception:  # noqa: BLE001
        return ()


@lru_cache(maxsize=65536)
def concrete_senses(word: str) -> tuple[Any, ...] | None:
    """The noun senses of ``word`` among its three most frequent that name concrete things
    (animals, artefacts, food, plants, natural objects, body parts, substances; people only as
    the first sense); ``None`` when WordNet does not know the word."""
    senses = _word_senses(word)
    if not senses:
        return None
    return tuple(s for i, s in enumerate(senses[:3])
                 if (s.lexname() in _CONCRETE_LEXNAMES or s.name() in _CONCRETE_TOPS)
                 and (i == 0 or (s.lexname() != "noun.person" and s.name() != "person.n.01")))



def _word_senses(word: str) -> tuple[Any, ...]:
    """The noun senses of ``word``, else of its first singular form WordNet knows."""
    senses = noun_senses(word)
    if not senses:
        for s in singular_forms(word)[1:]:
            senses = noun_senses(s)
            if senses:
                break
    return senses


def _names_node(hyper: Any, lemma: str, node: str) -> bool:
    """Whether hypernym ``hyper``, reached through its ``lemma``, is the thing ``node`` names:
    the node's own word, or one of its own senses. A synonym of another sense did not count:
    CHAIR's list has "container" for bowl and "vessel" for boat, so a tractor, a box or a cart
    (containers, in WordNet) were bowls and a teapot, a bucket or a jar boats, hallucinated
    under a closed world where no bowl or boat was."""
    if lemma.replace("_", " ").lower() == node.lower():
        return True
    return hyper in noun_senses(node)


@lru_cache(maxsize=65536)
def mapped_sense(word: str) -> Any | None:
    """The sense whose hypernyms map ``word`` to a node: its first concrete sense, unless that
    is a proper name (an instance: Stephen Crane for "crane", which mapped a crane to
    ``person``) or a sense WordNet never saw in use while the word's usual sense is another
    (the post horse of "poster", a placard: "a poster on the wall" was a horse, hallucinated
    where no horse was)."""
    senses = [s for s in concrete_senses(word) or () if not s.instance_hypernyms()]
    if not senses:
        return None
    first = next((s for s in _word_senses(word) if not s.instance_hypernyms()), None)
    used = lambda s: max(lemma.count() for lemma in s.lemmas())  # noqa: E731
    if used(senses[0]) < 1:
        if senses[0] != first:
            return None
        # a first sense never seen in use, another one seen: "comforter" is a quilt, not a
        # sympathizer (who mapped it to person)
        seen = [s for s in senses[1:] if used(s) >= 1]
        if seen:
            return max(seen, key=used)
    return senses[0]


#: Heads of device names that WordNet knows only as people ("coffee maker", "ice maker").
_DEVICE_HEADS = frozenset({"maker", "holder", "opener", "sharpener", "warmer", "cleaner"})
_THING_LEXNAMES = frozenset({"noun.artifact", "noun.object", "noun.food"})


def _person_or_device(head: str, node: str) -> bool:
    """Whether a phrase WordNet does not know, mapped through its head to people, may name a
    thing: the head has a thing's sense ("wii controller", "ventilation hood") or is a device."""
    senses = concrete_senses(head) or ()
    if not senses or senses[0].lexname() != "noun.person":
        return False
    return head in _DEVICE_HEADS or any(s.lexname() in _THING_LEXNAMES for s in senses[1:])


def is_concrete(word: str) -> bool | None:
    """Whether ``word`` names a physical thing (``None``: WordNet does not know it)."""
    senses = concrete_senses(word)
    return None if senses is None else bool(senses)


#: Lexicographer files of things no picture shows: qualities, states, acts, thoughts, feelings,
#: events, motives, relations, times, processes ("safety", "ride", "proximity").
ABSTRACT_LEXNAMES = frozenset({"noun.attribute", "noun.state", "noun.act", "noun.cognition",
                               "noun.feeling", "noun.event", "noun.motive", "noun.relation",
                               "noun.time", "noun.process"})


@lru_cache(maxsize=65536)
def is_depictable(word: str) -> bool | None:
    """Whether ``word`` names something a picture can show (``None``: unknown to WordNet):
    concrete, and not a word whose usual sense is abstract (:data:`ABSTRACT_LEXNAMES`), seen in
    use, while no concrete sense ever was ("ride": a journey, 7 uses; a fairground ride, 0)."""
    concrete = is_concrete(word)
    if not concrete:
        return concrete
    senses = _word_senses(word)
    used = lambda s: sum(lemma.count() for lemma in s.lemmas())  # noqa: E731
    if senses[0].lexname() not in ABSTRACT_LEXNAMES or used(senses[0]) < 1:
        return True
    return any(used(s) >= 1 for s in senses if s.lexname() in _CONCRETE_LEXNAMES)


@lru_cache(maxsize=65536)
def is_person_word(word: str) -> bool:
    """Whether the noun names a person (WordNet ``noun.person`` as its first sense)."""
    senses = noun_senses(word) or next((noun_senses(s) for s in singular_forms(word)[1:]
                                        if noun_senses(s)), ())
    return bool(senses) and senses[0].lexname() == "noun.person"


class Vocabulary:
    """A set of nodes with their surface forms.

    Args:
        name: Name recorded in run sheets (``coco``, ``amber``, ``custom``).
        synonyms: Node -> other surface forms of it.
        use_wordnet: Also map through WordNet hypernyms.
    """

    def __init__(self, name: str, synonyms: Mapping[str, Iterable[str]], *,
                 use_wordnet: bool = True, excluded: Iterable[str] = (),
                 blocked: Iterable[str] = ()):
        self.name = name
        self.nodes: tuple[str, ...] = tuple(synonyms)
        self.use_wordnet = use_wordnet
        self.excluded = frozenset(w.strip().lower() for w in excluded)
        #: phrases that name no node, whatever their last word or WordNet say ("passenger
        #: seat" is no chair, "tennis court" no tennis racket)
        self.blocked = frozenset(w.strip().lower() for w in blocked)
        table = word_table(synonyms, excluded=self.excluded)
        self.table = table
        self.phrases = frozenset(k for k in table if " " in k)
        self._memo: dict[str, str | None] = {}

    def __contains__(self, node: str) -> bool:
        return node in self.table and self.table[node] == node

    def __len__(self) -> int:
        return len(self.nodes)

    def __repr__(self) -> str:
        return f"Vocabulary({self.name!r}, {len(self.nodes)} nodes)"

    def _direct(self, phrase: str) -> str | None:
        for form in singular_forms(phrase):
            node = self.table.get(form)
            if node is not None:
                return node
        return None

    def map(self, noun: str) -> str | None:
        """The node ``noun`` (a lemma or phrase) stands for, or ``None``."""
        key = noun.strip().lower()
        try:
            return self._memo[key]
        except KeyError:
            pass
        node = self._direct(key)
        blocked = node is None and any(f in self.blocked for f in singular_forms(key))
        if node is None and not blocked and " " in key:
            words = key.split()
            for i in range(1, len(words)):
                node = self._direct(" ".join(words[i:]))
                if node is not None:
                    break
        if node is None and not blocked and self.use_wordnet:
            node = self._hypernym(key)
            if node is None and " " in key:
                head = key.split()[-1]
                node = self._hypernym(head)
                if node is not None and _person_or_device(head, node):
                    node = None     # "wii controller", "coffee maker": no person
        if len(self._memo) < 200_000:
            self._memo[key] = node
        return node

    def _hypernym(self, word: str) -> str | None:
        sense = mapped_sense(word)
        if sense is None:
            return None
        own = sorted(node for lemma in sense.lemma_names()   # "individual": person.n.01; not
                     if (node := self.table.get(lemma.replace("_", " ").lower())) is not None
                     and mapped_sense(node) == sense)     # a shuttle(cock), also a "bird"
        if own:
            return own[0]
        frontier = [sense]
        seen = set(frontier)
        for _ in range(HYPERNYM_DEPTH):
            nxt = []
            for syn in frontier:
                for hyper in syn.hypernyms() + syn.instance_hypernyms():
                    if hyper not in seen:
                        seen.add(hyper)
                        nxt.append(hyper)
            # NLTK gives hypernyms in set order (it changes with PYTHONHASHSEED): of the
            # categories found at the nearest level, the most specific (deepest) wins, then
            # the first by name, so a word maps to the same node in every run
            found = sorted((-hyper.max_depth(), hyper.name(), k, node) for hyper in nxt
                           for k, lemma in enumerate(hyper.lemma_names())
                           if (node := self.table.get(lemma.replace("_", " ").lower()))
                           is not None and _names_node(hyper, lemma, node))
            if found:
                return found[0][3]
            frontier = nxt
            if not frontier:
                break
        return None

    def synonyms(self) -> dict[str, tuple[str, ...]]:
        """Node -> its other surface forms (the table this vocabulary was built from)."""
        out: dict[str, list[str]] = {n: [] for n in self.nodes}
        for form, node in self.table.items():
            if form != node.lower():
                out.setdefault(node, []).append(form)
        return {n: tuple(v) for n, v in out.items()}

    def extended(self, words: Iterable[str], name: str | None = None) -> "Vocabulary":
        """This vocabulary plus ``words`` it cannot map (the labels of a user's annotation
        file: ``helmet``, ``space suit``), each a node of its own; words it maps already keep
        their node (``woman`` stays ``person``, ``table`` stays ``dining table``)."""
        extra = sorted({str(w).strip().lower() for w in words if str(w).strip()})
        extra = [w for w in extra if self.map(w) is None]
        if not extra:
            return self
        table = self.synonyms()
        for w in extra:
            table.setdefault(w, ())
        return Vocabulary(name or f"{self.name}+labels", table, use_wordnet=self.use_wordnet,
                          excluded=self.excluded, blocked=self.blocked)

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "nodes": len(self.nodes), "wordnet": self.use_wordnet}


@lru_cache(maxsize=1)
def coco_vocabulary() -> Vocabulary:
    """The 80 COCO categories with the words of the pinned vocabulary file CHAIR reads, and
    the corrections of CHAIR's ``refined`` variant: its extra words ("hotdog", which WordNet
    makes a daredevil, a person), its phrases ("remote control" -> remote, "wine bottle" ->
    bottle; those it maps to nothing, "passenger seat", "tennis court", name no node) and the
    words it removes ("bow")."""
    spec = load_spec()
    refined = spec.data.get("refined") or {}
    synonyms = {node: list(words) for node, words in spec.objects.items()}
    for node, words in (refined.get("extra_words") or {}).items():
        synonyms.setdefault(node, []).extend(words)
    blocked = []
    for phrase, node in (refined.get("phrases") or {}).items():
        if node is None:
            blocked.append(phrase)
        else:
            synonyms.setdefault(node, []).append(phrase)
    return Vocabulary("coco", synonyms, excluded=refined.get("removed_words") or (),
                      blocked=blocked)


def default_amber_dir() -> Path | None:
    """``$HALLUSCOPE_SHARED_DATA/amber`` or ``../shared/data/amber`` beside the project."""
    env = os.environ.get("HALLUSCOPE_SHARED_DATA")
    root = Path(env) if env else Path(__file__).resolve().parents[2].parent / "shared" / "data"
    d = root / "amber"
    return d if (d / "annotations.json").is_file() else None


def load_amber_vocabulary(relation_json: str | Path) -> Vocabulary:
    """AMBER's object words (with their association words) as a vocabulary."""
    p = Path(relation_json)
    if p.is_dir():
        p = p / "relation.json"
    assoc = json.loads(p.read_text(encoding="utf-8"))
    words: dict[str, tuple[str, ...]] = {}
    for k, v in assoc.items():
        words.setdefault(k, ())
        for w in v:
            words.setdefault(w, ())
    return Vocabulary("amber", words)


@lru_cache(maxsize=8)
def _amber_vocabulary(path: str) -> Vocabulary:
    return load_amber_vocabulary(path)


def load_vocabulary(spec: Any = None) -> Vocabulary:
    """A :class:`Vocabulary` from ``None``/``"coco"`` (COCO-80), ``"amber"`` or
    ``"amber:<relation.json>"``, a list of words, a mapping node -> synonyms, a Vocabulary, or
    a file: JSON (list, or mapping node -> synonyms) or text (one node a line, synonyms after
    commas)."""
    if spec is None or spec == "coco":
        return coco_vocabulary()
    if isinstance(spec, Vocabulary):
        return spec
    if isinstance(spec, str) and (spec == "amber" or spec.startswith("amber:")):
        path = spec.partition(":")[2]
        if not path:
            d = default_amber_dir()
            if d is None:
                raise ConfigError("the AMBER vocabulary needs AMBER's relation.json: pass "
                                  "'amber:<path to relation.json>'")
            path = str(d / "relation.json")
        return _amber_vocabulary(path)
    if isinstance(spec, Mapping):
        return Vocabulary("custom", {str(k): tuple(v or ()) for k, v in spec.items()})
    if isinstance(spec, (str, Path)):
        p = Path(spec)
        if not p.is_file():
            raise ConfigError(f"expected a vocabulary name (coco, amber) or a file, got {spec!r}")
        text = p.read_text(encoding="utf-8")
        if p.suffix == ".json":
            try:
                table = _synonym_table(json.loads(text))
            except json.JSONDecodeError as exc:
                raise ConfigError(f"{p}:{exc.lineno}: invalid JSON: {exc.msg}") from exc
        else:
            table = _synonym_table([ln for ln in text.splitlines() if ln.strip()
                                    and not ln.startswith("#")])
        if not table:
            raise ConfigError(f"{p}: expected a list of words or a mapping node -> synonyms")
        return Vocabulary(p.stem, table)
    if isinstance(spec, Iterable):
        return Vocabulary("custom", {str(w): () for w in spec})
    raise ConfigError(f"expected a vocabulary (name, file, list or mapping), got {spec!r:.60}")
