# lean layer: a hot command loads this module; its imports keep pyocijail/lean.py's rules
"""The os.path functions pyocijail's hot commands use, on `posix` alone.

`import os` costs every call about 2 ms here (it builds `_collections_abc`'s
ABCs), as much as the whole work of `state`. The modules the hot commands
load (`state`, `start`, `kill`, `delete`, `list`) use `posix` and these
instead; tests/unit/test_import_budget.py keeps `os` off those commands.
Each function answers exactly what its os.path namesake does.
"""

import posix

_S_IFMT, _S_IFDIR, _S_IFREG, _S_IFLNK = 0o170000, 0o040000, 0o100000, 0o120000


def _type(path: str, follow: bool = True) -> int | None:
    """The file type bits of `path`, None if it cannot be stat'ed."""
    try:
        st = posix.stat(path) if follow else posix.lstat(path)
    except (OSError, ValueError):
        return None
    return st.st_mode & _S_IFMT


def exists(path: str) -> bool:
    return _type(path) is not None


def lexists(path: str) -> bool:
    return _type(path, follow=False) is not None


def isdir(path: str) -> bool:
    return _type(path) == _S_IFDIR


def isfile(path: str) -> bool:
    return _type(path) == _S_IFREG


def ismount(path: str) -> bool:
    """A mount point: another device than its parent's, or the root itself."""
    try:
        st = posix.lstat(path)
        if st.st_mode & _S_IFMT == _S_IFLNK:
            return False
        parent = posix.lstat(f"{path.rstrip('/')}/..")
    except (OSError, ValueError):
        return False
    return st.st_dev != parent.st_dev or st.st_ino == parent.st_ino


def join(head: str, tail: str) -> str:
    """os.path.join of two parts: an absolute `tail` replaces `head`."""
    if tail.startswith("/") or not head:
        return tail if tail.startswith("/") else head + tail
    return head + tail if head.endswith("/") else f"{head}/{tail}"


def dirname(path: str) -> str:
    head = path[:path.rfind("/") + 1]
    return head.rstrip("/") or head


def basename(path: str) -> str:
    return path[path.rfind("/") + 1:]


def abspath(path: str) -> str:
    """Without importing os when `path` is absolute and normal already (every
    --root callers pass, and the default)."""
    parts = path.split("/")
    if path.startswith("/") and "" not in parts[1:] and "." not in parts and ".." not in parts:
        return path
    import posixpath

    return posixpath.abspath(path)
