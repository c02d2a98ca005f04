"""Import budget of the hot commands: which modules a call loads, not how long it takes.

A runtime is started for every operation, so what a command imports is its
speed: `import json` alone (via `re` and `enum`) costs more than runc's whole
`state`. Each command runs here in a fresh interpreter (`-I -S`, the
package's directories put on sys.path as the fast launcher does) on a real
container, and the modules it loaded are listed at exit. Heavy or avoidable
modules must not appear on `state`, `kill`, `start`, `delete`, `list` and
`--version`. Timings are deliberately not asserted (shared machines).

The modules those commands may load, and the rules, are named in
`pyocijail/lean.py`; tests/unit/test_lean_layer.py checks them on the source
(no root, nothing run). This test stays the measure: it sees what the source
does not say (the branch a command really takes, what a stdlib module imports
in turn) on a real container and on the simulated FreeBSD host.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from pyocijail.lean import MODULES as LEAN
from pyocijail.testing.bundles import make_bundle

#: Never on a hot command: third-party dependencies, process spawning, argparse
#: and what it drags in, and the stdlib modules whose import alone costs a
#: millisecond or more (`json` -> `re` -> `enum`, `typing`, `socket`, ...).
#: `os` is one of them (~2 ms: `_collections_abc` builds its ABCs): the hot
#: modules use `posix` and `pyocijail.pathlite`.
HEAVY = {
    "os", "posixpath", "_collections_abc",
    "jsonschema", "referencing", "cattrs", "attrs", "attr", "psutil",
    "subprocess", "argparse", "gettext", "locale", "shutil",
    "json", "re", "enum", "typing", "functools", "collections", "contextlib", "inspect",
    "dataclasses", "socket", "selectors", "signal", "pathlib", "importlib.util",
    "importlib.metadata", "runpy", "tempfile", "threading", "logging", "ctypes",
    # `from __future__ import annotations` imports this module (~0.3 ms): the modules
    # the hot commands load do without it, and quote the annotations that name
    # type-checking-only imports.
    "__future__",
}

#: Allowed on a hot command although in HEAVY, with the reason.
ALLOWED: dict[str, set[str]] = {
    # (delete and kill --all load the Linux backend for processes()/destroy(),
    # which imports libc and ctypes only where create and exec need them)
}

#: `create`, `run` and `exec` validate and convert a config or process file. A
#: valid one is accepted by the compiled schema check and converted without
#: attrs or cattrs (`pyocijail.values`); jsonschema is imported only to describe
#: a rejection; argparse only for help and usage errors. Otherwise the hot
#: commands' budget holds, except for ctypes (mount, unshare, setns, seccomp), os
#: and `__future__` (the spec model, process setup and init modules keep
#: `from __future__ import annotations`).
CREATE_FORBIDDEN = HEAVY - {"ctypes", "os", "posixpath", "_collections_abc", "__future__"}

#: What only some configs need: the runtime side of a create or run of a config
#: without seccomp and without a user namespace (the tests' bundles) loads
#: neither module (the init imports seccomp only for a filter).
CONFIG_SPECIFIC = {"pyocijail.backends.linux.seccomp", "pyocijail.backends.linux.userns"}

#: exec writes its --pid-file without create's module (its hooks and undo journal).
EXEC_SKIPS = {"pyocijail.lifecycle.create", "pyocijail.lifecycle.hooks"}

#: A delete of a stopped container only removes its cgroup directories
#: (`cgroupdirs`): not the cgroup layout or the frozen value classes.
STOPPED_DELETE_SKIPS = {"pyocijail.backends.linux.cgroups", "pyocijail.values"}

_WRAPPER = """
import sys
sys.path[:0] = {paths!r}
out = {out!r}
try:
    from pyocijail.cli import main
    code = main()
finally:
    with open(out, "w") as f:
        f.write("\\n".join(sorted(sys.modules)))
sys.exit(code)
"""


def _paths() -> list[str]:
    import attrs
    import cattrs
    import jsonschema
    import psutil
    import referencing

    import pyocijail

    found: list[str] = []
    for mod in (pyocijail, attrs, cattrs, jsonschema, referencing, psutil):
        d = os.path.dirname(os.path.dirname(os.path.abspath(mod.__file__)))
        if d not in found:
            found.append(d)
    return found


def _modules(tmp_path, root: str, *args: str, ok: bool = True) -> set[str]:
    out = tmp_path / "modules.txt"
    code = _WRAPPER.format(paths=_paths(), out=str(out))
    with open(tmp_path / "stdout", "wb") as so, open(tmp_path / "stderr", "wb") as se:
        proc = subprocess.run([sys.executable, "-I", "-S", "-c", code, "--root", root, *args],
                              stdin=subprocess.DEVNULL, stdout=so, stderr=se, timeout=60,
                              check=False)
    if ok:
        assert proc.returncode == 0, (args, (tmp_path / "stderr").read_text())
    return set(out.read_text().split())


def _baseline(tmp_path) -> set[str]:
    out = tmp_path / "base.txt"
    code = f"import sys\nopen({str(out)!r}, 'w').write('\\n'.join(sys.modules))"
    subprocess.run([sys.executable, "-I", "-S", "-c", code], check=True)
    return set(out.read_text().split())


def _outside_layer(mods: set[str]) -> set[str]:
    """The pyocijail modules loaded that `pyocijail/lean.py` does not name as lean."""
    return {m for m in mods if m.startswith("pyocijail") and m not in LEAN}


def _heavy(mods: set[str], command: str) -> set[str]:
    """What `command` loaded and must not: HEAVY beyond ALLOWED, or a pyocijail
    module outside the lean layer."""
    loaded = {m for m in HEAVY if m in mods}
    return (loaded - ALLOWED.get(command, set())) | _outside_layer(mods)


def test_version_and_list_are_light(tmp_path):
    root = str(tmp_path / "root")
    for args, name in ((("--version",), "--version"), (("list",), "list"),
                       (("list", "--format", "json"), "list")):
        mods = _modules(tmp_path, root, *args)
        assert _heavy(mods, name) == set(), (args, sorted(_heavy(mods, name)))


def test_errors_on_hot_commands_are_light(tmp_path):
    """A missing container is the answer containerd and podman see most after delete."""
    root = str(tmp_path / "root")
    for args in (("state", "nope"), ("kill", "nope", "9"), ("delete", "nope"),
                 ("delete", "--force", "nope"), ("start", "nope")):
        mods = _modules(tmp_path, root, *args, ok=args[:2] == ("delete", "--force"))
        assert _heavy(mods, args[0]) == set(), (args, sorted(_heavy(mods, args[0])))


@pytest.mark.root
@pytest.mark.busybox
def test_lifecycle_hot_commands_are_light(tmp_path):
    """create (heavy, allowed), then state/start/state/kill/kill --all/delete on it."""
    root = str(tmp_path / "root")
    bundle = make_bundle(str(tmp_path / "bundle"), ["sleep", "1000"])
    seen: dict[str, set[str]] = {}
    create = _modules(tmp_path, root, "create", "--bundle", bundle, "c1")
    try:
        assert create & CREATE_FORBIDDEN == set()
        steps = [("state", "c1"), ("start", "c1"), ("state", "c1"), ("kill", "c1", "HUP"),
                 ("kill", "c1"), ("kill", "c1", "15"), ("kill", "--all", "c1", "9")]
        for args in steps:
            mods = _modules(tmp_path, root, *args)
            seen[" ".join(args)] = _heavy(mods, " ".join(args[:2]) if args[1] == "--all"
                                          else args[0])
        deadline = time.monotonic() + 10
        while True:
            _modules(tmp_path, root, "state", "c1")
            state = json.loads((tmp_path / "stdout").read_text())
            if state["status"] == "stopped" or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        mods = _modules(tmp_path, root, "delete", "c1")
        seen["delete c1"] = _heavy(mods, "delete") | (mods & STOPPED_DELETE_SKIPS)
        assert "pyocijail.backends.linux.cgroupdirs" in mods  # (it did remove them)
    finally:
        subprocess.run([sys.executable, "-m", "pyocijail", "--root", root, "delete", "--force",
                        "c1"], check=False, capture_output=True)
    assert {k: sorted(v) for k, v in seen.items() if v} == {}


@pytest.mark.root
@pytest.mark.busybox
def test_create_run_exec_of_valid_configs_skip_jsonschema_and_cattrs(tmp_path):
    """run (foreground), and exec (--process, and CMD ARGS) into a running container."""
    root = str(tmp_path / "root")
    bundle = make_bundle(str(tmp_path / "bundle"), ["true"])
    mods = _modules(tmp_path, root, "run", "--bundle", bundle, "r1")
    assert mods & CREATE_FORBIDDEN == set(), sorted(mods & CREATE_FORBIDDEN)
    assert mods & CONFIG_SPECIFIC == set(), sorted(mods & CONFIG_SPECIFIC)
    sleeper = make_bundle(str(tmp_path / "sleeper"), ["sleep", "1000"])
    mods = _modules(tmp_path, root, "create", "--bundle", sleeper, "--pid-file",
                    str(tmp_path / "pid"), "c2")
    try:
        assert mods & CREATE_FORBIDDEN == set(), sorted(mods & CREATE_FORBIDDEN)
        assert mods & CONFIG_SPECIFIC == set(), sorted(mods & CONFIG_SPECIFIC)
        _modules(tmp_path, root, "start", "c2")
        process = tmp_path / "process.json"
        process.write_text(json.dumps({"cwd": "/", "args": ["true"], "env": ["PATH=/bin"]}))
        # conmon's and containerd's form, then a person's (CMD ARGS with flags)
        mods = _modules(tmp_path, root, "exec", "--pid-file", str(tmp_path / "epid"),
                        "--process", str(process), "--detach", "c2")
        assert mods & CREATE_FORBIDDEN == set(), sorted(mods & CREATE_FORBIDDEN)
        assert mods & EXEC_SKIPS == set(), sorted(mods & EXEC_SKIPS)
        mods = _modules(tmp_path, root, "exec", "-e", "A=1", "--env=B=2", "--cwd", "/",
                        "-u", "0:0", "c2", "--", "sh", "-c", "test $A$B = 12")
        assert mods & CREATE_FORBIDDEN == set(), sorted(mods & CREATE_FORBIDDEN)
    finally:
        subprocess.run([sys.executable, "-m", "pyocijail", "--root", root, "delete", "--force",
                        "c2"], check=False, capture_output=True)


def test_invalid_config_still_gets_jsonschemas_message(tmp_path):
    """A rejected config imports jsonschema, and its message names the pointer and rule."""
    root = str(tmp_path / "root")
    bundle = tmp_path / "bad"
    bundle.mkdir()
    (bundle / "config.json").write_text(json.dumps(
        {"ociVersion": "1.0.2", "root": {"path": "rootfs"},
         "process": {"cwd": "/", "args": [], "user": {"uid": 0, "gid": 0}}}))
    mods = _modules(tmp_path, root, "create", "--bundle", str(bundle), "x1", ok=False)
    assert "jsonschema" in mods
    assert "/process/args: [] is too short" in (tmp_path / "stderr").read_text()


def test_baseline_is_what_python_loads_anyway(tmp_path):
    """The budget is about pyocijail: a bare interpreter loads none of HEAVY."""
    assert HEAVY & _baseline(tmp_path) == set()


#: The FreeBSD backend's hot commands read liveness with one sysctl (kern.proc.pid)
#: through `_ctypes` alone (`backends/freebsd/procinfo.py`), where Linux reads /proc:
#: state, start and kill keep the Linux budget. Commands that build the backend
#: (delete, kill --all: jail_get's walk, jail_remove, unmount) call the kernel
#: through `LibcKernel`, i.e. ctypes, and the `os` that ctypes/__init__.py imports.
#: Never psutil, subprocess (tools run through posix_spawn), typing, re, enum,
#: shutil, socket, `__future__`.
_LIBC = {"ctypes", "os", "posixpath", "_collections_abc"}
FREEBSD_ALLOWED = {"delete": _LIBC, "kill --all": _LIBC}
#: Every stdlib module those commands may load beyond a bare interpreter: ctypes'
#: own imports, `select` (run_tool's pipes), and what the Linux commands load.
FREEBSD_STDLIB = {"ctypes", "_ctypes", "ctypes._endian", "struct", "_struct", "os", "os.path",
                  "posixpath", "genericpath", "stat", "_stat", "_collections_abc", "types",
                  "select", "_json", "atexit", "errno", "fcntl", "_socket", "time", "gc"}
#: state, start and kill: nothing beyond what the same commands load on Linux, and
#: `_ctypes` (the C module, ~0.5 ms) for the sysctl; `gc` (built in: the brief
#: commands run without the cyclic GC, cli.gc_pause).
FREEBSD_LEAN_STDLIB = {"_ctypes", "_json", "atexit", "errno", "fcntl", "_socket", "time",
                       "gc"}


def test_lean_stdlib_is_what_this_budget_allows(tmp_path):
    """`pyocijail.lean.STDLIB` (what test_lean_layer lets a lean module import) is
    no wider than what state/start/kill may load here: a bare interpreter's
    modules and FREEBSD_LEAN_STDLIB, none of HEAVY."""
    from pyocijail.lean import STDLIB

    assert sorted(STDLIB & HEAVY) == []
    assert sorted(STDLIB - _baseline(tmp_path) - FREEBSD_LEAN_STDLIB) == []


#: Runs `pyocijail.testing.simhost SIM ARGS` and writes the modules the *product*
#: loaded: the simulated host's fakes (`pyocijail.testing.*`) import what they like,
#: and may import it first, so a plain sys.modules diff would hide what the product
#: needs. Every import statement's (importer -> module) is recorded, and the modules
#: reachable from the product's entry points are listed: pyocijail.cli; the FreeBSD
#: backend and LibcKernel when the command built a backend (as select_backend does on
#: FreeBSD); `procinfo` when liveness was asked (on FreeBSD it reads it there).
_FREEBSD_WRAPPER = """
import builtins, sys
base = set(sys.modules)
sys.path[:0] = {paths!r}
out = {out!r}
edges = {{}}
_orig = builtins.__import__

def _hook(name, globals=None, locals=None, fromlist=(), level=0):
    mod = _orig(name, globals, locals, fromlist, level)
    g = globals if globals is not None else sys._getframe(1).f_globals
    full = name
    if level:
        pkg = g.get("__package__") or ""
        base_pkg = pkg.rsplit(".", level - 1)[0] if level > 1 else pkg
        full = base_pkg + "." + name if name else base_pkg
    got = edges.setdefault(g.get("__name__", "?"), set())
    parts = full.split(".")
    for i in range(1, len(parts) + 1):
        got.add(".".join(parts[:i]))
    for item in fromlist or ():
        if full + "." + item in sys.modules:
            got.add(full + "." + item)
    return mod

builtins.__import__ = _hook

def closure(roots):
    seen, todo = set(), list(roots)
    while todo:
        m = todo.pop()
        if m in seen or m.startswith("pyocijail.testing"):
            continue
        seen.add(m)
        todo.extend(edges.get(m, ()))
    return seen

from pyocijail.testing import simhost
made = []
_factory = simhost.backend_factory

def factory(path):
    make = _factory(path)
    def built(*args):
        made.append(True)
        return make(*args)
    return built

simhost.backend_factory = factory
sys.argv[0:1] = ["simhost"]
try:
    code = simhost.main()
finally:
    roots = ["pyocijail.cli"]
    if made:
        roots += ["pyocijail.backends.freebsd.backend", "pyocijail.backends.freebsd.libc"]
    if "pyocijail.state.liveness" in closure(roots):
        roots.append("pyocijail.backends.freebsd.procinfo")
    with open(out, "w") as f:
        f.write("\\n".join(sorted(closure(roots) - base)))
sys.exit(code)
"""


def _freebsd_modules(tmp_path, sim: str, root: str, *args: str) -> set[str]:
    out = tmp_path / "modules.txt"
    code = _FREEBSD_WRAPPER.format(paths=_paths(), out=str(out))
    with open(tmp_path / "stdout", "wb") as so, open(tmp_path / "stderr", "wb") as se:
        proc = subprocess.run([sys.executable, "-I", "-S", "-c", code, sim, "--root", root, *args],
                              stdin=subprocess.DEVNULL, stdout=so, stderr=se, timeout=60,
                              check=False)
    assert proc.returncode == 0, (args, (tmp_path / "stderr").read_text())
    return set(out.read_text().split())


@pytest.mark.busybox
def test_freebsd_hot_commands_are_light(tmp_path):
    """state/start/kill/kill --all/delete (--force of a running one, and of a stopped
    one) with the FreeBSD backend on a simulated host: no heavy module beyond
    FREEBSD_ALLOWED, no stdlib module beyond FREEBSD_STDLIB / FREEBSD_LEAN_STDLIB."""
    import shutil as _shutil

    from pyocijail.testing import simhost
    from pyocijail.testing.bundles import BUSYBOX
    from pyocijail.testing.simkernel import SimulatedKernel

    rootfs = tmp_path / "bundle/rootfs"
    for d in ("bin", "dev", "tmp"):
        (rootfs / d).mkdir(parents=True)
    _shutil.copy(BUSYBOX, rootfs / "bin/busybox")
    os.symlink("busybox", rootfs / "bin/sleep")
    (tmp_path / "bundle/config.json").write_text(json.dumps({
        "ociVersion": "1.3.0", "root": {"path": "rootfs"},
        "process": {"args": ["/bin/sleep", "30"], "cwd": "/", "env": ["PATH=/bin"],
                    "user": {"uid": 0, "gid": 0}},
        "mounts": [{"destination": "/dev", "type": "devfs", "source": "devfs",
                    "options": ["ruleset=4"]},
                   {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"}],
        "annotations": {"org.freebsd.jail.vnet": "new"}}))
    sim = SimulatedKernel.configure(str(tmp_path / "sim.json"), racct=True).path
    root = str(tmp_path / "run")

    def plain(*args: str) -> None:
        # not pipes: the container inherits create's stdio and would hold them open
        subprocess.run([*simhost.argv(sim), "--root", root, *args], check=True,
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=60)

    seen: dict[str, set[str]] = {}
    try:
        for cid in ("c1", "c2"):
            plain("create", "--bundle", str(tmp_path / "bundle"), cid)
        # 28 is SIGWINCH on both platforms: ignored by default, so c1 keeps running
        steps = [("state", "c1"), ("start", "c1"), ("state", "c1"), ("kill", "c1", "28"),
                 ("kill", "--all", "c1", "28"), ("delete", "--force", "c1"),
                 ("kill", "c2", "KILL")]
        for args in steps:
            seen[" ".join(args)] = _freebsd_modules(tmp_path, sim, root, *args)
        deadline = time.monotonic() + 10
        while True:
            _freebsd_modules(tmp_path, sim, root, "state", "c2")
            if json.loads((tmp_path / "stdout").read_text())["status"] == "stopped" \
                    or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        seen["delete c2"] = _freebsd_modules(tmp_path, sim, root, "delete", "c2")
    finally:
        for cid in ("c1", "c2"):
            subprocess.run([*simhost.argv(sim), "--root", root, "delete", "--force", cid],
                           check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert "pyocijail.backends.freebsd.teardown" in seen["delete c2"]  # (it did tear down)
    assert "pyocijail.backends.freebsd.procinfo" in seen["state c1"]
    assert "pyocijail.backends.freebsd.libc" in seen["kill --all c1 28"]  # (ps, jail_get)
    def command(key: str) -> str:
        return "kill --all" if key.startswith("kill --all") else key.split()[0]

    heavy = {k: sorted(((v & HEAVY) - FREEBSD_ALLOWED.get(command(k), set()))
                       | _outside_layer(v))
             for k, v in seen.items()}
    assert {k: v for k, v in heavy.items() if v} == {}
    baseline = _baseline(tmp_path)
    extra = {k: sorted(m for m in v - baseline if not m.startswith("pyocijail")
                       and m not in (FREEBSD_STDLIB if command(k) in FREEBSD_ALLOWED
                                     else FREEBSD_LEAN_STDLIB))
             for k, v in seen.items()}
    assert {k: v for k, v in extra.items() if v} == {}
