"""What a container's cgroup says about it: runc's stats shape and OOM kills.

For `events` (runc's `types.Stats`: cpu, memory, pids, blkio, with runc's
JSON field names) and for create, which explains an init that the memory
limit killed while it started. Only reads files; every file may be missing
(a controller not mounted, an older kernel): a missing value is left out or
zero, as in runc's `omitempty` fields.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

    from pyocijail.backends.linux.cgroups import Cgroup

#: what v1 reports for "no limit" is the page-rounded LONG_MAX; v2 writes "max"
UNLIMITED = 2**64 - 1


def _read(directory: str, name: str) -> str | None:
    try:
        with open(f"{directory}/{name}", encoding="ascii") as f:
            return f.read()
    except (OSError, UnicodeDecodeError):
        return None


def _number(directory: str, name: str) -> int:
    text = _read(directory, name)
    if text is None:
        return 0
    text = text.strip()
    if text == "max":
        return UNLIMITED
    return int(text) if text.isdigit() else 0


def _keyed(directory: str, name: str) -> dict[str, int]:
    """A flat-keyed file (`key value` lines: memory.stat, cpu.stat, memory.events)."""
    result = {}
    for line in (_read(directory, name) or "").splitlines():
        key, _, value = line.partition(" ")
        if value.strip().isdigit():
            result[key] = int(value)
    return result


def _dir(groups: Iterable[Cgroup], controller: str) -> tuple[str, int] | None:
    """The directory that holds `controller`'s files, and its hierarchy's version:
    a v1 hierarchy of that controller first (on a hybrid host the unified one
    has none), else the v2 group ("io" for blkio; cpu.stat is always there)."""
    groups = tuple(groups)
    for g in groups:
        if g.version == 1 and g.has(controller):
            return g.dir, 1
    v2_name = "io" if controller == "blkio" else controller
    for g in groups:
        if g.version == 2 and (g.has(v2_name) or controller == "cpu"):
            return g.dir, 2
    return None


# --- OOM ---------------------------------------------------------------------------------

def oom_kills(groups: Iterable[Cgroup]) -> int:
    """How many processes the memory limit's OOM killer took in this cgroup."""
    found = _dir(groups, "memory")
    if found is None:
        return 0
    directory, version = found
    name = "memory.events" if version == 2 else "memory.oom_control"
    return _keyed(directory, name).get("oom_kill", 0)


def oom_explanation(groups: Iterable[Cgroup]) -> str | None:
    """Why an init died before it was ready, when the memory limit killed it.

    runc applies the limit after its init joined the cgroup and says `unable to
    set memory limit to N (current usage: M, peak usage: P)`; here the limit is
    in place first, so the kernel's OOM killer takes the init instead: say so
    with the same numbers."""
    groups = tuple(groups)
    kills = oom_kills(groups)
    if not kills:
        return None
    directory, version = _dir(groups, "memory") or ("", 0)
    if version == 2:
        limit, usage = _number(directory, "memory.max"), _number(directory, "memory.current")
        peak, where = _number(directory, "memory.peak"), "memory.events"
    else:
        limit = _number(directory, "memory.limit_in_bytes")
        usage = _number(directory, "memory.usage_in_bytes")
        peak, where = _number(directory, "memory.max_usage_in_bytes"), "memory.oom_control"
    return (f"container init was killed by the memory limit while it started: memory limit "
            f"{limit} (current usage: {usage}, peak usage: {peak}; oom_kill {kills} in {where})")


# --- stats ---------------------------------------------------------------------------------

def stats(groups: Iterable[Cgroup]) -> dict[str, Any]:
    """runc's `types.Stats` for the cgroup: cpu, memory, pids, blkio."""
    groups = tuple(groups)
    return {"cpu": _cpu(groups), "memory": _memory(groups), "pids": _pids(groups),
            "blkio": _blkio(groups)}


def _drop_zero(entry: dict[str, Any], keep: tuple[str, ...] = ()) -> dict[str, Any]:
    """runc's `omitempty`: zero and empty fields are left out, except `keep`."""
    return {k: v for k, v in entry.items() if v or k in keep}


def _cpu(groups: tuple[Cgroup, ...]) -> dict[str, Any]:
    usage: dict[str, Any] = {"total": 0, "percpu": [], "kernel": 0, "user": 0}
    throttling = {"periods": 0, "throttledPeriods": 0, "throttledTime": 0}
    found = _dir(groups, "cpu")
    if found is not None and found[1] == 2:
        st = _keyed(found[0], "cpu.stat")  # microseconds
        usage.update(total=st.get("usage_usec", 0) * 1000,
                     kernel=st.get("system_usec", 0) * 1000, user=st.get("user_usec", 0) * 1000)
        throttling.update(periods=st.get("nr_periods", 0),
                          throttledPeriods=st.get("nr_throttled", 0),
                          throttledTime=st.get("throttled_usec", 0) * 1000)
    else:
        acct = _dir(groups, "cpuacct")
        if acct is not None:
            usage["total"] = _number(acct[0], "cpuacct.usage")
            usage["percpu"] = [int(w) for w in (_read(acct[0], "cpuacct.usage_percpu")
                                                or "").split() if w.isdigit()]
            ticks = _keyed(acct[0], "cpuacct.stat")  # USER_HZ ticks: runc gives nanoseconds
            hz = os.sysconf("SC_CLK_TCK")
            usage.update(kernel=ticks.get("system", 0) * 1_000_000_000 // hz,
                         user=ticks.get("user", 0) * 1_000_000_000 // hz)
        if found is not None:
            st = _keyed(found[0], "cpu.stat")
            throttling.update(periods=st.get("nr_periods", 0),
                              throttledPeriods=st.get("nr_throttled", 0),
                              throttledTime=st.get("throttled_time", 0))
    return {"usage": _drop_zero(usage, keep=("kernel", "user")),
            "throttling": _drop_zero(throttling)}


def _memory_entry(limit: int, usage: int, peak: int, failcnt: int) -> dict[str, int]:
    return _drop_zero({"limit": limit, "usage": usage, "max": peak, "failcnt": failcnt},
                      keep=("limit", "failcnt"))


def _memory(groups: tuple[Cgroup, ...]) -> dict[str, Any]:
    found = _dir(groups, "memory")
    if found is None:
        return {}
    d, version = found
    raw = _keyed(d, "memory.stat")
    if version == 2:
        events = _keyed(d, "memory.events")
        memory: dict[str, Any] = {
            "cache": raw.get("file", 0),
            "usage": _memory_entry(_number(d, "memory.max"), _number(d, "memory.current"),
                                   _number(d, "memory.peak"), events.get("max", 0)),
            "swap": _memory_entry(_number(d, "memory.swap.max"),
                                  _number(d, "memory.swap.current"), 0, 0)}
    else:
        def entry(prefix: str) -> dict[str, int]:
            return _memory_entry(_number(d, prefix + "limit_in_bytes"),
                                 _number(d, prefix + "usage_in_bytes"),
                                 _number(d, prefix + "max_usage_in_bytes"),
                                 _number(d, prefix + "failcnt"))

        memory = {"cache": raw.get("cache", 0), "usage": entry("memory."),
                  "swap": entry("memory.memsw."), "kernel": entry("memory.kmem."),
                  "kernelTCP": entry("memory.kmem.tcp.")}
    memory["raw"] = raw
    return _drop_zero(memory, keep=("usage",))


def _pids(groups: tuple[Cgroup, ...]) -> dict[str, int]:
    found = _dir(groups, "pids")
    if found is None:
        return {}
    limit = _number(found[0], "pids.max")
    return _drop_zero({"current": _number(found[0], "pids.current"),
                       "limit": 0 if limit == UNLIMITED else limit})  # runc: 0 = no limit


def _blkio(groups: tuple[Cgroup, ...]) -> dict[str, Any]:
    found = _dir(groups, "blkio")
    if found is None:
        return {}
    d, version = found
    if version == 2:
        return _io_stat(d)
    result = {}
    # runc reads the CFQ files and falls back to the throttle ones (always present)
    for key, name in (("ioServiceBytesRecursive", "io_service_bytes_recursive"),
                      ("ioServicedRecursive", "io_serviced_recursive")):
        text = _read(d, f"blkio.{name}")
        entries = _blkio_entries(text or "")
        if not entries:
            entries = _blkio_entries(_read(d, f"blkio.throttle.{name}") or "")
        if entries:
            result[key] = entries
    return result


def _blkio_entries(text: str) -> list[dict[str, Any]]:
    """`MAJ:MIN Op VALUE` lines (the `Total` line is not an entry)."""
    entries = []
    for line in text.splitlines():
        words = line.split()
        if len(words) != 3 or ":" not in words[0] or not words[2].isdigit():
            continue
        major, _, minor = words[0].partition(":")
        entries.append(_drop_zero({"major": int(major), "minor": int(minor), "op": words[1],
                                   "value": int(words[2])}))
    return entries


def _io_stat(d: str) -> dict[str, Any]:
    """v2 io.stat (`MAJ:MIN rbytes=.. wbytes=.. rios=.. wios=..`) as runc maps it."""
    service_bytes: list[dict[str, Any]] = []
    serviced: list[dict[str, Any]] = []
    for line in (_read(d, "io.stat") or "").splitlines():
        words = line.split()
        if not words or ":" not in words[0]:
            continue
        major, _, minor = words[0].partition(":")
        fields = dict(w.partition("=")[::2] for w in words[1:])
        for key, op, into in (("rbytes", "Read", service_bytes), ("wbytes", "Write", service_bytes),
                              ("rios", "Read", serviced), ("wios", "Write", serviced)):
            if fields.get(key, "").isdigit():
                into.append(_drop_zero({"major": int(major), "minor": int(minor), "op": op,
                                        "value": int(fields[key])}))
    return _drop_zero({"ioServiceBytesRecursive": service_bytes,
                       "ioServicedRecursive": serviced})
