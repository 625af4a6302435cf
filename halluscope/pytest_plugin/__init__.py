"""pytest plugin: fail a test run when a model starts hallucinating more.

Registered through the ``pytest11`` entry point as ``halluscope`` (or ``-p
halluscope.pytest_plugin`` / ``pytest_plugins = ["halluscope.pytest_plugin"]`` from a source
tree; the plugin never registers twice). Importing it loads only pytest and the standard
library: audits, numpy and metric code load when a fixture is first used.

Fixtures
    ``halluscope_auditor`` (session): ``.audit(outputs=None, **overrides) -> AuditResult``, with
    the command-line/ini options applied and identical audits run once per process.
    ``halluscope_audit`` (function): the AuditResult of the configured outputs (options of the
    test's ``@pytest.mark.halluscope`` applied), with ``assert_below``, ``assert_above`` and
    ``assert_no_regression``.
    ``halluscope_baseline`` (function): the baseline file and ``.check(result, name, tolerance)``.

Marker
    ``@pytest.mark.halluscope(metric="chair.chair_i", max_rate=0.05, bound="upper",
    confidence=0.95)`` checks the metric after the test body; ``min_value=`` checks from below,
    ``no_regression=True`` against the baseline; other keywords (``confidence``, ``metrics``,
    ``outputs``, ``n_boot``, any :class:`~halluscope.config.AuditConfig` field) configure the
    audit.

Options (group ``halluscope``; each also an ini key, e.g. ``halluscope_outputs``)
    ``--halluscope-outputs``, ``--halluscope-annotations`` (COCO instances), ``--halluscope-gt-
    objects``, ``--halluscope-questions``, ``--halluscope-metrics``, ``--halluscope-out``,
    ``--halluscope-baseline``, ``--halluscope-update-baseline``, ``--halluscope-tolerance``,
    ``--halluscope-offline``, ``--halluscope-cache-dir``, ``--halluscope-report``.

Offline mode (``--halluscope-offline``; else ``$HALLUSCOPE_OFFLINE``, else the ini key) sets
``HALLUSCOPE_OFFLINE=1`` and ``options["offline"] = True`` in every audit's config: adapters
answer from their cache only, and a missing answer fails the test naming the model and cache.

Results: a ``halluscope`` section in the terminal summary (audited metrics, answers cut short,
every assertion), JUnit XML properties, an optional JSON report; under pytest-xdist the workers
send their records to the controller, which prints and writes the merged result.
"""

from __future__ import annotations

import json
import sys
import tempfile
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from halluscope.pytest_plugin.auditor import Auditor, fail_alone, gate_result, short_key
from halluscope.pytest_plugin.markers import ASSERT_KEYS as _ASSERT_KEYS
from halluscope.pytest_plugin.markers import gate_kwargs, marker_bound, marker_mistake
from halluscope.pytest_plugin.settings import (DEFAULT_BASELINE, ENV_OFFLINE, Settings,
                                               pytest_addoption)
from halluscope.pytest_plugin.stops import (crash_entry, fail_clashed, junit_path, no_verdict,
                                            receive_updates, record_update, relabel_junit,
                                            send_updates, stopped_early, update_outcome,
                                            withhold_updates, worker_crashed)
from halluscope.pytest_plugin.summary import write_report, write_summary

if TYPE_CHECKING:  # pragma: no cover
    from halluscope.gates.assertions import Outcome
    from halluscope.result import AuditResult

PLUGIN_NAMES = ("halluscope", "halluscope.pytest_plugin")
MARKER = "halluscope"
# Keywords the auditor takes besides the audit options (see Auditor.audit).
_AUDITOR_KEYS = frozenset({"outputs", "inputs", "records", "model", "offline", "options"})


# -- registration ---------------------------------------------------------------------------
def pytest_plugin_registered(plugin: Any, plugin_name: str, manager: Any) -> None:
    """Once registered under one name (entry point or module path), block the other, so that an
    installed entry point and a ``pytest_plugins``/``-p`` line never register the plugin twice."""
    if plugin is not sys.modules[__name__]:
        return
    for other in PLUGIN_NAMES:
        if other != plugin_name and manager.get_plugin(other) is None \
                and not manager.is_blocked(other):
            manager.set_blocked(other)


# -- state ----------------------------------------------------------------------------------
_STATE = pytest.StashKey["GateSession"]()
_ACTIVE: list[GateSession] = []   # innermost session last (pytester runs nest sessions)


def _worker_id(config: pytest.Config) -> str | None:
    workerinput = getattr(config, "workerinput", None)
    return workerinput.get("workerid") if workerinput else None


def _metric_table(result: AuditResult) -> dict[str, dict[str, Any]]:
    from halluscope.gates.baseline import entry_from_result
    table = {}
    for name, summary in result.metrics.items():
        for stat, res in summary.results.items():
            table[f"{name}.{stat}"] = entry_from_result(res)
    return table


class GateSession:
    """Per-session state: settings, audits run, assertions seen, baseline updates."""

    def __init__(self, config: pytest.Config, settings: Settings):
        self.config = config
        self.settings = settings
        self.worker = _worker_id(config)
        self.auditor = Auditor(self)
        self.audits: dict[str, dict[str, Any]] = {}
        self.outcomes: list[dict[str, Any]] = []
        self.updates: dict[str, dict[str, Any]] = {}
        self.update_tests: dict[str, str | None] = {}  # name -> the test that recorded it
        self.clashed: dict[str, str] = {}  # name -> why: two audits wrote other values
        self.sending: list[dict[str, Any]] = []   # an xdist worker's values for the next report
        self.relabel: dict[str, list[tuple[str, str]]] = {}  # test -> (name, clash) found late
        self.errors: list[dict[str, Any]] = []    # gate tests that failed with no verdict
        self.exitstatus: int | None = None
        self.incomplete: list[str] = []           # why the session did not run through
        self.withheld: list[str] = []   # names recorded by an incomplete update: not written
        self.current: pytest.Item | None = None
        self._baseline: dict[str, Any] | None = None
        self._tmp: Path | None = None
        self._undo = ExitStack()        # what start() changed, put back by stop()
        self.junit = junit_path(config)  # --junitxml's file: its baseline verdicts made final

    # -- lifecycle
    def start(self) -> None:
        from halluscope.gates.assertions import add_observer
        add_observer(self.observe)
        _ACTIVE.append(self)
        if self.settings.offline:       # until stop(): put back as it was (unset, or its value)
            from halluscope.environ import environ_set
            self._undo.enter_context(environ_set({ENV_OFFLINE: "1"}))

    def stop(self) -> None:
        from halluscope.gates.assertions import remove_observer
        remove_observer(self.observe)
        if self in _ACTIVE:
            _ACTIVE.remove(self)
        self._undo.close()
        if self._tmp is not None:
            import shutil
            shutil.rmtree(self._tmp, ignore_errors=True)

    def scratch(self) -> Path:
        if self._tmp is None:
            self._tmp = Path(tempfile.mkdtemp(prefix="halluscope-pytest-"))
        return self._tmp

    # -- records
    def observe(self, outcome: Outcome) -> None:
        """Record a check made by a test that uses the plugin (a ``halluscope_*`` fixture or
        the marker); checks in other tests, and in nested pytester sessions, are not ours."""
        if not _ACTIVE or _ACTIVE[-1] is not self:
            return
        item = self.current
        if item is None or not _uses_plugin(item):
            return
        outcome = replace(outcome, nodeid=item.nodeid)
        verdict = "passed" if outcome.passed else "FAILED"
        item.user_properties.append((f"halluscope.{outcome.kind}.{outcome.name}",
                                     f"{verdict}: {outcome.describe()}"))
        data = outcome.to_dict()
        data["worker"] = self.worker
        self.outcomes.append(data)

    def record_audit(self, key: str, inputs: list[str], result: AuditResult,
                     out: Path | None, overrides: dict[str, Any] | None = None) -> None:
        # the report is a file CI uploads: the audit's keywords (a ray_address with its
        # password, an api_key in an option) leave redacted, as the run sheet's do
        from halluscope.redact import redact_mapping
        from halluscope.query_sheets import partial_said
        from halluscope.report.console import finish_facts, variants_said
        from halluscope.result import stopped_said
        self.audits[key] = {
            "key": short_key(key), "inputs": inputs,
            "overrides": redact_mapping({k: str(v) if isinstance(v, Path) else v
                                         for k, v in (overrides or {}).items()}),
            "metrics": _metric_table(result),
            "n_items": len(result.items), "n_errors": len(result.errors),
            # the variant each metric ran, and where its numbers are not quite that variant's
            "variants": variants_said((result.runsheet or {}).get("metrics")),
            "unscored": {k: list(v) for k, v in result.unscored.items()},
            "out": str(out) if out else None, "workers": [self.worker] if self.worker else [],
            # answers cut short or of an unknown finish reason, said beside the numbers
            "finish": [f"{n:,} answer(s) {what}: {how}" for n, what, how in finish_facts(result)],
            # inputs of a query run that did not finish: numbers over some requests only
            "partial": partial_said(result.unfinished_inputs) if result.unfinished_inputs
            else None,
            # inputs whose reading a syntax error stopped: numbers over their first part only
            "read_in_part": [stopped_said(e) for e in result.stopped_reading],
        }

    # -- baseline
    def baseline_values(self) -> dict[str, Any]:
        if self._baseline is None:
            from halluscope.gates.baseline import BaselineError, load_baseline
            try:
                self._baseline = load_baseline(self.settings.baseline)
            except BaselineError as exc:
                fail_alone(str(exc))
        return self._baseline

    def check_regression(self, result: AuditResult, name: str,
                         tolerance: float | None = None) -> Outcome:
        __tracebackhide__ = True
        from halluscope.gates.assertions import check_name, check_regression, checked_tolerance
        # checked in both modes: an update run took tolerance=-1 and the next run refused it
        check_name(name)
        tol = checked_tolerance(self.settings.tolerance if tolerance is None else tolerance)
        if self.settings.update_baseline:
            outcome = update_outcome(self, result, name, tol)
            self.observe(outcome)
            if not outcome.passed:
                from halluscope.gates.assertions import HalluscopeAssertionError
                raise HalluscopeAssertionError(outcome)
            return outcome
        return check_regression(result, self.baseline_values(), name, tol,
                                source=self.settings.baseline)

    # -- hooks
    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: Any):
        self.current = item
        try:
            return (yield)
        finally:
            self.current = None

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo):
        """Put the first line of a halluscope failure in the short summary (instead of the
        exception's long class path)."""
        report = yield
        send_updates(self, report)
        exc = call.excinfo.value if call.excinfo is not None else None
        module = sys.modules.get("halluscope.gates.assertions")
        if report.failed and module is not None \
                and isinstance(exc, module.HalluscopeAssertionError):
            crash = getattr(report.longrepr, "reprcrash", None)
            if crash is not None and hasattr(crash, "message"):
                crash.message = "AssertionError: " + str(exc).split("\n", 1)[0]
        elif report.failed and _uses_plugin(item) and not any(
                o["nodeid"] == item.nodeid and not o["passed"] for o in self.outcomes):
            self.errors.append(no_verdict(item.nodeid, report.when, exc, self.worker))
        return report

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """pytest-xdist, on the controller: a baseline value that clashes with another
        worker's fails the test's report before pytest counts it."""
        receive_updates(self, report)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item):
        for marker in item.iter_markers(MARKER):
            problem = marker_mistake(marker)
            if problem:
                pytest.fail(problem, pytrace=False)
        gates = [m for m in item.iter_markers(MARKER) if gate_kwargs(m)]
        _check_names_first(item, gates)
        result = yield
        if gates:
            _run_marker_gates(self, item, gates)
        return result

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: Any) -> None:
        if self.worker is not None:
            self.config.workeroutput["halluscope"] = json.dumps(  # type: ignore[attr-defined]
                {"audits": self.audits, "outcomes": self.outcomes, "errors": self.errors,
                 "sending": self.sending},      # (values recorded outside a test)
                default=str)
            return
        if self.clashed and exitstatus == pytest.ExitCode.OK:   # (a clash across workers)
            session.exitstatus = exitstatus = pytest.ExitCode.TESTS_FAILED
        self.exitstatus = int(exitstatus)
        if (why := stopped_early(exitstatus, session)) is not None:
            self.incomplete.append(why)
        fail_clashed(self)
        withhold_updates(self)
        if self.updates:
            from halluscope.gates.baseline import write_baseline
            write_baseline(self.settings.baseline, self.updates)
        if self.settings.report:
            self.write_report(self.settings.report)

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        """pytest-xdist, on the controller: merge what a worker audited and asserted."""
        if error is not None:        # died: what it audited and asserted never came back
            self.incomplete.append(worker_crashed(node, error))
        raw = getattr(node, "workeroutput", {}).get("halluscope")
        if not raw:
            return
        data = json.loads(raw)
        for key, audit in data.get("audits", {}).items():
            mine = self.audits.get(key)
            if mine is None:
                self.audits[key] = audit
            else:
                mine["workers"] = sorted(set(mine["workers"]) | set(audit["workers"]))
        self.outcomes.extend(data.get("outcomes", []))
        self.errors.extend(data.get("errors", []))
        for update in data.get("sending", []):   # the values the reports carried are in
            record_update(self, update["name"], update["entry"], None)

    @pytest.hookimpl(optionalhook=True, trylast=True)
    def pytest_handlecrashitem(self, crashitem: str, report: Any, sched: Any) -> None:
        """pytest-xdist, on the controller: the test a worker died in (unless rerun)."""
        if report.outcome == "failed":
            self.errors.append(crash_entry(crashitem, report))

    def write_report(self, path: Path) -> None:
        write_report(self, path)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        write_summary(self, terminalreporter)


def _uses_plugin(item: pytest.Item) -> bool:
    names = getattr(item, "fixturenames", ())
    return any(n.startswith("halluscope_") for n in names) \
        or item.get_closest_marker(MARKER) is not None


# -- marker ---------------------------------------------------------------------------------
def _audit_overrides(item: pytest.Item) -> dict[str, Any]:
    """Audit options from the test's halluscope markers (closest marker wins). A keyword that
    is neither an assertion keyword nor an audit option fails the test, naming the nearest."""
    from halluscope.config import AuditConfig
    from halluscope.gates import suggest
    known = set(_ASSERT_KEYS) | set(AuditConfig.model_fields) | _AUDITOR_KEYS
    out: dict[str, Any] = {}
    for marker in item.iter_markers(MARKER):
        for key, value in marker.kwargs.items():
            if key not in known:
                pytest.fail(f"@pytest.mark.halluscope: unknown keyword {key!r}"
                            f"{suggest(key, known)} (assertions: "
                            f"{', '.join(sorted(_ASSERT_KEYS))}; or any audit option)",
                            pytrace=False)
            if key not in _ASSERT_KEYS:
                out.setdefault(key, value)
    return out


def _check_names_first(item: pytest.Item, gates: list[pytest.Mark]) -> None:
    """Fail the test before its body runs when a name it will check for sure (its gate
    markers', its body's literal ``halluscope_audit.assert_*`` names) is not in the audit:
    every such name at once, rather than one per run as each assertion is reached."""
    __tracebackhide__ = True
    from halluscope.pytest_plugin.early import body_names, unknown_names
    names = [(kw["metric"], f"@pytest.mark.halluscope(metric={kw['metric']!r})")
             for kw in map(gate_kwargs, gates) if isinstance(kw.get("metric"), str)]
    if "halluscope_audit" in getattr(item, "fixturenames", ()):
        names += body_names(item)
    if not names:
        return
    result = getattr(item, "funcargs", {}).get("halluscope_audit")
    request = getattr(item, "_request", None)
    if result is None and request is not None:
        result = request.getfixturevalue("halluscope_audit")
    problems = unknown_names(result, names) if result is not None else []
    if problems:
        pytest.fail("\n".join(problems) + "\n(names looked up before the test body ran)",
                    pytrace=False)


def _run_marker_gates(session: GateSession, item: pytest.Item, gates: list[pytest.Mark]
                      ) -> None:
    __tracebackhide__ = True
    from halluscope.errors import ConfigError
    from halluscope.gates.assertions import HalluscopeAssertionError
    result = getattr(item, "funcargs", {}).get("halluscope_audit")
    if result is None:
        request = getattr(item, "_request", None)
        if request is None:
            pytest.fail("@pytest.mark.halluscope gates need the halluscope_audit fixture: add "
                        "it to the test's arguments", pytrace=False)
        result = request.getfixturevalue("halluscope_audit")
    failures = []
    for marker in gates:
        kw = gate_kwargs(marker)
        name = kw.get("metric")
        if not name:
            pytest.fail(f"@pytest.mark.halluscope({', '.join(f'{k}={v!r}' for k, v in kw.items())}"
                        f"): name the metric, e.g. metric='chair.chair_i'", pytrace=False)
        bound = kw.get("bound")
        checks = []
        for key, assert_, side in (("max_rate", result.assert_below, "below"),
                                   ("max_value", result.assert_below, "below"),
                                   ("min_value", result.assert_above, "above"),
                                   ("min_rate", result.assert_above, "above")):
            if kw.get(key) is not None:         # every threshold given is checked
                checks.append(lambda f=assert_, t=kw[key], b=marker_bound(bound, side):
                              f(name, t, bound=b))
        if kw.get("no_regression"):
            checks.append(lambda: result.assert_no_regression(name, kw.get("tolerance")))
        for check in checks:
            try:
                check()
            except HalluscopeAssertionError as exc:
                failures.append(str(exc))
            except (ConfigError, ValueError) as exc:   # the marker's own mistake (a metric or
                # bound misspelled, a threshold that is no number): said, not a plugin traceback
                failures.append(f"@pytest.mark.halluscope(metric={name!r}): {exc}")
    if failures:
        pytest.fail("\n\n".join(failures), pytrace=False)


# -- rootdir ---------------------------------------------------------------------------------
@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser,
                                  args: list[str]) -> None:
    """``--halluscope-outputs PATH`` (a space, not ``=``) works as ``--halluscope-outputs=PATH``.

    pytest decides its rootdir and ini file from the command line before it loads plugins, so it
    took PATH for a test path and moved the rootdir to PATH's folder. Now that this plugin's
    options are known, decide them again from the real test paths."""
    ns = early_config.known_args_namespace
    if not getattr(ns, "halluscope_outputs", None) or getattr(ns, "rootdir", None) \
            or getattr(ns, "inifilename", None):
        return
    try:
        from _pytest.config.findpaths import determine_setup
        rootpath, inipath, inicfg, ignored = determine_setup(
            inifile=None, override_ini=ns.override_ini, args=ns.file_or_dir,
            rootdir_cmd_arg=None, invocation_dir=early_config.invocation_params.dir)
    except (ImportError, TypeError):  # another pytest: leave its decision alone
        return
    if rootpath == early_config.rootpath and inipath == early_config.inipath:
        return
    old_cut = str(early_config.inipath.parent if early_config.inipath else
                  early_config.rootpath)
    early_config._rootpath, early_config._inipath = rootpath, inipath
    early_config._inicfg, early_config._ignored_config_files = inicfg, ignored
    early_config._inicache.clear()
    parser.extra_info["rootdir"], parser.extra_info["inifile"] = str(rootpath), str(inipath)
    if ns.confcutdir == old_cut:
        ns.confcutdir = str(inipath.parent if inipath else rootpath)


# -- fixtures -------------------------------------------------------------------------------
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "halluscope(metric=None, max_rate=None, min_value=None, bound=None, confidence=0.95, "
        "no_regression=False, tolerance=None, **audit_options): check a hallucination metric "
        "of the halluscope_audit fixture after the test body (bound: None for the point "
        "estimate, 'upper'/'lower' for an end of the confidence interval)")
    session = GateSession(config, Settings.from_config(config))
    config.stash[_STATE] = session
    config.pluginmanager.register(session, "halluscope-session")
    session.start()


def pytest_unconfigure(config: pytest.Config) -> None:
    session = config.stash.get(_STATE, None)
    if session is not None:
        relabel_junit(session, session.junit)   # written at sessionfinish, by then
        session.stop()
        config.pluginmanager.unregister(session)
        del config.stash[_STATE]


@pytest.fixture(scope="session")
def halluscope_auditor(pytestconfig: pytest.Config) -> Auditor:
    """Runs audits with the plugin's options: ``halluscope_auditor.audit(**overrides)``."""
    return pytestconfig.stash[_STATE].auditor


@pytest.fixture
def halluscope_audit(request: pytest.FixtureRequest, halluscope_auditor: Auditor
                     ) -> AuditResult:
    """The AuditResult of the configured outputs, with the test's marker options applied."""
    __tracebackhide__ = True
    session = request.config.stash[_STATE]
    result = halluscope_auditor.audit(**_audit_overrides(request.node))
    for name, value in result.summary.items():      # no value: "n/a", as the summary says
        request.node.user_properties.append((f"halluscope.{name}",
                                             "n/a" if value is None else value))
    return gate_result(result, session)


class BaselineGate:
    """The baseline file of this run: ``check(result, name, tolerance=None)``."""

    def __init__(self, session: GateSession):
        self._session = session

    @property
    def path(self) -> Path:
        return self._session.settings.baseline

    @property
    def updating(self) -> bool:
        return self._session.settings.update_baseline

    @property
    def values(self) -> dict[str, dict[str, Any]]:
        return dict(self._session.baseline_values().get("metrics", {}))

    def check(self, result: AuditResult, name: str, tolerance: float | None = None) -> Outcome:
        __tracebackhide__ = True
        return self._session.check_regression(result, name, tolerance)


@pytest.fixture
def halluscope_baseline(pytestconfig: pytest.Config) -> BaselineGate:
    """The baseline file (``--halluscope-baseline``) and a regression check against it."""
    return BaselineGate(pytestconfig.stash[_STATE])
