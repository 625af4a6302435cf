"""Check that the running environment is exactly what a lock file pins.

Usage: python scripts/check_lock.py [--lint] requirements.lock
Exit 0 when every pinned package is installed at its pinned version; exit 1 with one line per
difference otherwise. Packages installed beside the lock (by hand, or a requirement the lock does
not cover yet) are listed as warnings: the lock is stale, regenerate it with `make lock`.
"""

from __future__ import annotations

import re
import sys
from importlib import metadata
from pathlib import Path

# Installed on purpose outside the lock: the project, packaging tools, and groundingdino-py
# (installed --no-deps by scripts/setup.sh because its own pins clash with headless OpenCV).
OUTSIDE_LOCK = {"halluscope", "pip", "setuptools", "wheel", "groundingdino-py"}
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)")


def canonical(name: str) -> str:
    """A distribution name as PEP 503 compares them."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_lock(path: Path) -> dict[str, str]:
    """Package -> pinned version of a pip-compile'd lock file."""
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        m = _PIN.match(line.strip())
        if m:
            pins[canonical(m.group(1))] = m.group(2)
    return pins


def lint(path: Path) -> list[str]:
    """Lines of a lock that would tie it to one machine or let a version float: every requirement
    must be `name==version` (markers allowed); no paths, URLs, editables or the project itself."""
    problems = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        m = _PIN.match(line)
        if m is None or "@" in line or line.startswith("-"):
            problems.append(f"{path}:{number}: not a plain `name==version` pin: {line!r}")
        elif canonical(m.group(1)) == "halluscope":
            problems.append(f"{path}:{number}: the project pins itself: {line!r}")
    return problems


def differences(pins: dict[str, str]) -> tuple[list[str], list[str]]:
    """(errors, warnings): locked packages missing or at another version; packages installed
    that the lock does not name."""
    installed = {canonical(d.metadata["Name"]): d.version for d in metadata.distributions()}
    out = []
    for name, version in sorted(pins.items()):
        have = installed.get(name)
        if have is None:
            out.append(f"{name}: expected {version} (locked), got nothing installed")
        elif have != version:
            out.append(f"{name}: expected {version} (locked), got {have}")
    extra = [f"{name}: installed ({installed[name]}) but not in the lock"
             for name in sorted(set(installed) - set(pins) - OUTSIDE_LOCK)]
    return out, extra


def main(argv: list[str]) -> int:
    lint_only = argv[:1] == ["--lint"]
    if lint_only:
        argv = argv[1:]
    if len(argv) != 1:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    bad = lint(Path(argv[0]))
    for line in bad:
        print(f"check_lock: {line}", file=sys.stderr)
    if bad:
        print("check_lock: regenerate the lock with `make lock`", file=sys.stderr)
        return 1
    if lint_only:
        return 0
    problems, unlocked = differences(read_lock(Path(argv[0])))
    for line in unlocked:
        print(f"check_lock: warning: {line}", file=sys.stderr)
    for line in problems:
        print(f"check_lock: {line}", file=sys.stderr)
    if problems:
        print(f"check_lock: the environment differs from {argv[0]} in {len(problems)} "
              f"package(s); rerun scripts/setup.sh, or regenerate the lock (make lock)",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
