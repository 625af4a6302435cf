"""What a process has open, checked before it forks workers (:mod:`halluscope.engines`).

A forked worker shares its parent's open file descriptors, and with them their offsets: two
processes seeking and reading one file garble each other's reads, and a judge's connection
shared by several workers mixes their requests. The processes engine forks only when warming
the metrics left nothing open that it did not have before (:func:`opened_between`), after
closing what libraries reopen by themselves (:func:`close_reopenable`).
"""

from __future__ import annotations

import os

__all__ = ["close_reopenable", "open_files", "opened_between"]


def open_files() -> dict[int, str] | None:
    """This process's open file descriptors and what they point at (Linux ``/proc``), less the
    listing's own; ``None`` where that cannot be read."""
    try:
        fds = os.listdir("/proc/self/fd")
    except OSError:
        return None
    out = {}
    for fd in fds:
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:       # the listing's own descriptor, closed by now
            continue
        if not target.startswith("/proc/"):
            out[int(fd)] = target
    return out


def opened_between(before: dict[int, str] | None, after: dict[int, str] | None
                   ) -> dict[int, str] | None:
    """The descriptors of ``after`` (:func:`open_files`) that ``before`` did not hold;
    ``None`` when either listing is unknown."""
    if before is None or after is None:
        return None
    return {fd: t for fd, t in after.items() if before.get(fd) != t}


def close_reopenable() -> None:
    """Close the files that libraries keep open but reopen on their own when next needed:
    NLTK's WordNet reader keeps its data files open and seeks in them, and a forked process
    would share their offsets with its parent and siblings (garbled reads)."""
    import sys
    corpus = sys.modules.get("nltk.corpus")
    readers = [getattr(corpus, "wordnet", None)] if corpus is not None else []
    vocab = sys.modules.get("halluscope.claims.vocab")
    readers.append(getattr(vocab, "_WN", None))
    for reader in readers:
        files = getattr(reader, "__dict__", {}).get("_data_file_map")  # a loaded reader only
        if not files:
            continue
        for fh in files.values():
            fh.close()
        files.clear()
        for attr in ("_key_count_file", "_key_synset_file"):
            fh = getattr(reader, attr, None)
            if fh is not None:
                fh.close()
                setattr(reader, attr, None)
