"""What the plugin's record of a session misses: tests that failed without a verdict, a
session that stopped before its tests had run, and a baseline name recorded twice.

The terminal section and the JSON report count assertions. A count of the assertions made is
a verdict only when the session ran through: a Ctrl-C after the first gate left a report with
``"passed": 1, "failed": 0, "errors": []``, and an xdist worker that died (a segfault in a model
library, the OOM killer) took the assertions of every test it had run with it while the report
listed the other worker's passes. The report now says ``"exitstatus"``, ``"complete"`` and, in
``"incomplete"``, why not; a crashed test is listed in ``"errors"`` (``"when": "crash"``).

Importing this module loads only pytest and the standard library.
"""

from __future__ import annotations

import json
from typing import Any

import pytest


def no_verdict(nodeid: str, when: str, exc: BaseException | None, worker: str | None
               ) -> dict[str, Any]:
    """A test that uses the plugin and failed before any check of its gave a verdict (a
    misspelled metric, an audit that failed): listed, as the summary and report counted
    only the checks and said "0 failed"."""
    if exc is None:
        message = "failed"
    elif isinstance(exc, pytest.fail.Exception):
        message = str(exc.msg or "failed")
    else:
        message = f"{type(exc).__name__}: {exc}"
    return {"nodeid": nodeid, "when": when, "message": message.split("\n", 1)[0],
            "worker": worker}


def stopped_early(exitstatus: Any, session: Any = None) -> str | None:
    """Why a session that ended with ``exitstatus`` did not run its tests through (``None``
    when it did: all passed, some failed, none collected): interrupted, an internal error, or
    ``-x``/``--maxfail`` (``session.shouldfail``), which stops after a failure that may be
    no gate's."""
    status = int(exitstatus)
    stop = getattr(session, "shouldfail", False) or getattr(session, "shouldstop", False)
    if status == pytest.ExitCode.INTERRUPTED:
        why = "session interrupted"
    elif status == pytest.ExitCode.INTERNAL_ERROR:
        why = "session stopped by an internal error"
    elif stop:
        why = f"session stopped early ({stop})" if isinstance(stop, str) else \
            "session stopped early"
    else:
        return None
    return (f"{why} (exit status {status}): the assertions counted are those made before it "
            f"stopped; tests that did not run made none, so the counts are not a verdict")


def worker_crashed(node: Any, error: Any) -> str:
    """Why a session whose xdist worker ``node`` died (``error``) is incomplete."""
    name = getattr(getattr(node, "gateway", None), "id", None) or "?"
    said = str(error).strip().splitlines()
    return (f"worker {name} crashed ({said[-1] if said else 'no reason given'}): the "
            f"assertions of the tests it ran are missing from these counts")


def crash_entry(crashitem: str, report: Any) -> dict[str, Any]:
    """The ``errors`` entry of the test a worker was running when it crashed."""
    worker = getattr(getattr(getattr(report, "node", None), "gateway", None), "id", None)
    return {"nodeid": crashitem, "when": "crash",
            "message": str(report.longrepr).split("\n", 1)[0], "worker": worker}


def record_update(session: Any, name: str, entry: dict[str, Any], test: str | None
                  ) -> str | None:
    """Keep ``entry`` in ``session.updates`` to record as ``name`` (by ``test``), unless
    another audit of this run recorded another value there
    (:func:`~halluscope.gates.baseline.entries_clash`): then neither is written (``name``
    joins ``session.clashed`` with the message) and the message is returned."""
    from halluscope.gates.baseline import entries_clash
    if name in session.clashed:          # a third audit: the name stays unrecorded
        return session.clashed[name]
    first = session.updates.get(name)
    clash = entries_clash(name, first, session.update_tests.get(name), entry, test) \
        if first is not None else None
    if clash is None:
        session.updates[name], session.update_tests[name] = entry, test
        return None
    session.clashed[name] = clash
    session.updates.pop(name, None)
    return clash


def fail_clashed(session: Any) -> None:
    """Every "recorded" outcome of a name that two audits wrote with different values fails,
    saying so: the test that recorded it first passed before the clash was known, and its
    value is not written either."""
    for o in session.outcomes:
        if o["kind"] == "baseline" and o["name"] in session.clashed:
            o.update(passed=False, message=session.clashed[o["name"]])


def send_updates(session: Any, report: Any) -> None:
    """On an xdist worker: the baseline values recorded during this phase of the test ride
    on its report (``report.halluscope_updates``), so that the controller finds a clash
    between two workers' values while the test is reported, in pytest's own counts."""
    if session.worker is not None and session.sending:
        report.halluscope_updates = json.dumps(session.sending, default=str)
        session.sending = []


def receive_updates(session: Any, report: Any) -> None:
    """On the controller: record the values a worker's test report carries
    (:func:`send_updates`); a value that clashes with another worker's fails the report,
    which pytest then counts and lists as failed, with the clash for its message (the test
    that recorded first passed before the clash was known: :func:`fail_clashed`). The test's
    later reports say so in their JUnit property (the worker wrote "passed: recorded")."""
    if session.worker is not None:
        return
    for name, clash in session.relabel.get(report.nodeid, ()):
        key = f"halluscope.baseline.{name}"
        report.user_properties = [(k, f"FAILED: {clash}" if k == key else v)
                                  for k, v in report.user_properties]
    raw = getattr(report, "halluscope_updates", None)
    for update in json.loads(raw) if raw else ():
        clash = record_update(session, update["name"], update["entry"], report.nodeid)
        if clash is not None and report.outcome == "passed":
            report.outcome, report.longrepr = "failed", clash
            session.relabel.setdefault(report.nodeid, []).append((update["name"], clash))


def update_outcome(session: Any, result: Any, name: str, tol: float) -> Any:
    """The outcome of recording ``name`` of ``result`` into the baseline under
    ``--halluscope-update-baseline`` (passed when recorded without a clash): a
    missing value, a value over no units and a partial run's numbers are never recorded, since
    a baseline of any of them would pass or fail later runs on nothing."""
    from halluscope.gates.assertions import Outcome, over_no_units, why_undefined
    from halluscope.gates.baseline import baseline_entry
    from halluscope.query_sheets import undecided_of
    metric = result.get(name)
    entry = baseline_entry(result, name)   # a value over no units is a default, not one
    undecided = undecided_of(result)
    recorded = entry["value"] is not None and not over_no_units(metric.n, metric.value) \
        and not undecided
    clash = record_update(session, name, entry, getattr(session.current, "nodeid", None)) \
        if recorded else None
    if recorded and session.worker is not None:   # for the controller too (send_updates)
        session.sending.append({"name": name, "entry": entry})
    baseline = session.settings.baseline
    if recorded:
        message = clash or f"{name}: recorded {entry['value']} into {baseline}"
    elif undecided:
        message = f"{name}: {undecided}"
    else:
        message = (f"{name}: has no value (n={metric.n}: {why_undefined(metric)}), so nothing "
                   f"was recorded into {baseline}; a baseline of a missing value would pass "
                   f"every later run")
    outcome = Outcome(
        kind="baseline", name=name, passed=recorded and clash is None, value=entry["value"],
        ci=tuple(metric.ci) if metric.ci is not None else None,
        confidence=metric.confidence, n=metric.n, higher_is_better=metric.higher_is_better,
        bound=None, compared=entry["value"],
        direction="above" if metric.higher_is_better else "below", limit=None,
        tolerance=tol, message=message)
    return outcome


def withhold_updates(session: Any) -> None:
    """An update run that did not run through (``session.incomplete``: Ctrl-C, ``-x``, a
    crashed worker) writes no baseline: the values recorded before the stop are a subset of
    the run's, and written they replaced good values or left a mix of two runs. Each
    "recorded" outcome is marked failed, saying so; the names go to ``session.withheld``."""
    if not session.incomplete or not session.updates:
        return
    where = session.settings.baseline
    session.withheld = sorted(session.updates)
    session.updates = {}
    said = (f"not written into {where}: the session is incomplete, and a baseline of the "
            f"values recorded before it stopped would mix runs")
    for o in session.outcomes:
        if o["kind"] == "baseline" and o["name"] in session.withheld and o["passed"]:
            o.update(passed=False, message=f"{o['name']}: recorded {o['value']}, but {said}")


def junit_path(config: Any) -> str | None:
    """The file ``--junitxml`` writes, resolved as pytest's junitxml resolves it when the
    session is configured (tests may change the working directory), on the process that writes
    it (not an xdist worker); ``None`` without one."""
    import os
    raw = getattr(getattr(config, "option", None), "xmlpath", None)
    if not raw or hasattr(config, "workerinput"):
        return None
    return os.path.normpath(os.path.abspath(os.path.expanduser(os.path.expandvars(raw))))


def relabel_junit(session: Any, path: str | None) -> None:
    """Give the JUnit XML pytest wrote at ``path`` each baseline recording's final verdict.
    A test's properties are written when it is reported: the test that recorded a name first
    said "passed: ... recorded" there, though a later test's other value for that name (a
    clash, :func:`fail_clashed`) or the stop of an update run (:func:`withhold_updates`)
    failed it after, as the halluscope section and JSON report say; its property now says
    ``FAILED:`` with why. Nothing else in the file changes."""
    final = {f"halluscope.baseline.{o['name']}": "FAILED: " + str(o.get("message") or "")
             .split("\n", 1)[0] for o in session.outcomes
             if o["kind"] == "baseline" and not o["passed"]
             and (o["name"] in session.clashed or o["name"] in session.withheld)}
    if not path or not final:
        return
    import logging
    import xml.etree.ElementTree as ET
    try:
        tree = ET.parse(path)
    except (OSError, ET.ParseError) as exc:     # no file (pytest stopped first): nothing said
        logging.getLogger(__name__).warning("halluscope: could not mark the failed baseline "
                                            "recordings in %s: %s", path, exc)
        return
    changed = False
    for prop in tree.iter("property"):
        new = final.get(prop.get("name", ""))
        if new is not None and prop.get("value", "").startswith("passed"):
            prop.set("value", new)
            changed = True
    if changed:
        from halluscope.atomicfiles import replace_atomically
        replace_atomically(path, lambda tmp: tree.write(tmp, encoding="utf-8",
                                                        xml_declaration=True))


def withheld_line(session: Any) -> str:
    """The summary's line for the names :func:`withhold_updates` kept out of the baseline."""
    return (f"baseline: NOT written ({len(session.withheld)} value(s) recorded before the "
            f"stop; the session is incomplete): {session.settings.baseline} is unchanged; "
            f"rerun the update through to the end")


__all__ = ["crash_entry", "fail_clashed", "junit_path", "no_verdict", "receive_updates",
           "record_update", "relabel_junit", "send_updates", "stopped_early", "withheld_line", "withhold_updates",
           "worker_crashed"]
