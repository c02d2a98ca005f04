"""Import budget of the hot commands: which modules a call loads, not how long it takes.

A runtime is started for every operation, so what a command imports is its
speed: `import json` alone (via `re` and `enum`) costs more than runc's whole
`state`. Each command runs here in a fresh interpreter (`-I -S`, the
package's directories put on sys.path as the fast launcher does) on a real
container, and the modules it loaded are listed at exit. Heavy or avoidable
modules must not appear on `state`, `kill`, `start`, `delete`, `list` and
`--version`. Timings are deliberately not asserted (shared machines).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from pyocijail.testing.bundles import busybox_available, make_bundle

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


def _heavy(mods: set[str], command: str) -> set[str]:
    loaded = {m for m in HEAVY if m in mods}
    return loaded - ALLOWED.get(command, set())


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
@pytest.mark.skipif(os.geteuid() != 0, reason="needs root")
@pytest.mark.skipif(not busybox_available(), reason="needs busybox-static")
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
@pytest.mark.skipif(os.geteuid() != 0, reason="needs root")
@pytest.mark.skipif(not busybox_available(), reason="needs busybox-static")
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
