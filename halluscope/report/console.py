"""The terminal summary of an audit (rich tables), printed by the CLI; report.html shares its
group ranking and finish facts.

:func:`render_summary` prints, in order: the metrics with their confidence intervals, the most
relevant per-group rows (POPE splits first, then the worst groups), the first bad records and
the files the audit wrote. Text from the data (messages, group names, file names) is printed
as plain :class:`rich.text.Text`, never parsed as rich markup, and with its control characters
shown (:func:`~halluscope.report.visible.visible_controls`): an escape sequence in a model name
coloured the terminal or planted a hyperlink.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich import box
from rich.console import Console
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from halluscope.report.metric_table import _finite, _num, _plain, metrics_table
from halluscope.report.visible import visible_controls

if TYPE_CHECKING:
    from halluscope.metrics.base import MetricSummary
    from halluscope.result import AuditResult

MAX_GROUP_ROWS = 20
MAX_PROBLEMS = 20
MAX_GROUP_COLUMNS = 5
OUTPUT_FILES = ("results.json", "items.jsonl", "runsheet.json", "report.html")


def _headline(summary: MetricSummary) -> str | None:
    """The statistic groups are ranked by: the preferred one (the metric's declared
    ``headline`` first, then the others in order) defined in the most groups."""
    stats = [s for s, r in summary.results.items() if isinstance(r.value, float)]
    if not stats:
        return None
    from halluscope.metrics.base import declared
    cls = declared(summary.name)
    preferred = cls.headline if cls is not None else ()
    order = [s for s in preferred if s in stats] + [s for s in stats if s not in preferred]

    def defined(stat: str) -> int:
        return sum(1 for res in summary.groups.values()
                   if stat in res and _finite(res[stat].value))

    return max(order, key=lambda s: (defined(s), -order.index(s)))


def _too_small(results: Mapping[str, Any], head: str | None) -> bool:
    """Whether a group's headline statistic is over too few units (or clusters) for an
    interval, as its ``ci_reason`` says."""
    reason = getattr(results.get(head), "ci_reason", None) if head else None
    return bool(reason is not None and reason.too_small)


def too_small_groups(summary: MetricSummary) -> tuple[str | None, set[str]]:
    """The statistic groups are ranked by, and the groups (splits aside) whose value of it is
    over too few units for an interval: :func:`ranked_groups` puts them last."""
    head = _headline(summary)
    return head, {g for g, results in summary.groups.items()
                  if not g.startswith("split:") and _too_small(results, head)}


def ranked_groups(summary: MetricSummary, asked: frozenset[str] = frozenset()) -> list[str]:
    """Group names, most relevant first: splits, then the worst values of the headline
    statistic (larger groups first among equals); groups too small for an interval come after
    all the others: with ``--by question_id`` the one-answer groups, each 0 or 1, filled the
    table worst first and pushed out every group with an interval. report.html's group tables
    follow this order too. A group repeating the overall numbers (the one value of a field not
    ``asked`` for: :mod:`halluscope.report.group_choice`) is left out."""
    from halluscope.report.group_choice import repeating_groups
    head, too_small = too_small_groups(summary)
    hidden = repeating_groups(summary, asked)
    better = summary.results[head].higher_is_better if head else False

    def key(group: str):
        results = summary.groups[group]
        split = 0 if group.startswith("split:") else 1
        res = results.get(head) if head else None
        value = res.value if res is not None and _finite(res.value) else None
        badness = (value if better else -value) if value is not None else math.inf
        n = max((r.n for r in results.values()), default=0)
        return (split, group in too_small, badness if split else 0, -n, group)

    return sorted((g for g in summary.groups if g not in hidden), key=key)


def groups_table(result: AuditResult, limit: int = MAX_GROUP_ROWS,
                 width: int | None = None) -> tuple[Any, int]:
    """The most relevant group rows, one table per metric with that metric's own columns
    (its headline first), the rows shared fairly between the metrics; and how many rows were
    left out. One table for all had the first metric's columns only: another metric's group
    values were blank, and its groups could be cut altogether. ``width``: the terminal's, to
    which the statistics' columns are fitted (see :func:`_group_table`)."""
    from halluscope.report.group_choice import asked_fields
    asked = asked_fields(getattr(result, "config", None))
    ranked = {name: groups for name, summary in result.metrics.items()
              if summary.groups and (groups := ranked_groups(summary, asked))}
    if not ranked:
        return None, 0
    share = max(3, -(-limit // len(ranked)))
    tables, shown = [], 0
    for name, groups in ranked.items():
        summary = result.metrics[name]
        rows = groups[:share]
        shown += len(rows)
        head = _headline(summary)
        columns: list[str] = [head] if head else []
        for group in rows:
            for stat, res in summary.groups[group].items():
                if isinstance(res.value, float) and stat not in columns:
                    columns.append(stat)
        tables.append(_group_table(name, summary, rows, columns[:MAX_GROUP_COLUMNS], width,
                                   len(too_small_groups(summary)[1] & set(groups)),
                                   len(groups)))
    total = sum(len(g) for g in ranked.values())
    if len(tables) == 1:
        return tables[0], total - shown
    from rich.console import Group
    return Group(*tables), total - shown


def _group_table(name: str, summary: MetricSummary, rows: list[str], columns: list[str],
                 width: int | None, small: int = 0, total: int | None = None) -> Table:
    """One metric's group rows. The title names the metric (a column repeating it took the
    names' width). A group's name is never cut (at 80 columns two models' rows both read
    "model:d…"): it keeps its width, up to 40, and folds beyond (and narrower where the console
    leaves no room for one statistic beside it); a number is never cut either;
    the statistics' headers are cut instead, and the columns that do not fit in ``width`` are
    left out, the caption says how many. ``small``: the metric's groups too small for an
    interval, ranked last (the caption says so)."""
    names = [visible_controls(g) for g in rows]
    from halluscope.metrics.stats import shared_n
    shared = [shared_n(summary.groups[g], columns) for g in rows]
    own_n = any(n is None for n in shared)      # a value beside another's count would lie
    counts = [] if own_n else [_num(n) for n in shared]
    cells = {c: [(_num(summary.groups[g][c].value)
                  + (f" ({_num(summary.groups[g][c].n)})" if own_n else ""))
                 if c in summary.groups[g] else "" for g in rows] for c in columns}
    name_w = min(max(map(len, names), default=5), 40)
    used = 1 + (name_w + 3) + (0 if own_n else max(1, *map(len, counts)) + 3)  # edge; pad
    kept: list[tuple[str, int, int]] = []
    for c in columns:
        value_w = max(6, *map(len, cells[c]))
        col_w = max(value_w, min(len(c), 10))
        if width is not None and kept and used + col_w + 3 > width:
            break
        kept.append((c, value_w, col_w))
        used += col_w + 3
    # too narrow for the names and one statistic: the names fold narrower (the values were
    # cut to "0.5000 (1" at 30 columns, the caption with them)
    over = used - width if width is not None else 0
    if over > 0:
        name_w = max(6, name_w - over)
    table = Table(title=Text(f"By group: {visible_controls(name)}"), box=box.SIMPLE_HEAVY,
                  title_justify="left", title_style="bold")
    caption = ["(n) after a value: the units that statistic is over"] if own_n else []
    if len(kept) < len(columns):
        caption.append(f"{len(columns) - len(kept)} more statistic(s) per group in "
                       f"results.json (a wider terminal shows them)")
    if small:
        total = len(summary.groups) if total is None else total
        caption.append(f"{small:,} of {total:,} groups are over too few units "
                       f"for an interval: ranked after the others, all in results.json")
    if caption:
        table.caption = Text("; ".join(caption))
        table.caption_justify = "left"
    table.add_column("group", overflow="fold", min_width=name_w,
                     max_width=name_w if over > 0 else None)
    if not own_n:
        table.add_column("n", justify="right", style="dim", no_wrap=True)
    for c, value_w, col_w in kept:
        table.add_column(c, justify="right", style="cyan", no_wrap=True, min_width=value_w,
                         max_width=col_w)
    for i, group in enumerate(rows):
        table.add_row(_plain(group), *counts[i:i + 1], *[cells[c][i] for c, _, _ in kept])
    return table



def collapse_errors(errors: list[Mapping[str, Any]]) -> list[tuple[Mapping[str, Any], int, str]]:
    """Identical problems (same field, metric and message) as one entry each, in order of first
    appearance: ``(first error, count, where)``, ``where`` naming the first lines and how many
    more. results.json keeps every error; only the console collapses them."""
    groups: dict[tuple, list] = {}
    for err in errors:
        key = (err.get("field"), err.get("metric"), err.get("message"))
        groups.setdefault(key, []).append(err)
    out = []
    for members in groups.values():
        places = [error_where(e) for e in members]
        where = ", ".join(places[:3])
        if len(places) > 3:
            where += f" and {len(places) - 3:,} more"
        out.append((members[0], len(members), where))
    return out


def error_where(err: Mapping[str, Any]) -> str:
    """Where a bad record is: ``file:line``, and its element where it is one of a JSON
    array's (``file:1 (element 57)``: a one-line array's are all on line 1)."""
    file, line, element = err.get("file"), err.get("line"), err.get("element")
    where = f"{file or '<input>'}:{line}" if line is not None else str(file or "<input>")
    return where + (f" (element {element:,})" if isinstance(element, int) else "")


def bad_record_count(errors: list[Mapping[str, Any]]) -> int:
    """How many records ``errors`` are about: a record two metrics could not score is one bad
    record (an error with no line is a record of its own). Records that share a line are
    told apart by their element (a JSON array's) where known; those that name neither it nor
    an id (the elements of a one-line JSON array, as ``json.dump`` writes AMBER's response
    files) by metric: one metric fails a record once, so a line's records are
    at least the most errors one metric has there (five bad ids there were "1 bad record")."""
    per_line: dict[tuple, Counter] = {}
    alone = 0
    for err in errors:
        line = err.get("line")
        if line is None:
            alone += 1
            continue
        place = (err.get("file"), line, err.get("element"), err.get("id"))
        per_line.setdefault(place, Counter())[err.get("metric")] += 1
    return alone + sum(max(c.values()) for c in per_line.values())


def _bad_records(n: int) -> str:
    """``1 bad record``, ``2 bad records``."""
    return f"{n:,} bad record{'' if n == 1 else 's'}"


def problems_table(result: AuditResult, limit: int = MAX_PROBLEMS, width: int | None = None
                   ) -> Any:
    """The first ``limit`` kinds of bad record: where, how many, field, metric, message; as
    lines where ``width`` leaves the message under :data:`MIN_MESSAGE` columns (the table cut
    fields and messages to ``respo…`` and ``'mod…`` there)."""
    if not result.errors:
        return None
    title = f"Problems ({_bad_records(bad_record_count(result.errors))}, left out of the metrics)"
    from halluscope.redact import redact_text
    shown = collapse_errors(result.errors)[:limit]
    if width is not None and _fixed_width(shown) + MIN_MESSAGE > width:
        lines = [Text(title, style="bold yellow")]
        for err, count, where in shown:
            head = Text.assemble("  ", (visible_controls(where), "yellow"), f"  n={count:,}")
            for key in ("field", "metric"):
                if err.get(key):
                    head.append(f" · {key} {visible_controls(str(err[key]))}")
            message = visible_controls(redact_text(str(err.get("message") or "")))
            lines += [head, Padding(Text(message), (0, 0, 0, 4))]    # wrapped lines indented
        from rich.console import Group
        return Group(*lines, Text(""))
    table = Table(title=title, box=box.SIMPLE_HEAVY, title_justify="left",
                  title_style="bold yellow")
    table.add_column("where", style="yellow", overflow="fold")
    table.add_column("n", justify="right")
    table.add_column("field")
    table.add_column("metric", style="dim")
    table.add_column("message")
    for err, count, where in shown:
        table.add_row(_plain(where), f"{count:,}", _plain(err.get("field") or ""),
                      _plain(err.get("metric") or ""),
                      _plain(redact_text(str(err.get("message") or ""))))
    return table


MIN_MESSAGE = 24
"""The narrowest the problems table's message column may be; a console with less room lists
the problems as lines."""


def _fixed_width(shown: list[tuple[Mapping[str, Any], int, str]]) -> int:
    """The problems table's width but the message's: its other columns whole, the padding."""
    from rich.cells import cell_len
    cols = [max([len("where")] + [cell_len(visible_controls(w)) for _, _, w in shown]),
            max([1] + [len(f"{n:,}") for _, n, _ in shown]),
            max([len("field")] + [cell_len(visible_controls(str(e.get("field") or "")))
                                  for e, _, _ in shown]),
            max([len("metric")] + [cell_len(visible_controls(str(e.get("metric") or "")))
                                   for e, _, _ in shown])]
    return sum(cols) + 3 * 5 + 1                     # each column's padding and rule, an edge


def unscored_lines(result: AuditResult) -> list[Text]:
    """One line per metric that scored nothing, with its reasons."""
    lines = []
    for name, reasons in (getattr(result, "unscored", None) or {}).items():
        line = Text()
        line.append(f"{visible_controls(name)} scored nothing", style="bold red")
        from halluscope.redact import redact_text      # (a reason may quote an image URL)
        line.append(": " + visible_controls(redact_text("; ".join(reasons))))
        lines.append(line)
    return lines


def unfinished_lines(result: AuditResult) -> list[Text]:
    """One line per input from a ``halluscope query`` run that did not finish: the numbers
    above are over the answers it holds, and no gate is decided on them unless allowed."""
    unfinished = getattr(result, "unfinished_inputs", None) or []
    allowed = getattr(getattr(result, "config", None), "allow_unfinished_query", False)
    lines = []
    for entry in unfinished:
        line = Text()
        line.append("PARTIAL", style="bold red")
        held = (f"{entry['answered']:,} of {entry['requests']:,} requests answered, "
                f"{entry['missing']:,} missing" if "requests" in entry else "how many "
                "requests it lacks is unknown")
        line.append(visible_controls(
            f": {entry['input']} is from a query run that did not finish ({held}; "
            f"{entry['reason']}): the numbers above are over the answers it holds only; "
            + ("the gates were judged on them (--allow-unfinished-query)" if allowed
               else "no gate is decided on them")))
        lines.append(line)
    return lines


def output_files(result: AuditResult, out_dir: str | Path | None = None) -> list[Path]:
    """The files this audit wrote (those that exist)."""
    folder = Path(out_dir) if out_dir is not None else result.items_path.parent
    found = [folder / name for name in OUTPUT_FILES if (folder / name).is_file()]
    if not found and result.items_path.is_file():
        found = [result.items_path]
    return found


def _size(path: Path) -> str:
    size = float(path.stat().st_size)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return ""


def render_summary(result: AuditResult, console: Console, *,
                   out_dir: str | Path | None = None,
                   max_groups: int = MAX_GROUP_ROWS, max_problems: int = MAX_PROBLEMS) -> None:
    """Print the summary of ``result`` on ``console``.

    Args:
        result: The audit.
        console: Where to print.
        out_dir: The output folder (default: the folder holding ``items.jsonl``).
        max_groups: Group rows shown at most.
        max_problems: Bad records shown at most.
    """
    sheet = result.runsheet or {}
    wall = sheet.get("wall_time_s")
    head = Text()
    bad = bad_record_count(result.errors)
    skipped = getattr(result, "n_skipped", 0)
    # items.jsonl has a line for each bad record and each one no metric applies to as well
    audited = max(len(result.items) - bad - skipped, 0)
    head.append(f"{audited:,}", style="bold")
    head.append(f" item{'' if audited == 1 else 's'} audited")
    if result.errors:
        head.append(" · ")
        head.append(_bad_records(bad), style="bold yellow")
    if skipped:
        head.append(" · ")
        head.append(f"{skipped:,} not scored (no selected metric applies)", style="yellow")
    for n, what, how in finish_facts(result):
        head.append(" · ")
        head.append(f"{n:,} {what} ({how})", style="yellow")
    if getattr(result, "unfinished_inputs", None):
        head.append(" · ")
        head.append("partial: from an unfinished query run", style="bold red")
    stopped = getattr(result, "stopped_reading", None)
    if stopped:     # (each said in full below the summary, on stderr)
        head.append(" · ")
        head.append(f"READ IN PART: a syntax error stopped the reading of "
                    f"{len({e.get('file') for e in stopped}):,} input(s)", style="bold red")
    if _finite(wall):
        head.append(f" · {wall:.2f} s")
    variants = variants_said(sheet.get("metrics"))
    if variants:
        head.append(f" · {visible_controls(variants)}", style="dim")
    console.print(head)

    if result.metrics:
        console.print(metrics_table(result, width=console.width))
    else:
        console.print(Text("No metrics ran.", style="dim"))
    for line in judge_lines(result) + resumed_lines(result):
        console.print(line)

    files = output_files(result, out_dir)
    table, more = groups_table(result, max_groups, width=console.width)
    if table is not None:
        console.print(table)
        if more:     # the report is named only where this audit wrote one (not --no-report)
            where = " or ".join(n for n in ("report.html", "results.json")
                                if any(f.name == n for f in files)) or "results.json"
            console.print(Text(f"... and {more:,} more groups (see {where})", style="dim"))

    problems = problems_table(result, max_problems, width=console.width)
    if problems is not None:
        console.print(problems)
        kinds = len(collapse_errors(result.errors))
        if kinds > max_problems:
            console.print(Text(f"... and {kinds - max_problems:,} more kinds of problem "
                               f"(every one is in results.json)", style="dim"))
    for line in unscored_lines(result) + unfinished_lines(result):
        console.print(line)

    if files:
        console.print(Text("Output", style="bold"))
        for path in files:
            line = Text("  ")
            line.append(visible_controls(str(path)), style="green")
            line.append(f"  ({_size(path)})", style="dim")
            console.print(line)


def judge_lines(result: Any) -> list[Text]:
    """One short line per judge the audit asked: ``name@version``, the pinned model (and
    revision, shortened) and whether the server's answers bore the pin out; metrics asking one
    judge share its line (their names are added when the audit asked several judges)."""
    judges: dict[tuple, tuple[Mapping[str, Any], list[str]]] = {}
    for name, summary in (getattr(result, "metrics", None) or {}).items():
        judge = (getattr(summary, "info", None) or {}).get("judge")
        if isinstance(judge, Mapping) and judge.get("name"):
            key = (judge.get("name"), judge.get("version"), judge.get("pin"))
            judges.setdefault(key, (judge, []))[1].append(name)
    lines = []
    for judge, names in judges.values():
        rev = judge.get("revision")
        line = Text("judge ", style="dim")
        line.append(visible_controls(f"{judge['name']}@{judge.get('version', 1)}"), style="bold")
        line.append(visible_controls(f" · {judge.get('model')}" + (f"@{str(rev)[:12]}" if rev
                                                                  else "")))
        status, style = _pin_status(judge)
        line.append(" · ")
        line.append(status, style=style)
        if len(judges) > 1:
            line.append(visible_controls(f" ({', '.join(names)})"), style="dim")
        lines.append(line)
    return lines


def resumed_lines(result: Any) -> list[Text]:
    """A line for an audit that resumed an interrupted one (the run sheet's
    ``execution.resumed``): the lines taken from the journal, those scored after the resume,
    and the judge calls of each part with their cache hits, so that the lines whose questions
    the stopped run had asked are not taken for a cache this run found."""
    note = ((getattr(result, "runsheet", None) or {}).get("execution") or {}).get("resumed")
    if not isinstance(note, Mapping) or not isinstance(note.get("lines_from_the_journal"), int):
        return []
    text = f"resumed: {note['lines_from_the_journal']:,} lines taken from the journal"
    if isinstance(note.get("chunks_from_the_journal"), int):
        text += f" ({note['chunks_from_the_journal']:,} chunks scored as columns)"
    if isinstance(note.get("lines_scored_after_the_resume"), int):
        text += f", {note['lines_scored_after_the_resume']:,} scored after the resume"
    parts = note.get("judge_calls")
    if isinstance(parts, Mapping):
        for part, said in (("from_the_journal", "from the journal"),
                           ("after_the_resume", "after the resume")):
            uses = [u for by_use in (parts.get(part) or {}).values() if isinstance(by_use, Mapping)
                    for u in by_use.values() if isinstance(u, Mapping)]
            calls = sum(u.get("calls") or 0 for u in uses)
            cached = sum(u.get("cached") or 0 for u in uses)
            text += f"; judge calls {said}: {calls:,} ({cached:,} from the response cache)"
    return [Text(visible_controls(text), style="dim")]


def _pin_status(judge: Mapping[str, Any]) -> tuple[str, str]:
    """Whether the model names the judge's server reported bear out its pin."""
    uses = ((judge.get("stats") or {}).get("uses") or {}).values()
    unnamed = sum((u.get("model_not_reported") or 0) for u in uses if isinstance(u, Mapping))
    reported = judge.get("reported_models") or {}
    if judge.get("pin_mismatch"):   # the warning above names the models served
        return "pin MISMATCH", "bold red"
    if unnamed:
        return f"pin unverified ({unnamed:,} answer{'s' if unnamed > 1 else ''})", "yellow"
    if reported:
        return "pin verified", "green"
    return "pin unverified (no model named)", "yellow"


def finish_facts(result: Any) -> list[tuple[int, str, str]]:
    """The answers cut short, withheld or of an unknown finish reason that ``result`` read
    (:func:`halluscope.finish_reasons.finish_facts`), for the console and the report."""
    from halluscope.finish_reasons import finish_counts
    from halluscope.finish_reasons import finish_facts as facts
    counts = finish_counts(getattr(result, "runsheet", None))
    if not counts:
        return []
    from halluscope.adapters.offline import as_flag
    options = getattr(getattr(result, "config", None), "options", None) or {}
    return facts(counts, bool(as_flag(options.get("complete_only"))))


def variants_said(info: Any) -> str:
    """Which variant or parser each metric of a run sheet's ``metrics`` ran, and where its
    numbers depart from that variant's (``amber variant original (spaCy's tagger)``)."""
    if not isinstance(info, Mapping):
        return ""
    parts = []
    for name, details in info.items():
        if not isinstance(details, Mapping):
            continue
        own = [f"{name} {key} {details[key]}" for key in ("variant", "parser")
               if isinstance(details.get(key), (str, int, float))]
        truth = details.get("ground_truth")
        built = truth.get("built_by_variant") if isinstance(truth, Mapping) else None
        if isinstance(built, str) and isinstance(details.get("variant"), str) \
                and built != details["variant"]:
            # a ground-truth file whose captions the other variant's parser read: its numbers
            # are neither variant's own, said beside the variant (own[0])
            own[0] += f" (ground truth built by the {built} variant)"
        departs = details.get("departs_from_variant")
        if isinstance(details.get("variant"), str) and isinstance(departs, list) and departs:
            own[0] += f" ({'; '.join(map(str, departs))})"     # not quite the variant it names
        parts.extend(own)
    return ", ".join(parts)


__all__ = ["render_summary", "judge_lines", "variants_said", "resumed_lines", "metrics_table", "groups_table", "problems_table", "output_files"]
