"""Files written whole or not at all: the one way halluscope replaces a file that a reader (or a
later run) may open while it is written (run sheets, results, reports, baselines, cache entries).

The new content goes to a temporary file in the same folder (``.<name>.<pid>.<random>.part``,
created exclusively, so two writers never share one), which is then renamed over ``path``
(:func:`os.replace`, atomic within a file system): a reader sees the old file or the whole new
one, never half of it, and a writer killed midway leaves the old file whole. The temporary file
is removed when the writing fails.

What differs between callers is said at the call: the content (bytes written by a callback,
text, indented JSON) and the permissions of the new file (``mode``, before the umask: ``0o666``
gives what :func:`open` gives, ``0o600`` a file only its owner reads, as the caches keep theirs).
The caller makes the folder if it may be missing.

The file is not flushed to disk (no ``fsync``; none of the writers gathered here ever did): the
rename protects against a killed process, not against a power cut, and a sync per evidence-cache
entry would cost more than it saves. Standard library only.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: The mode of a file as :func:`open` creates it (the umask applies).
SHARED = 0o666
#: Readable and writable by its owner only (what :func:`tempfile.mkstemp` gives; the caches').
PRIVATE = 0o600


def _create_beside(path: Path, mode: int) -> Path:
    """A new, empty temporary file in ``path``'s folder, created with ``mode``."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.part")
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode))
    return tmp


def replace_atomically(path: str | Path, write: Callable[[Path], Any], *,
                       mode: int = SHARED) -> None:
    """Write ``path`` through ``write(tmp_path)`` (``tmp_path`` exists, empty, with ``mode``;
    ``write`` may open it or put another file in its place), then rename it over ``path``; over
    the file it names where ``path`` is a symbolic link, as a plain write would go: renaming over
    the link itself made it a file of its own, parting it from the file it named (a ``query``
    resume through a link left its first answers in the target and the rest in the new file)."""
    path = Path(path)
    if path.is_symlink():
        path = path.resolve()
    tmp = _create_beside(path, mode)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def write_text_atomically(path: str | Path, text: str, *, mode: int = SHARED) -> None:
    """``text`` as UTF-8 at ``path``, through :func:`replace_atomically`."""
    replace_atomically(path, lambda tmp: tmp.write_text(text, encoding="utf-8"), mode=mode)


def write_json_atomically(path: str | Path, doc: Any, *, mode: int = SHARED) -> None:
    """``doc`` as indented JSON (UTF-8 as written, not escaped; one final newline) at ``path``,
    through :func:`replace_atomically`: a run killed while writing leaves the previous file
    whole. A lone surrogate (a server's message cut inside an emoji) is written as its JSON
    escape (:func:`halluscope._json.dumps_utf8`)."""
    from halluscope._json import dumps_utf8
    write_text_atomically(path, dumps_utf8(doc, indent=2) + "\n", mode=mode)


__all__ = ["PRIVATE", "SHARED", "replace_atomically", "write_json_atomically",
           "write_text_atomically"]
