# lean layer: a hot command loads this module; its imports keep pyocijail/lean.py's rules
"""Container ids are hostile input: they become directory and jail names."""

from pyocijail.errors import InvalidId

# runc's rule (letters, digits, '_', '+', '-', '.'; not "." or ".."), with two
# first characters refused: '-' (it would read as an option) and '.' (the
# state root's own entries start with one, e.g. kept seccomp programs; runc
# accepts ".x"). On FreeBSD a '.' separates parent and child jail names, so
# the jail of a dotted id is named with '_' for each '.' (`params.jail_name`).
# That is [A-Za-z0-9_+][A-Za-z0-9_+.-]*, checked without `re` (`state` must
# not pay for importing it).
_ALNUM = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
_FIRST = _ALNUM | frozenset("_+")
_REST = _FIRST | frozenset("-.")
MAX_ID = 200  # leaves room under NAME_MAX and MAXHOSTNAMELEN-style limits


def check_id(container_id: str) -> str:
    if not container_id:
        raise InvalidId(container_id, "empty")
    if len(container_id) > MAX_ID:
        raise InvalidId(container_id[:40] + "...", f"longer than {MAX_ID} characters")
    if container_id[0] not in _FIRST or not _REST.issuperset(container_id):
        raise InvalidId(container_id, "use letters, digits, '_', '+', '-' and '.' only, "
                        "not starting with '-' or '.'")
    return container_id
