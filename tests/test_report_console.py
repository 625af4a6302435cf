"""The terminal summary: metrics with CIs, the most relevant groups, problems, output files."""

from __future__ import annotations

import json
import re
from pathlib import Path

from rich.console import Console

from halluscope.metrics.base import MetricSummary
from halluscope.metrics.stats import MetricResult
from halluscope.report.console import ranked_groups, render_summary
from halluscope.result import AuditResult


def _res(name, value, n, ci=None, better=False):
    return MetricResult(name, value, n, better, ci, 0.95 if ci else None)


def build_result(tmp_path: Path, n_errors: int = 3, n_objects: int = 30) -> AuditResult:
    out = tmp_path / "out"
    out.mkdir()
    items_path = out / "items.jsonl"
    # one good item and a line for each bad record, as items.jsonl has them
    items_path.write_text(json.dumps({"id": "a", "response": "x"}) + "\n" + "".join(
        json.dumps({"id": f"bad{i}", "error": "x"}) + "\n" for i in range(n_errors)),
        encoding="utf-8")
    groups = {"split:random": {"f1": _res("f1", 0.9, 50, (0.85, 0.95), True),
                               "tp": _res("tp", 20, 50, better=True)},
              "split:adversarial": {"f1": _res("f1", 0.7, 50, None, True),
                                    "tp": _res("tp", 15, 50, better=True)}}
    for i in range(n_objects):
        groups[f"object:obj{i:02d}"] = {"f1": _res("f1", 0.5 + i / 100, 10 + i, None, True)}
    metrics = {
        "chair": MetricSummary("chair", {"chair_s": _res("chair_s", 0.25, 40, (0.12, 0.38)),
                                         "chair_i": _res("chair_i", 0.1234, 40, (0.05, 0.2)),
                                         "mentions": _res("mentions", 120, 40)}, 40),
        "pope": MetricSummary("pope", {"f1": _res("f1", 0.8, 100, (0.7, 0.9), True),
                                       "tp": _res("tp", 35, 100, better=True)}, 100,
                              groups=groups),
    }
    errors = [{"file": "data/outputs.jsonl", "line": i + 2, "field": "response",
               "message": f"expected a string, got [bold]int[/bold] #{i}"}
              for i in range(n_errors)]
    runsheet = {"wall_time_s": 2.5, "metrics": {"chair": {"variant": "refined"},
                                                "pope": {"parser": "original"}}}
    result = AuditResult(metrics=metrics, errors=errors, runsheet=runsheet,
                         items_path=items_path, config=None, n_items=1 + n_errors)
    (out / "results.json").write_text("{}", encoding="utf-8")
    (out / "report.html").write_text("<html></html>", encoding="utf-8")
    return result


def render(result, **kw) -> str:
    console = Console(record=True, width=120)
    render_summary(result, console, **kw)
    return console.export_text()


def test_metrics_with_ci_and_n(tmp_path):
    text = render(build_result(tmp_path))
    assert "1 item audited · 3 bad records" in text and "2.50 s" in text
    assert "chair variant refined" in text and "pope parser original" in text
    for needle in ("chair_s", "0.2500", "[0.1200, 0.3800]", "chair_i", "0.1234", "120", "40",
                   "f1", "[0.7000, 0.9000]"):
        assert needle in text, needle


def test_groups_limited_to_most_relevant(tmp_path):
    result = build_result(tmp_path)
    text = render(result)
    assert "By group" in text
    assert "split:random" in text and "split:adversarial" in text
    assert "object:obj00" in text and "object:obj17" in text   # worst f1 first
    assert "object:obj18" not in text and "object:obj29" not in text
    assert "... and 12 more groups" in text
    order = ranked_groups(result.metrics["pope"])
    assert order[:4] == ["split:adversarial", "split:random", "object:obj00", "object:obj01"]


def test_problems_first_twenty_then_count(tmp_path):
    text = render(build_result(tmp_path, n_errors=25))
    assert "Problems (25 bad records" in text
    assert "data/outputs.jsonl:2" in text and "data/outputs.jsonl:21" in text
    assert "data/outputs.jsonl:22" not in text
    assert "... and 5 more" in text
    assert "[bold]int[/bold]" in text              # data is not read as rich markup


def test_output_files_listed(tmp_path):
    text = render(build_result(tmp_path))
    assert "Output" in text
    assert "results.json" in text and "items.jsonl" in text and "report.html" in text
    assert "runsheet.json" not in text               # not written in this fixture


def test_no_groups_no_problems(tmp_path):
    result = build_result(tmp_path, n_errors=0, n_objects=0)
    result.metrics["pope"].groups.clear()
    text = render(result)
    assert "By group" not in text and "Problems" not in text and "bad records" not in text


def test_empty_audit(tmp_path):
    items_path = tmp_path / "items.jsonl"
    items_path.write_text("", encoding="utf-8")
    result = AuditResult(metrics={}, errors=[], runsheet={}, items_path=items_path,
                         config=None, n_items=0)
    text = render(result)
    assert "0 items audited" in text and "No metrics ran." in text
    assert str(items_path) in text.replace("\n", "")


def test_output_folder_given_explicitly(tmp_path):
    result = build_result(tmp_path)
    other = tmp_path / "elsewhere"
    other.mkdir()
    (other / "runsheet.json").write_text("{}", encoding="utf-8")
    output = render(result, out_dir=other).split("\nOutput\n", 1)[1]
    assert "elsewhere/runsheet.json" in output and "results.json" not in output


def test_each_metrics_groups_have_its_own_columns(tmp_path):
    """One table for all had the first metric's columns: the second metric's group values
    were blank (faithscore under claims' rates), and its rows could be cut altogether."""
    result = build_result(tmp_path)
    result.metrics["chair"].groups.update({
        f"model:m{i}": {"chair_i": _res("chair_i", 0.3 + i / 10, 20, None)} for i in range(2)})
    text = render(result)
    assert "By group: chair" in text and "By group: pope" in text
    chair_rows = [line for line in text.splitlines() if "model:m1" in line]
    assert chair_rows and "0.4000" in chair_rows[0]
    assert "object:obj00" in text                          # pope's rows are still shown


def test_control_characters_and_markup_in_names_are_shown_not_obeyed(tmp_path):
    """A model name holding an OSC 8 hyperlink or a colour sequence reached the terminal raw
    (hunt #9): every string from the data is printed with its control characters shown."""
    result = build_result(tmp_path, n_errors=1, n_objects=0)
    evil = "model:\x1b]8;;http://evil.example/\x1b\\click\x1b[31m[bold]x[/]\x9b2J\u202e"
    result.metrics["pope"].groups[evil] = {"f1": _res("f1", 0.1, 5, None, True)}
    result.errors[0]["message"] = "bad \x1b[2J value"
    result.unscored = {"chair": ["a reason with \x07 a bell"]}
    console = Console(record=True, width=200, force_terminal=True)
    render_summary(result, console)
    raw = console.export_text(styles=False)
    assert "\x1b" not in raw and "\x9b" not in raw and "\x07" not in raw and "\u202e" not in raw
    assert "model:␛]8;;http://evil.example/␛\\click␛[31m[bold]x[/]⟨U+009B⟩2J⟨U+202E⟩" in raw
    assert "bad ␛[2J value" in raw and "a reason with ␇ a bell" in raw


def test_print_error_shows_control_characters(capsys):
    from halluscope.cli import common
    console = Console(record=True, width=200)
    old, common.err_console = common.err_console, console
    try:
        common.print_error("record 'x\x1b[31m' [red]bad[/]")
    finally:
        common.err_console = old
    text = console.export_text()
    assert "record 'x␛[31m' [red]bad[/]" in text


def test_more_groups_names_the_report_only_where_one_was_written(tmp_path):
    """With --no-report the line still said "(see report.html or results.json)" (hunt #16)."""
    result = build_result(tmp_path)
    assert "more groups (see report.html or results.json)" in render(result)
    (tmp_path / "out" / "report.html").unlink()
    text = render(result)
    assert "more groups (see results.json)" in text and "report.html" not in text


def test_at_80_columns_group_names_stay_whole_and_numbers_uncut(tmp_path):
    """At 80 columns two models' rows both read "model:d…" while five statistics kept their
    width (hunt #17): the names keep theirs, the headers are cut, extra columns left out."""
    result = build_result(tmp_path, n_objects=0)
    stats = ("hallucination_rate", "existence_rate", "count_rate", "attribute_rate",
             "relation_rate")
    result.metrics["chair"].groups.update({
        f"model:demo-vlm-{x}": {s: _res(s, 0.1 + i / 10, 20, None) for s in stats}
        for i, x in enumerate("ab")})
    console = Console(record=True, width=80)
    render_summary(result, console)
    text = console.export_text()
    assert all(len(line) <= 80 for line in text.splitlines())
    rows = [line for line in text.splitlines() if "model:demo-vlm-" in line]
    assert any("model:demo-vlm-a" in r for r in rows) and any("model:demo-vlm-b" in r
                                                               for r in rows)
    assert "0.1000" in rows[0] or "0.1000" in rows[1]
    for line in rows:
        assert re.findall(r"\d+\.\d+", line) and all(
            len(cell.split(".")[1]) == 4 for cell in re.findall(r"\d+\.\d+", line)), line
    narrow = Console(record=True, width=50)
    render_summary(result, narrow)
    out = narrow.export_text()
    assert "model:demo-vlm-a" in out and "more statistic(s) per group in" in out


def test_groups_too_small_for_an_interval_come_after_those_with_one(tmp_path):
    """With --by question_id every one-answer group (each 0 or 1) ranked worst first and
    pushed every group with an interval out of the table; now they come last and the footer
    says how many there are. results.json is not the console's business: untouched."""
    from halluscope.metrics.intervals import IntervalReason
    result = build_result(tmp_path, n_objects=0)
    groups = result.metrics["pope"].groups
    for i in range(40):
        groups[f"question_id:{i}"] = {"f1": MetricResult(
            "f1", 0.0, 1, True, ci_reason=IntervalReason("units", "no interval: n=1 units, "
                                                          "fewer than 10"))}
    for i, name in enumerate(("model:a", "model:b")):
        groups[name] = {"f1": _res("f1", 0.6 + i / 10, 40, (0.5, 0.8), True)}
    order = ranked_groups(result.metrics["pope"])
    assert order[:4] == ["split:adversarial", "split:random", "model:a", "model:b"]
    assert all(g.startswith("question_id:") for g in order[4:])
    text = " ".join(render(result).split())
    assert "model:a" in text and "model:b" in text
    assert "40 of 44 groups are over too few units for an interval: ranked after the " \
        "others, all in results.json" in text
    (tmp_path / "b").mkdir()
    assert "too few units" not in " ".join(render(build_result(tmp_path / "b")).split())


def test_a_metric_that_scored_nothing_says_so_on_each_row(tmp_path):
    """`--metric pope` on captions: pope's rows read "— too few units" (tp, fp: a bare "—"),
    which reads as a small sample, not as a failed run; the reason was only below the table."""
    result = build_result(tmp_path)
    accuracy = MetricResult("accuracy", None, 0, True,
                            ci_note="no interval: n=0 units, fewer than 10")
    result.metrics["pope"] = MetricSummary("pope", {
        "tp": _res("tp", None, 0, better=True), "accuracy": accuracy}, 0)
    result.unscored = {"pope": ["0 of 7 records scored; 7 records: not a yes/no question"]}
    text = render(result)
    rows = [line for line in text.splitlines() if re.search(r"\b(tp|accuracy)\b", line)]
    assert len(rows) == 2 and all("scored nothing" in row for row in rows)
    assert "too few units" not in text
    assert "pope scored nothing: 0 of 7 records scored" in text


def test_at_60_columns_statistic_names_fold_and_are_never_cut(tmp_path):
    """COLUMNS=60 cut the names a gate needs to "hallucination…", "fabricated_pa…"."""
    result = build_result(tmp_path, n_errors=0, n_objects=0)
    result.metrics["page"] = MetricSummary("page", {
        name: _res(name, 0.25, 40) for name in ("citation_accuracy", "fabricated_page_rate")}, 1)
    result.metrics["claims"] = MetricSummary("claims", {
        "hallucination_rate": _res("hallucination_rate", 0.5, 99, None)}, 10)
    console = Console(record=True, width=60)
    render_summary(result, console)
    lines = console.export_text().splitlines()
    table = lines[:next(i for i, line in enumerate(lines) if line.startswith("By group"))]
    assert not any("…" in line for line in table), "\n".join(table)
    start = table[next(i for i, line in enumerate(table) if "statistic" in line)].index("statistic")
    column = "".join(line[start:start + 30].split("  ")[0].strip() for line in table)
    for name in ("citation_accuracy", "fabricated_page_rate", "hallucination_rate"):
        assert name in column.replace(" ", ""), column
    assert any(line.rstrip().endswith("99") for line in table)      # the n column is kept


def test_with_bootstrap_0_the_interval_column_says_it_is_off(tmp_path):
    """`--bootstrap 0` left the console's 95% CI column blank (report.html says "off
    (--bootstrap 0)"): a blank reads as an interval missing for no reason."""
    from types import SimpleNamespace
    result = build_result(tmp_path, n_errors=0, n_objects=0)
    result.metrics["chair"] = MetricSummary("chair", {
        "chair_s": _res("chair_s", 0.25, 40), "mentions": _res("mentions", 120, 40)}, 40)
    result.config = SimpleNamespace(n_boot=0)
    lines = render(result).splitlines()
    chair_s = next(line for line in lines if "chair_s" in line)
    mentions = next(line for line in lines if "mentions" in line)
    assert "off (--bootstrap 0)" in chair_s
    assert "off" not in mentions                  # a count never has an interval


def test_one_bad_record_is_one_bad_record(tmp_path):
    text = render(build_result(tmp_path, n_errors=1))
    assert "1 item audited · 1 bad record ·" in text
    assert "1 bad records" not in text and "Problems (1 bad record, left out" in text


def test_the_headline_counts_audited_items_apart_from_bad_records(tmp_path):
    """It said "N items audited" with N counting the bad lines too (items.jsonl has a line for
    each), and "1 items"; a record two metrics could not score is one bad record."""
    result = build_result(tmp_path, n_errors=2)
    result.errors[1].update(line=result.errors[0]["line"], metric="pope")
    result.errors[0]["metric"] = "chair"
    text = render(result)
    assert "2 items audited · 1 bad record ·" in text, text
    assert "Problems (1 bad record, left out" in text
    assert "1 items" not in text and "3 items audited" not in text
    result.n_skipped = 1                    # read, but no selected metric applies to it
    assert "1 item audited · 1 bad record · 1 not scored" in render(result)


def test_the_claim_kind_plot_says_95_ci_only_over_intervals():
    """Its title said "95% CI" over bars none of which had an interval."""
    from halluscope.report import plots, svgplots
    def result(ci):
        return {"claims": MetricSummary("claims", {
            "existence_rate": _res("existence_rate", 0.4, 3, ci),
            "relation_rate": _res("relation_rate", 0.5, 2, None)}, 5)}
    none = svgplots.kind_rates_svg(result(None))
    assert "by claim kind (claims, no interval could be computed)" in none
    assert "CI" not in none
    some = svgplots.kind_rates_svg(result((0.1, 0.7)))
    assert "by claim kind (claims, 95% CI where one could be computed)" in some
    rows = plots.kind_rate_rows(result(None))
    assert plots.kind_rates_title(result(None), "claims", rows).endswith(
        "(claims, no interval could be computed)")
    assert plots.kind_rates(result(None)).startswith(b"\x89PNG")
