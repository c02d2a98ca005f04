"""Resolve and open paths *inside* a container root without ever leaving it.

A rootfs comes from an image, so any of its components may be a symlink
pointing at `/etc` or `../../..`. Every function here treats `root` as if it
were `/`: absolute symlink targets restart at `root`, `..` stops at `root`.
`root` itself is trusted (it is the bundle's rootfs, chosen by the caller).

Platform-neutral: nothing here imports a backend or looks at the platform.
`walk` does the resolution over a `View` (what each container path is), so
the FreeBSD planner can resolve against the rootfs overlaid with mounts it has
only planned; `resolve` walks the real tree. A caller whose kernel can do the
walk itself passes an `Opener`: the Linux backend's is openat2
RESOLVE_IN_ROOT (Linux >= 5.6), which also closes the check-then-use race.
(runj joined destinations with the rootfs path and let the host kernel
follow links.)
"""

from __future__ import annotations

import errno
import os
import stat

from pyocijail import values
from pyocijail.errors import KernelError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    #: `opener(root, path, flags)`: an fd of `path` inside `root` opened by the
    #: kernel's own in-root walk, or None where this kernel has none (the walk
    #: here is used then). Raises KernelError as `open_in_root` does.
    Opener = Callable[[str, str, int], "int | None"]

_MISSING = (errno.ENOENT, errno.ENOTDIR)
# O_PATH is Linux (and FreeBSD >= 13); a read-only open serves for directories.
_O_PATH = getattr(os, "O_PATH", os.O_RDONLY)


#: How many symlinks a walk follows before ELOOP (MAXSYMLINKS: Linux 40, FreeBSD 32).
MAXSYMLINKS_LINUX = 40
MAXSYMLINKS_FREEBSD = 32


def _split(path: str) -> list[str]:
    return [c for c in path.split("/") if c and c != "."]


Parts = tuple[str, ...]


@values.frozen
class Node:
    kind: str  # dir | file | link | missing | virtual | other
    target: str | None = None  # link target


if TYPE_CHECKING:  # a Protocol for the type checker only: typing costs `create` an import
    from typing import Protocol

    class View(Protocol):
        """What `walk` reads a tree through: any object with this method will do."""

        def node(self, parts: Parts) -> Node:
            """What the container path `/parts...` is; earlier parts are resolved dirs."""


class ResolveError(OSError):
    """A path cannot be resolved inside the root (ELOOP, ENOTDIR)."""


@values.frozen
class Resolution:
    parts: Parts  # resolved container path, components
    kind: str  # dir | file | other | missing | virtual
    missing: tuple[Parts, ...] = ()  # components to create, outermost first

    @property
    def path(self) -> str:
        return "/" + "/".join(self.parts)


def walk(dest: str, view: View, max_links: int = MAXSYMLINKS_LINUX) -> Resolution:
    """The real location of container path `dest`, following links inside the root."""
    todo = _split(dest)
    done: list[str] = []
    links = 0
    while todo:
        name = todo.pop(0)
        if name == "..":
            if done:  # clamped at the root
                done.pop()
            continue
        node = view.node((*done, name))
        if node.kind == "link":
            links += 1
            if links > max_links:
                raise ResolveError(errno.ELOOP, os.strerror(errno.ELOOP), dest)
            target = node.target or ""
            if target.startswith("/"):
                done = []  # re-rooted at the container root, never the host's
            todo = _split(target) + todo
            continue
        if node.kind in ("missing", "virtual"):
            parts = _lexical((*done, name), todo)
            if node.kind == "virtual":
                return Resolution(parts=parts, kind="virtual")
            first = len(done) + 1
            missing = tuple(parts[:i] for i in range(first, len(parts) + 1))
            return Resolution(parts=parts, kind="missing", missing=missing)
        if node.kind != "dir" and todo:
            raise ResolveError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), dest)
        done.append(name)
        if not todo:
            return Resolution(parts=tuple(done), kind=node.kind)
    return Resolution(parts=tuple(done), kind="dir")


def _lexical(head: Parts, rest: list[str]) -> Parts:
    """Append components that do not exist yet: no links there, `..` is textual."""
    out = list(head)
    for name in rest:
        if name == "..":
            if out:
                out.pop()
        else:
            out.append(name)
    return tuple(out)


class DirView:
    """A plain directory tree on this host (the rootfs, or a nullfs source)."""

    def __init__(self, root: str) -> None:
        self.root = root

    def node(self, parts: Parts) -> Node:
        return host_node(os.path.join(self.root, *parts))


def host_node(path: str, retries: int = 2) -> Node:
    """What `path` is now. A writer may swap it between the lstat and the readlink
    (the rootfs is the bundle's): then it is looked at again, and after `retries`
    more changes that is an error, never a traceback."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return Node("missing")
    except NotADirectoryError as err:
        raise ResolveError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), path) from err
    except OSError as err:  # ENAMETOOLONG, EACCES, ELOOP from the host: not a traceback
        raise ResolveError(err.errno, err.strerror, path) from err
    if stat.S_ISLNK(st.st_mode):
        try:
            return Node("link", os.readlink(path))
        except OSError as err:  # ENOENT, EINVAL: no longer a link
            if retries > 0:
                return host_node(path, retries - 1)
            raise ResolveError(err.errno, err.strerror, path) from err
    if stat.S_ISDIR(st.st_mode):
        return Node("dir")
    if stat.S_ISREG(st.st_mode):
        return Node("file")
    return Node("other")


def resolve(root: str, path: str, max_links: int = MAXSYMLINKS_LINUX) -> str:
    """Host path of `path` as seen from inside `root`; never outside `root`.

    Components that do not exist are appended literally (so the result can
    name something to create); `..` in such a tail is still clamped.
    """
    root = os.path.abspath(root)
    try:
        res = walk(path, DirView(root), max_links)
    except ResolveError as err:
        raise KernelError("resolve", err.errno, path) from None
    result = os.path.join(root, *res.parts)
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


def open_parent_beneath(anchor: str, path: str) -> tuple[int, str]:
    """An fd of `path`'s parent, reached from the trusted directory `anchor` one
    component at a time with O_NOFOLLOW, and `path`'s last component.

    For a path resolved earlier (by a plan): if any directory below `anchor` was
    swapped for a link since, this fails (ELOOP/ENOTDIR) instead of following it
    out of the tree. The caller closes the fd.
    """
    anchor = anchor.rstrip("/") or "/"
    if path != anchor and not path.startswith(anchor.rstrip("/") + "/"):
        raise KernelError("open", errno.EXDEV, path, f"not below {anchor}")
    parts = _split(path[len(anchor):])
    if not parts or any(c == ".." for c in parts):
        raise KernelError("open", errno.EINVAL, path, "no component below the anchor")
    root_fd = os.open(anchor, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        fd, walked = _walk_fd(root_fd, parts[:-1])
    finally:
        os.close(root_fd)
    if walked != len(parts) - 1:
        os.close(fd)
        raise KernelError("open", errno.ENOENT, path)
    return fd, parts[-1]


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


def ensure_mountpoint(root: str, path: str, *, directory: bool,
                      mode: int = 0o755, opener: Opener | None = None) -> list[str]:
    """`make_mountpoint` for callers that need only what was created.

    With an `opener` an existing mount point of the right kind (the usual case:
    the image's /proc, /dev, /sys) is found with one kernel walk (on Linux one
    openat2) instead of a walk here; anything else (missing, the wrong kind, an
    error) takes `make_mountpoint`, which creates it or fails with its usual words.
    """
    if opener is not None:
        try:
            fd = open_in_root(root, path, _O_PATH, opener)
        except KernelError:
            pass
        else:
            try:
                found_dir = stat.S_ISDIR(os.fstat(fd).st_mode)
            finally:
                os.close(fd)
            if found_dir == directory:
                return []
    return make_mountpoint(root, path, directory=directory, mode=mode)[1]


def open_in_root(root: str, path: str, flags: int, opener: Opener | None = None) -> int:
    """Open `path` inside `root`; the fd never refers to anything outside it.

    With an `opener` (Linux >= 5.6: openat2 RESOLVE_IN_ROOT, atomic against
    concurrent renames and symlinks) the kernel walks. Without one, or when it
    returns None (ENOSYS): resolve() then open with O_NOFOLLOW, and refuse a
    result that is a symlink (it was swapped in between the two steps).
    O_CLOEXEC is always added.
    """
    flags |= os.O_CLOEXEC
    if opener is not None:
        fd = opener(root, path, flags)
        if fd is not None:
            return fd
    host = resolve(root, path)
    try:
        fd = os.open(host, flags | os.O_NOFOLLOW)
    except OSError as e:
        raise KernelError("open", e.errno, path) from None
    if stat.S_ISLNK(os.fstat(fd).st_mode):  # O_PATH|O_NOFOLLOW opens the link itself
        os.close(fd)
        raise KernelError("open", errno.ELOOP, path)
    return fd


def remove_created(root: str, paths: list[str], opener: Opener | None = None) -> list[str]:
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
            pfd = open_in_root(root, parent or "/", _O_PATH | os.O_DIRECTORY, opener)
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
