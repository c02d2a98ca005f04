"""One marker set: pyproject.toml declares it, tests/conftest.py alone decides the skips."""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

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
