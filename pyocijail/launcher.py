"""Write the launcher: the one executable podman, conmon, buildah and containerd run.

    python -m pyocijail.launcher --output /usr/local/bin/pyocijail [--root /var/run/pyocijail]

Run it with the interpreter pyocijail is installed in (or name one with
`--python`). The launcher it writes is a Python script whose first line is

    #!/usr/bin/python3.11 -IS

(the venv's interpreter binary itself, its symlinks resolved)

with the directories pyocijail and its dependencies live in written into it
as absolute paths, and the state root too if `--root` is given:

- **Absolute interpreter.** podman runs `kill` and the clean-up `delete --force`
  with no PATH and no environment at all; `#!/usr/bin/env python3` would find
  the system Python (without pyocijail) or nothing.
- **`-I -S`.** `-I` keeps the caller's `PYTHON*` variables and the user site
  out (a caller's environment must not change what runs as root). `-S` skips
  `site`: no `.pth` files and, for an editable install, no setuptools path
  finder, which cost 10-25 ms on every call (`python -I -m pyocijail` does
  all of that). The paths `site` would have added are baked in instead, after
  the standard library as `site` puts them.
- **A fixed root.** podman never passes `--root`, so every call must agree on
  the state directory. The baked root goes first; a `--root` from the caller
  (containerd's shim) comes later on the command line and wins.
- **A shebang, not `/bin/sh` + `exec`.** One process image less (~1 ms per
  call measured; docs/performance.md). Linux passes a shebang at most one
  argument (`-IS` is one) and older kernels read only 127 bytes of the line;
  if the interpreter's path does not fit (or has blanks) the launcher is a
  `/bin/sh` script that `exec`s the same code with `python -I -S -c`.

Stale launchers. The launcher names the interpreter and the directories as
they were when it was written. If the environment is moved or rebuilt:

- a baked directory that is gone (or a pyocijail that no longer imports) makes
  every call fail with exit 1 and one line on stderr saying so, and naming
  this command;
- an interpreter that is gone makes the kernel's execve of the launcher fail:
  callers then report "no such file or directory" for the launcher itself
  (the `/bin/sh` form: "exec: ...python: not found", exit 127).

Either way: run this command again.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: What pyocijail imports at run time (pyproject's dependencies); the writer
#: checks that the baked paths reach each of them.
DEPENDENCIES = ("jsonschema", "referencing", "psutil")

#: A shebang line, "#!" to newline, that every supported kernel reads whole
#: (Linux before 5.1 reads 128 bytes; FreeBSD a page).
SHEBANG_MAX = 127

#: The launcher's body. The cyclic GC is off from the first line: its passes
#: over the imports were ~1 % of a `start`'s instructions, and `cli.main` turns
#: it back on for a command that is not brief (`cli.BRIEF`). With `-S` nothing
#: but the builtins and `posix` is loaded yet; `stat` of each baked directory
#: costs microseconds and turns a moved or rebuilt environment into one clear
#: line instead of a traceback.
_BODY = """\
import gc
gc.disable()
import sys
from posix import stat
PATHS = {paths!r}
try:
    for _p in PATHS:
        stat(_p)
    sys.path += PATHS
    from pyocijail.cli import main
except (OSError, ImportError) as _err:
    sys.stderr.write("pyocijail launcher " + {self!r} + ": " + str(_err) + "; the Python "
                     "environment was moved or rebuilt: rewrite this launcher with "
                     + {rewrite!r} + "\\n")
    raise SystemExit(1) from None
{log}{head}sys.exit(main())
"""

# The baked root goes in front of the caller's arguments, and main() reads them
# from sys.argv: called without arguments, main is "the program" and ends the
# process without the interpreter's teardown (cli.main; 4-10 ms of a create).
_HEAD = """\
sys.argv[1:1] = ['--root', {root!r}]
"""

# Test hook: one line per call with the arguments as the caller gave them
# (without the baked --root), like `echo "$*" >> log` in sh.
_LOG = """\
with open({call_log!r}, "a") as _f:
    _f.write(" ".join(sys.argv[1:]) + "\\n")
"""

_PROBE = """\
import json, os, sys
out = {"path": sys.path}
try:
    import pyocijail
    out["pyocijail"] = os.path.dirname(os.path.dirname(os.path.abspath(pyocijail.__file__)))
except ImportError:
    pass
print(json.dumps(out))
"""

_VERIFY = """\
import sys
sys.path += {paths!r}
import os, pyocijail
{imports}
print(os.path.abspath(pyocijail.__file__))
"""


class LauncherError(Exception):
    pass


def _probe(python: str, *flags: str) -> dict[str, Any]:
    """What _PROBE prints: {"path": sys.path, "pyocijail": the folder it is in, if found}."""
    import json
    import subprocess

    res = subprocess.run([python, *flags, "-c", _PROBE], capture_output=True, text=True,
                         env={}, check=False)
    if res.returncode:
        raise LauncherError(f"{python} failed: {res.stderr.strip()}")
    found: dict[str, Any] = json.loads(res.stdout)
    return found


_probed: dict[str, list[str]] = {}


def import_paths(python: str = sys.executable) -> list[str]:
    """The directories `python` (with `site`) finds pyocijail and its dependencies in,
    that `python -S` lacks: pyocijail's own first, then what `site` adds, in order.
    Probed once per interpreter and process, and checked to reach pyocijail and
    every dependency with `-I -S`."""
    python = os.path.abspath(python)
    if python not in _probed:
        paths = _import_paths(python)
        _verify(python, paths, paths[0])
        _probed[python] = paths
    return list(_probed[python])


def _import_paths(python: str) -> list[str]:
    full = _probe(python, "-I")
    bare = set(_probe(python, "-I", "-S")["path"])
    if "pyocijail" not in full:
        raise LauncherError(f"{python} cannot import pyocijail: install it there first")
    paths = [full["pyocijail"]]
    for p in full["path"]:
        if p and p not in bare and p not in paths and os.path.exists(p):
            paths.append(p)
    return paths


def _verify(python: str, paths: list[str], pyocijail_dir: str) -> None:
    """The baked paths alone (with -I -S) reach this pyocijail and every dependency."""
    import subprocess

    imports = "\n".join(f"import {m}" for m in DEPENDENCIES)
    res = subprocess.run([python, "-I", "-S", "-c", _VERIFY.format(paths=paths, imports=imports)],
                         capture_output=True, text=True, env={}, check=False)
    if res.returncode:
        raise LauncherError(f"with only {paths} on its path, {python} -I -S fails: "
                            f"{res.stderr.strip().splitlines()[-1:]}")
    got = os.path.dirname(os.path.dirname(res.stdout.strip()))
    if got != pyocijail_dir:
        raise LauncherError(f"the baked paths find pyocijail in {got}, not {pyocijail_dir}")


def launcher_text(path: str, python: str, paths: list[str], *, root: str | None = None,
                  call_log: str | None = None, form: str = "auto") -> str:
    """The launcher's text. `form`: "python" (shebang), "sh", or "auto" (python
    if the interpreter fits in a shebang line)."""
    rewrite = f"{python} -m pyocijail.launcher --output {path}"
    if root is not None:
        rewrite += f" --root {root}"
    body = _BODY.format(paths=paths, self=path, rewrite=rewrite,
                        head=_HEAD.format(root=root) if root is not None else "",
                        log=_LOG.format(call_log=call_log) if call_log else "")
    # A venv's python is a symlink to its base interpreter; run the binary itself:
    # it then skips finding and reading pyvenv.cfg (~1 ms), and with -S the venv
    # adds nothing else (its site-packages are in `paths`).
    python = os.path.realpath(python)
    shebang = f"#!{python} -IS"
    fits = len(shebang) <= SHEBANG_MAX and not any(c.isspace() for c in python)
    if form == "auto":
        form = "python" if fits else "sh"
    if form == "python":
        if not fits:
            raise LauncherError(f"{python!r} does not fit in a shebang line")
        return (f"{shebang}\n# pyocijail launcher, written by `python -m pyocijail.launcher`:"
                " rewrite it\n# after moving or rebuilding the Python environment.\n" + body)
    if form == "sh":
        import shlex

        return (f"#!/bin/sh\n# pyocijail launcher, written by `python -m pyocijail.launcher`:"
                " rewrite it\n# after moving or rebuilding the Python environment.\n"
                f'exec {shlex.quote(python)} -I -S -c {shlex.quote(body)} "$@"\n')
    raise ValueError(f"unknown launcher form {form!r}")


def write_launcher(path: str, *, python: str = sys.executable, root: str | None = None,
                   call_log: str | None = None, paths: list[str] | None = None,
                   form: str = "auto") -> str:
    """Write the launcher to `path` (atomically, mode 0755) and return `path`.

    `paths` replaces the probed import paths (benchmarks/ab.py runs other
    source trees with this environment's dependencies); `call_log` appends
    each call's arguments to a file (the end-to-end tests read it).
    """
    path = os.path.abspath(path)
    python = os.path.abspath(python)
    if root is not None:
        root = os.path.abspath(root)
    if call_log is not None:
        call_log = os.path.abspath(call_log)
    if paths is None:
        paths = import_paths(python)
    text = launcher_text(path, python, [os.path.abspath(p) for p in paths], root=root,
                         call_log=call_log, form=form)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        with open(tmp, "w") as f:
            f.write(text)
        os.chmod(tmp, 0o755)
        os.rename(tmp, path)  # a running caller may be reading the old one
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def main(argv: list[str] | None = None) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="python -m pyocijail.launcher",
                                description="Write the pyocijail launcher clients execute.")
    p.add_argument("--output", "-o", required=True,
                   help="where to write it, e.g. /usr/local/bin/pyocijail")
    p.add_argument("--root", help="state directory to bake in (podman never passes --root)")
    p.add_argument("--python", default=sys.executable,
                   help="the interpreter pyocijail is installed in (default: this one)")
    p.add_argument("--form", choices=("auto", "python", "sh"), default="auto",
                   help="python: a `#!python -IS` script; sh: /bin/sh + exec; "
                        "auto (default): python if the interpreter fits in a shebang")
    a = p.parse_args(argv)
    try:
        write_launcher(a.output, python=a.python, root=a.root, form=a.form)
    except (LauncherError, OSError) as err:
        sys.stderr.write(f"pyocijail.launcher: {err}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
