"""Labels of cited objects: how two compare (:func:`label_key`, :func:`same_object`), and which
object a cited box or region id is about, read from the words around it (:func:`label_around`).

A citation's *clause* is the text before it back to the nearest ``,`` ``;`` ``:`` ``(`` ``)``
(or the start of its window); its *window* is the text before it in the same sentence, at most
:data:`LABEL_WINDOW` characters, back to the previous citation (``]`` ``>`` ``}``), ``. ``, a
line break or ``;``. What comes *after* a citation names its object only when a linking word
or mark joins them: ``At [x1, y1, x2, y2] there is a cat``, ``[...] is the cat``,
``[...] shows a cat``, ``[...]: cat``, ``[...] - cat``, ``[...] (cat)``, or a label key
(``[...], "label": "cat"``). The first of these wins:

1. a label key (``"label": "cat"``) in the window, or a known label (an offered region's, an
   annotated object's or a detected one's) closest before the citation in its clause;
2. a label key, or a known label, in the phrase a linking word joins after it;
3. a known label closest before it in its window;
4. the noun right before it in its clause (the last word that is not a stop word);
5. the noun of the phrase a linking word joins after it (``there is a small cat`` -> ``cat``;
   nothing for ``there is no cat``, ``is empty`` or ``is next to the dog``);
6. the noun right before it in its window.

A name read before the citation that its noun phrase denies (``There is no cat at [...]``,
``isn't a cat``, ``Nothing at [...]``) names no object: the answer says the box holds none.
Nothing found: the label is ``None``, and the box's object is not known (it is not matched
against whatever object it overlaps). A citation whose label was read after it ends the window
of the next one there: in ``At [a] there is a cat, and at [b] there is a dog`` box ``b`` is the
dog, not the cat.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence

LABEL_WINDOW = 300
"""How far before a citation (characters) its object name is looked for."""
AFTER_WINDOW = 120
"""How far after a citation (characters) the phrase naming its object is looked for."""

STOP = frozenset({
    "a", "an", "the", "at", "in", "on", "is", "are", "of", "located", "found", "box",
    "bounding", "region", "which", "that", "its", "this", "there", "and", "to", "with",
    "coordinates", "position", "see", "shown", "as", "by", "from", "near", "here", "appears",
    "sits", "stands", "it", "be", "r", "was", "were", "for", "regions"})
# words that end the noun phrase a linking word joins after a citation (prepositions, negation
# and words that say the box holds nothing: no object is named then)
_PHRASE_STOP = STOP | frozenset({
    "next", "behind", "beside", "above", "below", "under", "over", "left", "right", "top",
    "bottom", "inside", "outside", "between", "around", "against", "beneath", "onto", "into",
    "not", "no", "nothing", "empty", "none", "blank", "or", "but", "while", "where", "who",
    "what", "also", "too", "has", "have", "can", "could", "may", "might", "seems", "looks"})
_DETERMINERS = frozenset({"a", "an", "the", "one", "two", "three", "four", "some", "several",
                          "this", "that", "these", "those", "another", "many", "few"})
_LINK = re.compile(
    r"\s*,?\s*(?:[:=(\-\u2013\u2014]\s*"
    r"|(?:(?:there|here)(?:\s+(?:is|are|was|were|sits|stands|lies)|['\u2019]s)"
    r"|(?:we|you|i)\s+(?:can\s+)?see|it\s+is|(?:is|are|was|were|shows?|contains?|holds?|"
    r"depicts?|marks?|frames?|encloses?|outlines?|surrounds?|captures?)\b)\s*)", re.I)
_KEY_LABEL = (r"""["']?(?:label|name|object|category|class|phrase|ref)["']?\s*[:=]\s*"""
              r"""["']([^"'\n]{1,80})["']""")
_KEY_BEFORE = re.compile(_KEY_LABEL, re.I)
_KEY_AFTER = re.compile(r"\s*,?\s*" + _KEY_LABEL, re.I)
# a JSON key right before a citation ("bbox_2d": [...]): a key name, never an object
_TRAILING_KEY = re.compile(r"""["'][\w-]{1,40}["']\s*:\s*$""")
_WORD = re.compile(r"[a-z][a-z-]*")

_PHRASE_END = re.compile(r"[.,;:!?\n\[\]<>(){}\"]")


# -- comparing labels ---------------------------------------------------------------------------

def label_key(label: str | None) -> str | None:
    """Compare labels by singular form, and by COCO class when both have one. Letters of any
    script count and Latin accents are folded (``café`` is ``cafe``; only a-z were kept, so every
    label in Chinese had the key ``""`` and 犬 was the same object as 猫); ``None`` for a label
    with no letter or digit, which names nothing to compare."""
    if not label:
        return None
    from halluscope.claims.coco import singular
    words = re.sub(r"[\W_]+", " ", "".join(map(_ascii_fold, label.lower()))).split()
    if not words:
        return None
    while len(words) > 1 and words[0] in _ARTICLES:      # "the flag" is the flag
        words.pop(0)
    return singular(" ".join(words))


@functools.lru_cache(maxsize=4096)
def _ascii_fold(c: str) -> str:
    """``c`` as the ASCII letters it is an accented or compatibility form of (``é`` -> ``e``,
    ``ﬁ`` -> ``fi``, a full-width ``ｃ`` -> ``c``), else ``c`` itself: a mark that tells two
    letters of another script apart stays (``ガ`` is not ``カ``, ``й`` not ``и``)."""
    base = "".join(x for x in unicodedata.normalize("NFKD", c) if not unicodedata.combining(x))
    return base if base and base.isascii() else c


_ARTICLES = frozenset({"the", "a", "an", "this", "that", "these", "those", "its", "their"})


def bare_label(label: str | None) -> str | None:
    """``label`` without its leading articles or determiners (``The cat`` -> ``cat``, as
    :func:`label_key` compares it): a tag's ``<ref>The cat</ref>`` gave the reason "there is
    no The cat". A label of one word, or of nothing else, is kept as written."""
    if not label:
        return label
    words = label.split()
    while len(words) > 1 and words[0].lower() in _ARTICLES:
        words.pop(0)
    return " ".join(words) if len(words) < len(label.split()) else label


class BareLabel:
    """What a citation holds a ``label`` and a ``label_written`` field for: the label without
    its articles (:func:`bare_label`), and as written when that differs (else ``None``)."""

    def __post_init__(self) -> None:
        bare = bare_label(self.label)       # type: ignore[attr-defined]
        if bare != self.label:              # type: ignore[attr-defined]
            object.__setattr__(self, "label_written", self.label)  # type: ignore[attr-defined]
            object.__setattr__(self, "label", bare)

    @property
    def label_source(self) -> str | None:
        """Where the label was read: ``response``, or ``prompt`` (a box labelled from its
        ``[refer]`` prompt, whose ``label_from`` says so); ``None`` without a label."""
        if not self.label:                  # type: ignore[attr-defined]
            return None
        return getattr(self, "label_from", "response")


def same_object(a: str | None, b: str | None) -> bool:
    """Whether two labels name the same object: the same :func:`label_key`, or the same COCO
    class (``astronaut`` and ``person``)."""
    if not a or not b:
        return False
    ka, kb = label_key(a), label_key(b)
    if ka is None or kb is None:        # no letter or digit: nothing to compare
        return False
    if ka == kb:
        return True
    from halluscope.claims.coco import coco_node
    na, nb = coco_node(ka), coco_node(kb)
    return na is not None and na == nb


# -- reading the label around a citation --------------------------------------------------------

@functools.lru_cache(maxsize=64)
def _known_patterns(known: tuple[str, ...]) -> tuple[tuple[str, re.Pattern[str]], ...]:
    """Each known label with the pattern of its written forms (as given, and its key)."""
    out = []
    for lab in known:
        forms = sorted({f for f in (lab.lower(), label_key(lab)) if f}, key=len, reverse=True)
        if forms:
            alt = "|".join(map(re.escape, forms))
            out.append((lab, re.compile(rf"\b(?:{alt})(?:e?s)?\b")))
    return tuple(out)


def _known_in(window: str, known: Sequence[str]) -> tuple[str, int] | None:
    """The known label in ``window`` (lower case) that ends last, with where it ends."""
    best: tuple[str, int] | None = None
    for lab, rx in _known_patterns(tuple(known)):
        for m in rx.finditer(window):
            if best is None or m.end() > best[1]:
                best = (lab, m.end())
    return best


# a name denied right before its box ("There is no cat at [...]", "isn't a cat at", "not a
# single black cat"): the sentence says the box holds no such object, so it names none
_DENIED = re.compile(r"(?:\bno|\bnot|n['\u2019]t|\bwithout|\bnever)(?:\s+(?:a|an|any|one|single|such))?"
                     r"(?:\s+[a-z][a-z-]*){1,3}\s*$|\b(?:nothing|none|nobody)\s*$")


def _denied(before: str) -> bool:
    """Whether the name that ends ``before`` (lower case) is denied in its noun phrase."""
    return _DENIED.search(before[-80:]) is not None


def _to_last_word(window: str) -> str:
    """``window``'s last 160 characters up to the end of its last word that is not a stop word
    (``no cat`` of ``no cat is at``), to ask whether that word is denied."""
    tail = window[-160:]
    words = list(_WORD.finditer(tail))
    while words and words[-1].group(0) in STOP:
        words.pop()
    return tail[:words[-1].end()] if words else ""


def _last_word(window: str) -> str | None:
    """The last word of ``window`` that is not a stop word, among its last 160 characters."""
    words = _WORD.findall(_TRAILING_KEY.sub("", window[-160:]))
    while words and words[-1] in STOP:
        words.pop()
    return words[-1] if words else None


def _window_start(text: str, pos: int, floor: int) -> int:
    lo = max(0, pos - LABEL_WINDOW, floor)
    return max(text.rfind(". ", lo, pos), text.rfind("\n", lo, pos), text.rfind("]", lo, pos),
               text.rfind(">", lo, pos), text.rfind("}", lo, pos), text.rfind(";", lo, pos),
               lo - 1) + 1


def _clause(window: str) -> str:
    cut = max(window.rfind(c) for c in ",;:()")
    return window[cut + 1:]


def _after(text: str, end: int, known: Sequence[str]) -> tuple[str | None, str | None, int]:
    """``(key or known label, noun, where it ends)`` of the phrase a linking word joins after
    a citation ending at ``end``; ``(None, None, end)`` when none does."""
    tail = text[end:end + AFTER_WINDOW]
    key = _KEY_AFTER.match(tail)
    if key:
        return key.group(1).strip(), None, end + key.end()
    link = _LINK.match(tail)
    if not link or not link.group(0).strip(" ,"):
        return None, None, end
    stop = _PHRASE_END.search(tail, link.end())
    phrase = tail[link.end():stop.start() if stop else len(tail)].lower()
    words = [(m.group(0), m.end()) for m in _WORD.finditer(phrase)]
    while words and words[0][0] in _DETERMINERS:
        words.pop(0)
    noun: list[tuple[str, int]] = []
    for w, w_end in words[:5]:
        if w in _PHRASE_STOP or len(w) < 2 or (noun and w.endswith("ing")):
            break
        noun.append((w, w_end))
    if not noun:
        return None, None, end
    np_end = noun[-1][1]
    hit = _known_in(phrase[:np_end], known)
    if hit:
        return hit[0], None, end + link.end() + hit[1]
    return None, noun[-1][0], end + link.end() + np_end


# what may stand between two coordinated names: a mark or "and", a determiner, a word or two
# (no denial: "the cat, not the lamp, ...")
_COORDINATED = re.compile(r"^\s*(?:,\s*(?:and\s+)?|and\s+|&\s*|as\s+well\s+as\s+)"
                          r"(?:(?:the|a|an)\s+)?(?:(?!(?:not|no|nor|but|except|without|"
                          r"unlike|never)\b)[a-z-]+\s+){0,2}$")


def labels_respectively(text: str, span: tuple[int, int], known: Sequence[str], n: int,
                        floor: int = 0) -> list[str] | None:
    """The objects of a list citing ``n`` ids (``regions 1 and 2``) one by one, where the
    sentence before it names exactly ``n`` known objects joined by ``and`` or commas (``The
    cat and the lamp are in regions 1 and 2``: region 1 the cat's, 2 the lamp's); ``None``
    otherwise. Every id was given the name closest before the list, the lamp, and region 1
    was judged "holds the cat, not the lamp"."""
    if n < 2 or not known:
        return None
    window = text[_window_start(text, span[0], floor):span[0]].lower()
    hits = sorted((m.start(), m.end(), lab) for lab, rx in _known_patterns(tuple(known))
                  for m in rx.finditer(window))
    names = [h for k, h in enumerate(hits) if k == 0 or h[0] >= hits[k - 1][1]]
    if len(names) != n or len({label_key(h[2]) for h in names}) != n:
        return None
    for (_, end, _), (start, _, _) in zip(names, names[1:]):
        if not _COORDINATED.match(window[end:start]):
            return None
    return [h[2] for h in names]


_JOINED = re.compile(r"^\s*(?:,\s*(?:and\s+)?|and\s+|&\s*)$", re.I)


def labels_of(text: str, spans: Sequence[tuple[int, int]], known: Sequence[str] = ()
              ) -> list[str | None]:
    """The object of each of several citations of ``text`` (in order): :func:`label_around`
    each, its window starting past a label read after the one before; but a run of them
    joined by ``and`` or commas after as many known names joined so, in order (``The cat and
    the lamp are at [a] and [b]``: box ``a`` the cat's, ``b`` the lamp's;
    :func:`labels_respectively`). Box ``a`` was the lamp's and ``b`` had no object."""
    out, floors, floor = [], [], 0
    for span in spans:
        floors.append(floor)
        label, floor = label_around(text, span, known, floor)
        out.append(label)
    k = 0
    while k < len(spans):
        j = k
        while j + 1 < len(spans) and _JOINED.match(text[spans[j][1]:spans[j + 1][0]]):
            j += 1
        each = labels_respectively(text, spans[k], known, j - k + 1, floors[k])
        if each:
            out[k:j + 1] = each
        k = j + 1
    return out


#: A label tag right before a box written in brackets: MiniGPT-v2 / Ferret-style
#: ``<p>dog</p> [...]``, Qwen-VL's ``<ref>dog</ref>`` and DeepSeek-VL's ``<|ref|>dog<|/ref|>
#: <|det|>[[...]]`` (the box inside a list; a ``<box>`` tag is read as a tag, with its ref)
_REF_BEFORE = re.compile(r"(?:<p>|<ref>|<\|ref\|>)([^<>\n]{1,300})(?:</p>|</ref>|<\|/ref\|>)"
                         r"\s*+(?:<\|det\|>\s*+)?(?:\[\s*+)?$", re.I)


def label_around(text: str, span: tuple[int, int], known: Sequence[str] = (), floor: int = 0
                 ) -> tuple[str | None, int]:
    """The object a citation at ``span`` of ``text`` names (see the module docstring), and
    where the next citation's window may start at the earliest (past a label read after this
    one, else ``floor``). ``known`` are the labels the truth knows. A label tag right before
    it (``<p>dog</p> [...]``) names it first: its ``>`` ended the window, and the box had no
    object."""
    pos, end = span
    tag = _REF_BEFORE.search(text, max(0, pos - 320, floor), pos)
    if tag and tag.group(1).strip():
        return tag.group(1).strip(), floor
    window = text[_window_start(text, pos, floor):pos]
    low = window.lower()
    clause = _clause(low)
    keys = _KEY_BEFORE.findall(window) if (":" in window or "=" in window) else ()
    if keys:
        return keys[-1].strip(), floor
    hit = _known_in(clause, known)
    if hit:
        return (None if _denied(clause[:hit[1]]) else hit[0]), floor
    after_label, after_noun, after_end = _after(text, end, known)
    if after_label:
        return after_label, after_end
    hit = _known_in(low, known)
    if hit:
        return (None if _denied(low[:hit[1]]) else hit[0]), floor
    word = _last_word(clause)
    if word:
        return (None if _denied(_to_last_word(clause)) else word), floor
    if after_noun:
        return after_noun, after_end
    return _last_word(low), floor
