"""JailPlan: everything create will do on FreeBSD, as one frozen value.

`build_plan` is pure with respect to the host: it reads config, the bundle
and the rootfs (to resolve mount destinations) and creates nothing. Every
configuration error surfaces here, before any side effect (ocijail's
`--testing=validation`, made structural). `pyocijail plan` prints it.
"""

from __future__ import annotations

import os

from pyocijail import values
from pyocijail.backends.freebsd import jailparams
from pyocijail.backends.freebsd.kernel import RLIMITS, RLIMITS_SINCE
from pyocijail.backends.freebsd.mounts import (
    DEVFS_DEFAULT_RULESET,
    MountOp,
    MountPoint,
    plan_mounts,
)
from pyocijail.backends.freebsd.params import JailSettings, jail_settings
from pyocijail.backends.freebsd.resources import RCTL_ANNOTATION, cpu_list, rctl_rules
from pyocijail.errors import ConfigError, KernelError
from pyocijail.process.setup import env_dict
from pyocijail.spec.model import Process, Rlimit, Spec

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any


#: The release assumed when no kernel can be asked (`pyocijail plan`, tests).
DEFAULT_RELEASE = 14
LINUX_ONLY_RLIMITS = frozenset({"RLIMIT_LOCKS", "RLIMIT_SIGPENDING", "RLIMIT_MSGQUEUE",
                                "RLIMIT_NICE", "RLIMIT_RTPRIO", "RLIMIT_RTTIME"})


@values.frozen(kw_only=True)
class ProcessPlan:
    """What the init (or an exec'd process) runs, exactly: `FreeBSDBackend.planned_process`
    hands it to the core, so what `pyocijail plan` prints is what runs. `env` holds
    the entries the program gets (one per name, the last given value; HOME is added
    from the jail's /etc/passwd when absent), `additional_gids` the groups beyond
    `gid`, each once (setgroups gets gid first), `rlimits` what
    `FreeBSDBackend.apply_rlimits` sets with `kernel.RLIMITS`' numbers."""

    args: tuple[str, ...]
    env: tuple[str, ...]
    cwd: str
    uid: int
    gid: int
    additional_gids: tuple[int, ...]
    umask: int | None  # None: keep the inherited umask (ocijail forced 077)
    rlimits: tuple[tuple[str, int, int], ...]  # FreeBSD names, soft, hard
    terminal: bool

    def to_json(self) -> dict[str, Any]:
        return {"args": list(self.args), "env": list(self.env), "cwd": self.cwd,
                "uid": self.uid, "gid": self.gid, "additionalGids": list(self.additional_gids),
                "umask": self.umask, "terminal": self.terminal,
                "rlimits": [{"type": t, "soft": s, "hard": h} for t, s, h in self.rlimits]}

    def applied_to(self, process: Process) -> Process:
        """`process` (the spec's or an exec's process file) with this plan's values
        in every field the plan holds; the rest (console size, ...) as given."""
        user = values.evolve(process.user, uid=self.uid, gid=self.gid,
                             additional_gids=self.additional_gids, umask=self.umask)
        return values.evolve(process, args=self.args, env=self.env, cwd=self.cwd, user=user,
                             terminal=self.terminal,
                             rlimits=tuple(Rlimit(type=t, soft=s, hard=h)
                                           for t, s, h in self.rlimits))


def host_release(kernel: Any) -> int:
    """The host's major release from sysctl kern.osreldate (__FreeBSD_version,
    e.g. 1403000 for 14.3, 1500068 for 15.0); DEFAULT_RELEASE without a kernel or
    when the kernel cannot say."""
    read = getattr(kernel, "osreldate", None) if kernel is not None else None
    if read is None:
        return DEFAULT_RELEASE
    try:
        return int(read()) // 100000
    except (KernelError, OSError, ValueError):
        return DEFAULT_RELEASE


def plan_rlimits(rlimits: tuple[Rlimit, ...],
                 release: int | Callable[[], int] = DEFAULT_RELEASE,
                 ) -> tuple[tuple[str, int, int], ...]:
    """The limits FreeBSD has (`kernel.RLIMITS`), as (name, soft, hard); `release`
    (or a function giving it, asked only when a limit depends on it) is the host's
    FreeBSD major release."""
    seen: set[str] = set()
    out = []
    for rl in rlimits:
        if rl.type in LINUX_ONLY_RLIMITS:
            raise ConfigError(f"process.rlimits: {rl.type} does not exist on FreeBSD")
        if rl.type in RLIMITS_SINCE:
            if callable(release):
                release = release()
            if release < RLIMITS_SINCE[rl.type]:
                raise ConfigError(f"process.rlimits: {rl.type} does not exist on FreeBSD "
                                  f"{release} (only from {RLIMITS_SINCE[rl.type]}.0)")
        elif rl.type not in RLIMITS:
            raise ConfigError(f"process.rlimits: unknown rlimit {rl.type!r}")
        if rl.type in seen:
            raise ConfigError(f"process.rlimits: {rl.type} is given twice")
        if rl.soft > rl.hard:
            raise ConfigError(f"process.rlimits: {rl.type} soft limit exceeds hard limit")
        seen.add(rl.type)
        out.append((rl.type, rl.soft, rl.hard))
    return tuple(out)


def process_plan(process: Process,
                 release: int | Callable[[], int] = DEFAULT_RELEASE) -> ProcessPlan:
    """`release`: see `plan_rlimits`."""
    if not process.cwd.startswith("/"):
        raise ConfigError(f"process.cwd {process.cwd!r} must be absolute")
    rlimits = plan_rlimits(process.rlimits, release)
    user = process.user
    umask = user.umask
    if umask is not None and not 0 <= umask <= 0o777:
        raise ConfigError(f"process.user.umask {umask} is not a file mode")
    env = tuple(f"{k}={v}" for k, v in env_dict(process.env).items())
    groups = tuple(dict.fromkeys(g for g in user.additional_gids if g != user.gid))
    return ProcessPlan(args=process.args, env=env, cwd=process.cwd, uid=user.uid,
                       gid=user.gid, additional_gids=groups, umask=umask,
                       rlimits=rlimits, terminal=process.terminal)


@values.frozen(kw_only=True)
class JailPlan:
    container_id: str
    bundle: str
    state_dir: str
    rootfs: str
    jail: JailSettings
    mounts: tuple[MountOp, ...]
    mountpoints: tuple[MountPoint, ...]
    rctl: tuple[str, ...]
    cpuset: str | None
    alias_addresses: tuple[str, ...]
    process: ProcessPlan | None
    warnings: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.jail.name

    @property
    def path(self) -> str:
        return str(self.jail.params["path"])

    def devfs_rules(self) -> list[dict[str, str]]:
        return [{"mountpoint": m.target, "rule": r} for m in self.mounts for r in m.rules]

    def devfs_ruleset_checks(self) -> list[tuple[MountOp, int]]:
        """(mount, ruleset) for each devfs mount create must check first (the
        ruleset hides every device before it unhides any): every ruleset but 0,
        which asks for no restriction explicitly."""
        out = []
        for m in self.mounts:
            if m.fstype == "devfs":
                number = int(dict(m.data).get("ruleset") or 0)
                if number:
                    out.append((m, number))
        return out

    def to_json(self) -> dict[str, Any]:
        interfaces: dict[str, Any] = {}
        if self.jail.alias_interface:
            interfaces["alias"] = {"interface": self.jail.alias_interface,
                                   "addresses": list(self.alias_addresses)}
        if self.jail.vnet_interfaces:
            interfaces["vnet"] = list(self.jail.vnet_interfaces)
        return {
            "platform": "freebsd",
            "jail": {"name": self.jail.name, "parent": self.jail.parent,
                     "params": dict(self.jail.params), "soft": list(self.jail.soft)},
            "mounts": [m.to_json() for m in self.mounts],
            "mountpoints": [p.to_json() for p in self.mountpoints],
            "devfs_rules": self.devfs_rules(),
            "devfs_ruleset_checks": [{"mountpoint": m.target, "ruleset": n}
                                     for m, n in self.devfs_ruleset_checks()],
            "rctl": list(self.rctl),
            "cpuset": self.cpuset,
            "interfaces": interfaces,
            "process": self.process.to_json() if self.process else None,
            "warnings": list(self.warnings),
        }

    def to_text(self) -> str:
        out = [f"jail {self.jail.name}" + (f" (child of {self.jail.parent})"
                                           if self.jail.parent else "")]
        for key, value in self.jail.params.items():
            shown = ",".join(value) if isinstance(value, list) else value
            if isinstance(value, bool):
                shown = "true" if value else "false"
            soft = "  (default; weakened to what the parent allows)" \
                if key in self.jail.soft and self.jail.parent else ""
            out.append(f"  {key} = {shown}{soft}")
        checks = self.devfs_ruleset_checks()
        if checks:
            out.append("checks (before anything is created)")
            out.extend(f"  check devfs rule -s {n} show hides every device before any unhide "
                       f"(else refuse) for {m.target}" for m, n in checks)
        out.append("mounts (in order; unmounted in reverse)")
        for i, m in enumerate(self.mounts):
            extra = " [file]" if m.file else ""
            extra += " [tmpcopyup]" if m.tmpcopyup else ""
            out.append(f"  {i}. {m.fstype} {m.source} on {m.target} "
                       f"({','.join(m.options)}){extra}")
            for p in self.mountpoints:
                if p.mount == i:
                    out.append(f"     create {p.kind} {p.path}")
            for rule in m.rules:
                out.append(f"     devfs rule apply {rule}")
        if self.rctl:
            out.append("rctl")
            out.extend(f"  {r}" for r in self.rctl)
        if self.cpuset:
            out.append(f"cpuset -l {self.cpuset}")
        if self.jail.alias_interface:
            out.append(f"ifconfig {self.jail.alias_interface} alias "
                       + " ".join(self.alias_addresses))
        for iface in self.jail.vnet_interfaces:
            out.append(f"ifconfig {iface} vnet {self.jail.name}")
        if self.process:
            proc = self.process
            out.append(f"process {list(proc.args)} cwd={proc.cwd} uid={proc.uid} gid={proc.gid} "
                       f"groups={list(proc.additional_gids)} umask="
                       f"{'inherited' if proc.umask is None else oct(proc.umask)}"
                       + (" terminal" if proc.terminal else ""))
            out.extend(f"  env {e}" for e in proc.env)
            out.extend(f"  {t} soft={s} hard={h}" for t, s, h in proc.rlimits)
        out.extend(f"warning: {w}" for w in self.warnings)
        return "\n".join(out) + "\n"


def build_plan(container_id: str, spec: Spec, bundle: str, state_dir: str,
               release: int | Callable[[], int] = DEFAULT_RELEASE) -> JailPlan:
    """`release`: the host's FreeBSD major release (see `process_plan`)."""
    if spec.root is None or not spec.root.path:
        raise ConfigError("root.path is required")
    # Real paths: the kernel records a mount's global path (f_mntonname, links
    # resolved) and create compares it with the planned target (FreeBSD's /home
    # is a link to /usr/home). The bundle and state dir are the caller's, trusted.
    bundle = os.path.realpath(bundle)
    rootfs = os.path.realpath(os.path.join(bundle, spec.root.path))
    if not os.path.isdir(rootfs):
        raise ConfigError(f"root.path {rootfs} is not a directory")
    warn: list[str] = []
    state_dir = os.path.realpath(state_dir)
    alias = os.path.join(state_dir, "root") if spec.root.readonly else None
    jail_path = alias or rootfs
    settings = jail_settings(container_id, spec, jail_path, warn)
    for key, value in settings.params.items():
        problem = jailparams.check(key, value)
        if problem:  # a bug in the mapping, or a value the kernel would refuse
            raise ConfigError(f"jail parameter {problem[1]}")
    device_rules = _device_rules(spec)
    ops, points = plan_mounts(spec.mounts, bundle=bundle, rootfs=rootfs, jail_path=jail_path,
                              alias=alias, device_rules=device_rules, warn=warn)
    _jail_devfs_ruleset(settings, ops)
    resources = spec.linux.resources if spec.linux is not None else None
    rctl = rctl_rules(settings.name, resources, spec.annotations.get(RCTL_ANNOTATION), warn)
    aliases = ((*settings.params.get("ip4.addr", ()), *settings.params.get("ip6.addr", ()))
               if settings.alias_interface else ())
    return JailPlan(container_id=container_id, bundle=bundle,
                    state_dir=state_dir, rootfs=rootfs, jail=settings,
                    mounts=tuple(ops), mountpoints=tuple(points), rctl=rctl,
                    cpuset=cpu_list(resources), alias_addresses=aliases,
                    process=process_plan(spec.process, release) if spec.process else None,
                    warnings=tuple(warn))


def _jail_devfs_ruleset(settings: JailSettings, ops: list[MountOp]) -> None:
    """A jail that may mount devfs gets a devfs_ruleset: the ruleset of its /dev
    mount, else 4 (devfsrules_jail, jail(8)'s default for mount.devfs).

    devfs_vfsops.c devfs_mount forces a jailed caller's mount to the prison's
    ruleset, and kern_jail.c gives a new jail its parent's (prison0: 0, no
    ruleset at all) when none is set: without this, the jail's root could mount a
    devfs showing every host device, raw disks included."""
    if not settings.params.get("allow.mount.devfs"):
        return
    number = next((int(dict(m.data).get("ruleset") or 0) for m in ops
                   if m.fstype == "devfs" and m.destination == "/dev"), 0)
    settings.params["devfs_ruleset"] = number or int(DEVFS_DEFAULT_RULESET)


def _device_rules(spec: Spec) -> list[str]:
    """`freebsd.devices` → devfs rules; mode is decimal in config, octal for devfs(8).

    A nested path (`dri/card0`) gets `path <dir> unhide` for each directory above
    it first, once: devfs_rule.c `devfs_rule_run` changes only the entry whose
    full path matches, and the hide-all rule of the ruleset has hidden (whited
    out) the directory itself, which devfs_vnops.c `devfs_lookupx` then answers
    with ENOENT, so the unhidden device below it could not be reached.
    """
    rules: list[str] = []
    for dev in spec.freebsd.devices if spec.freebsd is not None else ():
        path = dev.path
        path = path.removeprefix("/dev/")
        if (not path or path.startswith("/") or any(c.isspace() for c in path)
                or any(p in ("", ".", "..") for p in path.split("/"))):
            raise ConfigError(f"freebsd.devices: path {dev.path!r} must be relative to /dev")
        parts = path.split("/")
        for i in range(1, len(parts)):
            parent = f"path {'/'.join(parts[:i])} unhide"
            if parent not in rules:
                rules.append(parent)
        rule = f"path {path} unhide"
        if dev.mode is not None:
            if not 0 <= dev.mode <= 0o777:
                raise ConfigError(f"freebsd.devices: mode {dev.mode} is not a file mode "
                                  "(0..511, decimal)")
            rule += f" mode {dev.mode:o}"
        rules.append(rule)
    return rules
