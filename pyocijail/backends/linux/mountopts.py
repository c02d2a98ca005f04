"""Mount options: an OCI mount's `options` split into what mount(2) needs (pure).

Used by the plan in the runtime process (every refusal before a side effect)
and by `mounts` in the init. A new mount option goes in the tables below;
`MOUNT_OPTIONS` is what `features` reports.
"""

from __future__ import annotations

from pyocijail import values
from pyocijail.backends.linux.libc import (
    MS_BIND,
    MS_DIRSYNC,
    MS_I_VERSION,
    MS_LAZYTIME,
    MS_MANDLOCK,
    MS_NOATIME,
    MS_NODEV,
    MS_NODIRATIME,
    MS_NOEXEC,
    MS_NOSUID,
    MS_NOSYMFOLLOW,
    MS_POSIXACL,
    MS_PRIVATE,
    MS_RDONLY,
    MS_REC,
    MS_RELATIME,
    MS_REMOUNT,
    MS_SHARED,
    MS_SILENT,
    MS_SLAVE,
    MS_STRICTATIME,
    MS_SYNCHRONOUS,
    MS_UNBINDABLE,
)
from pyocijail.errors import ConfigError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    from pyocijail.spec import model

# --- options ------------------------------------------------------------------

#: Options that set a flag (bind/rbind included: they are MS_BIND[|MS_REC]).
_SET = {
    "ro": MS_RDONLY, "nosuid": MS_NOSUID, "nodev": MS_NODEV, "noexec": MS_NOEXEC,
    "sync": MS_SYNCHRONOUS, "dirsync": MS_DIRSYNC, "remount": MS_REMOUNT,
    "mand": MS_MANDLOCK, "noatime": MS_NOATIME, "nodiratime": MS_NODIRATIME,
    "relatime": MS_RELATIME, "strictatime": MS_STRICTATIME, "nosymfollow": MS_NOSYMFOLLOW,
    "iversion": MS_I_VERSION, "lazytime": MS_LAZYTIME, "silent": MS_SILENT,
    "acl": MS_POSIXACL, "bind": MS_BIND, "rbind": MS_BIND | MS_REC,
}
#: Options that clear a flag; on a bind mount they also clear an inherited flag.
_CLEAR = {
    "rw": MS_RDONLY, "suid": MS_NOSUID, "dev": MS_NODEV, "exec": MS_NOEXEC,
    "async": MS_SYNCHRONOUS, "nomand": MS_MANDLOCK, "atime": MS_NOATIME,
    "diratime": MS_NODIRATIME, "norelatime": MS_RELATIME, "nostrictatime": MS_STRICTATIME,
    "symfollow": MS_NOSYMFOLLOW, "noiversion": MS_I_VERSION, "nolazytime": MS_LAZYTIME,
    "loud": MS_SILENT, "noacl": MS_POSIXACL,
}
#: Propagation changes, applied in order after the mount itself.
_PROPAGATION = {
    "private": MS_PRIVATE, "rprivate": MS_PRIVATE | MS_REC,
    "shared": MS_SHARED, "rshared": MS_SHARED | MS_REC,
    "slave": MS_SLAVE, "rslave": MS_SLAVE | MS_REC,
    "unbindable": MS_UNBINDABLE, "runbindable": MS_UNBINDABLE | MS_REC,
}
#: Recognised but refused: id-mapped mounts and runc's recursive attributes
#: (mount_setattr) are not implemented; passing them to the fs would fail later
#: with a less helpful EINVAL, and silently ignoring "rro" would be unsafe.
_UNSUPPORTED = frozenset({"idmap", "ridmap", "rro", "rrw", "rnosuid", "rsuid", "rnodev",
                          "rdev", "rnoexec", "rexec", "rnoatime", "ratime", "rrelatime",
                          "rnorelatime", "rstrictatime", "rnostrictatime", "rnodiratime",
                          "rdiratime", "rnosymfollow", "rsymfollow"})

#: Every option word this module understands (for `features`).
MOUNT_OPTIONS = tuple(sorted({*_SET, *_CLEAR, *_PROPAGATION, "defaults", "tmpcopyup",
                              "notmpcopyup"}))


@values.frozen
class MountOptions:
    """An OCI mount's `options`, split into what mount(2) needs."""

    flags: int = 0  #: MS_* to set, including MS_BIND / MS_REC for bind / rbind
    clear: int = 0  #: MS_* explicitly cleared (rw, suid, ...); used on bind remounts
    propagation: tuple[int, ...] = ()  #: MS_{PRIVATE,SHARED,SLAVE,UNBINDABLE}[|MS_REC]
    data: str = ""  #: everything else, comma-joined, for the filesystem
    tmpcopyup: bool = False  #: copy the covered directory's content into a tmpfs

    @property
    def bind(self) -> bool:
        return bool(self.flags & MS_BIND)

    @property
    def recursive(self) -> bool:
        return bool(self.flags & MS_REC)

    @property
    def readonly(self) -> bool:
        return bool(self.flags & MS_RDONLY)


def parse_options(options: Sequence[str]) -> MountOptions:
    """Split option words; later words win over earlier ones (ro then rw = rw).

    `key=value` and unknown words go to the filesystem as data, as runc does.
    """
    flags = clear = 0
    propagation: list[int] = []
    data: list[str] = []
    copyup = False
    for word in options:
        if word in _SET:
            flags |= _SET[word]
            clear &= ~_SET[word]
        elif word in _CLEAR:
            clear |= _CLEAR[word]
            flags &= ~_CLEAR[word]
        elif word in _PROPAGATION:
            propagation.append(_PROPAGATION[word])
        elif word in ("tmpcopyup", "notmpcopyup"):
            copyup = word == "tmpcopyup"
        elif word in _UNSUPPORTED:
            raise ConfigError(f"mount option {word!r} is not supported")
        elif word and word != "defaults":
            data.append(word)
    return MountOptions(flags=flags, clear=clear, propagation=tuple(propagation),
                        data=",".join(data), tmpcopyup=copyup)


def check_mount(m: model.Mount) -> MountOptions:
    """Everything about one mount that can be refused before any side effect."""
    if m.uid_mappings or m.gid_mappings:
        raise ConfigError(f"mount {m.destination}: uidMappings/gidMappings are not supported")
    opts = parse_options(m.options)
    if not (opts.bind or m.type == "bind" or m.type):
        raise ConfigError(f"mount {m.destination}: no type and not a bind mount")
    if (opts.bind or m.type == "bind") and not m.source:
        raise ConfigError(f"mount {m.destination}: a bind mount needs a source")
    if opts.tmpcopyup and m.type != "tmpfs":
        raise ConfigError(f"mount {m.destination}: tmpcopyup needs type tmpfs")
    return opts
