"""Each item's image in report.html links to the original file, by a path relative to the
report: the page embeds a copy downscaled to 480 px (boxes a few pixels wide are hard to see
there) and leaves images out past its size budget, and the name it showed was the record's,
relative to the input file, not to the report, so a person could not open the image."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import halluscope
from halluscope.report.html import write_report


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs = []

    def handle_starttag(self, tag, attrs):
        href = dict(attrs).get("href")
        if tag == "a" and href and not href.startswith("#"):
            self.hrefs.append(href)


def test_item_images_link_to_the_original_by_a_path_relative_to_the_report(tmp_path):
    from PIL import Image
    data = tmp_path / "in"
    (data / "img").mkdir(parents=True)
    names = ["scene.png", 'odd "<b>&#x; name.png', "javascript:alert(1).png"]
    for name in names:
        Image.new("RGB", (64, 48), (90, 140, 200)).save(data / "img" / name)
    rows = [{"id": f"c{i}", "image": f"img/{name}", "response": "A cat.", "label": "yes",
             "prompt": "Is there a cat in the image?", "task": "yes-no"}
            for i, name in enumerate(names)]
    rows.append({"id": "gone", "image": "img/missing.png", "response": "Yes.", "label": "no",
                 "prompt": "Is there a dog in the image?", "task": "yes-no"})
    path = data / "answers.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "runs" / "a"
    result = halluscope.audit(path, metrics="pope", out=out, n_boot=0, write_report=False)
    report = out / "report.html"
    write_report(result, report)
    parser = _Links()
    parser.feed(report.read_text(encoding="utf-8"))
    assert len(parser.hrefs) == 3, parser.hrefs
    for href in parser.hrefs:
        assert ":" not in href and not href.startswith("/"), href   # relative, no scheme
        assert (report.parent / unquote(href)).resolve().is_file(), href
    assert {Path(unquote(h)).name for h in parser.hrefs} == set(names)
