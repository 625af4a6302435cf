"""Number words: the one table both the rule-based claims (a count's numeral) and the judges
(whether a judge's count is said in the response) read counts with.

It sits at the bottom layer so that :mod:`halluscope.judges` and :mod:`halluscope.claims`,
which may not import each other downward-up, share one spelling of each number.
"""

from __future__ import annotations

_UNITS = ("zero one two three four five six seven eight nine ten eleven twelve thirteen "
          "fourteen fifteen sixteen seventeen eighteen nineteen").split()
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()

#: Number words read as counts ("two cats" -> count 2): zero to nineteen, the tens, hundred.
NUMBER_WORDS: dict[str, int] = ({w: n for n, w in enumerate(_UNITS)}
                                | {w: 10 * n for n, w in enumerate(_TENS, start=2)}
                                | {"hundred": 100})

#: The tens (20, 30, ... 90): a unit word after one of them adds to it ("twenty-one": 21).
TENS: tuple[int, ...] = tuple(NUMBER_WORDS[w] for w in _TENS)
