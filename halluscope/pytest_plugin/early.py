"""The gate names a test will check, looked up before its body runs.

A misspelled name (``"pope.f11"``, a group ``"pope.f1@split:randon"``) was found only when its
assertion ran: after the body's slow work, and never where an earlier assertion of the body
failed first, so one typo came to light per CI run. Before the body runs, the plugin looks up
in the audit's result every name the test will check for sure:

- each gate marker's ``metric``;
- each ``halluscope_audit.assert_below/assert_above/assert_no_regression(NAME, ...)`` written in
  the test function with a literal name (or a ``parametrize`` argument), in the statements
  that run whatever happens: the scan stops at the first ``if``, loop, ``try``, ``return`` or
  ``raise`` and at a call of ``pytest.skip``/``importorskip``/``xfail`` (a test may skip
  where a metric is absent), and leaves out a ``with pytest.raises(...)`` block (a name meant
  to be refused).

Names the scan cannot see (built at run time, in a helper, after a condition) are looked up
when used, as before. Imports only the standard library (and pytest's own objects it is given).
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from typing import Any

FIXTURE = "halluscope_audit"
ASSERTIONS = frozenset({"assert_below", "assert_above", "assert_no_regression"})
_PLAIN = (ast.Expr, ast.Assign, ast.AnnAssign, ast.AugAssign, ast.Assert, ast.Pass,
          ast.Import, ast.ImportFrom, ast.With, ast.AsyncWith)
_EXITS = frozenset({"skip", "importorskip", "xfail"})


def body_names(item: Any) -> list[tuple[str, str]]:
    """``(name, where)`` for each assertion on ``halluscope_audit`` that the test function's
    body makes unconditionally with a name known before it runs; ``[]`` where its source
    cannot be read."""
    func = getattr(item, "obj", None)
    try:
        lines, start = inspect.getsourcelines(func)
        tree = ast.parse(textwrap.dedent("".join(lines)))
    except (OSError, TypeError, SyntaxError, IndentationError):
        return []
    defs = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    if not defs:
        return []
    params = dict(getattr(getattr(item, "callspec", None), "params", {}) or {})
    path = getattr(item, "path", None)
    file = path.name if path is not None else "?"
    found: list[tuple[str, str]] = []
    _scan(defs[0].body, params, found, lambda line: f"{file}:{start + line - 1}")
    return found


def _scan(body: list[ast.stmt], params: dict[str, Any], found: list[tuple[str, str]],
          where: Any) -> bool:
    """Add the names of ``body``'s unconditional assertions; False once a statement may
    leave the body (the rest may not run)."""
    for stmt in body:
        if not isinstance(stmt, _PLAIN) or _exits(stmt):
            return False
        if isinstance(stmt, (ast.With, ast.AsyncWith)):
            if any(_called(item.context_expr) == "raises" for item in stmt.items):
                continue            # a name meant to be refused
            if not _scan(stmt.body, params, found, where):
                return False
            continue
        for node in ast.walk(stmt):
            name = _asserted_name(node, params)
            if name is not None:
                found.append((name, f"{FIXTURE}.{node.func.attr}({name!r}) at "  # type: ignore
                                    f"{where(node.lineno)}"))
    return True


def _called(node: ast.AST) -> str | None:
    """The attribute or function name a call expression calls (``pytest.raises`` -> raises)."""
    if not isinstance(node, ast.Call):
        return None
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else \
        func.id if isinstance(func, ast.Name) else None


def _exits(stmt: ast.stmt) -> bool:
    return any(_called(node) in _EXITS for node in ast.walk(stmt))


def _asserted_name(node: ast.AST, params: dict[str, Any]) -> str | None:
    if not isinstance(node, ast.Call) or not node.args:
        return None
    func = node.func
    if not (isinstance(func, ast.Attribute) and func.attr in ASSERTIONS
            and isinstance(func.value, ast.Name) and func.value.id == FIXTURE):
        return None
    arg = node.args[0]
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return arg.value
    if isinstance(arg, ast.Name) and isinstance(params.get(arg.id), str):
        return params[arg.id]
    return None


def unknown_names(result: Any, names: list[tuple[str, str]]) -> list[str]:
    """``"<where>: <why>"`` for each name ``result`` has no entry of (metric, statistic or
    group), with the nearest names, as the assertion itself would say it."""
    from halluscope.errors import HalluscopeError
    from halluscope.gates.arguments import bound_in_name, check_name
    problems = []
    for name, where in dict.fromkeys(names):
        try:
            check_name(name)
            result.get(bound_in_name(name, None)[0])
        except (HalluscopeError, KeyError, ValueError) as exc:
            problems.append(f"{where}: {exc}")
    return problems


__all__ = ["ASSERTIONS", "FIXTURE", "body_names", "unknown_names"]
