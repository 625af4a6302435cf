"""Reading a finished audit's output folder for :func:`halluscope.comparison.compare`, and
pairing the items of two runs.

An item is known by its key (:func:`pair_key`: image, document and id), by the input file it
came from and by its occurrence among that file's items with that key. Keys that repeat within a
file (several captions of one image) pair by occurrence, or model by model where either run
holds several models' answers to the key (:func:`align`: a model's answers the other run does
not hold are said, never paired with another model's); a key a run holds in only one file
pairs whatever the files are called (``greedy.jsonl`` against ``ours.jsonl``), and so does a
key whose answers the model alone tells apart (several models' answers, each model's in one
file in both runs: ``llava.jsonl`` and ``qwen.jsonl`` against ``llava-v2.jsonl`` and
``qwen-v2.jsonl``), model by model; another key that one run holds in several input files (ids
that repeat across files, one model's or unnamed answers in two files) pairs by the file's name
(its basename, or as many of its last folders as tell the run's files apart), so runs that read
the same files in another order, or copies of them at another path, pair each item with its
own. Where files of such a key are named otherwise in the two runs, which answers which is
ambiguous: those items are left unpaired, and :func:`align` says so.

A file's sha256 would not do: the two runs' inputs are two models' answers, never the same
bytes. Its position among the inputs would not either: that is the order it was given in.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from halluscope import _json as fast_json
from halluscope.compare_lines import Shared, projected
from halluscope.compare_inputs import checked_scores, metric_references, unscored_reasons
from halluscope.errors import ConfigError

#: An item as a run holds it: (pair key, its input file's label, occurrence in that file).
Key = tuple[str, "str | None", int]
#: What a run holds of an item for a metric: (row, bootstrap unit, the items.jsonl line as
#: :func:`projected` keeps it).
Scored = tuple[tuple[float, ...], "str | None", dict[str, Any]]


@dataclass(frozen=True)
class RunItems:
    """The scored items of one audit run, per metric: :data:`Key` -> (row, unit, item)."""

    path: Path
    metrics: dict[str, dict[Key, Scored]]
    setup: dict[str, dict[str, Any]] = field(default_factory=dict)   # metric -> how it scored
    info: dict[str, dict[str, Any]] = field(default_factory=dict)    # metric -> its run info
    unscored: dict[str, str] = field(default_factory=dict)  # metric -> why it scored nothing
    references: tuple[str, ...] = ()   # module:Class, file.py:Class metrics its run sheet names
    bootstrap: dict[str, dict[str, Any]] = field(default_factory=dict)  # metric -> its settings
    summaries: dict[str, dict[str, Any]] = field(default_factory=dict)  # metric -> results.json's
    finish: dict[str, Any] = field(default_factory=dict)  # its answers not known whole (finish_of)
    #: results.json's ``unfinished_inputs``: inputs from a query run that did not finish
    unfinished: tuple[Any, ...] = ()


def pair_key(item: Mapping[str, Any]) -> str:
    """The key items are paired by across runs: image (id or path), document and item id.

    An id that only names the item's COCO image (a line without ``id`` takes its image id as
    written: ``226988`` or ``"COCO_val2014_000000226988.jpg"``) is that image's number, so the
    two documented forms of one image pair; a document answer's key holds its document, as a
    caption's holds its image (answers about two PDFs with one id are not one item)."""
    question = _benchmark_question(item)
    if question is not None:
        return question
    image = item.get("image_id", item.get("image", ""))
    ident = item.get("id")
    if isinstance(item.get("image_id"), int) and ident is not None:
        from halluscope.records import coco_image_id
        if coco_image_id(ident) == item["image_id"]:
            ident = str(item["image_id"])
    document = item.get("document")
    return f"{image}|{ident}" if document is None else f"{image}|{document}|{ident}"


def _benchmark_question(item: Mapping[str, Any]) -> str | None:
    """``<metric>:<question>`` where the metric that scored ``item`` names the benchmark
    question it paired the answer with (the class's ``pair_field`` in its payload: MMHal-Bench's
    template row, Object HalBench's question file row): one question's answers carry other
    ids and images in the benchmark's answer layouts (LLaVA-RLHF's template rows have no id,
    RLAIF-V's lines a question_id and maybe no image), so two runs' items did not pair."""
    from halluscope.metrics.base import declared
    for name in item.get("scores") or ():
        field_name = getattr(declared(name), "pair_field", None)
        payload = item.get(name)
        if field_name and isinstance(payload, Mapping) and \
                isinstance(payload.get(field_name), int):
            return f"{name}:{payload[field_name]}"
    return None


_SOURCE = re.compile(r"(.*):(\d+)(?:: field .*)?", re.S)


def source_file(item: Mapping[str, Any]) -> str | None:
    """The input file an items.jsonl line came from (its ``source``, ``file:line``, or a bad
    line's ``file:line: field 'x'``); ``None`` for records given in memory."""
    source = str(item.get("source") or "")
    head, colon, line = source.rpartition(":")
    if colon and line.isascii() and line.isdigit():     # file:line, as the regex reads it
        return head if head != "<input>" else None
    match = _SOURCE.fullmatch(source)
    return match[1] if match and match[1] != "<input>" else None


def file_labels(paths: Iterable[str | None]) -> dict[str, str]:
    """Each input file's label: its basename, or as many of its last folders as tell the run's
    files apart (``coco/out.jsonl`` beside ``gqa/out.jsonl``); the same in a run made from
    copies of the files elsewhere."""
    files = sorted({p for p in paths if p is not None})
    parts = {p: PurePosixPath(p.replace("\\", "/")).parts or (p,) for p in files}
    out = {}
    for p in files:
        for k in range(1, len(parts[p]) + 1):
            if sum(1 for q in files if parts[q][-k:] == parts[p][-k:]) == 1:
                break
        out[p] = "/".join(parts[p][-k:])
    twice = {label for label in out.values() if list(out.values()).count(label) > 1}
    return {p: p if label in twice else label for p, label in out.items()}


def _item(raw: bytes, where: Path, lineno: int) -> tuple[Any, bool]:
    """A line of items.jsonl, and whether it was blank."""
    parsed, item = fast_json.try_loads_utf8(raw)
    if parsed:
        return item, False
    try:        # a byte that is not UTF-8 is the line's fault, not an internal error
        line = raw.decode("utf-8")
        return (fast_json.loads(line) if line.strip() else None), not line.strip()
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{where}:{lineno}: expected UTF-8 text, got byte "
                          f"{raw[exc.start]:#04x} at column {exc.start + 1}") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{where}:{lineno}: invalid JSON ({exc.msg})") from None


def _read_items(items_path: Path) -> dict[str, dict[Key, Scored]]:
    """Per metric, every scored line by :data:`Key`. Every line counts, scored or not; a line
    that was no record (a bad line: its image is unknown) counts as an occurrence of every
    key with its id in its file, so that a failed answer does not shift the pairs after it.
    Each line is kept as :func:`projected` keeps it, not whole."""
    metrics: dict[str, dict[Key, Scored]] = {}
    seen: dict[tuple[str | None, str], int] = {}        # lines so far per file and key
    blind: dict[tuple[str | None, Any], int] = {}      # unreadable lines so far per file and id
    widths: dict[str, tuple[int, str]] = {}     # metric -> its row width, where first seen
    shared = Shared()
    # 100,000 small dicts kept: no collector rescans of them while they are built
    with open(items_path, "rb") as fh, fast_json.gc_paused(long_lived=True):
        for lineno, raw in enumerate(fh, 1):
            item, blank = _item(raw, items_path, lineno)
            if blank:
                continue
            scores = checked_scores(item, f"{items_path}:{lineno}", widths)
            source = source_file(item)
            if "task" not in item:      # a line that was no record: its image is unknown,
                # so it is an occurrence of every key with its id (one model's failed answer
                # must not move the next model's answer to the same question into its place)
                where = (source, item.get("id"))
                blind[where] = blind.get(where, 0) + 1
                continue
            key = pair_key(item)
            seen[(source, key)] = seen.get((source, key), 0) + 1
            occurrence = seen[(source, key)] + blind.get((source, item.get("id")), 0)
            line = projected(item, scores, shared) if scores else None
            for name, (row, unit) in scores.items():
                metrics.setdefault(name, {})[(key, shared.text(source), occurrence)] = (
                    shared.row(row), shared.text(unit), line)
    labels = file_labels({source for m in metrics.values() for _, source, _ in m})
    return {name: {(key, labels.get(source) if source else None, occ): v
                   for (key, source, occ), v in m.items()} for name, m in metrics.items()}


def load_run(path: str | Path) -> RunItems:
    """Read ``items.jsonl`` of a finished audit's output folder (an interrupted run, or a file
    that does not match its results.json, is refused: :func:`~halluscope.result.check_outputs`),
    its items keyed as the module docstring says."""
    from halluscope.result import check_outputs
    path = Path(path)
    items_path = path / "items.jsonl"
    if not items_path.is_file():
        raise ConfigError(f"expected an audit output folder holding items.jsonl, got {path}")
    results = check_outputs(path)
    metrics = _read_items(items_path)
    unscored = unscored_reasons(results, path / "results.json")
    if not metrics:
        if unscored:
            raise ConfigError(f"{path}: nothing to compare: no item was scored in that run: "
                              f"{', '.join(unscored.values())}; see its results.json "
                              f"'unscored'")
        raise ConfigError(f"{items_path} holds no per-item scores, and its results.json names "
                          f"no metric that scored nothing: it was written by a halluscope older "
                          f"than compare; re-run the audit")
    summaries = results["metrics"]
    missing = sorted(set(metrics) - set(summaries))
    if missing:
        raise ConfigError(f"{path}: items.jsonl scores {', '.join(missing)}, which results.json "
                          f"does not hold: the folder is damaged; audit again")
    for name in metrics:    # a damaged entry would read as "other companion files" below
        summary = summaries[name]
        field, got = ((f"metrics.{name}", summary) if not isinstance(summary, dict)
                      else (f"metrics.{name}.info", summary.get("info")))
        if not isinstance(got, dict) and not (field.endswith(".info") and got is None):
            raise ConfigError(f"{path / 'results.json'}: field {field!r}: expected an object, "
                              f"got {type(got).__name__}: the file is damaged or not "
                              f"halluscope's; audit again")
    info = {name: (summary.get("info") or {}) if isinstance(summary, dict) else {}
            for name, summary in summaries.items()}
    setup = {name: _setup(i) for name, i in info.items()}
    return RunItems(path, metrics, setup, info, unscored, metric_references(path),
                    bootstrap_settings(path, info),
                    {n: s for n, s in summaries.items() if isinstance(s, dict)},
                    finish_of(path, results), unfinished_of(path, results))


def unfinished_of(path: Path, results: Mapping[str, Any]) -> tuple[Any, ...]:
    """The inputs of the run at ``path`` that a ``halluscope query`` run did not finish (its
    results.json's ``unfinished_inputs``, beside ``"partial": true``): its numbers are over
    part of the requests. A ``partial`` marker without them is refused, naming the field."""
    entries = results.get("unfinished_inputs")
    if results.get("partial") is None and entries is None:
        return ()
    if results.get("partial") is not True or not isinstance(entries, list) or not entries:
        raise ConfigError(f"{path / 'results.json'}: fields 'partial' and 'unfinished_inputs': "
                          f"expected true and a list of the unfinished inputs, got "
                          f"{results.get('partial')!r} and {entries!r}: the file is damaged; "
                          f"audit again")
    return tuple(entries)


def partial_of(a: RunItems, b: RunItems) -> dict[str, list[Any]]:
    """A comparison's ``partial``: side (``a``, ``b``) -> its run's unfinished inputs, for
    each side whose numbers are over part of a query run's requests (empty: neither)."""
    return {side: list(run.unfinished) for side, run in (("a", a), ("b", b))
            if run.unfinished}


#: A metric's settings that change what its numbers mean, or which verdicts it gives (its
#: info's top-level values, as the run sheet records them; a metric records those it has).
_SETTINGS = ("variant", "parser", "unknowns", "align", "vocabulary", "template",
             "iou_threshold", "box_format", "detector", "splitter", "providers", "analytic",
             "ocr", "dpi", "max_range", "empty", "unverifiable", "extractor", "synonyms",
             "similarity", "judge")
#: Within a setting, what says where or how much rather than how (paths, cache folders,
#: counts over the run's own data, a judge's call statistics); files count by their sha256.
_NOT_SETTINGS = frozenset({"file", "path", "spec_file", "cache", "images", "sha256", "stats",
                           "reported_models", "pin_mismatch", "adapter", "strict_pin",
                           "offline"})


def _setting(value: Any) -> Any:
    """``value`` without what says where or how much (:data:`_NOT_SETTINGS`)."""
    if isinstance(value, Mapping):
        return {k: _setting(v) for k, v in value.items() if k not in _NOT_SETTINGS}
    if isinstance(value, list):
        return [_setting(v) for v in value]
    return value


def _setup(info: Mapping[str, Any]) -> dict[str, Any]:
    """How a metric scored, from its ``info``: the settings above, and the sha256 of every
    companion file it read (questions, ground truth, annotations, vocabulary)."""
    files: list[str] = []

    def walk(value: Any, where: str) -> None:
        if isinstance(value, Mapping):
            if isinstance(value.get("sha256"), str):
                files.append(f"{where}:{value['sha256']}")
            for k, v in value.items():
                if k != "bootstrap":
                    walk(v, f"{where}.{k}" if where else str(k))
        elif isinstance(value, list):
            for v in value:
                walk(v, where)
        elif where.endswith("sha256") and isinstance(value, str):
            files.append(f"{where}:{value}")
    walk(info, "")
    return {"settings": {k: _setting(info[k]) for k in _SETTINGS if k in info},
            "files": sorted(set(files))}


def same_setup(name: str, a: RunItems, b: RunItems) -> list[str]:
    """Why ``name`` in ``a`` and ``b`` is not the same measure: companion files that differ
    raise (the items paired by id would not be the same questions or truths); settings that
    differ (a variant, a parser) are returned, to be said beside the numbers."""
    sa, sb = a.setup.get(name), b.setup.get(name)
    if not sa or not sb:
        return []
    if sa["files"] != sb["files"]:
        raise ConfigError(f"{a.path} and {b.path}: metric {name} read different companion files "
                          f"(questions, ground truth or annotations: sha256 differ"
                          f"{_files_differ(name, a, b)}), so items paired by id are not the "
                          f"same questions; audit both against the same files to compare them")
    return [f"{k}: {sa['settings'].get(k)!r} in A, {sb['settings'].get(k)!r} in B"
            for k in sorted(set(sa["settings"]) | set(sb["settings"]))
            if sa["settings"].get(k) != sb["settings"].get(k)]


def _files_differ(name: str, a: RunItems, b: RunItems) -> str:
    """Which of ``name``'s companion files differ (each run's path and sha256 prefix), and
    the variant that built each run's ground truth where they differ (``chair gt --variant``:
    a file built by another variant holds other objects)."""
    def files(run: RunItems) -> dict[str, str]:
        out: dict[str, str] = {}

        def walk(value: Any) -> None:
            if isinstance(value, Mapping):
                if isinstance(value.get("sha256"), str):
                    where = value.get("path") or value.get("file") or "?"
                    out[value["sha256"]] = f"{where} ({value['sha256'][:12]})"
                for v in value.values():
                    walk(v)
            elif isinstance(value, list):
                for v in value:
                    walk(v)
        walk(run.info.get(name) or {})
        return out
    fa, fb = files(a), files(b)
    said = [f"{run}: {', '.join(f[k] for k in sorted(f.keys() - g.keys()))}"
            for run, f, g in (("A", fa, fb), ("B", fb, fa)) if f.keys() - g.keys()]
    built = [((run.info.get(name) or {}).get("ground_truth") or {}).get("built_by_variant")
             if isinstance((run.info.get(name) or {}).get("ground_truth"), Mapping) else None
             for run in (a, b)]
    if built[0] != built[1]:
        said.append(f"the ground truth was built by the {built[0]!r} variant in A, "
                    f"{built[1]!r} in B")
    return "; " + "; ".join(said) if said else ""


# --- pairing two runs -------------------------------------------------------------------------

def _files_by_key(items: Mapping[Key, Any]) -> dict[str, set[str | None]]:
    out: dict[str, set[str | None]] = {}
    for key, label, _ in items:
        out.setdefault(key, set()).add(label)
    return out


def align(a: Mapping[Key, Scored], b: Mapping[Key, Scored]
          ) -> tuple[dict[str, Scored], dict[str, Scored], str | None]:
    """One metric's items of runs A and B keyed so that equal keys are one item: ``key``,
    ``key#2`` (its second occurrence) where each run holds the key in one input file, and
    ``key@file`` where either holds it in several (ids that repeat across files); ``key~model``
    (``key~model#2``: that model's second answer) where either run holds several models'
    answers to it, so that each model's answer pairs with that model's alone, never by line
    order; there ``@file`` only for a model that answers the key in several files of a run
    (the model alone tells its answers apart otherwise: files named otherwise pair). The third
    value says, when some are, which items cannot be paired: those of a repeated key whose
    files are named otherwise in the two runs (their counterparts are ambiguous), and answers
    of a model the other run does not hold, or naming no model, to a key answered model by
    model (:func:`_whose_note`)."""
    files_a, files_b = _files_by_key(a), _files_by_key(b)
    models_a, models_b = _models_by_key(a), _models_by_key(b)
    by_model = {k for k in (models_a.keys() | models_b.keys()) if k in files_a and k in files_b
                and (_several(models_a.get(k)) or _several(models_b.get(k)))}
    # a model whose answers to such a key a run holds in several files (greedy.jsonl and
    # sampled.jsonl): the model does not tell them apart, their files do. Every other model's
    # answers pair whatever their files are called (llava.jsonl and qwen.jsonl against
    # llava-v2.jsonl and qwen-v2.jsonl were left unpaired, said ambiguous)
    filed = {(k, m) for k in by_model for run in (models_a, models_b)
             for m, files in run.get(k, {}).items() if len(files) > 1}

    def named(items, own, other, side):
        out, whose, within, at = {}, {}, {}, {}
        for (key, label, occ), value in items.items():
            model = _answerer(value[2]) if key in by_model else None  # None: never pairs
            name = key
            if (len(own[key]) > 1 or len(other.get(key, ())) > 1) and \
                    (key not in by_model or (key, model) in filed):
                name = f"{key}@{label}"
                at.setdefault(key, set()).add(label)
            if key not in by_model:
                out[name if occ == 1 else f"{name}#{occ}"] = value
                continue
            n = within[(name, model)] = within.get((name, model), 0) + 1
            held = whose.setdefault(key, {})
            held[model] = held.get(model, 0) + 1
            out[f"{name}~{model}" + (f"#{n}" if n > 1 else "") if model is not None
                else f"{name}~(no model: {side} line {n})"] = value
        return out, whose, at

    (named_a, whose_a, at_a), (named_b, whose_b, at_b) = (named(a, files_a, files_b, "A"),
                                                          named(b, files_b, files_a, "B"))
    # the files items are paired by (@file) are named otherwise in the two runs
    unclear = [key for key in at_a.keys() & at_b.keys()
               if at_a[key] - at_b[key] and at_b[key] - at_a[key]]
    notes = []
    if unclear:
        left_a = sorted(str(f) for k in unclear for f in at_a[k] - at_b[k])
        left_b = sorted(str(f) for k in unclear for f in at_b[k] - at_a[k])
        notes.append(f"{len(unclear)} item key(s) that repeat across input files (such as "
                     f"{sorted(unclear)[0]!r}) are in files named otherwise in the two runs "
                     f"(A: {', '.join(dict.fromkeys(left_a))}; B: "
                     f"{', '.join(dict.fromkeys(left_b))}), so which answers which is "
                     f"ambiguous: those items are not paired (counted in only A / only B); "
                     f"give the input files the same names in both runs to pair them")
    whose = _whose_note(whose_a, whose_b)
    if whose:
        notes.append(whose)
    return named_a, named_b, "; ".join(notes) or None


def _answerer(item: Mapping[str, Any]) -> str | None:
    """Whose answer an items.jsonl line is: its ``model:`` group (``--by model``, the
    default), or ``None`` where it has none."""
    for entry in (item.get("scores") or {}).values():
        for group in (entry.get("groups") or ()) if isinstance(entry, Mapping) else ():
            if isinstance(group, str) and group.startswith("model:"):
                return group[len("model:"):]
    return None


def _models_by_key(items: Mapping[Key, Scored]) -> dict[str, dict[str | None, set[str | None]]]:
    """Key -> whose answers to it a run holds (``None`` for a line naming no model), each with
    the input files (labels) holding them, for each key the run holds more than once (the rest
    are one answer: no model is asked of them).
    A key answered by several models pairs model by model (:func:`align`); by occurrence, a
    run listing the models in another order paired llava's answer with qwen's, and one
    holding other models paired qwen's with gpt's."""
    counts: dict[str, int] = {}
    for key, _, _ in items:
        counts[key] = counts.get(key, 0) + 1
    models: dict[str, dict[str | None, set[str | None]]] = {}
    for (key, label, _), value in items.items():    # whose answers, where it can matter
        if counts[key] > 1:
            models.setdefault(key, {}).setdefault(_answerer(value[2]), set()).add(label)
    return models


def _several(models: Mapping[str | None, Any] | None) -> bool:
    """Whether a key's answers (:func:`_models_by_key`) are several models'."""
    return bool(models) and len(models.keys() - {None}) > 1


def _whose_note(whose_a: Mapping[str, Mapping[str | None, int]],
                whose_b: Mapping[str, Mapping[str | None, int]]) -> str | None:
    """What :func:`align` says where keys answered model by model hold answers that pair with
    none: a model's answers the other run does not hold (another model, or the same model
    named otherwise) and lines that name no model (audited with ``--by`` leaving out model);
    ``None`` where every answer to such a key pairs with that model's in the other run."""
    alone: list[dict[str, int]] = [{}, {}]
    nameless, keys = [0, 0], set()
    for i, (own, other) in enumerate(((whose_a, whose_b), (whose_b, whose_a))):
        for key, held in own.items():
            for model, n in held.items():
                if model is None:
                    nameless[i] += n
                elif model not in other.get(key, {}):
                    alone[i][model] = alone[i].get(model, 0) + n
                else:
                    continue
                keys.add(key)
    if not keys:
        return None

    def models(counts: dict[str, int]) -> str:
        return ", ".join(f"{m} ({n})" for m, n in sorted(counts.items())) or "none"

    said = [f"{len(whose_a.keys() | whose_b.keys())} item key(s) are answered by several "
            f"models in a run, so their answers pair model by model (each model's with that "
            f"model's own, never by line order), and {len(keys)} of them (such as "
            f"{sorted(keys)[0]!r}) hold answers that pair with none (counted in only A / only "
            f"B)"]
    if alone[0] or alone[1]:
        said.append(f"answers of model(s) only A holds: {models(alone[0])}; only B holds: "
                    f"{models(alone[1])}")
    said += [f"{n} line(s) of {run} name no model (no model: group: audited with --by "
             f"leaving out model?)" for run, n in zip("AB", nameless) if n]
    return (": ".join(said[:2]) + "".join(f"; {x}" for x in said[2:]) + ". A model named "
            "otherwise in the two runs is not paired: audit both with the same model names "
            "(and --by model) to compare its answers")


def joined_units(keys: Sequence[str], a: Mapping[str, Scored], b: Mapping[str, Scored]
                 ) -> list[str]:
    """The paired bootstrap's resampling unit of each paired item: A's unit, joined with
    every other A unit that B's unit of one of their items puts with it (B clustered coarser,
    another ``--cluster-by``), so that no unit either run kept together is split. Where B's
    units are A's or finer (the same settings), these are A's units, names and all: the
    replicate weights are drawn from the names."""
    first = [a[k][1] or b[k][1] or f"item:{k}" for k in keys]
    parent: dict[str, str] = {}

    def root(u: str) -> str:
        while parent.get(u, u) != u:
            parent[u] = parent.get(parent[u], parent[u])
            u = parent[u]
        return u

    for k, unit in zip(keys, first):
        if b[k][1] is not None:
            ra, rb = root(unit), root("\0B" + b[k][1])
            if ra != rb:
                parent[rb] = ra
    members: dict[str, set[str]] = {}
    for unit in first:
        members.setdefault(root(unit), set()).add(unit)
    name = {r: "+".join(sorted(m)) for r, m in members.items()}
    return [name[root(unit)] for unit in first]


def bootstrap_settings(path: Path, info: Mapping[str, Mapping[str, Any]]
                       ) -> dict[str, dict[str, Any]]:
    """Metric -> the bootstrap its run used: ``cluster_by`` and replicates (its info), seed
    and confidence (the run sheet's config; none where the sheet is missing or damaged)."""
    config = _config(path)
    out = {}
    for name, i in info.items():
        boot = i.get("bootstrap") if isinstance(i, Mapping) else None
        boot = boot if isinstance(boot, Mapping) else {}
        out[name] = {k: v for k, v in (("cluster_by", boot.get("cluster_by")),
                                       ("n_boot", boot.get("n_boot", config.get("n_boot"))),
                                       ("seed", config.get("seed")),
                                       ("confidence", config.get("confidence")))
                     if v is not None}
    return out


def _config(path: Path) -> dict[str, Any]:
    """The run sheet's config (``{}`` where the sheet is missing or damaged)."""
    from halluscope.result import RUNSHEET
    try:
        config = json.loads((path / RUNSHEET).read_text(encoding="utf-8"))["config"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    return config if isinstance(config, dict) else {}


def finish_of(path: Path, results: Mapping[str, Any]) -> dict[str, Any]:
    """The answers of a run not known to be whole, from its results.json: ``truncated`` (cut
    at the token limit), ``filtered`` (withheld: bad records), ``unrecognised`` (a finish
    reason not known), and ``complete_only`` (whether the cut and unknown ones were left out
    as bad records rather than scored as written)."""
    from halluscope.adapters.offline import as_flag

    def count(x: Any) -> int:
        return x if isinstance(x, int) and not isinstance(x, bool) else 0
    unknown = results.get("unrecognised_finish")
    options = _config(path).get("options")
    options = options if isinstance(options, Mapping) else {}
    return {"truncated": count(results.get("n_truncated")),
            "filtered": count(results.get("n_filtered")),
            "unrecognised": sum(count(v) for v in unknown.values())
            if isinstance(unknown, Mapping) else 0,
            "complete_only": bool(as_flag(options.get("complete_only")))}


#: What each kind of answer not known to be whole is called (:func:`finish_of`).
_UNFINISHED = (("truncated", "cut at the token limit"),
               ("unrecognised", "of an unknown finish reason"))


def finish_note(a: RunItems, b: RunItems) -> str | None:
    """What a comparison says where the runs' answers were not all known to be whole, or
    ``--complete-only`` differs: B − A then mixes the model's change with answers cut short
    (or left out); ``None`` where neither run read such answers and the option agrees."""
    said = []
    for run, f in (("A", a.finish), ("B", b.finish)):
        kinds = [f"{f[k]} answer(s) {what}" for k, what in _UNFINISHED if f.get(k)]
        if kinds:
            how = ("left out as bad records (--complete-only)" if f.get("complete_only")
                   else "scored as written")
            said.append(f"{run} read {' and '.join(kinds)}: {how}")
        if f.get("filtered"):
            said.append(f"{run} read {f['filtered']} answer(s) withheld by a filter: bad "
                        f"records, not scored")
    only = [run for run, f in (("A", a.finish), ("B", b.finish)) if f.get("complete_only")]
    if len(only) == 1:
        said.append(f"--complete-only was given for {only[0]} only")
    if not said:
        return None
    return (f"answers not known to be whole: {'; '.join(said)}. B − A mixes the change of "
            f"model with answers cut short or left out (each entry's 'unfinished' counts them "
            f"among its paired items; those left out are in only A / only B): audit both runs "
            f"alike, with --complete-only to compare whole answers only")


def bootstrap_differs(name: str, a: RunItems, b: RunItems) -> list[str]:
    """How the two runs' bootstraps of ``name`` differ, one line per setting. compare draws
    its own replicates (its --bootstrap, --seed, --confidence), so only ``cluster_by`` bears on
    its interval, whose units then join both runs' (:func:`joined_units`)."""
    sa, sb = a.bootstrap.get(name, {}), b.bootstrap.get(name, {})
    out = []
    for k in ("cluster_by", "n_boot", "seed", "confidence"):
        if k in sa and k in sb and sa[k] != sb[k]:
            out.append(f"{k}: {sa[k]!r} in A, {sb[k]!r} in B")
    return out
