"""update: change a created, running or paused container's resource limits.

The resources come as a runtime-spec `linux.resources` object (runc's
`update --resources FILE|-`), with runc's single-value flags applied on top.
The backend writes them (Linux: the cgroup files); a backend without an
`update(state, resources)` method refuses, so callers see "not supported".
"""

from __future__ import annotations

from pyocijail.errors import ConfigError, PyocijailError
from pyocijail.state.status import check, compute

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pyocijail.lifecycle.context import Context
    from pyocijail.spec.model import Resources

_UNITS = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40,
          "p": 1 << 50}


def parse_bytes(text: str) -> int:
    """"512m", "1G", "1024", "-1" → bytes (runc's RAMInBytes units)."""
    value = text.strip().lower()
    if value == "-1":
        return -1
    for suffix in ("ib", "b"):
        stem = value[:-len(suffix)]
        if value.endswith(suffix) and stem and stem[-1].isalpha():
            value = stem
            break
    unit = value[-1:] if value[-1:].isalpha() else ""
    number = value[:-1] if unit else value
    try:
        amount = float(number)
    except ValueError:
        raise ConfigError(f"invalid size {text!r}") from None
    if unit not in _UNITS:
        raise ConfigError(f"invalid size {text!r}")
    return int(amount * _UNITS[unit])


def resources_from(data: dict[str, Any] | None, flags: dict[str, Any]) -> Resources:
    """A Resources value from a JSON object plus runc-style flag values (flags win)."""
    from pyocijail.spec.convert import structure
    from pyocijail.spec.model import Resources

    doc: dict[str, Any] = dict(data or {})
    if not isinstance(doc, dict):
        raise ConfigError("update: resources must be a JSON object")

    def put(section: str, key: str, value: Any) -> None:
        if value is not None:
            doc.setdefault(section, {})
            doc[section][key] = value

    put("blockIO", "weight", flags.get("blkio_weight"))
    put("cpu", "period", flags.get("cpu_period"))
    put("cpu", "quota", flags.get("cpu_quota"))
    put("cpu", "shares", flags.get("cpu_share"))
    put("cpu", "realtimePeriod", flags.get("cpu_rt_period"))
    put("cpu", "realtimeRuntime", flags.get("cpu_rt_runtime"))
    put("cpu", "cpus", flags.get("cpuset_cpus"))
    put("cpu", "mems", flags.get("cpuset_mems"))
    for flag, key in (("memory", "limit"), ("memory_reservation", "reservation"),
                      ("memory_swap", "swap"), ("kernel_memory", "kernel"),
                      ("kernel_memory_tcp", "kernelTCP")):
        if flags.get(flag) is not None:
            put("memory", key, parse_bytes(flags[flag]))
    put("pids", "limit", flags.get("pids_limit"))
    for rdt in ("l3_cache_schema", "mem_bw_schema"):
        if flags.get(rdt) is not None:
            raise ConfigError(f"update --{rdt.replace('_', '-')}: Intel RDT is not supported")
    from pyocijail.spec import schema

    # Hostile input like config.json: the same schema, then the model.
    schema.validate_config({"ociVersion": "1.0.0", "linux": {"resources": doc}},
                           what="resources")
    return structure(doc, Resources)


def update(ctx: Context, container_id: str, resources: Resources) -> None:
    with ctx.store.open(container_id) as cdir:
        record = cdir.read()
        check("update", compute(record, cdir))
        if not ctx.backend.supports_update:
            raise PyocijailError(f"update is not supported by the {ctx.backend.name} backend")
        ctx.backend.update(record.backend_state, resources)
