"""CHAIR's two caption parsers, built on the pinned vocabulary ``metrics/chair-coco.json``.

The file is read, and each parser's word -> category table built, by the package's one noun
vocabulary mechanism (:mod:`halluscope.claims.vocab`: :func:`load_spec`, :func:`word_table`
in CHAIR's order); :class:`ChairSpec` and :func:`load_spec` are re-exported here.

A parser turns a caption into :class:`Parsed`: the object mentions in order (the word as the
parser saw it, the COCO category it counts for, its token position and its character span in
the caption) and the number of tokens left after phrases are fused (CHAIR's ``Len``).

:class:`OriginalParser` repeats the original code step by step (see ``halluscope.metrics.chair``
for the list of its quirks); :class:`RefinedParser` applies halluscope's corrections. Both keep
per-token work in memoised functions, so a caption costs one tokenisation and a few dictionary
lookups per token.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable
from itertools import compress
from typing import NamedTuple

from halluscope.claims.vocab import VOCABULARY_FILE, ChairSpec, load_spec, word_table
from halluscope.errors import ConfigError
from halluscope.metrics.chair_singular import pattern_singular, singular_table
from halluscope.metrics.chair_text import span_finder, word_tokenizer

class Mention(NamedTuple):
    """One object mention in a caption (a named tuple: cheap to make by the hundred thousand).

    Attributes:
        word: The word (or fused phrase) as the parser saw it, after singularising.
        node: The COCO category it counts for (CHAIR's "node word").
        index: Its token position as the variant reports it (``hallucination_idxs``).
        span: ``(start, end)`` characters in the caption, ``None`` if it could not be placed.
    """

    word: str
    node: str
    index: int
    span: tuple[int, int] | None


class Parsed(NamedTuple):
    """What a parser finds in one caption."""

    mentions: tuple[Mention, ...]
    n_tokens: int


def _mention_spans(caption: str, low: str, tokens: list[str], first: list[int],
                   last: list[int]) -> list[tuple[int, int] | None]:
    """Character spans in ``caption`` covering tokens ``first[k]..last[k]`` for each mention."""
    if not first:
        return []
    find = span_finder(low, tokens)
    spans = [find(a, b) for a, b in zip(first, last)]
    if len(low) != len(caption):  # lower-casing changed lengths (rare): map back
        back = []
        for i, ch in enumerate(caption):
            back.extend([i] * len(ch.lower()))
        back.append(len(caption))
        spans = [(back[s[0]], back[s[1] - 1] + 1) if s else None for s in spans]
    return spans


class _Memo:
    """What :meth:`parse` found for each caption seen lately, by its exact text: a caption
    repeated in a run (the same answer by several models, or to several prompts; short
    captions) is parsed once. A :class:`Parsed` is immutable, so a repeat gets the very same
    value. Bounded by the characters of the captions held (:data:`MEMO_CHARS`): past it the
    memo starts again empty."""

    _memo: dict[tuple[str, bool], Parsed]
    _memo_chars = 0

    def parse(self, caption: str, spans: bool = True) -> Parsed:
        """The mentions and token count of ``caption`` (spans placed when ``spans``)."""
        key = (caption, spans)
        hit = self._memo.get(key)
        if hit is None:
            hit = self._parse(caption, spans)
            size = len(caption) + 64
            if size <= MEMO_CHARS:
                if self._memo_chars + size > MEMO_CHARS:
                    self._memo.clear()
                    self._memo_chars = 0
                self._memo[key] = hit
                self._memo_chars += size
        return hit

    def clear_memo(self) -> None:
        """Forget the captions parsed so far (benchmarks time a cold pass)."""
        self._memo.clear()
        self._memo_chars = 0

    def _parse(self, caption: str, spans: bool) -> Parsed:
        raise NotImplementedError


#: Characters of captions (plus 64 for each) a parser's memo holds before it starts again: about
#: 2,000 detailed descriptions or 10,000 short captions, a few MB with their parses.
MEMO_CHARS = 1_000_000


class OriginalParser(_Memo):
    """The caption parser of the original CHAIR (``caption_to_words``), quirks included."""

    variant = "original"

    def __init__(self, spec: ChairSpec, tokenize: Callable[[str], list[str]] | None = None):
        self.spec = spec
        orig = spec.data["original"]
        unmatchable = {u["word"] for u in orig.get("unmatchable", ())}
        self.vocabulary = word_table(spec.objects, excluded=unmatchable, last_wins=True)
        self.nodes = tuple(spec.objects)
        pairs: dict[tuple[str, str], str] = {}
        for phrase in orig["phrases"]:
            pairs[tuple(phrase.split(" ", 1))] = phrase
        for group in orig.get("qualifiers", ()):
            for head in group["heads"]:
                for q in group["qualifiers"]:
                    pairs[(q, head)] = head
        for phrase, target in orig.get("phrase_targets", {}).items():
            pairs[tuple(phrase.split(" ", 1))] = target
        self._pairs = pairs
        self._firsts = frozenset(a for a, _ in pairs)
        self._drop = [(d["word"], d["trigger"]) for d in orig.get("drop_if_present", ())]
        self._interesting = frozenset(self.vocabulary) | self._firsts | {t for _, t in self._drop}
        self._cache: dict[str, str] = {}
        self._tokenize = tokenize
        self._memo = {}

    @property
    def tokenize(self) -> Callable[[str], list[str]]:
        if self._tokenize is None:        # NLTK is imported on first use, not at start-up
            self._tokenize = word_tokenizer()
        return self._tokenize

    def singulars(self, tokens: list[str]) -> list[str]:
        """Pattern's singular of each token (memoised per token)."""
        cache = self._cache
        try:
            return list(map(cache.__getitem__, tokens))
        except KeyError:
            if len(cache) > 500_000:
                cache.clear()
            for t in tokens:
                if t not in cache:
                    cache[t] = pattern_singular(t)
            return list(map(cache.__getitem__, tokens))

    def words(self, caption: str) -> tuple[list[str], list[str], list[int]]:
        """Tokens, fused singular words, and the first token of each fused word, written out
        as the original builds them (:meth:`parse` gets the same result without them)."""
        tokens = self.tokenize(caption.lower())
        words = self.singulars(tokens)
        fused: list[str] = []
        starts: list[int] = []
        i, n = 0, len(words)
        while i < n:
            target = self._pairs.get((words[i], words[i + 1])) if i + 1 < n else None
            fused.append(words[i] if target is None else target)
            starts.append(i)
            i += 1 if target is None else 2
        return tokens, fused, starts

    def _parse(self, caption: str, spans: bool) -> Parsed:
        low = caption.lower()
        tokens = self.tokenize(low)
        words = self.singulars(tokens)
        n = len(words)
        if self._interesting.isdisjoint(words):
            return Parsed((), n)
        # Only the tokens that can matter are visited: object words and first words of pairs.
        hits = list(compress(range(n), map(self._interesting.__contains__, words)))
        firsts, pairs, vocab = self._firsts, self._pairs, self.vocabulary
        units: list[tuple[int, str, int]] = []     # (first token, word, last token)
        fusions: list[int] = []                    # first tokens of fused pairs
        consumed = -1
        for i in hits:
            if i <= consumed:
                continue
            w = words[i]
            if w in firsts and i + 1 < n:
                target = pairs.get((w, words[i + 1]))
                if target is not None:
                    fusions.append(i)
                    consumed = i + 1
                    units.append((i, target, i + 1))
                    continue
            units.append((i, w, i))
        n_fused = n - len(fusions)
        present = {w for _, w, _ in units}
        dropped: list[int] = []
        for word, trigger in self._drop:
            if trigger in present and word in present:
                dropped.extend(i for i, w, _ in units if w == word)
                units = [u for u in units if u[1] != word]
        found = [u for u in units if u[1] in vocab]
        if not found:
            return Parsed((), n_fused)
        if dropped:
            reported = self._shifted_positions([u[0] for u in found], fusions, dropped)
        else:
            reported = [u[0] for u in found]
        if spans:
            where = _mention_spans(caption, low, tokens, [u[0] for u in found],
                                   [u[2] for u in found])
        else:
            where = [None] * len(found)
        return Parsed(tuple(Mention(w, vocab[w], r, s)
                            for (_, w, _), r, s in zip(found, reported, where)), n_fused)

    @staticmethod
    def _shifted_positions(firsts: list[int], fusions: list[int],
                           dropped: list[int]) -> list[int]:
        """The positions the original reports when words were dropped: it indexes its list of
        fused-word starts with positions in the list left after dropping."""
        # position of a token's fused word = token index - fusions before it
        fused_pos = [f - k for k, f in enumerate(fusions)]   # fused position of each fusion
        gone = sorted(t - bisect_left(fusions, t) for t in dropped)
        out = []
        for t in firsts:
            k = t - bisect_left(fusions, t)                 # fused position
            k -= bisect_left(gone, k)                       # position after dropping
            out.append(k + bisect_left(fused_pos, k))       # start token of fused word k
        return out


class RefinedParser(_Memo):
    """halluscope's corrected parser (the fixes are listed in ``halluscope.metrics.chair``)."""

    variant = "refined"

    def __init__(self, spec: ChairSpec, tokenize: Callable[[str], list[str]] | None = None):
        self.spec = spec
        ref = spec.data["refined"]
        vocab = word_table(spec.objects, excluded=set(ref.get("removed_words", ())),
                           last_wins=True)
        for node, words in ref.get("extra_words", {}).items():
            for w in words:
                vocab[w] = node
        self.nodes = tuple(spec.objects)
        self.vocabulary = {w: n for w, n in vocab.items() if " " not in w}
        orange = ref.get("orange") or {}
        # every word whose plural must be recognised: object words, the words of phrases,
        # qualifier heads and the fruit words of the orange rule
        known: set[str] = set()
        for w in [*vocab, *ref.get("phrases", {}), *orange.get("fruit_heads", ())]:
            known.update(w.split())
        for group in ref.get("qualifiers", ()):
            known.update(group.get("extra_heads", ()))
        self._plurals = singular_table(known)
        # phrases, keyed by the singular of each of their words; target None counts nothing
        phrases: dict[tuple[str, ...], str | None] = {}
        for w, node in vocab.items():
            if " " in w:
                phrases[self._key(w)] = node
        for phrase, target in ref.get("phrases", {}).items():
            if target is not None and target not in vocab:
                raise ConfigError(f"{spec.path}: refined phrase {phrase!r} counts as "
                                  f"{target!r}, which is not a vocabulary word")
            phrases[self._key(phrase)] = None if target is None else vocab[target]
        self._phrases = phrases
        self._phrase_len = max((len(k) for k in phrases), default=1)
        self._phrase_firsts = frozenset(k[0] for k in phrases)
        quals: dict[str, frozenset[str]] = {}
        for group in ref.get("qualifiers", ()):
            heads = set(group.get("extra_heads", ()))
            for node in group.get("heads_of", ()):
                heads.add(node)
                heads.update(spec.objects.get(node, ()))
            for q in group["qualifiers"]:
                quals[q] = frozenset(heads) | quals.get(q, frozenset())
        self._qualifiers = quals
        seat = ref.get("toilet_seat") or {}
        self._seat = (seat.get("word", "seat"), seat.get("near", "toilet"),
                      int(seat.get("window", 3)))
        self._fruit_heads = frozenset(orange.get("fruit_heads", ()))
        self._colours = frozenset(orange.get("colour_words", ()))
        self._colour_mods = frozenset(orange.get("colour_modifiers", ()))
        self._function_words = frozenset(orange.get("function_words", ()))
        self._tokenize = tokenize
        self._memo = {}

    @property
    def tokenize(self) -> Callable[[str], list[str]]:
        if self._tokenize is None:        # NLTK is imported on first use, not at start-up
            self._tokenize = word_tokenizer()
        return self._tokenize

    def _key(self, phrase: str) -> tuple[str, ...]:
        return tuple(self._singular(w) for w in phrase.split())

    def _singular(self, unit: str) -> str:
        if unit in self.vocabulary:
            return unit
        return self._plurals.get(unit, unit)

    def units(self, caption: str) -> tuple[list[str], list[str], list[int]]:
        """Tokens, units (hyphenated tokens split into their parts) and each unit's token."""
        low = caption.lower()
        tokens = self.tokenize(low)
        units: list[str] = []
        owner: list[int] = []
        for j, tok in enumerate(tokens):
            if "-" in tok and tok.strip("-"):
                for part in tok.split("-"):
                    if part:
                        units.append(part)
                        owner.append(j)
            else:
                units.append(tok)
                owner.append(j)
        return tokens, units, owner

    def _is_colour(self, sing: list[str], i: int) -> bool:
        """Whether the unit ``i`` (``orange``) is used as a colour (see the vocabulary file)."""
        nxt = sing[i + 1] if i + 1 < len(sing) else ""
        after = sing[i + 2] if i + 2 < len(sing) else ""
        prev = sing[i - 1] if i > 0 else ""
        before = sing[i - 2] if i > 1 else ""
        if nxt in self._colours:
            return True
        if nxt in ("and", "or", ",", "/") and after in self._colours:
            return True
        if prev in self._colour_mods:
            return True
        if prev in ("and", "or", ",", "/") and before in self._colours:
            return True
        if (nxt.isalpha() and nxt not in self._fruit_heads and nxt not in self._function_words
                and not nxt.endswith(("ing", "ed", "ly"))):
            return True
        return False

    def _parse(self, caption: str, spans: bool) -> Parsed:
        tokens, units, owner = self.units(caption)
        sing = [self._singular(u) for u in units]
        n = len(units)
        phrases, firsts, longest = self._phrases, self._phrase_firsts, self._phrase_len
        vocab, quals = self.vocabulary, self._qualifiers
        # (word, node, first unit, last unit); node None for a token that counts nothing
        fused: list[tuple[str, str | None, int, int]] = []
        i = 0
        while i < n:
            w = sing[i]
            if w in firsts:
                hit = None
                for size in range(min(longest, n - i), 1, -1):
                    key = tuple(sing[i:i + size])
                    if key in phrases:
                        hit = (size, phrases[key])
                        break
                if hit is not None:
                    size, node = hit
                    fused.append((" ".join(sing[i:i + size]), node, i, i + size - 1))
                    i += size
                    continue
            if w in quals and i + 1 < n and sing[i + 1] in quals[w]:
                fused.append((w, None, i, i))       # 'baby' in 'baby elephant' is no person
                i += 1
                continue
            node = vocab.get(w)
            if w == "orange" and units[i] == "orange" and self._is_colour(sing, i):
                node = None
            fused.append((w, node, i, i))
            i += 1
        word, near, window = self._seat
        if any(f[0] == word for f in fused):
            near_at = [k for k, f in enumerate(fused) if f[0] == near]
            fused = [f if f[0] != word or not any(abs(k - j) <= window for j in near_at)
                     else (f[0], None, f[2], f[3]) for k, f in enumerate(fused)]
        found = [f for f in fused if f[1] is not None]
        if not found:
            return Parsed((), len(fused))
        if spans:
            where = _mention_spans(caption, caption.lower(), tokens,
                                   [owner[f[2]] for f in found], [owner[f[3]] for f in found])
        else:
            where = [None] * len(found)
        return Parsed(tuple(Mention(f[0], f[1], owner[f[2]], s) for f, s in zip(found, where)),
                      len(fused))


def make_parser(variant: str, spec: ChairSpec | None = None):
    """The parser of a CHAIR variant (``original`` or ``refined``)."""
    spec = spec or load_spec()
    if variant == "original":
        return OriginalParser(spec)
    if variant == "refined":
        return RefinedParser(spec)
    raise ConfigError(f"expected CHAIR variant 'original' or 'refined', got {variant!r}")


__all__ = ["VOCABULARY_FILE", "ChairSpec", "Mention", "OriginalParser", "Parsed",
           "RefinedParser", "load_spec", "make_parser"]
