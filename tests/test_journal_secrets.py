"""The journal of an audit (``items.journal.part``, in the output folder, kept when the audit
is stopped) holds no credential: its header held the options as given, a ``judge_base_url``'s
password and ``judge_options``' headers included, while the run sheet had them redacted."""

from __future__ import annotations

import json

from halluscope.api import audit
from tests.test_resume_doubts import _captions, _gt, _stopped_after

PASSWORD = "pw-Secret-4711-xyz"
TOKEN = "tok-Secret-9932-abc"
OPTIONS = {"judge_base_url": f"http://alice:{PASSWORD}@127.0.0.1:9/v1",
           "judge_options": {"default_headers": {"Authorization": f"Bearer {TOKEN}"}}}


def test_a_stopped_audits_journal_holds_no_credential_and_resumes(tmp_path):
    path, gt = _captions(tmp_path / "in" / "caps.jsonl"), _gt(tmp_path / "in")
    out = tmp_path / "out"
    kw = dict(metrics="chair", gt_objects=gt, n_boot=20, options=OPTIONS)
    _stopped_after(15, path, out=out, **kw)
    kept = b"".join(p.read_bytes() for p in out.iterdir() if p.is_file())
    assert (out / "items.journal.part").is_file()
    assert PASSWORD.encode() not in kept and TOKEN.encode() not in kept
    resumed = audit(path, out=out, resume=True, write_report=False, **kw)
    whole = audit(path, out=tmp_path / "whole", write_report=False, **kw)
    assert (out / "items.jsonl").read_bytes() == (tmp_path / "whole" / "items.jsonl").read_bytes()
    assert json.dumps(resumed.metrics["chair"].to_dict(), sort_keys=True) == \
        json.dumps(whole.metrics["chair"].to_dict(), sort_keys=True)
    for folder in (out, tmp_path / "whole"):
        written = b"".join(p.read_bytes() for p in folder.iterdir() if p.is_file())
        assert PASSWORD.encode() not in written and TOKEN.encode() not in written
