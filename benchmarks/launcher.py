"""The ways of starting pyocijail that the benchmark compares.

- `fast` (default): the launcher users install, written by
  `pyocijail.launcher` (`#!python -IS` with pyocijail's and its dependencies'
  directories baked in; no `site`, no `.pth` files, no `runpy`).
- `sh`: the same code behind `/bin/sh` + `exec python -I -S -c`, the form
  `pyocijail.launcher` falls back to when the interpreter's path does not fit
  in a shebang line (one more process image per call).
- `module`: `python -I -m pyocijail` behind `/bin/sh`, what the clients got
  before. `-I` still runs `site`, which for an editable install imports
  setuptools' path finder (pathlib, importlib.util, ...): ~10-25 ms per call.

All name the interpreter absolutely (podman's cleanup `delete` runs with no
PATH), optionally with the state root baked in (podman never passes `--root`;
a later `--root` from the caller wins).
"""

from __future__ import annotations

import os
import shlex
import sys

from pyocijail.launcher import import_paths
from pyocijail.launcher import write_launcher as write_product_launcher

__all__ = ["STYLES", "import_paths", "write_launcher"]

STYLES = ("fast", "sh", "module")


def write_launcher(directory: str, *, python: str = sys.executable, style: str = "fast",
                   root: str | None = None, name: str = "pyocijail") -> str:
    path = os.path.join(directory, name)
    if style in ("fast", "sh"):
        return write_product_launcher(path, python=python, root=root,
                                      form="python" if style == "fast" else "sh")
    if style != "module":
        raise ValueError(f"unknown launcher style {style!r}")
    os.makedirs(directory, exist_ok=True)
    root_args = f" --root {shlex.quote(os.path.abspath(root))}" if root else ""
    with open(path, "w") as f:
        f.write(f'#!/bin/sh\nexec {shlex.quote(os.path.abspath(python))} -I -m pyocijail'
                f'{root_args} "$@"\n')
    os.chmod(path, 0o755)
    return path
