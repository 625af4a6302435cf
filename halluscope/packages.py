"""Installed versions of the libraries whose release decides a component's output.

One helper for every layer that keys a cache by library versions (a local model's answers,
a detector's or a segmenter's evidence), so that they all read the versions the same way.
"""

from __future__ import annotations

from importlib import metadata


def installed_version(dist: str) -> str:
    """The installed version of the distribution ``dist``, read from its metadata without
    importing it; ``?`` when it is not installed."""
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "?"
