"""Doubts left by a bug hunt of the gates, the pytest plugin and the Python API: gate names
checked before scoring, bad halluscope.toml values named by file and line, the offline switch's
precedence, request errors in hand-built records, credentials in addresses, thresholds written
as text, gates that can never fail, and the tolerance of a baseline update."""

from __future__ import annotations

import re

import pytest

import halluscope
from halluscope.errors import ConfigError
from words_metric import RECORDS, Words



@pytest.fixture(scope="module")
def result():
    return halluscope.audit(records=RECORDS, metrics=[Words(n_boot=0)])


# -- 6: thresholds written as text --------------------------------------------------------------
@pytest.mark.parametrize("value", ["0.1", "0.9", True, None, [0.5]])
def test_gate_failures_refuses_a_threshold_that_is_no_number(result, value):
    """``gate_failures(above={"words.rate": "0.1"})`` read the text as 0.1 (it was pasted into
    ``name=value`` and parsed), while ``assert_below("words.rate", "0.1")`` refused it."""
    with pytest.raises(ValueError):
        result.assert_below("words.rate", value)
    with pytest.raises(ConfigError, match=r"^expected a number as the threshold of "
                                          r"words\.rate, got"):   # as assert_below says
        result.gate_failures(above={"words.rate": value})
    with pytest.raises(ConfigError, match="expected a number"):
        result.gate_failures(below={"words.rate": value})


def test_gate_failures_takes_numbers_still(result):
    assert result.gate_failures(above={"words.rate": 0.5}, below={"words.items": 4}) == []
    assert result.gate_failures(above={"words.rate": 0.4})     # 0.5 > 0.4


# -- 8: the tolerance of a baseline update ----------------------------------------------------------
@pytest.mark.parametrize("tolerance", [-0.1, float("nan"), float("inf"), "0.1", True])
def test_updating_the_baseline_checks_the_tolerance(result, tmp_path, tolerance):
    """``assert_no_regression(name, tolerance=-1)`` under ``--halluscope-update-baseline``
    recorded the value and passed; the next (comparing) run refused the tolerance."""
    from halluscope.pytest_plugin import GateSession
    from halluscope.pytest_plugin.settings import Settings
    session = GateSession(object(), Settings(update_baseline=True,
                                             baseline=tmp_path / "b.json", rootpath=tmp_path))
    with pytest.raises(ValueError, match="expected a tolerance >= 0"):
        session.check_regression(result, "words.rate", tolerance)
    assert session.updates == {}
    assert session.check_regression(result, "words.rate", 0.05).passed
    assert session.updates["words.rate"]["value"] == 0.5


# -- 4: a request error in a hand-built Record ------------------------------------------------------
def test_a_record_carrying_a_request_error_is_never_scored():
    """``Record(response="yes", metadata={"error": "timeout"})`` was scored, while the same
    dict (or JSON line) is a bad record: a failed request is never scored."""
    from halluscope.records import Record
    rows = [dict(r) for r in RECORDS]
    rows[1]["error"] = "HTTP 500: upstream timed out"
    by_dict = halluscope.audit(records=rows, metrics=[Words(n_boot=0)])
    hand = [Record(id=r["id"], task="caption", image=r["image"], response=r["response"],
                   metadata={k: v for k, v in r.items() if k not in ("id", "image", "response")})
            for r in rows]
    by_record = halluscope.audit(records=hand, metrics=[Words(n_boot=0)])
    for res in (by_dict, by_record):
        assert res.summary == {"words.rate": 0.5, "words.items": 3}
        [error] = res.errors
        assert error["field"] == "error" and error["line"] == 2
        assert error["message"].startswith("the model gave no answer: HTTP 500")
    ok = Record(id="z", task="caption", image="9.jpg", response="A dog.",
                metadata={"error": None})
    assert halluscope.audit(records=[ok], metrics=[Words(n_boot=0)]).summary["words.items"] == 1


# -- 3: the offline switch: command line over the environment over the ini file ---------------------
class _Config:
    """What :meth:`Settings.from_config` reads of a ``pytest.Config``."""

    def __init__(self, path, cli=None, ini=None):
        from types import SimpleNamespace
        self.invocation_params = SimpleNamespace(dir=path)
        self.inipath = path / "pytest.ini"
        self.rootpath = path
        self._cli, self._ini = cli or {}, ini or {}

    def getoption(self, name, default=None):
        return self._cli.get(name, default)

    def getini(self, name):
        return self._ini.get(name, False if name == "halluscope_offline" else None)


@pytest.mark.parametrize("env, ini, flag, offline", [
    (None, True, None, True), (None, False, None, False), (None, False, True, True),
    ("1", False, None, True),       # a CI job that forbids the network wins over the ini file
    ("true", False, None, True),
    ("0", True, None, False),       # ... and one that refreshes the cache
    ("false", False, None, False),  # read as the adapters read it: it was taken for "on"
    ("off", True, None, False), ("no", False, None, False), ("", True, None, True),
    ("0", False, True, True),       # the command line over both
])
def test_offline_precedence(tmp_path, monkeypatch, env, ini, flag, offline):
    """``HALLUSCOPE_OFFLINE`` decides over ``halluscope_offline`` in the ini file (documented),
    and any value the adapters read as off (``false``, ``no``, ``off``) is off for the plugin
    too: ``HALLUSCOPE_OFFLINE=false`` put the plugin offline while the adapters went online."""
    from halluscope.adapters.offline import is_offline
    from halluscope.pytest_plugin.settings import Settings
    if env is None:
        monkeypatch.delenv("HALLUSCOPE_OFFLINE", raising=False)
    else:
        monkeypatch.setenv("HALLUSCOPE_OFFLINE", env)
    settings = Settings.from_config(_Config(tmp_path, {"halluscope_offline": flag},
                                            {"halluscope_offline": ini}))
    assert settings.offline is offline
    if flag is None and env:          # the plugin and the adapters agree
        assert is_offline() is offline


# -- 5: credentials in a Ray address ----------------------------------------------------------------
SECRET = "S3cret-token-77"
ADDRESSES = [f"ray://user:{SECRET}@127.0.0.1:1", f"127.0.0.1:1?token={SECRET}",
             f"user:{SECRET}@127.0.0.1:1"]


@pytest.mark.parametrize("address", ADDRESSES)
def test_a_ray_address_loses_its_credentials_in_repr_run_sheet_and_messages(address):
    """``repr(result.config)`` redacted only ``options``: a ``ray_address`` with a token
    (``ray://user:TOKEN@host:10001``, ``host:10001?token=...``) was shown as given, and so was
    every error message about the cluster."""
    from halluscope._ray import _check_reachable
    from halluscope.config import AuditConfig
    from halluscope.redact import redact_mapping, redact_text
    cfg = AuditConfig(engine="ray", ray_address=address,
                      options={"judge_base_url": f"https://me:{SECRET}@judge.example/v1"})
    assert SECRET not in repr(cfg) and "127.0.0.1:1" in repr(cfg)
    assert SECRET not in str(redact_mapping(cfg.model_dump(mode="json")))   # the run sheet
    assert SECRET not in redact_text(f"connecting to {address}")            # logs, messages
    with pytest.raises(ConfigError) as caught:
        _check_reachable(address, timeout=1)
    assert SECRET not in str(caught.value) and "127.0.0.1:1" in str(caught.value)


def test_the_command_line_prints_no_credential_of_a_ray_address(tmp_path):
    import subprocess
    import sys
    from pathlib import Path
    root = Path(halluscope.__file__).resolve().parent.parent
    answers = tmp_path / "a.jsonl"
    answers.write_text('{"id": 1, "image": "x.jpg", "prompt": "Is there a dog in the image?", '
                       '"response": "yes", "label": "yes"}\n', encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "halluscope", "audit", str(answers), "-q",
                          "--metric", "pope", "--engine", "ray", "--ray-address", ADDRESSES[0],
                          "--out", str(tmp_path / "out")], capture_output=True, text=True,
                         cwd=root, timeout=300)
    assert run.returncode == 2, run.stderr
    assert "127.0.0.1:1" in run.stderr and SECRET not in run.stderr + run.stdout


@pytest.mark.parametrize("gate", ["pope.f1@split:random@lower=0.8",
                                  "chair.chair_i@model:m1@upper=0.1"])
def test_a_gate_with_a_group_and_a_bound_is_no_credential(gate):
    """``pope.f1@split:random@lower`` read as ``user:PASSWORD@host``: the run sheet's command,
    log lines and error lines showed ``pope.f1@split:<redacted>@lower``."""
    from halluscope.redact import redact_mapping, redact_text
    assert redact_text(f"--fail-below {gate}: ...") == f"--fail-below {gate}: ..."
    assert redact_mapping({"command": ["halluscope", "--fail-below", gate]})["command"][2] == gate
    assert SECRET not in redact_text(f"at {gate} and user:{SECRET}@host:6379")


# -- 7: gates that can never fail -------------------------------------------------------------------
def test_a_count_is_never_negative(result):
    """Counts had no range: ``--fail-below pope.tp=-5`` (``below={"words.items": -5}``) could
    never fail and ``--fail-above pope.tp=-5`` never pass; both are usage errors now."""
    for call in (lambda: result.gate_failures(below={"words.items": -5}),
                 lambda: result.gate_failures(above={"words.items": -0.5}),
                 lambda: result.assert_above("words.items", -1)):
        with pytest.raises(ConfigError, match=r"the threshold -\S+ of words.items is outside "
                                              r"its range \[0, inf\]: a count is never negative"):
            call()
    assert result.gate_failures(below={"words.items": 0}) == []     # a bound, not past it
    assert result.gate_failures(above={"words.items": 3})            # 4 > 3


def test_gates_that_pass_more_easily_or_cannot_fail_on_a_value_are_said(caplog):
    """``--fail-above X@lower`` (the lower end of the interval under a maximum: easier to pass
    than the value) and a gate at the end of a range (a rate at most 1) were taken in silence."""
    result = halluscope.audit(records=RECORDS, metrics=[Words(n_boot=200)])
    with caplog.at_level("WARNING"):
        assert result.gate_failures(above={"words.rate@lower": 0.9}) == []
    assert re.search(r"words.rate@lower=0.9: the lower end of the interval passes more easily "
                     r"than the value", caplog.text)
    caplog.clear()
    with caplog.at_level("WARNING"):
        result.assert_above("words.rate", 0.1, bound="upper")
    assert "the upper end of the interval passes more easily" in caplog.text
    for gate in ({"above": {"words.rate": 1}}, {"below": {"words.items": 0}},
                 {"below": {"words.rate@upper": 0.0}}):
        caplog.clear()
        with caplog.at_level("WARNING"):
            assert result.gate_failures(**gate) == []
        assert "can fail on no value" in caplog.text, gate
    caplog.clear()
    with caplog.at_level("WARNING"):       # the usual gates say nothing
        result.gate_failures(above={"words.rate@upper": 0.9}, below={"words.items": 1})
        result.assert_below("words.rate", 0.95, bound="conservative")
    assert caplog.text == ""


# -- 1: gate names checked before scoring -------------------------------------------------------------
from pathlib import Path  # noqa: E402

DATA = Path(__file__).resolve().parent.parent / "data"


def _cli(*args):
    from typer.testing import CliRunner

    from halluscope.cli import app
    res = CliRunner().invoke(app, ["audit", *map(str, args)])
    return res.exit_code, res.output


@pytest.mark.parametrize("args, said", [
    (["--fail-above", "chair.chiar_i=0.1"],
     r"--fail-above chair.chiar_i=0.1: metric 'chair' has no statistic 'chiar_i'; did you mean "
     r"'chair_i'"),
    (["--fail-below", "pop.f1=0.8"], r"no metric 'pop' in this audit; did you mean 'pope'"),
    (["--metric", "chair", "--fail-below", "pope.f1=0.8"],
     r"--fail-below pope.f1=0.8: no metric 'pope' in this audit \(it runs: chair\)"),
    (["--fail-above", "chair.chair_i=12"], r"rates are fractions: did you mean 0.12\?"),
    (["--fail-below", "pope.tp=-5"], r"outside its range \[0, inf\]: a count is never negative"),
    (["--fail-below", "pope.f1@lowr=0.8"], r"did you mean @lower\?"),
])
def test_a_wrong_gate_stops_the_audit_before_it_scores(tmp_path, args, said):
    """A misspelled gate was found only after the whole audit had run and written its outputs
    (then exit 2): hours lost on a large audit. Now it exits 2 before the first record."""
    out = tmp_path / "out"
    code, text = _cli(DATA, "--quiet", "--out", out, *args)
    assert code == 2 and re.search(said, " ".join(text.split())), text
    assert not out.exists() or not any(out.iterdir())      # nothing was scored or written


def test_metrics_declare_the_statistics_they_will_compute():
    """What the CLI checks a gate's statistic against before scoring; ``None`` where only
    scoring tells (the gate is then checked after, as before)."""
    from halluscope.config import AuditConfig
    from halluscope.metrics.base import metric_class
    from halluscope.metrics.consistency import SelfConsistencyMetric
    cfg = AuditConfig(options={"amber_variant": "refined"})
    amber = metric_class("amber").declared_statistics(cfg)
    assert {"amber_score", "chair", "n_generative"} <= set(amber)
    assert "claim_jaccard" in SelfConsistencyMetric.declared_statistics(cfg)
    hb = metric_class("hallusionbench")       # by variant: the judged ones add the bias
    assert {"aacc", "unanswered", "yes_no_pct_diff"} <= set(hb.declared_statistics(cfg))
    keyword = AuditConfig(options={"hallusionbench_variant": "vlmevalkit"})
    assert list(hb.declared_statistics(keyword)) == ["aacc", "facc", "qacc", "unverifiable",
                                                     "unanswered"]
    assert set(metric_class("pope").declared_statistics(cfg)) >= {"f1", "tp", "yes_ratio"}


def test_a_group_is_known_only_after_scoring(tmp_path, caplog):
    """Which groups exist depends on the records: a group value is still checked after."""
    (tmp_path / "gt.json").write_text('{"1": ["dog"], "2": ["car"]}')
    (tmp_path / "caps.jsonl").write_text(
        '{"image_id": 1, "caption": "A dog and a cat.", "model": "m1"}\n'
        '{"image_id": 2, "caption": "A car.", "model": "m1"}\n')
    out = tmp_path / "out"
    code, text = _cli(tmp_path / "caps.jsonl", "--metric", "chair", "--gt-objects",
                      tmp_path / "gt.json", "--out", out, "--no-report", "--bootstrap", "0",
                      "--quiet", "--fail-above", "chair.chair_i@model:m2=0.5")
    assert code == 2 and "no group 'model:m2'" in text and (out / "results.json").is_file()
    with caplog.at_level("WARNING"):
        code, text = _cli(tmp_path / "caps.jsonl", "--metric", "chair", "--gt-objects",
                          tmp_path / "gt.json", "--out", out, "--no-report", "--bootstrap",
                          "0", "--quiet", "--fail-above", "chair.chair_i@model:m1@lower=1")
    assert code == 1 and "cannot be compared" in text       # (no interval without bootstrap)
    said = [r.getMessage() for r in caplog.records]         # before scoring, once each
    assert said == [
        "--fail-above chair.chair_i@model:m1@lower=1: the lower end of the interval passes more "
        "easily than the value: the gate fails only when even the lower end is above 1; @upper "
        "passes only when the data show the value is at most 1",
        "--fail-above chair.chair_i@model:m1@lower=1: every value of chair.chair_i@model:m1 is "
        "at most 1 (its range is [0, 1]): the gate can fail on no value, only where there is "
        "none"], said


# -- 2: a bad value in halluscope.toml names the file, the line and the key ---------------------------
def _folder(tmp_path, line=""):
    """The sample folder with ``line`` in its halluscope.toml (in place of the sample's own
    setting of that key): the folder, the file and the line's number."""
    import shutil
    folder = tmp_path / "data"
    shutil.copytree(DATA, folder)
    toml = folder / "halluscope.toml"
    key = line.split(" ", 1)[0]
    lines = [ln for ln in toml.read_text(encoding="utf-8").splitlines()
             if not (key and ln.startswith(f"{key} ="))] + [line]
    toml.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder, toml, len(lines)


@pytest.mark.parametrize("line, said", [
    ('chair_variant = "refind"', r"chair_variant: .*expected chair_variant in \('original', "
                                 r"'refined'\), got 'refind'"),
    ('pope_parser = "orignal"', r"pope_parser: .*expected pope_parser in \(.*'original'.*\), "
                                r"got 'orignal'"),
    ('options = {claims_analytic = "maybe"}', r"options.claims_analytic: .*expected "
                                              r"claims_analytic in \('skip', 'include'\), "
                                              r"got 'maybe'"),
])
def test_a_bad_value_in_the_folders_toml_names_file_line_and_key(tmp_path, line, said):
    """``chair_variant = "refind"`` in a halluscope.toml failed with "expected CHAIR variant
    'original' or 'refined', got 'refind'": no file, no line, and only once CHAIR was built."""
    folder, toml, number = _folder(tmp_path, line)
    where = re.escape(f"{toml}:{number}: invalid [audit] table: ")
    with pytest.raises(ConfigError, match=where + said):
        halluscope.audit(folder, n_boot=0)
    code, text = _cli(folder, "--quiet", "--out", tmp_path / "out")
    assert code == 2 and re.search(where + said, " ".join(text.split())), text


def test_every_halluscope_toml_loaded_is_checked(tmp_path):
    """The check looked at the manifest of the first input file only, while the audit also
    loads the one beside a later file when the first file's folder has none: a bad value there
    came without file or line. Now ``load_manifest`` checks every manifest it loads, for
    ``run_audit`` too (which did not check at all)."""
    from halluscope.pipeline import run_audit
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "caps.jsonl").write_text('{"image_id": 1, "caption": "A dog."}\n', encoding="utf-8")
    folder, toml, number = _folder(tmp_path, 'chair_variant = "refind"')
    where = re.escape(f"{toml}:{number}: invalid [audit] table: chair_variant: ")
    said = r".*expected chair_variant in \('original', 'refined'\), got 'refind'"
    ok = tmp_path / "ok"
    import shutil
    shutil.copytree(DATA, ok)
    for inputs in ([bare / "caps.jsonl", folder / "outputs.jsonl"], [ok, folder]):
        for audit in (halluscope.audit, run_audit):
            with pytest.raises(ConfigError, match=where + said):
                audit(inputs, n_boot=0)
        code, text = _cli(*inputs, "--quiet", "--out", tmp_path / "out")
        assert code == 2 and re.search(where + said, " ".join(text.split())), text


def test_an_explicit_option_overrides_a_bad_value_in_the_toml(tmp_path):
    folder, _, _ = _folder(tmp_path, 'chair_variant = "refind"')
    result = halluscope.audit(folder, n_boot=0, chair_variant="original", metrics="chair")
    assert result.runsheet["config"]["chair_variant"] == "original"


def test_a_gate_on_a_metric_that_declares_nothing_is_warned_about_after_scoring(
        tmp_path, caplog, monkeypatch):
    """A metric that cannot tell its statistics before scoring (HallusionBench) had its gates'
    warnings lost: the preflight skipped them and the CLI judged the gates with warn=False."""
    from halluscope.metrics.base import metric_class
    monkeypatch.setattr(metric_class("chair"), "declared_statistics",
                        classmethod(lambda cls, config: None))
    (tmp_path / "gt.json").write_text('{"1": ["dog"], "2": ["car"]}')
    (tmp_path / "caps.jsonl").write_text('{"image_id": 1, "caption": "A dog and a cat."}\n'
                                         '{"image_id": 2, "caption": "A car."}\n')
    with caplog.at_level("WARNING"):
        code, _ = _cli(tmp_path / "caps.jsonl", "--metric", "chair", "--gt-objects",
                       tmp_path / "gt.json", "--out", tmp_path / "out", "--no-report",
                       "--bootstrap", "0", "--quiet", "--fail-above", "chair.chair_i=1")
    assert code == 0
    said = [r.getMessage() for r in caplog.records if "can fail on no value" in r.getMessage()]
    assert len(said) == 1, said           # after scoring, once


def test_a_gate_found_wrong_after_scoring_is_named_as_written(tmp_path):
    """A group checked after scoring (``@model:m2``) said ``error: gate: metric 'chair' has no
    group 'model:m2'``, naming neither the flag nor the gate, where one found wrong before
    scoring names both; with several gates the reader had to guess which one."""
    (tmp_path / "gt.json").write_text('{"1": ["dog"], "2": ["car"]}')
    (tmp_path / "caps.jsonl").write_text(
        '{"image_id": 1, "caption": "A dog and a cat.", "model": "m1"}\n'
        '{"image_id": 2, "caption": "A car.", "model": "m1"}\n')
    code, text = _cli(tmp_path / "caps.jsonl", "--metric", "chair", "--gt-objects",
                      tmp_path / "gt.json", "--out", tmp_path / "out", "--no-report",
                      "--bootstrap", "0", "--quiet", "--fail-above", "chair.chair_i=0.9",
                      "--fail-above", "chair.chair_s@model:m2=0.5")
    assert code == 2
    assert ("error: --fail-above chair.chair_s@model:m2=0.5: metric 'chair' has no group "
            "'model:m2'") in " ".join(text.split()), text
    from halluscope.errors import UnknownNameError
    from halluscope.gates import check_gates, parse_gates
    result = halluscope.audit(tmp_path / "caps.jsonl", metrics="chair", n_boot=0,
                              gt_objects=tmp_path / "gt.json", out=tmp_path / "py")
    with pytest.raises(UnknownNameError, match=r"^parse_gates\(below=\['chair.recall@model:m3"
                                               r"=0.5'\]\): metric 'chair' has no group"):
        check_gates(result, parse_gates(below=["chair.recall@model:m3=0.5"]))
