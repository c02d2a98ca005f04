"""One marker set: pyproject.toml declares it, tests/conftest.py alone decides the skips."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
CHECKOUT = TESTS.parent

#: A test module deciding one of the markers' facts itself, instead of saying the marker.
_OWN_SKIPS = re.compile(r"""skipif\(\s*(not\s+)?(os\.geteuid\(\)|IS_ROOT|\w*busybox_available"""
                        r"""|shutil\.which\("(podman|conmon|buildah|containerd|ctr)"\)"""
                        r"""|sys\.platform|not os\.path\.isdir\("/sys/fs/cgroup/memory"\))"""
                        r"""|pytest\.skip\("(needs root|needs busybox|not installed: \{)""")


def _declared() -> set[str]:
    with open(CHECKOUT / "pyproject.toml", "rb") as f:
        lines = tomllib.load(f)["tool"]["pytest"]["ini_options"]["markers"]
    return {line.split(":")[0] for line in lines}


def _decided() -> set[str]:
    """The keys of tests/conftest.py's MARKERS table, read without importing a conftest."""
    tree = ast.parse((TESTS / "conftest.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", "") == "MARKERS":
            assert isinstance(node.value, ast.Dict)
            return {k.value for k in node.value.keys if isinstance(k, ast.Constant)}
    raise AssertionError("tests/conftest.py has no MARKERS table")


def test_every_declared_marker_has_its_skip_in_the_conftest_hook():
    assert _declared() == _decided()


def test_no_test_module_decides_a_marker_s_fact_itself():
    found = [f"{path.relative_to(CHECKOUT)}:{text.count(chr(10), 0, m.start()) + 1}"
             for path in sorted(TESTS.rglob("*.py")) if path.name != "test_markers.py"
             for text in [path.read_text()] for m in _OWN_SKIPS.finditer(text)]
    assert found == []


def _readable_by_others(path: Path) -> bool:
    return all(p.stat().st_mode & 0o005 == 0o005 for p in [path, *path.parents])


#: A cheap root-marked test: the simulator's jail_attach really chroots as root.
ROOT_TEST = "tests/unit/freebsd/test_simkernel.py::test_attach_chroots_as_root"


@pytest.mark.root
@pytest.mark.skipif(shutil.which("setpriv") is None or not _readable_by_others(CHECKOUT),
                    reason="needs setpriv(1) and a checkout user nobody can read")
def test_the_root_marker_skips_for_a_user_and_runs_for_root():
    """The hook decides from the real uid: as root the marked test runs and passes; the
    same command as user nobody skips it with the marker's reason."""
    argv = [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", ROOT_TEST]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "HOME": "/tmp"}
    as_root = subprocess.run(argv, cwd=CHECKOUT, env=env, capture_output=True, text=True,
                             timeout=120, check=False)
    assert "1 passed" in as_root.stdout, as_root.stdout + as_root.stderr
    as_user = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                              *argv], cwd=CHECKOUT, env=env, capture_output=True, text=True,
                             timeout=120, check=False)
    assert "1 skipped" in as_user.stdout, as_user.stdout + as_user.stderr
    assert "needs root (real namespaces and mounts)" in as_user.stdout  # MARKERS["root"]
