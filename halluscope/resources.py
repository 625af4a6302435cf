"""Where pinned data files (metric vocabularies, judge specs) are found.

A wheel carries the repository's top-level ``metrics/`` and ``judges/`` folders inside the
package as ``halluscope/_pinned/<kind>/``; a source checkout or an editable install has them
next to the package. :func:`spec_path` looks in that order.
"""

from __future__ import annotations

from pathlib import Path

from halluscope.errors import ConfigError

_PACKAGE = Path(__file__).resolve().parent


def spec_path(kind: str, name: str) -> Path:
    """The path of the pinned file ``<kind>/<name>`` (e.g. ``spec_path("metrics",
    "chair-coco.json")``); :class:`ConfigError` naming both places looked in when absent."""
    if not kind or not name or any(p in ("", ".", "..") for p in Path(kind, name).parts) \
            or Path(kind).is_absolute() or Path(name).is_absolute():
        raise ConfigError(f"expected a folder and a file name inside it, got {kind!r}/{name!r}")
    candidates = (_PACKAGE / "_pinned" / kind / name, _PACKAGE.parent / kind / name)
    for path in candidates:
        if path.is_file():
            return path
    raise ConfigError(f"pinned file {kind}/{name} not found; looked in "
                      f"{candidates[0]} (installed wheel) and {candidates[1]} (source tree)")
