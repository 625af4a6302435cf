"""A syntax error inside a JSON array stops its reading: what follows is not read, and the
audit says so and fails (exit 2), where a file cut short inside its last element, or with
text after its ']', loses nothing more than that bad record."""

from __future__ import annotations

import json

from typer.testing import CliRunner

# the CLI (and rich) imported here, not in a test: an in-process pytester run of another test
# module on the same worker restores the modules it found, and a CLI imported after it printed
# through a rich of another import ("Unable to render Segment")
from halluscope.cli import app
from halluscope.errors import ReadingStopped, RecordError
from halluscope.records import iter_json_values


def _items(n: int = 100) -> list[dict]:
    return [{"question_id": f"q{i}", "image": f"{i}.jpg", "label": "yes" if i % 2 else "no",
             "response": "yes" if i % 3 else "no"} for i in range(n)]


def _broken(tmp_path, how: str):
    items = _items()
    text = json.dumps(items)
    element = json.dumps(items[57])
    if how == "colon":
        text = text.replace(element, element.replace('"label": ', '"label" '))
    elif how == "quote":
        text = text.replace(element, element.replace('"label": ', '"label: '))
    elif how == "comma":
        text = text.replace(element + ", ", element + " ")
    elif how == "cut":
        text = text[:text.index(element) + len(element) - 3]
    elif how == "trailing":
        text += " xyz"
    elif how == "second":       # two dumps in one file
        text += "\n" + json.dumps(_items(3))
    path = tmp_path / f"{how}.json"
    path.write_text(text, encoding="utf-8")
    return path


def _errors(path) -> tuple[int, list[RecordError]]:
    read = list(iter_json_values(path))
    return len(read), [o for _, _, o in read if isinstance(o, RecordError)]


def test_a_syntax_error_inside_an_element_stops_reading_and_counts_what_follows(tmp_path):
    n, errors = _errors(_broken(tmp_path, "colon"))
    assert n == 58 and len(errors) == 1
    err = errors[0]
    assert isinstance(err, ReadingStopped) and err.unread == 42 and err.element == 58
    assert "reading stopped here: about 42 elements after it were not read" in err.message
    detail = err.to_dict()
    assert detail["reading_stopped"] is True and detail["unread"] == 42


def test_a_missing_comma_between_elements_stops_reading(tmp_path):
    n, errors = _errors(_broken(tmp_path, "comma"))
    assert isinstance(errors[0], ReadingStopped) and errors[0].unread == 41
    assert n - 1 + 1 + errors[0].unread == 100      # 58 read, the bad one, 41 after


def test_a_broken_string_stops_reading_without_a_count_it_cannot_trust(tmp_path):
    _, errors = _errors(_broken(tmp_path, "quote"))
    err = errors[0]
    assert isinstance(err, ReadingStopped) and err.unread is None
    assert "the rest of the file (the elements after it) was not read" in err.message
    assert "unread" not in err.to_dict()


def test_a_file_cut_short_or_with_text_after_its_bracket_loses_no_element_more(tmp_path):
    for how, n in (("cut", 58), ("trailing", 101)):
        read, errors = _errors(_broken(tmp_path, how))
        assert read == n and len(errors) == 1
        assert not isinstance(errors[0], ReadingStopped), how
        assert "not read" not in errors[0].message, how
        assert "reading_stopped" not in errors[0].to_dict()
    assert "the file ends inside this value" in _errors(_broken(tmp_path, "cut"))[1][0].message


def test_the_mark_crosses_processes(tmp_path):
    import pickle
    err = _errors(_broken(tmp_path, "colon"))[1][0]
    back = pickle.loads(pickle.dumps(err))
    assert isinstance(back, ReadingStopped) and back.unread == 42 and back.element == 58
    assert back.to_dict() == err.to_dict()


def _cli(path, out, *extra):
    res = CliRunner().invoke(app, ["audit", str(path), "--metric", "pope", "--out", str(out),
                                   "--bootstrap", "0", "--fail-below", "pope.f1=0.1", *extra],
                             env={"COLUMNS": "400"})
    return res, json.loads((out / "results.json").read_text())


def test_the_audit_writes_what_was_read_says_it_was_read_in_part_and_exits_2(tmp_path):
    for quiet in ((), ("--quiet",)):
        out = tmp_path / f"out{len(quiet)}"
        res, results = _cli(_broken(tmp_path, "colon"), out, *quiet)
        assert res.exit_code == 2, res.output          # the gate passed: 2 all the same
        said = ("was read only up to element 58 (line 1), where a syntax error stopped the "
                "reading: the numbers cover the 57 elements before it only; about 42 "
                "elements after it were not read")
        assert said in res.output
        assert results["metrics"]["pope"]["accuracy"]["n"] == 57
        (err,) = results["errors"]
        assert err["reading_stopped"] is True and err["unread"] == 42
        assert (out / "items.jsonl").is_file() and (out / "runsheet.json").is_file()


def test_a_file_cut_short_or_with_text_after_its_bracket_still_exits_0(tmp_path):
    for how in ("cut", "trailing"):
        res, results = _cli(_broken(tmp_path, how), tmp_path / how)
        assert res.exit_code == 0, res.output
        assert "read in part" not in res.output.lower()
        assert results["n_errors"] == 1


def test_a_syntax_error_in_the_last_element_before_the_bracket_loses_nothing_more(tmp_path):
    items = _items(5)
    last = json.dumps(items[-1])
    path = tmp_path / "last.json"
    path.write_text(json.dumps(items).replace(last, last.replace('"label": ', '"label" ')))
    n, errors = _errors(path)
    assert n == 5 and not isinstance(errors[0], ReadingStopped)
    assert errors[0].message.endswith("Expecting ':' delimiter; no element follows it")


def test_a_coco_caption_file_whose_entries_a_syntax_error_cuts_stops_reading_too(tmp_path):
    from halluscope.readers import iter_input_records
    entries = {str(i): {"image_id": i, "caption": "a dog on a couch"} for i in range(20)}
    text = json.dumps({"overall": {"CHAIRs": 0.1}, "imgToEval": entries})
    broken = tmp_path / "broken.json"
    broken.write_text(text.replace('"10": {"image_id": 10,', '"10": {"image_id" 10,'))
    cut = tmp_path / "cut.json"
    cut.write_text(text[:text.index('"15": ') + 20])
    read = list(iter_input_records(broken, "coco-caption"))
    assert len(read) == 11 and isinstance(read[-1], ReadingStopped)
    assert read[-1].unread is None      # (an object's entries are not counted)
    assert "the rest of the file (the entries after it) was not read" in read[-1].message
    read = list(iter_input_records(cut, "coco-caption"))
    assert len(read) == 16 and isinstance(read[-1], RecordError)
    assert not isinstance(read[-1], ReadingStopped)


def test_a_notebook_says_the_input_was_read_in_part(tmp_path):
    import halluscope
    result = halluscope.audit(_broken(tmp_path, "colon"), metrics=["pope"], n_boot=0)
    assert len(result.stopped_reading) == 1
    assert "READ IN PART" in repr(result)
    assert "was read only up to element 58" in result._repr_html_()


def test_a_second_array_after_the_bracket_stops_reading_and_fails(tmp_path):
    """``[...][...]``: the records of the second array are in no number; ' xyz' after the
    ']' holds none (a plain bad record, exit 0, above)."""
    path = _broken(tmp_path, "second")
    n, errors = _errors(path)
    (err,) = errors
    assert n == 101 and isinstance(err, ReadingStopped) and err.location.line == 2
    assert "a second array follows the array's ']'" in err.message
    res, results = _cli(path, tmp_path / "second_out")
    assert res.exit_code == 2, res.output
    said = " ".join(res.output.split())
    assert "READ IN PART" in said and "the rest of the file was not read" in said
    assert results["metrics"]["pope"]["accuracy"]["n"] == 100
    assert results["errors"][0]["reading_stopped"] is True


_LONG = "1" + "0" * 5000       # past Python's 4,300 digits of integer text


def test_an_over_long_integer_is_its_element_s_bad_record_and_reading_goes_on(tmp_path):
    items = _items(6)
    text = json.dumps(items)        # one line, as json.dump writes it
    for i, number in ((1, _LONG), (3, "-" + _LONG)):
        element = json.dumps(items[i])
        text = text.replace(element, element.replace('"label": ', f'"n": [{number}], "label": '))
    path = tmp_path / "long.json"
    path.write_text(text)
    n, errors = _errors(path)
    assert n == 6 and len(errors) == 2      # every element read: two bad records
    assert not any(isinstance(e, ReadingStopped) for e in errors)
    first, second = errors
    col = text.index(_LONG) + 1
    assert first.message == ("element 2: the integer at line 1 column "
                             f"{col}: expected numbers of at most 4,300 digits (Python's "
                             "limit on converting an integer's text), got one of 5,001 digits")
    assert second.message.startswith("element 4: the integer at line 1 column ")
    assert second.message.endswith("got one of 5,001 digits")       # (its '-' is no digit)
    read = [o for _, _, o in iter_json_values(path) if not isinstance(o, RecordError)]
    assert [o["question_id"] for o in read] == ["q0", "q2", "q4", "q5"]



def test_an_indented_element_s_over_long_integer_is_counted_once(tmp_path):
    """An indented element is parsed again each time more of its lines are read, and every
    try listed its over-long integers anew: one integer was said as "(and 1 more)"."""
    items = _items(3)
    items[1]["n"], items[1]["note"] = "LONG", "x" * 200
    items[2]["n"] = ["LONG", "LONG"]                    # two are two
    path = tmp_path / "indented.json"
    path.write_text(json.dumps(items, indent=2).replace('"LONG"', _LONG))
    n, errors = _errors(path)
    assert n == 3 and len(errors) == 2
    assert errors[0].message.endswith("got one of 5,001 digits"), errors[0].message
    assert errors[1].message.endswith("got one of 5,001 digits (and 1 more)"), \
        errors[1].message

def test_an_over_long_integer_beside_a_control_character_is_one_bad_record(tmp_path):
    items = _items(3)
    element = json.dumps(items[1])
    broken = element.replace('"label": ', f'"n": {_LONG}, "note": "a\\u0000b", "label": ')
    broken = broken.replace("\\u0000", "\x00")
    path = tmp_path / "both.json"
    path.write_text(json.dumps(items).replace(element, broken))
    n, errors = _errors(path)
    assert n == 3 and len(errors) == 1
    assert "control character (U+0000)" in errors[0].message     # the first found


def test_an_audit_of_an_array_with_an_over_long_integer_exits_0(tmp_path):
    items = _items(40)
    element = json.dumps(items[7])
    path = tmp_path / "long.json"
    path.write_text(json.dumps(items).replace(
        element, element.replace('"label": ', f'"n": {_LONG}, "label": ')))
    res, results = _cli(path, tmp_path / "out")
    assert res.exit_code == 0, res.output
    assert "read in part" not in res.output.lower()
    assert results["metrics"]["pope"]["accuracy"]["n"] == 39
    (err,) = results["errors"]
    assert err["message"].startswith("element 8: the integer at line 1 column ")


def test_a_second_array_names_its_first_element_as_the_first_not_read(tmp_path):
    """Its element is n + 1, the second array's first: said as ``file:1 (element N)`` and in
    the sentence of what the numbers cover, as for a syntax error inside the array."""
    path = tmp_path / "two.json"
    path.write_text(json.dumps(_items(4)) + json.dumps(_items(3)))     # on one line
    (err,) = _errors(path)[1]
    assert isinstance(err, ReadingStopped) and err.element == 5
    assert str(err).startswith(f"{path}:1 (element 5): invalid JSON array at line 1 column ")
    assert err.to_dict()["element"] == 5
    from halluscope.result import stopped_said
    assert stopped_said(err.to_dict()).startswith(
        f"{path} was read only up to element 5 (line 1), where a syntax error stopped the "
        "reading: the numbers cover the 4 elements before it only")


def _coco_caption(tmp_path, entries: dict, name: str = "captions.json"):
    path = tmp_path / name
    path.write_text(json.dumps({"overall": {"CIDEr": 0.5}, "imgToEval": entries}))
    return path


def test_a_coco_caption_file_s_bad_entries_name_their_element(tmp_path):
    """json.dump writes coco-caption's file on one line: ``file:1`` alone did not say which
    entry; each bad record names its element (its number among the entries) as an array's
    does."""
    from halluscope.readers import iter_input_records
    entries = {str(i): {"image_id": i, "caption": "a dog on a couch"} for i in range(1, 9)}
    entries["3"]["caption"] = None                      # entry_row's checks
    entries["5"] = {"image_id": 5, "caption": "a cat", "n": 0}
    text = json.dumps({"overall": {}, "imgToEval": entries})
    text = text.replace('"n": 0', f'"n": {_LONG}')       # the reader's (the entry is read past)
    path = tmp_path / "captions.json"
    path.write_text(text)
    read = list(iter_input_records(path, "coco-caption"))
    assert len(read) == 8
    bad = [r for r in read if isinstance(r, RecordError)]
    assert [e.element for e in bad] == [3, 5]
    assert str(bad[0]).startswith(f"{path}:1 (element 3): field 'imgToEval[\"3\"].caption'")
    assert str(bad[1]).startswith(f'{path}:1 (element 5): imgToEval["5"]: the integer at ')
    assert [e.to_dict()["element"] for e in bad] == [3, 5]


def test_a_coco_caption_syntax_error_names_the_entry_where_reading_stopped(tmp_path):
    from halluscope.readers import iter_input_records
    from halluscope.result import stopped_said
    entries = {str(i): {"image_id": i, "caption": "a dog on a couch"} for i in range(20)}
    path = _coco_caption(tmp_path, entries)
    path.write_text(path.read_text().replace('"10": {"image_id": 10,', '"10": {"image_id" 10,'))
    *_, stop = iter_input_records(path, "coco-caption")
    assert isinstance(stop, ReadingStopped) and stop.element == 11
    assert stopped_said(stop.to_dict()).startswith(
        f"{path} was read only up to element 11 (line 1), where a syntax error stopped the "
        "reading: the numbers cover the 10 elements before it only")


def test_a_coco_caption_audit_s_bad_records_name_their_element(tmp_path):
    """Through the audit (CHAIR), in results.json and in the table's 'where'."""
    entries = {str(i): {"image_id": i, "caption": "a dog on a couch"} for i in range(1, 7)}
    entries["4"]["image_id"] = "nope"
    path = _coco_caption(tmp_path, entries)
    gt = tmp_path / "gt.json"
    gt.write_text(json.dumps({"imid_to_objects": {str(i): ["dog"] for i in range(1, 7)}}))
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["audit", str(path), "--metric", "chair", "--gt-objects",
                                   str(gt), "--out", str(out), "--bootstrap", "0",
                                   "--no-report"], env={"COLUMNS": "400"})
    assert res.exit_code == 0, res.output
    (err,) = json.loads((out / "results.json").read_text())["errors"]
    assert err["element"] == 4 and err["field"] == 'imgToEval["4"].image_id'
    assert f"{path}:1 (element 4)" in res.output


def test_score_answers_raises_for_answers_read_in_part(tmp_path):
    """It returned numbers over the 57 answers before the syntax error, as if they were the
    file's, the stop only among the bad lines it returns; an audit exits 2 for it."""
    import pytest
    from halluscope.metrics.pope import score_answers
    questions = tmp_path / "questions.jsonl"
    questions.write_text("".join(json.dumps(
        {"question_id": f"q{i}", "image": f"{i}.jpg", "text": "Is there a dog in the image?",
         "label": "yes" if i % 2 else "no"}) + "\n" for i in range(100)))
    for how, element in (("colon", 58), ("second", 101)):
        with pytest.raises(ReadingStopped) as caught:
            score_answers(_broken(tmp_path, how), questions)
        err = caught.value
        assert err.element == element and err.message.startswith("input read in part: ")
        assert "score_answers gives no numbers for a file read only in part" in err.message
    assert caught.value.unread is None
    # cut short inside its last element, or text after its ']': a bad line, numbers kept
    for how, n in (("cut", 57), ("trailing", 100)):
        out = score_answers(_broken(tmp_path, how), questions)
        assert out["metrics"]["n"] == n and len(out["errors"]) == 1, how


def test_a_quiet_audit_names_the_first_bad_record_s_element(tmp_path):
    """--quiet says the first bad record with its element, as the table's 'where' does: a
    one-line array's are all on line 1."""
    path = _broken(tmp_path, "second")
    res, _ = _cli(path, tmp_path / "quiet_out", "--quiet")
    assert res.exit_code == 2, res.output
    assert f"listed in results.json 'errors': {path}:2 (element 101): invalid JSON" in " ".join(
        res.output.split())


def test_answers_aligned_by_order_in_a_broken_array_are_read_in_part_not_none(tmp_path):
    """The count of a by-order answer file read whole failed on the syntax error: "has 0
    answers" refused the audit. Its elements are counted from its commas: as many as the
    questions, the audit reads up to the error and says the file was read in part."""
    questions = tmp_path / "questions.jsonl"
    questions.write_text("".join(json.dumps(
        {"question_id": i, "image": f"{i}.jpg", "text": "Is there a dog in the image?",
         "label": "yes" if i % 2 else "no"}) + "\n" for i in range(40)))
    answers = [{"answer": "yes" if i % 3 else "no"} for i in range(40)]
    text = json.dumps(answers)
    cut = text.index("}", text.index("}") + 1) + 2        # after the second element's '}, '
    text = text[:cut] + text[cut:].replace('"answer": ', '"answer" ', 1)   # the third broken
    path = tmp_path / "answers.json"
    path.write_text(text)
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["audit", str(path), "--metric", "pope", "--questions",
                                   str(questions), "--pope-align", "order", "--bootstrap", "0",
                                   "--no-report", "--out", str(out), "--quiet"],
                             env={"COLUMNS": "400"})
    assert res.exit_code == 2, res.output
    assert "0 answers" not in res.output
    assert "was read only up to element 3 (line 1)" in res.output
    results = json.loads((out / "results.json").read_text())
    assert results["metrics"]["pope"]["accuracy"]["n"] == 2


def test_read_records_raises_a_stop_even_when_not_strict(tmp_path):
    """Not strict, it skipped the stop as a bad line: 57 records, as if the file's."""
    import pytest
    from halluscope.records import read_records
    with pytest.raises(ReadingStopped):
        read_records(_broken(tmp_path, "colon"), strict=False)
    assert len(read_records(_broken(tmp_path, "trailing"), strict=False)) == 100
