"""The lean layer's rules (`pyocijail/lean.py`), checked on the source.

An ast pass, no import of the modules checked and no root: what each lean
module imports at import time (module level and class bodies, not under `if
TYPE_CHECKING:`) and in its functions. The hot commands' real imports are
measured by tests/unit/test_import_budget.py; this is the instant guard that
names the file and line.
"""

import ast
import functools
from pathlib import Path
from typing import NamedTuple

import pytest

import pyocijail
from pyocijail import lean

PACKAGE = Path(pyocijail.__file__).parent
MARKER = "# lean layer"


class Import(NamedTuple):
    target: str  # the full module name (a package's submodules are listed one by one)
    where: str | None  # the outermost function's qualified name; None: at import time
    line: int


def _file(module: str) -> Path | None:
    """The source of a pyocijail module, or None (not ours, or not there)."""
    parts = module.split(".")
    if parts[0] != "pyocijail":
        return None
    base = PACKAGE.joinpath(*parts[1:])
    for path in (base / "__init__.py", base.with_suffix(".py")):
        if path.is_file():
            return path
    return None


@functools.cache
def _tree(module: str) -> ast.Module:
    path = _file(module)
    assert path is not None, f"{module}: no such module"
    return ast.parse(path.read_text(), str(path))


def _with_parents(name: str) -> list[str]:
    """`a.b.c` -> a, a.b, a.b.c: importing a submodule runs its packages first."""
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def _targets(module: str, node: ast.Import | ast.ImportFrom) -> list[str]:
    if isinstance(node, ast.Import):
        return [t for alias in node.names for t in _with_parents(alias.name)]
    base = node.module or ""
    if node.level:
        package = module if _file(module).name == "__init__.py" else module.rpartition(".")[0]
        for _ in range(node.level - 1):
            package = package.rpartition(".")[0]
        base = f"{package}.{base}" if base else package
    found = _with_parents(base)
    # `from package import name`: name is a submodule when there is such a file
    found += [f"{base}.{a.name}" for a in node.names if _file(f"{base}.{a.name}")]
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


@functools.cache
def _imports(module: str) -> tuple[Import, ...]:
    """Every import of `module` that can run, with where it runs."""
    found: list[Import] = []

    def visit(node: ast.AST, scope: str, where: str | None) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                for stmt in child.orelse:  # the body never runs
                    visit_one(stmt, scope, where)
            else:
                visit_one(child, scope, where)

    def visit_one(node: ast.AST, scope: str, where: str | None) -> None:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.extend(Import(t, where, node.lineno) for t in _targets(module, node))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            visit(node, f"{scope}{node.name}.", where or f"{scope}{node.name}")
        elif isinstance(node, ast.ClassDef):
            visit(node, f"{scope}{node.name}.", where)  # a class body runs at import
        else:
            visit(node, scope, where)

    visit(_tree(module), "", None)
    return tuple(found)


def _cold(module: str) -> tuple[str, ...]:
    return lean.COLD.get(module, ((), ""))[0]


def _hot_imports(module: str) -> list[Import]:
    """The imports that can run in a hot command: at import time, or in a function
    that is not `COLD`."""
    return [i for i in _imports(module) if i.where not in _cold(module)]


def _reached() -> set[str]:
    """The pyocijail modules the entry points reach through their hot imports,
    `LAZY` ones left out (they are the listed way out of the layer)."""
    seen: set[str] = set()
    todo = [m for e in lean.ENTRY_POINTS for m in _with_parents(e)]
    while todo:
        module = todo.pop()
        if module in seen or _file(module) is None:
            continue
        seen.add(module)
        for imp in _hot_imports(module):
            lazy = lean.LAZY.get((module, imp.where or ""), (frozenset(), ""))[0]
            if imp.target.startswith("pyocijail") and imp.target not in lazy:
                todo.append(imp.target)
    return seen


LEAN = sorted(lean.MODULES)


def _where(module: str, imp: Import) -> str:
    return f"{_file(module).relative_to(PACKAGE.parent)}:{imp.line}: {imp.target}"


def _allowed(module: str) -> frozenset[str]:
    """What `module` may import at import time: `STDLIB`, lean modules, and its
    `KNOWN_EXCEPTIONS`."""
    extra = lean.KNOWN_EXCEPTIONS.get(module, (frozenset(), ""))[0]
    return lean.STDLIB | frozenset(lean.MODULES) | extra


@pytest.mark.parametrize("module", LEAN)
def test_imports_at_import_time_are_stdlib_or_lean(module: str) -> None:
    """Module level and class bodies, outside `if TYPE_CHECKING:`: `STDLIB`, lean
    modules, or the module's `KNOWN_EXCEPTIONS`."""
    bad = [_where(module, i) for i in _imports(module)
           if i.where is None and i.target not in _allowed(module)]
    assert not bad, "\n" + "\n".join(bad)


@pytest.mark.parametrize("module", LEAN)
def test_hot_functions_import_only_lean_or_lazy(module: str) -> None:
    """A function a hot command may run imports what its module may, or what
    `LAZY` lists for it with its reason."""
    bad = [f"{_where(module, i)} (in {i.where})" for i in _hot_imports(module)
           if i.where is not None and i.target not in _allowed(module)
           and i.target not in lean.LAZY.get((module, i.where), (frozenset(), ""))[0]]
    assert not bad, "\n" + "\n".join(bad)


@pytest.mark.parametrize("module", LEAN)
def test_no_future_annotations(module: str) -> None:
    """`from __future__ import annotations` imports `__future__` (~0.3 ms)."""
    futures = [n.lineno for n in _tree(module).body
               if isinstance(n, ast.ImportFrom) and n.module == "__future__"]
    assert futures == []


def _marked(path: Path) -> bool:
    text = path.read_text()
    if text.startswith(MARKER):
        return True
    doc = ast.get_docstring(ast.parse(text)) or ""
    return "lean layer" in doc.partition("\n")[0].lower()


def test_lean_modules_say_so_and_only_they() -> None:
    """A newcomer sees the rules apply from the file: `# lean layer` on its first
    line (or "lean layer" in its docstring's first line)."""
    modules = {".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts)
               .removesuffix(".__init__"): p for p in PACKAGE.rglob("*.py")}
    marked = {m for m, p in modules.items() if _marked(p)}
    assert sorted(set(lean.MODULES) - marked) == [], "lean but not marked"
    assert sorted(marked - set(lean.MODULES) - {"pyocijail.lean"}) == [], "marked, not lean"


def test_modules_are_what_the_entry_points_reach() -> None:
    """MODULES is not a wish list: it is exactly the pyocijail modules the entry
    points reach through imports that can run in a hot command."""
    reached = _reached()
    assert sorted(reached - set(lean.MODULES)) == [], "reached, not in MODULES"
    assert sorted(set(lean.MODULES) - reached) == [], "in MODULES, never reached"


def test_every_hot_command_has_an_entry_point() -> None:
    """cli imports a command's module by name (`COMMANDS`): each hot one is an entry."""
    for node in _tree("pyocijail.cli").body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "COMMANDS":
            commands = ast.literal_eval(node.value)
    for command in ("state", "start", "kill", "delete", "list"):
        assert f"pyocijail.cli.{commands[command]}" in lean.ENTRY_POINTS


def test_exceptions_are_current() -> None:
    """Every COLD function exists, every LAZY and KNOWN_EXCEPTIONS import is still
    made, every entry has its reason: a stale entry would hide a future import."""
    stale = []
    for module, (functions, why) in lean.COLD.items():
        assert module in lean.MODULES and why
        heavy = {i.where for i in _imports(module) if i.target not in _allowed(module)}
        stale += [f"COLD {module}.{f}" for f in functions if f not in heavy]
    for (module, function), (imports, why) in lean.LAZY.items():
        assert module in lean.MODULES and why and imports
        made = {i.target for i in _imports(module) if i.where == function}
        stale += [f"LAZY {module}.{function}: {t}" for t in sorted(imports - made)]
    for module, (imports, why) in lean.KNOWN_EXCEPTIONS.items():
        assert module in lean.MODULES and why
        made = {i.target for i in _imports(module) if i.where is None}
        stale += [f"KNOWN_EXCEPTIONS {module}: {t}" for t in sorted(imports - made)]
    assert set(lean.ENTRY_POINTS) <= set(lean.MODULES)
    assert not stale, "\n" + "\n".join(stale)
