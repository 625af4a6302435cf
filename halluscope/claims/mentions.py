"""Mentions: the objects a parsed response names, and what its pronouns and clauses refer to.

:class:`MentionIndex` reads the nouns of a spaCy ``Doc`` (repaired by
:func:`halluscope.claims.parse.repair`) into :class:`Mention` objects: the name (compounds
joined, "hot dog" kept whole), vocabulary node, plural, person and gender, negation (the rules
of :mod:`halluscope.claims.negation`), count and adjectives. Some nouns stand for the noun
after their "of" and are replaced by it:

* partitives: "a group of people", "a slice of cake" -> people, cake;
* framing nouns: "a close-up of a cat", "a portrait of a woman" -> cat, woman (the frame makes no
  claim; what is said of it is said of the depicted noun) when the frame stands for the image:
  a fragment's head, a subject, "is a ...", the object of show/depict/..., "in a close-up of";
  not in "taking a picture of", "with a view of";
* replicas: "a white model of the space shuttle" -> space shuttle, with the attributes "model"
  and "white" (and a count, "two models of ...") of the replica; "a shuttle model" likewise.

A negated transparent noun negates what it stands for ("no group of people"). References
(:meth:`MentionIndex.refs`) follow these aliases, relative pronouns and personal pronouns
(resolved to the latest fitting mention, subjects first); :meth:`MentionIndex.subjects` finds
the subjects of a verb or adjective through coordination, relative clauses and participles.
"""

from __future__ import annotations

import re
import weakref
from dataclasses import dataclass, field
from typing import Any

from halluscope.claims import lexicon as L
from halluscope.claims.counts import implied_bounds, pair_count
from halluscope.claims.negation import denied
from halluscope.claims.notation import inside, notation_spans
from halluscope.claims.tokens import first_child
from halluscope.claims.vocab import IRREGULAR_PLURALS as L_IRREGULAR
from halluscope.claims.vocab import (Vocabulary, is_concrete, is_depictable, is_person_word,
                                     singular_forms)
from halluscope.numbers import TENS

_DIGITS = re.compile(r"^\d{1,6}$")
_WORD = re.compile(r"^[^\W\d_][^\W\d_'-]*(?:[-'][^\W\d_]+)*$")
#: Hyphened words the rules name (spaCy splits them at the hyphen: "close" amod + noun "up").
_HYPHEN_NAMES = L.FRAME_NOUNS | L.META_NOUNS | L.MODEL_NOUNS
_WEATHER = frozenset({"rain", "snow", "drizzle", "pour", "storm", "hail", "thunder"})


@dataclass(slots=True)
class Mention:
    """One object named in the response."""

    head: Any                      # the noun token
    subject: str
    start: int                     # character span of the name
    end: int
    plural: bool
    node: str | None
    keep: bool
    negated: bool = False
    person: bool = False
    gender: str | None = None
    count: int | None = None
    count_tok: Any = None
    count_end: int | None = None   # where the count's claim ends when a later mention raised it
    at_least: bool = False         # the count is a lower bound ("the second dog")
    name_tokens: frozenset[int] = frozenset()
    attrs: list[tuple[str, Any]] = field(default_factory=list)


def parse_number(tok) -> int | None:
    w = tok.lower_.replace(",", "")
    if w in L.NUMBER_WORDS:
        return L.NUMBER_WORDS[w]
    if _DIGITS.match(w):
        return int(w)
    return None


def numeral_value(tok) -> int | None:
    """The number a count's numeral says, read over its whole phrase (``tok`` and the tokens
    under it): one number word or digits, tens and units ("twenty-one", "twenty one" -> 21),
    or "<n> hundred". ``None`` for a range or alternative ("three or four", "3-4", "two to
    three") and a multiplier ("two dozen"): such a count is no exact claim. Only the last word
    was read: "twenty-one birds" was a count of 1, "three or four dogs" of 3, "3-4" of 4."""
    words = [t for t in tok.subtree if t.i <= tok.i]
    if any(t.i > tok.i for t in tok.subtree):
        return None                              # "three or four": a conjunct after it
    values = []
    for t in words:
        if t.text in ("-", "\u2010", "\u2011") and values and values[-1] in TENS:
            continue                             # twenty-one
        v = parse_number(t)
        if v is None:
            return None
        values.append(v)
    if len(values) == 1:
        return values[0]
    words_only = all(t.lower_ in L.NUMBER_WORDS for t in words if t.pos_ != "PUNCT")
    if words_only and len(values) == 2:
        tens, unit = values
        if tens in TENS and 1 <= unit <= 9:
            return tens + unit
        if 1 <= tens <= 99 and unit == 100:
            return tens * 100
    return None


def _animal(m: Mention) -> bool:
    """Whether a mention names an animal (WordNet's first concrete sense)."""
    from halluscope.claims.vocab import concrete_senses
    senses = concrete_senses(m.subject) or concrete_senses(m.subject.split()[-1]) or ()
    return bool(senses) and senses[0].lexname() == "noun.animal"


_MAX_MEMO = 100_000
_MEMOS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_MEMO_NO_VOCAB: dict[tuple, tuple] = {}


def _facts_memo(vocab: Vocabulary | None) -> dict[tuple, tuple]:
    """The memo of :meth:`MentionIndex._facts` for one vocabulary (kept while it lives)."""
    if vocab is None:
        return _MEMO_NO_VOCAB
    memo = _MEMOS.get(vocab)
    if memo is None:
        memo = _MEMOS[vocab] = {}
    return memo


class MentionIndex:
    """The mentions of one parsed response and the references to them."""

    def __init__(self, doc, vocab: Vocabulary | None):
        self.doc = doc
        self.vocab = vocab
        self.mentions: dict[int, Mention] = {}
        self.alias: dict[int, Mention] = {}
        self.frames: set[int] = set()   # framing nouns ("in a close-up of"), aliases
        self.pron: dict[int, list[Mention]] = {}
        self._memo = _facts_memo(vocab)
        self._notation: tuple[tuple[int, int], ...] | None = None

    def in_notation(self, tok) -> bool:
        """Whether ``tok`` is written in box, coordinate or region notation, whose numbers are
        never counts and whose marks are no names (:mod:`halluscope.claims.notation`)."""
        if self._notation is None:
            self._notation = notation_spans(self.doc.text)
        return bool(self._notation) and inside(self._notation, tok.idx)

    # -- names --------------------------------------------------------------------------------
    def _name(self, tok) -> tuple[str, list, list]:
        """(subject, name tokens, adjective tokens merged into the name)."""
        stack = [c for c in tok.lefts if c.dep_ == "compound"]
        run = self._compounds(tok, stack) if stack else []
        hyphened = self._hyphened(run[0] if run else tok, tok)
        if hyphened is not None:        # "close-up": one word that spaCy split at the hyphen
            run.insert(0, hyphened)
        lemma = self._lemma(tok)
        words = [c.lower_ for c in run] + [lemma]
        merged = []
        prev = self.doc[run[0].i - 1] if run else (self.doc[tok.i - 1] if tok.i > 0 else None)
        if prev is not None and prev.dep_ in ("amod", "compound") and prev.head.i == tok.i:
            phrase = prev.lower_ + " " + " ".join(words)
            if phrase in L.ADJECTIVE_COMPOUNDS or (self.vocab is not None
                                                   and phrase in self.vocab.phrases):
                merged.append(prev)
                words.insert(0, prev.lower_)
        return " ".join(words), merged + run + [tok], merged

    def _compounds(self, tok, stack: list) -> list:
        """The compounds of noun ``tok`` that are part of its name (``stack``: its compound
        children): the contiguous run before it, without colours, numbers and notation (a box
        tag's ``>`` was part of the name: "<|box_end|> dog" named "> dog")."""
        comps = []
        while stack:
            c = stack.pop()
            if c.lower_ in L.COLORS or c.pos_ == "NUM" or self.in_notation(c):
                continue
            comps.append(c)
            stack.extend(x for x in c.lefts if x.dep_ in ("compound",))
        comps.sort(key=lambda t: t.i)
        # keep only the contiguous run before the head
        run: list = []
        for c in reversed(comps):
            nxt = run[0].i if run else tok.i
            if c.i == nxt - 1 or (c.i == nxt - 2 and self.doc[c.i + 1].text == "-"):
                run.insert(0, c)
        return run

    def _hyphened(self, first, head):
        """The word joined by a hyphen, without spaces, to ``first`` (the name's first token)
        when it modifies ``head`` and the hyphened word is one the rules or the vocabulary
        name ("close" of "close-up": a framing noun), else ``None``. Other hyphened words keep
        spaCy's reading ("left-center": a position, "high-rise": rise, high)."""
        if first.i < 2:
            return None
        dash, word = self.doc[first.i - 1], self.doc[first.i - 2]
        if dash.text != "-" or word.idx + len(word) != dash.idx or dash.idx + 1 != first.idx:
            return None
        if word.head.i != head.i:
            return None
        joined = f"{word.lower_}-{first.lower_}"
        if joined in _HYPHEN_NAMES or (self.vocab is not None and (
                joined in self.vocab.table or joined.replace("-", " ") in self.vocab.phrases)):
            return word
        return None

    @staticmethod
    def _lemma(tok) -> str:
        low = tok.lower_
        if low in L_IRREGULAR:
            return L_IRREGULAR[low]
        lemma = tok.lemma_.lower()
        if tok.tag_ in ("NNS", "NNPS") and lemma == low and low.endswith("s"):
            forms = singular_forms(low)
            if len(forms) > 1:
                return forms[1] if forms[0] == low else forms[0]
        if lemma == "leave" and low == "leaves":
            return "leaf"
        return lemma

    def _is_object(self, low: str, subject: str, node: str | None, direct: bool) -> bool:
        lemma = subject.split()[-1]
        if low in L.META_NOUNS or lemma in L.META_NOUNS or subject in L.META_NOUNS or \
                subject.replace(" ", "-") in L.META_NOUNS:
            return False
        if lemma in L.POSITION_NOUNS and all(w in L.POSITION_WORDS for w in subject.split()):
            return False        # "the top", "the right-hand corner", "the side edge"
        if direct:
            return True
        if lemma in L.NON_OBJECT_NOUNS or subject in L.NON_OBJECT_NOUNS:
            return False
        if not _WORD.match(lemma):
            return False        # "%", "p.", region marks such as "R2": not names of things
        if node is not None:
            return True
        if lemma in L.DEPICTABLE_NOUNS or subject in L.DEPICTABLE_NOUNS:
            return True
        # a word (or a phrase WordNet knows) must name something a picture can show; a phrase
        # it does not know only a physical thing by its head ("egg carton": a carton)
        concrete = is_depictable(subject) if " " in subject else is_depictable(lemma)
        if concrete is None and " " in subject:
            concrete = is_concrete(lemma)
        return concrete is not False

    def _facts(self, subject: str, low: str, tag: str) -> tuple:
        """``(node, keep, plural, person, gender)`` of a mention, which depend only on its name,
        the head's lower-case form and tag (and the vocabulary): worked out once per process."""
        key = (subject, low, tag)
        facts = self._memo.get(key)
        if facts is not None:
            return facts
        vocab = self.vocab
        node = vocab.map(subject) if vocab is not None else None
        direct = node is not None and vocab is not None and \
            any(f in vocab.table for f in singular_forms(subject))
        keep = self._is_object(low, subject, node, direct)
        plural = tag in ("NNS", "NNPS") or subject == "people" or L_IRREGULAR.get(low, low) != low
        person = node == "person" or subject in L.MALE_WORDS or \
            subject in L.FEMALE_WORDS or (keep and is_person_word(subject.split()[-1]))
        gender = "m" if subject in L.MALE_WORDS else "f" if subject in L.FEMALE_WORDS else None
        facts = (node, keep, plural, person, gender)
        if len(self._memo) < _MAX_MEMO:
            self._memo[key] = facts
        return facts

    def _mention(self, tok, subject: str, name_toks: list) -> Mention:
        node, keep, plural, person, gender = self._facts(subject, tok.lower_, tok.tag_)
        return Mention(head=tok, subject=subject, start=name_toks[0].idx,
                       end=tok.idx + len(tok.text), plural=plural, node=node, keep=keep,
                       person=person, gender=gender,
                       name_tokens=frozenset([t.i for t in name_toks]))

    # -- finding ------------------------------------------------------------------------------
    def find_mentions(self) -> None:
        for tok in self.doc:
            if tok.pos_ not in ("NOUN", "PROPN") or tok.dep_ == "compound":
                if not (tok.pos_ == "ADJ" and tok.dep_ in ("nsubj", "nsubjpass", "dobj", "pobj")
                        and tok.tag_ == "JJ" and tok.lower_ not in L.NON_ATTRIBUTE_ADJECTIVES
                        and tok.lower_ in L_IRREGULAR):
                    continue
            if tok.pos_ == "PROPN" and tok.dep_ not in ("nsubj", "dobj", "pobj", "attr",
                                                        "conj", "nsubjpass", "appos"):
                continue
            if self.in_notation(tok):   # a JSON key ("bbox", "label"), a box: no object
                continue
            if self._names_nothing(tok):
                continue
            subject, name_toks, _merged = self._name(tok)
            self.mentions[tok.i] = self._mention(tok, subject, name_toks)
        for m in self.mentions.values():
            self._negation(m)
            self._count_and_attributes(m)
        self._transparent_nouns()
        self._distributive_ones()
        self._counts_raised()
        implied_bounds(self)

    def _names_nothing(self, tok) -> bool:
        """Nouns that name no object where they stand: "other(s)", which point back
        (:meth:`refs`); a life stage said of a subject ("the elephants are adults"); idioms ("in addition to", "at hand", "on the other hand"); a part of a
        hyphened word WordNet knows as no physical thing ("tug" of "tug-of-war": no boat)."""
        low = tok.lower_
        if low in L.OTHER_WORDS:
            return True
        if tok.dep_ == "attr" and tok.lemma_.lower() in L.LIFE_STAGE_NOUNS and any(
                c.dep_ in ("nsubj", "nsubjpass") and c.lower_ not in ("this", "that", "it")
                for c in tok.head.children):
            return True     # "two of the elephants are adults": no person, a description
        if tok.lemma_.lower() in L.LIFE_STAGE_NOUNS and any(
                c.dep_ == "det" and c.lower_ in ("the", "these", "those") for c in tok.children):
            living = [m for m in self.mentions.values() if m.keep and (m.person or _animal(m))]
            if living and not living[-1].person:
                return True     # "... three elephants ... The adults are standing": elephants
        if tok.dep_ == "pobj":
            prep = tok.head.lower_
            if (prep, low) in L.IDIOM_NOUNS or (prep, low) == ("on", "hand") and any(
                    c.lower_ == "other" for c in tok.children):
                return True
        return self._in_abstract_hyphened(tok)

    def _in_abstract_hyphened(self, tok) -> bool:
        doc = self.doc
        glued = lambda a, b: doc[a].idx + len(doc[a].text) == doc[b].idx  # noqa: E731
        i, j = tok.i, tok.i
        while i >= 2 and doc[i - 1].text == "-" and glued(i - 2, i - 1) and glued(i - 1, i):
            i -= 2
        while j + 2 < len(doc) and doc[j + 1].text == "-" and glued(j, j + 1) \
                and glued(j + 1, j + 2):
            j += 2
        if j - i < 4:       # two-part words ("close-up") keep their rules
            return False
        return is_concrete(doc.text[doc[i].idx:doc[j].idx + len(doc[j].text)].lower()) is False

    def _counts_raised(self) -> None:
        """"Two dogs play ... A third dog sleeps": a later ordinal of a counted noun beyond its
        count ("a third dog", "the 4th car") raises the count to the ordinal, and "another
        dog" in a later sentence to one more, unless a "one" or "first" came between (picking
        one of the two: "One dog is brown, another dog is white"). Not a count that is one
        part of an enumeration ("one car on the left, two cars on the right, and another car
        further down": the two are not all of them). The count's claim then spans both
        mentions; "the second dog", "the other dog" change nothing."""
        counted: dict[str, Mention] = {}
        for i, m in sorted(self.mentions.items()):
            names = [n for n in (m.node, m.subject) if n]
            before = next((counted[n] for n in names if n in counted), None)
            if before is not None and not m.negated and m.count is None and not any(
                    t.lower_ == "one" for t in self.doc[before.head.sent.start:before.head.i]):
                mods = [c.lower_ for c in m.head.children if c.i < m.head.i]
                k = max((L.ORDINALS.get(w, 0) for w in mods), default=0)
                if "another" in mods and m.head.sent.start > before.head.i and not any(
                        t.lower_ in ("one", "first") for t in self.doc[before.head.i + 1:i]):
                    k = max(k, before.count + 1)
                if k > before.count:
                    before.count, before.count_end = k, m.end
            if m.count and not m.negated:
                counted.update((n, m) for n in names)

    def _distributive_ones(self) -> None:
        """"two bottles ... One bottle is on the left, the other on the right": a "one" that
        picks one of objects already said to be several (or that "the other" / "another" / "the
        second" follows in its sentence) counts nothing."""
        several: set[str] = set()
        for _, m in sorted(self.mentions.items()):
            names = {m.subject, m.node} - {None}
            if m.count == 1 and m.count_tok is not None and m.count_tok.lower_ == "one" and (
                    names & several or any(t.lower_ in ("other", "another", "others", "second")
                                           for t in m.head.sent if t.i > m.head.i)):
                m.count, m.count_tok = None, None
            if m.plural or (m.count or 0) > 1:
                several |= names

    @staticmethod
    def _transparency(m: Mention) -> str | None:
        """``partitive`` | ``frame`` | ``model`` | ``None`` for a mention's noun."""
        words = m.subject.split()
        last = words[-1]
        if last in L.PARTITIVES or m.head.lemma_ in L.PARTITIVES:
            return "partitive"
        if last in L.FRAME_NOUNS or m.subject.replace(" ", "-") in L.FRAME_NOUNS or \
                m.subject in L.FRAME_NOUNS:
            tok = m.head
            dep = tok.dep_
            if dep in ("ROOT", "nsubj", "nsubjpass", "attr", "appos") or \
                    (dep == "dobj" and tok.head.lemma_ in L.META_VERBS) or \
                    (dep == "pobj" and tok.head.lower_ == "in"):
                return "frame"
            return None     # "taking a picture of", "with a view of": a thing in the image
        if last in L.MODEL_NOUNS:
            return "model"
        return None

    def _of_object(self, tok) -> Mention | None:
        for c in tok.children:
            if c.dep_ == "prep" and c.lower_ == "of":
                for g in c.children:
                    if g.dep_ == "pobj":
                        return self.mentions.get(g.i) or self.alias.get(g.i)
                return None
        return None

    def _transparent_nouns(self) -> None:
        """Replace partitives, frames and replicas by the noun they stand for (innermost first:
        "a close-up of a group of people" -> people)."""
        for i in sorted(self.mentions, reverse=True):
            m = self.mentions[i]
            kind = self._transparency(m)
            if kind is None:
                continue
            inner = self._of_object(m.head)
            if inner is None:
                if kind == "model" and " " in m.subject:
                    self._model_compound(m)
                continue
            del self.mentions[i]
            self.alias[i] = inner
            if kind == "frame":
                self.frames.add(i)
            inner.negated = inner.negated or m.negated
            if kind == "partitive" and m.head.lemma_ == "pair":
                pair_count(m, inner)            # "a pair of shoes": two shoes
            if kind == "model":
                inner.attrs.extend([(m.head.lemma_.lower(), m.head), *m.attrs])
                if inner.count is None and m.count is not None:
                    inner.count, inner.count_tok = m.count, m.count_tok

    def _model_compound(self, m: Mention) -> None:
        """"a shuttle model": the mention stands for a shuttle with the attribute "model"."""
        subject = m.subject.rsplit(" ", 1)[0]
        name_toks = sorted((self.doc[j] for j in m.name_tokens if j != m.head.i),
                           key=lambda t: t.i)
        repl = self._mention(m.head, subject, name_toks)
        m.subject, m.node, m.keep, m.person = repl.subject, repl.node, repl.keep, repl.person
        m.end = name_toks[-1].idx + len(name_toks[-1].text)
        m.attrs.insert(0, (m.head.lemma_.lower(), m.head))

    def _negation(self, m: Mention) -> None:
        """A denied noun makes no claim (the rules: :mod:`halluscope.claims.negation`)."""
        if denied(m.head, self.in_notation):
            m.negated = True

    def _count_and_attributes(self, m: Mention) -> None:
        tok = m.head
        attrs: list[tuple[str, Any]] = []
        for c in tok.children:
            if c.dep_ == "nummod" and c.i < tok.i:
                prev = self.doc[c.i - 1].lower_ if c.i > 0 else ""
                if prev in L.APPROXIMATE or any(g.lower_ in L.APPROXIMATE for g in c.children):
                    continue
                if self.in_notation(c):      # "[120, 45, 370, 510] dog": a box, no count
                    continue
                n = numeral_value(c)
                if n is not None:
                    m.count, m.count_tok = n, c
            elif c.dep_ in ("amod", "compound") and c.i < tok.i and c.i not in m.name_tokens:
                if c.dep_ == "compound" and c.lower_ not in L.COLORS:
                    continue
                for a in [c, *(x for x in c.conjuncts if x.pos_ in ("ADJ", "VERB"))]:
                    w = a.lower_
                    if a.pos_ not in ("ADJ", "VERB", "NOUN", "PROPN") or \
                            w in L.NON_ATTRIBUTE_ADJECTIVES or w in L.HEDGE_WORDS or \
                            w in L.NUMBER_WORDS:
                        continue
                    if a.pos_ in ("NOUN", "PROPN") and w not in L.COLORS:
                        continue
                    if w in L.SHADES and a.i + 1 < len(self.doc) and \
                            self.doc[a.i + 1].lower_ in L.COLORS and \
                            self.doc[a.i + 1].head.i == tok.i and a.i + 1 != tok.i:
                        continue
                    attrs.append((w, a))
        m.attrs = attrs

    # -- references ---------------------------------------------------------------------------
    def refs(self, tok) -> list[tuple[Mention, Any]]:
        """Mentions ``tok`` stands for, with the token that names them in the text."""
        m = self.mentions.get(tok.i) or self.alias.get(tok.i)
        if m is not None:
            return [(m, tok)]
        low = tok.lower_
        if low in L.RELATIVE_PRONOUNS and tok.head.dep_ in ("relcl", "acl"):
            noun = tok.head.head
            return [(mm, tok) for mm, _ in self.refs(noun)] if noun.i != tok.i else []
        if tok.pos_ == "PRON" or (low in L.OTHER_WORDS and tok.i not in self.mentions):
            if tok.i not in self.pron:
                self.pron[tok.i] = self._resolve(tok)
            return [(mm, tok) for mm in self.pron[tok.i]]
        return []

    def _resolve(self, tok) -> list[Mention]:
        low = tok.lower_
        verb = tok.head
        if low == "it" and (verb.lemma_ in _WEATHER or any(
                c.dep_ in ("ccomp", "xcomp", "csubj") or (c.dep_ == "acomp" and c.lower_ in
                                                          L.HEDGE_WORDS) for c in verb.children)):
            return []       # "it is raining", "it is likely that ...", "it seems to ..."
        if low in L.PRONOUNS_SINGULAR:
            ok = lambda m: not m.plural and not m.person  # noqa: E731
        elif low in L.PRONOUNS_MALE:
            ok = lambda m: m.person and not m.plural and m.gender != "f"  # noqa: E731
        elif low in L.PRONOUNS_FEMALE and tok.dep_ != "poss":
            ok = lambda m: m.person and not m.plural and m.gender != "m"  # noqa: E731
        elif low in L.PRONOUNS_PLURAL:
            ok = None
        elif low in L.OTHER_WORDS:   # "the other", "others": more of a plural noun
            ok = lambda m: m.plural or (m.count or 0) > 1  # noqa: E731
        else:
            return []
        before = [m for i, m in sorted(self.mentions.items()) if i < tok.i and m.keep
                  and not m.negated]
        if not before:
            return []
        if ok is None:      # they: a plural noun or a coordinated group, subjects first
            groups = []
            for m in before:
                conj = [self.mentions[c.i] for c in m.head.conjuncts if c.i in self.mentions
                        and c.i < tok.i]
                if m.head.dep_ != "conj" and conj and not any(
                        c.dep_ == "cc" and c.lower_ in ("or", "nor") for c in m.head.children):
                    groups.append((m, [m, *conj]))     # "an airport or a station": no "they"
                elif m.plural:
                    groups.append((m, [m]))
            if not groups:
                return []
            subj = [g for g in groups if g[0].head.dep_ in ("nsubj", "nsubjpass")]
            return (subj or groups)[-1][1]
        fits = [m for m in before if ok(m)]
        if not fits:
            return []
        subj = [m for m in fits if m.head.dep_ in ("nsubj", "nsubjpass")
                or (m.head.dep_ == "attr" and any(c.dep_ == "expl" for c in m.head.head.children))]
        return [(subj or fits)[-1]]

    def subjects(self, v, depth: int = 0) -> list[tuple[Mention, Any]]:
        """The subjects of verb (or adjective) ``v``, following coordination and clauses."""
        if depth > 8:
            return []
        out: list[tuple[Mention, Any]] = []
        subj_toks = [c for c in v.children if c.dep_ in ("nsubj", "nsubjpass", "csubj")]
        if subj_toks:
            for s in subj_toks:
                for t in (s, *s.conjuncts):
                    out.extend(self.refs(t))
            return out
        if first_child(v, "expl") is not None:
            for c in v.children:
                if c.dep_ in ("attr", "dobj", "nsubj"):
                    for t in (c, *c.conjuncts):
                        out.extend(self.refs(t))
            return out
        if v.dep_ in ("acl", "relcl") or (v.dep_ == "amod" and v.pos_ == "VERB"):
            head = v.head
            group = [head]
            conj = [c for c in head.conjuncts if c.i > head.i]
            if conj and v.i > max(c.i for c in conj):
                group.extend(conj)
            for t in group:
                out.extend(self.refs(t))
            return out
        if v.dep_ in ("advcl", "conj", "xcomp", "ccomp", "pcomp") and v.head.i != v.i:
            return self.subjects(v.head, depth + 1)
        return out
