"""The Linux plan: everything create will do, checked before any side effect.

Every field of `linux` that runc 1.1 honours is either carried into the plan
or refused here with a ConfigError naming it; nothing is silently dropped.
Values that only the kernel can judge (a cgroup file this kernel lacks) fail
at prepare, which is undone completely.
"""

from __future__ import annotations

import os

from pyocijail import values
from pyocijail.backends.linux import capabilities, cgroups, resources
from pyocijail.backends.linux.cgroups import Cgroup
from pyocijail.backends.linux.namespaces import NAMESPACES
from pyocijail.errors import ConfigError
from pyocijail.spec.model import Device, IdMapping, Mount, Resources, Rlimit, Seccomp, Spec

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

PERSONALITIES = {"LINUX": 0x0000, "LINUX32": 0x0008}


@values.frozen(kw_only=True)
class LinuxPlan:
    container_id: str
    bundle: str
    state_dir: str
    rootfs: str
    readonly: bool
    namespaces: tuple[tuple[str, str | None], ...]
    hostname: str | None
    domainname: str | None
    mounts: tuple[Mount, ...]
    devices: tuple[Device, ...]
    masked_paths: tuple[str, ...]
    readonly_paths: tuple[str, ...]
    sysctl: dict[str, str]
    rootfs_propagation: str | None
    cgroup_path: str = ""
    cgroups: tuple[Cgroup, ...] = ()
    resources: Resources | None = None
    cgroup_writes: tuple[tuple[str, str, str], ...] = ()
    #: (cgroup2 directory, (allow, rule) ...): the eBPF device program, on cgroup v2
    device_filter: tuple[str, tuple[tuple[bool, str], ...]] | None = None
    v2_enable: frozenset[str] = frozenset()
    seccomp: Seccomp | None = None
    personality: int | None = None
    uid_mappings: tuple[IdMapping, ...] = ()
    gid_mappings: tuple[IdMapping, ...] = ()
    rlimits: tuple[Rlimit, ...] = ()  # set before a user namespace exists (userns)
    mount_label: str | None = None  #: SELinux `context=` of the mounts runc labels (lsm)
    #: the container's own session keyring (runc's `_ses.<id>`), None with --no-new-keyring
    session_keyring: str | None = None
    key_label: str | None = None  #: SELinux label of that keyring (process.selinuxLabel)

    def new(self, kind: str) -> bool:
        return (kind, None) in self.namespaces

    def has(self, kind: str) -> bool:
        return any(k == kind for k, _ in self.namespaces)

    def path(self, kind: str) -> str | None:
        return next((p for k, p in self.namespaces if k == kind and p), None)

    def to_json(self) -> dict[str, Any]:
        from pyocijail.spec.convert import unstructure

        return {"platform": "linux", "id": self.container_id, "rootfs": self.rootfs,
                "readonly": self.readonly,
                "namespaces": [{"type": k, "path": p} if p else {"type": k}
                               for k, p in self.namespaces],
                "hostname": self.hostname, "domainname": self.domainname,
                "mounts": [unstructure(m) for m in self.mounts],
                "devices": [unstructure(d) for d in self.devices],
                "maskedPaths": list(self.masked_paths),
                "readonlyPaths": list(self.readonly_paths), "sysctl": self.sysctl,
                "cgroupsPath": self.cgroup_path,
                "cgroups": [g.to_json() for g in self.cgroups],
                "cgroupWrites": [list(w) for w in self.cgroup_writes],
                "deviceFilter": None if self.device_filter is None else {
                    "dir": self.device_filter[0],
                    "rules": [f"{'allow' if a else 'deny'} {t}"
                              for a, t in self.device_filter[1]]},
                "seccomp": None if self.seccomp is None else {
                    "defaultAction": self.seccomp.default_action,
                    "rules": len(self.seccomp.syscalls)},
                "personality": self.personality,
                "uidMappings": [unstructure(m) for m in self.uid_mappings],
                "gidMappings": [unstructure(m) for m in self.gid_mappings]}

    def to_text(self) -> str:
        lines = [f"container {self.container_id}: rootfs {self.rootfs}"
                 + (" (read-only)" if self.readonly else "")]
        for kind, path in self.namespaces:
            lines.append(f"  namespace {kind}: {'join ' + path if path else 'new'}")
        for kind, maps in (("uid", self.uid_mappings), ("gid", self.gid_mappings)):
            for m in maps:
                lines.append(f"  {kind} map: {m.container_id} -> {m.host_id} ({m.size})")
        for mnt in self.mounts:
            lines.append(f"  mount {mnt.type or 'bind'} {mnt.source or '-'} on {mnt.destination}"
                         + (f" ({','.join(mnt.options)})" if mnt.options else ""))
        for g in self.cgroups:
            lines.append(f"  cgroup {g.dir}")
        for d, name, value in self.cgroup_writes:
            lines.append(f"    {d}/{name} = {value}")
        if self.device_filter is not None:
            lines.append(f"    {self.device_filter[0]}: eBPF device program")
            for allow, text in self.device_filter[1]:
                lines.append(f"      {'allow' if allow else 'deny'} {text}")
        if self.seccomp is not None:
            lines.append(f"  seccomp: default {self.seccomp.default_action}, "
                         f"{len(self.seccomp.syscalls)} rules")
        return "\n".join(lines) + "\n"


def make_plan(container_id: str, spec: Spec, bundle: str, state_dir: str,  # noqa: C901 - one branch per config section
              log: Any) -> LinuxPlan:
    from pyocijail.backends.linux import mountopts, pivot

    assert spec.root is not None
    linux = spec.linux
    rootfs = spec.root.path
    if not os.path.isabs(rootfs):
        rootfs = os.path.join(bundle, rootfs)
    rootfs = os.path.realpath(rootfs)
    if not os.path.isdir(rootfs):
        raise ConfigError(f"root.path {spec.root.path}: not a directory")
    namespaces: list[tuple[str, str | None]] = []
    for ns in linux.namespaces if linux else ():
        if ns.type not in NAMESPACES:
            raise ConfigError(f"linux.namespaces: unknown type {ns.type!r}")
        if any(k == ns.type for k, _ in namespaces):
            raise ConfigError(f"linux.namespaces: {ns.type} given twice")
        if ns.type == "time":
            raise ConfigError("time namespaces are not supported (runc 1.1 has none either)")
        if ns.path:
            _check_namespace_path(ns.type, ns.path)
        namespaces.append((ns.type, ns.path or None))
    names = {k for k, _ in namespaces}
    if spec.hostname and "uts" not in names:
        raise ConfigError("hostname requires a new uts namespace")
    if "mount" not in names:
        raise ConfigError("a new mount namespace is required (linux.namespaces: mount)")
    for m in spec.mounts:
        if not m.destination.startswith("/"):
            raise ConfigError(f"mount destination {m.destination!r} is not absolute")
        mountopts.check_mount(m)
    if linux and linux.sysctl:
        pivot.check_sysctl(linux.sysctl)
    _refuse_unsupported(spec)
    uid_maps, gid_maps = _user_namespace(spec, namespaces)
    if spec.process is not None:
        capabilities.parse(spec.process.capabilities, warn=log.warn)
    res = linux.resources if linux else None
    path = cgroups.cgroup_path(linux.cgroups_path if linux else None, container_id,
                               os.path.dirname(state_dir))
    hs = cgroups.hierarchies()
    groups = cgroups.directories(path, hs)
    devs = linux.devices if linux else ()
    writes = resources.writes(res, groups, devs, log=log)
    enable = resources.needed_v2_controllers(res, groups)
    device_filter = resources.device_filter(res, groups, devs)
    seccomp = None
    if linux and linux.seccomp is not None:
        from pyocijail.backends.linux import seccomp as scmp

        seccomp = scmp.check(linux.seccomp, log)
    personality = None
    if linux and linux.personality is not None:
        personality = _personality(linux.personality)
    return LinuxPlan(
        container_id=container_id, bundle=bundle, state_dir=state_dir, rootfs=rootfs,
        readonly=spec.root.readonly, namespaces=tuple(namespaces),
        hostname=spec.hostname, domainname=spec.domainname, mounts=spec.mounts,
        devices=devs,
        masked_paths=linux.masked_paths if linux else (),
        readonly_paths=linux.readonly_paths if linux else (),
        sysctl=dict(linux.sysctl) if linux else {},
        rootfs_propagation=linux.rootfs_propagation if linux else None,
        cgroup_path=path, cgroups=groups, resources=res, cgroup_writes=tuple(writes),
        device_filter=device_filter, v2_enable=frozenset(enable), seccomp=seccomp,
        personality=personality,
        uid_mappings=uid_maps, gid_mappings=gid_maps,
        rlimits=spec.process.rlimits if spec.process else (),
        mount_label=linux.mount_label if linux else None,
        session_keyring=f"_ses.{container_id}",
        key_label=spec.process.selinux_label if spec.process else None)


def _user_namespace(spec: Spec, namespaces: list[tuple[str, str | None]]
                    ) -> tuple[tuple[IdMapping, ...], tuple[IdMapping, ...]]:
    """runc's rules: a new user namespace needs both maps, with 0 mapped in each;
    maps need a new user namespace (an existing one has its maps already)."""
    uids = spec.linux.uid_mappings if spec.linux else ()
    gids = spec.linux.gid_mappings if spec.linux else ()
    user = next((path for kind, path in namespaces if kind == "user"), False)
    if user is False:
        if uids or gids:
            raise ConfigError("linux.uidMappings/gidMappings require a user namespace "
                              "(linux.namespaces: user)")
        return (), ()
    if user:
        if uids or gids:
            raise ConfigError(f"linux.uidMappings/gidMappings cannot be applied to the "
                              f"existing user namespace {user}: give one or the other")
        return (), ()
    if not os.path.exists("/proc/self/ns/user"):
        raise ConfigError("user namespaces are not enabled in this kernel")
    from pyocijail.backends.linux import userns  # (only here: a config without one skips it)

    for kind, maps in (("uid", uids), ("gid", gids)):
        if not maps:
            raise ConfigError(f"user namespaces enabled, but no {kind} mappings found "
                              f"(linux.{kind}Mappings)")
        userns.check_mappings(kind, maps)
        if not userns.maps_id(maps, 0):
            raise ConfigError(f"user namespaces enabled, but no root {kind} mapping found "
                              f"(container {kind} 0 in linux.{kind}Mappings)")
    if spec.process is not None:
        user_ = spec.process.user
        if not userns.maps_id(uids, user_.uid):
            raise ConfigError(f"process.user.uid {user_.uid} is not mapped by "
                              "linux.uidMappings")
        for gid in (user_.gid, *user_.additional_gids):
            if not userns.maps_id(gids, gid):
                raise ConfigError(f"process.user gid {gid} is not mapped by "
                                  "linux.gidMappings")
    return tuple(uids), tuple(gids)


def _personality(value: dict[str, object]) -> int:
    domain = value.get("domain")
    if domain not in PERSONALITIES:
        raise ConfigError(f"linux.personality.domain {domain!r}: only LINUX and LINUX32 "
                          "are supported")
    if value.get("flags"):
        raise ConfigError("linux.personality.flags: not supported")
    return PERSONALITIES[str(domain)]


def _refuse_unsupported(spec: Spec) -> None:
    linux, process = spec.linux, spec.process
    if linux is not None:
        for field, key in (("intel_rdt", "intelRdt"), ("time_offsets", "timeOffsets"),
                           ("net_devices", "netDevices"), ("memory_policy", "memoryPolicy")):
            if getattr(linux, field):
                raise ConfigError(f"linux.{key} is not supported by pyocijail")
        if linux.resources is not None:
            if linux.resources.network:
                raise ConfigError("linux.resources.network (net_cls/net_prio) is not "
                                  "supported by pyocijail")
            if linux.resources.rdma:
                raise ConfigError("linux.resources.rdma is not supported by pyocijail")
    from pyocijail.backends.linux import lsm

    lsm.check(process, linux.mount_label if linux else None)


def _check_namespace_path(kind: str, path: str) -> None:
    """The namespace to join must be reachable now; say why not (a path the runtime
    may not read, such as another user namespace's /proc/1/ns/net, is not "missing")."""
    try:
        os.stat(path)
    except FileNotFoundError:
        raise ConfigError(f"linux.namespaces: {kind} path {path} does not exist") from None
    except OSError as err:
        raise ConfigError(f"linux.namespaces: {kind} path {path}: {err.strerror}") from None
