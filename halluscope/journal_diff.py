"""What differs between a journal's header and this audit's, in words: the messages a refused
``--resume`` gives (:func:`_difference`, :func:`header_difference` for a finished audit), and
the comparisons they rest on (split from :mod:`halluscope.journal`, which reads and writes the
journal itself)."""

from __future__ import annotations

import json
from typing import Any

from halluscope.hashing import known_sha256

FOLD_ONLY = ("seed", "n_boot", "confidence", "by")
"""Options that only change how journaled outcomes are folded into results (the bootstrap and
the groups of ``--by``, applied by :meth:`Metric.add` in the parent): a resume may change them."""



def _version_change(found: Any, header: dict[str, Any]) -> str | None:
    """``the journal was written by halluscope A, this is halluscope B`` when the journal
    comes from another halluscope (or another journal format), else ``None``: a metric's code,
    a packaged judge spec or vocabulary may have changed with the version, so the journaled
    outcomes are not this version's to fold (said alone: the other differences follow from
    it). A journal of before the version was recorded (format 5) names none."""
    if not isinstance(found, dict):
        return "the journal's header is not one halluscope writes"
    then, now = found.get("halluscope"), header.get("halluscope")
    if then == now and found.get("version") == header.get("version"):
        return _code_change(found, header)
    written = (f"halluscope {then}" if then is not None else
               f"a halluscope that did not record its version (journal format "
               f"{found.get('version')})")
    if then == now:         # the same version, another format: a development tree
        written += f" (journal format {found.get('version')})"
        now = f"{now} (journal format {header.get('version')})"
    return f"the journal was written by {written}, this is halluscope {now}"


def _code_change(found: dict[str, Any], header: dict[str, Any]) -> str | None:
    """``the journal was written by halluscope A's code X, ...`` when the same version and
    journal format ran other code (a development tree or an edited install), else ``None``."""
    then, now = found.get("code"), header.get("code")
    if then == now:
        return None
    return (f"the journal was written by halluscope {header.get('halluscope')} with other code "
            f"(sha256 {str(then)[:12]}...), this is its code {str(now)[:12]}... (edited or "
            f"reinstalled since)")


def _options(header: Any) -> dict[str, Any]:
    """The scoring options of a header, less :data:`FOLD_ONLY`."""
    return {k: v for k, v in _config(header).items() if k not in FOLD_ONLY}


def _comparable(header: Any) -> Any:
    """A header with its options parsed and the fold-only ones left out, and its files by
    path, size and modification time only: their inode and change time move with a ``chmod``
    or a move away and back, when :func:`_content_changes` hashes them again instead."""
    if not isinstance(header, dict):
        return header
    files = {key: [tuple(f[:3]) for f in header.get(key, ())] for key in ("inputs", "companions")}
    return {**header, **files, "config": _options(header)}


def shown_files(header: Any) -> Any:
    """``header`` as the journal writes it: the name of each input and companion file without
    the credentials it may carry (``answers.jsonl?token=...``, as
    :func:`~halluscope.redact.redact_url` shows a URL; the token was in the journal left in the
    output folder); every other name as it is. The journal's header is compared in this form."""
    if not isinstance(header, dict):
        return header
    from halluscope.redact import redact_url
    return {**header, **{key: [(redact_url(f[0]), *f[1:]) for f in header[key]]
                         for key in ("inputs", "companions") if key in header}}


def _content_changes(found: dict[str, Any], header: dict[str, Any],
                     digests: dict[str, Any]) -> list[str]:
    """The inputs and companion files whose inode or change time moved since the journal was
    written (their path, size and mtime match: :func:`_comparable`) and whose content is not
    the journaled sha256 (``digests``) any more, or has none journaled. A file whose stamp is
    the same is trusted without reading it. ``found`` and ``digests`` name the files as
    :func:`shown_files` writes them, ``header`` as they are (the file hashed again)."""
    from halluscope.redact import redact_url
    now = {redact_url(f[0]): (f[0], tuple(f[1:])) for key in ("inputs", "companions")
           for f in header.get(key, ())}
    changed = []
    for key in ("inputs", "companions"):
        for f in found.get(key, ()):
            path, stamp = now.get(f[0], (f[0], None))
            if tuple(f[1:]) == stamp:
                continue
            try:
                same = known_sha256(path) == digests.get(f[0])
            except OSError:
                same = False
            if not same:
                changed.append(f[0])
    return changed


def _option_changes(found: Any, header: dict[str, Any]) -> list[str]:
    """``option: expected A as journaled, got B`` for each scoring option that differs (the
    ``--option`` table key by key)."""
    before, now = _options(found), _options(header)
    said = []
    for key in sorted(before.keys() | now.keys()):
        a, b = before.get(key), now.get(key)
        if a == b or key == "metrics":      # the metrics are said on their own
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            said += [f"--option {k}: expected {_shown(a, k)} as journaled, got {_shown(b, k)}"
                     for k in sorted(a.keys() | b.keys()) if a.get(k) != b.get(k)]
        else:
            said.append(f"{key}: expected {_shown(before, key)} as journaled, got "
                        f"{_shown(now, key)}")
    return said


def _shown(table: dict[str, Any], key: str) -> str:
    return repr(table[key]) if table.get(key) is not None else "not set"


def _difference(found: Any, header: dict[str, Any]) -> str:
    """What differs between the journal's header and this audit's, in words (a header
    :func:`read_journal` found of this version and code, so a dict)."""
    said = []
    for key, what in (("inputs", "inputs"), ("companions", "files the options name")):
        before = {f[0]: tuple(f[1:3]) for f in found.get(key, [])}     # size and mtime
        now = {f[0]: tuple(f[1:3]) for f in header[key]}
        changed = sorted(p for p in before.keys() | now.keys() if before.get(p) != now.get(p))
        if changed:     # (of thousands of inputs moved elsewhere, the first few)
            said.append(f"{what} changed or differ: " + _first(
                [_file_change(p, before.get(p), now.get(p)) for p in changed]))
    order = [f[0] for f in found.get("inputs", [])], [f[0] for f in header["inputs"]]
    if order[0] != order[1] and sorted(order[0]) == sorted(order[1]):
        said.append(f"inputs in another order: {_first(order[0])} then, {_first(order[1])} now")
    for name in sorted((found.get("models") or {}).keys() | (header.get("models") or {}).keys()):
        before, now = (found.get("models") or {}).get(name), (header.get("models") or {}).get(name)
        if before != now and name == "device":
            said.append(_device_change(before, now))
        elif before != now:
            said.append(f"the {name}'s weights or versions changed: {_shown_model(before)} as "
                        f"journaled, {_shown_model(now)} now")
    if found.get("metrics") != header["metrics"]:
        said.append(f"metrics {found.get('metrics')} then, {header['metrics']} now")
    said += _option_changes(found, header)
    return "; ".join(said) or "headers differ"


def _device_change(before: Any, now: Any) -> str:
    """The device type the detector and segmenter run on changed (a GPU's kernels give other
    scores than a CPU's): what to do about it."""
    first = before or "none recorded"
    return (f"the detector/segmenter device changed: {first} as journaled, {now or 'none'} now "
            f"(--device, else $HALLUSCOPE_DEVICE, else cuda when torch sees a GPU): resume "
            f"where it resolves to {first} as the first run did (its --device and "
            f"$HALLUSCOPE_DEVICE), or start over without --resume")


def header_difference(found: Any, header: dict[str, Any]) -> str:
    """What differs between a finished audit's header (as its run sheet keeps it,
    :mod:`halluscope.finished`) and this audit's, in words: as :func:`_difference` says it,
    the :data:`FOLD_ONLY` options too (no journal is left to fold again)."""
    if not isinstance(found, dict):
        return "its run sheet's record of them is damaged"
    found = json.loads(json.dumps(found, default=str))
    header = json.loads(json.dumps(header, default=str))
    said = [_version_change(found, header) or ""]
    if _comparable(found) != _comparable(header):
        said.append(_difference(found, header).replace("as journaled", "in the finished run"))
    before, now = (_config(h) for h in (found, header))
    said += [f"{key}: expected {_shown(before, key)} as in the finished run, got "
             f"{_shown(now, key)} (it may change only on the resume of an interrupted run)"
             for key in FOLD_ONLY if before.get(key) != now.get(key)]
    return "; ".join(s for s in said if s) or "headers differ"


def _config(header: Any) -> dict[str, Any]:
    """The options of a header, parsed (empty when it holds none)."""
    try:
        config = json.loads(header["config"])
    except (TypeError, KeyError, ValueError):
        return {}
    return config if isinstance(config, dict) else {}


def _first(names: list[str], n: int = 5) -> str:
    """The first ``n`` of ``names``, joined, and how many more there are."""
    more = f" and {len(names) - n:,} more" if len(names) > n else ""
    return ", ".join(names[:n]) + more


def _file_change(path: str, then: tuple | None, now: tuple | None) -> str:
    """``path (how it changed)``: named now and not then, or the other way, or its size and
    modification time then and now (an input appended to, edited, replaced)."""
    if then is None:
        return f"{path} (not named then)"
    if now is None:
        return f"{path} (not named now)"
    from datetime import datetime, timezone
    said = [f"size {then[0]:,} bytes then, {now[0]:,} now"] if then[0] != now[0] else []
    if then[1] != now[1]:
        when = [datetime.fromtimestamp(t / 1e9, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
                for t in (then[1], now[1])]
        said.append(f"modified {when[0]} then, {when[1]} now" if when[0] != when[1]
                    else "modified since")
    return f"{path} ({'; '.join(said) or 'changed'})"


def _shown_model(identity: Any) -> str:
    return "none" if identity is None else json.dumps(identity, sort_keys=True, default=str)
