"""The house is one-way (issue 11): counting every import, including those inside functions and
TYPE_CHECKING blocks, no room imports a room of a higher layer (the layer map is
``scripts/import_graph.py``'s ``LAYERS``, written once) and the rooms form no cycle. An arrow
or a cycle that is not listed below fails (both lists are empty now: keep them so)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: Cycles still standing (rooms), to be broken (none left).
KNOWN_CYCLES: list[set[str]] = []

#: Arrows that still climb a layer (none left: AuditResult imports neither the report writer
#: nor the gates, which halluscope/api.py adds above them, and ``suggest`` lives in errors).
KNOWN_CLIMBS: set[tuple[str, str]] = set()


def _graph_module():
    spec = importlib.util.spec_from_file_location("import_graph",
                                                  ROOT / "scripts" / "import_graph.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_no_new_import_cycle_between_rooms():
    g = _graph_module()
    edges = g.graph("room")
    found = [set(c) for c in g.cycles(edges)]
    new = [sorted(c) for c in found if not any(c <= known for known in KNOWN_CYCLES)]
    assert not new, ("import cycle(s) between rooms: " + "; ".join(" <-> ".join(c) for c in new)
                     + "\n" + "\n".join(f"{a} -> {', '.join(sorted(b))}"
                                        for a, b in sorted(edges.items())
                                        if any(a in c for c in new)))


def test_no_import_climbs_a_layer():
    """Every room is in one layer of the map, and imports only its own layer and those below."""
    g = _graph_module()
    layer = g.layer_of()
    placed = [room for _, rooms in g.LAYERS for room in rooms]
    assert len(placed) == len(set(placed)), "a room is in two layers of LAYERS"
    edges = g.graph("room")
    climbing = [(a, b) for a, b in g.climbs(edges) if (a, b) not in KNOWN_CLIMBS]
    names = [name for name, _ in g.LAYERS]

    def where(room):
        return f"{room} ({names[layer[room]]})" if room in layer else f"{room} (in no layer)"

    assert not climbing, "imports that climb a layer (or rooms missing from LAYERS):\n" + \
        "\n".join(f"{where(a)} -> {where(b)}" for a, b in climbing)


def test_the_layer_check_sees_a_climbing_import():
    """The check is not blind: an arrow from a low room to a high one is reported, and so is a
    room no layer holds."""
    g = _graph_module()
    from collections import Counter
    assert g.climbs({"types": Counter({"checks": 1})}) == [("types", "checks")]
    assert g.climbs({"claims": Counter({"evidence": 1})}) == [("claims", "evidence")]
    assert g.climbs({"evidence": Counter({"claims": 1})}) == []
    assert g.climbs({"newroom": Counter({"errors": 1})}) == [("newroom", "errors")]


def test_the_lowest_rooms_import_nothing_above_them():
    """records, types, errors, config and the version import no stage of the audit."""
    g = _graph_module()
    edges = g.graph("room")
    stages = {"adapters", "judges", "claims", "evidence", "checks", "verification",
              "metrics", "pipeline", "engines", "result", "report", "gates", "cli",
              "pytest_plugin", "halluscope"}
    for low in ("records", "types", "errors", "config", "_version", "redact", "imageio",
                "jsonblobs"):
        climbing = stages & set(edges.get(low, {}))
        assert not climbing, f"{low} imports {sorted(climbing)}"


def test_the_known_exceptions_still_exist():
    """An exception listed here that is gone is removed from the list (it cannot come back
    unnoticed)."""
    g = _graph_module()
    edges = g.graph("room")
    stale = [(a, b) for a, b in sorted(KNOWN_CLIMBS) if b not in edges.get(a, {})]
    assert not stale, f"no longer imported, remove from KNOWN_CLIMBS: {stale}"


#: House limits (issue 11): a module reads in one sitting, a function fits on a screen.
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80


def test_modules_and_functions_stay_small():
    import ast

    too_long = []
    for path in sorted((ROOT / "halluscope").rglob("*.py")):
        src = path.read_text(encoding="utf-8")
        rel = path.relative_to(ROOT)
        if src.count("\n") > MAX_MODULE_LINES:
            too_long.append(f"{rel}: {src.count(chr(10))} lines")
        for node in ast.walk(ast.parse(src)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n > MAX_FUNCTION_LINES:
                    too_long.append(f"{rel}:{node.lineno} {node.name}: {n} lines")
    assert not too_long, "split these: " + "; ".join(too_long)


def _twice_defined(source: str) -> list[str]:
    """Names a module or class body defines twice with ``def``/``class`` (the later one
    shadows the earlier; a property's setter and ``typing.overload`` aside)."""
    import ast
    from collections import Counter
    tree = ast.parse(source)
    found = []
    for scope in [tree, *(n for n in ast.walk(tree) if isinstance(n, ast.ClassDef))]:
        names = Counter(
            n.name for n in scope.body
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            and not any(isinstance(d, ast.Attribute) and d.attr in ("setter", "deleter")
                        or isinstance(d, ast.Name) and d.id == "overload"
                        for d in getattr(n, "decorator_list", ())))
        found += [name for name, count in names.items() if count > 1]
    return found


def test_no_module_defines_a_name_twice():
    """A bad merge (or edit) that leaves two definitions of one name runs the later and hides
    the earlier: adapters/images.py once held a stray copy of ``prepare`` this way."""
    assert _twice_defined("def f():\n    pass\n\n\ndef f():\n    pass\n") == ["f"]
    twice = {str(p.relative_to(ROOT)): names for p in sorted((ROOT / "halluscope").rglob("*.py"))
             if (names := _twice_defined(p.read_text(encoding="utf-8")))}
    assert twice == {}
