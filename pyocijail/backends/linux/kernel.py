"""The kernel calls the Linux backend's filesystem and namespace set-up makes.

Why a seam: `mounts`, `devices`, `pivot`, `namespaces` and the init's part of
`backend` only ever act through an `NsKernel`, so the order and the arguments
of what they do (masked paths after read-only ones, the flags of a bind's
read-only remount, the pivot_root sequence, the /dev nodes) are checked
without root on a recording double (`RecordingNsKernel`, testing/nskernel.py),
as the FreeBSD backend is over `backends/freebsd/kernel.JailKernel`. The real
one is `linuxkernel.LinuxKernel` (ctypes `libc` wrappers and `os`).

Errors are the real kernel's: the calls `libc` wraps raise `KernelError(op,
errno, path)`, the ones `os` has raise `OSError` (`PermissionError`,
`FileNotFoundError`... by errno). fds are plain ints. Only the methods the
code calls are here: what the set-up does outside it is listed in
docs/architecture.md ("The Linux kernel seam").
"""

TYPE_CHECKING = False  # not `from typing import`: the init loads this module
if TYPE_CHECKING:
    import os
    from typing import Protocol
else:
    Protocol = object  # NsKernel is an interface for the type checker only


class NsKernel(Protocol):
    # --- namespaces and their names (KernelError) --------------------------------------
    def unshare(self, flags: int) -> None:
        """unshare(2) of the CLONE_NEW* `flags`."""

    def setns(self, fd: int, nstype: int) -> None:
        """setns(2): join the namespace `fd` names (`nstype`: its CLONE_NEW* or 0)."""

    def sethostname(self, name: str) -> None: ...

    def setdomainname(self, name: str) -> None: ...

    # --- mounts (KernelError) -------------------------------------------------------
    def mount(self, source: str | None, target: str, fstype: str | None, flags: int,
              data: str | None) -> None:
        """mount(2); `target` is often `/proc/self/fd/N` of an `open_in_root` fd."""

    def umount2(self, target: str, flags: int) -> None: ...

    def pivot_root(self, new_root: str, put_old: str) -> None: ...

    def mount_flags_of(self, path: str) -> int:
        """The MS_* flags the mount at `path` has now (statvfs(3))."""

    def mountinfo(self) -> list[str]:
        """The lines of /proc/self/mountinfo (this process's mount namespace)."""

    def open_tree(self, fd: int, flags: int) -> int:
        """open_tree(2) of the file `fd` names (OPEN_TREE_CLONE: a detached copy)."""

    def move_mount(self, from_fd: int, to_fd: int) -> None:
        """move_mount(2): attach the detached mount `from_fd` on the file `to_fd` names."""

    def mount_setattr(self, fd: int, attr_set: int) -> None:
        """mount_setattr(2): set MOUNT_ATTR_* on the mount `fd` names."""

    def fsmount_new(self, fstype: str, source: str, *, readonly: bool,
                    context: str | None) -> int:
        """A new detached mount (fsopen, fsconfig, fsmount); its fd."""

    # --- files in the rootfs (open_in_root: KernelError; the others: OSError) --------------
    def open_in_root(self, root: str, path: str, flags: int) -> int:
        """An fd of `path` resolved inside `root`, never outside it (openat2
        RESOLVE_IN_ROOT, `rootpath.open_in_root`); O_CLOEXEC always."""

    def ensure_mountpoint(self, root: str, path: str, *, directory: bool) -> list[str]:
        """Make `path` inside `root` a directory (or a file), with its missing
        parents (mkdirat, openat O_CREAT: `rootpath.ensure_mountpoint`); the host
        paths made."""

    def copy_tree(self, src: int, dst: int) -> None:
        """Copy a directory's content between two directory fds (tmpcopyup)."""

    def open(self, path: str, flags: int, mode: int = 0o777, *,
             dir_fd: int | None = None) -> int: ...

    def close(self, fd: int) -> None: ...

    def fstat(self, fd: int) -> "os.stat_result": ...

    def stat(self, path: str, *, dir_fd: int | None = None,
             follow_symlinks: bool = True) -> "os.stat_result": ...

    def mknod(self, name: str, mode: int, device: int, *, dir_fd: int) -> None: ...

    def symlink(self, target: str, name: str, *, dir_fd: int) -> None: ...

    def chown(self, name: str, uid: int, gid: int, *, dir_fd: int) -> None:
        """lchown, relative to `dir_fd` (never follows a link)."""

    def fchown(self, fd: int, uid: int, gid: int) -> None: ...

    def unlink(self, name: str, *, dir_fd: int) -> None: ...

    def rmdir(self, name: str, *, dir_fd: int) -> None: ...

    def umask(self, mask: int) -> int:
        """Set the umask; the old one."""

    def fchdir(self, fd: int) -> None: ...

    def chdir(self, path: str) -> None: ...

    def readlink(self, path: str, *, dir_fd: int | None = None) -> str: ...

    def write(self, fd: int, data: bytes) -> int: ...

    def dup(self, fd: int) -> int: ...

    def resolve_in_root(self, root: str, path: str) -> str:
        """The host path `path` names inside `root`, links followed and never
        outside it (`rootpath.resolve`, KernelError "resolve"): for the undo list
        and mountinfo, never for opening."""

    # --- the checked procfs and sysfs fds (`procfs`) -------------------------------------
    def openat2(self, dir_fd: int, path: str, flags: int, resolve: int) -> int:
        """openat2(2) with RESOLVE_* `resolve` (KernelError "openat2"): how `procfs`
        opens beneath a kept tree, no symlink followed."""

    def fstatfs_type(self, fd: int) -> int:
        """statfs.f_type of `fd`'s filesystem (PROC_SUPER_MAGIC...; KernelError "fstatfs")."""

    # --- what else the set-up touches ----------------------------------------------------
    def list_symlinks(self, path: str) -> list[str]:
        """The names of the symlinks in the host directory `path`, in directory
        order (`cgroupmount` reads the host's cgroup directory; OSError)."""

    def label_file(self, fd: int, label: str) -> None:
        """Set the SELinux label of the file `fd` (an mqueue mount's root, as runc's
        label.SetFileLabel; KernelError "set SELinux label of mqueue")."""

    def loopback_up(self) -> None:
        """Bring `lo` up in this process's network namespace (KernelError "bring up lo")."""
