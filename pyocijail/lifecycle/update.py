"""update: change a container's resource limits (cgroups on Linux, rctl/cpuset on FreeBSD)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pyocijail.errors import ConfigError, PyocijailError
from pyocijail.state.status import check, compute

if TYPE_CHECKING:
    from pyocijail.lifecycle.context import Context


def read_resources(path: str, overrides: dict[str, Any]) -> Any:
    """`linux.resources` JSON from a file (or - for stdin) plus runc's flags."""
    import sys

    from pyocijail.spec import schema
    from pyocijail.spec.convert import structure
    from pyocijail.spec.load import parse_json
    from pyocijail.spec.model import Resources

    data: dict[str, Any] = {}
    if path:
        try:
            raw = sys.stdin.buffer.read() if path == "-" else open(path, "rb").read()
        except OSError as err:
            raise ConfigError(f"resources file {path}: {err.strerror}") from None
        data = parse_json(raw, "resources")
    for section, key, value in (("memory", "limit", overrides.get("memory")),
                                ("cpu", "quota", overrides.get("cpu_quota")),
                                ("cpu", "period", overrides.get("cpu_period")),
                                ("cpu", "shares", overrides.get("cpu_shares")),
                                ("cpu", "cpus", overrides.get("cpuset_cpus")),
                                ("pids", "limit", overrides.get("pids_limit"))):
        if value is not None:
            data.setdefault(section, {})[key] = value
    schema.validate_config({"ociVersion": "1.3.0", "linux": {"resources": data}},
                           what="resources")
    return structure(data, Resources)


def update(ctx: Context, container_id: str, resources: Any) -> None:
    with ctx.store.open(container_id) as cdir:
        record = cdir.read()
        check("update", compute(record, cdir))
        apply = getattr(ctx.backend, "update", None)
        if apply is None:
            raise PyocijailError(f"update is not supported by the {ctx.backend.name} backend")
        apply(record.backend_state, resources)
