# lean layer: a hot command loads this module; its imports keep pyocijail/lean.py's rules
"""A container's cgroup directories as files: read and write a control file,
list a directory's subtree, and remove the directories with what is left in them.

Split from `cgroups` so that `delete` (of a stopped container: only `remove`)
loads neither the layout nor the value classes. No os, re, signal or typing;
annotations that name type-checking imports are strings (no __future__).
"""

import errno
import posix
import time
from _signal import SIGKILL  # (builtin, loaded at start-up; `signal` builds enums)

from pyocijail import pathlite
from pyocijail.errors import KernelError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

DEFAULT_PARENT = "/pyocijail"
RMDIR_RETRY = 2.0  # seconds to retry rmdir of a cgroup that is still busy


def is_default_parent(name: str) -> bool:
    """"pyocijail" or "pyocijail-<12 hex digits>": a parent only we make."""
    base = DEFAULT_PARENT.strip("/")
    if name == base:
        return True
    tail = name[len(base) + 1:]
    return (name.startswith(base + "-") and len(tail) == 12
            and all(c in "0123456789abcdef" for c in tail))


# --- files --------------------------------------------------------------------------------

def write(directory: str, name: str, value: str) -> None:
    path = f"{directory}/{name}"
    try:
        fd = posix.open(path, posix.O_WRONLY | posix.O_CLOEXEC)
    except FileNotFoundError:
        raise KernelError("write cgroup file", errno.ENOENT, path,
                          "not supported by this kernel or cgroup layout") from None
    except OSError as err:
        raise KernelError("write cgroup file", err.errno, path) from None
    try:
        posix.write(fd, value.encode())
    except OSError as err:
        raise KernelError(f"write {value!r} to", err.errno, path) from None
    finally:
        posix.close(fd)


def read(directory: str, name: str) -> str:
    try:
        with open(f"{directory}/{name}", encoding="utf-8") as f:
            return f.read()
    except OSError as err:
        raise KernelError("read cgroup file", err.errno, f"{directory}/{name}") from None


def subtree(directory: str) -> list[str]:
    """`directory` and every cgroup below it, deepest first (the order rmdir needs)."""
    try:
        with posix.scandir(directory) as entries:
            children = [e.path for e in entries if e.is_dir(follow_symlinks=False)]
    except OSError:
        children = []
    found = []
    for child in children:
        found += subtree(child)
    found.append(directory)
    return found


#: On each cgroup create made for a container: the container's state folder.
#: `trusted.`: only a process with CAP_SYS_ADMIN can set it, cgroupfs (v1 and
#: v2, kernfs) keeps it without any mount option.
OWNER_XATTR = "trusted.pyocijail.owner"


def mark_owner(directory: str, owner: str) -> None:
    """Mark a cgroup create just made as this container's (see `remove`)."""
    try:
        posix.setxattr(directory, OWNER_XATTR, owner.encode())
    except OSError as err:
        if err.errno not in (errno.EOPNOTSUPP, errno.ENOTSUP):
            raise KernelError("mark cgroup", err.errno, directory) from None


def _made_by(directory: str, owner: str | None) -> bool:
    """Whether `directory` carries the mark of the container `owner` (a filesystem
    without xattrs cannot say: then the journal is all there is, as before)."""
    if owner is None:
        return True
    try:
        return posix.getxattr(directory, OWNER_XATTR) == owner.encode()
    except OSError as err:
        return err.errno in (errno.EOPNOTSUPP, errno.ENOTSUP)


def remove(dirs: "Iterable[str]", leaves: "Iterable[str]" = (),
           owner: str | None = None) -> list[str]:
    """rmdir each directory (deepest first). The container's own directories
    (`leaves`) go with everything below them: the cgroups a nested manager made
    there are the container's too (runc removes them as well); what is left in
    them is killed first, and rmdir retried while the kernel says EBUSY.

    The journal says which directories create made, but a leaf is emptied by
    force only if it carries `owner`'s mark (`mark_owner`): a journal line
    naming another cgroup (planted, or from a copied state folder) must not
    SIGKILL what runs there (attack 7e); such a leaf is left as it is.

    Idempotent: a missing directory is done. A parent create made (shared with
    other containers) is removed only once it is empty. Returns the errors, so
    the caller can go on.
    """
    errors: list[str] = []
    parents = set()
    leaf_set = set(leaves)
    for d in dirs:
        parent = pathlite.dirname(d)
        if is_default_parent(pathlite.basename(parent)) and pathlite.ismount(
                pathlite.dirname(parent)):
            parents.add(parent)
        try:
            posix.rmdir(d)  # the usual case: nothing left in it
            continue
        except OSError as err:
            if err.errno in (errno.ENOENT, errno.ENOTDIR) or d not in leaf_set:
                continue  # gone; or a parent still in use by someone else
            if not _made_by(d, owner):
                continue  # not this container's cgroup: nothing of it is ours to kill
        for directory in subtree(d):
            _remove_busy(directory, errors)
    for parent in parents:  # the shared /pyocijail, once its last container is gone
        try:
            posix.rmdir(parent)
        except OSError:
            pass  # other containers still use it (EBUSY), or already gone
    return errors


def _remove_busy(d: str, errors: list[str]) -> None:
    """Kill what is in `d`, then rmdir it, retrying while processes are dying."""
    _kill_members(d)
    deadline = time.monotonic() + RMDIR_RETRY
    delay = 0.001
    while True:
        try:
            posix.rmdir(d)
            return
        except FileNotFoundError:
            return
        except OSError as err:
            if err.errno != errno.EBUSY or time.monotonic() > deadline:
                errors.append(f"remove cgroup {d}: {posix.strerror(err.errno or 0)}")
                return
            _kill_members(d)
            time.sleep(delay)
            delay = min(delay * 2, 0.05)


def _kill_members(d: str) -> None:
    try:
        members = [int(w) for w in read(d, "cgroup.procs").split()]
    except KernelError:
        return
    for pid in members:
        try:
            posix.kill(pid, SIGKILL)
        except ProcessLookupError:
            pass
    if members and pathlite.exists(f"{d}/freezer.state"):
        try:
            write(d, "freezer.state", "THAWED")
        except KernelError:
            pass
