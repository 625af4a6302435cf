"""Which document a page citation names, for :mod:`halluscope.claims.page_citations`: a file
name (``report.pdf``) or one of the record's own names for its documents (a mapping's key, a
file's stem) written next to the citation, bound to it by the phrasing a reader goes by.

Binding, nearest first (:func:`cited_documents`):

1. *tight*: a name right after the citation, joined by ``of``, ``in`` or ``from`` (``p. 4 of
   appendix.pdf``, ``page 2 in the annex``), or right before it with nothing but punctuation
   (and ``at``/``on``) between (``appendix.pdf p. 4``, ``(report.pdf, p. 3)``,
   ``report.pdf: p. 3``, ``report.pdf at p. 3``);
2. *carried*: else the nearest name before the citation in its sentence, when no other name
   stands between and it frames what follows: it is bound tightly to an earlier citation of
   the sentence (``report.pdf p. 3 and p. 4``: both in report.pdf), or follows ``in``,
   ``from``, ``per``, ``within``, ``see`` or ``according to`` (``In report.pdf, see p. 4``),
   or, a file name, opens the sentence (``report.pdf says on p. 4 ...``). A record's name
   that may be a word (``annual``) is carried after a lead-in only when punctuation sets it
   off (``In the appendix, p. 2 lists ...``, not ``in annual terms ... (p. 3)``).

A name bound tightly after one citation and tightly before the next (``p. 3, in appendix.pdf
p. 1``) is the next one's; the first takes it only when it has no tight name of its own before
it. A citation with a different name bound tightly on each side (``report.pdf, p. 4 of
appendix.pdf``) names both and is *ambiguous*: the page check says so and checks it in
neither, unless both names are one document. A tight name after a citation beats a carried one
before it (``in report.pdf, see p. 4 of appendix.pdf``: appendix.pdf).
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Sequence

# a file name: a word with a document's or page image's extension
_FILE = r"(?<![\w.\-/])[\w][\w.\-]*\.(?:pdf|png|jpe?g|tiff?|webp|gif|bmp)(?!\w|\.\w)"
FILE_NAME = re.compile(r"[^\s\"]*\w\.(?:pdf|png|jpe?g|tiff?|webp|gif|bmp)",   # a JSON value
                       re.IGNORECASE)
"""A JSON ``document``/``file``/``source`` value that is a file name."""
# words that are never read as a document's name in prose, whatever the record calls it
_NOT_NAMES = frozenset("a an the of in on at see and or to from by for page pages p pp".split())
# what may stand between a name and the citation it is tightly bound to, before it
_TIGHT_BEFORE = re.compile(r"[\s,:;(\[]*(?:(?:at|on)\s+)?", re.IGNORECASE)
# what frames a name as the source of what follows in the sentence: a lead-in before it, or
# nothing but an opening mark (and "the") between the sentence's start and it
_LEAD_IN = re.compile(r"\b(?:in|from|per|within|see|according\s+to)\s+(?:the\s+)?$",
                      re.IGNORECASE)
_OPENING = re.compile(r"[\s\"'(\[\u201c]*(?:the\s+)?", re.IGNORECASE)


@functools.lru_cache(maxsize=64)
def namers(names: tuple[str, ...]) -> tuple[re.Pattern, re.Pattern]:
    """The patterns of a document's name anywhere (group 1) and of one right after a citation
    (``of``/``in``/``from`` and the name, group 1): a file name, or one of ``names`` (any case,
    longest first, whole: ``appendix`` is not in ``appendixes`` nor in ``appendix.pdf``)."""
    own = sorted({" ".join(n.split()) for n in names if len(n.strip()) > 1
                  and n.strip().lower() not in _NOT_NAMES}, key=len, reverse=True)
    alts = [r"(?<![\w.\-/])" + r"\s+".join(map(re.escape, n.split())) + r"(?!\w|[.\-]\w)"
            for n in own]
    named = "(" + "|".join(alts + [_FILE]) + ")"
    return (re.compile(named, re.IGNORECASE),
            re.compile(r"[\s,]*(?:of|in|from)\s+(?:the\s+)?" + named, re.IGNORECASE))


def _same(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def cited_documents(sent: str, spans: Sequence[tuple[int, int]], names: tuple[str, ...] = ()
                    ) -> list[tuple[str | None, tuple[str, ...]]]:
    """For each page citation of sentence ``sent`` at ``spans`` (offsets in ``sent``, in text
    order, not overlapping): the name of the document it names, as written (``None``: none),
    and, for one bound tightly to two different names, both (before, after) with ``None`` as
    its document. See the module docstring for the rules."""
    anywhere, after_rx = namers(tuple(names))
    found = [(m.start(1), m.end(1), m.group(1)) for m in anywhere.finditer(sent)]
    ends = [e for _, e, _ in found]
    before: list[tuple[int, str] | None] = []      # (where the name starts, name)
    after: list[tuple[int, str] | None] = []
    for start, end in spans:
        i = bisect.bisect_right(ends, start) - 1     # the nearest name ending before it
        tight = i >= 0 and _TIGHT_BEFORE.fullmatch(sent, found[i][1], start) is not None
        before.append(found[i][::2] if tight else None)
        m = after_rx.match(sent, end)
        after.append(None if m is None else (m.start(1), m.group(1)))
    out: list[tuple[str | None, tuple[str, ...]]] = []
    bound: set[int] = set()                          # names bound tightly so far (starts)
    for k, (start, _) in enumerate(spans):
        b, a = before[k], after[k]
        if a is not None and b is not None and k + 1 < len(spans) and before[k + 1] \
                and before[k + 1][0] == a[0]:
            a = None             # "report.pdf p. 3, in appendix.pdf p. 1": the next one's
        bound.update(x[0] for x in (a, b) if x is not None)
        if a is not None and b is not None and not _same(a[1], b[1]):
            out.append((None, (b[1], a[1])))
        elif a is not None or b is not None:
            out.append(((a or b)[1], ()))
        else:
            out.append((_carried(sent, start, found, ends, bound), ()))
    return out


def _carried(sent: str, start: int, found: list[tuple[int, int, str]], ends: list[int],
             bound: set[int]) -> str | None:
    """The nearest name before ``start`` (none other between), when it frames the rest of
    the sentence: bound tightly to an earlier citation, after a lead-in (``in``, ``from``,
    ``see`` ...) or opening the sentence."""
    i = bisect.bisect_right(ends, start) - 1
    if i < 0:
        return None
    a, b, name = found[i]
    if a in bound:
        return name
    led = _LEAD_IN.search(sent, max(0, a - 20), a) is not None
    if FILE_NAME.fullmatch(name):      # a file name is a document's wherever it stands
        return name if led or (a <= 20 and _OPENING.fullmatch(sent, 0, a)) else None
    # a name that may be a word ("annual figures") only set off by punctuation after a lead-in
    return name if led and re.match(r"\s*[,:;]", sent[b:b + 8]) else None


# a sentence that refers back to a document named before it: "it", "there", "the same
# document", "that report"
_ANAPHOR = re.compile(r"\b(?:it|its|there|therein|the\s+same\s+(?:document|report|file|pdf|"
                      r"paper)|th(?:at|is)\s+(?:document|report|file|pdf|paper|appendix|"
                      r"annex|filing))\b", re.IGNORECASE)
_PARAGRAPH = re.compile(r"\n[ \t]*\n")


class CarriedDocument:
    """A document named in a sentence, carried over to page citations of the sentences after
    it that name none (``report.pdf covers staffing. On page 3 it says "..."``: page 3 of
    report.pdf), one sentence at a time through :meth:`step`.

    It is carried when the reference is clear: the sentence that named it named no other (two
    names: none is carried), and the citing sentence names no document itself (not even one
    it does not bind to the citation) and is the next sentence, or a later one that refers
    back (``it``, ``there``, ``the same document``, ``that report``) with no sentence naming
    another document between; never past a paragraph's end. A citation that names a document,
    or two (ambiguous), keeps its own."""

    def __init__(self, names: Sequence[str] = ()) -> None:
        self._anywhere = namers(tuple(names))[0]
        self._name: str | None = None
        self._gap = 0                      # sentences since it was named

    def step(self, sent: str, named: list[tuple[str | None, tuple[str, ...]]], before: str = ""
             ) -> list[tuple[str | None, tuple[str, ...], bool]]:
        """``named`` (what :func:`cited_documents` gave sentence ``sent``'s citations) with
        the carried document put on those that name none, and whether each was carried;
        ``before``: the text between the sentence before and this one."""
        if _PARAGRAPH.search(before + sent[:len(sent) - len(sent.lstrip())]):
            self._name = None
        here = list(dict.fromkeys(" ".join(m.group(1).split())
                                  for m in self._anywhere.finditer(sent)))
        carry = self._name if not here and (self._gap == 0 or _ANAPHOR.search(sent)) \
            else None
        out = [(carry, (), True) if carry and doc is None and not both else (doc, both, False)
               for doc, both in named]
        if here:
            same = {h.casefold() for h in here}
            self._name, self._gap = (here[0] if len(same) == 1 else None), 0
        else:
            self._gap += 1
        return out
