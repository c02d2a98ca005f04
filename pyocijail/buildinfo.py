# lean layer: a hot command loads this module; its imports keep pyocijail/lean.py's rules
"""Which commit this copy of pyocijail is, for `--version` (runc prints its commit).

A packager bakes it in as `pyocijail/_build.py` (`COMMIT = "..."`). Otherwise
it is read from the git checkout the package runs from, by reading files, not
by running git: `.git` is a directory, or in a worktree a file naming one;
the branch's ref is a loose file there or in the common directory, or a line
of packed-refs.
"""

from pyocijail import pathlite  # not os: --version is a hot command

HEX = frozenset("0123456789abcdef")


def commit() -> str:
    """The first 12 hex digits of the commit, or "unknown"."""
    try:
        from pyocijail._build import COMMIT  # type: ignore[import-not-found]

        return str(COMMIT)
    except ImportError:
        pass
    checkout = pathlite.dirname(pathlite.dirname(pathlite.abspath(__file__)))
    head = checkout_commit(checkout)
    return head[:12] if head else "unknown"


def checkout_commit(checkout: str) -> str | None:
    """The full commit id HEAD names in the git checkout at `checkout`, or None."""
    gitdir = pathlite.join(checkout, ".git")
    try:
        if pathlite.isfile(gitdir):  # a worktree (or submodule): "gitdir: <path>"
            text = _read(gitdir)
            if not text.startswith("gitdir: "):
                return None
            gitdir = pathlite.join(checkout, text[len("gitdir: "):])
        head = _read(pathlite.join(gitdir, "HEAD"))
        if not head.startswith("ref: "):
            return head if _is_id(head) else None
        ref = head[len("ref: "):]
        common = gitdir
        if pathlite.isfile(pathlite.join(gitdir, "commondir")):
            common = pathlite.join(gitdir, _read(pathlite.join(gitdir, "commondir")))
        for base in (gitdir, common):
            try:
                found = _read(pathlite.join(base, ref))
            except FileNotFoundError:
                continue
            return found if _is_id(found) else None
        return _packed(pathlite.join(common, "packed-refs"), ref)
    except (OSError, UnicodeDecodeError):
        return None


def _packed(path: str, ref: str) -> str | None:
    for line in _read(path).splitlines():
        object_id, _, name = line.partition(" ")
        if name == ref and _is_id(object_id):
            return object_id
    return None


def _read(path: str) -> str:
    with open(path, encoding="utf-8") as f:
        return f.read().strip()


def _is_id(text: str) -> bool:
    return len(text) in (40, 64) and set(text) <= HEX
