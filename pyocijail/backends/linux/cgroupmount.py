"""A `type: cgroup` mount that shows the container its own cgroup, as runc does.

On v1 and hybrid hosts: a tmpfs at the destination, and in it one directory
per v1 hierarchy (named as on the host: cpu, memory, systemd, ...; in the
host's mount order) on which the container's own directory of that hierarchy
is bind-mounted; the host's symlinks (cpu,cpuacct → cpu) are copied. As runc,
a hybrid host's cgroup2 hierarchy (/sys/fs/cgroup/unified) is not shown: a
systemd in the container then runs in legacy mode, as it does under runc. On
a pure v2 host: the container's directory bind-mounted on the destination (or,
with a new cgroup namespace, a fresh cgroup2 mount, which shows the
namespace's root).
Options (nosuid, nodev, noexec, ro, ...) apply to the tmpfs and every bind.
Diverges from runc 1.1, whose tmpfs stays writable whatever the options say
(its older versions and crun remount it read-only, as here).
Called in the init process, in its own mount namespace, before pivot_root.
"""

from __future__ import annotations

import os

from pyocijail.backends.linux import libc, mountlib
from pyocijail.backends.linux.cgroups import Cgroup
from pyocijail.backends.linux.mountlib import fd_path, in_root
from pyocijail.backends.linux.mountopts import MountOptions

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    from pyocijail.backends.linux.kernel import NsKernel
    from pyocijail.log import LogSink

_KEEP = (libc.MS_NOSUID | libc.MS_NODEV | libc.MS_NOEXEC | libc.MS_RELATIME
         | libc.MS_NOATIME | libc.MS_STRICTATIME | libc.MS_NODIRATIME)


def mount_cgroups(kernel: NsKernel, log: LogSink, rootfs: str, dest: str, opts: MountOptions,
                  groups: Sequence[Cgroup], new_namespace: bool,
                  mount_label: str | None = None) -> None:
    """`mount_label`: SELinux, for the v1 tmpfs (as runc; binds take no label)."""
    flags = opts.flags & _KEEP
    data = "mode=755"
    if mount_label:
        from pyocijail.backends.linux import lsm  # (loaded by the plan, in R)

        data = lsm.mount_data("tmpfs", data, mount_label)
    readonly = opts.readonly
    binds = libc.MS_BIND | flags | (libc.MS_RDONLY if readonly else 0)
    if len(groups) == 1 and groups[0].name == "":
        if new_namespace:
            fd = in_root(kernel, rootfs, dest)
            try:
                mountlib.mount(kernel, log, "cgroup2", fd_path(fd), "cgroup2",
                               flags | (libc.MS_RDONLY if readonly else 0), None, dest)
            finally:
                kernel.close(fd)
        else:
            mountlib.bind(kernel, log, groups[0].dir, rootfs, dest, binds, opts.clear)
        return
    if any(g.version == 1 for g in groups):
        order = {point: i for i, (_id, _parent, point, _o) in enumerate(mountlib.mountinfo(kernel))}
        groups = sorted((g for g in groups if g.version == 1),
                        key=lambda g: order.get(g.mountpoint, len(order)))
    fd = in_root(kernel, rootfs, dest)
    try:
        mountlib.mount(kernel, log, "tmpfs", fd_path(fd), "tmpfs", flags, data, dest)
    finally:
        kernel.close(fd)
    for group in groups:
        sub = f"{dest.rstrip('/')}/{group.name}"
        kernel.ensure_mountpoint(rootfs, sub, directory=True)
        mountlib.bind(kernel, log, group.dir, rootfs, sub, binds, opts.clear)
    top = os.path.dirname(groups[0].mountpoint) if groups else ""
    try:
        links = kernel.list_symlinks(top) if top else []
    except OSError:
        links = []
    for name in links:
        target = kernel.readlink(os.path.join(top, name))
        if "/" not in target:
            pfd = in_root(kernel, rootfs, dest, os.O_PATH | os.O_DIRECTORY)
            try:
                kernel.symlink(target, name, dir_fd=pfd)
            except FileExistsError:
                pass
            finally:
                kernel.close(pfd)
    if readonly:
        fd = in_root(kernel, rootfs, dest)
        try:
            mountlib.mount(kernel, log, None, fd_path(fd), None,
                           libc.MS_REMOUNT | libc.MS_RDONLY | flags, data, dest)
        finally:
            kernel.close(fd)
