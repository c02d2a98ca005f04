"""What the real-client fixtures share: the launcher script and the leak check.

The launcher is the executable podman, conmon, buildah and containerd run as
"the runtime": the one users install, written by `pyocijail.launcher`. They
call it with no `--root` (podman) and sometimes with no PATH and no
environment at all (the cleanup `delete --force`), so it names the
interpreter and the state root absolutely. A caller that does pass
`--root` (containerd's shim) wins: the last `--root` counts.

`HostSnapshot` records what a test could leave on the machine (mounts under
a directory, processes that belong to a test session, cgroup directories
under the parents podman and containerd use) so a fixture can say exactly
what was left behind.
"""

from __future__ import annotations

import os
import sys
import time

#: cgroup parents the clients create under each v1 controller (and cgroup2).
# podman's parent, and containerd's per-namespace parents (default, and the
# namespace the e2e harness uses).
CGROUP_PARENTS = ("libpod_parent", "default", "pyocijail-e2e")
CGROUP_ROOT = "/sys/fs/cgroup"


def write_launcher(directory: str, state_root: str, *, python: str = sys.executable,
                   name: str = "pyocijail", call_log: str | None = None) -> str:
    """Write `directory/name`: the launcher users install (`pyocijail.launcher`)
    for this pyocijail, with `state_root` baked in.

    `call_log` appends one line per call (the argv), which the tests read to
    assert on what the clients really sent.
    """
    from pyocijail.launcher import write_launcher as write

    return write(os.path.join(directory, name), python=python, root=state_root,
                 call_log=call_log)


class CallLog:
    """What a client sent the runtime, from the file `write_launcher(call_log=...)` fills."""

    calls: str  # the log file's path

    def runtime_calls(self) -> list[str]:
        """Every runtime call so far, one argv per line (global flags included)."""
        try:
            with open(self.calls) as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []

    def verbs(self, container_id: str | None = None) -> list[str]:
        """The subcommands of the runtime calls (optionally for one container)."""
        from pyocijail.cli import COMMANDS

        out = []
        for line in self.runtime_calls():
            words = line.split()
            if container_id is not None and container_id not in words:
                continue
            verb = next((w for w in words if w in COMMANDS), None)
            if verb:
                out.append(verb)
        return out

    def tail_calls(self, n: int = 8) -> str:
        return "runtime calls:\n  " + "\n  ".join(self.runtime_calls()[-n:])


def mounts_under(prefix: str) -> set[str]:
    with open("/proc/self/mountinfo") as f:
        points = {line.split()[4] for line in f}
    prefix = prefix.rstrip("/") + "/"
    return {p for p in points if p.startswith(prefix)}


def read_bytes(path: str) -> bytes:
    """A file's bytes, or b"" if it cannot be read (a process gone meanwhile)."""
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return b""


def session_processes(markers: tuple[str, ...]) -> dict[int, str]:
    """pid -> command line of processes whose argv or environment holds a marker.

    The fixtures put a unique token in every container's environment and
    use temp dirs in every path, so this finds container processes, conmon,
    shims and runtime calls of this session only (the machine is shared).
    """
    found = {}
    me = os.getpid()
    needles = [m.encode() for m in markers]
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        cmdline = read_bytes(f"/proc/{entry}/cmdline")
        if not cmdline:
            continue  # kernel thread or gone
        text = cmdline + b"\0" + read_bytes(f"/proc/{entry}/environ")
        if any(n in text for n in needles):
            status = read_bytes(f"/proc/{entry}/stat").decode(errors="replace")
            if ") Z " in status:
                continue  # a zombie waiting for its parent is not a leak
            found[int(entry)] = cmdline.replace(b"\0", b" ").decode(errors="replace").strip()
    return found


def cgroup_dirs() -> set[str]:
    """Every directory under the clients' cgroup parents, in every hierarchy."""
    dirs: set[str] = set()
    try:
        controllers = os.listdir(CGROUP_ROOT)
    except OSError:
        return dirs
    for ctrl in controllers:
        for parent in CGROUP_PARENTS:
            top = os.path.join(CGROUP_ROOT, ctrl, parent)
            if not os.path.isdir(top):
                continue
            for dirpath, _, _ in os.walk(top):
                dirs.add(dirpath)
    return dirs


def remove_cgroups(dirs: set[str]) -> list[str]:
    """rmdir the given cgroups, deepest first; the ones that would not go."""
    stuck = []
    for d in sorted(dirs, key=lambda p: p.count("/"), reverse=True):
        try:
            os.rmdir(d)
        except FileNotFoundError:
            pass
        except OSError:
            stuck.append(d)
    return stuck


def network_links() -> set[str]:
    """The host's network interfaces: tests run containers without networking
    (netns none or their own namespaces) and must add none."""
    try:
        return set(os.listdir("/sys/class/net"))
    except OSError:
        return set()


class HostSnapshot:
    """What existed before; `leftovers()` reports what is new since then."""

    def __init__(self, base: str, markers: tuple[str, ...],
                 ignore_cgroups: tuple[str, ...] = (), ignore_mounts: tuple[str, ...] = ()) -> None:
        self.base, self.markers, self.ignore_cgroups = base, markers, ignore_cgroups
        self.ignore_mounts = ignore_mounts
        self.mounts = mounts_under(base)
        self.procs = set(session_processes(markers))
        self.cgroups = cgroup_dirs()
        self.links = network_links()

    def leftovers(self, state_roots: tuple[str, ...] = ()) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        mounts = sorted(mounts_under(self.base) - self.mounts - set(self.ignore_mounts))
        if mounts:
            out["mounts"] = mounts
        procs = {p: c for p, c in session_processes(self.markers).items()
                 if p not in self.procs}
        if procs:
            out["processes"] = [f"{p} {c}" for p, c in sorted(procs.items())]
        cgroups = sorted(d for d in cgroup_dirs() - self.cgroups
                         if os.path.basename(d) not in self.ignore_cgroups)
        if cgroups:
            out["cgroups"] = cgroups
        links = sorted(network_links() - self.links)
        if links:  # e.g. a client that fell back to the host's CNI bridge
            out["network interfaces"] = links
        states = [os.path.join(r, i) for r in state_roots if os.path.isdir(r)
                  for i in os.listdir(r) if not i.startswith(".")]  # (kept seccomp programs)
        if states:
            out["state dirs"] = states
        return out

    def wait_clean(self, state_roots: tuple[str, ...] = (),
                   timeout: float = 10) -> dict[str, list[str]]:
        """Poll until nothing is left (cleanup processes run asynchronously)."""
        deadline = time.monotonic() + timeout
        while True:
            left = self.leftovers(state_roots)
            if not left or time.monotonic() > deadline:
                return left
            time.sleep(0.1)


def unmount_under(base: str) -> None:
    """Unmount everything under `base`, deepest first, lazily if busy."""
    import subprocess

    for point in sorted(mounts_under(base), key=len, reverse=True):
        if subprocess.run(["umount", point], capture_output=True, check=False).returncode:
            subprocess.run(["umount", "-l", point], capture_output=True, check=False)
