"""Resolve and open paths *inside* a container root without ever leaving it.

A rootfs comes from an image, so any of its components may be a symlink
pointing at `/etc` or `../../..`. Every function here treats `root` as if it
were `/`: absolute symlink targets restart at `root`, `..` stops at `root`.
`root` itself is trusted (it is the bundle's rootfs, chosen by the caller).

Platform-neutral; on Linux >= 5.6 `open_in_root` lets the kernel do the
walk (openat2 RESOLVE_IN_ROOT), which also closes the check-then-use race.
"""

from __future__ import annotations

import errno
import os
import stat
import sys

from pyocijail.errors import KernelError

_MISSING = (errno.ENOENT, errno.ENOTDIR)
# O_PATH is Linux (and FreeBSD >= 13); a read-only open serves for directories.
_O_PATH = getattr(os, "O_PATH", os.O_RDONLY)


def _split(path: str) -> list[str]:
    return [c for c in path.split("/") if c and c != "."]


def resolve(root: str, path: str, max_links: int = 40) -> str:
    """Host path of `path` as seen from inside `root`; never outside `root`.

    Components that do not exist are appended literally (so the result can
    name something to create); `..` in such a tail is still clamped.
    """
    root = os.path.abspath(root)
    done: list[str] = []  # resolved components below root; none is a symlink
    todo = _split(path)
    todo.reverse()  # a stack: next component last
    links = 0
    missing = False
    while todo:
        comp = todo.pop()
        if comp == "..":
            if done:
                done.pop()
            continue
        candidate = os.path.join(root, *done, comp)
        if missing:
            done.append(comp)
            continue
        try:
            st = os.lstat(candidate)
        except OSError as e:
            if e.errno in _MISSING:
                missing = True
                done.append(comp)
                continue
            raise KernelError("resolve", e.errno, path) from None
        if not stat.S_ISLNK(st.st_mode):
            done.append(comp)
            continue
        links += 1
        if links > max_links:
            raise KernelError("resolve", errno.ELOOP, path)
        target = os.readlink(candidate)
        if target.startswith("/"):
            done = []
        parts = _split(target)
        parts.reverse()
        todo.extend(parts)
    result = os.path.join(root, *done)
    if len(os.fsencode(result)) >= 4096:
        raise KernelError("resolve", errno.ENAMETOOLONG, path)
    return result


def _walk_fd(root_fd: int, parts: list[str]) -> tuple[int, int]:
    """Open each existing directory of `parts` with O_NOFOLLOW from root_fd.

    Returns (fd of the deepest existing directory, number of parts consumed).
    A symlink met here was planted after resolve(): ELOOP/ENOTDIR ends the walk.
    """
    fd = os.dup(root_fd)
    for i, comp in enumerate(parts):
        try:
            nxt = os.open(comp, _O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC,
                          dir_fd=fd)
        except FileNotFoundError:
            return fd, i
        except OSError:
            os.close(fd)
            raise
        os.close(fd)
        fd = nxt
    return fd, len(parts)


def make_mountpoint(root: str, path: str, *, directory: bool,
                    mode: int = 0o755) -> tuple[str, list[str]]:
    """Make `path` exist inside `root` as a directory (or an empty file).

    Creates one level at a time, re-resolving the whole path after each step,
    and creates with *at() calls relative to a directory opened O_NOFOLLOW,
    so a symlink swapped in mid-way cannot redirect a mkdir outside `root`.
    Returns the host path and the host paths created (deepest last), for undo.
    The process umask applies to `mode`, as for mkdir(2).
    """
    root = os.path.abspath(root)
    created: list[str] = []
    root_fd = os.open(root, _O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for _attempt in range(4096):
            host = resolve(root, path)
            rel = _split(os.path.relpath(host, root)) if host != root else []
            try:
                st = os.lstat(host)
            except FileNotFoundError:
                st = None
            except NotADirectoryError:
                raise KernelError("mkdir", errno.ENOTDIR, path) from None
            if st is not None and not stat.S_ISLNK(st.st_mode):
                if directory and not stat.S_ISDIR(st.st_mode):
                    raise KernelError("mkdir", errno.ENOTDIR, path)
                if not directory and stat.S_ISDIR(st.st_mode):
                    raise KernelError("create", errno.EISDIR, path)
                return host, created
            if st is not None:  # a symlink appeared after resolve(): start over
                continue
            try:
                parent_fd, depth = _walk_fd(root_fd, rel[:-1])
            except OSError as e:
                if e.errno in (errno.ELOOP, errno.ENOTDIR):
                    continue  # raced with a symlink or a file: re-resolve
                raise KernelError("mkdir", e.errno, path) from None
            try:
                name = rel[depth]  # depth <= len(rel) - 1: host itself is missing
                last = depth == len(rel) - 1
                step = os.path.join(root, *rel[:depth + 1])
                try:
                    if last and not directory:
                        fd = os.open(name, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW
                                     | os.O_CLOEXEC, 0o644, dir_fd=parent_fd)
                        os.close(fd)
                    else:
                        os.mkdir(name, mode, dir_fd=parent_fd)
                except FileExistsError:
                    continue  # someone else made it; re-resolve decides
                except OSError as e:
                    raise KernelError("mkdir", e.errno, step) from None
                created.append(step)
            finally:
                os.close(parent_fd)
        raise KernelError("mkdir", errno.ELOOP, path)
    finally:
        os.close(root_fd)


def open_in_root(root: str, path: str, flags: int) -> int:
    """Open `path` inside `root`; the fd never refers to anything outside it.

    Linux >= 5.6: one openat2(RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS) call on an
    O_PATH fd of root, atomic against concurrent renames/symlinks. Elsewhere
    (or on ENOSYS): resolve() then open with O_NOFOLLOW, and refuse a result
    that is a symlink (it was swapped in between the two steps).
    O_CLOEXEC is always added.
    """
    flags |= os.O_CLOEXEC
    if sys.platform.startswith("linux"):
        from pyocijail.backends.linux import libc

        root_fd = os.open(root, _O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            for _attempt in range(32):
                try:
                    return libc.openat2(root_fd, path, flags,
                                        libc.RESOLVE_IN_ROOT | libc.RESOLVE_NO_MAGICLINKS)
                except KernelError as e:
                    # EAGAIN: a rename or mount raced with a ".." step; retry.
                    if e.errno != errno.EAGAIN:
                        if e.errno != errno.ENOSYS:
                            raise
                        break
            else:
                raise KernelError("open", errno.EAGAIN, path)
        finally:
            os.close(root_fd)
    host = resolve(root, path)
    try:
        fd = os.open(host, flags | os.O_NOFOLLOW)
    except OSError as e:
        raise KernelError("open", e.errno, path) from None
    if stat.S_ISLNK(os.fstat(fd).st_mode):  # O_PATH|O_NOFOLLOW opens the link itself
        os.close(fd)
        raise KernelError("open", errno.ELOOP, path)
    return fd


def remove_created(root: str, paths: list[str]) -> list[str]:
    """Undo make_mountpoint: remove `paths` (host paths under `root`), deepest first.

    Only empty directories and empty regular files are removed, each through
    a parent opened with open_in_root, so a container that replaced a parent
    with a symlink cannot make this delete anything outside `root`. Missing
    or non-empty entries are left alone. Returns the paths actually removed.
    """
    root = os.path.abspath(root)
    removed = []
    for path in sorted(set(paths), key=lambda p: p.count("/"), reverse=True):
        rel = os.path.relpath(path, root)
        if rel == "." or rel.startswith("../") or rel == "..":
            continue
        parent, name = os.path.split(rel)
        try:
            pfd = open_in_root(root, parent or "/", _O_PATH | os.O_DIRECTORY)
        except KernelError:
            continue
        try:
            st = os.stat(name, dir_fd=pfd, follow_symlinks=False)
            if stat.S_ISDIR(st.st_mode):
                os.rmdir(name, dir_fd=pfd)
            elif stat.S_ISREG(st.st_mode) and st.st_size == 0:
                os.unlink(name, dir_fd=pfd)
            else:
                continue
            removed.append(path)
        except OSError as e:
            if e.errno not in (errno.ENOENT, errno.ENOTEMPTY, errno.EBUSY):
                raise KernelError("remove", e.errno, path) from None
        finally:
            os.close(pfd)
    return removed
