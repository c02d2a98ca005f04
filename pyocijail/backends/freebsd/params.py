"""config.json → jail(8) parameters: the `freebsd` section, annotations, defaults.

Precedence (reference section 1): a field present in `freebsd.jail` wins;
an `org.freebsd.*` annotation is used only when the matching field is
absent; a conflict is logged as a warning. With a `freebsd.jail` object the
runtime-spec defaults apply (enforce_statfs 2, allow.suser on, everything
else off); without one, ocijail's defaults (enforce_statfs 1, allow.raw_sockets
and allow.chflags), which is what podman users have today. SysV IPC defaults
to `new` in both modes (ocijail left the kernel's `disable`; PostgreSQL fails).
"""

from __future__ import annotations

import ipaddress
import re

from pyocijail import values
from pyocijail.backends.freebsd import jailparams
from pyocijail.errors import ConfigError
from pyocijail.spec.model import Jail, JailAllow, Spec

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


ANN_PARENT = "org.freebsd.parentJail"
ANN_VNET = "org.freebsd.jail.vnet"
ANN_IP4 = "org.freebsd.jail.ip4.addr"
ANN_IP6 = "org.freebsd.jail.ip6.addr"
ANN_IP6_TYPO = "org.freebsd.jail.ip6.add"  # ocijail accepted this misspelling
ANN_SYSV = {k: f"org.freebsd.jail.{k}" for k in ("sysvmsg", "sysvsem", "sysvshm")}
ANN_ALLOW = "org.freebsd.jail.allow."
#: ocijail's whitelist of `org.freebsd.jail.allow.<name>` annotations.
ALLOW_ANNOTATIONS = frozenset({
    "adjtime", "chflags", "extattr", "mlock", "mount", "mount.devfs", "mount.fdescfs",
    "mount.nullfs", "mount.procfs", "mount.tmpfs", "mount.zfs", "nfsd", "quotas",
    "raw_sockets", "read_msgbuf", "reserved_ports", "routing", "set_hostname", "setaudit",
    "settime", "socket_af", "suser", "sysvipc", "unprivileged_parent_tampering",
    "unprivileged_proc_debug",
})
#: `freebsd.jail.allow` fields and their jail parameters.
ALLOW_FIELDS = {"set_hostname": "allow.set_hostname", "raw_sockets": "allow.raw_sockets",
                "chflags": "allow.chflags", "quotas": "allow.quotas",
                "socket_af": "allow.socket_af", "mlock": "allow.mlock",
                "reserved_ports": "allow.reserved_ports", "suser": "allow.suser"}
SYSV_VALUES = ("disable", "new", "inherit")


@values.frozen(kw_only=True)
class JailSettings:
    name: str
    parent: str | None
    params: dict[str, Any]
    #: parameters that came from defaults: prepare may weaken them to what the
    #: parent jail allows instead of failing (ocijail did so for allow.chflags).
    soft: tuple[str, ...]
    alias_interface: str | None
    vnet_interfaces: tuple[str, ...]


def annotation_keys() -> list[str]:
    """Annotations this backend reads (exact keys; `features` lists the prefix)."""
    from pyocijail.backends.freebsd.resources import RCTL_ANNOTATION

    return sorted([ANN_PARENT, ANN_VNET, ANN_IP4, ANN_IP6, *ANN_SYSV.values(), RCTL_ANNOTATION]
                  + [ANN_ALLOW + a for a in ALLOW_ANNOTATIONS])


def check_annotations(annotations: dict[str, str], warn: list[str]) -> None:
    from pyocijail.backends.freebsd.resources import RCTL_ANNOTATION

    known = set(annotation_keys()) | {ANN_IP6_TYPO}
    for key in sorted(annotations):
        if key.startswith(ANN_ALLOW):
            if key[len(ANN_ALLOW):] not in ALLOW_ANNOTATIONS:
                warn.append(f"unknown jail allow annotation {key!r}, ignoring it")
        elif key.startswith("org.freebsd.") and key not in known | {RCTL_ANNOTATION}:
            warn.append(f"unknown annotation {key!r}, ignoring it")


def _pick(field: Any, what: str, ann_key: str, ann: Any, warn: list[str]) -> Any:
    if field is not None:
        if ann is not None and ann != field:
            warn.append(f"{what} is {field!r} but annotation {ann_key} says {ann!r}; "
                        f"using {what}")
        return field
    return ann


def jail_name(container_id: str, parent: str | None) -> str:
    """The jail of `container_id`: the id, each '.' written as '_' (in a jail
    name the last '.' separates parent and child: kern_jail.c kern_jail_set), under
    `parent` if given. Ids valid for runc may hold dots (`my.app`); "a.b" and
    "a_b" then name one jail, and the second create fails with EEXIST."""
    if not container_id:
        raise ConfigError("an empty container id cannot name a jail")
    container_id = container_id.replace(".", "_")
    if re.fullmatch(r"\s*[+-]?[0-9]+", container_id):
        # kern_jail.c: a numeric name (as strtoul reads it) asks for that jid, so
        # it works only if the jid is free and equal: not something to rely on.
        raise ConfigError(f"container id {container_id!r} cannot name a jail: FreeBSD "
                          "takes a numeric jail name as a request for that jail id")
    name = f"{parent}.{container_id}" if parent else container_id
    if len(name.encode()) >= jailparams.MAXHOSTNAMELEN:
        raise ConfigError(f"jail name {name!r} is longer than "
                          f"{jailparams.MAXHOSTNAMELEN - 1} bytes")
    return name


def jail_settings(container_id: str, spec: Spec, jail_path: str,  # noqa: C901 - one branch per config field (docs/freebsd.md's table)
                  warn: list[str]) -> JailSettings:
    ann = spec.annotations
    jail = spec.freebsd.jail if spec.freebsd is not None else None
    std = jail is not None  # standard-section mode vs legacy (ocijail) mode
    j = jail or Jail()
    check_annotations(ann, warn)

    parent = _pick(j.parent, "freebsd.jail.parent", ANN_PARENT, ann.get(ANN_PARENT) or None,
                   warn)
    name = jail_name(container_id, parent)
    params: dict[str, Any] = {"name": name, "path": jail_path, "persist": True}
    soft: list[str] = []

    # --- host / UTS --------------------------------------------------------------
    if j.host not in (None, "new", "inherit"):
        raise ConfigError(f"freebsd.jail.host {j.host!r} must be new or inherit")
    if j.host == "inherit" and (spec.hostname or spec.domainname):
        raise ConfigError("freebsd.jail.host is inherit, which contradicts hostname/domainname")
    if j.host == "new" or spec.hostname or spec.domainname:
        params["host"] = "new"
        if spec.hostname:
            params["host.hostname"] = spec.hostname
        if spec.domainname:
            params["host.domainname"] = spec.domainname
    else:
        params["host"] = "inherit"

    # --- network -------------------------------------------------------------------
    vnet = _pick(j.vnet, "freebsd.jail.vnet", ANN_VNET, ann.get(ANN_VNET), warn)
    if vnet not in (None, "new", "inherit"):
        raise ConfigError(f"jail vnet {vnet!r} must be new or inherit (there is no disable)")
    addrs = {"ip4": _pick(j.ip4_addr or None, "freebsd.jail.ip4Addr", ANN_IP4,
                          _split(ann.get(ANN_IP4)), warn),
             "ip6": _pick(j.ip6_addr or None, "freebsd.jail.ip6Addr", ANN_IP6,
                          _split(ann.get(ANN_IP6) or ann.get(ANN_IP6_TYPO)), warn)}
    if ANN_IP6_TYPO in ann:
        warn.append(f"annotation {ANN_IP6_TYPO} is a misspelling of {ANN_IP6}")
    modes = {"ip4": j.ip4, "ip6": j.ip6}
    if vnet == "new":
        if any(modes.values()) or any(addrs.values()):
            # kern_jail.c: "vnet jails cannot have IP address restrictions" (EINVAL).
            raise ConfigError("a vnet jail cannot have ip4/ip6 settings or addresses")
        params["vnet"] = "new"
    else:
        # vnet=inherit is not passed on: to the kernel it only adds that ip4/ip6
        # may not be set, and without them a new jail gets no address at all.
        for fam in ("ip4", "ip6"):
            mode, given = modes[fam], tuple(addrs[fam] or ())
            if mode not in (None, *SYSV_VALUES):
                raise ConfigError(f"freebsd.jail.{fam} {mode!r} must be disable, new or inherit")
            if given:
                if mode not in (None, "new"):
                    raise ConfigError(f"freebsd.jail.{fam}Addr needs {fam} new, not {mode}")
                # ocijail kept ip4=inherit next to ip4.addr; the kernel treats a
                # given address list as "new" anyway, so say so.
                mode = "new"
                _check_family(fam, given)
            # Unset without vnet: share the host/parent stack (the kernel's own
            # default for an unset ip4 is "no IPv4 at all").
            params[fam] = mode or "inherit"
            if given:
                params[f"{fam}.addr"] = list(given)
    if j.vnet_interfaces and vnet != "new":
        raise ConfigError("freebsd.jail.vnetInterfaces needs vnet new")
    if j.interface and not (addrs["ip4"] or addrs["ip6"]):
        raise ConfigError("freebsd.jail.interface needs ip4Addr or ip6Addr to alias on it")

    # --- SysV IPC ------------------------------------------------------------------
    sysvipc = _truthy(ann.get(ANN_ALLOW + "sysvipc"))
    for key, akey in ANN_SYSV.items():
        value = _pick(getattr(j, key), f"freebsd.jail.{key}", akey, ann.get(akey), warn)
        if value is None:
            # jail(8): allow.sysvipc is the old spelling of all three = inherit.
            value = "inherit" if sysvipc else "new"
            if not sysvipc:
                soft.append(key)
        if value not in SYSV_VALUES:
            raise ConfigError(f"jail {key} {value!r} must be disable, new or inherit")
        params[key] = value

    # --- enforce_statfs -------------------------------------------------------------
    if j.enforce_statfs is not None:
        if isinstance(j.enforce_statfs, bool) or j.enforce_statfs not in (0, 1, 2):
            raise ConfigError(f"freebsd.jail.enforceStatfs {j.enforce_statfs!r} must be 0, 1 "
                              "or 2")
        params["enforce_statfs"] = j.enforce_statfs
    else:
        params["enforce_statfs"] = 2 if std else 1  # ocijail always used 1
        soft.append("enforce_statfs")

    # --- allow.* ---------------------------------------------------------------------
    _allow(params, soft, j.allow if std else None, std, ann, warn)
    if params.get("allow.mount") and params["enforce_statfs"] == 2:
        warn.append("allow.mount has no effect with enforce_statfs 2 (jail(8))")
    return JailSettings(name=name, parent=parent, params=params, soft=tuple(soft),
                        alias_interface=j.interface, vnet_interfaces=j.vnet_interfaces)


def _allow(params: dict[str, Any], soft: list[str], allow: JailAllow | None, std: bool,  # noqa: C901 - one branch per allow.* parameter
           ann: dict[str, str], warn: list[str]) -> None:
    values: dict[str, bool] = {}
    fields = allow or JailAllow()
    for field, param in ALLOW_FIELDS.items():
        value = getattr(fields, field)
        if value is not None:
            values[param] = value
    mount_fs = list(fields.mount)
    for fs in mount_fs:
        if fs not in jailparams.MOUNT_FS:
            raise ConfigError(f"freebsd.jail.allow.mount: {fs!r} is not a jail-mountable file "
                              f"system ({', '.join(jailparams.MOUNT_FS)})")
    for key in sorted(ann):
        if not key.startswith(ANN_ALLOW):
            continue
        short = key[len(ANN_ALLOW):]
        if short not in ALLOW_ANNOTATIONS or short == "sysvipc":
            continue  # unknown: warned about; sysvipc: handled as the sysv* params
        if not _truthy(ann[key]):
            warn.append(f"annotation {key}={ann[key]!r} ignored (only \"true\" or \"1\")")
            continue
        param = "allow." + short
        if short.startswith("mount.") and mount_fs:
            if short[6:] not in mount_fs:
                warn.append(f"annotation {key} conflicts with freebsd.jail.allow.mount; "
                            "using freebsd.jail.allow.mount")
            continue
        if param in values:
            if values[param] is not True:
                warn.append(f"annotation {key} conflicts with freebsd.jail.allow; using the "
                            "freebsd section")
            continue
        values[param] = True
    if mount_fs:
        values["allow.mount"] = True
        for fs in mount_fs:
            values[f"allow.mount.{fs}"] = True
    elif any(k.startswith("allow.mount.") for k in values):
        values.setdefault("allow.mount", True)  # allow.mount.<fs> needs allow.mount
    if std:
        for param in ALLOW_FIELDS.values():
            if param not in values:
                values[param] = param == "allow.suser"  # spec defaults
                if param == "allow.suser":
                    soft.append(param)
        values.setdefault("allow.mount", False)
    else:
        for param in ("allow.raw_sockets", "allow.chflags"):  # ocijail's defaults
            if param not in values:
                values[param] = True
                soft.append(param)
    for param in sorted(values):
        params[param] = values[param]


def _truthy(value: str | None) -> bool:
    return value in ("true", "1")


def _split(value: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    items = tuple(v.strip() for v in value.split(",") if v.strip())
    return items or None


def _check_family(fam: str, addrs: tuple[str, ...]) -> None:
    cls = ipaddress.IPv4Address if fam == "ip4" else ipaddress.IPv6Address
    for text in addrs:
        try:
            cls(text)
        except ValueError as err:
            raise ConfigError(f"jail {fam}.addr: {text!r} is not an "
                              f"{'IPv4' if fam == 'ip4' else 'IPv6'} address") from err
    problem = jailparams.check(f"{fam}.addr", list(addrs))
    if problem:
        raise ConfigError(f"jail {problem[1]}")


#: config field → jail parameter, for docs/freebsd.md (rendered by `render_field_table`).
FIELD_TABLE: tuple[tuple[str, str, str], ...] = (
    ("(container id)", "name", ("`<id>` with each `.` written `_` (`my.app` is jail "
     "`my_app`), or `<parent>.<id>` under a parent")),
    ("root.path", "path", "the rootfs, or the read-only alias under the state dir"),
    ("(always)", "persist", "true: the jail outlives its processes until delete"),
    ("hostname", "host, host.hostname", "host=new and the name when set; else host=inherit"),
    ("domainname", "host.domainname", "with host=new"),
    ("freebsd.jail.host", "host", "new or inherit; inherit plus hostname is an error"),
    ("freebsd.jail.parent / org.freebsd.parentJail", "name", ("child jail `<parent>.<id>`; "
     "the parent's children.max is raised and lowered again")),
    ("freebsd.jail.vnet / org.freebsd.jail.vnet", "vnet", ("new: own network stack, no "
     "ip4/ip6; inherit: not passed (shares the parent's stack)")),
    ("freebsd.jail.ip4, freebsd.jail.ip6", "ip4, ip6", "default inherit without vnet"),
    ("freebsd.jail.ip4Addr / org.freebsd.jail.ip4.addr", "ip4.addr, ip4=new",
     "in_addr array"),
    ("freebsd.jail.ip6Addr / org.freebsd.jail.ip6.addr", "ip6.addr, ip6=new",
     "in6_addr array"),
    ("freebsd.jail.sysvmsg/sysvsem/sysvshm / org.freebsd.jail.sysv*", ("sysvmsg, sysvsem, "
     "sysvshm"), "default new (allow.sysvipc annotation: inherit)"),
    ("freebsd.jail.enforceStatfs", "enforce_statfs", "0..2; default 2, legacy mode 1"),
    ("freebsd.jail.allow.<flag> / org.freebsd.jail.allow.<flag>", "allow.<flag>",
     "spec mode: false except suser; legacy: raw_sockets and chflags on"),
    ("freebsd.jail.allow.mount[]", "allow.mount, allow.mount.<fs>", "one per file system"),
    ("allow.mount.devfs granted", "devfs_ruleset", ("the /dev mount's ruleset, else 4 "
     "(checked as a /dev mount's is)")),
    ("freebsd.jail.interface", "(ifconfig alias)", ("each address aliased on it, removed at "
     "delete")),
    ("freebsd.jail.vnetInterfaces[]", "(ifconfig vnet)", "moved into the vnet after create"),
    ("freebsd.devices[]", "(devfs rule)", "`path <p> unhide mode <octal>` on /dev"),
    ("linux.resources.memory.limit", "(rctl) memoryuse:deny", "bytes"),
    ("linux.resources.cpu.quota/period", "(rctl) pcpu:deny", "percent of one CPU"),
    ("linux.resources.pids.limit", "(rctl) maxproc:deny", "processes"),
    ("linux.resources.cpu.cpus", "(cpuset -j -l)", "CPU list"),
    ("org.freebsd.rctl", "(rctl)", "`resource:action=amount[,...]`; fields win"),
)


def render_field_table() -> str:
    lines = ["| Config field | Jail parameter | Rule |", "|---|---|---|"]
    for field, param, rule in FIELD_TABLE:
        lines.append(f"| `{field}` | `{param}` | {rule} |")
    return "\n".join(lines) + "\n"
