"""HallusionBench's scored questions (:class:`Unit`) and how much of the benchmark they cover:
figures and question pairs seen whole or not (:func:`incomplete_groups`), questions answered against
the benchmark's count (:func:`coverage`), said loudly when a file is partial; each figure's and
question pair's tally for fAcc and qAcc (:func:`group_tallies`), and the questions rebuilt
from a run's ``items.jsonl`` (:func:`units_from_items`), which ``compare`` counts with it; and
how an answer or the judge's text is read as right or wrong (the original's and VLMEvalKit's)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from halluscope.metrics.pope_parsers import vlmevalkit_yes_no

log = logging.getLogger("halluscope.metrics.hallusionbench")


@dataclass(frozen=True)
class Unit:
    """One scored question: the set (bootstrap cluster), its figure and pair keys, its
    correctness (``None`` = unverifiable) and the groups it reports in."""

    cluster: str
    figure: str | None
    pair: str
    correct: bool | None
    groups: tuple[str, ...]
    hard: bool = False              # asked about an edited figure (visual_input 2)
    part: str = ""                  # whose answers: the model (model:A), "" for none
    cell: tuple[str, str] = ("", "")    # (figure id, question id) within the set
    #: what tells two rows of one cell apart where the scorer does: VLMEvalKit's visual_input
    #: (its index holds it); "" for the original's rows, whose name does not (utils.py asserts
    #: each <category>_<subcategory>_<set>_<figure>_<question> once)
    row: str = ""
    #: the truth, Yes (True) or No (False), where the Yes/No bias is counted (judged
    #: variants, :mod:`~halluscope.metrics.hallusionbench_bias`); ``None``: none read
    truth: bool | None = None


def incomplete_groups(units: list[Unit]) -> tuple[set[str], set[str]]:
    """The figure keys and the pair keys that lack some of their questions. Every question set
    of HallusionBench.json is a full grid (each of its figures asks each of its questions), so
    within one answerer's set a (figure, question) missing among the figures and questions seen
    leaves that figure and that pair incomplete: never counted as answered in full (a figure
    or question missing from a set altogether cannot be seen this way; :func:`coverage` counts
    the questions against the benchmark's). The refined variant counts one that already holds
    a wrong answer as wrong (whatever its missing answers, it is not all right) and leaves the
    others out (:func:`group_tallies`); the peers' variants count them as the peers do. The
    two are kept apart: ``<set>_1`` is figure 1's key and question 1's pair's."""
    grids: dict[tuple[str, str], dict[tuple[str, str], Unit]] = {}
    for u in units:
        grids.setdefault((u.part, u.cluster), {})[u.cell] = u
    figures: set[str] = set()
    pairs: set[str] = set()
    for cells in grids.values():
        figs = {f for f, _ in cells}
        qids = {q for _, q in cells}
        if len(cells) == len(figs) * len(qids):
            continue
        figure_of = {f: u.figure for (f, _), u in cells.items()}
        pair_of = {q: u.pair for (_, q), u in cells.items()}
        for f in figs:
            for q in qids:
                if (f, q) not in cells:
                    if figure_of[f] is not None:
                        figures.add(figure_of[f])
                    pairs.add(pair_of[q])
    return figures, pairs


def coverage(units: list[Unit], expected: int, whole_only: bool = False) -> dict[str, Any]:
    """How much of the benchmark the answers cover: per answerer (``part``), the distinct
    questions answered against ``expected`` (the benchmark's count), and the figures and pairs
    that are incomplete (:func:`incomplete_groups`). With ``whole_only`` (the refined variant)
    also how many of them fAcc / qAcc count as wrong, being already determined
    (``incomplete_figures_counted_wrong``, ``incomplete_pairs_counted_wrong``; the rest are
    left out: :func:`group_tallies`)."""
    answered: dict[str, set] = {}
    for u in units:
        answered.setdefault(u.part, set()).add((u.cluster, u.cell, u.row))
    partial_figures, partial_pairs = incomplete_groups(units)
    out: dict[str, Any] = {
        "expected_questions": expected,
        "answered": sum(len(v) for v in answered.values()),
        "unanswered": sum(max(0, expected - len(v)) for v in answered.values()),
        "incomplete_figures": len(partial_figures), "incomplete_pairs": len(partial_pairs)}
    if whole_only:
        figures, pairs = _groups(units)
        out["incomplete_figures_counted_wrong"] = sum(
            _determined_wrong(figures[k]) for k in partial_figures)
        out["incomplete_pairs_counted_wrong"] = sum(
            _determined_wrong(pairs[k]) for k in partial_pairs)
    if len(answered) > 1 or "" not in answered:
        out["unanswered_by"] = {p or "(none)": max(0, expected - len(v))
                                for p, v in sorted(answered.items())}
    return out


def expected_total(cov: dict[str, Any]) -> int:
    """The questions the benchmark asks of every answerer together."""
    return cov["expected_questions"] * max(1, len(cov.get("unanswered_by") or {}))


def no_verdict_info(no_verdict: int, codes: dict[str, int]) -> dict[str, Any]:
    """The original variant's judge answers that hold no verdict (no "correct", "incorrect"
    or "unclear": a refusal, an empty reply), which utils.py reads as unclear -- wrong, or
    right for a VS question without a figure -- counted as ``judge_no_verdict``. When every
    judged answer (``codes``: the original's codes "0", "1", "2" read) is one, the numbers are
    that default's, not the judge's: ``decided_nothing`` (the audit exits 2), as MMHal's
    original says when every rating fell back to 0."""
    if not no_verdict:
        return {}
    read = sum(n for k, n in codes.items() if k in ("0", "1", "2"))
    out: dict[str, Any] = {"judge_no_verdict": no_verdict}
    if no_verdict >= read:
        out["decided_nothing"] = (
            f"every one of the {read} judge answers held no verdict (no 'correct', "
            f"'incorrect' or 'unclear'), each read as unclear by the original's rule "
            f"(judge_no_verdict)")
    return out


def warn_no_verdict(info: dict[str, Any]) -> None:
    """Say :func:`no_verdict_info`'s count where some, not all, answers held no verdict (all
    of them: the run fails, saying so)."""
    if info and "decided_nothing" not in info:
        log.warning("hallusionbench original: %d judge answer(s) held no verdict (no "
                    "'correct', 'incorrect' or 'unclear'); the original reads each as unclear: "
                    "wrong, or right for a VS question without a figure (judge_no_verdict; "
                    "each item's judge_raw shows the answer)", info["judge_no_verdict"])


def warn_coverage(cov: dict[str, Any], whole_only: bool = True) -> None:
    """Say loudly what a partial answer file leaves out (nothing when it is whole);
    ``whole_only``: whether fAcc / qAcc count an incomplete figure or pair only when it is
    already wrong (refined; :func:`coverage` says how many of each)
    or count them over the questions they have, as the peers do (:func:`group_tallies`)."""
    over = "the figures and pairs seen whole or already wrong" if whole_only else \
        "the figures and pairs as answered, some of them partial"
    if cov["unanswered"]:
        by = cov.get("unanswered_by")
        whose = (" (" + ", ".join(f"{p}: {n}" for p, n in by.items() if n) + ")") if by else ""
        log.warning("hallusionbench: %d of the benchmark's %d questions have no answer%s; "
                    "aAcc is over the answered ones only, and fAcc / qAcc over %s -- not the "
                    "benchmark's numbers (info.coverage)",
                    cov["unanswered"], expected_total(cov), whose, over)
    if cov["incomplete_figures"] or cov["incomplete_pairs"]:
        if whole_only and "incomplete_figures_counted_wrong" in cov:
            wrong_f = cov["incomplete_figures_counted_wrong"]
            wrong_p = cov["incomplete_pairs_counted_wrong"]
            how = (f"{wrong_f} incomplete figure(s) and {wrong_p} pair(s) are counted wrong in "
                   f"fAcc / qAcc (already determined: they hold a wrong answer), "
                   f"{cov['incomplete_figures'] - wrong_f} figure(s) and "
                   f"{cov['incomplete_pairs'] - wrong_p} pair(s) left out (undetermined: no "
                   f"wrong answer, or an unverifiable one), none counted as correct")
        else:
            how = "they are " + (
                "left out of fAcc / qAcc, not counted as correct" if whole_only else
                "counted in fAcc / qAcc over the questions they have, as utils.py and "
                "VLMEvalKit count them (the refined variant counts those holding a wrong "
                "answer as wrong and leaves the others out)")
        log.warning("hallusionbench: %d figure(s) and %d question pair(s) lack some of their "
                    "questions; %s (info.coverage)", cov["incomplete_figures"],
                    cov["incomplete_pairs"], how)


def lone_pairs(units: list[Unit]) -> str | None:
    """Why the original gives no number for ``units``, if it does not: utils.py looks up the
    figure-0 answer of every question's pair by the pair's name (check_same_by_chatgpt, then
    get_eval_pair_all), so a pair answered on another figure but not on figure 0 stops it
    with a KeyError. ``None`` when every pair has its figure-0 answer."""
    with_0 = {u.pair for u in units if u.cell[0] == "0"}
    lone = sorted({u.pair.removeprefix("|") for u in units if u.pair not in with_0})
    if not lone:
        return None
    more = f" and {len(lone) - 3} more" if len(lone) > 3 else ""
    return (f"{len(lone)} question pair(s) answered without their figure 0 question "
            f"({', '.join(lone[:3])}{more}); the original stops there (utils.py looks up "
            f"each pair's figure-0 answer: KeyError)")


#: A figure's or question pair's tally as fAcc / qAcc count it: (whose answers, every question
#: right, counted, its question set).
GroupTally = tuple[str, int, int, str]


def group_tallies(units: list[Unit], whole_only: bool = True, determined: bool = True
                  ) -> tuple[dict[str, GroupTally], dict[str, GroupTally]]:
    """Each figure's and each question pair's :data:`GroupTally`, by its key: counted (1) when
    every question it has is decided and, with ``whole_only`` (the refined variant), it is
    whole (:func:`incomplete_groups`); with ``whole_only`` and ``determined`` also when it
    already holds a wrong answer (:func:`_determined_wrong`: not all right whatever its missing
    or unverifiable answers are; counted wrong);
    right (1) when moreover every answer is right; its set is that of its last question. An
    incomplete one whose answers are all right is left out (undetermined), never counted right.
    Without ``whole_only`` a figure or pair is counted over the questions it has, as utils.py's
    get_eval_fig / get_eval_pair_all and VLMEvalKit's calc_fAcc / calc_qAcc group whatever
    rows they are given (the peers' variants: their numbers). ``determined=False`` leaves every
    incomplete one out (the consistency shares, which a wrong answer alone does not settle).
    fAcc and qAcc are the right over the counted; the audit and ``compare`` both count them
    here."""
    figures, pairs = _groups(units)
    partial_figures, partial_pairs = incomplete_groups(units) if whole_only else \
        (set(), set())

    def tally(key: str, group: list[Unit], partial: set[str]) -> GroupTally:
        vals = [u.correct for u in group]
        counted = (whole_only and determined and _determined_wrong(group)) or (
            None not in vals and key not in partial)
        return group[-1].part, int(counted and all(vals)), int(counted), group[-1].cluster

    return ({k: tally(k, g, partial_figures) for k, g in figures.items()},
            {k: tally(k, g, partial_pairs) for k, g in pairs.items()})


def _groups(units: list[Unit]) -> tuple[dict[str, list[Unit]], dict[str, list[Unit]]]:
    """The units of each figure (image-less VS rows in none) and of each pair, by key."""
    figures: dict[str, list[Unit]] = {}
    pairs: dict[str, list[Unit]] = {}
    for u in units:
        if u.figure is not None:
            figures.setdefault(u.figure, []).append(u)
        pairs.setdefault(u.pair, []).append(u)
    return figures, pairs


def _determined_wrong(group: list[Unit]) -> bool:
    """Whether a figure's or pair's answers already settle it as wrong: one is decided wrong,
    so it is not all right whatever its missing or unverifiable answers are (the refined
    variant counts it wrong; only a group that could still be right is left out)."""
    return any(u.correct is False for u in group)


def question_identity(item: Mapping[str, Any]) -> tuple[str, str]:
    """Which question an items.jsonl line answers, and whose answer it is: (the ``model:``
    group, ``""`` for none; the row named as VLMEvalKit's index names it, ``<category>_
    <subcategory>_<visual_input>_<set>_<figure>_<question>``), what ``compare`` pairs aAcc by,
    never the line's position or its ``question_id`` (which repeats across sets). The
    visual_input is part of it: an answer given without the figure, with the original or with
    the edited one is never paired with another of these (in HallusionBench.json each figure
    is asked with one visual_input, so this names the same rows as the original's
    ``<category>_<subcategory>_<set>_<figure>_<question>``). ValueError where the line does
    not say (its payload's ``key``, and ``visual_input`` or VLMEvalKit's ``index``: a line
    written before halluscope kept visual_input has neither)."""
    part, stem, visual, key = _question_parts(item)
    return part, f"{stem}{visual}_{key[len(stem):]}"


def _question_parts(item: Mapping[str, Any]) -> tuple[str, str, str, str]:
    """What :func:`question_identity` reads of a line, checked as it says: ``(model: group,
    "<category>_<subcategory>_", visual_input, the payload's key)``."""
    payload = item.get("hallusionbench")
    payload = payload if isinstance(payload, Mapping) else {}
    key, visual = payload.get("key"), _visual_input(payload)
    where = item.get("source") or f"item {item.get('id')!r}"
    if not isinstance(key, str) or key.count("_") < 4:
        raise ValueError(f"{where}: its hallusionbench payload holds no 'key' "
                         f"<category>_<subcategory>_<set>_<figure>_<question> to pair it by")
    stem = f"{payload.get('category')}_{payload.get('subcategory')}_"
    if not key.startswith(stem):
        raise ValueError(f"{where}: its hallusionbench payload's key {key!r:.80} does not "
                         f"begin with its 'category' and 'subcategory' {stem!r:.60}")
    if visual is None:
        raise ValueError(f"{where}: its hallusionbench payload does not say the question's "
                         f"visual_input (no figure, the original or an edited one), which "
                         f"tells its rows apart; it was audited by an earlier halluscope: "
                         f"audit it again to compare it")
    groups = (item.get("scores") or {}).get("hallusionbench", {}).get("groups") or ()
    part = next((g for g in groups if isinstance(g, str) and g.startswith("model:")), "")
    return part, stem, visual, key


def _visual_input(payload: Mapping[str, Any]) -> str | None:
    """A payload's visual_input: its own field, else the third part of VLMEvalKit's index."""
    visual = payload.get("visual_input")
    if visual is None and isinstance(payload.get("index"), str):
        parts = payload["index"].split("_")
        visual = parts[2] if len(parts) == 6 else None
    return visual if isinstance(visual, str) else None


#: What ``compare`` does not pair, and why (said in its ``left_out``).
NOT_PAIRED = {"unanswered": "a count of the benchmark's questions a run has no answer to "
                            "(info.coverage), not a sum over items, so it has no paired "
                            "difference; the questions one run answers and the other does not "
                            "are counted in each statistic's only_a / only_b"}

UNIT_PREFIX = "question_set:"
"""The resampling unit's key: ``question_set:<category>_<subcategory>_<set>`` (VLMEvalKit's rows:
``<l2-category>_<set>``), from which :mod:`~halluscope.metrics.draws` draws its weights."""


def units_from_items(scored: Iterable[tuple[Sequence[float], str | None, Mapping[str, Any]]],
                     keyword: bool) -> list[Unit]:
    """The scored questions of a run rebuilt from its ``items.jsonl`` lines (``scored``: each
    line's row, unit and the line; ``keyword``: a VLMEvalKit variant, whose figure 0 of a VS set
    is a figure): the set from the unit (``question_set:<set>``), figure and question ids from
    the payload's ``key`` (``<category>_<subcategory>_<set>_<figure>_<question>``), whose
    answers from the ``model:`` group, correctness from the row (questions, correct,
    unverifiable, decided), on an edited figure (easy / hard) from its visual_input. A line
    without them raises ValueError saying what it lacks."""
    out = []
    for row, unit, item in scored:
        part, _, visual, key = _question_parts(item)        # (says what a line lacks)
        cat = item["hallusionbench"].get("category")
        where = item.get("source") or f"item {item.get('id')!r}"
        if not isinstance(cat, str):
            raise ValueError(f"{where}: its hallusionbench payload holds no 'category'")
        if not isinstance(unit, str) or not unit.startswith(UNIT_PREFIX) or len(row) != 4:
            raise ValueError(f"{where}: expected a row of 4 values (questions, correct, "
                             f"unverifiable, decided) and a unit {UNIT_PREFIX}<set>, got "
                             f"{len(row)} values and {unit!r}")
        stem = unit[len(UNIT_PREFIX):]
        _, fig, qid = key.rsplit("_", 2)
        figure = None if (not keyword and cat == "VS" and fig == "0") else f"{part}|{stem}_{fig}"
        correct = None if not row[3] else bool(row[1])
        hard = visual == "2"
        out.append(Unit(stem, figure, f"{part}|{stem}_{qid}", correct, (), hard, part,
                        (fig, qid)))
    return out


def check_row_ids(md: Mapping[str, Any], file: str | None, line: int | None) -> None:
    """A HallusionBench row's subcategory is text, its set, figure and question ids name
    something (text or a whole number, not empty, without the ``_`` utils.py joins them with:
    a null id was read as the text "None", every such row of a set one figure), its
    visual_input is 0, 1 or 2, and a VS row's figure_id is a whole number (utils.py reads it
    with ``int()``): else a RecordError naming the field."""
    from halluscope.errors import RecordError
    sub = md["subcategory"]
    if not isinstance(sub, str) or not sub.strip():     # (a null one was the text "None")
        raise RecordError(f"expected the subcategory as text, got {sub!r:.60}",
                          field="subcategory", file=file, line=line)
    for name in ("set_id", "figure_id", "question_id"):
        value = md[name]
        if isinstance(value, bool) or not isinstance(value, (str, int)) \
                or not str(value).strip() or "_" in str(value):
            raise RecordError(f"expected {name} as text or a whole number, not empty and "
                              f"without '_' (utils.py joins the ids with '_' into the names it "
                              f"groups by), got {value!r:.60}", field=name, file=file,
                              line=line)
    visual = md["visual_input"]
    if isinstance(visual, bool) or str(visual) not in ("0", "1", "2"):
        raise RecordError(f"expected visual_input 0 (no figure), 1 (the original) or 2 (an "
                          f"edited one), got {visual!r:.60}", field="visual_input", file=file,
                          line=line)
    if md["category"] == "VS" and not _whole(md["figure_id"]):
        raise RecordError(f"expected a whole-number figure_id, got {md['figure_id']!r:.60}: "
                          f"utils.py reads a VS row's figure_id with int()", field="figure_id",
                          file=file, line=line)


def _whole(value: Any) -> bool:
    """Whether utils.py's ``int(figure_id)`` reads ``value`` (a string of digits, or an int)."""
    if isinstance(value, int):
        return True
    try:
        int(value)
    except (TypeError, ValueError, OverflowError):      # (1e400 in the JSON: infinite)
        return False
    return True


#: The statistics over the questions on original (easy) and edited (hard) figures.
EASY_HARD = (("easy_qacc", False), ("hard_qacc", True))


def easy_and_hard(units: list[Unit]) -> list[tuple[str, list[Unit]]]:
    """``(statistic, its units)`` for ``easy_qacc`` and ``hard_qacc``: the units asked about an
    original figure, then those asked about an edited one."""
    return [(name, [u for u in units if u.hard == hard]) for name, hard in EASY_HARD]


# -- parsers ---------------------------------------------------------------------------------
def original_correctness(judge_text: str | None) -> str:
    """utils.py's reading of the judge's text: ``"0"`` incorrect, ``"1"`` correct, ``"2"``
    unclear (anything else, the empty text included)."""
    low = (judge_text or "").lower()
    if "incorrect" in low:
        return "0"
    if "correct" in low:
        return "1"
    return "2"


def original_is_correct(code: str, category: str, figure_id: str) -> bool:
    """utils.py's ``assign_correctness``: 2 counts as correct for VS questions without a figure."""
    if category == "VS" and int(figure_id) == 0:
        return code in ("1", "2")
    return code == "1"


def vlmevalkit_extract(prediction: str | None, variant: str = "vlmevalkit") -> str:
    """VLMEvalKit's ``YOrN_Extraction``: ``Yes`` / ``No`` when exactly one of the words occurs
    (``variant``: which release's full-stop rule, :func:`vlmevalkit_punctuation`); the reading
    is POPE's ``vlmevalkit`` parser's, one implementation for both."""
    return _EXTRACTED[vlmevalkit_yes_no((prediction or "").lower(), variant)]


_EXTRACTED = {"yes": "Yes", "no": "No", "unknown": "Unknown"}


#: HallusionBench.json's subcategories by category (what its groups are named from).
SUBCATEGORIES = {"VD": ("figure", "illusion", "math", "ocr", "video"),
                 "VS": ("chart", "map", "ocr", "table")}


def bare_group_fields(group: str) -> tuple[str, ...]:
    """The fields whose value a group named bare is, which a diff gate's ``@FIELD:*`` names
    every group of: a category (``VD``) is ``category``'s, a category and subcategory
    (``VS_chart``, VLMEvalKit's ``l2-category``) ``subcategory``'s and ``l2-category``'s;
    none for a ``FIELD:VALUE`` group (``model:NAME``), whose field is its own."""
    if ":" in group or not group:
        return ()
    return ("subcategory", "l2-category") if "_" in group else ("category",)


def bare_group_problem(group: str, fields: Sequence[str]) -> str | None:
    """Why ``group`` (of a gate ``hallusionbench.STAT@GROUP``) can name none of the metric's
    groups, said before any answer goes to the judge; ``None`` where it can (the group's
    existence is checked after scoring, with the groups there are). Its own groups are bare:
    a category (``VD``, ``VS``) and a category and subcategory (``VS_chart``, the
    ``l2-category`` of VLMEvalKit's rows); ``fields``: the fields of its ``FIELD:VALUE``
    groups (``--by``'s), which the caller has already matched."""
    cat, under, sub = group.partition("_")
    if cat in SUBCATEGORIES and (not under or sub) and ":" not in group:
        return None
    field, colon, value = group.partition(":")
    named = value if colon else group
    guess = [c for c in SUBCATEGORIES if named.upper() == c] or [
        f"{c}_{s}" for c, subs in SUBCATEGORIES.items() for s in subs
        if named.lower() in (s, f"{c}_{s}".lower())]
    if colon and not value.strip("*"):
        guess = ["VD", "VS"] if field == "category" else [
            f"{c}_{s}" for c, subs in SUBCATEGORIES.items() for s in subs]
    hint = (f"; did you mean {' or '.join(f'@{g}' for g in guess[:3])}"
            f"{' (one gate per group)' if len(guess) > 1 else ''}?" if guess else "")
    if not colon and group in ("category", "subcategory", "l2-category"):
        hint = (f": a gate names one group, and a {group}'s group is named by its value "
                f"alone (one gate per group: @VD and @VS, @VS_chart)")
    subs = ", ".join(f"{c}_{s}" for c, ss in SUBCATEGORIES.items() for s in ss)
    by = ", ".join(f"{f}:VALUE" for f in fields)
    return (f"has no group {group!r}{hint} (its groups are named bare: a category, VD or VS, "
            f"or a category and subcategory: {subs}" + (f"; and by --by: {by}" if by else "")
            + ")")
