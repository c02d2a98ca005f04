"""AppArmor and SELinux: checked at create (host side), applied just before exec.

What runc does (libcontainer/apparmor `ApplyProfile`, go-selinux `SetExecLabel`,
rootfs_linux.go `mountToRootfs`): the AppArmor profile and the SELinux process
label are written to the process's own attr files, so the kernel applies them
at the next execve; `linux.mountLabel` becomes a `context="..."` option of the
mounts that take one. Where the LSM is absent, runc fails (go-selinux drops a
mount label silently); here every requested confinement the host cannot give
is refused at create with one line naming the LSM, before anything is made.

The roots (`/sys/module`, `/sys/kernel/security`, `/sys/fs/selinux`,
`/proc/thread-self/attr`) are parameters so that the enabled paths can be
tested against a temporary directory on a host that has neither LSM.
"""

from __future__ import annotations

import os

from pyocijail.errors import ConfigError, KernelError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pyocijail.spec.model import Process

SYS_MODULE = "/sys/module"
SECURITYFS = "/sys/kernel/security"
SELINUXFS = "/sys/fs/selinux"
PROC_ATTR = ("/proc/thread-self/attr", "/proc/self/attr")  # thread-self: Linux >= 3.17
PROC_SUPER_MAGIC = 0x9FA0
#: a profile the kernel always has (podman's `--security-opt apparmor=unconfined`)
UNCONFINED = "unconfined"


def apparmor_enabled(sys_module: str = SYS_MODULE, securityfs: str = SECURITYFS) -> bool:
    """runc's test: securityfs shows apparmor and the module parameter says Y."""
    if not os.path.isdir(f"{securityfs}/apparmor"):
        return False
    try:
        with open(f"{sys_module}/apparmor/parameters/enabled", "rb") as f:
            return f.read(1) == b"Y"
    except OSError:
        return False


def selinux_enabled(selinuxfs: str = SELINUXFS) -> bool:
    """selinuxfs is mounted (its `enforce` file exists): go-selinux's test, less
    its check that the runtime's own label is not "kernel"."""
    return os.path.isfile(f"{selinuxfs}/enforce")


def apparmor_profiles(securityfs: str = SECURITYFS) -> set[str] | None:
    """Names of the loaded profiles (lines `name (mode)`), None if unreadable."""
    try:
        with open(f"{securityfs}/apparmor/profiles", encoding="utf-8",
                  errors="surrogateescape") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    return {line.rsplit(" (", 1)[0] for line in lines if line}


def _check_text(field: str, value: str, *, forbidden: str = "") -> None:
    """Labels are hostile input: no control characters (the attr write and the
    mount data end at them) and, for SELinux, no quote (`context="..."`)."""
    if len(value) > 4096 or any(ord(c) < 0x20 or c == "\x7f" or c in forbidden
                                for c in value):
        raise ConfigError(f"{field}: {value[:80]!r} is not a valid label")


def check(process: Process | None, mount_label: str | None, *,
          sys_module: str = SYS_MODULE, securityfs: str = SECURITYFS,
          selinuxfs: str = SELINUXFS) -> None:
    """Refuse, before any side effect, what the host's LSMs cannot apply."""
    profile = process.apparmor_profile if process is not None else None
    label = process.selinux_label if process is not None else None
    if profile:
        _check_text("process.apparmorProfile", profile)
        if not apparmor_enabled(sys_module, securityfs):
            raise ConfigError(f"process.apparmorProfile {profile!r}: AppArmor is not "
                              "enabled on this host")
        loaded = apparmor_profiles(securityfs)
        # (unreadable list: the kernel refuses an unknown profile at the attr write)
        if profile != UNCONFINED and loaded is not None and profile not in loaded:
            raise ConfigError(f"process.apparmorProfile {profile!r}: no such AppArmor "
                              f"profile is loaded (see {securityfs}/apparmor/profiles)")
    for field, value in (("process.selinuxLabel", label), ("linux.mountLabel", mount_label)):
        if value:
            _check_text(field, value, forbidden='"')
            if not selinux_enabled(selinuxfs):
                raise ConfigError(f"{field} {value!r}: SELinux is not enabled on this host")


def apply_exec(process: Process, *, attr: tuple[str, ...] = PROC_ATTR) -> None:
    """In the process about to exec (after the user change, before no_new_privs
    and seccomp): the profile and label the kernel gives the next execve."""
    if process.apparmor_profile:
        # runc's order: the AppArmor subdirectory (Linux >= 5.8, LSM stacking), else
        # the shared file.
        write_attr(("apparmor/exec", "exec"), f"exec {process.apparmor_profile}",
                   "AppArmor profile", attr)
    if process.selinux_label:
        write_attr(("exec",), process.selinux_label, "SELinux label", attr)


def set_key_label(label: str, *, attr: tuple[str, ...] = PROC_ATTR) -> None:
    """The SELinux label the keyrings this thread creates get (runc: SetKeyLabel
    before joining the container's session keyring, reset to "" after)."""
    write_attr(("keycreate",), label, "SELinux keyring label", attr)


def write_attr(names: tuple[str, ...], value: str, what: str,
               attr: tuple[str, ...] = PROC_ATTR) -> None:
    """Write `value` to the first of `names` that exists under the first `attr`
    directory that exists. The only place that opens the attr files: the
    verified procfs access (another branch) replaces the open here. Until then:
    no symlink at the last step, and the fd must be on procfs (when `attr` is
    the real one), so a rootfs that swapped /proc cannot take the write."""
    base = next((d for d in attr if os.path.isdir(d)), attr[0])
    err: OSError | None = None
    for name in names:
        path = f"{base}/{name}"
        try:
            fd = os.open(path, os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except FileNotFoundError as e:
            err = e
            continue
        except OSError as e:
            raise KernelError(f"set {what}", e.errno, path) from None
        try:
            if attr == PROC_ATTR and _fs_type(fd) != PROC_SUPER_MAGIC:
                raise KernelError(f"set {what}", None, path, "not on procfs")
            os.write(fd, value.encode("utf-8", "surrogateescape"))
        except OSError as e:
            raise KernelError(f"set {what} {value!r}", e.errno, path) from None
        finally:
            os.close(fd)
        return
    assert err is not None
    raise KernelError(f"set {what}", err.errno, f"{base}/{names[0]}")


def _fs_type(fd: int) -> int:
    from pyocijail.backends.linux import libc

    return libc.fstatfs_type(fd)


#: Mount types runc gives the mount label to as `context=` (mountPropagate with
#: the label: tmpfs and the default branch); proc and sysfs cannot be labelled,
#: bind mounts ignore data, and mqueue is labelled by xattr instead.
_UNLABELLED = frozenset({"proc", "sysfs", "mqueue", "bind", "cgroup"})


def mount_data(kind: str, data: str, label: str | None) -> str:
    """`data` with the mount label added, for the mount types runc labels."""
    if not label or kind in _UNLABELLED:
        return data
    context = f'context="{label}"'
    return f"{data},{context}" if data else context


def label_file(fd: int, label: str | None) -> None:
    """The label of an mqueue mount's root (runc: label.SetFileLabel)."""
    if label:
        try:
            os.setxattr(fd, "security.selinux", label.encode())
        except OSError as e:
            raise KernelError("set SELinux label of mqueue", e.errno) from None
