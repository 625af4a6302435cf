"""A plain-Python snapshot of a parsed spaCy ``Doc``, read once per response.

spaCy builds a new ``Token`` object at every ``doc[i]``, ``tok.head``, ``tok.children`` and
``tok.conjuncts`` and looks every string up in the ``StringStore`` at every ``tok.dep_``; the
claim rules ask the same questions of the same tokens many times over, so that per-access work
cost as much as a fifth of the parse itself. :func:`snapshot` reads the parse once (one
``Doc.to_array`` call, strings through a cache) into :class:`Tok` objects with the same
attribute names and meanings as spaCy's (``i``, ``text``, ``lower_``, ``lemma_``, ``pos_``,
``tag_``, ``dep_``, ``idx``, ``head``, ``lefts``, ``rights``, ``children``, ``conjuncts``,
``subtree``, ``sent``, ``doc``, ``len()``), so the rules in :mod:`~halluscope.claims.mentions`,
:mod:`~halluscope.claims.parse` and :mod:`~halluscope.claims.splitter` read either.

The snapshot is read-only: a repair (:func:`halluscope.claims.parse.repair`) changes the
``Doc`` and a new snapshot is taken after it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import accumulate, repeat
from operator import itemgetter
from typing import Any

_STRINGS: dict[int, str] = {}
"""Hash -> string, shared by every document (spaCy's hashes are of the strings themselves)."""
_MAX_STRINGS = 200_000
_NONE: tuple = ()
"""The children of a token that has none (shared: most tokens are leaves)."""
_ATTRS: list[int] = []
_POS_NAMES: dict[int, str] = {}


def _setup() -> None:
    """Read spaCy's attribute ids and part-of-speech names (at the first snapshot)."""
    from spacy.attrs import DEP, HEAD, LEMMA, LENGTH, LOWER, POS, SPACY, TAG
    from spacy.parts_of_speech import NAMES
    _POS_NAMES.update(NAMES)
    _ATTRS.extend([LOWER, LEMMA, POS, TAG, DEP, HEAD, LENGTH, SPACY])


class Sent:
    """A sentence of the snapshot: ``start``/``end`` token offsets, ``start_char``/``end_char``
    character offsets, iterable over its tokens like a spaCy ``Span``."""

    __slots__ = ("doc", "start", "end", "start_char", "end_char")

    def __init__(self, doc: DocView, start: int, end: int, start_char: int, end_char: int):
        self.doc, self.start, self.end = doc, start, end
        self.start_char, self.end_char = start_char, end_char

    def __iter__(self) -> Iterator[Tok]:
        return iter(self.doc[self.start:self.end])

    def __len__(self) -> int:
        return self.end - self.start


class Tok:
    """One token of the snapshot (the spaCy ``Token`` attributes the claim rules read)."""

    __slots__ = ("i", "text", "lower_", "lemma_", "pos_", "tag_", "dep_", "idx", "doc", "head",
                 "lefts", "rights", "children", "conjuncts")

    def __init__(self, i, text, lower_, lemma_, pos_, tag_, dep_, idx, doc):
        # one statement each: a tuple assignment builds and unpacks a tuple (twice the time)
        self.i = i
        self.text = text
        self.lower_ = lower_
        self.lemma_ = lemma_
        self.pos_ = pos_
        self.tag_ = tag_
        self.dep_ = dep_
        self.idx = idx
        self.doc = doc
        # lefts, rights: a list of its own once there is a child; children: set by the
        # snapshot; conjuncts: set by the snapshot for the tokens in a coordination
        self.lefts: Sequence[Tok] = _NONE
        self.rights: Sequence[Tok] = _NONE
        self.children: Sequence[Tok] = _NONE
        self.conjuncts: tuple[Tok, ...] = _NONE

    def __len__(self) -> int:
        return len(self.text)

    def __repr__(self) -> str:
        return self.text

    def coordination(self) -> tuple[Tok, ...]:
        """The tokens coordinated with this one, itself excluded (spaCy's rule for
        ``conjuncts``: up the ``conj`` arcs to the first conjunct, then down its right ``conj``
        children)."""
        start = self
        while start.i != start.head.i and start.dep_ == "conj":
            start = start.head
        output = [start]
        for word in output:
            output.extend([c for c in word.rights if c.dep_ == "conj"])
        return tuple([w for w in output if w.i != self.i])

    @property
    def sent(self) -> Sent:
        """The sentence this token is in."""
        return next(s for s in self.doc.sents if s.start <= self.i < s.end)

    @property
    def subtree(self) -> Iterator[Tok]:
        """This token and its descendants, in spaCy's order."""
        for word in self.lefts:
            yield from word.subtree
        yield self
        for word in self.rights:
            yield from word.subtree


class DocView(list):
    """The tokens of one parsed response (a list of :class:`Tok`) with its ``text`` and
    ``sents``."""

    text: str
    sents: list[Sent]

    def release(self) -> None:
        """Break the references between the tokens (heads, children, sentences, this list), so
        that they are freed at once instead of waiting for Python's cycle collector."""
        for tok in self:                # head and children, conjuncts: the cycles
            tok.head = None
            tok.conjuncts = _NONE
        self.sents = []                 # the sentences point back at this list
        self.clear()


def first_child(tok: Any, dep: str) -> Any:
    """The first child of ``tok`` (a :class:`Tok` or spaCy ``Token``) whose dependency label is
    ``dep``, or ``None``."""
    for c in tok.children:
        if c.dep_ == dep:
            return c
    return None


def _lookup(keys: list[int], table: dict[int, str]) -> Sequence[str]:
    """``[table[k] for k in keys]`` (one or more keys) in one C loop: a third of the time."""
    found = itemgetter(*keys)(table)
    return found if len(keys) > 1 else (found,)


def _strings(hashes: list[int], store: Any) -> Sequence[str]:
    """The strings of a column of hashes, through :data:`_STRINGS`."""
    try:
        return _lookup(hashes, _STRINGS)
    except KeyError:
        if len(_STRINGS) > _MAX_STRINGS:
            _STRINGS.clear()
        for h in hashes:
            if h not in _STRINGS:
                _STRINGS[h] = store[h]
        return _lookup(hashes, _STRINGS)


def _heads(columns: Any) -> list[int]:
    """The index of each token's head, from the ``HEAD`` (offsets, as unsigned integers) and
    ``DEP`` columns of ``Doc.to_array``: a token without a label has no head (spaCy's ``head``
    is the token itself)."""
    offsets = columns[5].astype("int64")        # two's complement: -1 reads back as -1
    offsets[columns[4] == 0] = 0
    return list(map(int.__add__, range(len(offsets)), offsets.tolist()))


def snapshot(doc, text: str | None = None, *, exact_edges: bool = False) -> DocView:
    """The parse of ``doc`` as a :class:`DocView`; ``text``: ``doc.text`` when the caller has it.

    Children are the tokens whose head is the token, left ones before it and right ones after
    it, in order: what spaCy's ``lefts``/``rights`` give after a parse. ``exact_edges`` asks
    spaCy for them token by token instead, for a doc whose heads were changed after parsing
    (spaCy then only scans the left and right edges it kept).
    """
    if not _ATTRS:
        _setup()
    view = DocView()
    view.text = text = doc.text if text is None else text
    n = len(doc)
    if n == 0:
        view.sents = []
        return view
    columns = doc.to_array(_ATTRS).T
    heads = _heads(columns)
    lower, lemma, pos, tag, dep, _, length, space = columns.tolist()
    store = doc.vocab.strings
    starts = list(accumulate(map(int.__add__, length, space), initial=0))
    view.extend(map(Tok, range(n), [text[a:a + k] for a, k in zip(starts, length)],
                    _strings(lower, store), _strings(lemma, store),
                    _lookup(pos, _POS_NAMES), _strings(tag, store),
                    _strings(dep, store), starts, repeat(view, n)))
    for tok, h in zip(view, map(view.__getitem__, heads)):
        tok.head = h
        if h.i > tok.i:
            if h.lefts is _NONE:
                h.lefts = [tok]
            else:
                h.lefts.append(tok)
        elif h.i < tok.i:
            if h.rights is _NONE:
                h.rights = [tok]
            else:
                h.rights.append(tok)
    if exact_edges:
        for tok, real in zip(view, doc):
            tok.lefts = [view[c.i] for c in real.lefts] or _NONE
            tok.rights = [view[c.i] for c in real.rights] or _NONE
    for tok in view:
        left, right = tok.lefts, tok.rights
        tok.children = left + right if left and right else left or right
    # a token has conjuncts only if it or its head hangs by a "conj" arc (spaCy's rule, in
    # Tok.coordination, gives the others none): most responses have a few such tokens
    coordinated = {t for tok in view if tok.dep_ == "conj" for t in (tok, tok.head)}
    for tok in coordinated:
        tok.conjuncts = tok.coordination()
    view.sents = [Sent(view, s.start, s.end, s.start_char, s.end_char) for s in doc.sents]
    return view
