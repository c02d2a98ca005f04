"""The Linux backend's modules form a tree without circles (issue 18, item 4).

An AST pass over every module of `pyocijail/backends/linux/`: module-level and
function-level imports both count (a lazy import is still a dependency), the
ones under `if TYPE_CHECKING:` do not (they never run). No test imports the
modules themselves, so this needs nothing but the source.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pyocijail

PACKAGE = "pyocijail.backends.linux"
ROOT = Path(pyocijail.__file__).parent / "backends" / "linux"


def _modules() -> dict[str, ast.Module]:
    return {p.stem: ast.parse(p.read_text(), str(p)) for p in sorted(ROOT.glob("*.py"))
            if p.stem != "__init__"}


def _runtime_nodes(tree: ast.AST):
    """Every node but those under `if TYPE_CHECKING:`."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) \
                and node.test.id == "TYPE_CHECKING":
            yield from (n for child in node.orelse for n in [child, *_runtime_nodes(child)])
            continue
        yield node
        yield from _runtime_nodes(node)


def _imports(tree: ast.Module, names: set[str]) -> list[tuple[str, list[str]]]:
    """(sibling module, names taken from it) for each import of a sibling."""
    found = []
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if alias.name.startswith(PACKAGE + ".") and parts[3] in names:
                    found.append((parts[3], []))
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == PACKAGE:
                found += [(a.name, []) for a in node.names if a.name in names]
            elif node.module.startswith(PACKAGE + "."):
                found.append((node.module.split(".")[3], [a.name for a in node.names]))
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: {dep for dep, _ in _imports(tree, set(modules))} - {name}
            for name, tree in modules.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of `graph` as a path (first == last), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                return [*stack[stack.index(dep):], dep]
            if dep not in state and (found := visit(dep)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_cycle_finder_finds_a_cycle():
    """The checker itself: a two-module circle through a lazy import is found."""
    assert _cycle({"a": {"b"}, "b": {"a"}, "c": set()}) == ["a", "b", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle_in_the_linux_backend():
    """No module of backends/linux reaches itself through imports, lazy ones included."""
    assert _cycle(_graph()) is None


def test_no_module_imports_a_siblings_private_names():
    """`from .x import _name` is how mounts' helpers leaked into rootfs: shared
    primitives are public in `mountlib` instead."""
    modules = _modules()
    leaks = [(name, dep, taken) for name, tree in modules.items()
             for dep, names in _imports(tree, set(modules))
             for taken in names if taken.startswith("_")]
    assert leaks == []


def test_no_module_getattr_forwarding():
    """No module of the backend serves another module's names through `__getattr__`:
    call sites name the module that defines the function."""
    forwarding = [name for name, tree in _modules().items() for node in tree.body
                  if isinstance(node, ast.FunctionDef) and node.name == "__getattr__"]
    assert forwarding == []
