# lean layer: a hot command loads this module; its imports keep pyocijail/lean.py's rules
"""Read-only views: `state` and `list`. No locks, no heavy imports (buildah polls)."""

from pyocijail.state.status import Status, compute

TYPE_CHECKING = False  # not `from typing import`: `state` must not pay for typing
if TYPE_CHECKING:
    from typing import Any

    from pyocijail.lifecycle.context import Context
    from pyocijail.state.record import Record
    from pyocijail.state.store import ContainerDir


def load(ctx: "Context", container_id: str) -> "tuple[ContainerDir, Record, Status]":
    cdir = ctx.store.open(container_id, lock=False)
    record = cdir.read()
    return cdir, record, compute(record, cdir)


def state(ctx: "Context", container_id: str) -> "dict[str, Any]":
    _, record, status = load(ctx, container_id)
    return record.oci_state(status.value)


def containers(ctx: "Context") -> "list[dict[str, Any]]":
    """One row per container; a broken state dir is listed, not fatal."""
    from pyocijail.errors import PyocijailError

    rows = []
    for cid in ctx.store.ids():
        try:
            _, record, status = load(ctx, cid)
        except PyocijailError:  # any: unreadable, untrusted or deleted meanwhile (runc skips too)
            continue
        row = record.oci_state(status.value)
        row["created"] = record.created
        row["rootfs"] = record.rootfs
        rows.append(row)
    return rows
