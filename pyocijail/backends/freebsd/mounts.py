"""config.json `mounts` → ordered nmount(2) operations, planned without side effects.

Mounts are made from the host in listed order before any process enters the
jail and unmounted in reverse at delete (ocijail unmounted in config order).
Each destination is resolved inside the root as it will look once the
earlier mounts are in place (a volume can sit inside an earlier volume).
"""

from __future__ import annotations

import os
import re

from pyocijail import values
from pyocijail.backends.freebsd.kernel import MNT_FLAGS
from pyocijail.errors import ConfigError
from pyocijail.rootpath import (
    MAXSYMLINKS_FREEBSD,
    DirView,
    Node,
    Parts,
    ResolveError,
    host_node,
    walk,
)
from pyocijail.spec.model import Mount

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence


#: Option spellings that clear a flag.
NEGATIONS = {"rw": "ro", "exec": "noexec", "suid": "nosuid", "atime": "noatime",
             "symfollow": "nosymfollow"}
ALIASES = {"rdonly": "ro"}
#: Linux propagation/bind words: FreeBSD has no propagation, nullfs is always
#: "recursive enough". Device nodes exist only in devfs, so `nodev`/`dev` mean nothing.
IGNORED = frozenset({"bind", "rbind", "private", "rprivate", "slave", "rslave", "shared",
                     "rshared", "unbindable", "runbindable", "nodev", "dev"})
REJECTED = frozenset({"idmap", "ridmap"})
#: Names vfs_mount.c vfs_donmount reads itself (as flags or as its own arguments)
#: before any file system sees the list: passing one through would change what
#: the mount does (update, force, export, ...), so an unrecognised one of these is
#: refused for every file system. The flag words of MNT_FLAGS/NEGATIONS are handled.
NMOUNT_RESERVED = frozenset({
    "errmsg", "fstype", "fspath", "from", "target", "update", "force", "reload",
    "noasync", "clusterr", "clusterw", "noro", "autoro", "export", "automounted",
    "nocover", "cover", "emptydir", "noemptydir"})
PSEUDO = frozenset({"tmpcopyup", "notmpcopyup", "rule"})

#: nmount(2) file-system options each type accepts (its vfs option list).
FS_DATA: dict[str, frozenset[str]] = {
    "nullfs": frozenset({"cache", "nocache"}),
    "tmpfs": frozenset({"size", "mode", "uid", "gid", "inodes", "maxfilesize", "nonc",
                        "nomtime", "easize"}),
    "devfs": frozenset({"ruleset"}),
    "fdescfs": frozenset({"linrdlnk", "nodup"}),
    "procfs": frozenset(),
    "linprocfs": frozenset(),
    "linsysfs": frozenset(),
}
#: The ruleset a devfs mount without `ruleset=` gets: jail(8) mount.devfs uses
#: devfs_ruleset or "a default of ruleset 4: devfsrules_jail". Without the option
#: devfs_mount would use none at all and show every host device.
DEVFS_DEFAULT_RULESET = "4"
#: Kernel file systems: nothing can be created inside them before they exist.
VIRTUAL_FS = frozenset({"devfs", "fdescfs", "procfs", "linprocfs", "linsysfs"})


def recognised_options() -> list[str]:
    """Every mount option this backend understands (for `features`)."""
    names = set(MNT_FLAGS) | set(NEGATIONS) | set(ALIASES) | IGNORED | PSEUDO
    for keys in FS_DATA.values():
        names |= keys
    return sorted(names)


@values.frozen(kw_only=True)
class MountOp:
    """One nmount(2) call, then its devfs rules."""

    fstype: str
    source: str  # host path for nullfs; a name (devfs, tmpfs, fdesc, ...) otherwise
    target: str  # host path, through the jail path
    destination: str  # container path after resolution ("" for the read-only alias)
    flags: tuple[str, ...] = ()  # mount(8) flag names
    data: tuple[tuple[str, str | None], ...] = ()  # nmount file-system options
    rules: tuple[str, ...] = ()  # `devfs rule apply` token strings, in order
    file: bool = False  # single-file nullfs (FreeBSD 13.2+: VFCF_FILEMOUNT)
    tmpcopyup: bool = False  # copy the covered directory into the new tmpfs

    @property
    def options(self) -> list[str]:
        return [*self.flags, *(k if v is None else f"{k}={v}" for k, v in self.data)]

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"fstype": self.fstype, "source": self.source,
                                  "target": self.target, "destination": self.destination,
                                  "options": self.options, "rules": list(self.rules)}
        if self.file:
            out["file"] = True
        if self.tmpcopyup:
            out["tmpcopyup"] = True
        return out


@values.frozen(kw_only=True)
class MountPoint:
    """A missing mount point create makes (and delete removes), just before `mount`."""

    path: str  # host path where it is created
    kind: str  # dir | file
    mount: int  # index in the plan's mounts

    def to_json(self) -> dict[str, object]:
        return {"path": self.path, "kind": self.kind, "mount": self.mount}


@values.frozen(kw_only=True)
class Layer:
    dest: Parts
    fstype: str
    source: str = ""
    file: bool = False
    tmpcopyup: bool = False


class OverlayView:  # a rootpath.View
    """The container tree as it will be once `layers` are mounted (newest last)."""

    def __init__(self, rootfs: str, jail_path: str, layers: Sequence[Layer]) -> None:
        self.rootfs, self.jail_path, self.layers = rootfs, jail_path, list(layers)

    def _cover(self, parts: Parts, below: int | None = None) -> tuple[int, Layer | None]:
        top = len(self.layers) if below is None else below
        for i in range(top - 1, -1, -1):
            layer = self.layers[i]
            if parts[:len(layer.dest)] == layer.dest:
                return i, layer
        return -1, None

    def node(self, parts: Parts, below: int | None = None) -> Node:
        i, layer = self._cover(parts, below)
        if layer is None:
            return DirView(self.rootfs).node(parts)
        rest = parts[len(layer.dest):]
        if not rest:
            return Node("file" if layer.file else "dir")
        if layer.fstype == "nullfs":
            return host_node(os.path.join(layer.source, *rest))
        if layer.fstype == "tmpfs":
            return self.node(parts, i) if layer.tmpcopyup else Node("missing")
        return Node("virtual")

    def create_path(self, parts: Parts) -> str:
        """Where to create a missing `parts` so that it shows at its target."""
        _, layer = self._cover(parts)
        if layer is None:
            return os.path.join(self.rootfs, *parts)  # the writable tree, even with ro root
        if layer.fstype == "nullfs":
            return os.path.join(layer.source, *parts[len(layer.dest):])
        return os.path.join(self.jail_path, *parts)  # inside a tmpfs, once it is mounted


@values.frozen(kw_only=True)
class ParsedOptions:
    fstype: str
    flags: tuple[str, ...]
    data: tuple[tuple[str, str | None], ...]
    rules: tuple[str, ...]
    tmpcopyup: bool


def parse_options(mount: Mount, warn: list[str] | None = None) -> ParsedOptions:  # noqa: C901 - one branch per option family (sbin/mount/mntopts.h)
    """Map one mount's type and options to FreeBSD terms; ConfigError if impossible.

    An option this table does not know is refused for tmpfs and devfs, whose
    mount routines filter their option list (tmpfs_vfsops.c tmpfs_mount and
    devfs_vfsops.c devfs_mount call vfs_filteropt, which fails the mount with
    EINVAL "mount option <x> is unknown"). nullfs (null_vfsops.c nullfs_mount),
    fdescfs (fdesc_vfsops.c fdesc_mount) and the pseudofs file systems (pseudofs.c
    pfs_mount) only look up the options they read and never filter, so there an
    unknown option is passed to nmount as ocijail passes it, and the kernel
    ignores it; `warn` gets a line saying so.
    """
    where = f"mount {mount.destination}"
    options = list(mount.options)
    bind = any(o in ("bind", "rbind") for o in options)
    fstype = mount.type or ""
    if fstype in ("bind", "nullfs") or (fstype == "" and bind):
        fstype = "nullfs"
    if fstype not in FS_DATA:
        raise ConfigError(f"{where}: file system type {mount.type or '(none)'!r} is not "
                          f"supported on FreeBSD (use one of {', '.join(sorted(FS_DATA))})")
    if mount.uid_mappings or mount.gid_mappings:
        raise ConfigError(f"{where}: uidMappings/gidMappings are not supported on FreeBSD")
    flags: list[str] = ["ignore"]  # MNT_IGNORE: keep container mounts out of host df(1)
    data: dict[str, str | None] = {}
    rules: list[str] = []
    tmpcopyup = False
    for option in options:
        key, eq, value = option.partition("=")
        key = ALIASES.get(key, key)
        if key in REJECTED:
            raise ConfigError(f"{where}: option {key!r} (id-mapped mounts) is not supported "
                              "on FreeBSD")
        if key in IGNORED and not eq:
            continue
        if key in MNT_FLAGS and not eq:
            if MNT_FLAGS[key] >= 1 << 31 and fstype in FILTERING_FS:
                # nmount's int flags cannot carry bit 31 (sign extension), so libc.py
                # sends it as an option, which these file systems refuse.
                raise ConfigError(f"{where}: {key} cannot be given to {fstype} (it refuses "
                                  "the option, and nmount's flags cannot carry it)")
            if key not in flags:
                flags.append(key)
        elif key in NEGATIONS and not eq:
            if NEGATIONS[key] in flags:
                flags.remove(NEGATIONS[key])
        elif key in ("tmpcopyup", "notmpcopyup") and not eq:
            if fstype != "tmpfs":
                raise ConfigError(f"{where}: {key} applies only to tmpfs")
            tmpcopyup = key == "tmpcopyup"
        elif key == "rule":
            if fstype != "devfs":
                raise ConfigError(f"{where}: rule= applies only to devfs")
            rules.append(check_devfs_rule(value, where))
        elif key in FS_DATA[fstype]:
            data[key] = _check_data(fstype, key, value if eq else None, where)
        elif (fstype in FILTERING_FS or key in NMOUNT_RESERVED or key in MNT_FLAGS
              or key in NEGATIONS or key in PSEUDO or key in IGNORED or not key):
            raise ConfigError(f"{where}: option {option!r} is not known for {fstype}")
        else:
            data[key] = value if eq else None
            if warn is not None:
                warn.append(f"{where}: option {option!r} is not one {fstype} reads; passed "
                            f"to nmount, which ignores it ({fstype} does not filter its "
                            "options)")
    return ParsedOptions(fstype=fstype, flags=tuple(flags), data=tuple(data.items()),
                         rules=tuple(rules), tmpcopyup=tmpcopyup)


#: vfs_mount.c vfs_getopt_size: strtoq with base 0 (a leading 0 is octal, 0x hex),
#: then only k, m, g, t in either case; anything else fails the lookup, which
#: tmpfs_vfsops.c takes as "no limit". So: decimal without a leading zero, k-t only.
_SIZE = re.compile(r"^(0|[1-9][0-9]*)[kKmMgGtT]?$")
#: Filter their options with vfs_filteropt (tmpfs_vfsops.c, devfs_vfsops.c).
FILTERING_FS = frozenset({"tmpfs", "devfs"})


def _check_data(fstype: str, key: str, value: str | None, where: str) -> str | None:
    valueless = {"nocache", "cache", "nonc", "nomtime", "linrdlnk", "nodup"}
    if key in valueless:
        if value is not None:
            raise ConfigError(f"{where}: {key} takes no value")
        return None
    if value is None or value == "":
        raise ConfigError(f"{where}: {key} needs a value ({key}=...)")
    ok = True
    if key == "ruleset":
        ok = value.isdigit() and int(value) <= 65535
    elif key == "mode":
        ok = re.fullmatch(r"[0-7]{1,4}", value) is not None
    elif key in ("size", "maxfilesize", "inodes", "easize"):
        ok = _SIZE.match(value) is not None
    elif key in ("uid", "gid"):
        ok = value.isdigit()
    if not ok:
        raise ConfigError(f"{where}: bad value {value!r} for {fstype} option {key}")
    return value


# devfs(8) rule grammar: conditions (path, type) then one action.
_DEVFS_TYPES = {"disk", "mem", "tape", "tty"}


def check_devfs_rule(text: str, where: str = "devfs rule") -> str:
    """Validate a `rule apply` token string against devfs(8); returns it normalised."""
    tokens = text.split()
    if not tokens:
        raise ConfigError(f"{where}: empty devfs rule")
    i, conds = 0, 0
    while i < len(tokens) and tokens[i] in ("path", "type"):
        if i + 1 >= len(tokens):
            raise ConfigError(f"{where}: devfs rule {text!r}: {tokens[i]} needs an argument")
        if tokens[i] == "type" and tokens[i + 1] not in _DEVFS_TYPES:
            raise ConfigError(f"{where}: devfs rule {text!r}: unknown device type")
        i, conds = i + 2, conds + 1
    actions = 0
    while i < len(tokens):
        word = tokens[i]
        if word in ("hide", "unhide"):
            i += 1
        elif word in ("mode", "user", "group", "include"):
            if i + 1 >= len(tokens):
                raise ConfigError(f"{where}: devfs rule {text!r}: {word} needs an argument")
            arg = tokens[i + 1]
            if word == "mode" and re.fullmatch(r"[0-7]{1,4}", arg) is None:
                raise ConfigError(f"{where}: devfs rule {text!r}: mode must be octal")
            i += 2
        else:
            raise ConfigError(f"{where}: devfs rule {text!r}: unknown keyword {word!r}")
        actions += 1
    if actions == 0:
        raise ConfigError(f"{where}: devfs rule {text!r} has no action")
    return " ".join(tokens)


def plan_mounts(mounts: Sequence[Mount], *, bundle: str, rootfs: str, jail_path: str,
                alias: str | None, device_rules: Sequence[str] = (),
                warn: list[str] | None = None) -> tuple[list[MountOp], list[MountPoint]]:
    """The nmount operations and the mount points to create, in order."""
    ops: list[MountOp] = []
    points: list[MountPoint] = []
    layers: list[Layer] = []
    if alias is not None:
        # Read-only root: the jail's root is a read-only nullfs view of the
        # rootfs; volumes are mounted on the view, mount points made in the rootfs.
        ops.append(MountOp(fstype="nullfs", source=rootfs, target=alias, destination="",
                           flags=("ignore", "ro")))
        if host_node(alias).kind == "missing":
            points.append(MountPoint(path=alias, kind="dir", mount=0))
    devfs_on_dev: int | None = None
    for mount in mounts:
        parsed = parse_options(mount, warn)
        where = f"mount {mount.destination}"
        if parsed.fstype == "devfs" and "ruleset" not in dict(parsed.data):
            parsed = values.evolve(parsed, data=(*parsed.data,
                                                 ("ruleset", DEVFS_DEFAULT_RULESET)))
            if warn is not None:
                warn.append(f"{where}: devfs without ruleset= would show every host device; "
                            f"using ruleset={DEVFS_DEFAULT_RULESET} (devfsrules_jail, as "
                            "jail(8) mount.devfs does); write ruleset=0 to mean every device")
        if not mount.destination.startswith("/"):
            raise ConfigError(f"{where}: destination must be absolute")
        source, is_file = _source(mount, parsed.fstype, bundle, where)
        view = OverlayView(rootfs, jail_path, layers)
        try:
            res = walk(mount.destination, view, MAXSYMLINKS_FREEBSD)
        except ResolveError as err:
            raise ConfigError(f"{where}: cannot resolve inside the root: "
                              f"{err.strerror}") from err
        if not res.parts:
            raise ConfigError(f"{where}: mounting over the container root is not supported")
        want = "file" if is_file else "dir"
        if res.kind in ("dir", "file", "other") and res.kind != want:
            raise ConfigError(f"{where}: cannot mount a {'file' if is_file else 'directory'} "
                              f"on {res.path}, which is a {res.kind}")
        index = len(ops)
        for n, parts in enumerate(res.missing):
            last = n == len(res.missing) - 1
            points.append(MountPoint(path=view.create_path(parts),
                                     kind=want if last else "dir", mount=index))
        rules = parsed.rules
        if parsed.fstype == "devfs" and res.parts == ("dev",):
            devfs_on_dev = index
        ops.append(MountOp(fstype=parsed.fstype, source=source,
                           target=os.path.join(jail_path, *res.parts), destination=res.path,
                           flags=parsed.flags, data=parsed.data, rules=rules, file=is_file,
                           tmpcopyup=parsed.tmpcopyup))
        layers.append(Layer(dest=res.parts, fstype=parsed.fstype, source=source, file=is_file,
                            tmpcopyup=parsed.tmpcopyup))
    if device_rules:
        if devfs_on_dev is None:
            raise ConfigError("freebsd.devices needs a devfs mount on /dev to unhide them in")
        op = ops[devfs_on_dev]
        ops[devfs_on_dev] = values.evolve(op, rules=(*op.rules, *device_rules))
    return ops, points


def _source(mount: Mount, fstype: str, bundle: str, where: str) -> tuple[str, bool]:
    if fstype != "nullfs":
        return mount.source or fstype, False
    if not mount.source:
        raise ConfigError(f"{where}: a nullfs (bind) mount needs a source")
    source = os.path.normpath(os.path.join(bundle, mount.source))
    if not os.path.exists(source):
        raise ConfigError(f"{where}: source {source} does not exist")
    return source, not os.path.isdir(source)
