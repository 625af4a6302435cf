"""Singular nouns for CHAIR: Pattern's rules (``original``), vocabulary plurals (``refined``).

``pattern_singular`` behaves like ``pattern.en.singularize`` of Pattern 3.6 (the library the
original CHAIR imports), which is not installable on current Pythons. It is a suffix-rule
singulariser with a few word lists, and it is wrong in ways that the original CHAIR numbers
depend on, so they are kept on purpose:

* ``bus`` -> ``bu`` (any final ``s`` is dropped; only ``buses`` -> ``bus`` has a rule);
* ``ties`` -> ``ty`` (the ``-ies`` -> ``-y`` rule), ``glass`` -> ``glas``, ``tennis`` -> ``tenni``;
* a word that is the *ending* of a word in the uninflected or uncountable lists is returned
  unchanged (``is``, ``ears``, ``ice``), because the test runs ``listed.endswith(word)``;
* irregular plurals are matched as suffixes, in the list's order (``women`` -> ``woman``,
  ``your`` -> ``ymy``);
* hyphenated words are only split around a preposition (``mothers-in-law``), so
  ``horse-drawn`` stays one token that no vocabulary word equals.

The word lists and rules below are facts about Pattern's behaviour, restated as tables; the
function expects lower-case words (CHAIR lower-cases captions first). Some revisions of
Pattern's file lack three commas in these lists ("wildebeest" "carp", "water" "cheese",
"zombie" "bogie" run together); that changes only words ending in ``zombies`` or ``bogies``
(``zombie``/``bogy`` instead of unchanged), never a CHAIR word. The lists here have the commas.

The refined variant instead maps the plurals of its own (closed) vocabulary back to their
singulars (:func:`singular_table`), from rules and tables of irregular and plural-only nouns
(``people``, ``cacti``, ``knives``, ``jeans``); it needs no lemmatiser and never turns a word
outside the vocabulary into one inside it.
"""

from __future__ import annotations

import re
from functools import lru_cache

# -- Pattern 3.6 ------------------------------------------------------------------------------

_PREPOSITIONS = frozenset(
    "about above across after among around at athwart before behind below beneath beside "
    "besides between betwixt beyond but by during except for from in into near of off on onto "
    "out over since till to under until unto upon with".split())

# Words Pattern leaves alone; the test is "some listed word ends with the given word".
_UNINFLECTED = (
    "bison debris headquarters pincers trout bream diabetes herpes pliers tuna breeches djinn "
    "high-jinks proceedings whiting britches eland homework rabies wildebeest carp elk innings "
    "salmon chassis flounder jackanapes scissors christmas gallows mackerel series clippers "
    "georgia measles shears cod graffiti mews species contretemps mumps swine corps news swiss "
    # the uncountable list is tested the same way
    "advice equipment happiness luggage software bread fruit information mathematics progress "
    "understanding butter furniture ketchup mayonnaise research water cheese garbage knowledge "
    "meat rice electricity gravel love mustard sand").split()

# Nouns ending in -ie whose plural -ies must keep the e ("^pie", "^tie" are literal in Pattern
# and can never match, so they are left out here: "pies" and "ties" go through the rules).
_IE_PLURALS = tuple(w + "s" for w in (
    "alergie cutie hoagie newbie softie veggie auntie doggie hottie nightie sortie weenie beanie "
    "eyrie indie oldie stoolie yuppie birdie freebie junkie sweetie zombie bogie goonie laddie "
    "pixie techie bombie groupie laramie quickie collie hankie lingerie reverie toughie cookie "
    "hippie meanie rookie valkyrie").split())

# Irregular plural endings, tried in this order; the first ending that fits is replaced.
_IRREGULAR = (
    ("atlantes", "atlas"), ("atlases", "atlas"), ("axes", "axe"), ("beeves", "beef"),
    ("brethren", "brother"), ("children", "child"), ("corpora", "corpus"),
    ("corpuses", "corpus"), ("ephemerides", "ephemeris"), ("feet", "foot"),
    ("ganglia", "ganglion"), ("geese", "goose"), ("genera", "genus"), ("genii", "genie"),
    ("graffiti", "graffito"), ("helves", "helve"), ("kine", "cow"), ("leaves", "leaf"),
    ("loaves", "loaf"), ("men", "man"), ("mongooses", "mongoose"), ("monies", "money"),
    ("moves", "move"), ("mythoi", "mythos"), ("numena", "numen"), ("occipita", "occiput"),
    ("octopodes", "octopus"), ("opera", "opus"), ("opuses", "opus"), ("our", "my"),
    ("oxen", "ox"), ("penes", "penis"), ("penises", "penis"), ("people", "person"),
    ("sexes", "sex"), ("soliloquies", "soliloquy"), ("teeth", "tooth"), ("testes", "testis"),
    ("trilbys", "trilby"), ("turves", "turf"), ("zoa", "zoon"),
)

# Suffix rules, first match wins: (regular expression, replacement). A replacement refers to
# groups as {1}, {2}; a group that did not take part in the match contributes nothing.
_RULES_SRC = (
    (r"(.)ae$", "{1}a"), (r"(.)itis$", "{1}itis"), (r"(.)eaux$", "{1}eau"),
    (r"(quiz)zes$", "{1}"), (r"(matr)ices$", "{1}ix"), (r"(ap|vert|ind)ices$", "{1}ex"),
    (r"^(ox)en", "{1}"), (r"(alias|status)es$", "{1}"),
    (r"([|coptvir])i$", "{1}us"),  # Pattern wrote "[octop|vir]": a character class
    (r"(cris|ax|test)es$", "{1}is"), (r"(shoe)s$", "{1}"), (r"(o)es$", "{1}"),
    (r"(bus)es$", "{1}"), (r"([|lm])ice$", "{1}ouse"), (r"(x|ch|ss|sh)es$", "{1}"),
    (r"(m)ovies$", "{1}ovie"), (r"(.)ombies$", "{1}ombie"), (r"(s)eries$", "{1}eries"),
    (r"([^aeiouy]|qu)ies$", "{1}y"),
    # -ves
    (r"([aeo]l)ves$", "{1}f"), (r"([^d]ea)ves$", "{1}f"), (r"arves$", "arf"),
    (r"erves$", "erve"), (r"([nlw]i)ves$", "{1}fe"), (r"([lr])ves$", "{1}f"),
    (r"([aeo])ves$", "{1}ve"), (r"(sive)s$", "{1}"), (r"(tive)s$", "{1}"),
    (r"(hive)s$", "{1}"), (r"([^f])ves$", "{1}fe"),
    # -ses
    (r"(^analy)ses$", "{1}sis"),
    (r"((a)naly|(b)a|(d)iagno|(p)arenthe|(p)rogno|(s)ynop|(t)he)ses$", "{1}{2}sis"),
    (r"(.)opses$", "{1}opsis"), (r"(.)yses$", "{1}ysis"),
    (r"(h|d|r|o|n|b|cl|p)oses$", "{1}ose"),
    (r"(fruct|gluc|galact|lact|ket|malt|rib|sacchar|cellul)ose$", "{1}ose"),
    (r"(.)oses$", "{1}osis"),
    # -a, news, and finally any -s
    (r"([ti])a$", "{1}um"), (r"(n)ews$", "{1}ews"), (r"s$", ""),
)
_GROUP_REF = re.compile(r"\{(\d)\}")


def _rule_buckets():
    """The rules each final letter can reach, in order (a rule anchored at its end only fires
    on one final letter; the others are tried for every word)."""
    rules = []
    for src, repl in _RULES_SRC:
        last = re.search(r"([a-z])\$$", src)
        rules.append((last.group(1) if last else None, re.compile(src, re.IGNORECASE), repl))
    letters = {r[0] for r in rules if r[0]}
    buckets = {c: tuple((rx, repl) for key, rx, repl in rules if key in (None, c))
               for c in letters}
    return buckets, tuple((rx, repl) for key, rx, repl in rules if key is None)


_RULES_BY_LAST, _RULES_ANY = _rule_buckets()
# Pattern returns a word unchanged when some listed word ends with it: every suffix of every
# listed word (the empty one included) is such a word.
_UNINFLECTED_SUFFIXES = frozenset(w[i:] for w in _UNINFLECTED for i in range(len(w) + 1))
# irregular plurals by final letter, in the list's order (the first one that fits wins)
_IRREGULAR_BY_LAST: dict[str, list[tuple[str, str]]] = {}
for _pair in _IRREGULAR:
    _IRREGULAR_BY_LAST.setdefault(_pair[0][-1], []).append(_pair)


def _apply_rules(word: str) -> str:
    rules = _RULES_BY_LAST.get(word[-1:].lower(), _RULES_ANY)
    for rx, repl in rules:
        m = rx.search(word)
        if m is None:
            continue
        out = _GROUP_REF.sub(lambda g: m.group(int(g.group(1))) or "", repl)
        return word[:m.start()] + out + word[m.end():]
    return word


@lru_cache(maxsize=200_000)
def pattern_singular(word: str) -> str:
    """The singular Pattern 3.6 gives for ``word`` (as a noun), quirks included."""
    if "-" in word:
        head, _, tail = word.partition("-")
        if tail.split("-", 1)[0] in _PREPOSITIONS:
            return pattern_singular(head) + "-" + tail
    if word.endswith("'"):
        return pattern_singular(word[:-1]) + "'s"
    low = word.lower()
    if low in _UNINFLECTED_SUFFIXES:
        return word
    if low.endswith(_IE_PLURALS):
        return low
    for plural, singular in _IRREGULAR_BY_LAST.get(low[-1:], ()):
        if low.endswith(plural):
            return word[:len(word) - len(plural)] + singular
    return _apply_rules(word)


# -- refined ----------------------------------------------------------------------------------
# The refined variant does not guess the singular of arbitrary words: CHAIR only needs to know
# which tokens are plurals of its own vocabulary (object words, phrase words, a few context
# words), and that vocabulary is closed. So it generates every plural of those words with the
# rules and tables below and maps each plural back: no lemmatiser to load, no ``bus`` -> ``bu``,
# and no word outside the vocabulary turned into one inside it.

#: Irregular plurals (singular -> plurals); ``-man`` -> ``-men`` is a rule.
IRREGULAR_PLURALS: dict[str, tuple[str, ...]] = {
    "person": ("people", "persons"), "child": ("children",), "grandchild": ("grandchildren",),
    "mouse": ("mice",), "louse": ("lice",), "goose": ("geese",), "tooth": ("teeth",),
    "foot": ("feet",), "ox": ("oxen",), "cactus": ("cacti", "cactuses"),
    "octopus": ("octopi", "octopuses"), "die": ("dice",), "bus": ("buses", "busses"),
    "minibus": ("minibuses", "minibusses"), "ski": ("skis", "skiis"), "taxi": ("taxis", "taxies"),
    "calf": ("calves",), "half": ("halves",), "knife": ("knives",), "pocketknife":
    ("pocketknives",), "leaf": ("leaves",), "loaf": ("loaves",), "shelf": ("shelves",),
    "thief": ("thieves",), "wife": ("wives",), "wolf": ("wolves",), "life": ("lives",),
    "elf": ("elves",), "scarf": ("scarves", "scarfs"), "hoof": ("hooves", "hoofs"),
}
#: Words whose plural is the word itself (or that only exist as plurals).
INVARIANT_PLURALS = frozenset({
    "sheep", "cattle", "bison", "buffalo", "fish", "deer", "moose", "series", "species",
    "scissors", "skis", "pants", "jeans", "shorts", "trousers", "glasses", "sunglasses",
    "goggles", "binoculars", "tongs", "clothes", "people", "police", "aircraft", "watercraft",
    "offspring", "salmon", "trout", "broccoli", "luggage", "equipment", "furniture",
})


_NOT_MAN = frozenset({"human", "german", "shaman", "talisman", "caiman", "ottoman"})


def plural_forms(word: str) -> set[str]:
    """Every plural of a lower-case singular noun (of the last word, for a phrase) that a
    caption may use: listed irregular forms, ``-man`` -> ``-men``, ``-y`` -> ``-ies``,
    ``-es`` after a sibilant or ``o``, and the plain ``-s`` (extra forms that are not words do
    no harm: no token equals them)."""
    head, _, last = word.rpartition(" ")
    forms = set(IRREGULAR_PLURALS.get(last, ()))
    if last in INVARIANT_PLURALS:
        forms.add(last)
    if last.endswith("man") and last not in _NOT_MAN:
        forms.add(last[:-3] + "men")
    if last.endswith("y") and len(last) > 1 and last[-2] not in "aeiou":
        forms.add(last[:-1] + "ies")
    if last.endswith(("s", "x", "z", "ch", "sh", "o")):
        forms.add(last + "es")
    if not last.endswith(("s", "x", "z", "ch", "sh")):
        forms.add(last + "s")
    prefix = head + " " if head else ""
    return {prefix + f for f in forms}


def singular_table(words) -> dict[str, str]:
    """``plural -> singular`` for every plural of ``words`` (a word that is itself one of the
    ``words`` is never remapped)."""
    words = set(words)
    table: dict[str, str] = {}
    for w in sorted(words):
        for p in plural_forms(w):
            if p not in words and p not in table:
                table[p] = w
    return table
