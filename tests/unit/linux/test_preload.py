"""`preload`: the one list of modules the container side loads before pivot_root."""

from __future__ import annotations

import ast
from pathlib import Path
from types import SimpleNamespace

import pyocijail
from pyocijail.backends.linux import preload
from pyocijail.spec.model import Mount

LINUX = Path(pyocijail.__file__).parent / "backends" / "linux"
#: The init's steps that run after `_before_gate` (isolate: maybe without the
#: host's root; enter and become: after pivot_root).
INIT_STEPS = ("isolate", "enter", "become")


def _lazy_imports(node: ast.AST) -> set[str]:
    found = set()
    for n in ast.walk(node):
        if isinstance(n, ast.ImportFrom) and n.module and n.level == 0:
            if n.module == "pyocijail.backends.linux" or n.module == "pyocijail":
                found |= {f"{n.module}.{a.name}" for a in n.names}
            else:
                found.add(n.module)
    return found


def _methods(path: Path, names: tuple[str, ...] | None) -> list[ast.FunctionDef]:
    tree = ast.parse(path.read_text())
    return [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)
            and (names is None or n.name in names)]


def test_what_the_init_imports_after_the_gate_is_in_the_list():
    """A lazy import in isolate/enter/become, or in LinuxKernel's methods, of a module
    `load` did not import would fail after pivot_root (in a root-only test at best)."""
    functions = [*_methods(LINUX / "backend.py", INIT_STEPS),
                 *_methods(LINUX / "linuxkernel.py", None)]
    imported = set().union(*(_lazy_imports(f) for f in functions))
    imported = {m for m in imported if m.startswith("pyocijail")}
    listed = {*preload.MODULES, preload.CGROUP_MOUNT}
    assert imported - listed == set()
    assert "pyocijail.backends.linux.namespaces" in imported  # (the walk sees them)


def test_cgroupmount_only_for_a_config_with_a_cgroup_mount():
    plain = SimpleNamespace(mounts=(Mount(destination="/tmp", type="tmpfs"),))
    cgroup = SimpleNamespace(mounts=(Mount(destination="/sys/fs/cgroup", type="cgroup"),))
    assert preload.CGROUP_MOUNT not in preload.modules(plain)  # type: ignore[arg-type]
    assert preload.modules(cgroup)[-1] == preload.CGROUP_MOUNT  # type: ignore[arg-type]
