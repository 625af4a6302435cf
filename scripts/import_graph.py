"""The package's import graph between rooms (sub-packages and top-level modules), every import
counted, also those inside functions.

    python scripts/import_graph.py            # rooms, arrows (with counts), cycles, climbs
    python scripts/import_graph.py --modules  # the same between modules (no layers)

A room is ``halluscope.<first part>`` (``halluscope.metrics.chair`` is in room ``metrics``).
:data:`LAYERS` is the house's one layer map (tests/test_layers.py reads it): a room imports
only rooms of its own layer or of layers below; within a layer, imports must form no cycle.
"""

from __future__ import annotations

import ast
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "halluscope"

#: The layers, bottom up (issue 11): each room imports only its own layer and those below.
#: Claims sit below evidence: evidence names what it finds with claims' noun vocabulary
#: (claims/vocab.py, claims/coco.py); claims never import evidence. The result (AuditResult,
#: data) sits below the audit pipeline, which fills it and returns it.
LAYERS: tuple[tuple[str, frozenset[str]], ...] = tuple((name, frozenset(rooms)) for name, rooms in (
    ("records and types", {"records", "record_documents", "record_fields", "answer_fields", "prompt_kinds", "finish_reasons", "textfiles", "columns", "column_chunks", "column_json", "types", "errors", "_json", "_lazy", "_nltk",
                           "hashing", "cachedir", "redact", "imageio", "resources", "config", "_version",
                           "json_array", "jsonblobs", "journal", "journal_diff", "journal_safety", "runsheet", "atomicfiles", "tables", "table_lines", "benchmark_specs",
                           "_ray", "_ray_reaper", "numbers", "packages", "environ"}),
    ("adapters", {"adapters"}),
    ("judges", {"judges"}),
    ("claims", {"claims"}),
    ("evidence", {"evidence"}),
    ("checks", {"checks"}),
    ("verification", {"verification", "verification_ahead"}),
    ("metrics", {"metrics"}),
    ("result", {"result"}),
    ("audit pipeline", {"pipeline", "audit_inputs", "engine_choice", "scoring", "column_scoring", "column_journal", "engines", "threadlimits", "forkfiles", "stopping", "ray_engine", "readers", "finished", "late_fields",
                        "lmms_eval_log", "coco_caption", "benchmark_query", "device_use", "query_sheets",
                        "metric_inference"}),
    ("report and gates", {"report", "gates", "comparison", "compare_changes", "compare_inputs", "compare_lines", "compare_runs", "compare_groups",
                          "compare_by_group",
                          "tracking"}),
    ("faces", {"cli", "pytest_plugin", "api", "halluscope", "__main__"}),
))


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> list[str]:
    """Every halluscope module ``path`` imports (absolute and relative; any depth)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.extend(a.name for a in node.names if a.name.split(".")[0] == PACKAGE)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if mod.split(".")[0] != PACKAGE:
                continue
            for alias in node.names:  # `from halluscope.metrics import chair` names a module
                out.append(f"{mod}.{alias.name}")
    return out


def graph(level: str = "room") -> dict[str, Counter]:
    modules = {module_name(p): p for p in (ROOT / PACKAGE).rglob("*.py")}
    edges: dict[str, Counter] = defaultdict(Counter)

    def key(mod: str) -> str | None:
        while mod and mod not in modules:
            mod = mod.rpartition(".")[0]
        if not mod:
            return None
        if level == "module":
            return mod
        parts = mod.split(".")
        return parts[1] if len(parts) > 1 else parts[0]

    for mod, path in modules.items():
        src = key(mod)
        for target in imports_of(path):
            dst = key(target)
            if dst and dst != src:
                edges[src][dst] += 1
    return edges


def cycles(edges: dict[str, Counter]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]
    nodes = set(edges) | {d for c in edges.values() for d in c}

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return out


def layer_of() -> dict[str, int]:
    """Room -> its layer's index in :data:`LAYERS` (0 is the bottom)."""
    return {room: k for k, (_, rooms) in enumerate(LAYERS) for room in rooms}


def climbs(edges: dict[str, Counter]) -> list[tuple[str, str]]:
    """Arrows ``(importer, imported)`` that go up a layer, and arrows touching a room that no
    layer holds (a new room must be placed in :data:`LAYERS` first)."""
    layer = layer_of()
    return sorted((a, b) for a, targets in edges.items() for b in targets
                  if a not in layer or b not in layer or layer[b] > layer[a])


def main(argv: list[str]) -> int:
    level = "module" if "--modules" in argv else "room"
    edges = graph(level)
    for src in sorted(edges):
        arrows = ", ".join(f"{d} ({n})" for d, n in sorted(edges[src].items()))
        print(f"{src} -> {arrows}")
    found = cycles(edges)
    for comp in found:
        print("cycle: " + " <-> ".join(comp))
    up = climbs(edges) if level == "room" else []
    for a, b in up:
        print(f"climbs: {a} -> {b}")
    print(f"{len(edges)} {level}s importing others; {len(found)} cycle(s)"
          + (f"; {len(up)} arrow(s) climbing a layer" if level == "room" else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
