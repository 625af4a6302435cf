"""Audit configuration: one pydantic model shared by the Python API, the CLI and the plugin.

A folder may hold a ``halluscope.toml`` whose ``[audit]`` table sets defaults for audits of the
files in it (paths in it are relative to the folder); explicit options win over it.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from halluscope.errors import ConfigError

MANIFEST = "halluscope.toml"


class AuditConfig(BaseModel):
    """Everything that decides what an audit computes.

    Attributes:
        metrics: Metric names to run; empty means infer them from the records.
        metrics_inferred: Whether ``metrics`` were inferred rather than asked for (set by the
            pipeline; an inferred metric passes by the records it cannot score, an explicit one
            lists those of its kind as bad records). Not part of the run sheet.
        chair_variant: ``original`` (reproduces Rohrbach et al.'s code) or ``refined``.
        gt_objects: CHAIR ground-truth objects file (image id -> object words).
        coco_annotations: COCO instance (and caption) annotation files.
        questions: POPE question file that answers are aligned with.
        pope_parser: Name of the yes/no answer parser.
        pope_align: ``auto`` (by question id where both sides have one, else by order),
            ``id`` or ``order``.
        n_boot: Bootstrap replicates for confidence intervals (0 disables them).
        confidence: Confidence level of the intervals.
        seed: Seed of the bootstrap (and anything else random).
        strict: Stop at the first bad record instead of reporting it and going on.
        annotations: Object annotation files for claim checks: halluscope's simple JSON format,
            AMBER annotations or Visual Genome-style files (COCO files go in
            ``coco_annotations``).
        detector: Detector backend for claim checks (``coco-ssd``, ``hf:<path or id>``,
            ``groundingdino:<config>,<weights>``), or ``None``.
        segmenter: Segmenter backend (``sam:<checkpoint>``, ``hf-sam:<path or id>``), or ``None``.
        judge: Judge spec name or path for claims that annotations and detectors cannot decide
            and POPE answers the parser reads as unknown (options ``judge_base_url``,
            ``judge_fatal_mismatch``, ``judge_max_connections``, ``judge_options``: see
            :mod:`halluscope.judges.loading`).
        claim_splitter: ``rules`` (spaCy, offline) or ``judge`` (LLM decomposition).
        cache_dir: Where evidence and model answers are cached (default: the user cache folder).
        workers: Processes that score records (``1``: this process; ``0``: one per core;
            ``None``: one per core where the work is heavy, see
            :func:`halluscope.engine_choice.choose_workers`). Results are identical for any number.
        engine: ``local`` (this process or ``workers`` processes) or ``ray`` (Ray Data; the
            ``halluscope[ray]`` extra).
        ray_address: Address of a Ray cluster (default: a local Ray instance).
        resume: Continue an interrupted audit in the same output folder, scoring only what is
            missing (same final results); on a finished audit of the same inputs and
            options, its results read back (nothing scored: :mod:`halluscope.finished`).
        options: Options of metrics and checks added by later components (name -> value);
            ``offline``: model and judge answers from the cache only (default
            ``$HALLUSCOPE_OFFLINE``), a miss raises :class:`~halluscope.errors.CacheMiss`;
            ``max_image_pixels``: width x height above which an image is an unreadable record
            (default ``$HALLUSCOPE_MAX_IMAGE_PIXELS`` or 89,478,485; see
            :mod:`halluscope.imageio`).
        input_format: Format of the input files (see :data:`halluscope.readers.FORMATS`);
            ``None`` detects it per file.
        cluster_by: The bootstrap's resampling unit: ``image`` (items sharing an image are
            resampled together), ``document`` (items about the same document files, whatever
            image they name), ``item`` (every item alone) or any record/metadata field.
        allow_unfinished_query: Judge the gates on an input written by a ``halluscope
            query`` run that did not finish (its run sheet beside it says so), over the
            answers it holds. Without it such a gate fails as not decided
            (:func:`halluscope.query_sheets.undecided_reason`). Recorded in the run sheet;
            it changes no number, so a resume may change it.
        by: Record or metadata fields whose values make groups (``model:demo-vlm-a``) that every
            metric reports beside its overall numbers.
        set_by: Where each setting a folder's manifest gave was set (``metrics`` ->
            ``path/halluscope.toml:3``), for messages about it (set by the pipeline; not part
            of the run sheet).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    metrics: tuple[str, ...] = ()
    metrics_inferred: bool = Field(False, exclude=True)
    chair_variant: str = "refined"
    gt_objects: Path | None = None
    coco_annotations: tuple[Path, ...] = ()
    questions: Path | None = None
    pope_parser: str = "original"
    pope_align: str = "auto"
    n_boot: int = Field(1000, ge=0)
    confidence: float = Field(0.95, gt=0, lt=1)
    seed: int = 0
    strict: bool = False
    annotations: tuple[Path, ...] = ()
    detector: str | None = None
    segmenter: str | None = None
    judge: str | None = None
    claim_splitter: str = "rules"
    cache_dir: Path | None = None
    workers: int | None = Field(None, ge=0)
    engine: str = "local"
    ray_address: str | None = None
    resume: bool = False
    options: dict[str, Any] = Field(default_factory=dict)
    input_format: str | None = None
    cluster_by: str = "image"
    by: tuple[str, ...] = ("model",)
    allow_unfinished_query: bool = False
    set_by: dict[str, str] = Field(default_factory=dict, exclude=True)

    @field_validator("metrics", "by", mode="before")
    @classmethod
    def _split_metrics(cls, v):
        if v is None:
            return ()
        if isinstance(v, str):
            v = [v]
        elif not hasattr(v, "__iter__"):      # `by = 5` in a manifest: was a TypeError
            raise ValueError(f"expected a name or a list of names, got {type(v).__name__} "
                             f"{v!r:.60}")
        out: list[str] = []
        for item in v:
            out.extend(p.strip() for p in str(item).split(",") if p.strip())
        return tuple(dict.fromkeys(out))

    @field_validator("coco_annotations", "annotations", mode="before")
    @classmethod
    def _listify(cls, v):
        if v is None:
            return ()
        if isinstance(v, (str, Path)):
            return (v,)
        return tuple(v)

    @field_validator("engine")
    @classmethod
    def _engine(cls, v):
        if v not in ("local", "ray"):
            raise ValueError(f"expected engine local or ray, got {v!r}")
        return v

    @field_validator("pope_align")
    @classmethod
    def _align(cls, v):
        if v not in ("auto", "id", "order"):
            raise ValueError(f"expected auto, id or order, got {v!r}")
        return v

    @field_validator("ray_address")
    @classmethod
    def _ray_address(cls, v):
        """A cluster address may carry credentials (``ray://user:TOKEN@host:10001``,
        ``host:10001?token=...``): they become known secrets, cut from every message, log line
        and file that quotes the address (Ray's own messages too)."""
        if v:
            from halluscope.redact import register_url
            register_url(v if "://" in v or "@" in v else f"ray://{v}")
        return v

    def __repr_args__(self):
        """``repr(result.config)`` (a notebook's output cell) without credentials: those of
        ``options`` (``judge_options={"api_key": ...}``, a ``judge_base_url`` with a password)
        and of any text setting, such as a ``ray_address`` with a token; they were shown as
        given."""
        from halluscope.redact import redact_mapping, redact_text
        for name, value in super().__repr_args__():
            yield name, (redact_mapping(value) if isinstance(value, dict)
                         else redact_text(value) if isinstance(value, str) else value)


#: ``--option`` keys read outside any one metric (metrics declare their own in
#: ``Metric.options``): name -> what it sets.
AUDIT_OPTIONS: dict[str, str] = {
    "offline": "model and judge answers from the cache only",
    "device": "device of local models (detector, segmenter, a local judge): cpu, cuda, ...",
    "image_size": "input size of the detector",
    "allow_download": "let a detector or segmenter fetch a hub id that is not cached",
    "max_image_pixels": "width x height above which an image is an unreadable record",
    "detector_present": "detector score from which an object counts as present",
    "detector_absent": "detector score below which an object counts as absent",
    "detector_counts": "a detector's count: at_least (a lower bound, the default) or exact",
    "judge_base_url": "server of the judge model",
    "judge_options": "provider options of the judge model (a JSON object)",
    "judge_max_connections": "judge calls in flight at most",
    "judge_fatal_mismatch": "stop when the judge answers as another model than pinned",
    "ray_num_gpus": "GPUs per Ray actor (--engine ray)",
    "complete_only": "leave out answers cut at the token limit or of an unknown finish reason",
}


def number_option(options: dict[str, Any] | None, key: str, default: Any, kind: type = float
                  ) -> Any:
    """``options[key]`` (an ``--option`` value, text from the command line or a number from
    Python or TOML) as a ``kind`` (``int`` or ``float``), ``default`` when it is not given; a
    :class:`ConfigError` naming the option and the type expected when it is not one (``abc``
    for ``detector_present`` stopped the audit as an internal error, exit 3)."""
    value = (options or {}).get(key)
    if value is None:
        return default
    try:
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise ValueError
        return kind(value)
    except (ValueError, OverflowError):
        what = "a whole number" if kind is int else "a number"
        raise ConfigError(f"option {key!r}: expected {what} ({kind.__name__}), got "
                          f"{value!r:.60}") from None


def read_toml_model(path: Path, model: type[BaseModel], what: str) -> BaseModel:
    """A TOML file validated as ``model``; :class:`ConfigError` naming ``path`` and, for an
    invalid one, every field that is wrong (``what``: "judge spec", "benchmark manifest")."""
    try:
        data = tomllib.loads(read_toml_text(path))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read {what}: {exc}") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{path}: invalid {what}: {validation_problems(exc)}") from None


def validation_problems(exc: ValidationError) -> str:
    """Every field a pydantic validation refused, with the reason and the value given:
    ``workers: Input should be greater than or equal to 0 (got -1)``."""
    def one(e: dict) -> str:
        where = ".".join(str(x) for x in e["loc"]) or "value"
        given = (f" (got {e['input']!r:.80})" if "input" in e and e["type"] != "missing"
                 and "got " not in e["msg"] else "")
        if e["type"] in ("int_type", "float_type") and isinstance(e.get("input"), str):
            given += ": write the number without quotes"    # TOML "0" is text, not 0
        return f"{where}: {e['msg']}{given}"
    return "; ".join(one(e) for e in exc.errors())


#: Checks one value of a ``halluscope.toml`` ``[audit]`` table that only a metric knows (a CHAIR
#: variant, a POPE parser, an ``options`` key such as ``claims_analytic``): called with the key,
#: the value and whether the key is an audit setting (else a key of its ``options``); raises
#: :class:`ConfigError` for a bad one (``expected chair_variant in (...), got 'refind'``), which
#: :func:`load_manifest` says with the file, the line and the key. The audit's is
#: :func:`halluscope.metrics.settings.declared_value_check` (metrics sit above this module).
ValueCheck = Callable[[str, Any, bool], None]


def load_manifest(folder: Path, *, check_value: ValueCheck | None = None,
                  given: Collection[str] = (), path_options: Collection[str] = ()
                  ) -> dict[str, Any]:
    """The ``[audit]`` table of ``folder/halluscope.toml`` with paths made absolute; ``{}`` if
    none. An unknown key, a value of the wrong type and a value ``check_value`` refuses are a
    :class:`ConfigError` naming the file, the line and the key; keys in ``given`` (set
    explicitly, so the file's value is not used) are not passed to ``check_value``.
    ``path_options``: the ``options`` keys that name a file besides those ending in ``_file``
    or ``_path`` (a metric's options declared as paths, such as ``amber_annotations``)."""
    path = folder / MANIFEST
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(read_toml_text(path))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from exc
    other = sorted(k for k in data if k != "audit")
    if other:        # a [gates] table was read as nothing at all, and the audit passed
        hint = _GATES_HINT if other[0].startswith("gate") else ""
        raise ConfigError(f"{path}: expected only an [audit] table, got {other[0]!r}{hint}")
    table = dict(data.get("audit", {}))
    _check_manifest_keys(path, table)
    is_path = _path_option(path_options)
    _check_manifest_paths(path, table, is_path)
    _check_manifest_flags(path, table)
    if check_value is not None:
        _check_manifest_values(path, table, check_value, set(given))
    for key in _PATH_KEYS:
        if key in table and table[key]:
            table[key] = (folder / Path(table[key]).expanduser()).resolve()
    for key in _PATHS_KEYS:
        if key in table:
            items = table[key]
            items = [items] if isinstance(items, str) else items
            table[key] = [(folder / Path(i).expanduser()).resolve() for i in items]
    opts = table.get("options")
    if isinstance(opts, dict):
        for k, v in list(opts.items()):
            if isinstance(v, str) and is_path(k):
                opts[k] = str((folder / Path(v).expanduser()).resolve())
    for key in _SPEC_KEYS:
        if isinstance(table.get(key), str):
            table[key] = _resolve_spec(folder, table[key], prefixed=key != "judge")
    try:        # the values too: a bad one named the field but not the file it came from
        AuditConfig(**{k: v for k, v in table.items() if k != "inputs"})
    except ValidationError as exc:
        line = next((n for e in exc.errors() if e["loc"]
                     for n in [key_line(path, str(e["loc"][0]))] if n), None)
        raise ConfigError(f"{path}{f':{line}' if line else ''}: invalid [audit] table: "
                          f"{validation_problems(exc)}") from None
    return table


#: Keys a ``halluscope.toml`` ``[audit]`` table may hold: the settings, plus its ``inputs``.
MANIFEST_KEYS = frozenset(k for k, f in AuditConfig.model_fields.items() if not f.exclude
                          ) | {"inputs"}


def read_toml_text(path: Path) -> str:
    """The text of a TOML file, less a leading byte-order mark (Windows editors write one;
    tomllib refused it as "Invalid statement at line 1"); a file that is not UTF-8 is a
    :class:`ConfigError` naming the line (it was a UnicodeDecodeError: exit 3)."""
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise ConfigError(f"{path}:{line}: expected UTF-8 text, got byte "
                          f"0x{raw[exc.start]:02x}") from None


def key_line(path: Path, key: str) -> int | None:
    """The line of ``path`` on which ``key = ...`` is set (first one), if it can be found.
    Only errors ask (a bad key, then perhaps the ``options`` table), so the file is read anew
    each time: no copy of it is kept that could go stale."""
    import re
    # ``key = ...``, or a table of the [audit] table (``[audit.gates]``) named by its header
    name = re.escape(key)
    pattern = re.compile(rf"""^\s*(["']?{name}["']?\s*=|\[\s*audit\.{name}\s*\])""")
    try:
        text = read_toml_text(path)
    except (OSError, ConfigError):
        return None
    return next((i for i, line in enumerate(text.splitlines(), 1) if pattern.match(line)), None)


_GATES_HINT = " (gates are --fail-above / --fail-below, or the pytest plugin's markers)"


def _check_manifest_values(path: Path, table: dict[str, Any], check_value: ValueCheck,
                           given: set[str]) -> None:
    """The first value of ``table`` (or of its ``options``) that ``check_value`` refuses, as a
    :class:`ConfigError` naming ``path``, the line and the key."""
    values = [(k, v, True) for k, v in table.items() if k not in given and k != "options"]
    options = table.get("options") if "options" not in given else None
    if isinstance(options, dict):       # (a key given explicitly: ``options.KEY``)
        values += [(k, v, False) for k, v in options.items() if f"options.{k}" not in given]
    for key, value, setting in values:
        try:
            check_value(key, value, setting)
        except ConfigError as exc:
            line = key_line(path, key) or (None if setting else key_line(path, "options"))
            raise ConfigError(f"{path}{f':{line}' if line else ''}: invalid [audit] table: "
                              f"{key if setting else 'options.' + key}: {exc}") from None


#: ``[audit]`` keys that name files, resolved against the manifest's folder: one path, or a
#: path or list of paths.
_PATH_KEYS = ("gt_objects", "questions", "cache_dir")
_PATHS_KEYS = ("coco_annotations", "annotations", "inputs")


def _path_option(declared: Collection[str]) -> Callable[[str], bool]:
    """Whether an ``options`` key names a file: it ends in ``_file`` or ``_path``, or a metric
    declares it a path (``amber_annotations``, ``mmhal_template``: those were read from the
    working directory, not the manifest's folder)."""
    declared = frozenset(declared)
    return lambda key: key.endswith(("_file", "_path")) or key in declared


def _check_manifest_paths(path: Path, table: dict[str, Any],
                          is_path: Callable[[str], bool]) -> None:
    """A path key holding anything but text (``questions = 7``, ``inputs = 5``) is a
    :class:`ConfigError` naming the file, the line and the key; it crashed while the path was
    made absolute (``TypeError: unsupported operand type(s) for /``, exit 3). So is an empty
    path (``gt_objects = ""``, an ``options`` key ending in ``_file`` or ``_path`` too), which
    was the manifest's folder or the working directory."""
    opts = table.get("options")
    paths = [(k, v, k) for k, v in table.items() if k in (*_PATH_KEYS, *_PATHS_KEYS)]
    if isinstance(opts, dict):
        paths += [(k, v, f"options.{k}") for k, v in opts.items() if is_path(k)]
    for key, value, name in paths:
        many = key in _PATHS_KEYS and name == key
        ok = (isinstance(value, str) or many and isinstance(value, list)
              and all(isinstance(v, str) for v in value))
        if not ok and name == key:
            want = "a path or a list of paths" if many else "a path"
            raise ConfigError(f"{_where(path, key, name)}: expected {want} (text), got "
                              f"{type(value).__name__} {value!r:.60}")
        if any(isinstance(v, str) and not v.strip()
               for v in (value if isinstance(value, list) else [value])):
            raise ConfigError(f"{_where(path, key, name)}: expected a path, got an empty one "
                              f"{value!r:.60} (it would be the folder itself)")


def _where(path: Path, key: str, name: str) -> str:
    """Where a bad path key of the manifest is, for its error (located only when there is
    one): the file, the key's line (or the ``options`` table's) and the key."""
    line = key_line(path, key) or key_line(path, "options")
    return f"{path}{f':{line}' if line else ''}: invalid [audit] table: {name}"


def _check_manifest_flags(path: Path, table: dict[str, Any]) -> None:
    """A boolean setting (``strict``, ``resume``) must be a TOML boolean: ``strict = "yes"``
    was taken for true, and ``"no"`` for false, by pydantic's lax reading; a number setting
    (``confidence``, ``n_boot``) a TOML number: ``confidence = "0.9"`` was read as 0.9."""
    for key, value in table.items():
        field = AuditConfig.model_fields.get(key)
        if field is None:
            continue
        kinds = set(get_args(field.annotation) or (field.annotation,)) - {type(None)}
        if kinds == {bool} and not isinstance(value, bool):
            want = "true or false (a TOML boolean, unquoted)"
        elif kinds and kinds <= {int, float} and (isinstance(value, bool) or not isinstance(
                value, (int, float) if float in kinds else int)):
            want = ("a number" if float in kinds else "a whole number") + " (a TOML number, unquoted)"
        else:
            continue
        line = key_line(path, key)
        raise ConfigError(f"{path}{f':{line}' if line else ''}: invalid [audit] table: "
                          f"{key}: expected {want}, got {type(value).__name__} {value!r:.60}")


#: ``[audit]`` keys whose value may name files: a judge spec (a name or a ``.toml`` path), a
#: detector or segmenter (``hf:<path or id>``, ``groundingdino:<config>,<weights>``,
#: ``sam:[<model type>:]<checkpoint>``).
_SPEC_KEYS = ("judge", "detector", "segmenter")
_SPEC_PREFIX = r"^([A-Za-z][\w-]*:)+"


def _resolve_spec(folder: Path, value: str, *, prefixed: bool) -> str:
    """``value`` with each path in it made absolute against the manifest's ``folder``.

    The rule: after the backend's ``name:`` prefixes (for a detector or segmenter), each
    comma-separated part is a path when it starts with ``./``, ``../`` or ``~``, or names a
    file or folder that exists relative to ``folder``; anything else (a hub id such as
    ``hf:owner/name``, a pinned judge's name, ``coco-ssd``) is kept as it is."""
    import re
    head = ""
    if prefixed:
        m = re.match(_SPEC_PREFIX, value)
        head = m.group(0) if m else ""
        if not head:
            return value
    parts = value[len(head):].split(",") if prefixed else [value[len(head):]]
    return head + ",".join(_spec_path(folder, p) for p in parts)


def _spec_path(folder: Path, text: str) -> str:
    if not text.strip():
        return text
    path = Path(text).expanduser()
    if text.startswith("~") or path.is_absolute():
        return str(path)
    if text.startswith(("./", "../", ".\\", "..\\")) or (folder / path).exists():
        return str((folder / path).resolve())
    return text


def _check_manifest_keys(path: Path, table: dict[str, Any]) -> None:
    """An unknown key in the ``[audit]`` table is a usage error naming the file, the line and
    the nearest known keys (it was a bare "Extra inputs are not permitted")."""
    from halluscope.errors import UnknownNameError, suggest
    for key in table:
        if key not in MANIFEST_KEYS:
            line = key_line(path, key)
            raise UnknownNameError(
                f"{path}{f':{line}' if line else ''}: unknown key {key!r} in the [audit] table"
                f"{suggest(key, MANIFEST_KEYS) or ''}"
                f"{_GATES_HINT if key.startswith(('fail', 'gate')) else ''}"
                f" (keys: {', '.join(sorted(MANIFEST_KEYS))})")
