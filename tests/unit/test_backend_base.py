"""The seam's optional steps are explicit: `BackendBase` defaults, no `getattr` probing."""

import ast
import pathlib

import pyocijail
from pyocijail.backends.base import BackendBase
from pyocijail.backends.freebsd.backend import FreeBSDBackend
from pyocijail.backends.linux.backend import LinuxBackend

PACKAGE = pathlib.Path(pyocijail.__file__).parent

# The required steps (the `Backend` protocol) and the optional ones (`BackendBase`).
REQUIRED = {"name", "plan", "features", "prepare", "fork", "adopt", "isolate", "enter_hook",
            "enter", "become", "before_exec", "exec_fds", "execve", "fork_joined", "join",
            "processes", "destroy"}
OPTIONAL = {name for name in vars(BackendBase) if not name.startswith("_")}


def _public_overrides(cls: type) -> set[str]:
    return {name for name in vars(cls) if not name.startswith("_")}


def test_backends_subclass_backend_base() -> None:
    assert issubclass(LinuxBackend, BackendBase)
    assert issubclass(FreeBSDBackend, BackendBase)


def test_optional_steps_are_documented() -> None:
    for name in OPTIONAL:
        member = vars(BackendBase)[name]
        if callable(member):
            assert member.__doc__, name


def test_backends_define_only_documented_steps() -> None:
    # Each backend's `kernel` is the kernel it acts through (a property: FreeBSD's
    # simulated-kernel accessor, Linux's NsKernel, this host's made on first use).
    extra = {LinuxBackend: {"kernel"}, FreeBSDBackend: {"kernel"}}
    for cls, own in extra.items():
        unknown = _public_overrides(cls) - REQUIRED - OPTIONAL - own
        assert not unknown, (cls.__name__, unknown)


def test_supports_flags_match_the_steps() -> None:
    for cls in (LinuxBackend, FreeBSDBackend):
        assert cls.supports_freeze == ("freeze" in vars(cls))
        assert cls.supports_update == ("update" in vars(cls))
        assert cls.supports_events == ("stats" in vars(cls) and "oom_kills" in vars(cls))


def _backend_getattrs(path: pathlib.Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id == "getattr" and node.args):
            target = ast.unparse(node.args[0])
            if "backend" in target:
                found.append(f"{path.relative_to(PACKAGE)}:{node.lineno}: getattr({target}, ...)")
    return found


def test_core_calls_backend_steps_directly() -> None:
    found = [hit for sub in ("lifecycle", "process")
             for path in sorted((PACKAGE / sub).rglob("*.py")) for hit in _backend_getattrs(path)]
    assert not found, found


def test_the_default_planned_process_is_the_one_given() -> None:
    """Linux keeps running the spec's process (and an exec's process file) as given:
    only a backend that plans the process (FreeBSD) replaces it."""
    from pyocijail.spec.model import Process

    process = Process(cwd="/", args=("/bin/true",), env=("A=1", "A=2"))
    assert "planned_process" not in vars(LinuxBackend)
    assert BackendBase().planned_process(None, process) is process
    assert BackendBase().planned_process(object(), process) is process
