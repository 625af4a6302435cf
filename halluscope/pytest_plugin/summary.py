"""The pytest plugin's account of a session: the ``halluscope`` section of the terminal
summary and the JSON report (``--halluscope-report``), written on the controller from what
every worker sent. Imports only pytest and the standard library at import time."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from halluscope.pytest_plugin.stops import withheld_line


def write_report(session: Any, path: Path) -> None:
    """The JSON report (``--halluscope-report``) of ``session``."""
    from halluscope._version import __version__
    failed = sum(1 for o in session.outcomes if not o["passed"])
    report = {
        "halluscope": __version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "audits": list(session.audits.values()),
        "assertions": sorted(session.outcomes, key=lambda o: (o.get("nodeid") or "",
                                                              o["name"])),
        "passed": len(session.outcomes) - failed, "failed": failed,
        "errors": sorted(session.errors, key=lambda e: e["nodeid"]),
        "exitstatus": session.exitstatus, "complete": not session.incomplete,
        "incomplete": session.incomplete,
        "baseline": {"path": str(session.settings.baseline),
                     "updated": sorted(session.updates), "written": bool(session.updates),
                     "not_written": session.withheld}
        if session.updates or session.withheld else None,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str) + "\n",
                    encoding="utf-8")


def write_summary(session: Any, terminalreporter: Any) -> None:
    """The ``halluscope`` section of the terminal summary of ``session``."""
    if session.worker is not None or not (session.audits or session.outcomes
                                          or session.updates or session.errors
                                          or session.incomplete):
        return
    tr = terminalreporter
    from halluscope.report.visible import visible_controls as shown  # names from the data
    tr.write_sep("=", "halluscope")
    for audit in session.audits.values():
        names = sorted({n.split(".", 1)[0] for n in audit["metrics"]})
        here = Path(session.config.invocation_params.dir)
        where = ", ".join(_rel(p, session.settings.rootpath, here) for p in audit["inputs"])
        extra = ", ".join(f"{k}={v}" for k, v in sorted(audit.get("overrides", {}).items()))
        line = (f"audit {where or '<records>'} [{', '.join(names)}]"
                f"{f' ({extra})' if extra else ''}: {audit['n_items']} items, "
                f"{audit['n_errors']} problem(s)"
                + (f", {len(audit['unscored'])} metric(s) scored nothing"
                   if audit.get("unscored") else "")
                + (f" · {audit['variants']}" if audit.get("variants") else ""))
        if audit.get("workers"):
            line += f" (workers {', '.join(audit['workers'])})"
        tr.write_line(shown(line))
        for name, reasons in audit.get("unscored", {}).items():
            tr.write_line(shown(f"    {name} scored nothing: {'; '.join(reasons)}"),
                          red=True, bold=True)
        for said in audit.get("read_in_part", ()):
            tr.write_line(shown(f"    READ IN PART: {said}"), red=True, bold=True)
        if audit.get("partial"):
            tr.write_line(shown(f"    PARTIAL: {audit['partial']}; the numbers are over "
                                f"the answers held only"), red=True, bold=True)
        for line in audit.get("finish", ()):
            tr.write_line(shown(f"    {line}"), yellow=True, bold=True)
        for name, entry in audit["metrics"].items():
            if isinstance(entry.get("value"), int) and "ci" not in entry:
                continue  # counts (tp, fp, ...) are in results.json
            ci = entry.get("ci")
            text = f"    {name:<28} {_fmt(entry.get('value')):>8}"
            if ci:
                level = f"{round((entry.get('confidence') or 0.95) * 100, 1):g}%"
                text += f"   {level} CI [{_fmt(ci[0])}, {_fmt(ci[1])}]"
            tr.write_line(shown(text + f"   n={entry.get('n')}"))
        if audit.get("out"):
            tr.write_line(f"    results: {audit['out']}")
    if session.outcomes or session.errors:
        failed = [o for o in session.outcomes if not o["passed"]]
        errors = (f"; {len(session.errors)} test(s) failed without a verdict"
                  if session.errors else "")
        tr.write_line(f"assertions: {len(session.outcomes) - len(failed)} passed, "
                      f"{len(failed)} failed{errors}")
        for e in sorted(session.errors, key=lambda e: e["nodeid"]):
            tr.write_line(f"  ERROR {e['message']}  [{e['nodeid']}]", red=True, bold=True)
        for o in sorted(session.outcomes, key=lambda o: (o["passed"], o.get("nodeid") or "")):
            tag = "PASSED" if o["passed"] else "FAILED"
            markup = {"green": True} if o["passed"] else {"red": True, "bold": True}
            tr.write_line(f"  {tag} {_describe(o)}  [{o.get('nodeid') or '-'}]", **markup)
    for why in session.incomplete:
        tr.write_line(why, red=True, bold=True)
    if session.withheld:
        tr.write_line(withheld_line(session), red=True, bold=True)
    if session.updates:
        tr.write_line(f"baseline: recorded {len(session.updates)} value(s) in "
                      f"{session.settings.baseline}")
    if session.settings.report:
        tr.write_line(f"report: {session.settings.report}")


def _fmt(x: Any) -> str:
    if x is None:
        return "n/a"
    if isinstance(x, int) and not isinstance(x, bool):
        return str(x)
    return f"{float(x):.4f}"


def _describe(o: dict[str, Any]) -> str:
    """One line for an outcome that came back as a dict (from an xdist worker, too)."""
    from dataclasses import fields

    from halluscope.gates.assertions import Outcome
    known = {f.name for f in fields(Outcome)}
    ci = o.get("ci")
    return Outcome(**{**{k: v for k, v in o.items() if k in known},
                      "ci": tuple(ci) if ci else None}).describe()


def _rel(path: str, *roots: Path) -> str:
    """``path`` relative to the first of ``roots`` it lies under, else as it is."""
    for root in roots:
        try:
            return str(Path(path).relative_to(root)) or "."
        except ValueError:
            continue
    return str(path)


__all__ = ["write_report", "write_summary"]
