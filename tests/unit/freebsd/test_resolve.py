"""The destination resolver: containment, links, loops, missing parts."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from pyocijail.rootpath import MAXSYMLINKS_FREEBSD as MAXSYMLINKS
from pyocijail.rootpath import DirView, ResolveError, walk


def resolve(dest, view):
    """The FreeBSD planner's walk: MAXSYMLINKS is 32 there."""
    return walk(dest, view, MAXSYMLINKS)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    r = tmp_path / "root"
    (r / "etc").mkdir(parents=True)
    (r / "var/run").mkdir(parents=True)
    (r / "etc/hosts").write_text("x")
    return r


def test_absolute_link_is_rerooted(root: Path) -> None:
    """An absolute link target restarts at the container root, not the host's."""
    os.symlink("/var/run", root / "run")
    res = resolve("/run/x.conf", DirView(str(root)))
    assert res.path == "/var/run/x.conf"
    assert res.kind == "missing"


def test_relative_link_is_followed(root: Path) -> None:
    """A relative link resolves against its own directory."""
    os.symlink("../var/run", root / "etc/run")
    assert resolve("/etc/run", DirView(str(root))).path == "/var/run"


def test_dotdot_is_clamped_at_the_root(root: Path) -> None:
    """`..` above the container root stays at the root."""
    assert resolve("/../../../etc/hosts", DirView(str(root))).path == "/etc/hosts"


def test_link_cannot_escape(root: Path) -> None:
    """A link climbing out with `..` lands inside the root."""
    os.symlink("../../../../../etc", root / "escape")
    res = resolve("/escape/passwd", DirView(str(root)))
    assert res.path == "/etc/passwd" and res.kind == "missing"


def test_link_loop_is_eloop(root: Path) -> None:
    """A self-referencing link fails with ELOOP."""
    os.symlink("/loop", root / "loop")
    with pytest.raises(ResolveError) as info:
        resolve("/loop/x", DirView(str(root)))
    assert info.value.errno == errno.ELOOP


def test_chain_of_maxsymlinks_resolves_but_one_more_is_eloop(root: Path) -> None:
    """Exactly MAXSYMLINKS (32, FreeBSD) links resolve; 33 are ELOOP."""
    for i in range(MAXSYMLINKS):
        os.symlink(f"l{i + 1}", root / f"l{i}")
    os.symlink("etc", root / f"l{MAXSYMLINKS}")
    assert resolve("/l1/hosts", DirView(str(root))).path == "/etc/hosts"
    with pytest.raises(ResolveError) as info:
        resolve("/l0/hosts", DirView(str(root)))
    assert info.value.errno == errno.ELOOP


def test_file_in_the_middle_is_enotdir(root: Path) -> None:
    """A regular file cannot be a directory component."""
    with pytest.raises(ResolveError) as info:
        resolve("/etc/hosts/x", DirView(str(root)))
    assert info.value.errno == errno.ENOTDIR


def test_missing_components_are_listed_outermost_first(root: Path) -> None:
    """Every component to create is listed, parent before child."""
    res = resolve("/a/b/c", DirView(str(root)))
    assert [("/" + "/".join(p)) for p in res.missing] == ["/a", "/a/b", "/a/b/c"]


def test_dotdot_after_a_missing_component_is_textual(root: Path) -> None:
    """`..` inside the missing part is applied to the text (no links there)."""
    res = resolve("/etc/new/../other", DirView(str(root)))
    assert res.path == "/etc/other"


def test_existing_file_and_dir_kinds(root: Path) -> None:
    """An existing destination reports whether it is a file or a directory."""
    assert resolve("/etc/hosts", DirView(str(root))).kind == "file"
    assert resolve("/etc", DirView(str(root))).kind == "dir"
