"""Where halluscope caches things: one folder, named by one environment variable.

Model and judge answers (``responses.sqlite3``), evidence (detections, colours, OCR text, the
weights index) and CHAIR ground truth built from COCO annotations (``chair/``) all live under
:func:`default_cache_dir`:

1. ``$HALLUSCOPE_CACHE`` when set (``off``, ``none``, ``0``, ``false`` or ``no`` turn caching off);
2. else ``$HALLUSCOPE_CACHE_DIR``, the deprecated name of the same setting (a warning is logged
   once per process);
3. else ``$XDG_CACHE_HOME/halluscope``, else ``~/.cache/halluscope``.

An explicit folder (``--cache-dir``, ``--cache``, ``cache_dir=``) always wins over all three.
Standard library only: the pytest plugin imports this at start-up.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

ENV_CACHE = "HALLUSCOPE_CACHE"
ENV_CACHE_DEPRECATED = "HALLUSCOPE_CACHE_DIR"
OFF = frozenset({"off", "none", "0", "false", "no"})
_warned = False


def cache_setting() -> str | None:
    """The cache variable's value (the deprecated name's when only that is set), or ``None``."""
    global _warned
    value = os.environ.get(ENV_CACHE)
    if value:
        return value
    value = os.environ.get(ENV_CACHE_DEPRECATED)
    if value:
        if not _warned:
            _warned = True
            log.warning("%s is deprecated: set %s instead (same meaning)",
                        ENV_CACHE_DEPRECATED, ENV_CACHE)
        return value
    return None


def default_cache_dir() -> Path | None:
    """halluscope's cache folder (see the module docstring); ``None`` when caching is off."""
    value = cache_setting()
    if value is not None:
        return None if value.strip().lower() in OFF else Path(value).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "halluscope"


__all__ = ["ENV_CACHE", "ENV_CACHE_DEPRECATED", "OFF", "cache_setting", "default_cache_dir"]
