"""Container ids are hostile input: they become directory and jail names."""

from pyocijail.errors import InvalidId

# runc's rule, minus what a jail name cannot carry: '.' separates parent and
# child jails on FreeBSD, so a dot in an id would name a different jail.
# That is [A-Za-z0-9][A-Za-z0-9_+-]*, checked without `re` (`state` must not
# pay for importing it).
_FIRST = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
_REST = _FIRST | frozenset("_+-")
MAX_ID = 200  # leaves room under NAME_MAX and MAXHOSTNAMELEN-style limits


def check_id(container_id: str) -> str:
    if not container_id:
        raise InvalidId(container_id, "empty")
    if len(container_id) > MAX_ID:
        raise InvalidId(container_id[:40] + "...", f"longer than {MAX_ID} characters")
    if container_id[0] not in _FIRST or not _REST.issuperset(container_id):
        raise InvalidId(container_id, "use letters, digits, '_', '+' and '-' only, "
                        "starting with a letter or digit")
    return container_id
