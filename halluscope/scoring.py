"""Scoring the records: each record through the metrics, one item line per input line.

:func:`score_stream` folds the outcomes an engine computed (in this process, in worker
processes or on Ray) into the metrics in input order and writes ``items.jsonl`` as it goes;
:func:`~halluscope.column_scoring.score_columns` does the same for a flat answer file scored as
columns, where the metric can (POPE). Both give the same items, tallies and metric state.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import json
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from halluscope._json import dumps_finite
from halluscope.errors import ConfigError, RecordError, failed_outcome
from halluscope.finish_reasons import unfinished_reason
from halluscope.journal import line_digest
from halluscope.metrics.base import Metric
from halluscope.redact import known_secrets, redact_mapping, redact_text, redact_url
from halluscope.records import Record
from halluscope.textfiles import path_text, text_of

log = logging.getLogger(__name__)


@dataclass
class Progress:
    """What a progress callback is told after every record."""

    done: int
    total: int | None
    errors: int


def _error_item(err: RecordError, metric: str | None = None) -> dict[str, Any]:
    detail = err.to_dict()
    if metric:
        detail["metric"] = metric
    return detail


#: Causes a metric that scored nothing names, the most common first; the rest are counted (each
#: bad record keeps its own reason in results.json 'errors'). CHAIR against a ground truth of
#: other images gave a cause per image id, and 'scored nothing' ran to 60,000 characters.
MAX_CAUSES = 5


@dataclass
class StreamTally:
    """What one pass over the records saw, for the summary and for metrics that scored nothing.

    Attributes:
        items: Input lines (good and bad).
        problems: Every bad line or unscorable record (file, line, field, message, metric).
        skipped: Records no selected metric applies to.
        scored: Metric name -> records it scored.
        empty: Metric name -> records it scored whose model answer is empty (nothing or only
            whitespace): scored by the metric's rule, and said so (:func:`empty_answers_note`).
        bad_lines: Cause -> count, for lines no metric could read at all.
        passed_by: Metric name -> cause -> count, for records a metric did not score.
        execution: How the records were scored (columns or record by record, the engine, how
            many workers and why), for the run sheet.
        items_sha256: The sha256 of every byte written to the items file, hashed as it was
            written (the columnar path, into a UTF-8 file), else ``None``.
        finish: The answers' finish reasons that are not ``complete``, counted
            (:meth:`~halluscope.finish_reasons.FinishScreen.counts`; the run sheet's counts).
        resumed: A resumed record-by-record pass's lines taken from the journal and scored
            after the resume, with the judge calls of each (:class:`ResumeCounts`), else
            ``None``.
    """

    items: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)
    skipped: int = 0
    scored: Counter = field(default_factory=Counter)
    empty: Counter = field(default_factory=Counter)
    bad_lines: Counter = field(default_factory=Counter)
    passed_by: dict[str, Counter] = field(default_factory=dict)
    execution: dict[str, Any] = field(default_factory=dict)
    items_sha256: str | None = None
    finish: dict[str, Any] = field(default_factory=dict)
    resumed: dict[str, Any] | None = None

    def unscored(self, metrics: Iterable[Metric]) -> dict[str, list[str]]:
        """For every metric that scored no record: why, per cause, counted
        (``"0 of 500 records scored"``, ``"500 bad records: expected the model's answer ..."``)."""
        out = {}
        for metric in metrics:
            if self.scored[metric.name]:
                continue
            reasons = [f"0 of {self.items:,} records scored"]
            causes = Counter(self.passed_by.get(metric.name, {}))
            for cause, n in self.bad_lines.items():
                causes[f"bad record: {cause}"] += n
            ranked = causes.most_common()
            reasons.extend(f"{n:,} {'record' if n == 1 else 'records'}: {cause}"
                           for cause, n in ranked[:MAX_CAUSES])
            if len(ranked) > MAX_CAUSES:    # a cause naming each record's id: 500 of them
                rest = sum(n for _, n in ranked[MAX_CAUSES:])
                reasons.append(f"{len(ranked) - MAX_CAUSES:,} more causes ({rest:,} "
                               f"{'record' if rest == 1 else 'records'}; each record's reason "
                               f"is in results.json 'errors')")
            if self.items == 0:
                reasons = ["the input holds no records"]
            out[metric.name] = reasons
        return out


def shown_location(value: Any) -> Any:
    """An image or document as an item line writes it: a URL without the password of its user
    info or the values of its credential-like query parameters (``token``, ``X-Amz-Signature``,
    ...: :func:`~halluscope.redact.redact_url`); anything else as it is. The record keeps the
    real URL for loading; only what is written is redacted (the columnar path writes the same,
    :func:`halluscope.column_scoring._item_pieces`)."""
    return redact_url(value) if type(value) is str else value


def shown_source(file: Any, line: Any) -> str:
    """A record's ``file:line`` as an item line writes it: a name that is not UTF-8 as
    :func:`~halluscope.textfiles.path_text` writes it, and the credentials of an input named
    with a query (``answers.jsonl?token=...``, a URL) redacted as :func:`shown_location` does:
    the item lines held the token the run sheet and the report redacted."""
    return f"{shown_location(path_text(file))}:{line}"


def is_empty_answer(response: Any) -> bool:
    """Whether a model answer is empty: an empty or whitespace-only string."""
    return isinstance(response, str) and not response.strip()


def empty_answers_note(tally: StreamTally, rules: dict[str, str] | None = None) -> list[str]:
    """One line per metric that scored empty model answers: how many, of how many, and how
    that metric reads an empty answer (``rules``: name -> :attr:`Metric.empty_answer`; logged,
    and kept in the run sheet, because an empty answer scored by a rule is a number the model
    did not give)."""
    rules = rules or {}
    return [f"{name}: {n:,} of {tally.scored[name]:,} scored records have an empty model answer "
            f"(nothing or only whitespace), scored by {name}'s rule for one: "
            f"{rules.get(name) or 'its own (see `halluscope metrics`, empty answer)'}; mark "
            f"failed generations with an 'error' field instead"
            for name, n in sorted(tally.empty.items()) if n]


def judge_causes(rel: dict[str, Any]) -> list[str]:
    """The likely causes, in a judge's counters (``judge_reliability``), of a metric that
    decided nothing: failed calls, or answers none of which its parser reads (a refusing
    judge, a spec whose parser does not fit its prompt), said where the failure is read."""
    out = []
    if rel.get("call_failures"):
        out.append(f"the judge failed {rel['call_failures']:,} of {rel.get('calls', 0):,} "
                   f"calls (each item's 'judge_error' says why)" + _refusals(rel))
    if rel.get("parse_failures"):
        out.append(f"{rel['parse_failures']:,} of the judge's answers could not be parsed "
                   f"(each item keeps the judge's raw answer)")
    return out


def judge_failures_note(infos: dict[str, dict[str, Any]],
                        shared: Iterable[Iterable[str]] = ()) -> list[str]:
    """One line per metric whose judge failed calls or answered as another model than its
    pin: the audit goes on (those answers or claims are read without the judge, or left
    unverifiable), and this says so where the user looks, not only in the run sheet.

    ``shared``: groups of metric names that asked one judge object (``claims`` and
    ``faithscore``); a warning that each of them would give word for word (the same judge's
    counters) is said once, naming them all, not once per metric."""
    group_of = {n: tuple(sorted(g)) for g in map(tuple, shared) if len(g) > 1 for n in g}
    lines, said = [], set()
    for name, info in sorted(infos.items()):
        group = tuple(n for n in group_of.get(name, (name,)) if n in infos)
        if name != group[0]:
            continue  # said with the group's first metric
        mine = _judge_lines(name, info)
        others = [_judge_lines(n, infos[n]) for n in group[1:]]
        for line in mine:
            body = line[len(name) + 2:]
            if others and all(f"{n}: {body}" in o for n, o in zip(group[1:], others)):
                lines.append(f"{' and '.join(group)} (one shared judge): {body}")
                said.update(f"{n}: {body}" for n in group[1:])
            else:
                lines.append(line)
        lines += [line for o in others for line in o if line not in said]
    return lines


def _judge_lines(name: str, info: dict[str, Any]) -> list[str]:
    """:func:`judge_failures_note`'s lines for one metric, each ``"<name>: ..."``."""
    lines: list[str] = []
    rel = info.get("judge_reliability") or {}
    failed, calls = rel.get("call_failures") or 0, rel.get("calls") or 0
    if failed:
        lines.append(f"{name}: the judge failed {failed:,} of {calls:,} calls (the reason of "
                     f"each is in items.jsonl: 'judge_error', or the left-out record's "
                     f"'error'){_refusals(rel)}; what it was asked about was left unverifiable "
                     f"or, where the metric cannot score without the judge's reading, left "
                     f"out of it")
    lines += _unparsed_note(name, info, rel)
    lines += _other_uses_failed(name, info)
    uses = (((info.get("judge") or {}).get("stats") or {}).get("uses") or {}).values()
    unnamed = sum(u.get("model_not_reported") or 0 for u in uses)
    if unnamed:
        pinned = (info.get("judge") or {}).get("pin")
        lines.append(f"{name}: the judge's server named no model for {unnamed:,} "
                     f"answer(s), so the pin {pinned!r} is not verified for them "
                     f"(judge_fatal_mismatch=true stops such a run)")
    if rel.get("no_confidence"):
        lines.append(f"{name}: the judge gave no confidence for {rel['no_confidence']:,} "
                     f"verdict(s); their confidence is left empty (None), not set to 1.0")
    judge = info.get("judge") or {}
    split = ((judge.get("stats") or {}).get("uses") or {}).get("decompose") or {}
    if split.get("unfounded_claims"):
        lines.append(f"{name}: the judge splitting the responses proposed "
                     f"{split['unfounded_claims']:,} claim(s) whose words are not in the "
                     f"response; they were not scored")
    if judge.get("pin_mismatch"):
        from halluscope.judges.spec import deployment_hint
        pinned = judge.get("expected_model") or judge.get("model")
        others = [m for m in judge.get("reported_models") or {} if m != pinned]
        hint = deployment_hint(str(judge.get("provider")), judge.get("expected_model"),
                               others[0]) if others else ""
        lines.append(f"{name}: the judge is pinned to {pinned!r} but the server answered "
                     f"as {', '.join(map(repr, others))} (judge_fatal_mismatch=true stops "
                     f"such a run){hint}")
    return lines


def _refusals(rel: dict[str, Any]) -> str:
    """``", N of them refusals (...)"`` when the judge refused some calls, else ``""``."""
    n = rel.get("refusals") or 0
    return (f", {n:,} of them refusals (the judge declined, or its provider's filter withheld "
            f"the answer: kept in the response cache, so a rerun reads the same; no verdict)"
            if n else "")


#: what is left of an answer the judge's parser could not read, per use whose parsed answer
#: is what a metric takes (a benchmark's original variant reads the raw text by its own rule)
_UNPARSED_LEFT = {"verify": "those claims were left unverifiable",
                  "classify_yes_no": "those answers stayed 'unknown'"}


def _unparsed_note(name: str, info: dict[str, Any], rel: dict[str, Any]) -> list[str]:
    """A line when judge answers could not be parsed (a refusal, a spec whose parser does not
    fit its prompt): the claims stayed unverifiable in silence, only the run sheet's
    ``parse_failures`` said why."""
    use, unparsed = rel.get("use"), rel.get("parse_failures") or 0
    if not unparsed or use not in _UNPARSED_LEFT:
        return []
    answered = (rel.get("calls") or 0) - (rel.get("call_failures") or 0)
    prompts = (info.get("judge") or {}).get("prompts") or {}
    parser = (prompts.get(use) or {}).get("parser")
    return [f"{name}: {unparsed:,} of the judge's {answered:,} answers could not be parsed "
            f"(parser {parser!r}; items.jsonl keeps each raw answer); {_UNPARSED_LEFT[use]}"]


def _other_uses_failed(name: str, info: dict[str, Any]) -> list[str]:
    """The failed calls of a metric's further judge uses (``judge_reliability_<use>``: the
    HallusionBench original's consistency prompt), which ``judge_reliability`` does not count:
    they were said nowhere but the run sheet while the audit exited 0."""
    lines = []
    for key, rel in sorted(info.items()):
        if not key.startswith("judge_reliability_") or not isinstance(rel, dict):
            continue
        failed, calls = rel.get("call_failures") or 0, rel.get("calls") or 0
        if failed:
            lines.append(f"{name}: the judge failed {failed:,} of {calls:,} "
                         f"{rel.get('use') or key} calls; what needs those answers was "
                         f"computed without them (the run sheet's '{key}' and what it feeds "
                         f"say how many: HallusionBench's info.diagnosis)")
    return lines


class ResumeCounts:
    """What a resumed record-by-record pass took from the journal and what it scored after
    the resume: its lines, and the judge calls of each part (their ``calls`` and, of them,
    ``cached``: answered from the response cache), per metric holding a judge (``names``: the
    names of the metrics whose judge counters the engine takes, by index)."""

    def __init__(self, names: list[str]):
        self.names = names
        self.lines = {True: 0, False: 0}                # replayed? -> lines
        self.judges: dict[bool, dict[int, Any]] = {True: {}, False: {}}

    def add(self, replayed: bool, judges: Any) -> None:
        """Count a line, taken from the journal (``replayed``) or scored, and its calls."""
        self.lines[replayed] += 1
        part = self.judges[replayed]
        for i, stats in judges or ():
            if hasattr(stats, "merge"):
                part.setdefault(i, type(stats)()).merge(stats)

    def _calls(self, replayed: bool) -> dict[str, Any]:
        return {self.names[i] if i < len(self.names) else str(i):
                {use: {"calls": u.calls, "cached": u.cached}
                 for use, u in sorted(stats.uses.items())}
                for i, stats in sorted(self.judges[replayed].items())}

    def note(self) -> dict[str, Any]:
        """The run sheet's ``execution.resumed``."""
        out: dict[str, Any] = {"lines_from_the_journal": self.lines[True],
                               "lines_scored_after_the_resume": self.lines[False]}
        if self.judges[True] or self.judges[False]:
            out["judge_calls"] = {"from_the_journal": self._calls(True),
                                  "after_the_resume": self._calls(False)}
        out["judge_counters"] = (
            "the calls of the lines taken from the journal as journaled with each line "
            "(judge_calls.from_the_journal), and those of the lines scored after the resume as "
            "made (judge_calls.after_the_resume): each line counted once, as in an "
            "uninterrupted run. The lines whose calls the stopped run had made but not "
            "journaled (a stop inside a batch whose judge questions were asked ahead, up to 64 "
            "lines) were asked again: where the cache folder is the same they were answered "
            "from the response cache and are counted as cached after the resume, where an "
            "uninterrupted run counted them as calls the server answered")
        return out


def _cause(err: RecordError) -> str:
    """What went wrong, as the counts of causes say it (redacted: a message may quote an image
    URL with its token, and 'scored nothing' prints the causes)."""
    cause = f"field '{err.location.field}': {err.message}" if err.location.field else err.message
    return redact_text(cause)


def _error_detail(err: RecordError, metric: str | None = None) -> dict[str, Any]:
    """An error as a problem and an item's ``error_detail`` hold it, credentials redacted
    (a URL it quotes too, as results.json and the console show it)."""
    return redact_mapping(_error_item(err, metric))


def score_stream(stream: Iterable[Record | RecordError], metrics: list[Metric], sink,
                 *, strict: bool, on_progress: Callable[[Progress], None] | None = None,
                 total: int | None = None, engine=None, journal=None,
                 tally: StreamTally | None = None) -> StreamTally:
    """Score every record into the metrics, writing one item line per input line to ``sink``;
    return what the pass saw (:class:`StreamTally`).

    ``engine`` (:mod:`halluscope.engines`) computes the outcomes of the metrics that may run
    anywhere (default: in this process); they are folded here, in input order, so the result
    does not depend on the engine. ``journal`` (:mod:`halluscope.journal`) records them as they
    are folded and replays those of a resumed run. The judge counters each record's scoring
    took are added to the judges of ``engine.covers`` with it, and journaled with it, so that
    a resumed run counts the calls of the lines it replays once and those it scores again once
    more: as many as an uninterrupted run. ``tally``: go on counting into it (the columnar
    path's lines that are not read as columns, :mod:`halluscope.column_scoring`; no journal)."""
    from halluscope.engines import LocalEngine, fold_judge_stats, runs_in_parent
    from halluscope.metrics.judge_ahead import parent_askers
    if engine is None:
        engine = LocalEngine([m for m in metrics if not runs_in_parent(m)])
    remote = engine.covers
    slot = {id(m): i for i, m in enumerate(remote)}
    if tally is None:
        tally = StreamTally()
    elif journal is not None:
        raise ValueError("a journal counts its lines from the first: no tally to go on with")
    secrets = known_secrets()      # a model's text that quotes one is redacted in the items
    files = _stamper() if journal is not None else None
    resumed = ResumeCounts([m.name for m in remote]) if journal is not None and \
        journal.lines else None
    asked = parent_askers(metrics, remote)      # updated here, asking a judge ahead too
    for rec, outcomes, judges, replayed in _outcomes(stream, engine, journal, files, asked):
        tally.items += 1
        if judges:
            fold_judge_stats(remote, judges)
        if resumed is not None:
            resumed.add(replayed, judges)
        if journal is not None and not replayed:
            journal.append(outcomes, judges, files(rec), line_digest(rec))
        if isinstance(rec, RecordError):
            if strict:
                raise rec
            detail = _error_detail(rec)
            tally.problems.append(detail)
            tally.bad_lines[_cause(rec)] += 1
            shown = replace(rec.location, file=shown_location(rec.location.file))
            item = text_of({"id": rec.record_id, "source": str(shown),     # a file name
                            "error": redact_text(rec.message), "error_detail": detail})  # too
        else:
            item = _score_record(rec, metrics, tally, strict,
                                 lambda m: outcomes[slot[id(m)]] if id(m) in slot else None)
        # compact, as the whole-file path writes its lines: items.jsonl is the same bytes
        # whichever path or engine scored the file
        line = json.dumps(item, ensure_ascii=False, separators=(",", ":"))
        if secrets and any(secret in line for secret in secrets):
            line = redact_text(line, secrets=secrets, patterns=False)   # the model's text
        sink.write(line + "\n")
        if on_progress is not None:
            on_progress(Progress(tally.items, total, len(tally.problems)))
    if resumed is not None:
        tally.resumed = resumed.note()
    return tally


def _outcomes(stream: Iterable[Any], engine, journal, files, asked: list[Metric]
              ) -> Iterator[tuple[Any, Any, Any, bool]]:
    """``(record, outcomes, judge counters, replayed)`` in input order: replayed from a
    journal (read back one entry at a time: :meth:`~halluscope.journal.Journal.replayed`),
    then from the engine.
    A journaled record whose files changed since ends the replay: it and the rest are scored.
    A line read otherwise than it was journaled (:func:`~halluscope.journal.line_digest`)
    refuses the resume. ``asked``: metrics updated here that ask a judge ahead (a caller's
    objects): their questions are asked ahead in windows of the entries, or by the local
    engine with each of its chunks (it holds each record's yield while it is folded here)."""
    from halluscope.engines import LOCAL_BATCH
    from halluscope.metrics.judge_ahead import asked_in_windows

    def windows(entries: Iterator[tuple]) -> Iterator[tuple]:
        return asked_in_windows(entries, asked, LOCAL_BATCH) if asked else entries
    rest = [iter(stream)]
    yield from windows(_replayed(rest, journal, files))
    if asked and hasattr(engine, "also_ask"):
        engine.also_ask = asked
        yield from ((rec, outcomes, judges, False) for rec, outcomes, judges in engine.run(rest[0]))
        return
    yield from windows((rec, outcomes, judges, False)
                       for rec, outcomes, judges in engine.run(rest[0]))


def _replayed(rest: list[Iterator[Any]], journal, files) -> Iterator[tuple[Any, Any, Any, bool]]:
    """The journal's entries, each with its input line, taken from ``rest[0]``; a line whose
    files changed since is put back there, and it and the rest are scored."""
    with contextlib.closing(journal.replayed() if journal is not None else _nothing()) as replay:
        for k, entry in enumerate(replay):
            rec = next(rest[0], None)
            if rec is None:
                raise ConfigError("cannot resume: the inputs have fewer lines than the journal")
            if entry.line != line_digest(rec):
                raise ConfigError(f"{journal.path}: cannot resume: {_where(rec)} is not what the "
                                  f"journal scored at that line: the inputs changed since the "
                                  f"interrupted run (their size and modification time did not); "
                                  f"run without --resume to start again")
            if entry.files != files(rec):
                log.warning("--resume: %s names a file that changed since it was scored (%s); "
                            "scoring it and the %d journaled lines after it again",
                            _where(rec), _changed(entry.files, files(rec)),
                            journal.lines - k - 1)
                journal.cut(k)
                rest[0] = itertools.chain([rec], rest[0])
                break
            yield rec, entry.outcomes, entry.judges, True


def _nothing() -> Iterator[Any]:
    """An empty generator (one that can be closed)."""
    yield from ()


def _stamper() -> Callable[[Any], tuple]:
    """The :func:`~halluscope.journal.file_stamp` of each file a record names (its image, its
    document), each file's read once per pass (records of one image come together)."""
    from halluscope.journal import file_stamp
    from halluscope.records import record_document_source

    stamp = functools.lru_cache(maxsize=4096)(file_stamp)

    def files(rec: Any) -> tuple:
        if isinstance(rec, RecordError):
            return ()
        image = rec.image_path()
        paths = [image] if image is not None else []
        try:
            doc = record_document_source(rec)
        except ConfigError:
            doc = None
        paths += [Path(d) for d in ([doc] if isinstance(doc, str) else doc or [])]
        return tuple(stamp(p) for p in paths)
    return files


def _where(rec: Any) -> str:
    """``file:line`` of a record or a bad line (a RecordError: its location), else its id."""
    src = getattr(rec, "source", None) or getattr(rec, "location", None)
    if src is not None and src.file and src.line:
        return f"{src.file}:{src.line}"
    return f"record {getattr(rec, 'id', None) or getattr(rec, 'record_id', None)!r}"


def _changed(before: tuple, now: tuple) -> str:
    return ", ".join(sorted({stamp[0] for stamp in set(before) ^ set(now)}))


def _fold_outcome(metric: Metric, rec: Record, outcome, folded: bool = False
                  ) -> tuple[str, Any]:
    """Fold an outcome computed elsewhere (unless ``folded`` already); metrics that run here
    are updated instead."""
    if outcome is None:
        if not metric.applies_to(rec):
            return ("skip", metric.skip_reason(rec))
        try:
            return ("ok", metric.update(rec))
        except Exception as exc:    # a bad record, or a metric's bug said with its record
            return failed_outcome(exc, metric.name, rec)
    kind, value = outcome
    if kind == "ok" and not folded:
        metric.fold(rec, value)
    elif kind == "error" and not folded:
        metric.fold_error(rec, value)
    return outcome


def _score_record(rec: Record, metrics: list[Metric], tally: StreamTally, strict: bool,
                  outcome_of: Callable[[Metric], Any] = lambda m: None, folded: bool = False
                  ) -> dict[str, Any]:
    item: dict[str, Any] = {"id": rec.id, "task": rec.task}
    for key in ("image", "image_id", "document"):
        if getattr(rec, key) is not None:
            item[key] = shown_location(getattr(rec, key))
    if rec.source.file:
        item["source"] = shown_source(rec.source.file, rec.source.line)
    if rec.prompt is not None:
        item["prompt"] = rec.prompt
    item["response"] = rec.response
    if (cut := unfinished_reason(rec.metadata)) is not None:
        item["finish_reason"] = cut     # cut at the token limit, or a reason not known
    applied, skips = [], {}
    for metric in metrics:
        kind, score = _fold_outcome(metric, rec, outcome_of(metric), folded)
        if kind == "skip":
            tally.passed_by.setdefault(metric.name, Counter())[score] += 1
            skips[metric.name] = score
            continue
        if kind == "error":
            exc = score
            if strict:
                raise exc
            detail = _error_detail(exc, metric.name)
            tally.problems.append(detail)
            tally.passed_by.setdefault(metric.name, Counter())[_cause(exc)] += 1
            # the message and detail name the file: written as the source is (not UTF-8?)
            item["error"] = ((item["error"] + "; " if "error" in item else "")
                             + redact_text(path_text(str(exc))))
            item.setdefault("error_detail", text_of(detail))
            continue
        applied.append(metric.name)
        tally.scored[metric.name] += 1
        if is_empty_answer(rec.response):
            tally.empty[metric.name] += 1
        if score.row:       # what compare re-aggregates: the row, its unit, its groups
            item.setdefault("scores", {})[metric.name] = {
                "row": [float(v) for v in score.row], "unit": score.unit,
                "groups": list(score.groups)}
        # a metric whose item-level key (the claims list) shares its name keeps its
        # own payload beside it, as "<name>_summary"
        key = f"{metric.name}_summary" if metric.name in score.top else metric.name
        item[key] = score.payload
        for key, value in score.top.items():
            if isinstance(value, list) and isinstance(item.get(key), list):
                item[key].extend(value)
            else:
                item[key] = value
    refused = None if applied or "error" in item else _refusal(rec, metrics)
    if refused is not None:
        name, exc = refused
        if strict:
            raise exc
        detail = _error_detail(exc, name)
        tally.problems.append(detail)
        tally.passed_by[name][skips[name]] -= 1           # refused, not passed by
        tally.passed_by[name] += Counter({_cause(exc): 1})   # (drops the count at zero)
        item["error"], item["error_detail"] = redact_text(path_text(str(exc))), text_of(detail)
    elif not applied and "error" not in item:
        tally.skipped += 1
        why = "; ".join(f"{name}: {reason}" for name, reason in skips.items())
        item["skipped"] = (f"no selected metric ({', '.join(m.name for m in metrics)}) "
                           f"applies to this {rec.task} record" + (f": {why}" if why else ""))
    return item


def _refusal(rec: Record, metrics: list[Metric]) -> tuple[str, RecordError] | None:
    """``(metric name, error)`` for a record no selected metric scored, when a metric the user
    named says it is of its kind (:meth:`~halluscope.metrics.base.Metric.refusal`)."""
    for metric in metrics:
        if metric.explicit and (err := metric.refusal(rec)) is not None:
            return metric.name, err
    return None


__all__ = ["Progress", "StreamTally", "empty_answers_note", "is_empty_answer", "score_stream",
           "shown_location"]
