"""A Ctrl-C landing while ``journal_header`` dumps the audit's options (inside pydantic's
serializer, which raises ``PydanticSerializationError`` from the ``KeyboardInterrupt``) is an
interrupt: "interrupted", exit 130, not "internal error: PydanticSerializationError", exit 3."""

from __future__ import annotations

import sys

import pytest
from pydantic import BaseModel, field_serializer

from halluscope import cli
from halluscope.config import AuditConfig
from halluscope.journal import journal_header
from tests.test_journal_safety import _chair


class _Pressed(BaseModel):
    """A model whose serializer meets a Ctrl-C, as pydantic reports it."""
    x: int = 1

    @field_serializer("x")
    def _ctrl_c(self, value: int) -> int:
        raise KeyboardInterrupt


def _wrapped(*args, **kwargs):
    return _Pressed().model_dump(mode="json")


def _plain(*args, **kwargs):
    raise KeyboardInterrupt


@pytest.mark.parametrize("dump", [_wrapped, _plain])
def test_ctrl_c_in_the_headers_model_dump_exits_130(tmp_path, monkeypatch, capsys, dump):
    path, gt = _chair(tmp_path)
    monkeypatch.setattr(AuditConfig, "model_dump", dump)
    monkeypatch.setattr(sys, "argv", ["halluscope", "audit", str(path), "--metric", "chair",
                                      "--gt-objects", str(gt), "--bootstrap", "0", "--out",
                                      str(tmp_path / "out"), "--no-report", "--quiet"])
    monkeypatch.setattr(cli, "_debug", False)
    monkeypatch.delenv(cli.ENV_DEBUG, raising=False)
    with pytest.raises(SystemExit) as exc:
        cli.main()
    err = capsys.readouterr().err
    assert exc.value.code == 130, err
    assert "interrupted" in err and "internal error" not in err, err


def test_the_library_gets_the_keyboard_interrupt_itself(tmp_path, monkeypatch):
    """Not only the CLI: ``journal_header`` raises the interrupt pydantic wrapped."""
    path, gt = _chair(tmp_path)
    monkeypatch.setattr(AuditConfig, "model_dump", _wrapped)
    with pytest.raises(KeyboardInterrupt):
        journal_header([path], AuditConfig.model_construct(), ["chair"])
