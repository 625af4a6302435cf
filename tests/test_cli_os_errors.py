"""An OSError reaching a command is exit 2 only when the user can mend it (a path missing,
a folder, forbidden; a full disk; a server that did not answer); any other is a crash: exit 3
with its traceback kept, never read as a usage error."""

from __future__ import annotations

import errno
import subprocess
import sys

import pytest

from halluscope.cli.common import user_os_error

_RUN = ("import errno, sys\n"
        "import halluscope.api as api\n"
        "def broken(*a, **k):\n"
        "    raise {raise_}\n"
        "api.audit = broken\n"
        "from halluscope.cli import main\n"
        "sys.argv = ['halluscope'] + sys.argv[1:]\n"
        "main()\n")


@pytest.mark.parametrize("exc, user", [
    (FileNotFoundError(errno.ENOENT, "No such file or directory", "a.jsonl"), True),
    (PermissionError(errno.EACCES, "Permission denied", "a.jsonl"), True),
    (IsADirectoryError(errno.EISDIR, "Is a directory", "out"), True),
    (OSError(errno.ENOSPC, "No space left on device"), True),
    (FileNotFoundError("expected a weights file or folder, got w/"), True),
    (ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"), True),
    (OSError(errno.EIO, "Input/output error"), False),
    (OSError(errno.EBADF, "Bad file descriptor"), False),
    (OSError(errno.EINVAL, "Invalid argument"), False),
    (OSError("something broke"), False),
])
def test_which_os_errors_are_the_users(exc, user):
    assert user_os_error(exc) is user


def _audit(tmp_path, raise_: str) -> subprocess.CompletedProcess:
    src = tmp_path / "a.jsonl"
    src.write_text('{"image_id": 1, "caption": "a dog"}\n', encoding="utf-8")
    return subprocess.run([sys.executable, "-c", _RUN.format(raise_=raise_), "audit", str(src),
                           "--metric", "chair", "--out", str(tmp_path / "out"), "--quiet"],
                          capture_output=True, text=True, timeout=120,
                          env={**__import__("os").environ, "TMPDIR": str(tmp_path)})


def test_an_io_error_is_a_crash_with_its_traceback_kept(tmp_path):
    done = _audit(tmp_path, "OSError(errno.EIO, 'Input/output error')")
    assert done.returncode == 3, done.stderr
    assert "internal error" in done.stderr and "Input/output error" in done.stderr
    assert list(tmp_path.glob("halluscope-crash-*.log")), done.stderr


def test_a_missing_file_is_a_usage_error_naming_it(tmp_path):
    done = _audit(tmp_path, "FileNotFoundError(errno.ENOENT, 'No such file or directory', "
                            "'gt/missing.json')")
    assert done.returncode == 2, done.stderr
    assert "gt/missing.json" in done.stderr and "internal error" not in done.stderr
