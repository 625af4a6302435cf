"""A quote's number must be the page's whole number. A quote ending on a digit matched the
start of a longer number past its decimal point or comma ("sales rose 5" in "sales rose 5.2%",
"5% growth" in "4.5% growth"), and the loose match joined digits across the punctuation it
drops, making numbers the page does not hold ("scores of 34 points" in "scores of 3-4
points", "12" in "1/2", "grew to 4" in "grew to 4,210"): each was supported. A number is now
never cut at a decimal point or comma, and punctuation dropped between two digits leaves them
apart (a space) in the loose form; the page's own numbers, written as on the page or with
another dash, are found as before.
"""

from __future__ import annotations

import pytest

from halluscope.checks.pages import find_in_text


@pytest.mark.parametrize("quote, page", [
    ("sales rose 5", "Last year sales rose 5.2% in Europe."),
    ("sales rose 5%", "sales rose 5.2% in Europe"),
    ("Sales rose 5.", "Sales rose 5.2% last year."),
    ("grew to 4", "Staff grew to 4,210 people."),
    ("5% growth", "a rise of 4.5% growth"),
    ("rose 2% in", "it rose 1,2% in France"),
    ("scores of 34 points", "scores of 3-4 points"),
    ("costs 12 of", "costs 1/2 of the budget"),
    ("a ratio of 31", "a ratio of 3:1 was seen"),
    ("call 5551234 now", "call 555-1234 now"),
])
def test_a_number_the_page_does_not_hold_is_not_found(quote, page):
    m = find_in_text(quote, page)
    assert not m.found, (m.how, m.snippet)


@pytest.mark.parametrize("quote, page, how", [
    ("sales rose 5.2%", "Last year sales rose 5.2% in Europe.", "exact"),
    ("Sales rose 5", "Sales rose 5. Costs fell.", "exact"),
    ("grew to 4,210", "Staff grew to 4,210 people.", "exact"),
    ("in 2023", "in 2023, sales rose", "exact"),
    ("scores of 3-4 points", "scores of 3 \u2013 4 points", "loose"),
    ("scores of 3-4 points", "scores of 3-4 points", "exact"),
    ("costs 1/2 of", "costs 1/2 of the budget", "exact"),
    ("COVID-19 cases", "COVID19 cases rose", "loose"),
    ("the committee", "the committee\u2019s report", "exact"),
])
def test_the_pages_own_numbers_are_found(quote, page, how):
    m = find_in_text(quote, page)
    assert (m.found, m.how) == (True, how)


@pytest.mark.parametrize("quote, page", [
    ("\u30ac\u30e9\u30b9\u306e\u7a93", "\u30ab\u30e9\u30b9\u306e\u7a93"),  # glass / crow
    ("\u30d1\u30f3\u3092\u8cb7\u3046", "\u30cf\u30f3\u3092\u8cb7\u3046"),  # pan / han
    ("\u043c\u043e\u0439 \u0434\u043e\u043c", "\u043c\u043e\u0438 \u0434\u043e\u043c"),
])
def test_marks_that_make_another_letter_are_kept_in_the_loose_match(quote, page):
    """The loose match drops accents (what OCR loses), but a kana's voicing marks and the
    breve of a Cyrillic short i make other letters: ガラス (glass) was found in カラス (crow)."""
    assert not find_in_text(quote, page).found
    assert find_in_text(quote, quote).found


@pytest.mark.parametrize("quote, page", [("naive", "na\u00efve"),
                                         ("\u0395\u03bb\u03bb\u03ac\u03b4\u03b1",
                                          "\u0395\u03bb\u03bb\u03b1\u03b4\u03b1")])
def test_accents_are_still_dropped_in_the_loose_match(quote, page):
    assert (find_in_text(quote, page).how, find_in_text(page, quote).how) == ("loose", "loose")
