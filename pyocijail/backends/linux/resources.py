"""`linux.resources` → writes to cgroup files, for v1 and v2 (create and update).

`writes(resources, groups)` is pure: it returns the ordered list of
(directory, file, value) a set of resources means for the container's
directories, or raises ConfigError for what this host cannot honour (a
controller that is not mounted, a v1-only setting on v2, ...). `apply`
performs the list; a file the kernel lacks (blkio.weight without BFQ/CFQ)
fails with a message naming it.

Divergences, as documented for runc 1.1:
- `memory.kernel` is deprecated and ignored with a warning (kernels >= 5.16
  refuse kmem limits; runc 1.1 ignores them too).
- The device rules are followed by runc's default allow list (null, zero,
  full, random, urandom, tty, console, ptmx, pts/*, tun, and mknod of any
  char or block device), and each `linux.devices` entry is allowed `rwm`.
- Where the device rules go (`device_target`): a v1 `devices` controller, when
  the host has one (v1 and hybrid hosts: the unified hierarchy of a hybrid host
  gets no device program), else the container's cgroup2 directory, as an eBPF
  program (`devicefilter`, the plan's `device_filter`). The environment
  variable PYOCIJAIL_DEVICE_FILTER=bpf picks the cgroup2 directory even on a
  hybrid host, to test or debug the eBPF path there.
- `update` with device rules: a new eBPF program replaces the old on cgroup v2;
  refused on v1 (a v1 cgroup would have to pass through deny-all first).
"""

from __future__ import annotations

import os

from pyocijail.backends.linux import cgroupdirs
from pyocijail.backends.linux.cgroups import Cgroup
from pyocijail.errors import ConfigError, KernelError
from pyocijail.spec import model

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from typing import Any

#: runc's AllowedDevices: (type, major, minor, access); -1 is "*".
DEFAULT_DEVICE_RULES = (
    ("c", -1, -1, "m"), ("b", -1, -1, "m"),
    ("c", 1, 3, "rwm"), ("c", 1, 8, "rwm"), ("c", 1, 7, "rwm"), ("c", 5, 0, "rwm"),
    ("c", 1, 5, "rwm"), ("c", 1, 9, "rwm"), ("c", 5, 1, "rwm"), ("c", 136, -1, "rwm"),
    ("c", 5, 2, "rwm"), ("c", 10, 200, "rwm"),
)

Write = tuple[str, str, str]  # (directory, file, value)
RulePair = tuple[bool, str]  # (allow, "type major:minor access"), as device_rules gives
DEVICE_FILTER_ENV = "PYOCIJAIL_DEVICE_FILTER"


def _num(n: int | None) -> str:
    return "*" if n is None or n < 0 else str(n)


def device_rules(rules: Sequence[model.DeviceRule], devices: Sequence[model.Device],
                 defaults: bool = True) -> list[tuple[bool, str]]:
    """(allow, "type major:minor access") in the order the kernel must see them."""
    out = []
    for r in rules:
        kind = r.type or "a"
        if kind not in ("a", "c", "b"):
            raise ConfigError(f"linux.resources.devices: unknown type {kind!r}")
        access = r.access or "rwm"
        if not access or set(access) - set("rwm"):
            raise ConfigError(f"linux.resources.devices: bad access {access!r}")
        text = "a" if kind == "a" else f"{kind} {_num(r.major)}:{_num(r.minor)} {access}"
        out.append((r.allow, text))
    if defaults:
        for kind, major, minor, access in DEFAULT_DEVICE_RULES:
            out.append((True, f"{kind} {_num(major)}:{_num(minor)} {access}"))
        for d in devices:
            if d.type in ("c", "u", "b"):
                kind = "b" if d.type == "b" else "c"
                out.append((True, f"{kind} {_num(d.major)}:{_num(d.minor)} rwm"))
    return out


def _find(groups: Sequence[Cgroup], controller: str, what: str) -> Cgroup:
    for g in groups:
        if g.has(controller):
            return g
    raise ConfigError(f"{what}: the {controller} controller is not available on this host")


def _v2(g: Cgroup) -> bool:
    return g.version == 2


def writes(res: model.Resources | None, groups: Sequence[Cgroup],
           devices: Sequence[model.Device] = (), *, update: bool = False,
           log: Any = None) -> list[Write]:
    """Every file write `res` needs, in order; ConfigError for what cannot be done."""
    if res is None:
        return []
    out: list[Write] = []
    _memory(res.memory, groups, out, log)
    _cpu(res.cpu, groups, out)
    if res.pids is not None and res.pids.limit is not None:
        g = _find(groups, "pids", "linux.resources.pids")
        out.append((g.dir, "pids.max", "max" if res.pids.limit <= 0 else str(res.pids.limit)))
    _blkio(res.block_io, groups, out)
    for h in res.hugepage_limits:
        g = _find(groups, "hugetlb", "linux.resources.hugepageLimits")
        name = f"hugetlb.{h.page_size}.max" if _v2(g) else f"hugetlb.{h.page_size}.limit_in_bytes"
        out.append((g.dir, name, str(h.limit)))
    if res.devices:
        kind, g = device_target(groups)
        if kind == "v1" and update:
            raise ConfigError("update: device rules cannot be changed on cgroup v1")
        if kind == "v1":
            for allow, text in device_rules(res.devices, devices):
                out.append((g.dir, "devices.allow" if allow else "devices.deny", text))
        # v2: no file; `device_filter` gives the eBPF program's rules
    if res.unified:
        v2 = next((g for g in groups if _v2(g)), None)
        if v2 is None:
            raise ConfigError("linux.resources.unified: needs a cgroup v2 hierarchy")
        for key, value in sorted(res.unified.items()):
            if "/" in key or key.startswith(".") or "." not in key:
                raise ConfigError(f"linux.resources.unified: bad key {key!r}")
            out.append((v2.dir, key, value))
    return out


def device_target(groups: Sequence[Cgroup]) -> tuple[str, Cgroup]:
    """Where device rules go: ("v1", the devices cgroup) or ("v2", the cgroup2 directory)."""
    v1 = next((g for g in groups if g.has("devices") and not _v2(g)), None)
    v2 = next((g for g in groups if _v2(g)), None)
    forced = os.environ.get(DEVICE_FILTER_ENV, "")
    if forced not in ("", "auto", "bpf"):
        raise ConfigError(f"{DEVICE_FILTER_ENV}={forced!r}: expected 'auto' or 'bpf'")
    if v1 is not None and forced != "bpf":
        return "v1", v1
    if v2 is not None:
        return "v2", v2
    raise ConfigError("linux.resources.devices: needs the cgroup v1 devices controller or "
                      "a cgroup v2 hierarchy" + (f" ({DEVICE_FILTER_ENV}=bpf)" if forced else ""))


def device_filter(res: model.Resources | None, groups: Sequence[Cgroup],
                  devices: Sequence[model.Device] = (),
                  tail: Sequence[RulePair] | None = None
                  ) -> tuple[str, tuple[RulePair, ...]] | None:
    """(cgroup2 directory, rules) of the eBPF device program `res` needs; None
    without device rules or where v1 takes them. `tail` (for update) replaces
    what device_rules appends after the config's rules (defaults, linux.devices)."""
    if res is None or not res.devices:
        return None
    kind, g = device_target(groups)
    if kind != "v2":
        return None
    if tail is None:
        rules = device_rules(res.devices, devices)
    else:
        rules = device_rules(res.devices, (), defaults=False) + list(tail)
    from pyocijail.backends.linux import devicefilter

    devicefilter.parse(rules)  # every rule readable before any side effect
    return g.dir, tuple(rules)


def _memory(mem: model.Memory | None, groups: Sequence[Cgroup], out: list[Write],  # noqa: C901 - one branch per field, v1 and v2
            log: Any) -> None:
    if mem is None:
        return
    fields = [mem.limit, mem.reservation, mem.swap, mem.kernel_tcp, mem.swappiness,
              mem.disable_oom_killer, mem.use_hierarchy]
    if all(f is None for f in fields):
        if mem.kernel is not None and log is not None:
            log.warn("linux.resources.memory.kernel is deprecated and ignored (as runc)")
        return
    g = _find(groups, "memory", "linux.resources.memory")
    if mem.kernel is not None and log is not None:
        log.warn("linux.resources.memory.kernel is deprecated and ignored (as runc)")
    d = g.dir
    if _v2(g):
        for name, value in (("kernelTCP", mem.kernel_tcp), ("swappiness", mem.swappiness),
                            ("disableOOMKiller", mem.disable_oom_killer),
                            ("useHierarchy", mem.use_hierarchy)):
            if value is not None:
                raise ConfigError(f"linux.resources.memory.{name}: not supported on cgroup v2")
        if mem.reservation is not None:
            out.append((d, "memory.low", _max(mem.reservation)))
        if mem.limit is not None:
            out.append((d, "memory.max", _max(mem.limit)))
        if mem.swap is not None:
            if mem.swap <= 0 or mem.limit is None or mem.limit <= 0:
                swap = _max(mem.swap)
            elif mem.swap < mem.limit:
                raise ConfigError("linux.resources.memory.swap must not be below limit")
            else:
                swap = str(mem.swap - mem.limit)  # v1's swap is memory+swap
            out.append((d, "memory.swap.max", swap))
        return
    if mem.use_hierarchy is not None:
        out.append((d, "memory.use_hierarchy", "1" if mem.use_hierarchy else "0"))
    if mem.swap is not None and mem.limit is not None and 0 < mem.swap < mem.limit:
        raise ConfigError("linux.resources.memory.swap must not be below limit")
    # memory.memsw >= memory.limit at every moment: the order is decided by `apply`
    if mem.limit is not None:
        out.append((d, "memory.limit_in_bytes", _v1(mem.limit)))
    if mem.swap is not None:
        out.append((d, "memory.memsw.limit_in_bytes", _v1(mem.swap)))
    if mem.reservation is not None:
        out.append((d, "memory.soft_limit_in_bytes", _v1(mem.reservation)))
    if mem.kernel_tcp is not None:
        out.append((d, "memory.kmem.tcp.limit_in_bytes", _v1(mem.kernel_tcp)))
    if mem.swappiness is not None:
        if not 0 <= mem.swappiness <= 100:
            raise ConfigError(f"linux.resources.memory.swappiness {mem.swappiness}: 0-100")
        out.append((d, "memory.swappiness", str(mem.swappiness)))
    if mem.disable_oom_killer:
        out.append((d, "memory.oom_control", "1"))


def _v1(n: int) -> str:
    return "-1" if n < 0 else str(n)


def _max(n: int) -> str:
    return "max" if n < 0 else str(n)


def _cpu(cpu: model.Cpu | None, groups: Sequence[Cgroup], out: list[Write]) -> None:  # noqa: C901 - one branch per field, v1 and v2
    if cpu is None:
        return
    wants_cpu = any(v is not None for v in (cpu.shares, cpu.quota, cpu.period, cpu.burst,
                                             cpu.realtime_runtime, cpu.realtime_period,
                                             cpu.idle))
    if wants_cpu:
        g = _find(groups, "cpu", "linux.resources.cpu")
        d = g.dir
        if _v2(g):
            if cpu.realtime_runtime is not None or cpu.realtime_period is not None:
                raise ConfigError("linux.resources.cpu.realtime*: not supported on cgroup v2")
            if cpu.shares:
                weight = 1 + ((cpu.shares - 2) * 9999) // 262142
                out.append((d, "cpu.weight", str(max(1, min(weight, 10000)))))
            if cpu.quota is not None or cpu.period is not None:
                quota = "max" if cpu.quota is None or cpu.quota <= 0 else str(cpu.quota)
                out.append((d, "cpu.max", f"{quota} {cpu.period or 100000}"))
            if cpu.burst is not None:
                out.append((d, "cpu.max.burst", str(cpu.burst)))
        else:
            if cpu.shares:
                out.append((d, "cpu.shares", str(cpu.shares)))
            if cpu.period:
                out.append((d, "cpu.cfs_period_us", str(cpu.period)))
            if cpu.quota is not None:
                out.append((d, "cpu.cfs_quota_us", "-1" if cpu.quota <= 0 else str(cpu.quota)))
            if cpu.burst is not None:
                out.append((d, "cpu.cfs_burst_us", str(cpu.burst)))
            if cpu.realtime_period:
                out.append((d, "cpu.rt_period_us", str(cpu.realtime_period)))
            if cpu.realtime_runtime is not None:
                out.append((d, "cpu.rt_runtime_us", str(cpu.realtime_runtime)))
        if cpu.idle is not None:
            out.append((d, "cpu.idle", str(cpu.idle)))
    for name, value in (("cpus", cpu.cpus), ("mems", cpu.mems)):
        if value:
            g = _find(groups, "cpuset", f"linux.resources.cpu.{name}")
            out.append((g.dir, f"cpuset.{name}", value))


def _blkio(bio: model.BlockIO | None, groups: Sequence[Cgroup], out: list[Write]) -> None:  # noqa: C901 - one branch per field, v1 and v2
    if bio is None:
        return
    if bio == model.BlockIO():
        return
    g = next((g for g in groups if g.has("blkio") or g.has("io")), None)
    if g is None:
        raise ConfigError("linux.resources.blockIO: no blkio/io controller on this host")
    d = g.dir
    if _v2(g):
        if bio.leaf_weight is not None or any(w.leaf_weight is not None
                                              for w in bio.weight_device):
            raise ConfigError("linux.resources.blockIO.leafWeight: not supported on cgroup v2")
        if bio.weight is not None:
            out.append((d, "io.weight", f"default {bio.weight}"))
        for w in bio.weight_device:
            if w.weight is not None:
                out.append((d, "io.weight", f"{w.major}:{w.minor} {w.weight}"))
        for key, devs in (("rbps", bio.throttle_read_bps_device),
                          ("wbps", bio.throttle_write_bps_device),
                          ("riops", bio.throttle_read_iops_device),
                          ("wiops", bio.throttle_write_iops_device)):
            for t in devs:
                out.append((d, "io.max", f"{t.major}:{t.minor} {key}={_max(t.rate or -1)}"))
        return
    if bio.weight is not None:
        out.append((d, "blkio.weight", str(bio.weight)))
    if bio.leaf_weight is not None:
        out.append((d, "blkio.leaf_weight", str(bio.leaf_weight)))
    for w in bio.weight_device:
        if w.weight is not None:
            out.append((d, "blkio.weight_device", f"{w.major}:{w.minor} {w.weight}"))
        if w.leaf_weight is not None:
            out.append((d, "blkio.leaf_weight_device", f"{w.major}:{w.minor} {w.leaf_weight}"))
    for name, devs in (("read_bps_device", bio.throttle_read_bps_device),
                       ("write_bps_device", bio.throttle_write_bps_device),
                       ("read_iops_device", bio.throttle_read_iops_device),
                       ("write_iops_device", bio.throttle_write_iops_device)):
        for t in devs:
            out.append((d, f"blkio.throttle.{name}", f"{t.major}:{t.minor} {t.rate}"))


def needed_v2_controllers(res: model.Resources | None, groups: Sequence[Cgroup]) -> set[str]:
    """The controllers to enable in a v2 hierarchy's ancestors for these resources."""
    v2 = [g for g in groups if _v2(g)]
    if not v2:
        return set()
    if all(g.version == 2 for g in groups):  # pure v2: everything available, like runc
        return set(v2[0].controllers)
    return {c for c in v2[0].controllers
            if any(w[0] == v2[0].dir and w[1].startswith(c + ".")
                   for w in writes(res, groups))}


def apply(plan: Iterable[Write], log: Any = None) -> None:
    """Perform the writes; memory limit and memsw are ordered so memsw >= limit holds."""
    items = list(plan)
    for i, (d, name, value) in enumerate(items):
        if log is not None:
            log.debug(f"cgroup {d}/{name} = {value}")
        try:
            cgroupdirs.write(d, name, value)
        except KernelError as err:
            if name == "memory.limit_in_bytes" and err.errno is not None:
                # the new limit is above the current memsw: raise memsw first
                rest = [w for w in items[i + 1:] if w[1] == "memory.memsw.limit_in_bytes"]
                if rest:
                    cgroupdirs.write(*rest[0])
                    cgroupdirs.write(d, name, value)
                    continue
            raise
