"""Tests share code through modules (tests/helpers.py, a directory's named helper module,
pyocijail.testing), never by importing a conftest.py or another test module."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]

#: Left to move (each imports from its own directory's conftest or a sibling test module).
NOT_YET = {
    "tests/integration/freebsd/test_crash.py: tests.integration.freebsd.conftest",
    "tests/integration/freebsd/test_jails.py: tests.integration.freebsd.conftest",
    "tests/integration/freebsd/test_podman.py: tests.integration.freebsd.conftest",
    "tests/unit/freebsd/test_resources.py: tests.unit.freebsd.conftest",
    "tests/unit/test_convert.py: tests.unit.test_fastcheck",
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = {node.module for node in ast.walk(tree)
             if isinstance(node, ast.ImportFrom) and node.module and not node.level}
    found |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
              for alias in node.names}
    return found


def test_no_test_imports_a_conftest_or_a_test_module():
    found = {f"{path.relative_to(TESTS.parent)}: {module}"
             for path in sorted(TESTS.rglob("*.py"))
             for module in _imports(path)
             if module.startswith("tests.")
             and module.rpartition(".")[2].startswith(("conftest", "test_"))}
    assert found == NOT_YET
