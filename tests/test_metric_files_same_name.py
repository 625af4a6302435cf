"""Two metric files with one file name in two folders (``a/m.py:M``, ``b/m.py:M``) are two
modules: both loaded as ``halluscope_user_metric_m``, the second took the first's place in
``sys.modules`` and the first's class no longer pickled (workers, shards)."""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

import halluscope
from halluscope.metrics.references import load_reference

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = (ROOT / "examples" / "custom_metric.py").read_text()


def _metric_file(folder: Path, name: str, factor: int) -> str:
    folder.mkdir()
    text = (EXAMPLE.replace("class WordCount(Metric)", "class M(Metric)")
            .replace('-> "WordCount"', '-> "M"').replace('"wordcount"', f'"{name}"')
            .replace("wordcount_min_words", f"{name}_min_words")
            .replace("return len(_WORD.findall(text))",
                     f"return {factor} * len(_WORD.findall(text))"))
    (folder / "m.py").write_text(text)
    return f"{folder / 'm.py'}:M"


def test_two_files_of_one_name_are_two_modules_audited_in_one_process(tmp_path):
    a = _metric_file(tmp_path / "a", "ma", 1)
    b = _metric_file(tmp_path / "b", "mb", 2)
    A, B = load_reference(a), load_reference(b)
    assert A.__module__ != B.__module__
    assert sys.modules[A.__module__].M is A and sys.modules[B.__module__].M is B
    assert pickle.loads(pickle.dumps(A)) is A and pickle.loads(pickle.dumps(B)) is B
    assert load_reference(a) is A                        # once per process, as before
    result = halluscope.audit(ROOT / "data" / "outputs.jsonl", metrics=[a, b], n_boot=0)
    ma, mb = result.summary["ma.mean_words"], result.summary["mb.mean_words"]
    assert ma > 0 and mb == 2 * ma
    assert result.summary["ma.responses"] == result.summary["mb.responses"] > 0
