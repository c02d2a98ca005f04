"""The simulated kernel's devfs: which device nodes a mount shows.

Host devices are a fixed sample of a FreeBSD 14 amd64 /dev. The kernel's
rulesets are lists of rules (sys/fs/devfs/devfs_rule.c); at boot rc.d/devfs
loads 1-5 from /etc/defaults/devfs.rules (devfsrules_hide_all, _unhide_basic,
_unhide_login, _jail, _jail_vnet), here as `BOOT_RULESETS`. Ruleset 0 is the
empty one and never exists as a list. A ruleset's rules run in order on every
node; `include N` runs ruleset N's rules, to the depth vfs.devfs.rule_depth
(1: an included ruleset's own includes are skipped).

As devfs_rule.c does: a `path` pattern is fnmatch(3) with FNM_PATHNAME (`*`
stops at `/`), a `type` condition matches only devices of that class (never a
directory), and in one rule hide is set, then cleared by unhide, then the mode
set, then the include run. A view holds the nodes not hidden (no DE_WHITEOUT);
a node under a hidden directory is still unreachable (`reachable`).
`devfs rule show` prints a rule the way sbin/devfs/rule.c rulespec_outfp does
(`show_rule`).
"""

from __future__ import annotations

import fnmatch
from typing import Any

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

_BASIC = ["null", "zero", "crypto", "random", "urandom"]  # no `log`
#: the pty*/tty* pattern rules of the real ruleset 3 come first; no sample device matches them.
_LOGIN = ["ptmx", "pts", "pts/*", "fd", "fd/*", "stdin", "stdout", "stderr"]
_JAIL = ["include 1", "include 2", "include 3", "path fuse unhide", "path zfs unhide"]
#: /etc/defaults/devfs.rules (sbin/devfs/devfs.rules), as `devfs rule -s N add`
#: would load them; 5 includes 1-4 (4's own includes are then skipped at the
#: default rule_depth 1, which is why 5 lists 1-3 as well).
BOOT_RULESETS: dict[int, list[str]] = {
    1: ["hide"],
    2: [f"path {p} unhide" for p in _BASIC],
    3: [f"path {p} unhide" for p in _LOGIN],
    4: _JAIL,
    5: ["include 1", "include 2", "include 3", "include 4", "path pf unhide"],
}


def devices(linux64: bool) -> dict[str, str]:
    return {**HOST_DEVICES, **(LINUX_DEVICES if linux64 else {})}


#: The cdevsw d_flags class (D_DISK, D_MEM, D_TTY) of the sample devices that have one.
DEVICE_TYPES = {"ada0": "disk", "ada0p1": "disk", "mem": "mem", "kmem": "mem",
                "ttyv0": "tty", "cuau0": "tty", "console": "tty", "pts/0": "tty"}
_TYPE_ORDER = ("disk", "mem", "tape", "tty")  # rule.c ist_type


def matches_path(pattern: str, name: str) -> bool:
    """fnmatch(pattern, name, FNM_PATHNAME): wildcards never match a `/`."""
    parts, names = pattern.split("/"), name.split("/")
    return len(parts) == len(names) and all(
        fnmatch.fnmatchcase(n, p) for p, n in zip(parts, names, strict=True))


def parse_rule(rule: str) -> dict[str, Any]:
    """A rule's conditions and actions, as rule.c rulespec_intok reads them: types
    accumulate, any other repeated keyword keeps its last value."""
    tokens = rule.split()
    out: dict[str, Any] = {"types": set()}
    i = 0
    while i + 1 < len(tokens) and tokens[i] in ("path", "type"):
        if tokens[i] == "type":
            out["types"].add(tokens[i + 1])
        else:
            out["path"] = tokens[i + 1]
        i += 2
    while i < len(tokens):
        word = tokens[i]
        if word in ("hide", "unhide"):
            out[word] = True
            i += 1
        else:
            out[word] = tokens[i + 1]
            i += 2
    return out


def show_rule(number: int, rule: str) -> str:
    """The line `devfs rule show` prints for `rule` numbered `number`."""
    r = parse_rule(rule)
    words = [str(number)]
    words += [f"type {t}" for t in _TYPE_ORDER if t in r["types"]]
    words += [f"path {r['path']}"] if "path" in r else []
    words += [w for w in ("hide", "unhide") if r.get(w)]
    words += [f"{w} {r[w]}" for w in ("user", "group") if w in r]
    words += [f"mode {int(r['mode'], 8):o}"] if "mode" in r else []
    words += [f"include {int(r['include'])}"] if "include" in r else []
    return " ".join(words)


def visible(rules: list[str], rulesets: dict[int, list[str]],
            linux64: bool, depth: int = RULE_DEPTH) -> dict[str, str]:
    """name -> mode ("" for the default) of the nodes a fresh mount with this
    ruleset's rules leaves unhidden: every node, then each rule in order."""
    view = {name: "" for name in devices(linux64)}
    for rule in rules:
        view = apply(view, rule, linux64, rulesets, depth)
    return view


def reachable(view: dict[str, str], name: str) -> bool:
    """Unhidden, and so is every directory above it (devfs_lookup: ENOENT on a
    hidden entry)."""
    parts = name.split("/")
    return all("/".join(parts[:i]) in view for i in range(1, len(parts) + 1))


def apply(view: dict[str, str], rule: str, linux64: bool,
          rulesets: dict[int, list[str]] | None = None,
          depth: int = RULE_DEPTH, only: str | None = None) -> dict[str, str]:
    """The view after `devfs rule apply <rule>` (devfs_rule_run on each node):
    path/type conditions, hide/unhide/mode, include (of `rulesets`, which must
    hold it, while `depth` is above 0); `only` limits it to one node."""
    r = parse_rule(rule)
    kinds = devices(linux64)
    out = dict(view)
    for name in kinds if only is None else [only]:
        if "path" in r and not matches_path(r["path"], name):
            continue
        if r["types"] and DEVICE_TYPES.get(name) not in r["types"]:
            continue
        if r.get("hide"):
            out.pop(name, None)
        if r.get("unhide"):
            out.setdefault(name, "")
        if "mode" in r and name in out:
            out[name] = r["mode"]
        if "include" in r and depth > 0:
            for included in (rulesets or {})[int(r["include"])]:
                out = apply(out, included, linux64, rulesets, depth - 1, name)
    return out
