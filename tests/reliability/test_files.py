"""The files the runtime writes and trusts: state root, pid file, console socket."""

from __future__ import annotations

import os
import stat

import pytest

from pyocijail.errors import PyocijailError
from tests.reliability import harness


def test_pid_file_never_follows_a_planted_temporary_symlink(tmp_path):
    """The temporary name is predictable (path.tmp<pid>): a symlink planted there
    by whoever can write the directory must not redirect the write."""
    from pyocijail.lifecycle.create import write_pid_file

    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    pid_file = tmp_path / "pid"
    os.symlink(victim, f"{pid_file}.tmp{os.getpid()}")
    write_pid_file(str(pid_file), 4242)
    assert victim.read_text() == "precious\n"
    assert pid_file.read_text() == "4242" and not pid_file.is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pid", "victim"]


def test_pid_file_failure_leaves_no_temporary_file(tmp_path):
    from pyocijail.lifecycle.create import write_pid_file

    (tmp_path / "pid").mkdir()  # rename over a directory fails
    with pytest.raises(PyocijailError, match="cannot write pid file"):
        write_pid_file(str(tmp_path / "pid"), 4242)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pid"]
