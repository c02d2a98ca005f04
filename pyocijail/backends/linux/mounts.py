"""The container's filesystem view on Linux: mounts, devices, pivot_root.

Library functions for the container's init process. Order of use:

    unshare(CLONE_NEWNS); set_root_propagation(...)         (the caller)
    bind_rootfs(rootfs)                                     before any mount in it
    mount_all(rootfs, spec.mounts, bundle)                  before pivot
    setup_devices(rootfs, linux.devices)                    before pivot
    pivot_root(rootfs)
    apply_sysctl(...), readonly_paths(...), mask_paths(...) after pivot
    remount_readonly_root()                                  last, if root.readonly
    make_root_unbindable()                                   last, if asked

`set_root_propagation`, `bind_rootfs`, `setup_devices`, `pivot_root`,
`remount_readonly_root`, `apply_sysctl` and `make_root_unbindable` live in `rootfs`,
`mask_paths` and `readonly_paths` in `masks` (module size); all are reachable from
here too.

Every mount target is opened with `rootpath.open_in_root` and mounted on
`/proc/self/fd/N`, so a symlink swapped into the rootfs between the check
and the mount cannot send a mount outside the rootfs. Mount point creation
is race-free the same way (`rootpath.make_mountpoint`). That `/proc` is the
host's, before pivot_root; after it nothing is reached through the
container's `/proc` (`procfs`).
"""

from __future__ import annotations

import errno
import os
import stat

from pyocijail import rootpath, values
from pyocijail.backends.linux import libc, procfs
from pyocijail.backends.linux.cgroups import unescape
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
from pyocijail.errors import ConfigError, KernelError
from pyocijail.failpoints import failpoint

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
_ATIME = MS_NOATIME | MS_RELATIME | MS_STRICTATIME

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


# --- helpers ------------------------------------------------------------------------

def _fd(fd: int) -> str:
    return f"/proc/self/fd/{fd}"


def _mount(log, source, target, fstype, flags, data, where) -> None:
    """mount(2) with a trace line; errors name the container path, not /proc/self/fd/N."""
    if log is not None:
        log.debug(f"mount {source} -> {where} type={fstype} flags={flags:#x} data={data!r}")
    try:
        libc.mount(source, target, fstype, flags, data or None)
    except KernelError as e:
        raise KernelError("mount", e.errno, where) from None


def _in_root(rootfs: str, dest: str, flags: int = os.O_PATH) -> int:
    return rootpath.open_in_root(rootfs, dest, flags)


def _remount_bind(log, target: str, set_flags: int, clear: int, where: str) -> None:
    """Apply per-mount flags to a bind mount, keeping the flags it already has
    (the kernel refuses to drop locked nosuid/nodev/noexec/atime in a userns)."""
    current = libc.mount_flags_of(target)
    if set_flags & _ATIME:
        current &= ~_ATIME
    wanted = (current & ~clear) | set_flags
    if wanted != current:
        _mount(log, None, target, None, wanted | MS_BIND | MS_REMOUNT, None, where)


def _bind(log, source: str, rootfs: str, dest: str, opts: MountOptions) -> None:
    fd = _in_root(rootfs, dest)
    try:
        _mount(log, source, _fd(fd), None, MS_BIND | (opts.flags & MS_REC), None, dest)
    finally:
        os.close(fd)
    extra = opts.flags & ~(MS_BIND | MS_REC | MS_REMOUNT)
    if extra or opts.clear:
        # Reopen: the old fd still names the covered directory, not the new mount.
        # Like runc, only the top mount of an rbind gets the flags (use rro for more).
        fd = _in_root(rootfs, dest)
        try:
            _remount_bind(log, _fd(fd), extra, opts.clear, dest)
        finally:
            os.close(fd)


def mountinfo() -> list[tuple[int, int, str, str]]:
    """(mount id, parent id, mount point, per-mount options) from /proc/self/mountinfo."""
    result = []
    with open("/proc/self/mountinfo", encoding="utf-8", errors="surrogateescape") as f:
        for line in f:
            fields = line.split(" ")
            result.append((int(fields[0]), int(fields[1]), unescape(fields[4]), fields[5]))
    return result


def _copy_tree(src: int, dst: int) -> None:
    """Copy a directory's content between two directory fds (for tmpcopyup):
    modes, owners, times, symlinks and device nodes; hard links become copies."""
    for entry in os.scandir(src):
        name, st = entry.name, entry.stat(follow_symlinks=False)
        mode = st.st_mode
        if stat.S_ISDIR(mode):
            os.mkdir(name, 0o700, dir_fd=dst)
            flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
            s, d = os.open(name, flags, dir_fd=src), os.open(name, flags, dir_fd=dst)
            try:
                _copy_tree(s, d)
                os.fchown(d, st.st_uid, st.st_gid)
                os.fchmod(d, stat.S_IMODE(mode))
            finally:
                os.close(s)
                os.close(d)
        elif stat.S_ISREG(mode):
            s = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=src)
            d = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                        | os.O_CLOEXEC, 0o600, dir_fd=dst)
            try:
                while os.sendfile(d, s, None, 1 << 30) > 0:
                    pass
                os.fchown(d, st.st_uid, st.st_gid)
                os.fchmod(d, stat.S_IMODE(mode))
            finally:
                os.close(s)
                os.close(d)
        elif stat.S_ISLNK(mode):
            os.symlink(os.readlink(name, dir_fd=src), name, dir_fd=dst)
            os.chown(name, st.st_uid, st.st_gid, dir_fd=dst, follow_symlinks=False)
        else:  # device, fifo, socket
            os.mknod(name, mode, st.st_rdev, dir_fd=dst)
            os.chown(name, st.st_uid, st.st_gid, dir_fd=dst, follow_symlinks=False)
        os.utime(name, ns=(st.st_atime_ns, st.st_mtime_ns), dir_fd=dst, follow_symlinks=False)


def _tmpfs_copyup(log, source: str, rootfs: str, dest: str, opts: MountOptions) -> None:
    """Mount a tmpfs over `dest` holding a copy of what it covers.

    Diverges from runc (which mounts in a temporary dir and moves it): we keep
    an fd of the covered directory open, so no temporary mount point is needed.
    runc does not chown the tmpfs; here it keeps the covered directory's owner.
    The tmpfs is mounted writable and made read-only after the copy if asked.
    """
    lower = _in_root(rootfs, dest, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fd = _in_root(rootfs, dest)
        try:
            _mount(log, source, _fd(fd), "tmpfs", opts.flags & ~MS_RDONLY, opts.data, dest)
        finally:
            os.close(fd)
        upper = _in_root(rootfs, dest, os.O_RDONLY | os.O_DIRECTORY)
        try:
            st = os.fstat(lower)
            os.fchown(upper, st.st_uid, st.st_gid)  # (the mode: `_tmpfs_mode`)
            if log is not None:
                log.debug(f"tmpcopyup {dest}")
            _copy_tree(lower, upper)
            if opts.readonly:
                _mount(log, None, _fd(upper), None, opts.flags | MS_REMOUNT, opts.data, dest)
        finally:
            os.close(upper)
    finally:
        os.close(lower)


def _cgroup(log, rootfs: str, dest: str, opts: MountOptions) -> None:
    """`type: cgroup` on this cgroup v1/v2 hybrid: rbind the host's /sys/fs/cgroup.

    runc instead mounts a tmpfs and binds the container's own sub-hierarchy of
    each controller; here the whole host tree is visible (read-only when the
    config says ro, which podman does) until a cgroup namespace implementation
    lands. Flags go to every submount, since each controller is its own mount.
    """
    bind = MountOptions(flags=opts.flags | MS_BIND | MS_REC, clear=opts.clear)
    _bind(log, "/sys/fs/cgroup", rootfs, dest, bind)
    extra = opts.flags & ~(MS_BIND | MS_REC | MS_REMOUNT)
    if not (extra or opts.clear):
        return
    top = rootpath.resolve(rootfs, dest)
    for _id, _parent, point, _opts in mountinfo():
        if point.startswith(top + "/"):
            _remount_bind(log, point, extra, opts.clear, dest + point[len(top):])


def _plain(log, source: str, rootfs: str, dest: str, kind: str, opts: MountOptions) -> None:
    """Any other filesystem type: one mount(2) with the flags and data."""
    data = opts.data
    if kind == "devpts":  # a private pty instance, usable by non-root users (as runc)
        words = data.split(",") if data else []
        given = {w.split("=")[0] for w in words}
        words += [w for w in ("newinstance", "ptmxmode=0666") if w.split("=")[0] not in given]
        data = ",".join(words)
    fd = _in_root(rootfs, dest)
    try:
        _mount(log, source, _fd(fd), kind, opts.flags, data, dest)
    except KernelError as e:
        # Without its own network namespace (in a userns) the kernel refuses a
        # fresh sysfs, and cgroup2 may be refused too: show the host's, like runc
        # does for sysfs.
        if e.errno not in (errno.EPERM, errno.EBUSY) or kind not in ("sysfs", "cgroup2"):
            raise
        host = "/sys" if kind == "sysfs" else "/sys/fs/cgroup/unified"
        _bind(log, host, rootfs, dest,
              MountOptions(flags=opts.flags | MS_BIND | MS_REC, clear=opts.clear))
    finally:
        os.close(fd)


def _tmpfs_mode(rootfs: str, dest: str, opts: MountOptions, *, existed: bool) -> MountOptions:
    """As runc: a tmpfs over a directory the image has takes its mode (a `mode=`
    in the options still wins, coming later); on a mount point made just now it
    keeps tmpfs's own 1777, so any user may write there (`--tmpfs /x`, podman's
    `--read-only` /run and /var/tmp on an image that lacks them)."""
    if not existed:
        return opts
    fd = _in_root(rootfs, dest)
    try:
        mode = stat.S_IMODE(os.fstat(fd).st_mode)
    finally:
        os.close(fd)
    data = f"mode={mode:04o}" + (f",{opts.data}" if opts.data else "")
    return values.evolve(opts, data=data)


# --- mount_all ------------------------------------------------------------------------

def mount_all(rootfs: str, mounts: Sequence[model.Mount], bundle: str, *, log=None,
              created: list[str] | None = None, cgroup_mount=None,
              trees: procfs.Trees | None = None,
              mount_label: str | None = None) -> list[str]:
    """Mount every entry of `mounts`, in order, under `rootfs` (before pivot_root).

    Call in the container's own mount namespace with "/" already rslave or
    rprivate. Missing mount points are created (a file when a bind source is a
    file). Returns the host paths created inside the rootfs, deepest last; pass
    `created` to have them appended as they are made (kept on an exception).
    `cgroup_mount(log, rootfs, dest, opts)` replaces the default handling of
    `type: cgroup` (an rbind of the host's /sys/fs/cgroup). A proc or sysfs
    destination that is a symlink is refused; `trees` gets a checked fd of each
    procfs and sysfs mounted, for what is done in them after pivot_root.
    `mount_label` (SELinux) is given to the mounts runc labels (`lsm.mount_data`).
    """
    created = [] if created is None else created
    for m in mounts:
        opts = check_mount(m)
        kind = m.type or ""
        is_bind = opts.bind or kind == "bind"
        if is_bind:
            source = os.path.join(bundle, m.source or "")  # absolute source stays as is
            try:
                is_dir = stat.S_ISDIR(os.stat(source).st_mode)
            except OSError as e:
                raise KernelError("stat", e.errno, source) from None
        else:
            source, is_dir = m.source or kind, True
        if kind in procfs.KINDS:
            procfs.check_destination(rootfs, m.destination, kind)
        made = rootpath.ensure_mountpoint(rootfs, m.destination, directory=is_dir)
        created.extend(made)
        if kind == "tmpfs":
            opts = _tmpfs_mode(rootfs, m.destination, opts, existed=not made)
        if not is_bind and mount_label:
            from pyocijail.backends.linux import lsm  # (loaded by the plan, in R)

            opts = values.evolve(opts, data=lsm.mount_data(kind, opts.data, mount_label))
        if is_bind:
            opts = values.evolve(opts, flags=opts.flags | MS_BIND)  # type "bind" alone binds
            _bind(log, source, rootfs, m.destination, opts)
        elif opts.tmpcopyup:
            _tmpfs_copyup(log, source, rootfs, m.destination, opts)
        elif kind == "cgroup":
            (cgroup_mount or _cgroup)(log, rootfs, m.destination, opts)
        else:
            _plain(log, source, rootfs, m.destination, kind, opts)
            if kind in procfs.KINDS and trees is not None:
                trees.keep(rootfs, m.destination, kind)
            if kind == "mqueue" and mount_label:  # runc: a file label, not context=
                from pyocijail.backends.linux import lsm

                fd = _in_root(rootfs, m.destination, os.O_RDONLY | os.O_DIRECTORY)
                try:
                    lsm.label_file(fd, mount_label)
                finally:
                    os.close(fd)
        for flag in opts.propagation:
            fd = _in_root(rootfs, m.destination)
            try:
                _mount(log, None, _fd(fd), None, flag, None, m.destination)
            finally:
                os.close(fd)
        failpoint("create.linux.after-mount")
    return created


_IN_ROOTFS = frozenset({"set_root_propagation", "setup_devices", "bind_rootfs", "pivot_root",
                        "make_root_unbindable",
                        "remount_readonly_root", "apply_sysctl", "check_sysctl",
                        "DEFAULT_DEVICES"})
_IN_MASKS = frozenset({"mask_paths", "readonly_paths"})


def __getattr__(name: str):
    """`mounts.pivot_root` etc.: the second half of this API, loaded on first use."""
    if name in _IN_ROOTFS:
        from pyocijail.backends.linux import rootfs

        return getattr(rootfs, name)
    if name in _IN_MASKS:
        from pyocijail.backends.linux import masks

        return getattr(masks, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
