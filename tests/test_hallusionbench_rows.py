"""HallusionBench rows and answer files the original scorer would not score as given, worked by
hand: rows lacking what the judge's prompt or the category split needs, figure ids utils.py
cannot read, a question answered twice under the original variant, partial files, several
models in one file, lmms-eval samples, and the answer field named when it is missing."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import shared_data_dir
from fake_openai_server import FakeServer
from halluscope.cli import app
from halluscope.errors import ConfigError, RecordError
from halluscope.metrics.hallusionbench import HallusionBenchMetric
from halluscope.records import iter_records

import halluscope


def _row(cat="VD", sub="illusion", visual="1", set_id="0", fig="0", qid="0", truth="1",
         answer="Yes.", **extra) -> dict:
    return {"category": cat, "subcategory": sub, "visual_input": visual, "set_id": set_id,
            "figure_id": fig, "question_id": qid, "question": f"Is it so ({fig}, {qid})?",
            "gt_answer_details": "It is so.", "gt_answer": truth, "model_prediction": answer,
            **extra}


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


class _NoJudge:
    def ask_sync(self, *a, **kw):                 # never reached by the rows tested here
        raise AssertionError("the judge was asked")


def _invoke(args, expect=0):
    res = CliRunner().invoke(app, [str(a) for a in args])
    assert res.exit_code == expect, res.output
    return res


# -- bad rows (bugs 1, 9, 13) ---------------------------------------------------------------
def test_a_missing_model_prediction_names_that_field(tmp_path):
    rows = [_row(), _row(fig="1")]
    del rows[1]["model_prediction"]
    path = _write(tmp_path / "a.jsonl", rows)
    res = halluscope.audit(path, metrics="hallusionbench", out=tmp_path / "o", n_boot=0,
                           write_report=False, options={"hallusionbench_variant": "vlmevalkit"})
    assert [(e["line"], e["field"]) for e in res.errors] == [(2, "model_prediction")]
    assert "'model_prediction'" in res.errors[0]["message"]
