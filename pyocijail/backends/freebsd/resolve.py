"""Resolve a mount destination inside a container root without escaping it.

Never trust a path inside the image: `/etc/hosts` may be a symlink to
`/../../host/etc/passwd`. The walk goes component by component, following
symlinks itself: absolute link targets restart at the container root, `..`
stops at the root, and more than MAXSYMLINKS links is ELOOP. (runj joined
destinations with the rootfs path and let the host kernel follow links.)

The walk is pure given a `View` (what a container path is: dir, file, link,
missing, or "virtual", a kernel file system whose content is not known
before it is mounted). Plan builds a view of the rootfs overlaid with the
mounts planned before (see `mounts.py`); nothing is created here.
"""

from __future__ import annotations

import errno
import os
import stat
from typing import Protocol

import attrs

#: sys/param.h MAXSYMLINKS on FreeBSD (Linux uses 40).
MAXSYMLINKS = 32

Parts = tuple[str, ...]


@attrs.frozen
class Node:
    kind: str  # dir | file | link | missing | virtual | other
    target: str | None = None  # link target


class View(Protocol):
    def node(self, parts: Parts) -> Node:
        """What the container path `/parts...` is; earlier parts are resolved dirs."""


class ResolveError(OSError):
    """The destination cannot be resolved (ELOOP, ENOTDIR)."""


@attrs.frozen
class Resolution:
    parts: Parts  # resolved container path, components
    kind: str  # dir | file | other | missing | virtual
    missing: tuple[Parts, ...] = ()  # components to create, outermost first

    @property
    def path(self) -> str:
        return "/" + "/".join(self.parts)


def split(path: str) -> list[str]:
    return [c for c in path.split("/") if c not in ("", ".")]


def resolve(dest: str, view: View) -> Resolution:
    """The real location of container path `dest`, following links inside the root."""
    todo = split(dest)
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
            if links > MAXSYMLINKS:
                raise ResolveError(errno.ELOOP, os.strerror(errno.ELOOP), dest)
            target = node.target or ""
            if target.startswith("/"):
                done = []  # re-rooted at the container root, never the host's
            todo = split(target) + todo
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


def host_node(path: str) -> Node:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return Node("missing")
    except NotADirectoryError as err:
        raise ResolveError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), path) from err
    except OSError as err:  # ENAMETOOLONG, EACCES, ELOOP from the host: not a traceback
        raise ResolveError(err.errno, err.strerror, path) from err
    if stat.S_ISLNK(st.st_mode):
        return Node("link", os.readlink(path))
    if stat.S_ISDIR(st.st_mode):
        return Node("dir")
    if stat.S_ISREG(st.st_mode):
        return Node("file")
    return Node("other")
