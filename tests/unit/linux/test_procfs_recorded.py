"""proc and sysfs mounts, their checked fds (`procfs`) and the sysctl writes on the
recording kernel, without root: the order and flags of each call, and that every
open beneath a kept tree refuses symlinks (CVE-2019-16884, CVE-2019-19921,
CVE-2025-52881; tests/security/test_procfs.py attacks the real thing as root)."""

from __future__ import annotations

import errno
import os
from types import SimpleNamespace

import pytest

from pyocijail.backends.linux import mounts, pivot, procfs
from pyocijail.backends.linux.backend import LinuxBackend
from pyocijail.backends.linux.libc import (
    AT_RECURSIVE,
    MS_BIND,
    MS_NODEV,
    MS_NOEXEC,
    MS_NOSUID,
    MS_RDONLY,
    MS_REC,
    MS_REMOUNT,
    OPEN_TREE_CLONE,
    PROC_SUPER_MAGIC,
    RESOLVE_BENEATH,
    RESOLVE_IN_ROOT,
    RESOLVE_NO_SYMLINKS,
    RESOLVE_NO_XDEV,
    SYSFS_MAGIC,
)
from pyocijail.errors import ConfigError, KernelError
from pyocijail.spec.model import Mount
from pyocijail.testing.nskernel import RecordingNsKernel

SAFE = MS_NOSUID | MS_NOEXEC | MS_NODEV
PATH_DIR = os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC
IN_ROOT = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS
STRICT = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV
PROC = Mount(destination="/proc", type="proc", source="proc",
             options=("nosuid", "noexec", "nodev"))
SYS = Mount(destination="/sys", type="sysfs", source="sysfs",
            options=("nosuid", "noexec", "nodev", "ro"))


def _kernel() -> RecordingNsKernel:
    k = RecordingNsKernel()
    k.add_dir("/rootfs/proc")
    k.add_dir("/rootfs/sys")
    return k


def _mounted(k: RecordingNsKernel) -> tuple[RecordingNsKernel, procfs.Trees]:
    """proc and sysfs mounted as runc's default config has them, their fds kept."""
    trees = procfs.Trees(k)
    mounts.mount_all(k, "/rootfs", [PROC, SYS], "/bundle", trees=trees)
    return k, trees


def test_proc_then_sysfs_each_checked_mounted_with_its_flags_then_kept_and_verified():
    """Per mount: its destination opened in the root without following a link
    (refused if it is one), made, mounted, then reopened the same way and
    fstatfs'ed. proc is nosuid,noexec,nodev; sysfs the same and read-only, in one
    mount(2) (a fresh sysfs takes MS_RDONLY directly)."""
    k, trees = _mounted(_kernel())
    steps = [(n, a) for n, a in k.trace()
             if n in ("openat2", "ensure_mountpoint", "mount", "fstatfs_type")]
    assert steps == [
        ("openat2", ("/rootfs", "/proc", os.O_PATH | os.O_CLOEXEC, IN_ROOT)),
        ("ensure_mountpoint", ("/rootfs", "/proc", True)),
        ("mount", ("proc", "/rootfs/proc", "proc", SAFE, None)),
        ("openat2", ("/rootfs", "/proc", PATH_DIR, IN_ROOT)),
        ("fstatfs_type", ("/rootfs/proc",)),
        ("openat2", ("/rootfs", "/sys", os.O_PATH | os.O_CLOEXEC, IN_ROOT)),
        ("ensure_mountpoint", ("/rootfs", "/sys", True)),
        ("mount", ("sysfs", "/rootfs/sys", "sysfs", SAFE | MS_RDONLY, None)),
        ("openat2", ("/rootfs", "/sys", PATH_DIR, IN_ROOT)),
        ("fstatfs_type", ("/rootfs/sys",))]
    assert {d: (kind, k.name_of(fd)) for d, (kind, fd) in trees.fds.items()} == {
        "/proc": ("proc", "/rootfs/proc"), "/sys": ("sysfs", "/rootfs/sys")}
    assert sorted(k.open_fds()) == ["/rootfs/proc", "/rootfs/sys"]  # the kept ones only
    trees.close()
    assert k.open_fds() == []


def test_a_proc_destination_that_is_a_symlink_is_refused_before_anything_is_mounted():
    """CVE-2019-19921 / CVE-2023-28642: /proc as a link into a volume."""
    k = RecordingNsKernel()
    k.add_dir("/rootfs/volume")
    k.add_link("/rootfs/proc", "/volume")
    with pytest.raises(KernelError) as e:
        mounts.mount_all(k, "/rootfs", [PROC], "/bundle", trees=procfs.Trees(k))
    assert e.value.errno == errno.ELOOP and "is a symlink" in str(e.value)
    assert "mount" not in k.names() and "ensure_mountpoint" not in k.names()
    assert k.open_fds() == []


def test_a_kept_tree_on_another_filesystem_is_closed_and_refused():
    """The folder procfs was mounted on, renamed away and replaced in between: the
    fd opened then is not on procfs (CVE-2025-52881)."""
    k = _kernel()  # nothing mounted on /rootfs/proc: the image's ext4 directory
    trees = procfs.Trees(k)
    with pytest.raises(KernelError, match="is not the proc the runtime mounted"):
        trees.keep("/rootfs", "/proc", "proc")
    assert trees.fds == {} and k.open_fds() == []


def test_a_sysfs_refused_without_a_new_netns_binds_the_hosts_read_only_and_is_verified():
    """In a user namespace without its own network namespace the kernel refuses a
    fresh sysfs (EPERM): the host's /sys is rbound, then remounted with the
    config's flags, and the fd kept is checked to be sysfs."""
    k = _kernel()
    trees = procfs.Trees(k)
    k.fail_next("mount", errno.EPERM)
    mounts.mount_all(k, "/rootfs", [SYS], "/bundle", trees=trees)
    assert [a for n, a in k.trace() if n == "mount"] == [
        ("sysfs", "/rootfs/sys", "sysfs", SAFE | MS_RDONLY, None),  # (refused)
        ("/sys", "/rootfs/sys", None, MS_BIND | MS_REC, None),
        (None, "/rootfs/sys", None, SAFE | MS_RDONLY | MS_BIND | MS_REMOUNT, None)]
    assert k.trace()[-1] == ("fstatfs_type", ("/rootfs/sys",))
    assert k.fstatfs_type(trees.fds["/sys"][1]) == SYSFS_MAGIC
    trees.close()
    assert k.open_fds() == []


def test_sysctls_are_written_beneath_the_kept_proc_fd_no_link_followed():
    k, trees = _mounted(_kernel())
    k.add_file("/rootfs/proc/sys/net/ipv4/ip_forward")
    k.add_file("/rootfs/proc/sys/kernel/msgmax")
    start = len(k.calls)
    pivot.apply_sysctl(k, {"net.ipv4.ip_forward": "1", "kernel.msgmax": "4242"}, trees=trees)
    assert k.trace()[start:] == [
        ("dup", ("/rootfs/proc",)),
        ("openat2", ("/rootfs/proc", "sys/net/ipv4/ip_forward",
                     os.O_WRONLY | os.O_TRUNC | os.O_CLOEXEC, STRICT)),
        ("write", ("/rootfs/proc/sys/net/ipv4/ip_forward", b"1")),
        ("close", ("/rootfs/proc/sys/net/ipv4/ip_forward",)),
        ("openat2", ("/rootfs/proc", "sys/kernel/msgmax",
                     os.O_WRONLY | os.O_TRUNC | os.O_CLOEXEC, STRICT)),
        ("write", ("/rootfs/proc/sys/kernel/msgmax", b"4242")),
        ("close", ("/rootfs/proc/sys/kernel/msgmax",)),
        ("close", ("/rootfs/proc",))]
    assert k.written == {"/rootfs/proc/sys/net/ipv4/ip_forward": [b"1"],
                         "/rootfs/proc/sys/kernel/msgmax": [b"4242"]}
    trees.close()
    assert k.open_fds() == []


def test_a_sysctl_key_that_is_not_namespaced_is_refused_before_any_call():
    k = _kernel()
    for key in ("vm.swappiness", "kernel..x", "net.ipv4/../../x"):
        with pytest.raises(ConfigError):
            pivot.apply_sysctl(k, {key: "1"}, trees=procfs.Trees(k))
    assert k.calls == []


def test_a_sysctl_file_that_is_a_symlink_is_refused_and_nothing_written():
    """CVE-2019-16884 class: a link planted under /proc/sys is never followed."""
    k, trees = _mounted(_kernel())
    k.add_file("/rootfs/etc/shadow")
    k.add_link("/rootfs/proc/sys/kernel/msgmax", "/etc/shadow")
    with pytest.raises(KernelError) as e:
        pivot.apply_sysctl(k, {"kernel.msgmax": "1"}, trees=trees)
    assert (e.value.op, e.value.errno, e.value.path) == ("sysctl", errno.ELOOP, "kernel.msgmax")
    assert "write" not in k.names() and k.written == {}
    trees.close()
    assert k.open_fds() == []


def test_a_mount_crossed_beneath_proc_is_retried_without_no_xdev_still_without_links():
    """EXDEV (a config mount or an earlier read-only path under /proc/sys): once
    more with RESOLVE_NO_XDEV dropped, RESOLVE_NO_SYMLINKS kept."""
    k, trees = _mounted(_kernel())
    k.add_file("/rootfs/proc/sys/kernel/msgmax")
    k.other_mounts.add("/rootfs/proc/sys")
    start = len(k.calls)
    pivot.apply_sysctl(k, {"kernel.msgmax": "7"}, trees=trees)
    opens = [a[3] for n, a in k.calls[start:] if n == "openat2"]
    assert opens == [STRICT, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS]
    assert k.written == {"/rootfs/proc/sys/kernel/msgmax": [b"7"]}
    trees.close()


def test_without_a_kept_procfs_the_sysctls_go_through_proc_opened_and_verified():
    k = RecordingNsKernel()
    k.add_file("/proc/sys/kernel/msgmax")
    pivot.apply_sysctl(k, {"kernel.msgmax": "9"}, trees=procfs.Trees(k))
    assert k.trace()[:2] == [
        ("open", ("/proc", os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, 0o777,
                  None)),
        ("fstatfs_type", ("/proc",))]
    assert k.written == {"/proc/sys/kernel/msgmax": [b"9"]}
    k2 = RecordingNsKernel()
    k2.add_dir("/proc")
    k2.fs_types["/proc"] = 0xEF53  # not procfs
    with pytest.raises(KernelError, match="is not the proc"):
        pivot.apply_sysctl(k2, {"kernel.msgmax": "9"}, trees=procfs.Trees(k2))
    assert k.open_fds() == [] and k2.open_fds() == []


def test_oom_score_adj_is_written_to_the_pid_procfs_own_self_link_names():
    k, trees = _mounted(_kernel())
    k.add_link("/rootfs/proc/self", "1")
    k.add_file("/rootfs/proc/1/oom_score_adj")
    proc = trees.proc()
    assert proc is not None and k.fstatfs_type(proc) == PROC_SUPER_MAGIC
    start = len(k.calls)
    procfs.write_own(k, proc, "oom_score_adj", "500")
    assert k.trace()[start:] == [
        ("readlink", ("self", "/rootfs/proc")),
        ("openat2", ("/rootfs/proc", "1/oom_score_adj", os.O_WRONLY | os.O_CLOEXEC, STRICT)),
        ("write", ("/rootfs/proc/1/oom_score_adj", b"500")),
        ("close", ("/rootfs/proc/1/oom_score_adj",))]
    trees.close()
    assert k.open_fds() == []


def test_proc_and_slash_proc_are_one_destination_the_one_mounted_over_is_closed():
    """`Trees` keys are normalised: "/proc" (not "//proc", as normpath keeps a
    leading double slash) whether the config says "proc" or "/proc"."""
    k = _kernel()
    k.mount("proc", "/rootfs/proc", "proc", 0, None)
    trees = procfs.Trees(k)
    trees.keep("/rootfs", "proc", "proc")
    trees.keep("/rootfs", "/proc", "proc")
    assert list(trees.fds) == ["/proc"] and len(k.open_fds()) == 1
    assert trees.find("/proc/sys") == ("proc", trees.fds["/proc"][1], "sys")
    trees.close()
    assert k.open_fds() == []


def test_on_host_names_the_paths_in_a_kept_tree_that_the_hosts_own_proc_and_sys_have():
    """Before pivot_root: masked paths the host's /proc or /sys has (lstat, no link
    followed) must be there in the container's; paths in no kept tree never count."""
    k, trees = _mounted(_kernel())
    k.add_file("/proc/kcore")
    k.add_link("/sys/firmware", "../elsewhere")  # a link counts: lexists, not exists
    k.add_file("/etc/hostname")
    start = len(k.calls)
    found = trees.on_host(["/proc/kcore", "/proc/acpi", "/sys/firmware", "/etc/hostname"])
    assert found == frozenset({"/proc/kcore", "/sys/firmware"})
    assert k.trace()[start:] == [("stat", (p, None, False))
                                 for p in ("/proc/kcore", "/proc/acpi", "/sys/firmware")]
    trees.close()


class _Log:
    def debug(self, text: str) -> None:
        pass


def test_isolate_keeps_the_proc_fd_enter_writes_sysctls_through_it_after_pivot_root():
    """The whole init on the double: the procfs mounted in isolate is the one the
    sysctls (after pivot_root, before the read-only and masked paths) and the
    read-only /proc/sys go through; enter keeps one fd of it for oom_score_adj."""
    k = RecordingNsKernel()
    k.add_dir("/rootfs/dev")
    k.add_dir("/rootfs/proc/sys/kernel")
    k.add_file("/rootfs/proc/sys/kernel/msgmax")
    k.add_dir("/proc/sys")  # the host has it: the container's must have it too
    flags = {"mount": None, "ipc": None}
    plan = SimpleNamespace(
        namespaces=list(flags.items()), personality=None, hostname=None, domainname=None,
        session_keyring=None, rootfs_propagation=None, rootfs="/rootfs", mounts=(PROC,),
        bundle="/bundle", mount_label=None, devices=(), cgroups=(),
        has=lambda kind: kind in flags, new=lambda kind: kind in flags,
        sysctl={"kernel.msgmax": "4242"}, readonly_paths=("/proc/sys",), masked_paths=(),
        readonly=False)
    backend = LinuxBackend(k, _Log())
    backend.isolate(plan, None)  # type: ignore[arg-type]
    backend.enter(plan)  # type: ignore[arg-type]
    names, trace = k.names(), k.trace()
    sysctl = trace.index(("openat2", ("/rootfs/proc", "sys/kernel/msgmax",
                                      os.O_WRONLY | os.O_TRUNC | os.O_CLOEXEC, STRICT)))
    assert names.index("pivot_root") < sysctl < names.index("open_tree")
    assert ("open_tree", ("/rootfs/proc/sys", OPEN_TREE_CLONE | AT_RECURSIVE)) in trace
    assert trace[names.index("open_tree") - 1] == (
        "openat2", ("/rootfs/proc", "sys", os.O_PATH | os.O_CLOEXEC, STRICT))
    assert k.written == {"/rootfs/proc/sys/kernel/msgmax": [b"4242"]}
    assert k.open_fds() == ["/rootfs/proc"]  # for become's oom_score_adj
    assert backend._proc is not None and k.name_of(backend._proc) == "/rootfs/proc"
    k.close(backend._proc)
