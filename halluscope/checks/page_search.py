"""Which pages and page breaks a quote is looked for on, and in what order: the cited pages,
the breaks between consecutive cited pages, then every other page and break (so that "nowhere
in the document" means nowhere); see "Across pages" in :mod:`halluscope.checks.pages`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from halluscope.checks.page_filter import may_cross, may_span
from halluscope.checks.page_sieve import Sieve, page_index
from halluscope.checks.pagetext import PageForms, joined, page_forms
from halluscope.checks.quote_match import Needle, QuoteMatch, find_on, find_whole, needle_of
from halluscope.checks.running import RunningLines, running_lines
from halluscope.claims.page_citations import Quote


def _find_across(needle: Needle, pages: list[int], forms: list[PageForms],
                 running: RunningLines | None = None, whole: bool = False
                 ) -> QuoteMatch | None:
    """``needle`` running over the breaks of consecutive ``pages`` (read as line breaks);
    with ``running``, the pages' running headers and footers left out at each break. With
    ``whole``, only a match that runs from the first page to the last (of those left)."""
    skipped: list[tuple[int, str, tuple[int, int]]] = []
    if len(forms) == 2 and not may_cross(needle.skeleton, forms[0].skeleton,
                                         forms[1].skeleton):
        return None                     # (a pair of pages that cannot hold it: never joined)
    if running is not None:
        pages, forms, skipped = _without_running(pages, forms, running)
        if len(pages) < 2:
            return None
    for how, loose_ in (("exact", False), ("loose", True)):
        text = needle.loose if loose_ else needle.exact
        both = joined(pages, forms, loose_)
        parts = _across_break(text, both, (pages[0], pages[-1]) if whole else None)
        if parts is None:
            continue
        raws = dict(zip(pages, (f.raw for f in forms)))
        snippet = "\n".join(raws[p][a:b] for p, (a, b) in parts)   # the break as a line end
        first, last = parts[0][0], parts[-1][0]
        left_out = [s for s in skipped if (s[0], s[1]) != (first, "start") and
                    (s[0], s[1]) != (last, "end") and first <= s[0] <= last]
        return QuoteMatch(True, page=parts[0][0], span=parts[0][1], how=how, snippet=snippet,
                          parts=parts, skipped=left_out)
    return None


def _across_break(text: str, both: Any, ends: tuple[int, int] | None = None
                  ) -> list[tuple[int, tuple[int, int]]] | None:
    """The parts of the first occurrence of ``text`` in the joined pages ``both`` that runs
    over a page break (an occurrence on one page alone was looked for there already and is
    passed by, not taken for the only one), else ``None``. With ``ends`` (first page, last
    page), only one that starts on the first and ends on the last."""
    k = -1
    while True:
        k = find_whole(text, both.text, k + 1)
        if k is None:
            return None
        parts = both.parts(k, len(text))
        if len(parts) >= 2 and (ends is None or (parts[0][0], parts[-1][0]) == ends):
            return parts


_Skipped = list[tuple[int, str, tuple[int, int]]]     # (page, "start" | "end", span)


def _without_running(pages: list[int], forms: list[PageForms], running: RunningLines
                     ) -> tuple[list[int], list[PageForms], _Skipped]:
    """Each page of a run without the running lines at its breaks (the trailing ones of every
    page but the last, the leading ones of every page but the first); a page left blank is
    left out. Returns the pages, their forms and the lines left out."""
    kept_pages, kept, skipped = [], [], []
    for i, (p, f) in enumerate(zip(pages, forms)):
        a, b, lead, trail = _trim(f, running, i > 0, i + 1 < len(pages))
        skipped += [(p, "start", span) for span in lead] + [(p, "end", span) for span in trail]
        if f.raw[a:b].strip():
            kept_pages.append(p)
            kept.append(f.trimmed(a, b))
    return kept_pages, kept, skipped


def _trim(f: PageForms, running: RunningLines, start: bool, end: bool
          ) -> tuple[int, int, list[tuple[int, int]], list[tuple[int, int]]]:
    """Where page ``f`` is cut to leave out its leading running lines (with ``start``) and
    its trailing ones (with ``end``): ``(a, b)``, and the spans of the lines left out."""
    a, b = 0, len(f.raw)
    lead = running.leading(f.raw) if start else []
    trail = running.trailing(f.raw) if end else []
    if lead:
        a = lead[-1][1]
    if trail and trail[0][0] >= a:
        b = trail[0][0]
    else:
        trail = []
    return a, b, lead, trail


def _runs(pages: list[int]) -> list[list[int]]:
    """Runs of two or more consecutive page numbers among ``pages``."""
    runs: list[list[int]] = []
    for p in sorted(set(pages)):
        if runs and runs[-1][-1] == p - 1:
            runs[-1].append(p)
        else:
            runs.append([p])
    return [r for r in runs if len(r) > 1]


def find_quote(quote: Quote, cited: tuple[int, ...], page_text: Any, n_pages: int,
               look: Callable[[list[int]], bool] | None = None) -> QuoteMatch:
    """Look for ``quote`` on the cited pages (across the break of consecutive cited pages
    too), and, when it is not there, on the others.

    ``page_text`` is a callable ``page number -> text``; the normalised form of each page is
    made once per owner of the callable (see :func:`~halluscope.checks.pagetext.page_forms`).
    ``look``, when given, says of a page not cited (``[p]``) or a break (``[p, p + 1]``)
    whether it may hold the quote: one it rules out is never read through ``page_text``.
    """
    needle = needle_of(quote)
    valid = [p for p in cited if 1 <= p <= n_pages]
    for p in valid:
        m = find_on(needle, page_forms(page_text, p))
        if m.found:
            m.page = p
            return m
    runs = _runs(valid) if needle.kind != "number" else []
    # then a quote that starts on a cited page and runs on to the next (or ends on it, having
    # begun on the page before): the cited page holds part of it, and a reader who opens it
    # finds the quote there, over the page turn; the match names the page not cited
    spill = [] if needle.kind == "number" else [
        r for p in valid for r in ([p, p + 1], [p - 1, p])
        if 1 <= r[0] and r[1] <= n_pages and not (r[0] in cited and r[1] in cited)]
    spill = [r for r in spill if _may_cross_pages(needle, page_text, r[0])]
    for group in (runs, spill):
        for running in _with_running(group, page_text, n_pages):
            for run in group:
                m = _find_across(needle, run, [page_forms(page_text, p) for p in run],
                                 running)
                if m is not None:
                    m.uncited = [p for p in m.pages if p not in cited]
                    return m
    # then one that runs over whole pages too (p. 2 cited, the quote over pages 2, 3 and 4)
    for m in _find_spanning(needle, page_text, n_pages, valid, cited):
        return m
    others = []
    for p in _may_hold(needle, page_text, n_pages, look):
        if p not in cited and (look is None or look([p])):
            m = find_on(needle, page_forms(page_text, p))
            if m.found:
                m.page = p
                others.append(m)
    sieve = Sieve(needle, page_text, n_pages) if look is None and not others and \
        needle.kind != "number" else None
    breaks = [] if others or needle.kind == "number" else _breaks(
        needle, cited, page_text, n_pages, look, sieve)
    if not others and needle.kind != "number":      # "nowhere" must mean nowhere
        for running in _with_running(breaks, page_text, n_pages):
            for run in breaks:
                m = _find_across(needle, run, [page_forms(page_text, p) for p in run], running)
                if m is not None:
                    others.append(m)
            if others:
                break
    if not others and sieve is not None:
        others = _find_spanning(needle, page_text, n_pages, skels=sieve.skels)
    return QuoteMatch(False, others=others)


def _may_hold(needle: Needle, page_text: Any, n_pages: int, look: Any) -> Sequence[int]:
    """The pages, in order, that may hold ``needle`` whole: with ``look`` (the column
    reading), every page (``look`` says which); else those whose letters and digits hold the
    quote's, or, for a number, those with a number of its value, found once over the whole
    document (:class:`~halluscope.checks.page_sieve.PageIndex`)."""
    if look is not None:
        return range(1, n_pages + 1)
    index = page_index(page_text, n_pages)
    if needle.kind == "number":
        return [] if needle.number is None else index.pages_with_value(needle.number[0])
    return index.pages_holding(needle.skeletons)


#: The most consecutive pages a quote is looked for across, when they are not all cited: one
#: that runs over whole pages (each page between its first and last all quoted), such as a
#: quote cited on page 2 that runs on over page 3 to page 4.
MAX_SPAN = 6
#: The most letters and digits a page's running lines are taken to hold: a page with more
#: than this beyond a quote's is not read for them to tell whether it is all quoted.
RUNNING_CHARS = 240


def _find_spanning(needle: Needle, page_text: Any, n_pages: int,
                   around: list[int] | None = None, cited: tuple[int, ...] = (),
                   skels: list[str] | None = None) -> list[QuoteMatch]:
    """``needle`` over 3 to :data:`MAX_SPAN` consecutive pages, from the first to the last
    (see :func:`_windows`): the first match on pages that hold one of ``around`` (the cited
    pages; not on pages all cited, looked for already), its ``uncited`` pages set; without
    ``around``, every match in the document (``skels``: every page's skeleton). Pages found
    with running lines in are never looked for without them; the document is read for its
    running lines only when a page may be all quoted without them."""
    if needle.kind == "number" or not needle.skeleton:
        return []
    found: list[QuoteMatch] = []
    candidates: Sequence[int] = range(2, n_pages)
    if skels is None:           # (the pages near the cited ones alone are read)
        near = sorted({m for p in around or () for m in range(p - MAX_SPAN + 1, p + MAX_SPAN)
                       if 1 <= m <= n_pages})
        skels = [""] * n_pages
        for m in near:
            skels[m - 1] = page_forms(page_text, m).skeleton
        candidates = [m for m in near if 2 <= m < n_pages]
    q, short = needle.skeleton, len(needle.skeleton) + RUNNING_CHARS
    for trim in (False, True):
        running = None
        if trim:        # (pages that may be all quoted once their running lines are out)
            middles = [m for m in candidates if 0 < len(skels[m - 1]) <= short]
            if found or not middles:
                break
            running = running_lines(page_text, n_pages)
            if running is None:
                break
        else:
            middles = [m for m in candidates if skels[m - 1] and skels[m - 1] in q]
        for run in _windows(needle, page_text, running, middles, around, skels):
            if around is not None and all(p in cited for p in run):
                continue
            m = _find_across(needle, run, [page_forms(page_text, p) for p in run], running,
                             whole=True)
            if m is None:
                continue
            if around is None:
                found.append(m)
            elif any(p in around for p in m.pages):
                m.uncited = [p for p in m.pages if p not in cited]
                return [m]
    return found


def _windows(needle: Needle, page_text: Any, running: RunningLines | None,
             middles: Sequence[int], around: list[int] | None, skels: list[str]
             ) -> list[list[int]]:
    """Runs of 3 to :data:`MAX_SPAN` consecutive pages that ``needle`` may run over from the
    first to the last, shortest first: every page between, one of ``middles``, has letters or
    digits, all of them in the quote's (its running lines left out with ``running``), and a
    head of the quote may be on the first page and the rest on the last
    (:func:`~halluscope.checks.page_filter.may_span`). With ``around``, only runs that hold
    one of those pages."""
    q = needle.skeleton
    inner: dict[int, str | None] = {}

    def inside(p: int) -> str | None:       # page p's skeleton, when it may be all quoted
        if p not in inner:
            s = skels[p - 1]
            if s and running is not None and len(s) <= len(q) + RUNNING_CHARS:
                f = page_forms(page_text, p)
                a, b, _, _ = _trim(f, running, True, True)
                s = f.trimmed(a, b).skeleton
            inner[p] = s if s and s in q else None
        return inner[p]

    out = []
    for a in sorted({m - 1 for m in middles if inside(m) is not None}):
        b = a + 2
        while b < a + MAX_SPAN and b <= len(skels) and inside(b - 1) is not None:
            run = list(range(a, b + 1))
            if (around is None or any(p in around for p in run)) and may_span(
                    q, [skels[a - 1]] + [inside(m) or "" for m in run[1:-1]] + [skels[b - 1]]):
                out.append(run)
            b += 1
    return sorted(out, key=len)


def _breaks(needle: Needle, cited: tuple[int, ...], page_text: Any, n_pages: int,
            look: Any, sieve: Sieve | None) -> list[list[int]]:
    """The breaks not between two cited pages that ``needle`` may run over: those ``look``
    lets through, of which the pages may hold a head and a tail of it (with ``look`` left
    out, the pages' text as it stands, sieved all at once by ``sieve``)."""
    if sieve is not None:
        return [[p, p + 1] for p in sieve.crossable() if p not in cited or p + 1 not in cited]
    return [[p, p + 1] for p in range(1, n_pages) if (p not in cited or p + 1 not in cited)
            and look([p, p + 1]) and _may_cross_pages(needle, page_text, p)]


def _may_cross_pages(needle: Needle, page_text: Any, p: int) -> bool:
    """Whether ``needle`` may run over the break after page ``p`` (see
    :func:`~halluscope.checks.page_filter.may_cross`): a document whose breaks none may
    cross is not read for its running headers."""
    return may_cross(needle.skeleton, page_forms(page_text, p).skeleton,
                     page_forms(page_text, p + 1).skeleton)


def reordered_look(quote: Quote, page_text: Any, n_pages: int
                   ) -> tuple[Callable[[list[int]], bool], set[int]]:
    """For ``find_quote``'s ``look`` in a page's column reading: whether pages (a page, or two
    across a break) may hold ``quote`` with their lines in another order, judged from their
    text as ``page_text`` gives it (:meth:`~halluscope.checks.page_sieve.Sieve.reordered`),
    and the pages that may. A number is read token by token, the same in either order: it
    is looked for in the column reading of the cited pages alone."""
    pages, breaks = Sieve(needle_of(quote), page_text, n_pages).reordered()

    def look(run: list[int]) -> bool:
        return run[0] in pages if len(run) == 1 else run[0] in breaks
    return look, pages | breaks | {p + 1 for p in breaks}


def _with_running(runs: list[list[int]], page_text: Any, n_pages: int):
    """``None`` (look across the breaks of ``runs`` as they are), then, when there are runs and
    the document has running headers or footers, those (look again without them): a quote
    found with them in is never looked for without them."""
    if not runs:
        return
    yield None
    found = running_lines(page_text, n_pages)
    if found is not None:
        yield found


