"""The lean layer: the modules the hot commands load, and the rules they keep.

The runtime is a new process for every operation, so what a command imports
is its speed. `state`, `start`, `kill`, `delete`, `list` and `--version` (and
`kill --all`, `delete --force`) load only the modules in `MODULES`; everything
else (`create`, `run`, `exec`, `plan`, `spec`, `ps`, `pause`, `update`,
`events`, the backends' create paths, the tests) is ordinary Python. Each lean
module says so on its first line (`# lean layer`). The rules, with what was
measured (`python -X importtime`):

- At import, a lean module imports only `STDLIB` and other lean modules: no
  third-party package (jsonschema, psutil), no `argparse` (the hot commands
  have a hand parser in `cli/__init__.py`, built from each command's
  `OPTIONS`), no `subprocess`, `json`, `re`, `enum`, `typing`, `functools`,
  `collections`, `contextlib`, `socket`, `signal`, `pathlib`, `tempfile`,
  `threading`, `logging`, `ctypes`: each costs a millisecond or more (`json`
  alone, through `re` and `enum`, costs more than runc's whole `state`).
- Not even `os` (~2 ms: `_collections_abc` builds its ABCs): `posix` and
  `pyocijail.pathlite` instead; JSON through `pyocijail.jsonlite` (the
  `_json` accelerator); signals through `_signal`, sockets through `_socket`.
- No `from __future__ import annotations` (~0.3 ms): annotations that name
  type-checking-only imports are quoted, and those imports sit under
  `TYPE_CHECKING = False` / `if TYPE_CHECKING:` (not `from typing import
  TYPE_CHECKING`).
- What only some paths need is imported in the function that needs it. A
  lean module's function may import another lean module freely; a non-lean
  one only as listed in `LAZY` (a hot function, on the branch that needs it)
  or `COLD` (a function no hot command runs), each with its reason.

`KNOWN_EXCEPTIONS` are the lean modules that import more than `STDLIB` at
import time, with the reason: the FreeBSD backend's kernel calls (`delete`,
`kill --all`) go through `LibcKernel`, i.e. ctypes and the `os` it imports.

Two tests hold the layer: `tests/unit/test_lean_layer.py` reads the source
(ast, nothing imported or run, no root) and checks every rule above, that
`MODULES` is exactly what the hot entry points reach, and that every entry
here is still true; `tests/unit/test_import_budget.py` runs the hot commands
(on a real container and on the simulated FreeBSD host), lists the modules
that really loaded, and fails on a pyocijail module outside `MODULES` or a
`STDLIB` wider than its budget.

Nothing imports this module at run time: it is the layer's description.
"""

#: Every lean module and who loads it.
MODULES = {
    "pyocijail": "version constants and paths: every command",
    "pyocijail.__main__": "`python -m pyocijail`",
    "pyocijail.cli": "global flags, the hand parser of the hot commands, errors -> exit 1",
    "pyocijail.cli.state": "state",
    "pyocijail.cli.start": "start",
    "pyocijail.cli.kill": "kill",
    "pyocijail.cli.delete": "delete",
    "pyocijail.cli.list_": "list",
    "pyocijail.buildinfo": "--version's commit",
    "pyocijail.errors": "the error tree: every command",
    "pyocijail.log": "the log sink: every command",
    "pyocijail.jsonlite": "JSON through _json: state records, undo journal, output",
    "pyocijail.pathlite": "path helpers over posix, instead of os.path",
    "pyocijail.failpoints": "crash points (an empty function unless armed)",
    "pyocijail.values": "the value classes of cgroups' layout (delete/kill --all of a live one)",
    "pyocijail.lifecycle": "(package)",
    "pyocijail.lifecycle.context": "Context: the store and the backend, built when first used",
    "pyocijail.lifecycle.query": "state, list, and kill's load",
    "pyocijail.lifecycle.start": "start",
    "pyocijail.lifecycle.kill": "kill, kill --all",
    "pyocijail.lifecycle.delete": "delete, delete --force, kill --all's kill_all",
    "pyocijail.process": "(package)",
    "pyocijail.process.signals": "kill's signal names",
    "pyocijail.process.stream": "write_all, read_stream: start's handshake, the journal",
    "pyocijail.state": "(package)",
    "pyocijail.state.ids": "container id check",
    "pyocijail.state.liveness": "is the recorded process still ours: state, start, kill, delete",
    "pyocijail.state.record": "state.json's record",
    "pyocijail.state.status": "status from pid + start time",
    "pyocijail.state.store": "the state root: lock, read, atomic write",
    "pyocijail.state.undo": "the undo journal delete replays",
    "pyocijail.backends": "select_backend (delete, kill --all)",
    "pyocijail.backends.base": "BackendBase, both backends' base class",
    "pyocijail.backends.linux": "(package)",
    "pyocijail.backends.linux.backend": "LinuxBackend: processes, freeze, destroy",
    "pyocijail.backends.linux.cgroupdirs": "destroy: remove the cgroup directories",
    "pyocijail.backends.linux.cgroups": "processes, freeze: the layout of a live container",
    "pyocijail.backends.freebsd": "(package)",
    "pyocijail.backends.freebsd.procinfo": "FreeBSD liveness: one sysctl through _ctypes",
    "pyocijail.backends.freebsd.backend": "FreeBSDBackend: processes, freeze, destroy",
    "pyocijail.backends.freebsd.kernel": "the JailKernel seam's constants and types",
    "pyocijail.backends.freebsd.libc": "LibcKernel: the kernel calls of delete and kill --all",
    "pyocijail.backends.freebsd.jailparams": "jail parameter encoding (jail_get)",
    "pyocijail.backends.freebsd.fsids": "unmount by the fsid recorded at mount time",
    "pyocijail.backends.freebsd.teardown": "FreeBSD destroy: jail, mounts, rules",
}

#: Where the hot commands enter the layer (the rest is reached from these):
#: `cli` imports its command's module by name (`cli.COMMANDS`), a backend is
#: built by `backends.select_backend` and called through the seam.
ENTRY_POINTS = {
    "pyocijail.__main__": "python -m pyocijail",
    "pyocijail.cli": "the launchers' `from pyocijail.cli import main`",
    "pyocijail.cli.state": "state",
    "pyocijail.cli.start": "start",
    "pyocijail.cli.kill": "kill, kill --all",
    "pyocijail.cli.delete": "delete, delete --force",
    "pyocijail.cli.list_": "list",
    "pyocijail.backends.linux.backend": "processes, freeze, destroy",
    "pyocijail.backends.freebsd.backend": "processes, freeze, destroy",
    "pyocijail.backends.freebsd.libc": "LibcKernel, which select_backend builds on FreeBSD",
    "pyocijail.backends.freebsd.procinfo": "liveness on FreeBSD",
}

#: Modules a lean module may import at import time, besides lean ones: what a
#: bare interpreter (`python -I -S`) has loaded already (sys, posix, time,
#: _signal, _thread, _io) and small C modules without Python-level imports.
STDLIB = frozenset({
    "sys", "posix", "time", "_signal", "_thread",  # loaded before any code runs
    "errno", "fcntl", "atexit", "gc",  # built into the interpreter
    "_json", "_socket",  # the C halves of json and socket, without their enums and re
    "_ctypes",  # ~0.5 ms, FreeBSD's liveness sysctl only (procinfo): not the ctypes package
})

#: Lean modules that import more than `STDLIB` at import time: module -> (the
#: extra modules, why). Both run only where a FreeBSD backend was built.
KNOWN_EXCEPTIONS = {
    "pyocijail.backends.freebsd.libc": (
        frozenset({"ctypes", "struct"}),
        ("LibcKernel calls the kernel (jail_get, jail_remove, unmount) through ctypes: "
         "delete and kill --all pay for ctypes and the os it imports (10-16 ms in "
         "`-X importtime` on a loaded 2-core machine), state/start/kill do not (procinfo)")),
    "pyocijail.backends.freebsd.teardown": (
        frozenset({"os"}),
        "loaded only by destroy, after LibcKernel (ctypes) has imported os already"),
}

#: Functions of lean modules that no hot command runs and that import a
#: non-lean module: module -> (functions, why). Their imports are ordinary
#: Python, made in the function so that the hot commands never pay for them.
COLD = {
    "pyocijail.backends.base": (
        ("BackendBase.apply_rlimits",),
        "the container side (init, exec'd process), which loaded process.setup already"),
    "pyocijail.state.store": (("Store.ensure_root",), "create makes the root (os.makedirs)"),
    "pyocijail.backends.linux.backend": (
        ("LinuxBackend.kernel", "LinuxBackend.plan", "LinuxBackend.features",
         "LinuxBackend.prepare",
         "LinuxBackend.fork", "LinuxBackend._prepare_seccomp", "LinuxBackend.created",
         "LinuxBackend._before_gate",
         "LinuxBackend.isolate", "LinuxBackend.enter", "LinuxBackend.become",
         "LinuxBackend.check_process", "LinuxBackend.before_exec", "LinuxBackend.execve",
         "LinuxBackend.fork_joined", "LinuxBackend.join", "LinuxBackend.stats",
         "LinuxBackend.oom_kills", "LinuxBackend.why_init_died", "LinuxBackend.update",
         "_exec_helper", "_check_reachable", "_join_session_keyring", "_personality",
         "_program_cache"),
        ("create, exec, events, update and the container side (which imports what it "
         "needs before it changes root: the preload list)")),
    "pyocijail.backends.linux.cgroups": (
        ("default_parent", "cgroup_path", "directories"), "create's path arithmetic"),
    "pyocijail.backends.freebsd.backend": (
        ("FreeBSDBackend.plan", "FreeBSDBackend.features", "FreeBSDBackend.prepare",
         "FreeBSDBackend._check_devfs_rulesets", "FreeBSDBackend._make_point",
         "FreeBSDBackend._mount", "FreeBSDBackend.fork", "FreeBSDBackend.fork_joined",
         "FreeBSDBackend._attach", "FreeBSDBackend.execve",
         "FreeBSDBackend.update", "FreeBSDBackend.apply_rlimits",
         "FreeBSDBackend.planned_process", "_links", "_copy_tree",
         "_anchor"),
        "create, exec and update"),
    "pyocijail.backends.freebsd.libc": (
        ("encode_param", "LibcKernel._load_module_of"), "jail_set (create)"),
    "pyocijail.backends.freebsd.jailparams": (("_check_addresses",), "create's plan"),
}

#: Imports of non-lean modules in a function a hot command runs, made only on
#: the branch that needs them: (module, function) -> (imports, why).
LAZY = {
    ("pyocijail.cli", "_main"): (frozenset({"pyocijail.cli.help"}), "`--help` alone"),
    ("pyocijail.cli", "parse"): (
        frozenset({"pyocijail.cli.options"}),
        "argparse, only for what the hand parser leaves to it: help, usage errors"),
    ("pyocijail.buildinfo", "commit"): (
        frozenset({"pyocijail._build"}), "a packager's baked commit (one constant)"),
    ("pyocijail.jsonlite", "loads"): (
        frozenset({"json"}), ("what _json cannot read alone: other encodings, other "
                              "hooks, and bad JSON (for json's exact error)")),
    ("pyocijail.jsonlite", "dumps"): (
        frozenset({"json"}), "what _json cannot write alone (non-str keys, other types)"),
    ("pyocijail.log", "LogSink._write"): (
        frozenset({"json"}), ("a line of a --log-format json log (podman's): written "
                              "for an error, a warning or --debug only")),
    ("pyocijail.pathlite", "abspath"): (
        frozenset({"posixpath"}), ("a relative or unnormal --root (one typed by hand; "
                                   "the default and the callers' roots are absolute)")),
    ("pyocijail.process.signals", "parse_signal"): (
        frozenset({"signal"}), ("a signal neither a number 1..64 nor in the POSIX "
                                "table (USR1, RTMIN+3): the name is looked up there")),
    ("pyocijail.lifecycle.start", "start"): (
        frozenset({"signal", "pyocijail.lifecycle.hooks"}),
        "only when the config has poststart hooks"),
    ("pyocijail.lifecycle.start", "_exec_failure"): (
        frozenset({"pyocijail.process.exechelper"}),
        "only when the exec helper reports that execve failed"),
    ("pyocijail.lifecycle.delete", "destroy"): (
        frozenset({"pyocijail.lifecycle.hooks"}), "only when the config has poststop hooks"),
    ("pyocijail.values", "_own_annotations"): (
        frozenset({"annotationlib"}), ("Python 3.14 on, where a class dict has no "
                                       "__annotations__; before 3.14 never reached")),
    ("pyocijail.backends.linux.backend", "_namespace_pids"): (
        frozenset({"psutil"}), ("an old state without cgroups and without a pid "
                                "namespace: the init's descendants")),
    ("pyocijail.backends.freebsd.teardown", "destroy"): (
        frozenset({"shutil"}), "only for tmpcopyup's scratch copies"),
    ("pyocijail.backends.freebsd.teardown", "_remove_point"): (
        frozenset({"pyocijail.rootpath"}), ("only for a mount point create made; the os "
                                            "it imports is loaded already")),
    ("pyocijail.backends.freebsd.libc", "run_tool"): (
        frozenset({"select"}), "a base tool's pipes (kill --all's ps), a C module"),
}
