# lean layer: a hot command loads this module; its imports keep pyocijail/lean.py's rules
"""Mounts by file system id: make sure each mount is where it was planned, and
remove only this container's own.

FreeBSD has no mount namespace, and nmount(2) resolves its path again (namei
FOLLOW, vfs_mount.c vfs_domount): a jail that swaps a folder of a shared volume
for a symlink between plan and mount would send the mount anywhere on the host.
So after each nmount the new mount is found and its f_mntonname (the global
path, vn_path_to_global_path) compared with the plan; one that landed elsewhere
is unmounted by its fsid and create fails. The fsid is journalled, and delete
unmounts with MNT_BYFSID (kern_unmount), never by path: two pods sharing
podman's infra rootfs stack mounts on the same paths, and a path can be swapped.
"""

import errno

from pyocijail.backends.freebsd.kernel import MNT_BYFSID, MNT_FORCE, JailKernel, fsid_path
from pyocijail.errors import KernelError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pyocijail.backends.base import UndoLog
    from pyocijail.backends.freebsd.kernel import Mounted
    from pyocijail.log import LogSink


def mount_checked(k: "JailKernel", fstype: str, source: str, target: str, flags: int,
                  data: dict[str, str | None], undo: "UndoLog") -> None:
    """nmount, then journal the new mount's fsid and refuse it if it is not on
    `target`. The caller journalled {"op": "mount"} before."""
    before = {m.fsid for m in k.getfsstat()}
    k.nmount(fstype, source, target, flags, data)
    here = k.statfs(target)
    if here.fsid not in before and here.target == target and here.fstype == fstype:
        undo.append({"op": "mount.fsid", "fsid": list(here.fsid)})
        return
    # Landed elsewhere. Ours is the new mount of this type; a mount made at the
    # same moment by someone else could be too: then touch none of them.
    new = [m for m in k.getfsstat() if m.fsid not in before and m.fstype == fstype]
    ours = [m for m in new if m.fsid == here.fsid] or new
    if len(ours) != 1:
        undo.append({"op": "mount.fsid", "fsid": None})  # unknown: never by path
        raise KernelError("nmount", errno.EXDEV, target, detail=(
            "the mount did not land on its planned path (a link swapped in since plan?) "
            "and could not be told apart from " + ", ".join(m.target for m in new)
            + ": left mounted"))
    landed = ours[0]
    undo.append({"op": "mount.fsid", "fsid": list(landed.fsid)})
    unmount_fsid(k, landed.fsid)
    raise KernelError("nmount", errno.EXDEV, target, detail=(
        f"the mount landed on {landed.target}, not on its planned path (a link swapped "
        "in since plan?): unmounted"))


def unmount_fsid(k: "JailKernel", fsid: tuple[int, int] | list[int]) -> None:
    """unmount(2) MNT_BYFSID, forced if busy (jail_remove's processes are gone by
    then, but their last references can linger); gone already is fine."""
    try:
        k.unmount(fsid_path(fsid), MNT_BYFSID)
    except KernelError as err:
        if err.errno == errno.ENOENT:
            return
        if err.errno != errno.EBUSY:
            raise
        try:
            k.unmount(fsid_path(fsid), MNT_BYFSID | MNT_FORCE)
        except KernelError as again:
            if again.errno != errno.ENOENT:
                raise


def unmount_recorded(k: "JailKernel", log: "LogSink", target: str, fsid: list[int] | None,
                     listed: "dict[tuple[int, int], Mounted]") -> None:
    """Undo one journalled mount: by its fsid, if that file system is still the one
    mounted on `target` (fsids are only unique among mounted file systems)."""
    key = (int(fsid[0]), int(fsid[1])) if fsid else None
    if key is None or key not in listed:
        return  # never mounted, unmounted already, or unknown (then not by path)
    if listed[key].target != target:
        log.warn(f"destroy: {fsid_path(key)} is now mounted on {listed[key].target}, "
                 f"not {target}: leaving it alone")
        return
    unmount_fsid(k, key)


def sweep_jail_mounts(k: "JailKernel", root: str, ours: set[tuple[int, int]],
                      our_targets: set[str], listed: "list[Mounted]") -> None:
    """Unmount what the jail's root mounted inside the jail (F10): jail_remove
    leaves those mounted (kern_jail.c prison_deref unmounts nothing). Anything
    below the root that is not ours, deepest and newest first, except mounts on a
    path where we mounted too: those are another container's on a shared rootfs."""
    prefix = root.rstrip("/") + "/"
    theirs = [(i, m) for i, m in enumerate(listed) if m.target.startswith(prefix)
              and m.fsid not in ours and m.target not in our_targets]
    for _, m in sorted(theirs, key=lambda im: (-im[1].target.count("/"), -im[0])):
        unmount_fsid(k, m.fsid)


def recorded_fsids(entries: "list[dict[str, Any]]") -> dict[int, list[int] | None]:
    """Index of each journalled mount -> the fsid recorded right after it. A mount
    with no record (a journal from before fsids, or a create killed between
    nmount and the record) is absent: the caller unmounts that one by path."""
    out: dict[int, list[int] | None] = {}
    last = None
    for i, e in enumerate(entries):
        if e["op"] == "mount":
            last = i
        elif e["op"] == "mount.fsid" and last is not None:
            out[last] = e["fsid"]
            last = None
    return out
