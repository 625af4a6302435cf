"""The HTML report: escaping, highlighted spans (overlapping too), images, plots, self-containment."""

from __future__ import annotations

import base64
import io
import json
import re
import subprocess
import sys
import types
from html.parser import HTMLParser
from pathlib import Path

import pytest

from halluscope.metrics.base import MetricSummary
from halluscope.metrics.stats import MetricResult
from halluscope.report import plots
from halluscope.report.html import build_context, render_report, write_report
from halluscope.report.itemview import Mark, chair_mentions, item_boxes, segment_text
from halluscope.result import AuditResult

XSS = "<script>alert(1)</script>"
ATTR_XSS = '"><img src=x onerror=alert(2)>'
RESPONSE = "A cat sits on a red sofa next to a dog. " + XSS


def _span(text: str, part: str, start: int = 0) -> list[int]:
    i = text.index(part, start)
    return [i, i + len(part)]


def _res(name, value, n, ci=None, better=False):
    return MetricResult(name, value, n, better, ci, 0.95 if ci else None)


def _write_image(path: Path, size=(800, 600)) -> None:
    from PIL import Image
    im = Image.new("RGB", size, (90, 140, 200))
    for x in range(0, size[0], 40):
        for y in range(size[1]):
            im.putpixel((x, y), (250, 250, 250))
    path.parent.mkdir(parents=True, exist_ok=True)
    im.save(path)


def caption_item(source: str) -> dict:
    r = RESPONSE
    relation = _span(r, "cat sits on a red sofa")
    return {
        "id": "cap-1", "task": "caption", "image": "img/scene.png", "source": source,
        "prompt": "Describe the image. {{ 7*7 }}", "response": r,
        "chair": {"mentioned": [["cat", "cat"], ["sofa", "couch"], ["dog", "dog"]],
                  "hallucinated": [["dog", "dog"]],
                  "spans": [_span(r, "cat"), _span(r, "sofa"), _span(r, "dog")],
                  "n_mentions": 3},
        "claims": [
            {"kind": "existence", "subject": "cat", "span": _span(r, "cat"),
             "verdict": "supported", "reason": "a cat is annotated", "confidence": 1.0,
             "checker": "annotation-existence",
             "evidence": [{"source": "annotation", "label": "cat", "box": [10, 20, 300, 400]}]},
            {"kind": "relation", "subject": "cat", "relation": "on", "object": "sofa",
             "span": relation, "verdict": "supported", "reason": "boxes overlap",
             "evidence": []},
            {"kind": "attribute", "subject": "sofa", "value": "red",
             "span": _span(r, "red sofa"), "verdict": "hallucinated",
             "reason": "the sofa is blue " + ATTR_XSS,
             "evidence": [{"source": "detector", "label": "couch", "score": 0.9,
                           "box": [300, 200, 700, 550], "colour": "blue"}]},
            {"kind": "relation", "subject": "sofa", "relation": "next to", "object": "dog",
             "span": _span(r, "sofa next to a dog"), "verdict": "hallucinated",
             "reason": "no dog in the image", "evidence": []},
            {"kind": "count", "subject": "dog", "value": 1, "span": [5, 500],
             "verdict": "unverifiable", "reason": "span beyond the text is clipped",
             "evidence": []},
        ],
    }


def pope_item(source: str) -> dict:
    return {"id": "q-7", "task": "yes-no", "image": "img/scene.png", "source": source,
            "prompt": "Is there a dog in the image?",
            "response": "Yes </script><script>alert(3)</script>",
            "pope": {"prediction": "yes", "label": "no", "question_id": 7,
                     "question": "Is there a dog in the image?", "parser": "original"}}


def plain_item(i: int, source: str) -> dict:
    return {"id": f"plain-{i}", "task": "caption", "source": source, "response": f"Plain {i}.",
            "chair": {"mentioned": [], "hallucinated": []}}


def build_result(tmp_path: Path, n_plain: int = 3, extra_flagged: int = 0) -> AuditResult:
    data = tmp_path / "data"
    _write_image(data / "img" / "scene.png")
    src = str(data / "outputs.jsonl")
    items = [caption_item(f"{src}:1"), pope_item(f"{src}:2"),
             {"id": None, "source": f"{src}:3", "error": "expected a string, got int <b>7</b>",
              "error_detail": {"file": src, "line": 3, "field": "response",
                               "message": "expected a string, got int <b>7</b>"}},
             {"id": ATTR_XSS, "task": "caption", "source": f"{src}:4",
              "prompt": ATTR_XSS, "response": "nothing here"}]
    items += [plain_item(i, f"{src}:{5 + i}") for i in range(n_plain)]
    items += [dict(pope_item(f"{src}:{100 + i}"), id=f"late-{i}") for i in range(extra_flagged)]
    items_path = tmp_path / "out" / "items.jsonl"
    items_path.parent.mkdir()
    items_path.write_text("".join(json.dumps(it) + "\n" for it in items), encoding="utf-8")
    metrics = {
        "chair": MetricSummary(
            "chair", {"chair_s": _res("chair_s", 0.25, 4, (0.1, 0.4)),
                      "chair_i": _res("chair_i", 0.125, 4, (0.05, 0.2)),
                      "mentions": _res("mentions", 8, 4)}, 4,
            tallies={"hallucinated": {"dog": 3, "<b>knife</b>": 1}}),
        "pope": MetricSummary(
            "pope", {"tp": _res("tp", 40, 100, better=True), "fp": _res("fp", 12, 100),
                     "tn": _res("tn", 38, 100, better=True), "fn": _res("fn", 10, 100),
                     "accuracy": _res("accuracy", 0.78, 100, (0.7, 0.86), True),
                     "f1": _res("f1", 0.784, 100, (0.7, 0.85), True)}, 100,
            groups={"split:random": {"accuracy": _res("accuracy", 0.8, 50, (0.7, 0.9), True)},
                    "split:adversarial": {"accuracy": _res("accuracy", 0.76, 50, None, True)},
                    "object:<i>dog</i>": {"accuracy": _res("accuracy", 0.5, 4, None, True)}}),
        "claims": MetricSummary(
            "claims", {"existence_rate": _res("existence_rate", 0.2, 10, (0.05, 0.4)),
                       "attribute_rate": _res("attribute_rate", 0.5, 4, (0.1, 0.9)),
                       "relation_rate": _res("relation_rate", 0.5, 2, None)}, 4),
    }
    errors = [{"file": src, "line": 3, "field": "response",
               "message": "expected a string, got int <b>7</b>"}]
    runsheet = {"started": "2026-01-02T03:04:05+00:00", "wall_time_s": 1.234,
                "files": [{"role": "input", "path": src, "sha256": "ab" * 32, "bytes": 1234}],
                "metrics": {"chair": {"variant": "refined", "vocabulary": "coco80@1"},
                            "pope": {"parser": "original <b>x</b>"}},
                "environment": {"halluscope": "0.1.0", "python": "3.11"},
                "command": ["halluscope", "audit", "outputs.jsonl"],
                "counts": {"items": len(items), "errors": 1}}
    return AuditResult(metrics=metrics, errors=errors, runsheet=runsheet, items_path=items_path,
                       config=None, n_items=len(items))


class Tags(HTMLParser):
    """Every start tag with its attributes, the text of <script> tags, the response pieces."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.scripts: list[tuple[dict, str]] = []
        self.responses: list[list[tuple[str, str, str]]] = []
        self._script: dict | None = None
        self._depth = 0
        self._span: dict | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag == "script":
            self._script = a
            self.scripts.append((a, ""))
        if self._depth:
            self._depth += tag != "br"
            if tag == "span":
                self._span = a
        elif tag == "div" and a.get("class") == "response":
            self._depth = 1
            self.responses.append([])

    def handle_endtag(self, tag):
        if tag == "script":
            self._script = None
        if self._depth:
            self._depth -= 1
            self._span = None

    def handle_data(self, data):
        if self._script is not None:
            a, text = self.scripts[-1]
            self.scripts[-1] = (a, text + data)
        elif self._depth:
            span = self._span or {}
            self.responses[-1].append((data, span.get("class", ""), span.get("title", "")))


def parse(text: str) -> Tags:
    p = Tags()
    p.feed(text)
    return p


@pytest.fixture
def report(tmp_path):
    result = build_result(tmp_path)
    out = tmp_path / "report.html"
    write_report(result, out)
    return result, out.read_text(encoding="utf-8")


def test_model_text_is_escaped_everywhere(report):
    _, text = report
    assert XSS not in text and "alert(3)</script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "<b>7</b>" not in text and "<b>knife</b>" not in text and "<i>dog</i>" not in text
    assert "&lt;b&gt;7&lt;/b&gt;" in text
    assert "{{ 7*7 }}" in text          # data is never evaluated as a template
    p = parse(text)
    # Only our two script tags, no tag or event handler injected from the data.
    assert [a.get("type") for t, a in p.tags if t == "script"] == ["application/json", None]
    assert not any(name.startswith("on") for _, attrs in p.tags for name in attrs)
    assert not any(t in ("svg", "iframe", "object", "embed") for t, _ in p.tags)
    for tag, attrs in p.tags:
        if tag == "img":
            assert attrs.get("src") is None or attrs["src"].startswith("data:image/")
    # Text that went into attributes came back whole (quotes escaped, not breaking out).
    titles = [a["title"] for _, a in p.tags if "title" in a]
    assert any(ATTR_XSS in t for t in titles)
    # No model text inside scripts; the JSON is parseable and holds only data URIs.
    for attrs, body in p.scripts:
        for needle in ("alert(", "cat sits", "Describe the image", "sofa is blue"):
            assert needle not in body
        if attrs.get("type") == "application/json":
            assert all(v.startswith("data:image/jpeg;base64,") for v in json.loads(body).values())
            assert "</" not in body


def test_item_ids_never_reach_id_attributes(report):
    _, text = report
    ids = [a["id"] for t, a in parse(text).tags if "id" in a]
    assert all(re.fullmatch(r"[a-z0-9-]+", i) for i in ids), ids


def test_response_spans_highlighted_with_overlaps(report):
    _, text = report
    pieces = parse(text).responses[0]
    assert "".join(p[0] for p in pieces) == RESPONSE
    by_text = {p[0]: p for p in pieces}
    assert "m-supported" in by_text["cat"][1] and "v-supported" in by_text["cat"][1]
    assert "multi" in by_text["cat"][1]                       # existence inside the relation
    red = by_text["red "]
    assert "v-hallucinated" in red[1] and "multi" in red[1]   # attribute nested in relation
    assert "the sofa is blue" in red[2] and ATTR_XSS in red[2]
    sofa = by_text["sofa"]                                    # three claims and a mention
    assert "v-hallucinated" in sofa[1] and "m-supported" in sofa[1]
    assert "next to" in sofa[2] and "sofa → couch" in sofa[2]
    assert "m-hallucinated" in by_text["dog"][1]
    assert "detector · couch · score 0.90" in red[2]          # evidence in the tooltip
    assert "claims-table" in text and "no dog in the image" in text


def test_segment_text_splits_at_every_boundary():
    text = "abcdefghij"
    marks = [Mark(0, 6, "claim", "supported", "A", "r0"), Mark(3, 9, "claim", "hallucinated",
                                                                "B", "r1"),
             Mark(4, 5, "mention", "hallucinated", "C")]
    segs = segment_text(text, marks)
    assert [s["text"] for s in segs] == ["abc", "d", "e", "f", "ghi", "j"]
    assert segs[0]["cls"] == "claim v-supported"
    assert segs[1]["cls"] == "claim v-hallucinated multi" and segs[1]["refs"] == "r0 r1"
    assert "mention m-hallucinated" in segs[2]["cls"] and segs[2]["title"] == "A\nB\nC"
    assert segs[4]["cls"] == "claim v-hallucinated" and segs[5]["cls"] == ""
    assert segment_text("", marks) == []


def test_chair_words_listed_without_spans():
    mentions = chair_mentions({"mentioned": ["dog", "cat"], "hallucinated": ["dog"]})
    assert [(m["word"], m["hallucinated"], m["span"]) for m in mentions] == [
        ("dog", True, None), ("cat", False, None)]


def test_images_embedded_downscaled_with_overlays(tmp_path, monkeypatch):
    calls = []

    def draw_boxes(image_path, boxes):
        from PIL import Image
        calls.append((Path(image_path), boxes))
        buf = io.BytesIO()
        Image.new("RGB", (1000, 500), (255, 0, 0)).save(buf, "PNG")
        return buf.getvalue()

    fake = types.ModuleType("halluscope.report.overlays")
    fake.draw_boxes = draw_boxes
    monkeypatch.setitem(sys.modules, "halluscope.report.overlays", fake)
    result = build_result(tmp_path)
    ctx = build_context(result)
    assert len(ctx["images"]) == 2          # with boxes (caption) and without (POPE): each once
    assert calls and calls[0][0].name == "scene.png"
    assert {tuple(b["box"]) for b in calls[0][1]} == {(10, 20, 300, 400), (300, 200, 700, 550)}
    from PIL import Image
    sizes = []
    for uri in ctx["images"].values():
        raw = base64.b64decode(uri.split(",", 1)[1])
        with Image.open(io.BytesIO(raw)) as im:
            assert im.format == "JPEG"
            sizes.append(im.size)
    assert (480, 240) in sizes and (480, 360) in sizes
    views = {v["id"]: v for v in ctx["items"]["views"]}
    assert views["cap-1"]["image_ref"] is not None
    assert views["q-7"]["image_ref"] is not None


def test_item_boxes_collects_evidence_and_cited_regions():
    item = {"claims": [{"kind": "region", "subject": "cup", "value": [1, 2, 3, 4],
                        "verdict": "hallucinated",
                        "evidence": [{"source": "detector", "box": [5, 6, 7, 8]}]}],
            "region": {"regions": [{"id": "r1", "box": [0, 0, 9, 9]}]}}
    boxes = item_boxes(item)
    assert [b["box"] for b in boxes] == [[1, 2, 3, 4], [5, 6, 7, 8], [0, 0, 9, 9]]
    assert boxes[0]["source"] == "cited" and boxes[2]["label"] == "r1"


def test_report_contents(report):
    _, text = report
    for needle in ("chair_s", "0.2500", "[0.1000, 0.4000]", "pope by split", "pope by object",
                   "adversarial", "variant", "coco80@1", "1.23 s", "outputs.jsonl:3",
                   "expected a string, got int", "POPE FP", "hallucination (yes to an absent",
                   "With hallucinations", "supported", "unverifiable", "Problems",
                   "2 hallucinated claims", "1 hallucinated object"):
        assert needle in text, needle
    p = parse(text)
    plot_imgs = [a for t, a in p.tags if t == "img" and a.get("src", "").startswith(
        "data:image/svg+xml;base64,")]
    assert len(plot_imgs) == 4                      # forest, categories, confusion, kinds
    assert not any(a.get("src", "").startswith("data:image/png") for t, a in p.tags
                   if t == "img" and a.get("alt") in ("Metrics at a glance",
                                                      "POPE confusion matrix"))
    classes = [a.get("class", "") for t, a in p.tags if t == "article"]
    assert sum("f-halluc" in c for c in classes) == 2
    assert sum("f-error" in c for c in classes) == 1


def test_report_is_self_contained(report):
    _, text = report
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", text, re.I)
    assert "@import" not in text and not re.search(r"url\(\s*['\"]?https?:", text)
    assert "<link" not in text


def test_max_items_keeps_flagged_items_and_says_how_many_left_out(tmp_path):
    result = build_result(tmp_path, n_plain=20, extra_flagged=5)
    ctx = build_context(result, max_items=6, max_flagged=3)
    items = ctx["items"]
    ids = [v["id"] for v in items["views"]]
    assert len(ids) == 9 and ids[-3:] == ["late-0", "late-1", "late-2"]
    assert items["left_out"] == items["total"] - 9 and items["left_out_flagged"] == 2
    text = render_report(result, max_items=6, max_flagged=3)
    assert f"{items['left_out']} items left out, 2 of them with hallucinations" in text


def test_save_writes_report(tmp_path):
    from halluscope.api import write_outputs
    result = build_result(tmp_path)
    out = write_outputs(result, tmp_path / "saved")
    assert (out / "report.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_empty_audit_renders(tmp_path):
    items_path = tmp_path / "items.jsonl"
    items_path.write_text("", encoding="utf-8")
    result = AuditResult(metrics={}, errors=[], runsheet={}, items_path=items_path,
                         config=None, n_items=0)
    text = render_report(result)
    assert "No metrics ran." in text and "No items." in text


def test_plots_return_png_or_none(tmp_path):
    result = build_result(tmp_path)
    for fn in (plots.category_counts, plots.pope_confusion, plots.kind_rates,
               plots.forest_plot):
        png = fn(result)
        assert png is not None and png.startswith(b"\x89PNG")
        assert fn({}) is None
    assert plots.pope_confusion({"pope": MetricSummary("pope", {}, 0)}) is None
    assert [p.key for p in plots.all_plots(result)] == ["forest", "categories", "pope", "kinds"]


def test_svg_plots_show_what_the_png_plots_show(tmp_path):
    import xml.etree.ElementTree as ET
    result = build_result(tmp_path)
    svg = {p.key: p for p in plots.all_plots(result, fmt="svg")}
    assert list(svg) == [p.key for p in plots.all_plots(result)]
    texts = {}
    for key, plot in svg.items():
        assert plot.mime == "image/svg+xml" and plot.data_uri.startswith("data:image/svg+xml")
        root = ET.fromstring(plot.data.decode("utf-8"))          # well-formed XML
        texts[key] = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
        with pytest.raises(ValueError, match="not PNG"):
            plot.png
    res = result.metrics["pope"].results
    tp, fp, tn, fn = (int(res[k].value) for k in ("tp", "fp", "tn", "fn"))
    total = tp + fp + tn + fn
    for name, v in (("TP", tp), ("FP", fp), ("TN", tn), ("FN", fn)):
        at = texts["pope"].index(name)
        assert texts["pope"][at + 1:at + 3] == [f"{v:,}", f"{v / total:.1%}"]
    for label, value, _ci, _better in plots._interval_rows(result, rates=True):
        at = texts["forest"].index(label)
        assert texts["forest"][at + 1] == f"{value:.3f}"
    tally = result.metrics["chair"].tallies["hallucinated"]
    for name, count in tally.items():
        assert texts["categories"][texts["categories"].index(name) + 1] == f"{count:,}"
    assert plots.all_plots({}, fmt="svg") == []
    with pytest.raises(ValueError, match="expected plot format"):
        plots.all_plots(result, fmt="gif")


def test_svg_plots_escape_labels():
    from halluscope.report.svgplots import category_counts_svg
    m = {"chair": MetricSummary("chair", {}, 3, tallies={"hallucinated": {XSS: 2, "dog": 1}})}
    svg = category_counts_svg(m)
    assert XSS not in svg and "&lt;script&gt;" in svg


def test_writing_a_report_does_not_import_matplotlib(tmp_path):
    code = ("import sys; from tests.test_report_html import build_result; "
            "from pathlib import Path; from halluscope.report.html import write_report; "
            f"p = Path({str(tmp_path)!r}); write_report(build_result(p), p / 'r.html'); "
            "assert 'matplotlib' not in sys.modules, 'matplotlib imported'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[1])


def test_importing_halluscope_does_not_import_matplotlib():
    code = ("import sys, halluscope, halluscope.report.html, halluscope.report.plots; "
            "assert 'matplotlib' not in sys.modules, 'matplotlib imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_plots_leave_the_pyplot_backend_alone(tmp_path):
    code = ("import matplotlib; matplotlib.use('svg'); "
            "from halluscope.report import plots; "
            "from halluscope.metrics.base import MetricSummary; "
            "from halluscope.metrics.stats import MetricResult as R; "
            "m = {'x': MetricSummary('x', {'a': R('a', 0.5, 3, False, (0.1, 0.9), 0.95)}, 3)}; "
            "assert plots.forest_plot(m).startswith(b'\\x89PNG'); "
            "assert matplotlib.get_backend() == 'svg', matplotlib.get_backend()")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_show_items_for_notebooks(tmp_path):
    from halluscope.report.html import show_items
    result = build_result(tmp_path, n_plain=5)
    view = show_items(result, only="halluc", limit=10)
    doc = str(view)
    assert doc.count('<article class="item') == 2 and "Showing 2 of 2 items with hallucinations" in doc
    assert XSS not in doc and "&lt;script&gt;alert(1)&lt;/script&gt;" in doc
    frame = view._repr_html_()
    assert frame.startswith('<iframe srcdoc="') and "<script" not in frame
    assert show_items(result, only="error").html.count('<article class="item') == 1
    with pytest.raises(ValueError):
        show_items(result, only="nope")


def test_a_metric_that_scored_nothing_is_named_in_the_report_with_its_reason(tmp_path):
    """report.html showed chair with n = 0 and dashes, and never said it scored nothing, nor
    why, nor that the run failed (hunt #5); results.json and the console did."""
    import halluscope
    rows = [{"id": f"q{i}", "question_id": i, "image": f"img{i}.jpg",
             "prompt": "Is there a dog in the image?", "response": "Yes", "label": "no"}
            for i in range(4)]
    src = tmp_path / "pope.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    data = Path(__file__).resolve().parents[1] / "data"
    result = halluscope.audit(src, metrics="chair,pope", n_boot=0, out=tmp_path / "run",
                              coco_annotations=[data / "annotations" / "instances.json"])
    assert set(result.unscored) == {"chair"}
    page = (tmp_path / "run" / "report.html").read_text(encoding="utf-8")
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))
    assert "chair scored nothing : 0 of 4 records scored; 4 records: not a caption" in text
    assert "this audit failed" in text and "pope scored nothing" not in text


def test_empty_answers_a_metric_scored_are_in_the_report_with_its_rule(tmp_path):
    """POPE's original parser reads an empty answer as yes: a number the model did not give.
    The run sheet counted them (counts.empty_answers_scored) and a log line said so, but
    report.html, what a person reads, did not."""
    import halluscope
    path = tmp_path / "a.jsonl"
    rows = [{"id": f"q{i}", "image": "a.jpg", "task": "yes-no", "label": "yes",
             "prompt": "Is there a dog?", "response": "" if i < 2 else "Yes."} for i in range(5)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    halluscope.audit(path, metrics=["pope"], n_boot=0, out=tmp_path / "out")
    page = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    text = " ".join(re.sub(r"<[^>]+>", " ", page).split())
    assert "empty answers scored by pope 2 of 5 read by the --pope-parser rule: original, " \
           "llava and opera read it as yes" in text


def test_unbroken_text_wraps_in_prompts_ids_and_claim_cells():
    """A prompt holding a base64 image (one 5,000-character token) widened the page: .prompt
    had white-space: pre-wrap but nothing that breaks a word, nor had claim cells or ids."""
    from halluscope.report.html import environment
    css = re.sub(r"/\*.*?\*/", "", environment().get_template("_style.html").render(), flags=re.S)
    wrapping = {sel.strip() for sels, body in re.findall(r"([^{}]+)\{([^{}]*)\}", css)
                if "overflow-wrap: anywhere" in body for sel in sels.split(",")}
    for selector in (".prompt", ".response", ".claims-table td", ".item-head .iid", ".chip"):
        assert selector in wrapping, selector
