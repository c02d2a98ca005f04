"""The two ways of starting pyocijail that the benchmark compares.

- `module`: `python -I -m pyocijail`, what `pyocijail.testing` writes for the
  clients today. `-I` still runs `site`, which for an editable install
  imports setuptools' path finder (pathlib, importlib.util, ...): ~10-20 ms
  on every call.
- `fast`: `python -I -S -c '...'` with the directories pyocijail and its
  dependencies live in baked in as absolute paths at write time. No `site`,
  no `.pth` files, no `runpy`; the same code runs.

Both are /bin/sh scripts with an absolute interpreter (podman's cleanup
`delete` runs with no PATH), optionally with the state root baked in (podman
never passes `--root`; a later `--root` from the caller wins).
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys


def import_paths(python: str = sys.executable) -> list[str]:
    """Where `python` (with its site) finds pyocijail and its run-time dependencies."""
    code = ("import os, sys, pyocijail, attrs, cattrs, jsonschema, referencing, psutil\n"
            "mods = [pyocijail, attrs, cattrs, jsonschema, referencing, psutil]\n"
            "seen = []\n"
            "for m in mods:\n"
            "    d = os.path.dirname(os.path.dirname(os.path.abspath(m.__file__)))\n"
            "    if d not in seen: seen.append(d)\n"
            "print('\\n'.join(seen))\n")
    out = subprocess.run([python, "-I", "-c", code], check=True, capture_output=True,
                         text=True).stdout
    return [line for line in out.splitlines() if line]


def write_launcher(directory: str, *, python: str = sys.executable, style: str = "fast",
                   root: str | None = None, name: str = "pyocijail") -> str:
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, name)
    python = os.path.abspath(python)
    root_args = f" --root {shlex.quote(os.path.abspath(root))}" if root else ""
    if style == "module":
        line = f'exec {shlex.quote(python)} -I -m pyocijail{root_args} "$@"'
    elif style == "fast":
        code = (f"import sys;sys.path[:0]={import_paths(python)!r};"
                "from pyocijail.cli import main;sys.exit(main())")
        line = f'exec {shlex.quote(python)} -I -S -c {shlex.quote(code)}{root_args} "$@"'
    else:
        raise ValueError(f"unknown launcher style {style!r}")
    with open(path, "w") as f:
        f.write(f"#!/bin/sh\n{line}\n")
    os.chmod(path, 0o755)
    return path
