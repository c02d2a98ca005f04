"""`LinuxKernel`: the real `kernel.NsKernel`, thin over `libc` and `os`.

Each method is the call the set-up code made before the seam, with its
errors: `libc`'s wrappers raise `KernelError`, `os` raises `OSError`. Loaded
before pivot_root (`preload`), as is `rootpath`, which only the in-root opens
import: `exec`, whose joins use this kernel too, never loads it.
"""

from __future__ import annotations

import os
import stat

from pyocijail.backends.linux import libc


class LinuxKernel:
    """This host's kernel (no state: every call goes straight to it)."""

    def unshare(self, flags: int) -> None:
        libc.unshare(flags)

    def setns(self, fd: int, nstype: int) -> None:
        libc.setns(fd, nstype)

    def sethostname(self, name: str) -> None:
        libc.sethostname(name)

    def setdomainname(self, name: str) -> None:
        libc.setdomainname(name)

    def mount(self, source: str | None, target: str, fstype: str | None, flags: int,
              data: str | None) -> None:
        libc.mount(source, target, fstype, flags, data)

    def umount2(self, target: str, flags: int) -> None:
        libc.umount2(target, flags)

    def pivot_root(self, new_root: str, put_old: str) -> None:
        libc.pivot_root(new_root, put_old)

    def mount_flags_of(self, path: str) -> int:
        return libc.mount_flags_of(path)

    def mountinfo(self) -> list[str]:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="surrogateescape") as f:
            return f.read().splitlines()

    def open_tree(self, fd: int, flags: int) -> int:
        return libc.open_tree(fd, flags)

    def move_mount(self, from_fd: int, to_fd: int) -> None:
        libc.move_mount(from_fd, to_fd)

    def mount_setattr(self, fd: int, attr_set: int) -> None:
        libc.mount_setattr(fd, attr_set)

    def fsmount_new(self, fstype: str, source: str, *, readonly: bool,
                    context: str | None) -> int:
        return libc.fsmount_new(fstype, source, readonly=readonly, context=context)

    def open_in_root(self, root: str, path: str, flags: int) -> int:
        from pyocijail import rootpath  # (in `preload`'s list)

        return rootpath.open_in_root(root, path, flags, libc.open_in_root)

    def ensure_mountpoint(self, root: str, path: str, *, directory: bool) -> list[str]:
        from pyocijail import rootpath  # (in `preload`'s list)

        return rootpath.ensure_mountpoint(root, path, directory=directory,
                                          opener=libc.open_in_root)

    def copy_tree(self, src: int, dst: int) -> None:
        copy_tree(src, dst)

    def open(self, path: str, flags: int, mode: int = 0o777, *,
             dir_fd: int | None = None) -> int:
        return os.open(path, flags, mode, dir_fd=dir_fd)

    def close(self, fd: int) -> None:
        os.close(fd)

    def fstat(self, fd: int) -> os.stat_result:
        return os.fstat(fd)

    def stat(self, path: str, *, dir_fd: int | None = None,
             follow_symlinks: bool = True) -> os.stat_result:
        return os.stat(path, dir_fd=dir_fd, follow_symlinks=follow_symlinks)

    def mknod(self, name: str, mode: int, device: int, *, dir_fd: int) -> None:
        os.mknod(name, mode, device, dir_fd=dir_fd)

    def symlink(self, target: str, name: str, *, dir_fd: int) -> None:
        os.symlink(target, name, dir_fd=dir_fd)

    def chown(self, name: str, uid: int, gid: int, *, dir_fd: int) -> None:
        os.chown(name, uid, gid, dir_fd=dir_fd, follow_symlinks=False)

    def fchown(self, fd: int, uid: int, gid: int) -> None:
        os.fchown(fd, uid, gid)

    def unlink(self, name: str, *, dir_fd: int) -> None:
        os.unlink(name, dir_fd=dir_fd)

    def rmdir(self, name: str, *, dir_fd: int) -> None:
        os.rmdir(name, dir_fd=dir_fd)

    def umask(self, mask: int) -> int:
        return os.umask(mask)

    def fchdir(self, fd: int) -> None:
        os.fchdir(fd)

    def chdir(self, path: str) -> None:
        os.chdir(path)

    def readlink(self, path: str, *, dir_fd: int | None = None) -> str:
        return os.readlink(path, dir_fd=dir_fd)

    def write(self, fd: int, data: bytes) -> int:
        return os.write(fd, data)

    def dup(self, fd: int) -> int:
        return os.dup(fd)

    def resolve_in_root(self, root: str, path: str) -> str:
        from pyocijail import rootpath  # (in `preload`'s list)

        return rootpath.resolve(root, path)

    def openat2(self, dir_fd: int, path: str, flags: int, resolve: int) -> int:
        return libc.openat2(dir_fd, path, flags, resolve)

    def fstatfs_type(self, fd: int) -> int:
        return libc.fstatfs_type(fd)

    def list_symlinks(self, path: str) -> list[str]:
        return [e.name for e in os.scandir(path) if e.is_symlink()]

    def label_file(self, fd: int, label: str) -> None:
        from pyocijail.backends.linux import lsm  # (loaded by the plan, in R)

        lsm.label_file(fd, label)

    def loopback_up(self) -> None:
        from pyocijail.backends.linux import namespaces  # (in `preload`'s list)

        namespaces.loopback_up()


def copy_tree(src: int, dst: int) -> None:
    """Copy a directory's content between two directory fds (for tmpcopyup):
    modes, owners, times, symlinks and device nodes; hard links become copies."""
    for entry in os.scandir(src):
        name, st = entry.name, entry.stat(follow_symlinks=False)
        mode = st.st_mode
        if stat.S_ISDIR(mode):
            os.mkdir(name, 0o700, dir_fd=dst)
            flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
            s, d = os.open(name, flags, dir_fd=src), os.open(name, flags, dir_fd=dst)
            try:
                copy_tree(s, d)
                os.fchown(d, st.st_uid, st.st_gid)
                os.fchmod(d, stat.S_IMODE(mode))
            finally:
                os.close(s)
                os.close(d)
        elif stat.S_ISREG(mode):
            s = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=src)
            d = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                        | os.O_CLOEXEC, 0o600, dir_fd=dst)
            try:
                while os.sendfile(d, s, None, 1 << 30) > 0:
                    pass
                os.fchown(d, st.st_uid, st.st_gid)
                os.fchmod(d, stat.S_IMODE(mode))
            finally:
                os.close(s)
                os.close(d)
        elif stat.S_ISLNK(mode):
            os.symlink(os.readlink(name, dir_fd=src), name, dir_fd=dst)
            os.chown(name, st.st_uid, st.st_gid, dir_fd=dst, follow_symlinks=False)
        else:  # device, fifo, socket
            os.mknod(name, mode, st.st_rdev, dir_fd=dst)
            os.chown(name, st.st_uid, st.st_gid, dir_fd=dst, follow_symlinks=False)
        os.utime(name, ns=(st.st_atime_ns, st.st_mtime_ns), dir_fd=dst, follow_symlinks=False)
