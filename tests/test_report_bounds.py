"""The HTML pages of a large or hostile run stay bounded and valid (reporthunt): compare.html
lists a bounded number of changed items and says how many it leaves out; its ids are unique."""

from __future__ import annotations

import re

from halluscope.comparison import Comparison, CompareResult, render_html


def _changed(n: int, change: str) -> list[dict]:
    return [{"key": f"img|{change}{i}", "metric": "pope", "statistic": "accuracy",
             "a": 1.0 if change == "worse" else 0.0, "b": 0.0 if change == "worse" else 1.0,
             "change": change, "item_a": {"id": f"{change}{i}", "response": "x" * 200},
             "item_b": {"id": f"{change}{i}", "response": "y" * 200}} for i in range(n)]


def test_compare_html_of_many_changed_items_is_bounded_and_says_what_it_leaves_out():
    """Two 50,000-answer POPE runs with 7,638 changed answers gave a 7.4 MB compare.html
    holding every one of them twice as JSON; a larger run grew it without limit."""
    from halluscope.report.compare_html import MAX_CHANGED_SHOWN
    comp = Comparison("runs/a", "runs/b", {}, _changed(3 * MAX_CHANGED_SHOWN, "worse")
                      + _changed(5, "better"))
    page = render_html(CompareResult(["runs/a", "runs/b"], [comp]))
    assert page.count("<h3>") == MAX_CHANGED_SHOWN + 5
    assert "worse in B than in A (300)" in page
    assert (f"The first {MAX_CHANGED_SHOWN} of 300 are shown; 200 more are left out here "
            f"(every item is in each run's items.jsonl).") in page
    assert "better in B than in A (5)" in page and page.count("left out here") == 1
    assert len(page) < 200_000


def test_compare_html_of_three_runs_has_unique_ids():
    """``compare full part part``: each partial comparison's note had id='partial'."""
    partial = {"b": [{"input": "part.jsonl", "reason": "interrupted"}]}
    comps = [Comparison("full", "part", {}, partial=partial) for _ in range(2)]
    page = render_html(CompareResult(["full", "part", "part"], comps))
    ids = re.findall(r"id='([^']*)'", page)
    assert len(ids) == 2 and len(set(ids)) == 2, ids


def _long_answers(tmp_path, n: int, size: int, task: str = "yes-no"):
    import json
    path = tmp_path / "long.jsonl"
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n):
            f.write(json.dumps({"id": f"q{i}", "question_id": i, "image": "a.jpg", "task": task,
                                "label": "yes", "prompt": "Is there a dog?",
                                "response": "Yes. " + "<b>dog</b> " * (size // 11)}) + "\n")
    return path


def test_a_huge_answer_is_folded_up_to_a_bound_and_the_report_says_what_it_leaves_out(
        tmp_path):
    """20 answers of a million characters gave a 35 MB report.html: each fold held the whole
    answer (escaped, so larger still), without limit."""
    import halluscope
    from halluscope.report.itemview import FOLD_CHARS
    size = 3 * FOLD_CHARS
    halluscope.audit(_long_answers(tmp_path, 3, size), metrics=["pope"], n_boot=0,
                     out=tmp_path / "out")
    text = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert len(text) < 2_000_000, len(text)      # escaped, the whole answers made 3.8 MB
    left = len("Yes. " + "<b>dog</b> " * (size // 11)) - FOLD_CHARS
    assert text.count(f"… {left:,} characters more are left out of this report (the whole "
                      f"answer is in items.jsonl)") == 3
    assert "<b>dog" not in text


def test_folds_share_one_budget_across_the_report():
    from halluscope.report.itemview import FOLD_CHARS, ImageStore, fold_text
    store = ImageStore(text_budget=FOLD_CHARS + 10)
    assert fold_text("x" * (FOLD_CHARS + 5), store) == ("x" * FOLD_CHARS, 5)
    assert fold_text("y" * 30, store) == ("y" * 10, 20)
    assert fold_text("z" * 30, store) == ("", 30)
    assert fold_text("w" * 30) == ("w" * 30, 0)       # no store: the per-fold bound alone


def test_scores_ious_and_confidences_that_are_no_whole_number_never_read_as_one():
    """The region table read 'IoU 1.00' for 0.9972, a detector box 'score 1.00' for 0.996 and
    a verdict 'supported 1.00' for 0.999: the rule of report/decimals.py (a value that is no
    whole number is never printed as one) was not applied to them. A NaN still prints."""
    from halluscope.report.citations import _instance
    from halluscope.report.itemview import claim_rows, evidence_text
    assert _instance({"label": "person", "source": "detector", "score": 0.996, "iou": 0.9972}
                     ) == "person (detector, score 0.996), IoU 0.997"
    assert evidence_text({"source": "detector", "label": "dog", "score": 0.996}
                         ) == "detector · dog · score 0.996"
    assert evidence_text({"source": "detector", "score": float("nan")}) == "detector · score nan"
    assert evidence_text({"source": "detector", "score": 0.5}) == "detector · score 0.50"
    rows, _ = claim_rows([{"kind": "existence", "subject": "dog", "verdict": "supported",
                           "confidence": 0.999}], "a dog", "it0")
    assert rows[0]["confidence"] == "0.999"


def test_the_forest_and_scale_plots_say_how_many_statistics_they_leave_out():
    """The forest plot, captioned 'every rate', drew the first 30 and dropped the rest in
    silence (an audit of POPE, CHAIR, claims, region, page and AMBER has more); the scale
    plot likewise past 12. A rate of 0.9996 was labelled 1.000."""
    from halluscope.metrics.stats import MetricResult
    from halluscope.report import plots, svgplots
    from test_report_scales import _Result, _Summary
    rates = {f"r{i:02d}": MetricResult(f"r{i:02d}", 0.9996, 100, False, (0.99, 0.9999), 0.95)
             for i in range(35)}
    lengths = {f"len{i:02d}": MetricResult(f"len{i:02d}", 10.0 + i, 100, False,
                                           (9.0 + i, 11.0 + i), 0.95, direction=False)
               for i in range(14)}
    result = _Result({"m": _Summary({**rates, **lengths})})
    forest = svgplots.forest_svg(result)
    assert "the first 30 of 35 rates; 5 more in the summary table" in forest
    assert ">0.9996<" in forest and ">1.000<" not in forest
    assert "the first 12 of 14; 2 more in the summary table" in svgplots.scale_svg(result)
    few = _Result({"m": _Summary(dict(list(rates.items())[:3]))})
    assert "more in the summary table" not in svgplots.forest_svg(few)
    assert plots.forest_plot(result).startswith(b"\x89PNG")
    assert plots.scale_plot(result).startswith(b"\x89PNG")


def test_a_group_table_of_many_groups_is_bounded_and_says_how_many_it_leaves_out():
    """``--by question_id`` on 50,000 POPE answers made a 45 MB report.html: one row per
    group, every one of 50,000."""
    from halluscope.metrics.stats import MetricResult
    from halluscope.report.html import MAX_GROUP_ROWS, environment, group_tables
    from test_report_scales import _Result, _Summary
    summary = _Summary({})
    summary.groups = {f"question_id:{i}": {"accuracy": MetricResult("accuracy", 1.0, 1, True)}
                      for i in range(MAX_GROUP_ROWS + 7)}
    summary.groups["split:random"] = {"accuracy": MetricResult("accuracy", 0.5, 9, True)}
    tables = group_tables(_Result({"pope": summary}))
    by_q, by_split = tables
    assert len(by_q["rows"]) == MAX_GROUP_ROWS and by_q["left_out"] == 7
    assert by_split["left_out"] == 0 and len(by_split["rows"]) == 1
    assert group_tables(_Result({"pope": summary}), max_rows=3)[0]["left_out"] == 504


def test_the_report_says_how_many_groups_a_table_leaves_out(tmp_path, monkeypatch):
    import json

    import halluscope
    from halluscope.report import html
    monkeypatch.setattr(html, "MAX_GROUP_ROWS", 3)
    path = tmp_path / "a.jsonl"
    path.write_text("".join(json.dumps({"id": f"q{i}", "question_id": i, "image": "a.jpg",
                                        "task": "yes-no", "label": "yes", "response": "Yes"})
                            + "\n" for i in range(5)))
    halluscope.audit(path, metrics=["pope"], n_boot=0, by=["question_id"], out=tmp_path / "o")
    text = " ".join((tmp_path / "o" / "report.html").read_text(encoding="utf-8").split())
    assert ('pope by question_id <span class="muted small">(the first 3 of 5 groups, worst '
            'accuracy first; 2 more in <span class="mono">results.json</span>') in text
    table = text.split("pope by question_id", 1)[1].split("</table>", 1)[0]
    assert table.count("<tr><td>") == 3


def test_redaction_of_the_report_leaves_its_html_whole(tmp_path, monkeypatch):
    """report.html was redacted after escaping, as one string: a redacted value became a raw
    ``<redacted>`` tag (an element left open to the end of the page), a URL's ``&amp;`` in a
    model's answer was read as a parameter ``amp;b`` and shown as ``&amp%3Bb=2``, and
    ``<b>key=5</b>`` lost its 5 to an entity's ``;`` taken for a query string's. The secret
    itself is still cut out."""
    import json

    import halluscope
    from halluscope import redact
    from halluscope.redact import register_secret
    monkeypatch.setattr(redact, "_known", set())     # the secret is this test's alone
    secret = "sk-test-ABCDEFGHIJKLMNOP123456"
    register_secret(secret)
    answer = (f"Yes. See https://x.org/a?q=1&b=2 and https://x.org/b?token=abc123&c=3 and "
              f"<b>key=5</b>, key {secret} here")
    path = tmp_path / "a.jsonl"
    path.write_text(json.dumps({"id": "q1", "question_id": 1, "image": "a.jpg",
                                "task": "yes-no", "label": "yes", "response": answer}) + "\n")
    halluscope.audit(path, metrics=["pope"], n_boot=0, out=tmp_path / "o")
    text = (tmp_path / "o" / "report.html").read_text(encoding="utf-8")
    assert secret not in text and "abc123" not in text
    assert "<redacted>" not in text and "&lt;redacted&gt;" in text
    assert "https://x.org/a?q=1&amp;b=2" in text and "%3B" not in text
    assert "&lt;b&gt;key=5&lt;/b&gt;" in text


def test_yes_ratio_off_balance_is_never_shown_as_none(tmp_path):
    """A yes_ratio of 0.5004 read '(0.5 ideal: off by 0.000)' in report.html and on the
    console, as if exactly balanced."""
    from rich.console import Console

    from halluscope.metrics.stats import MetricResult
    from halluscope.report.console import metrics_table
    from halluscope.report.html import summary_rows
    from test_report_scales import _Result, _Summary
    result = _Result({"pope": _Summary({
        "yes_ratio": MetricResult("yes_ratio", 0.5004, 5000, False, None, 0.95, direction=False),
    })})
    result.unscored = {}
    result.metrics["pope"].n = 5000
    (row,) = summary_rows(result)[0]["rows"]
    assert row["gap"] == "0.0004"
    console = Console(width=200, record=True)
    console.print(metrics_table(result))
    assert "off by 0.0004" in console.export_text()


def test_compare_shows_a_small_difference_and_a_near_one_value_as_they_are():
    """compare.html and the compare table printed every rate with 4 decimals: a difference
    of 0.00003 read '+0.0000' (no change) and a precision of 0.99997 read '1.0000'."""
    from halluscope.cli import compare as cli_compare
    entry = {"a": 0.99994, "b": 0.99997, "diff": 0.00003, "ci": [-0.00001, 0.00007],
             "n_paired": 30000, "only_a": 0, "only_b": 0}
    comp = Comparison("runs/a", "runs/b", {"region.precision": entry,
                                           "pope.accuracy": {**entry, "a": 0.5, "b": 0.5,
                                                             "diff": 0.0, "ci": None}})
    page = render_html(CompareResult(["runs/a", "runs/b"], [comp]))
    assert ("<td>0.9999</td><td>0.99997</td><td>+3e-05</td><td>[-1e-05, +0.0001]</td>"
            in page), page
    assert "<td>0.5000</td><td>0.5000</td><td>+0.0000</td>" in page
    cols = cli_compare._table(comp).columns
    assert [list(c.cells)[0] for c in cols[1:5]] == ["0.9999", "0.99997", "+3e-05",
                                                    "[-1e-05, +0.0001]"]


def test_the_notebook_summary_shows_a_missing_value_as_missing_with_its_reason(tmp_path):
    """``result`` in a notebook showed precision over no yes answer as 'None', with no
    reason, and printed rates with four decimals whatever they were (0.99997 as 1.0000)."""
    import json

    import halluscope
    path = tmp_path / "a.jsonl"
    path.write_text("".join(json.dumps({"id": f"q{i}", "question_id": i, "image": f"{i}.jpg",
                                        "task": "yes-no", "label": "yes" if i % 2 else "no",
                                        "response": "No"}) + "\n" for i in range(12)))
    result = halluscope.audit(path, metrics=["pope"], n_boot=0)
    shown = result._repr_html_()
    assert "None" not in shown
    why = result.metrics["pope"].results["precision"].why_no_value
    assert why and f"<td>precision<br><small>share of the yes answers whose object is " \
        f"present</small></td><td>— ({why})</td>" in shown
    # the interval cell says why it is empty: turned off (it was blank)
    assert "<td>0.5000</td><td>off (n_boot=0)</td>" in shown


def test_a_report_without_intervals_says_they_were_turned_off(tmp_path):
    """With --bootstrap 0 every rate's interval cell was blank, with no word of why."""
    import json

    import halluscope
    path = tmp_path / "a.jsonl"
    path.write_text("".join(json.dumps({"id": f"q{i}", "question_id": i, "image": f"{i}.jpg",
                                        "task": "yes-no", "label": "yes" if i % 2 else "no",
                                        "response": "Yes" if i % 3 else "No"}) + "\n"
                            for i in range(12)))
    halluscope.audit(path, metrics=["pope"], n_boot=0, out=tmp_path / "o")
    text = (tmp_path / "o" / "report.html").read_text(encoding="utf-8")
    assert text.count(">off (--bootstrap 0)</span>") == 6      # the rates, not tp/fp/tn/fn
    halluscope.audit(path, metrics=["pope"], n_boot=50, out=tmp_path / "b")
    assert "--bootstrap 0" not in (tmp_path / "b" / "report.html").read_text(encoding="utf-8")


def test_a_huge_prompt_or_question_is_cut_in_the_report(tmp_path):
    """A prompt was shown whole however long: an item of a million-character prompt added a
    million characters to report.html."""
    import json

    import halluscope
    from halluscope.report.itemview import SHOWN_CHARS
    path = tmp_path / "a.jsonl"
    long = "Is there a dog? " * (SHOWN_CHARS // 4)
    path.write_text(json.dumps({"id": "q", "question_id": 1, "image": "a.jpg", "task": "yes-no",
                                "label": "yes", "prompt": long, "response": "Yes"}) + "\n"
                    + json.dumps({"id": "c", "task": "caption", "image": "a.jpg",
                                  "prompt": long, "response": "A dog."}) + "\n")
    halluscope.audit(path, metrics=["pope"], n_boot=0, out=tmp_path / "o")
    text = (tmp_path / "o" / "report.html").read_text(encoding="utf-8")
    assert len(text) < 3 * SHOWN_CHARS + 200_000
    assert "… (cut here; the whole question is in items.jsonl)" in text
    assert "… (cut here; the whole prompt is in items.jsonl)" in text


def test_an_item_score_or_box_coordinate_is_never_rounded_to_a_whole_number_it_is_not():
    """An item's scores and evidence boxes were written in four significant digits: a score
    of 0.99997 read 1, a box corner at 999.99 read 1000."""
    from halluscope.report.claimtext import detail_rows, number_text
    from halluscope.report.itemview import evidence_text
    assert number_text(0.99997) == "0.99997" and number_text(999.99) == "999.99"
    assert number_text(0.5) == "0.5" and number_text(2.0) == "2" and number_text(1 / 3) == "0.3333"
    assert ("faithscore", "0.99997") in detail_rows({"faithscore": 0.99997})
    assert "box [10, 20, 999.99, 40]" in evidence_text({"source": "detector",
                                                        "box": [10.0, 20.0, 999.99, 40.0]})


def test_compare_html_cuts_a_changed_items_huge_answer():
    """A changed item was shown as its whole items.jsonl line: 100 answers of a million
    characters made compare.html 200 MB however few items it listed."""
    from halluscope.report.compare_html import MAX_ITEM_CHARS
    changed = _changed(3, "worse")
    for c in changed:
        c["item_b"]["response"] = "<b>" * 100_000
    page = render_html(CompareResult(["runs/a", "runs/b"], [Comparison("a", "b", {}, changed)]))
    assert len(page) < 3 * 2 * MAX_ITEM_CHARS * 4      # escaped '<' is 4 characters; 2.7 MB before
    assert page.count("characters more (the whole item is in the run&#x27;s items.jsonl)") == 3


def test_a_capped_group_table_keeps_the_groups_with_an_interval(tmp_path, monkeypatch):
    """The report's group tables were in results.json's order (by name) and cut at
    MAX_GROUP_ROWS: with ``--by question_id`` where one question was asked 12 times and six
    once each, the six one-answer groups (each 0 or 1, no interval) filled the table and the
    only group with an interval was cut. The rows now follow the console's ranking (worst
    first, groups too small for an interval after the others) and the note says so."""
    import json

    import halluscope
    from halluscope.report import html
    monkeypatch.setattr(html, "MAX_GROUP_ROWS", 3)
    path = tmp_path / "a.jsonl"
    qids = list(range(6)) + [9] * 12
    path.write_text("".join(json.dumps({"id": f"r{i}", "question_id": q, "image": f"{i}.jpg",
                                        "task": "yes-no", "label": "yes",
                                        "response": "Yes" if i % 3 else "No"}) + "\n"
                            for i, q in enumerate(qids)))
    halluscope.audit(path, metrics=["pope"], n_boot=200, by=["question_id"],
                     out=tmp_path / "o")
    saved = json.loads((tmp_path / "o" / "results.json").read_text(encoding="utf-8"))
    assert list(saved["metrics"]["pope"]["groups"])[:2] == ["question_id:0", "question_id:1"]
    text = " ".join((tmp_path / "o" / "report.html").read_text(encoding="utf-8").split())
    table = text.split("pope by question_id", 1)[1].split("</table>", 1)[0]
    assert table.count("<tr><td>") == 3
    assert table.index("<tr><td>9</td>") == table.index("<tr><td>")
    assert ("(the first 3 of 7 groups, worst accuracy first; 4 more in "
            "<span class=\"mono\">results.json</span>; 6 of 7 groups over too few units for an interval: ranked "
            "after the others"
            in table)


def _mention_dense_item(i: int, repeats: int) -> dict:
    """A CHAIR item whose answer names an object every few characters, as items.jsonl has it."""
    sentence = "A cup and a dog. "
    response = sentence * repeats
    mentioned, spans = [], []
    for r in range(repeats):
        base = r * len(sentence)
        mentioned += [["cup", "cup"], ["dog", "dog"]]
        spans += [[base + 2, base + 5], [base + 12, base + 15]]
    return {"id": f"d{i}", "response": response,
            "chair": {"mentioned": mentioned, "hallucinated": [["dog", "dog"]] * repeats,
                      "gt": ["cup"], "spans": spans}}


def test_a_mention_dense_answer_lists_a_bounded_number_of_chips_and_says_how_many_more():
    """An answer of 90,000 characters naming an object every ten gave 9,000 CHAIR chips
    (700 KB) under its response, although the response itself is cut at 20,000 characters."""
    from halluscope.report.itemview import MAX_CHIPS, item_view
    view = item_view(_mention_dense_item(0, 300), 0, ["chair"])
    assert len(view["mentions"]["chips"]) == MAX_CHIPS
    assert view["mentions"]["chips_more"] == 600 - MAX_CHIPS
    assert view["mentions"]["chips_more_bad"] == 300 - MAX_CHIPS // 2
    assert view["n_halluc"] == 300                   # the count is over every mention
    from halluscope.report.html import environment
    page = environment().get_template("_item.html").render(it=view)
    assert page.count('class="chip ') == MAX_CHIPS
    assert f"… and {600 - MAX_CHIPS} more mentions, {300 - MAX_CHIPS // 2} of them " \
           f"hallucinated (all in items.jsonl)" in page


def test_highlights_share_one_budget_across_the_report():
    """300 answers of 20,000 characters, an object named every ten, made a 100 MB report.html
    (two minutes to write): every mention a highlighted span with its tooltip, without limit."""
    from halluscope.report.html import environment
    from halluscope.report.itemview import ImageStore, item_view
    store = ImageStore(highlights_left=50)
    first = item_view(_mention_dense_item(0, 20), 0, ["chair"], store)   # 40 mentions
    second = item_view(_mention_dense_item(1, 20), 1, ["chair"], store)
    third = item_view(_mention_dense_item(2, 20), 2, ["chair"], store)
    assert first["unhighlighted"] == 0 and second["unhighlighted"] == 30
    assert third["unhighlighted"] == 40 and store.highlights_left == 0
    assert sum(1 for s in second["segments"] if s["cls"]) == 10
    assert "".join(s["text"] for s in third["segments"]) == third["response"]
    assert item_view(_mention_dense_item(3, 20), 3, ["chair"])["unhighlighted"] == 0
    page = environment().get_template("_item.html").render(it=second)
    assert "30 highlights left out: this report highlights at most 100,000 spans in all " \
           "(every verdict is in the tables below and in items.jsonl)" in page


def test_the_highlight_budget_keeps_the_first_marks_in_the_text_in_their_order():
    from halluscope.report.highlight import Mark, spend_highlights
    from halluscope.report.itemview import ImageStore
    marks = [Mark(10, 14, "claim", "supported", "c"), Mark(0, 3, "mention", "hallucinated", "m"),
             Mark(5, 8, "claim", "hallucinated", "d"), Mark(30_000, 30_004, "claim", "x")]
    store = ImageStore(highlights_left=2)
    assert spend_highlights(marks, store) == ([marks[1], marks[2]], 1)    # past 20,000: unshown
    assert spend_highlights(marks, None) == (marks[:3], 0)
    assert spend_highlights(marks, store) == ([], 3) and store.highlights_left == 0
