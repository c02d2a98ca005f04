"""The simulated kernel's devfs: which device nodes a mount shows.

Host devices are a fixed sample of a FreeBSD 14 amd64 /dev. The kernel's
rulesets are lists of rules (sys/fs/devfs/devfs_rule.c); at boot rc.d/devfs
loads 1-5 from /etc/defaults/devfs.rules (devfsrules_hide_all, _unhide_basic,
_unhide_login, _jail, _jail_vnet), here as `BOOT_RULESETS`. Ruleset 0 is the
empty one and never exists as a list. A ruleset's rules run in order on every
node; `include N` runs ruleset N's rules, to the depth vfs.devfs.rule_depth
(1: an included ruleset's own includes are skipped).
"""

from __future__ import annotations

import fnmatch

RULE_DEPTH = 1  # vfs.devfs.rule_depth default (devfs_devs.c)

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
_JAIL = ["include 1", "include 2", "include 3", "path fuse unhide", "path zfs unhide"]
#: /etc/defaults/devfs.rules, as `devfs rule -s N add` would load them.
BOOT_RULESETS: dict[int, list[str]] = {
    1: ["hide"],
    2: [f"path {p} unhide" for p in _BASIC],
    3: [f"path {p} unhide" for p in _LOGIN],
    4: _JAIL,
    5: [*_JAIL, "path pf unhide"],
}


def devices(linux64: bool) -> dict[str, str]:
    return {**HOST_DEVICES, **(LINUX_DEVICES if linux64 else {})}


def visible(rules: list[str], rulesets: dict[int, list[str]],
            linux64: bool) -> dict[str, str]:
    """name -> mode ("" for the default) of the nodes a fresh mount with this
    ruleset's rules shows: every node, then each rule in order."""
    view = {name: "" for name in devices(linux64)}
    for rule in rules:
        view = apply(view, rule, linux64, rulesets)
    return view


def apply(view: dict[str, str], rule: str, linux64: bool,
          rulesets: dict[int, list[str]] | None = None,
          depth: int = RULE_DEPTH, only: str | None = None) -> dict[str, str]:
    """The view after `devfs rule apply <rule>`: path/type conditions,
    hide/unhide/mode, include (of `rulesets`, which must hold it); `only`
    limits it to one node."""
    tokens = rule.split()
    pattern = "*"
    i = 0
    while i + 1 < len(tokens) and tokens[i] in ("path", "type"):
        if tokens[i] == "path":
            pattern = tokens[i + 1]
        i += 2
    actions = tokens[i:]
    out = dict(view)
    for name in devices(linux64) if only is None else [only]:
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
            elif word == "include":
                if depth > 0:
                    for included in (rulesets or {})[int(actions[j + 1])]:
                        out = apply(out, included, linux64, rulesets, depth - 1, name)
                j += 1
            elif word in ("user", "group"):
                j += 1
            j += 1
    return out

