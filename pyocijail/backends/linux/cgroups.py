# lean layer: a hot command loads this module; its imports keep pyocijail/lean.py's rules
"""Control groups: where a container's cgroup lives, and its life on the host.

Three layouts are handled the same way, as a list of hierarchies read from
/proc/self/mountinfo:

    v1       one mount per controller set (cpu, memory, ..., name=systemd)
    v2       one cgroup2 mount with every controller
    hybrid   v1 controllers plus a cgroup2 mount (/sys/fs/cgroup/unified)
             that carries the rest (here: hugetlb) and process membership

The container gets one directory in *every* hierarchy (as runc does,
including named v1 hierarchies and the unified one in hybrid mode), so
`cgroup.procs` of any of them lists its processes.

`linux.cgroupsPath`:
    absent                  /pyocijail/<id>
    /a/b                    relative to each hierarchy's root
    a/b                     relative to the runtime's own cgroup there
    slice:prefix:name       systemd style, expanded the way systemd names
                            units ("a-b.slice" → /a.slice/a-b.slice,
                            unit "prefix-name.scope"); created directly with
                            cgroupfs, since there is no systemd to ask.

Life cycle (runtime side): `create` (undo entry before each mkdir) → the
resources (`resources.apply`) → `attach(init)` → ... → `freeze`/`thaw`,
`pids` → `remove` (in `cgroupdirs`, which `delete` loads without this
module: rmdir; if busy, kill what is left in it and below it, rmdir deepest
first, retry on EBUSY).
"""

import errno
import posix
import time

from pyocijail import pathlite, values
from pyocijail.backends.linux.cgroupdirs import DEFAULT_PARENT, mark_owner, read, subtree, write
from pyocijail.errors import ConfigError, KernelError

# `kill --all` and a delete that has processes to kill load this module: no os (posix
# and pathlite instead; the path arithmetic of create imports posixpath where it is
# done), re, signal or typing, and no `from __future__ import annotations` (~0.3 ms):
# annotations that name the type-checking imports below are strings.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator
    from typing import Any

V1_CONTROLLERS = frozenset({"cpu", "cpuacct", "cpuset", "memory", "devices", "freezer",
                            "net_cls", "net_prio", "blkio", "perf_event", "hugetlb", "pids",
                            "rdma", "misc"})
FREEZE_TIMEOUT = 5.0


# The fields' annotations are strings, as `values.frozen` reads them (no __future__ here).
@values.frozen
class Hierarchy:
    mountpoint: "str"
    root: "str"  #: the hierarchy path the mount shows (mountinfo field 4)
    version: "int"  #: 1 or 2
    controllers: "tuple[str, ...]"  #: v1: from the mount options (name=x too); v2: available

    @property
    def key(self) -> str:
        """How /proc/<pid>/cgroup names this hierarchy ("" for v2)."""
        return "" if self.version == 2 else ",".join(self.controllers)


@values.frozen
class Cgroup:
    """One directory of the container's cgroup, in one hierarchy."""

    dir: "str"
    version: "int"
    controllers: "tuple[str, ...]"
    mountpoint: "str"  #: the hierarchy's mount point on the host

    @property
    def name(self) -> str:
        """The name under /sys/fs/cgroup ("memory", "systemd", "unified", "" for pure v2)."""
        return "" if self.mountpoint == "/sys/fs/cgroup" else pathlite.basename(self.mountpoint)

    def has(self, controller: str) -> bool:
        return controller in self.controllers

    def to_json(self) -> "dict[str, Any]":
        return {"dir": self.dir, "version": self.version, "controllers": list(self.controllers),
                "mountpoint": self.mountpoint}

    @classmethod
    def from_json(cls, data: "dict[str, Any]") -> "Cgroup":
        return cls(dir=data["dir"], version=int(data["version"]),
                   controllers=tuple(data.get("controllers", ())),
                   mountpoint=data.get("mountpoint", ""))


# --- layout ----------------------------------------------------------------------------

def hierarchies(mountinfo: str = "/proc/self/mountinfo") -> list[Hierarchy]:
    """Every mounted cgroup hierarchy, once each (the /sys/fs/cgroup mount preferred)."""
    found: dict[str, Hierarchy] = {}
    with open(mountinfo, encoding="utf-8", errors="surrogateescape") as f:
        lines = f.read().splitlines()
    for line in lines:
        left, _, right = line.partition(" - ")
        fields, rfields = left.split(" "), right.split(" ")
        if len(rfields) < 3 or rfields[0] not in ("cgroup", "cgroup2"):
            continue
        dev, root = fields[2], unescape(fields[3])
        point = unescape(fields[4])
        if rfields[0] == "cgroup2":
            version, controllers = 2, tuple(read(point, "cgroup.controllers").split())
        else:
            version = 1
            controllers = tuple(w for w in rfields[2].split(",")
                                if w in V1_CONTROLLERS or w.startswith("name="))
            if not controllers:
                continue
        old = found.get(dev)
        if old is None or (not old.mountpoint.startswith("/sys/fs/cgroup/")
                           and point.startswith("/sys/fs/cgroup")):
            found[dev] = Hierarchy(point, root, version, controllers)
    return sorted(found.values(), key=lambda h: h.mountpoint)


def layout(hs: "Iterable[Hierarchy]") -> str:
    versions = {h.version for h in hs}
    if versions == {1, 2}:
        return "hybrid"
    return "v2" if versions == {2} else "v1" if versions == {1} else "none"


def own_paths(pid: int | str = "self") -> dict[str, str]:
    """/proc/<pid>/cgroup as {hierarchy key: path}."""
    result = {}
    with open(f"/proc/{pid}/cgroup", encoding="utf-8", errors="surrogateescape") as f:
        for line in f.read().splitlines():
            _, key, path = line.split(":", 2)
            result[key] = path
    return result


# --- paths -----------------------------------------------------------------------------

def default_parent(state_root: str | None) -> str:
    """/pyocijail for the default state root, /pyocijail-<hash> for any other.

    Ids are unique only within one state root: two roots (two test runs, two
    users of --root) may both have a container "c1", and sharing a cgroup
    would let one's delete kill the other's processes."""
    from posixpath import realpath

    from pyocijail import DEFAULT_ROOT

    if state_root is None or realpath(state_root) == realpath(DEFAULT_ROOT):
        return DEFAULT_PARENT
    import hashlib

    digest = hashlib.sha256(realpath(state_root).encode()).hexdigest()[:12]
    return f"{DEFAULT_PARENT}-{digest}"


def cgroup_path(cgroups_path: str | None, container_id: str,
                state_root: str | None = None) -> str:
    """`linux.cgroupsPath` → a cgroup path (absolute, or relative to our own)."""
    if not cgroups_path:
        return f"{default_parent(state_root)}/{container_id}"
    fields = systemd_fields(cgroups_path)
    if fields:
        return systemd_path(*fields)
    if "\0" in cgroups_path or ".." in cgroups_path.split("/"):
        raise ConfigError(f"linux.cgroupsPath {cgroups_path!r}: '..' is not allowed")
    from posixpath import normpath

    path = normpath(cgroups_path)
    if path in ("/", "."):
        raise ConfigError(f"linux.cgroupsPath {cgroups_path!r}: names the root cgroup")
    return path


def systemd_fields(cgroups_path: str) -> tuple[str, str, str] | None:
    """(slice, prefix, name) of the systemd form `slice:prefix:name`, else None."""
    fields = cgroups_path.split(":")
    if len(fields) == 3 and fields[2] and not any("/" in f for f in fields):
        return fields[0], fields[1], fields[2]
    return None


def systemd_path(parent: str, prefix: str, name: str) -> str:
    """"slice:prefix:name" as systemd would lay it out under cgroupfs."""
    parent = parent or "system.slice"
    if not parent.endswith(".slice") or (parent.startswith("-") and parent != "-.slice"):
        raise ConfigError(f"linux.cgroupsPath: {parent!r} is not a slice name")
    base = "/" if parent == "-.slice" else expand_slice(parent)
    if name.endswith(".slice"):
        if not name.startswith(parent[:-len(".slice")] + "-") and parent != "-.slice":
            raise ConfigError(f"linux.cgroupsPath: slice {name!r} is not inside {parent!r}")
        return expand_slice(name)
    unit = f"{prefix}-{name}.scope" if prefix else f"{name}.scope"
    return f"{base.rstrip('/')}/{unit}"


def expand_slice(slice_name: str) -> str:
    """"a-b-c.slice" → "/a.slice/a-b.slice/a-b-c.slice" (systemd's nesting)."""
    stem = slice_name[:-len(".slice")]
    if not stem or "--" in stem or stem.startswith("-") or stem.endswith("-"):
        raise ConfigError(f"linux.cgroupsPath: invalid slice name {slice_name!r}")
    parts = stem.split("-")
    return "".join("/" + "-".join(parts[:i + 1]) + ".slice" for i in range(len(parts)))


def directories(path: str, hs: "Iterable[Hierarchy]",
                own: dict[str, str] | None = None) -> tuple[Cgroup, ...]:
    """The container's directory in each hierarchy, for cgroup `path`."""
    import posixpath

    result = []
    for h in hs:
        full = path
        if not path.startswith("/"):
            own = own_paths() if own is None else own
            full = posixpath.join(own.get(h.key, "/"), path)
        full = posixpath.normpath(full)
        if h.root != "/" and (full == h.root or full.startswith(h.root + "/")):
            full = full[len(h.root):] or "/"
        result.append(Cgroup(h.mountpoint + full.rstrip("/"), h.version, h.controllers,
                             h.mountpoint))
    return tuple(result)


# --- create / attach -------------------------------------------------------------------

def create(groups: "Iterable[Cgroup]", undo: "Any", enable: "Iterable[str]" = (),
           owner: str | None = None) -> None:
    """mkdir each directory and its missing parents; journal each one first.

    v1 cpuset directories with no cpus or mems get their parent's (a new
    cpuset is empty and takes no process), at every level, also where the
    directory was there already: a parallel create may have made a shared
    parent and not filled it yet (runc does the same). On v2, `enable` names
    the controllers to switch on in every ancestor's cgroup.subtree_control.
    A parallel delete may remove a shared parent while this walks below it
    (the last container's delete removes /pyocijail): the walk then starts
    again from the top. The kernel answers ENOENT once the directory is gone,
    and ENODEV for a file of a cgroup that is being removed (kernfs: the node
    is deactivated before it is unlinked).
    """
    wanted = set(enable)
    for group in groups:
        for attempt in range(10):
            try:
                _make_path(group, undo, wanted, owner)
                break
            except KernelError as err:
                if err.errno not in (errno.ENOENT, errno.ENODEV) or attempt == 9:
                    raise


def _make_path(group: Cgroup, undo: "Any", wanted: set[str], owner: str | None) -> None:
    top = group.mountpoint
    rel = group.dir[len(top):].strip("/")
    current = top
    for part in rel.split("/") if rel else ():
        if group.version == 2 and wanted:
            _enable(current, wanted & set(read(current, "cgroup.controllers").split()))
        current = f"{current}/{part}"
        if not pathlite.isdir(current):
            entry: dict[str, Any] = {"cgroup": current}
            if current == group.dir:
                entry["leaf"] = True  # the container's own: remove kills what is left
            undo.append(entry)
            try:
                posix.mkdir(current, 0o755)
                if owner is not None and current == group.dir:
                    mark_owner(current, owner)
            except FileExistsError:
                pass  # a parallel create made the same parent
            except OSError as err:
                raise KernelError("create cgroup", err.errno, current) from None
        if group.version == 1 and group.has("cpuset"):
            for name in ("cpuset.cpus", "cpuset.mems"):
                if not read(current, name).strip():
                    write(current, name, read(pathlite.dirname(current), name).strip())


def _enable(directory: str, controllers: set[str]) -> None:
    active = set(read(directory, "cgroup.subtree_control").split())
    missing = sorted(controllers - active)
    if missing:
        write(directory, "cgroup.subtree_control", " ".join("+" + c for c in missing))


def attach(groups: "Iterable[Cgroup]", pid: int) -> None:
    """Move `pid` (0: the caller) into every directory."""
    for group in groups:
        write(group.dir, "cgroup.procs", str(pid))


def prime_attach(interval: float = 0.005, limit: float = 2.0) -> "Callable[[], int]":
    """Start, in a thread, the wait that the next `attach` would spend idle, and
    keep the lock warm until `join` is called; `join` (call it before forking:
    a fork must not copy a thread) returns how many moves the thread made.

    Moving processes between cgroups (v1 or v2) takes one kernel-wide lock,
    and a writer that finds it idle first waits for an RCU grace period
    (8-16 ms here); a writer within ~15 ms of the last one does not wait.
    The thread "moves" this process into the cgroup it is already in (a
    no-op move) at once and then every `interval`, while create reads the
    config and prepares, so attaching the init finds the lock warm however
    long that took. Nothing depends on it: any failure only loses the head
    start. After `limit` seconds the thread ends by itself, so an in-process
    caller whose create failed before the fork (and never joined) is not left
    with it.
    """
    import _thread

    stop = _thread.allocate_lock()
    stop.acquire()
    done = _thread.allocate_lock()
    done.acquire()
    moves = [0]

    def run() -> None:
        try:
            fd = _own_procs_fd()
            if fd is None:
                return
            deadline = time.monotonic() + limit
            try:
                while True:
                    posix.write(fd, b"0")  # this process, into the cgroup it is in
                    moves[0] += 1
                    if stop.acquire(True, interval) or time.monotonic() > deadline:
                        return
            except OSError:
                return
            finally:
                posix.close(fd)
        finally:
            done.release()

    def join() -> int:
        stop.release()
        done.acquire()
        while _thread._count():  # the thread's last steps, after the release
            time.sleep(0)
        return moves[0]

    _thread.start_new_thread(run, ())
    return join


def _own_procs_fd() -> int | None:
    """A write descriptor of this process's own cgroup.procs in some hierarchy."""
    try:
        with open("/proc/self/cgroup", "rb") as f:
            lines = f.read().decode(errors="replace").splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controllers == "":
            candidates = [f"/sys/fs/cgroup{path}", f"/sys/fs/cgroup/unified{path}"]
        else:
            candidates = [f"/sys/fs/cgroup/{controllers.split(',')[0].replace('name=', '')}{path}"]
        for directory in candidates:
            try:
                return posix.open(f"{directory.rstrip('/')}/cgroup.procs",
                                  posix.O_WRONLY | posix.O_CLOEXEC)
            except OSError:
                continue
    return None


# --- running containers ------------------------------------------------------------------

def pids(groups: "Iterable[Cgroup]") -> "Iterator[int]":
    """Every pid in the container's cgroups and the cgroups made below them (a
    nested manager's, such as systemd's in the container), each at most once."""
    seen: set[int] = set()
    for group in groups:
        for directory in subtree(group.dir):
            try:
                text = read(directory, "cgroup.procs")
            except KernelError:
                continue
            for word in text.split():
                pid = int(word)
                if pid not in seen:
                    seen.add(pid)
                    yield pid


def freezer(groups: "Iterable[Cgroup]") -> Cgroup | None:
    for group in groups:
        if (group.version == 1 and group.has("freezer")) or (
                group.version == 2 and pathlite.exists(f"{group.dir}/cgroup.freeze")):
            return group
    return None


def freeze(groups: "Iterable[Cgroup]", frozen: bool) -> None:
    """Freeze or thaw, and wait until the kernel says it is done."""
    group = freezer(list(groups))
    if group is None:
        raise KernelError("freeze", None, None, "no freezer cgroup for this container")
    if group.version == 1:
        want = "FROZEN" if frozen else "THAWED"
        deadline = time.monotonic() + FREEZE_TIMEOUT
        while True:
            write(group.dir, "freezer.state", want)
            if read(group.dir, "freezer.state").strip() == want:
                return
            if time.monotonic() > deadline:
                raise KernelError("freeze", None, group.dir, f"still not {want}")
            time.sleep(0.001)
    write(group.dir, "cgroup.freeze", "1" if frozen else "0")
    deadline = time.monotonic() + FREEZE_TIMEOUT
    while f"frozen {int(frozen)}" not in read(group.dir, "cgroup.events").splitlines():
        if time.monotonic() > deadline:
            raise KernelError("freeze", None, group.dir, "cgroup.events never changed")
        time.sleep(0.001)


def unescape(field: str) -> str:
    """mountinfo's octal escapes: the kernel writes space, tab, newline and backslash
    as `\\ooo`. Without `re`, and without the unicode_escape codec (looking it up
    cost the init ~0.5 ms)."""
    if "\\" not in field:
        return field
    out, i = [], 0
    while i < len(field):
        code = field[i + 1:i + 4]
        if field[i] == "\\" and len(code) == 3 and all(c in "01234567" for c in code):
            out.append(chr(int(code, 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)
