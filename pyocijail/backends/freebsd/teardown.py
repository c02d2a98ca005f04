# lean layer: a hot command loads this module; its imports keep pyocijail/lean.py's rules
"""destroy: undo a container's host-side changes from its undo entries.

Phases, each tolerant of "already gone" so destroy is idempotent and works
after a create killed at any point:

1. take back the interfaces moved into the jail's vnet (`ifconfig <if> -vnet
   <jid>`, while the jail is alive), then remove the jail (checked by name
   *and* recorded jid) and wait until its processes are gone: jail_remove
   kills them, but the jail lingers while they exit and their files keep
   mounts busy (ocijail force-unmounted without waiting);
2. unmount what the jail's root mounted inside it (when it could), then ours
   in reverse order (ocijail unmounted in config order), by the fsid recorded
   at mount time (`fsids`), retrying with MNT_FORCE; a journal without fsids
   is unmounted by path, where EINVAL means no longer mounted;
3. drop scratch copies (tmpcopyup);
4. remove the mount points create made, deepest first, except those another
   mount is still on (another container's, on a shared rootfs);
5. remove rctl rules and interface aliases; lower the parent's children.max.

Every journal entry is first held to this container's own scope (`Scope`):
the state directory delete runs in, and the paths and names create recorded
in the state (and in SCOPE_FILE, for a state that cannot be read) before it
journalled anything (`FreeBSDBackend.recorded`: the
rootfs, the jail's path, the volume sources it made mount points in, the
jail's name and parent, its address aliases). An entry naming anything else
(a planted or edited journal) is refused with a warning and not acted on.
"""

import errno
import os
import time

from pyocijail.backends.freebsd.fsids import (
    recorded_fsids,
    sweep_jail_mounts,
    unmount_recorded,
)
from pyocijail.backends.freebsd.kernel import MNT_FORCE, JailKernel
from pyocijail.errors import KernelError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pyocijail.backends.base import UndoLog
    from pyocijail.backends.freebsd.kernel import Mounted
    from pyocijail.log import LogSink

EXIT_WAIT = 10.0  # seconds to wait for a removed jail's processes
VNET_WAIT = 5.0  # seconds to wait for its vnet interfaces to be back on the host
#: In the container's folder: `FreeBSDBackend.recorded`, written by prepare before
#: its first journal entry; the fallback scope when the state cannot be read.
SCOPE_FILE = "freebsd-scope.json"


class Scope:
    """What a journal entry may name: paths beneath this container's own
    directories, and its own jail, parent and aliases."""

    def __init__(self, state: "dict[str, Any]", undo: "UndoLog") -> None:
        where = getattr(undo, "path", None)
        own = state.get("own")
        if not isinstance(own, dict) and isinstance(where, str):
            own = _scope_file(os.path.join(os.path.dirname(where), SCOPE_FILE))
        if not isinstance(own, dict):
            own = {}
        # The folder this delete runs in, not what the state says, when known.
        self.state_dir = os.path.dirname(os.path.realpath(where)) if isinstance(where, str) \
            else _text(own.get("stateDir"))
        self.jail_path = _text(own.get("jailPath"))
        self.rootfs = _text(own.get("rootfs"))
        self.volumes = [v for v in map(_text, own.get("volumes") or []) if v]
        self.jail = _text(own.get("jail")) or _text(state.get("jail"))
        self.parent = _text(own.get("parent"))
        self.aliases = {tuple(a) for a in own.get("aliases") or [] if isinstance(a, list)}
        self.container_id = os.path.basename(self.state_dir) if self.state_dir else None

    def _roots(self, *which: str | None) -> list[str]:
        return [r for r in which if r]

    def mount_target(self, path: "Any") -> bool:
        """A mount of ours is on the jail's tree or the read-only alias."""
        return _beneath(path, self._roots(self.jail_path, self.rootfs, self.state_dir))

    def jail_root(self, path: "Any") -> bool:
        return bool(self.jail_path) and _clean(path) and path == self.jail_path

    def scratch(self, path: "Any") -> bool:
        return _beneath(path, self._roots(self.state_dir), strictly=True)

    def mount_point(self, path: "Any", anchor: "Any") -> bool:
        """Beneath the jail's tree, a volume or our folder (the read-only alias), and
        made from a trusted anchor above it (create's `_anchor`)."""
        bases = self._roots(self.jail_path, self.rootfs, self.state_dir, *self.volumes)
        if not _beneath(path, bases, strictly=True):
            return False
        return anchor is None or (anchor in bases and _beneath(path, [anchor], strictly=True))

    def jail_name(self, name: "Any") -> bool:
        if not isinstance(name, str) or not name:
            return False
        if self.jail:
            return name == self.jail
        # No state (leftovers of a create killed early): a jail named after this
        # container (jail_name: the id, below a parent).
        return bool(self.container_id) and name.rsplit(".", 1)[-1] == self.container_id

    def parent_jail(self, name: "Any") -> bool:
        if not isinstance(name, str) or not name:
            return False
        if self.parent is not None or self.jail:
            return name == self.parent
        return False

    def alias(self, interface: "Any", address: "Any") -> bool:
        return (interface, address) in self.aliases


def _scope_file(path: str) -> "Any":
    """The scope prepare wrote next to the journal (a state.json lost or corrupt)."""
    from pyocijail import jsonlite

    try:
        with open(path, "rb") as f:
            return jsonlite.loads(f.read()).get("own")
    except (OSError, ValueError, AttributeError):
        return None


def _text(value: "Any") -> str | None:
    return value if isinstance(value, str) and value else None


def _clean(path: "Any") -> bool:
    """Absolute, no "." or ".." component, no NUL: compared as written."""
    return isinstance(path, str) and path.startswith("/") and "\0" not in path and \
        not any(part in (".", "..") for part in path.split("/"))


def _beneath(path: "Any", roots: list[str], strictly: bool = False) -> bool:
    if not _clean(path):
        return False
    for root in roots:
        base = root.rstrip("/")
        if path.startswith(base + "/") or (not strictly and path == root):
            return True
    return False


def _allowed(scope: "Scope", e: "dict[str, Any]") -> bool:
    """Whether teardown may act on journal entry `e`."""
    op = e.get("op")
    if op == "mount":
        return scope.mount_target(e.get("target"))
    if op == "jail.mounts":
        return scope.jail_root(e.get("root"))
    if op == "scratch":
        return scope.scratch(e.get("path"))
    if op == "mountpoint":
        return e.get("kind") in ("dir", "file") and \
            scope.mount_point(e.get("path"), e.get("anchor"))
    if op in ("jail", "jid"):
        return scope.jail_name(e.get("name")) and \
            (op == "jail" or isinstance(e.get("jid"), int))
    if op in ("children.max", "children.max.raised"):
        return scope.parent_jail(e.get("jail"))
    if op == "alias":
        return scope.alias(e.get("interface"), e.get("address"))
    if op == "vnet.interface":  # taken back from our own jail only
        return isinstance(e.get("interface"), str) and scope.jail_name(e.get("jail"))
    return True  # rctl, mount.fsid, process...: nothing named to act on


def destroy(k: "JailKernel", log: "LogSink", state: "dict[str, Any]", undo: "UndoLog") -> None:  # noqa: C901 - the undo journal replayed, one branch per entry kind
    entries = undo.entries()
    done = {e["index"] for e in entries if e["op"] == "undone"}
    scope = Scope(state, undo)
    todo = []
    for i, e in enumerate(entries):
        if i in done or e["op"] == "undone":
            continue
        if not _allowed(scope, e):
            log.warn(f"destroy: ignoring journal entry {i} ({e.get('op')}): it names "
                     "something outside this container's own paths and names")
            continue
        todo.append((i, e))
    errors: list[Exception] = []

    def attempt(fn: "Any", *args: "Any") -> bool:
        try:
            fn(*args)
        except (KernelError, OSError) as err:
            log.warn(f"destroy: {err}")
            errors.append(err)
            return False
        return True

    jids = {e["name"]: e["jid"] for _, e in todo if e["op"] == "jid"}
    names = [e["name"] for _, e in todo if e["op"] == "jail"]
    if state.get("jail") and state["jail"] not in names:
        names.append(state["jail"])
        if state.get("jid") is not None:
            jids.setdefault(state["jail"], state["jid"])
    moved: dict[str, list[str]] = {}
    for _, e in todo:
        if e["op"] == "vnet.interface":
            moved.setdefault(e["jail"], []).append(e["interface"])
    pending = [i for name, found in moved.items() if name not in names for i in found]
    for name in names:
        attempt(_remove_jail, k, log, name, jids.get(name), moved.get(name, []), pending)
    _unmount_all(k, log, entries, todo, attempt)
    for _, e in reversed(todo):
        # "restore" entries (a journal of the dropped single-file copy fallback)
        # are not replayed: writing the saved copy back followed links the jail
        # could plant, onto any host file.
        if e["op"] == "scratch":
            import shutil  # only for tmpcopyup's scratch copies

            attempt(shutil.rmtree, e["path"], True)
    points = [e for _, e in todo if e["op"] == "mountpoint"]
    listed: list[Mounted] = []
    if points:
        attempt(lambda: listed.extend(k.getfsstat()))
    busy = {m.target for m in listed}
    order = sorted(enumerate(points), key=lambda ie: (-ie[1]["path"].count("/"), -ie[0]))
    for _, e in order:
        if e["path"] in busy:
            # Another container's mount on it (two pods on one rootfs): rmdir
            # would be EBUSY; it is theirs to use, and ours to leave.
            log.warn(f"destroy: keeping mount point {e['path']}: another mount is on it")
            continue
        attempt(_remove_point, log, e["path"], e["kind"], e.get("anchor"))
    for name in names:  # also rules added later by `update`
        attempt(_rctl_clear, k, f"jail:{name}")
    for i, e in reversed(todo):
        if e["op"] == "alias":
            attempt(_unalias, k, log, e["interface"], e["address"])
        elif e["op"] == "children.max" and any(  # noqa: SIM102 - the attempt is an action
                x["op"] == "children.max.raised" for j, x in todo if j > i):
            if attempt(_lower_children_max, k, e["jail"]):
                undo.append({"op": "undone", "index": i})  # not idempotent by itself
    if pending:
        attempt(_await_interfaces, k, log, pending)
    if errors:
        first = errors[0]
        if isinstance(first, KernelError):
            raise first
        assert isinstance(first, OSError)  # host-side file work: an error, not a traceback
        raise KernelError("destroy", first.errno, first.filename) from first


def _remove_jail(k: "JailKernel", log: "LogSink", name: str, jid: int | None,
                 interfaces: "list[str]", pending: "list[str]") -> None:
    """`interfaces` were moved into this jail; those that may still come back
    later (see `_await_interfaces`) are added to `pending`."""
    try:
        info = k.jail_get(name)
    except KernelError as err:
        if err.errno == errno.ENOENT:
            pending.extend(interfaces)  # removed already: its vnet may still be held
            return
        raise
    if jid is not None and info["jid"] != jid:
        log.warn(f"jail {name} is now jid {info['jid']}, not {jid}: leaving it alone")
        pending.extend(interfaces)
        return
    pending.extend(_reclaim_interfaces(k, log, info["jid"], interfaces))
    pids = k.jail_pids(info["jid"])
    try:
        k.jail_remove(info["jid"])
    except KernelError as err:
        if err.errno != errno.EINVAL:  # EINVAL: removed meanwhile
            raise
    deadline = time.monotonic() + EXIT_WAIT
    from pyocijail.state.liveness import start_time  # the runtime's one notion of alive

    while any(start_time(p) is not None for p in pids):
        if time.monotonic() > deadline:
            raise KernelError("jail_remove", errno.EBUSY, name,
                              detail="its processes did not exit")
        time.sleep(0.02)


def _unmount_all(k: "JailKernel", log: "LogSink", entries: "list[dict[str, Any]]",
                 todo: "list[tuple[int, dict[str, Any]]]", attempt: "Any") -> None:
    mounts = [(i, e) for i, e in todo if e["op"] == "mount"]
    sweeps = [e for _, e in todo if e["op"] == "jail.mounts"]
    if not mounts and not sweeps:
        return
    recorded = recorded_fsids(entries)
    listed: list[Mounted] = []
    if not attempt(lambda: listed.extend(k.getfsstat())):
        return  # nothing is unmounted blind; the error makes delete fail (retry)
    ours = {(int(f[0]), int(f[1])) for f in recorded.values() if f}
    targets = {e["target"] for _, e in mounts}
    for e in sweeps:
        attempt(sweep_jail_mounts, k, e["root"], ours, targets, listed)
    by_fsid = {m.fsid: m for m in listed}
    for i, e in reversed(mounts):
        if i in recorded:
            attempt(unmount_recorded, k, log, e["target"], recorded[i], by_fsid)
        elif any(m.target == e["target"] for m in listed):
            # By path only where the kernel lists a mount on exactly that path: a
            # link swapped into it since would lead the path lookup elsewhere.
            attempt(_unmount, k, e["target"])


def _unmount(k: "JailKernel", target: str) -> None:
    """By path: only for a mount journalled without its fsid."""
    try:
        k.unmount(target, 0)
    except KernelError as err:
        if err.errno in (errno.EINVAL, errno.ENOENT):
            return  # not mounted (any more)
        if err.errno != errno.EBUSY:
            raise
        try:
            k.unmount(target, MNT_FORCE)
        except KernelError as again:
            if again.errno not in (errno.EINVAL, errno.ENOENT):
                raise


def _remove_point(log: "LogSink", path: str, kind: str, anchor: str | None = None) -> None:
    """rmdir/unlink a mount point create made, through its parent reached from the
    anchor without following links (an image could have swapped one in since)."""
    from pyocijail.rootpath import open_parent_beneath
    try:
        if anchor is None:  # a journal from before anchors were recorded
            parent, name = os.open(os.path.dirname(path), os.O_RDONLY | os.O_DIRECTORY
                                   | os.O_NOFOLLOW | os.O_CLOEXEC), os.path.basename(path)
        else:
            parent, name = open_parent_beneath(anchor, path)
        try:
            if kind == "dir":
                os.rmdir(name, dir_fd=parent)
            else:
                os.unlink(name, dir_fd=parent)
        finally:
            os.close(parent)
    except FileNotFoundError:
        pass
    except KernelError as err:
        if err.errno == errno.ENOENT:
            return
        log.warn(f"destroy: keeping {path}: {err}")
        return
    except OSError as err:
        # Replaced (by a link?) since: not ours to remove. O_NOFOLLOW on a link is
        # ELOOP on Linux but EMLINK on FreeBSD (open(2); pjdfstest open/16.t).
        if err.errno in (errno.ENOTDIR, errno.ELOOP, errno.EMLINK):
            log.warn(f"destroy: keeping {path}: it is no longer the mount point made")
            return
        if err.errno != errno.ENOTEMPTY:
            raise
        log.warn(f"destroy: keeping mount point {path}: something was written into it")


def _rctl_clear(k: "JailKernel", rule_filter: str) -> None:
    try:
        k.rctl_remove(rule_filter)
    except KernelError as err:
        if err.errno not in (errno.ESRCH, errno.ENOSYS):  # none / racct disabled
            raise


def _unalias(k: "JailKernel", log: "LogSink", interface: str, address: str) -> None:
    try:
        k.ifconfig_alias(interface, address, add=False)
    except KernelError as err:
        if err.errno == errno.ENXIO:  # ifconfig: "interface <if> does not exist"
            log.warn(f"destroy: interface {interface} no longer exists: its address "
                     f"{address} went with it")
        elif err.errno != errno.EADDRNOTAVAIL:  # EADDRNOTAVAIL: removed already
            raise


def _reclaim_interfaces(k: "JailKernel", log: "LogSink", jid: int,
                        interfaces: "list[str]") -> "list[str]":
    """`ifconfig <if> -vnet <jid>` for each interface moved into the live jail, as
    jail(8) does for `vnet.interface` (usr.sbin/jail/command.c run_command,
    IP_VNET_INTERFACE: "-vnet" when the jail goes down): back on the host at once
    (sys/net/if.c if_vmove_reclaim), not when the removed jail is finally freed.
    ENXIO: it is not in the jail's vnet any more (destroyed there: an epair goes
    with its other end; or moved on), so there is nothing to wait for. The
    interfaces returned could not be taken back; the kernel returns them when it
    frees the jail's vnet."""
    left = []
    for interface in interfaces:
        try:
            k.ifconfig_unvnet(interface, jid)
        except KernelError as err:
            if err.errno != errno.ENXIO:
                log.warn(f"destroy: {err}")
                left.append(interface)
            elif not k.host_interface(interface):
                log.warn(f"destroy: vnet interface {interface} is no longer in the jail "
                         "nor on the host: it was destroyed")
    return left


def _await_interfaces(k: "JailKernel", log: "LogSink", interfaces: "list[str]") -> None:
    """Wait (at most VNET_WAIT) for interfaces `_reclaim_interfaces` could not take
    back (or whose jail was removed already) to be back on the host, so that a
    create right after this delete can move them again.

    jail_remove does not give them back: the jail's vnet is destroyed only when
    the dying prison's last reference goes (sys/kern/kern_jail.c `prison_deref`:
    after its last process, zombies included, is reaped, and any socket or
    credential holding it is gone), and vnet_destroy (sys/net/vnet.c) then runs
    the VNET_SYSUNINITs, among them sys/net/if.c `vnet_if_return`, which
    if_vmoves each interface back to its home vnet. An interface not back by
    then is a warning, not a failed delete: it may return later, or have been
    destroyed."""
    deadline = time.monotonic() + VNET_WAIT
    waiting = [i for i in interfaces if not k.host_interface(i)]
    while waiting and time.monotonic() < deadline:
        time.sleep(0.05)
        waiting = [i for i in waiting if not k.host_interface(i)]
    for interface in waiting:
        log.warn(f"destroy: vnet interface {interface} is not back on the host after "
                 f"{VNET_WAIT:g}s: the removed jail is still held (a process not yet "
                 "reaped, a socket, a credential), or the interface was destroyed")


def _lower_children_max(k: "JailKernel", parent: str) -> None:
    """Undo our +1; several members may have raised it, so never below children.cur."""
    try:
        info = k.jail_get(parent)
    except KernelError as err:
        if err.errno == errno.ENOENT:
            return
        raise
    current = info["children.max"]
    lowered = max(info["children.cur"], current - 1)
    if lowered < current:
        k.jail_set({"name": parent, "children.max": lowered}, create=False)
