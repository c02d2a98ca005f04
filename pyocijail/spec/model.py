"""The parts of config.json the runtime uses, as frozen value classes (`pyocijail.values`).

Field names are the spec's camelCase keys in snake_case; `spec.convert` maps
between them. Keys the runtime does not know are dropped at conversion (the
spec says unknown properties MUST be ignored); values of known keys have
been checked against `schemas/` before they get here.
"""

from __future__ import annotations

from pyocijail import values


@values.frozen(kw_only=True)
class Root:
    path: str
    readonly: bool = False


@values.frozen(kw_only=True)
class Mount:
    destination: str
    type: str | None = None
    source: str | None = None
    options: tuple[str, ...] = ()
    uid_mappings: tuple[IdMapping, ...] = ()
    gid_mappings: tuple[IdMapping, ...] = ()


@values.frozen(kw_only=True)
class ConsoleSize:
    height: int
    width: int


@values.frozen(kw_only=True)
class User:
    uid: int = 0
    gid: int = 0
    umask: int | None = None
    additional_gids: tuple[int, ...] = ()
    username: str | None = None


@values.frozen(kw_only=True)
class Rlimit:
    type: str
    soft: int
    hard: int


@values.frozen(kw_only=True)
class Capabilities:
    bounding: tuple[str, ...] | None = None
    effective: tuple[str, ...] | None = None
    inheritable: tuple[str, ...] | None = None
    permitted: tuple[str, ...] | None = None
    ambient: tuple[str, ...] | None = None


@values.frozen(kw_only=True)
class Process:
    cwd: str
    args: tuple[str, ...] = ()
    env: tuple[str, ...] = ()
    terminal: bool = False
    console_size: ConsoleSize | None = None
    user: User = User()
    rlimits: tuple[Rlimit, ...] = ()
    capabilities: Capabilities | None = None
    no_new_privileges: bool = False
    oom_score_adj: int | None = None
    apparmor_profile: str | None = None
    selinux_label: str | None = None


@values.frozen(kw_only=True)
class Hook:
    path: str
    args: tuple[str, ...] | None = None
    env: tuple[str, ...] | None = None
    timeout: int | None = None


@values.frozen(kw_only=True)
class Hooks:
    prestart: tuple[Hook, ...] = ()
    create_runtime: tuple[Hook, ...] = ()
    create_container: tuple[Hook, ...] = ()
    start_container: tuple[Hook, ...] = ()
    poststart: tuple[Hook, ...] = ()
    poststop: tuple[Hook, ...] = ()


# --- linux ----------------------------------------------------------------

@values.frozen(kw_only=True)
class IdMapping:
    container_id: int
    host_id: int
    size: int


@values.frozen(kw_only=True)
class Namespace:
    type: str
    path: str | None = None


@values.frozen(kw_only=True)
class Device:
    type: str
    path: str
    major: int | None = None
    minor: int | None = None
    file_mode: int | None = None
    uid: int | None = None
    gid: int | None = None


@values.frozen(kw_only=True)
class DeviceRule:
    allow: bool
    type: str | None = None
    major: int | None = None
    minor: int | None = None
    access: str | None = None


@values.frozen(kw_only=True)
class Memory:
    limit: int | None = None
    reservation: int | None = None
    swap: int | None = None
    kernel: int | None = None
    kernel_tcp: int | None = None
    swappiness: int | None = None
    disable_oom_killer: bool | None = None
    use_hierarchy: bool | None = None
    check_before_update: bool | None = None


@values.frozen(kw_only=True)
class Cpu:
    shares: int | None = None
    quota: int | None = None
    burst: int | None = None
    period: int | None = None
    realtime_runtime: int | None = None
    realtime_period: int | None = None
    cpus: str | None = None
    mems: str | None = None
    idle: int | None = None


@values.frozen(kw_only=True)
class Pids:
    limit: int | None = None


@values.frozen(kw_only=True)
class WeightDevice:
    major: int
    minor: int
    weight: int | None = None
    leaf_weight: int | None = None


@values.frozen(kw_only=True)
class ThrottleDevice:
    major: int
    minor: int
    rate: int


@values.frozen(kw_only=True)
class BlockIO:
    weight: int | None = None
    leaf_weight: int | None = None
    weight_device: tuple[WeightDevice, ...] = ()
    throttle_read_bps_device: tuple[ThrottleDevice, ...] = ()
    throttle_write_bps_device: tuple[ThrottleDevice, ...] = ()
    throttle_read_iops_device: tuple[ThrottleDevice, ...] = ()
    throttle_write_iops_device: tuple[ThrottleDevice, ...] = ()


@values.frozen(kw_only=True)
class HugepageLimit:
    page_size: str
    limit: int


@values.frozen(kw_only=True)
class Resources:
    devices: tuple[DeviceRule, ...] = ()
    memory: Memory | None = None
    cpu: Cpu | None = None
    pids: Pids | None = None
    block_io: BlockIO | None = None
    hugepage_limits: tuple[HugepageLimit, ...] = ()
    unified: dict[str, str] | None = None
    # Kept only so a backend can refuse them (never silently ignored).
    network: dict[str, object] | None = None
    rdma: dict[str, object] | None = None


@values.frozen(kw_only=True)
class SeccompArg:
    index: int
    value: int
    op: str
    value_two: int | None = None


@values.frozen(kw_only=True)
class SeccompRule:
    names: tuple[str, ...]
    action: str
    errno_ret: int | None = None
    args: tuple[SeccompArg, ...] = ()


@values.frozen(kw_only=True)
class Seccomp:
    default_action: str
    default_errno_ret: int | None = None
    architectures: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    listener_path: str | None = None
    listener_metadata: str | None = None
    syscalls: tuple[SeccompRule, ...] = ()


@values.frozen(kw_only=True)
class Linux:
    namespaces: tuple[Namespace, ...] = ()
    uid_mappings: tuple[IdMapping, ...] = ()
    gid_mappings: tuple[IdMapping, ...] = ()
    devices: tuple[Device, ...] = ()
    cgroups_path: str | None = None
    resources: Resources | None = None
    sysctl: dict[str, str] = values.factory(dict)
    seccomp: Seccomp | None = None
    rootfs_propagation: str | None = None
    masked_paths: tuple[str, ...] = ()
    readonly_paths: tuple[str, ...] = ()
    mount_label: str | None = None
    personality: dict[str, object] | None = None
    # Kept only so a backend can refuse them (never silently ignored).
    intel_rdt: dict[str, object] | None = None
    time_offsets: dict[str, object] | None = None
    net_devices: dict[str, object] | None = None
    memory_policy: dict[str, object] | None = None


# --- freebsd ----------------------------------------------------------------

@values.frozen(kw_only=True)
class FreeBSDDevice:
    path: str
    mode: int | None = None


@values.frozen(kw_only=True)
class JailAllow:
    """`freebsd.jail.allow`; None means "not in the config" (defaults apply)."""

    set_hostname: bool | None = None
    raw_sockets: bool | None = None
    chflags: bool | None = None
    mount: tuple[str, ...] = ()
    quotas: bool | None = None
    socket_af: bool | None = None
    mlock: bool | None = None
    reserved_ports: bool | None = None
    suser: bool | None = None


@values.frozen(kw_only=True)
class Jail:
    parent: str | None = None
    host: str | None = None
    ip4: str | None = None
    ip6: str | None = None
    ip4_addr: tuple[str, ...] = ()
    ip6_addr: tuple[str, ...] = ()
    vnet: str | None = None
    interface: str | None = None
    vnet_interfaces: tuple[str, ...] = ()
    sysvmsg: str | None = None
    sysvsem: str | None = None
    sysvshm: str | None = None
    enforce_statfs: int | None = None
    allow: JailAllow | None = None


@values.frozen(kw_only=True)
class FreeBSD:
    devices: tuple[FreeBSDDevice, ...] = ()
    jail: Jail | None = None


# --- the whole config --------------------------------------------------------

@values.frozen(kw_only=True)
class Spec:
    oci_version: str
    root: Root | None = None
    process: Process | None = None
    mounts: tuple[Mount, ...] = ()
    hostname: str | None = None
    domainname: str | None = None
    hooks: Hooks = Hooks()
    annotations: dict[str, str] = values.factory(dict)
    linux: Linux | None = None
    freebsd: FreeBSD | None = None
