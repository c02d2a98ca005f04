"""pathlite answers exactly what its os.path namesakes do (it replaces them on the hot
commands, which must not import os)."""

from __future__ import annotations

import os
import posixpath

import pytest

from pyocijail import pathlite

PATHS = ["", "/", "//", "///a//", "/a", "/a/b", "/a/b/", "//a", "/a//b", "/a/./b", "/a/../b",
         "a", "a/", "./a", "a//b//", ".", "..", "/a/.", "/a/..", "/..", "/.x", "/a..b"]


@pytest.mark.parametrize("path", PATHS)
def test_string_functions(path):
    assert pathlite.dirname(path) == posixpath.dirname(path)
    assert pathlite.basename(path) == posixpath.basename(path)
    assert pathlite.abspath(path) == posixpath.abspath(path)
    for tail in PATHS:
        assert pathlite.join(path, tail) == posixpath.join(path, tail), (path, tail)


def test_predicates_on_real_files(tmp_path):
    (tmp_path / "file").write_text("x")
    (tmp_path / "dir").mkdir()
    os.symlink(tmp_path / "file", tmp_path / "link")
    os.symlink(tmp_path / "missing", tmp_path / "dangling")
    paths = [str(tmp_path / n) for n in ("file", "dir", "link", "dangling", "missing")]
    paths += ["/", "/proc", "/dev/null", "/proc/self", "/sys/fs/cgroup", "bad\0path",
              str(tmp_path / "file" / "below")]
    for path in paths:
        for name in ("exists", "lexists", "isdir", "isfile", "ismount"):
            assert getattr(pathlite, name)(path) == getattr(posixpath, name)(path), (name, path)
