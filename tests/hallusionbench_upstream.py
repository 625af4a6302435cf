"""Functions of HallusionBench's own utils.py (tianyi-lab/HallusionBench @744007c), read from a
bare git snapshot of that repository at test time -- never copied here -- so that tests can
check halluscope against the original code itself. The snapshot is found at
``$HALLUSCOPE_HALLUSIONBENCH_GIT`` or ``../.mirror/tianyi-lab+HallusionBench/repo`` beside the
project; :func:`upstream_utils` returns ``None`` when neither holds the pinned file."""

from __future__ import annotations

import ast
import os
import subprocess
import types
from pathlib import Path

COMMIT = "744007c232c292942c7f80eb61edb2465482da31"
UTILS_BLOB = "1f18b90f4645378ab928ba76a379981a43fe3da3"


def snapshot_dir() -> Path | None:
    env = os.environ.get("HALLUSCOPE_HALLUSIONBENCH_GIT")
    path = Path(env) if env else (Path(__file__).resolve().parents[1].parent / ".mirror"
                                  / "tianyi-lab+HallusionBench" / "repo")
    return path if path.is_dir() else None


def _git(gitdir: Path, *args: str) -> str | None:
    done = subprocess.run(["git", "--git-dir", str(gitdir), *args], capture_output=True,
                          text=True)
    return done.stdout if done.returncode == 0 else None


def upstream_utils(*names: str) -> types.SimpleNamespace | None:
    """The named top-level functions of utils.py at the pinned commit (its blob id checked),
    compiled from the snapshot's text; ``None`` without the snapshot."""
    gitdir = snapshot_dir()
    if gitdir is None or (_git(gitdir, "rev-parse", f"{COMMIT}:utils.py") or "").strip() \
            != UTILS_BLOB:
        return None
    source = _git(gitdir, "show", f"{COMMIT}:utils.py")
    tree = ast.parse(source)
    wanted = [node for node in tree.body
              if isinstance(node, ast.FunctionDef) and node.name in names]
    assert {n.name for n in wanted} == set(names), "utils.py no longer defines them all"
    namespace: dict = {}
    exec(compile(ast.Module(body=wanted, type_ignores=[]), "utils.py@744007c", "exec"),
         namespace)
    return types.SimpleNamespace(**{n: namespace[n] for n in names})
