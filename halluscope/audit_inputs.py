"""The files an audit reads: :func:`resolve_inputs` expands files, folders with a
``halluscope.toml`` and lists into paths and the manifest defaults that apply to them, and says
why a path cannot be an input (split from :mod:`halluscope.pipeline`)."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from halluscope.config import ValueCheck, load_manifest
from halluscope.errors import ConfigError, InputError

logger = logging.getLogger(__name__)


def resolve_inputs(inputs: Any, given: Iterable[str] = (), *,
                   origins: dict[str, Path] | None = None
                   ) -> tuple[list[Path], dict[str, Any]]:
    """Paths to read and the manifest defaults that apply to them; ``origins``, when given,
    is filled with the folder whose manifest set each default (``options.KEY`` for a key of
    its ``options``).

    ``inputs`` may be a file, a folder holding ``halluscope.toml`` (whose ``inputs`` it names), or
    a list of files. A ``halluscope.toml`` next to a file also supplies defaults: each file's
    folder's, merged as the folders' are (a key two of them set to different values is refused
    unless ``given``); only the first file's folder was read, so a second folder's answers were
    scored against the first one's question file or ground truth without a word. Every
    manifest read has its values checked against the metrics' declared options
    (:func:`~halluscope.metrics.settings.declared_value_check`), but for the keys ``given``
    explicitly (the file's value is not used).
    """
    from halluscope.metrics.settings import declared_path_options, declared_value_check
    check, given = _value_check(declared_value_check()), frozenset(given)
    files = declared_path_options()
    if isinstance(inputs, (str, Path)):
        inputs = [inputs]
    paths = [Path(p) for p in inputs]
    if not paths:
        raise ConfigError("expected at least one input file, got none")
    manifest: dict[str, Any] = {}
    read = origins if origins is not None else {}   # each key: the folder whose file set it
    expanded: list[Path] = []
    beside: set[Path] = set()           # the folders of the files given, whose manifest is read
    for p in paths:
        if p.is_dir():
            table = load_manifest(p, check_value=check, given=given, path_options=files)
            if not table.get("inputs"):
                raise ConfigError(f"{p} is a folder without a halluscope.toml naming its "
                                  f"'inputs'; pass a JSONL file instead")
            _merge_manifest(manifest, read, table, p, given)
            expanded.extend(_manifest_input(p, Path(i)) for i in table["inputs"])
        elif p.is_file():
            if p.parent.resolve() not in beside:
                beside.add(p.parent.resolve())
                table = load_manifest(p.parent, check_value=check, given=given,
                                      path_options=files)
                _merge_manifest(manifest, read, table, p.parent, given)
            expanded.append(p)
        else:
            raise ConfigError(_not_a_file(p))
    for p in expanded:
        check_readable(p)
    manifest.pop("inputs", None)
    return expanded, manifest


def check_readable(path: Path) -> None:
    """Refuse, before anything is scored, an input file that cannot be opened (no read
    permission: a manifest's input was a bare "[Errno 13] Permission denied") or that is
    UTF-16 or UTF-32 text (Excel's "Unicode Text", Windows PowerShell's ``>``: each of its
    lines was a bad record "invalid JSON", a table "got byte 0xff ... Windows-1252"); say an
    empty file (one of several was passed by in silence), and one of only blank lines (a CSV
    of them was pandas' bare "No columns to parse from file"; JSON lines of them said
    nothing)."""
    from halluscope.textfiles import is_blank_file, open_binary, wide_encoding
    try:
        with open_binary(path) as fh:
            head = fh.read(4)
    except PermissionError:
        raise ConfigError(f"input file {path} cannot be read: permission denied") from None
    except OSError as exc:
        raise ConfigError(f"input file {path} cannot be read: {exc.strerror or exc}") from None
    encoding = wide_encoding(head)
    if encoding is not None:
        raise InputError(f"{path}: expected UTF-8 text, got {encoding} (first bytes "
                         f"{head!r}): save it as UTF-8 (Excel: CSV UTF-8; PowerShell: "
                         f"Out-File -Encoding utf8; or iconv -f {encoding} -t UTF-8)")
    if not head:
        logger.warning("input file %s is empty: it holds no records", path)
    elif not head.strip(b" \t\r\n\xef\xbb\xbf") and is_blank_file(path):
        logger.warning("input file %s holds only blank lines (no header, no line of data): "
                       "it holds no records", path)


def _value_check(declared: ValueCheck) -> ValueCheck:
    """``declared`` (the metrics' declared values) and the input format, which the readers
    know: ``input_format = "xml"`` was refused only when the files were read, as a bad
    ``--format``, naming neither the file nor the key."""
    def check(key: str, value: Any, setting: bool) -> None:
        if setting and key == "input_format":
            from halluscope.readers import FORMATS
            if value not in FORMATS:
                raise ConfigError(f"expected one of {', '.join(FORMATS)}, got {value!r:.60}")
        declared(key, value, setting)
    return check


def manifest_blame(read: dict[str, Path]) -> Callable[[str], str | None]:
    """Where a manifest set an option (``read``: :func:`resolve_inputs`'s ``origins``), for an
    error about it found after the settings were merged: ``file:line: invalid [audit] table:
    options.KEY``; ``None`` for an option given explicitly."""
    from halluscope.config import MANIFEST, key_line

    def where(key: str) -> str | None:
        folder = read.get(f"options.{key}")
        if folder is None:
            return None
        path = folder / MANIFEST
        line = key_line(path, key) or key_line(path, "options")
        return f"{path}{f':{line}' if line else ''}: invalid [audit] table: options.{key}"
    return where


def given_settings(base: dict[str, Any], options: dict[str, Any]) -> set[str]:
    """The settings given explicitly (in Python's ``config`` or as arguments and flags), whose
    values replace a manifest's: each setting's name, and ``options.KEY`` for each key of an
    ``options`` mapping, since the options are merged key by key (:func:`merge_settings`)."""
    given = set(base) | {k for k, v in options.items() if v is not None}
    given.discard("options")
    for source in (base, options):
        given |= {f"options.{k}" for k in (source.get("options") or {})}
    return given


def merge_settings(manifest: dict[str, Any], base: dict[str, Any],
                   options: dict[str, Any]) -> dict[str, Any]:
    """The audit's settings: a folder's ``manifest``, then ``base`` (a config object's), then
    ``options`` (arguments and flags; ``None`` is not given), each replacing the one before;
    ``options`` merged key by key. The ``options`` given on the command line replaced the
    manifest's whole table: ``--offline`` or any ``--option`` dropped its ``complete_only``,
    ``judge_base_url`` or ``claims_analytic`` without a word, and the numbers changed."""
    merged = {**manifest, **base, **{k: v for k, v in options.items() if v is not None}}
    tables = [t for source in (manifest, base, options) if (t := source.get("options")) is not None]
    if len(tables) > 1 and all(isinstance(t, dict) for t in tables):   # else refused as given
        merged["options"] = {k: v for t in tables for k, v in t.items()}
    return merged


def _merge_manifest(manifest: dict[str, Any], read: dict[str, Path], table: dict[str, Any],
                    folder: Path, given: frozenset[str]) -> None:
    """Add ``folder``'s manifest ``table`` to the defaults ``manifest`` (``read``: the folder
    each key came from). Two folders' manifests that set one key to different values are a
    :class:`ConfigError` naming both files, the key and the values, unless the key is ``given``
    on the command line or in Python (whose value replaces both): the first folder's value used
    to win without a word, so the second folder's outputs were scored with another folder's
    ground truth or variant."""
    for key, value in table.items():
        if key == "options" and isinstance(value, dict):
            _merge_options(manifest, read, value, folder, given)
            continue
        if key == "inputs" or key in given:
            continue
        if key in manifest and manifest[key] != value:
            raise _two_values(key, key, value, manifest[key], read[key], folder)
        manifest.setdefault(key, value)
        read.setdefault(key, folder)


def _merge_options(manifest: dict[str, Any], read: dict[str, Path], table: dict[str, Any],
                   folder: Path, given: frozenset[str]) -> None:
    """:func:`_merge_manifest` of a manifest's ``options`` table, key by key: two folders may
    set different options, not one option to two values."""
    merged = manifest.setdefault("options", {})
    for key, value in table.items():
        name = f"options.{key}"
        if name in given:
            continue
        if key in merged and merged[key] != value:
            raise _two_values(name, key, value, merged[key], read[name], folder)
        merged.setdefault(key, value)
        read.setdefault(name, folder)


def _two_values(name: str, key: str, value: Any, before: Any, first: Path, folder: Path
                ) -> ConfigError:
    """Two manifests (``first``'s, then ``folder``'s) set ``name`` (its ``key`` on its line)
    to ``before`` and ``value``."""
    from halluscope.config import MANIFEST, key_line
    where = [f"{f / MANIFEST}{f':{n}' if (n := key_line(f / MANIFEST, key)) else ''}"
             for f in (first, folder)]
    return ConfigError(f"{where[1]}: {name}: {_shown(value)} here, but {_shown(before)} in "
                       f"{where[0]}: one audit takes one value; set it on the command line (or "
                       f"in Python) to choose it for both, or audit the folders apart")


def _shown(value: Any) -> str:
    """A manifest value in an error: a path as the text it is (not ``PosixPath('...')``)."""
    if isinstance(value, Path):
        return repr(str(value))
    if isinstance(value, list):
        return "[" + ", ".join(_shown(v) for v in value) + "]"
    return repr(value)


def _manifest_input(folder: Path, path: Path) -> Path:
    """``path``, named by ``folder``'s manifest, if it is a file; else a :class:`ConfigError`
    naming the manifest's line (it was Python's bare "[Errno 2] No such file or directory")."""
    if path.is_file():
        return path
    from halluscope.config import MANIFEST, key_line
    line = key_line(folder / MANIFEST, "inputs")
    where = f"{folder / MANIFEST}{f':{line}' if line else ''}: inputs"
    if path.is_dir():
        raise ConfigError(f"{where}: {path} is a folder; expected input files")
    raise ConfigError(f"{where}: {_not_a_file(path)}")


_URL_NAME = re.compile(r"^(https?|s3|gs|gcs|az|abfss?|hf|ftp|file):/+(?=[^/])", re.IGNORECASE)


def _not_a_file(path: Path) -> str:
    """Why ``path`` cannot be an input: it does not exist, or it is a pipe (``<(...)``,
    ``/dev/stdin``), a device or a socket, which exists but was said not to (an audit reads its
    inputs more than once, hashes them for the run sheet and checks them line by line on
    ``--resume``)."""
    import stat
    try:
        mode = path.stat().st_mode
    except OSError:
        if _URL_NAME.match(str(path)):      # (a Path made "https://h/x" "https:/h/x")
            from halluscope.redact import redact_url
            url = _URL_NAME.sub(r"\1://", str(path), count=1)
            return (f"input {redact_url(url)}: expected a file on this machine, got a URL: "
                    f"halluscope reads local files only (it reads its inputs more than once "
                    f"and records their sha256); download it first (curl -o answers.jsonl "
                    f"'URL') and audit that")
        if str(path) != "-":
            return f"input file {path} does not exist"
        mode = None         # "-", the usual name of standard input
    kind = ("standard input" if mode is None else "a pipe" if stat.S_ISFIFO(mode)
            else "a character device" if stat.S_ISCHR(mode)
            else "a socket" if stat.S_ISSOCK(mode) else "not a regular file")
    return (f"input {path} is {kind}, not a file: an audit reads its inputs more than once "
            f"(format, metrics, scoring), records their sha256 for the run sheet and checks "
            f"them line by line on --resume, which a pipe cannot give; save it to a file first "
            f"(e.g. `... > answers.jsonl`) and audit that")


def setting_origins(read: dict[str, Path], base: dict[str, Any], options: dict[str, Any]
                    ) -> dict[str, str]:
    """``path:line`` of the manifest that set each setting taken from one (``read``:
    :func:`resolve_inputs`'s ``origins``; ``base`` and ``options``, whose settings replace the
    manifest's, as for :func:`merge_settings`; the ``options`` keys apart, see
    :func:`manifest_blame`)."""
    from halluscope.config import MANIFEST, key_line
    out, given = {}, given_settings(base, options)
    for key, folder in read.items():
        if not key.startswith("options.") and key not in given:
            line = key_line(folder / MANIFEST, key)
            out[key] = f"{folder / MANIFEST}{f':{line}' if line else ''}"
    return out


def say_chosen_by(unscored: dict[str, list[str]], cfg: Any) -> None:
    """Add to the reasons of each metric that scored nothing the manifest whose ``metrics``
    key chose it: the reasons said why, but not who asked for the metric."""
    where = cfg.set_by.get("metrics")
    if where is None or cfg.metrics_inferred:
        return
    for name, reasons in unscored.items():
        if name in cfg.metrics:
            reasons.append(f"{name} was chosen by the 'metrics' key of {where}")
