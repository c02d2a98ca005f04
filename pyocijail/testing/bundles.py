"""Build real OCI bundles from the host's busybox-static, no registry involved.

Used by the tests and by `python -m pyocijail.demo`, the README's
first command. The rootfs holds one static binary and its applet links, so
a bundle takes milliseconds to make.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
from typing import Any

BUSYBOX = "/bin/busybox"
APPLETS = ("sh", "echo", "sleep", "cat", "ls", "id", "hostname", "ps", "true", "false", "env",
           "kill", "mkdir", "rm", "uname", "stat", "readlink", "wc", "grep", "tty", "stty",
           "touch", "pwd", "umask", "ulimit", "mount", "head", "test", "nproc", "printf",
           "trap", "wait", "nc", "ln", "chmod", "dd", "yes", "seq", "expr", "tr")


def busybox_available() -> bool:
    return os.access(BUSYBOX, os.X_OK)


def make_rootfs(path: str) -> str:
    """A minimal busybox root at `path` (created)."""
    for d in ("bin", "etc", "proc", "sys", "dev", "tmp", "root", "run", "var", "home"):
        os.makedirs(os.path.join(path, d), exist_ok=True)
    shutil.copy2(BUSYBOX, os.path.join(path, "bin", "busybox"))
    for applet in APPLETS:
        link = os.path.join(path, "bin", applet)
        if not os.path.lexists(link):
            os.symlink("busybox", link)
    with open(os.path.join(path, "etc", "passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n")
    with open(os.path.join(path, "etc", "group"), "w") as f:
        f.write("root:x:0:\nnobody:x:65534:\n")
    os.chmod(os.path.join(path, "tmp"), 0o1777)
    return path


def config(args: list[str], **overrides: Any) -> dict[str, Any]:
    """A `runc spec`-style Linux config running `args`, not a terminal.

    `overrides` replace top-level keys; `process` entries are merged.
    """
    from pyocijail.lifecycle.defaults import linux_config

    doc = linux_config(list(args), terminal=False)
    doc["root"]["readonly"] = False
    for key, value in overrides.items():
        if key == "process":
            doc["process"].update(copy.deepcopy(value))
        else:
            doc[key] = copy.deepcopy(value)
    return doc


def make_bundle(path: str, args: list[str], *, rootfs: str | None = None,
                **overrides: Any) -> str:
    """A bundle dir with a busybox rootfs (or a shared `rootfs`) and config.json."""
    os.makedirs(path, exist_ok=True)
    doc = config(args, **overrides)
    if rootfs is None:
        make_rootfs(os.path.join(path, "rootfs"))
    else:
        doc["root"]["path"] = rootfs
    write_config(path, doc)
    return path


def write_config(bundle: str, doc: dict[str, Any]) -> None:
    with open(os.path.join(bundle, "config.json"), "w") as f:
        json.dump(doc, f, indent=2)
