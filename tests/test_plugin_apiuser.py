"""Found by using the notebook API and the pytest plugin as their docs show them."""

from __future__ import annotations

import re
import textwrap

import pytest

from tests.test_pytest_plugin import OUTPUTS, plugin_project, write_jsonl

pytest_plugins = ["pytester"]


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    return plugin_project(pytester, monkeypatch, other=OUTPUTS[:2])


def test_the_auditors_result_has_the_regression_check(project: pytest.Pytester):
    """``halluscope_auditor.audit(...)`` (how a test gates a second model's outputs) gave a
    result without ``assert_no_regression``: AttributeError 'NotebookResult' object has no
    attribute 'assert_no_regression'."""
    project.makepyfile(test_two=textwrap.dedent('''
        def test_other_model(halluscope_auditor):
            result = halluscope_auditor.audit("other.jsonl")
            result.assert_below("fakehall.rate", 0.9)
            result.assert_no_regression("fakehall.rate")

        def test_memo(halluscope_auditor):
            assert halluscope_auditor.audit("other.jsonl") is \\
                halluscope_auditor.audit("other.jsonl")
    '''))
    result = project.runpytest("--halluscope-update-baseline")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*fakehall.rate recorded 0.2000 into the baseline*"])
    result = project.runpytest()
    result.assert_outcomes(passed=2)
    result.stdout.no_fnmatch_line("*AttributeError*")


def test_the_items_of_a_result_say_what_they_are(tmp_path):
    """A notebook showed ``result.items`` as ``<halluscope.result.Items object at 0x...>``."""
    import halluscope
    result = halluscope.audit(records=[{"id": "a", "task": "yes-no", "response": "Yes",
                                        "label": "yes", "prompt": "Is there a cat?"}],
                              metrics="pope", n_boot=0)
    shown = repr(result.items)
    assert "1 item(s)" in shown and "items.jsonl" in shown and " at 0x" not in shown


def test_answers_without_their_questions_beside_a_question_file_say_to_name_pope(tmp_path):
    """``audit("answers.jsonl", questions="q.jsonl")`` on answers that carry only
    ``question_id`` and ``answer`` said "pass --metric, and ... --questions for pope": the
    question file it asked for had been given."""
    import halluscope
    from halluscope.errors import ConfigError
    questions = write_jsonl(tmp_path / "q.jsonl", [
        {"question_id": 1, "image": "x.jpg", "text": "Is there a cat?", "label": "yes"}])
    answers = write_jsonl(tmp_path / "a.jsonl", [{"question_id": 1, "answer": "yes"}])
    with pytest.raises(ConfigError, match="a question file was given.*--metric pope") as err:
        halluscope.audit(answers, questions=questions)
    assert "--questions for pope" not in str(err.value)
    result = halluscope.audit(answers, questions=questions, metrics="pope", n_boot=0)
    assert result.summary["pope.accuracy"] == 1.0


def test_the_notebook_view_says_where_the_bad_records_are(tmp_path):
    """The HTML summary said "2 bad record(s); see .errors" and named no file or line."""
    import halluscope
    rows = [{"id": f"q{i}", "task": "yes-no", "prompt": "Is there a cat?", "label": "yes",
             "response": "Yes"} for i in range(3)]
    path = write_jsonl(tmp_path / "answers.jsonl", rows)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write('{"id": "broken", "task": "yes-no"\n')
        fh.write('{"id": "silent", "task": "yes-no", "prompt": "Is there a cat?"}\n')
    shown = halluscope.audit(path, metrics="pope", n_boot=0)._repr_html_()
    assert "2 bad record(s)" in shown
    assert f"{path}:4</code>: invalid JSON" in shown
    assert f"{path}:5</code>: field <code>response</code>" in shown


def test_a_command_line_flag_passed_by_its_name_says_its_python_spelling():
    """README: audit() takes every option the CLI does; ``offline=True``,
    ``complete_only=True`` or ``bootstrap=100`` were refused naming no way to give them."""
    import halluscope
    from halluscope.errors import UnknownNameError
    records = [{"id": "a", "task": "yes-no", "prompt": "Is there a cat?", "label": "yes",
                "response": "Yes"}]
    for given, said in ((dict(offline=True), "options={'offline': ...}"),
                        (dict(complete_only=True), "options={'complete_only': ...}"),
                        (dict(detector_threshold="0.5,0.3"), "'detector_present': P"),
                        (dict(bootstrap=100), "n_boot=")):
        with pytest.raises(UnknownNameError, match=re.escape(said)):
            halluscope.audit(records=records, metrics="pope", **given)
    result = halluscope.audit(records=records, metrics="pope", n_boot=0,
                              options={"offline": True, "complete_only": True})
    assert result.summary["pope.accuracy"] == 1.0
