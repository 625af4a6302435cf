"""Model text in report.html takes its own direction (dir="auto")."""

from __future__ import annotations

import json

import halluscope


def test_model_text_takes_its_own_direction(tmp_path):
    """An answer in Arabic or Hebrew sat in a left-to-right block: its full stop and the
    order of its runs beside Latin words came out as a reader of it does not write them.
    Prompts, questions, answers and quotes are dir="auto" (isolated from the page around)."""
    rows = [{"id": "rtl", "image": "x.png", "task": "yes-no", "label": "no",
             "prompt": "هل توجد قطة في الصورة؟", "response": "لا، لا توجد قطة."},
            {"id": "cap", "image": "x.png", "response": "שלום. A cat on a sofa.",
             "prompt": "תאר את התמונה."}]
    path = tmp_path / "a.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                    encoding="utf-8")
    out = tmp_path / "o"
    halluscope.audit(path, metrics="pope", out=out, n_boot=0)
    page = (out / "report.html").read_text(encoding="utf-8")
    assert '<td dir="auto">هل توجد قطة في الصورة؟</td>' in page
    assert '<td class="response" dir="auto">لا، لا توجد قطة.' in page
    assert '<div class="prompt" dir="auto">תאר את התמונה.</div>' in page
    assert '<div class="response" dir="auto">שלום. A cat on a sofa.' in page
