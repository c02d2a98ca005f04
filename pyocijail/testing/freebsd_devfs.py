"""The simulated kernel's devfs: which device nodes a mount shows.

Host devices are a fixed sample of a FreeBSD 14 amd64 /dev. Rulesets 1-5 are
those of /etc/defaults/devfs.rules (devfsrules_hide_all, _unhide_basic,
_unhide_login, _jail, _jail_vnet); any other number behaves as an empty
ruleset (nothing hidden), like ruleset 0.
"""

from __future__ import annotations

import fnmatch

#: name -> kind ("dir" or "dev"); `shm` exists only with the linux64 module.
HOST_DEVICES = {
    "null": "dev", "zero": "dev", "random": "dev", "urandom": "dev", "crypto": "dev",
    "log": "dev", "klog": "dev", "console": "dev", "ptmx": "dev", "pts": "dir",
    "pts/0": "dev", "fd": "dir", "fd/0": "dev", "fd/1": "dev", "fd/2": "dev", "stdin": "dev",
    "stdout": "dev", "stderr": "dev", "mem": "dev", "kmem": "dev", "bpf": "dev", "pf": "dev",
    "zfs": "dev", "fuse": "dev", "ttyv0": "dev", "ada0": "dev", "ada0p1": "dev", "dri": "dir",
    "dri/card0": "dev", "tun0": "dev", "cuau0": "dev", "nvidia0": "dev", "audit": "dev",
}
LINUX_DEVICES = {"shm": "dir"}

_BASIC = ["log", "null", "zero", "crypto", "random", "urandom"]
_LOGIN = ["pts", "pts/*", "ptmx", "fd", "fd/*", "stdin", "stdout", "stderr"]
# Unhide patterns per ruleset; None = nothing hidden.
RULESETS: dict[int, list[str] | None] = {
    0: None,
    1: [],
    2: _BASIC,
    3: _LOGIN,
    4: _BASIC + _LOGIN + ["fuse", "zfs"],
    5: _BASIC + _LOGIN + ["fuse", "zfs", "pf"],
}


def devices(linux64: bool) -> dict[str, str]:
    return {**HOST_DEVICES, **(LINUX_DEVICES if linux64 else {})}


def visible(ruleset: int, linux64: bool) -> dict[str, str]:
    """name -> mode ("" for the default) of the nodes a fresh mount shows."""
    patterns = RULESETS.get(ruleset)
    every = devices(linux64)
    if patterns is None:
        return {name: "" for name in every}
    return {name: "" for name in every if any(fnmatch.fnmatchcase(name, p) for p in patterns)}


def apply(view: dict[str, str], rule: str, linux64: bool) -> dict[str, str]:
    """The view after `devfs rule apply <rule>`: path/type conditions, hide/unhide/mode."""
    tokens = rule.split()
    pattern = "*"
    i = 0
    while i + 1 < len(tokens) and tokens[i] in ("path", "type"):
        if tokens[i] == "path":
            pattern = tokens[i + 1]
        i += 2
    actions = tokens[i:]
    out = dict(view)
    for name in devices(linux64):
        if not fnmatch.fnmatchcase(name, pattern):
            continue
        j = 0
        while j < len(actions):
            word = actions[j]
            if word == "hide":
                out.pop(name, None)
            elif word == "unhide":
                out.setdefault(name, "")
            elif word == "mode":
                if name in out:
                    out[name] = actions[j + 1]
                j += 1
            elif word in ("user", "group", "include"):
                j += 1
            j += 1
    return out
