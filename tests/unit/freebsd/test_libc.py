"""The pure parts of the libc kernel: parameter encoding and iovec building."""

from __future__ import annotations

import ctypes
import os
import socket
import struct
import subprocess
import sys

import pytest

from pyocijail.backends.freebsd import libc
from pyocijail.backends.freebsd.libc import build_iovec, encode_param
from pyocijail.errors import KernelError


def test_booleans_use_name_and_noname() -> None:
    """true is the bare name, false the `no` form of its last component; no value."""
    assert encode_param("persist", True) == (b"persist\0", None)
    assert encode_param("persist", False) == (b"nopersist\0", None)
    assert encode_param("allow.mount.tmpfs", False) == (b"allow.mount.notmpfs\0", None)


def test_unsigned_long_is_native_size() -> None:
    """host.hostid is copied into an unsigned long (8 bytes on LP64, kern_jail.c);
    vfs_copyopt refuses any other length with EINVAL."""
    value = encode_param("host.hostid", 7)[1]
    assert value is not None and len(value) == ctypes.sizeof(ctypes.c_ulong)
    assert ctypes.c_ulong.from_buffer_copy(value).value == 7


def test_ints_and_jailsys_are_c_ints() -> None:
    """Integers and disable/new/inherit are 4-byte native C ints."""
    assert encode_param("enforce_statfs", 2) == (b"enforce_statfs\0", struct.pack("=i", 2))
    assert encode_param("vnet", "new")[1] == struct.pack("=i", 1)
    assert encode_param("sysvshm", "inherit")[1] == struct.pack("=i", 2)
    assert encode_param("ip4", "disable")[1] == struct.pack("=i", 0)


def test_strings_are_nul_terminated() -> None:
    """String values carry their NUL."""
    assert encode_param("host.hostname", "web") == (b"host.hostname\0", b"web\0")


def test_addresses_are_packed_arrays() -> None:
    """ip4.addr is an in_addr array, ip6.addr an in6_addr array, network order."""
    assert encode_param("ip4.addr", ["10.0.0.1", "10.0.0.2"])[1] == bytes([10, 0, 0, 1,
                                                                          10, 0, 0, 2])
    v6 = encode_param("ip6.addr", ["2001:db8::1"])[1]
    assert v6 == socket.inet_pton(socket.AF_INET6, "2001:db8::1") and len(v6) == 16


def test_unknown_parameter_is_refused_before_the_kernel() -> None:
    """Encoding an unknown name fails like the kernel (EINVAL)."""
    with pytest.raises(KernelError):
        encode_param("allow.everything", True)


def test_iovec_pairs_point_at_their_buffers() -> None:
    """build_iovec lays out name/value pairs; None is (NULL, 0); ints are out buffers."""
    iov, keep = build_iovec([(b"persist\0", None), (b"name\0", b"c1\0"),
                             (b"errmsg\0", 256)])
    assert len(iov) == 6
    assert ctypes.string_at(iov[0].iov_base, iov[0].iov_len) == b"persist\0"
    assert iov[1].iov_base is None and iov[1].iov_len == 0
    assert ctypes.string_at(iov[3].iov_base, iov[3].iov_len) == b"c1\0"
    assert iov[5].iov_len == 256 and ctypes.string_at(iov[5].iov_base, 4) == b"\0" * 4
    assert len(keep) == 5


def test_nmount_flags_fit_a_signed_int() -> None:
    """nmount(2) takes `int flags` and sys_nmount widens it to uint64_t: bit 31
    (MNT_NOCLUSTERW) would sign-extend, so it goes as the "noclusterw" option."""
    from pyocijail.backends.freebsd.kernel import mount_flags

    flags = mount_flags(["ro", "nosuid", "noclusterw", "ignore"])
    pairs, cflags = libc.nmount_args("tmpfs", "tmpfs", "/j/tmp", flags, {"size": "1m"})
    assert 0 <= cflags < 1 << 31 and cflags == mount_flags(["ro", "nosuid", "ignore"])
    assert (b"noclusterw\0", None) in pairs and (b"size\0", b"1m\0") in pairs
    assert pairs[:3] == [(b"fstype\0", b"tmpfs\0"), (b"fspath\0", b"/j/tmp\0"),
                         (b"from\0", b"tmpfs\0")]
    assert libc.nmount_args("nullfs", "/src", "/j/x", 0, {})[0][2] == (b"target\0", b"/src\0")


def test_jail_get_reads_sysv_as_names(tmp_path) -> None:
    """jail_get returns sysvmsg/sysvsem/sysvshm (C ints, sys/jail.h JAIL_SYS_*) as
    disable/new/inherit; allow.mount.<fs> only while <fs> is registered."""
    kernel, sim = _sim_kernel(tmp_path)
    kernel.jail_set({"name": "j", "path": str(tmp_path), "persist": True,
                     "sysvsem": "new", "sysvshm": "inherit"}, create=True)
    got = kernel.jail_get("j")
    assert (got["sysvmsg"], got["sysvsem"], got["sysvshm"]) == ("disable", "new", "inherit")
    assert got["path"] == str(tmp_path) and got["allow.mount.tmpfs"] is False
    assert "allow.mount.nullfs" not in got
    sim.kldload("nullfs")
    assert kernel.jail_get("j")["allow.mount.nullfs"] is False


def _sim_kernel(tmp_path, **config):
    from pyocijail.testing.simhost import SimulatedHostKernel
    from pyocijail.testing.simkernel import SimulatedKernel

    sim = SimulatedKernel.configure(str(tmp_path / "sim.json"), **config)
    return SimulatedHostKernel(sim.path), sim


def test_import_does_not_load_libc() -> None:
    """Importing the module on Linux loads no FreeBSD symbols."""
    code = ("import pyocijail.backends.freebsd.libc as l; k = l.LibcKernel();"
            "assert k._libc is None; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout == "ok\n", out.stderr


def test_tools_are_absolute_paths() -> None:
    """Every tool is run by absolute path (podman's delete has no PATH)."""
    for tool in (libc.DEVFS, libc.RCTL, libc.CPUSET, libc.IFCONFIG, libc.UMOUNT, libc.PS):
        assert tool.startswith("/")


def test_tools_are_where_freebsd_installs_them() -> None:
    """Paths follow the source tree: sbin/* -> /sbin, bin/* -> /bin, usr.bin/* ->
    /usr/bin (cpuset(1) is usr.bin/cpuset, so /usr/bin/cpuset, not /bin/cpuset)."""
    assert (libc.DEVFS, libc.IFCONFIG, libc.UMOUNT) == ("/sbin/devfs", "/sbin/ifconfig",
                                                        "/sbin/umount")
    assert libc.PS == "/bin/ps"
    assert (libc.RCTL, libc.CPUSET) == ("/usr/bin/rctl", "/usr/bin/cpuset")


def test_missing_tool_is_a_kernel_error(tmp_path) -> None:
    """A tool that is not installed is a KernelError naming it, not an OSError traceback."""
    import errno

    with pytest.raises(KernelError) as info:
        libc.run_tool("cpuset -j", [str(tmp_path / "nowhere"), "-j", "1", "-l", "0"])
    assert info.value.errno == errno.ENOENT and info.value.path.endswith("nowhere")


def _fake_tool(tmp_path, message: str) -> str:
    script = tmp_path / "tool"
    script.write_text(f"#!/bin/sh\necho '{message}' >&2\nexit 1\n")
    script.chmod(0o755)
    return str(script)


@pytest.mark.parametrize("message", [
    "rctl: RACCT/RCTL present, but disabled; enable using kern.racct.enable=1 tunable",
    "rctl: RACCT/RCTL support not present in kernel; see rctl(8) for details",
])
def test_rctl_with_racct_off_is_enosys(tmp_path, message: str) -> None:
    """rctl(8) reports the kernel's ENOSYS in its own words (GENERIC boots with
    kern.racct.enable=0): read as ENOSYS, so delete's `rctl -r` is not an error."""
    import errno

    kernel = libc.LibcKernel(tools={"rctl": _fake_tool(tmp_path, message)})
    with pytest.raises(KernelError) as info:
        kernel.rctl_remove("jail:c1")
    assert info.value.errno == errno.ENOSYS


def test_longest_strerror_text_wins() -> None:
    """"Operation not supported by device" is ENODEV, not EOPNOTSUPP (a prefix of it)."""
    import errno
    import os

    text = f"devfs: ioctl DEVFSIO_RAPPLY: {os.strerror(errno.ENODEV)}"
    assert libc.tool_errno(text) == errno.ENODEV
    assert libc.tool_errno("something else") is None


def test_tool_failure_carries_the_errno(tmp_path) -> None:
    """A tool's strerror text on stderr is turned back into an errno."""
    script = tmp_path / "tool"
    script.write_text("#!/bin/sh\necho 'rctl: No such process' >&2\nexit 1\n")
    script.chmod(0o755)
    with pytest.raises(KernelError) as info:
        libc.run_tool("rctl -r", [str(script), "jail:x"])
    import errno

    assert info.value.errno == errno.ESRCH


def test_failing_ps_is_a_kernel_error(tmp_path, monkeypatch) -> None:
    """jail_pids runs /bin/ps: its failure, or its absence, is a KernelError naming
    ps with what it printed, not a CalledProcessError or OSError traceback."""
    import errno

    monkeypatch.setattr(libc.LibcKernel, "_jails", lambda self: {})
    kernel = libc.LibcKernel(tools={"ps": _fake_tool(tmp_path, "ps: kvm_openfiles: Bad address")})
    with pytest.raises(KernelError) as info:
        kernel.jail_pids(3)
    assert info.value.op == "ps" and info.value.errno == errno.EFAULT
    assert "kvm_openfiles" in str(info.value)
    with pytest.raises(KernelError) as info:
        libc.LibcKernel(tools={"ps": str(tmp_path / "no-ps")}).jail_pids(3)
    assert info.value.op == "ps" and info.value.errno == errno.ENOENT
    assert info.value.path.endswith("no-ps")


def test_ps_output_gives_the_jails_pids(tmp_path, monkeypatch) -> None:
    """Processes of the jail and of its descendant jails, from ps's pid/jid columns."""
    script = tmp_path / "ps"
    script.write_text("#!/bin/sh\nprintf '  1  0\\n 20  3\\n 21  4\\n 22  5\\n'\n")
    script.chmod(0o755)
    monkeypatch.setattr(libc.LibcKernel, "_jails", lambda self: {3: 0, 4: 3, 5: 0})
    assert libc.LibcKernel(tools={"ps": str(script)}).jail_pids(3) == [20, 21]


def test_devfs_ruleset_rules_runs_rule_show(tmp_path) -> None:
    """`/sbin/devfs -m /dev rule -s N show`: one line per rule, nothing for a missing
    or empty ruleset (sbin/devfs/rule.c rule_show), a failure is a KernelError."""
    import errno

    args = tmp_path / "args"
    script = tmp_path / "devfs"
    script.write_text(f"#!/bin/sh\necho \"$@\" > {args}\n"
                      "[ \"$5\" = 4 ] && printf '100 include 1\\n200 path fuse unhide\\n'\n"
                      "exit 0\n")
    script.chmod(0o755)
    kernel = libc.LibcKernel(tools={"devfs": str(script)})
    assert kernel.devfs_ruleset_rules(4) == ["100 include 1", "200 path fuse unhide"]
    assert args.read_text().split() == ["-m", "/dev", "rule", "-s", "4", "show"]
    assert kernel.devfs_ruleset_rules(9) == []
    with pytest.raises(ValueError):
        kernel.devfs_ruleset_rules(0)
    kernel = libc.LibcKernel(tools={"devfs": _fake_tool(
        tmp_path, "devfs rule: ioctl DEVFSIO_RGETNEXT: Operation not permitted")})
    with pytest.raises(KernelError) as info:
        kernel.devfs_ruleset_rules(4)
    assert info.value.errno == errno.EPERM


def test_devfs_rule_depth_reads_the_sysctl() -> None:
    """vfs.devfs.rule_depth through sysctlbyname(3): an unsigned int (devfs_devs.c);
    a failure is a KernelError naming the sysctl."""
    import errno

    class FakeLibc:
        def __init__(self, fail: bool) -> None:
            self.fail = fail

        def sysctlbyname(self, name, oldp, oldlenp, newp, newlen) -> int:
            assert name == b"vfs.devfs.rule_depth" and newp is None
            if self.fail:
                ctypes.set_errno(errno.ENOENT)
                return -1
            assert oldlenp._obj.value == ctypes.sizeof(ctypes.c_uint)
            oldp._obj.value = 3
            return 0

    kernel = libc.LibcKernel()
    kernel._libc = FakeLibc(fail=False)
    assert kernel.devfs_rule_depth() == 3
    kernel._libc = FakeLibc(fail=True)
    with pytest.raises(KernelError) as info:
        kernel.devfs_rule_depth()
    assert info.value.errno == errno.ENOENT and "vfs.devfs.rule_depth" in str(info.value)


def test_procctl_passes_a_64_bit_id_and_a_pointer_to_the_int() -> None:
    """procctl(idtype_t, id_t, int, void *): id_t is 64-bit, PROC_TRACE_CTL reads
    an int through the pointer (kern_procctl.c trace_ctl); -1 is a KernelError."""
    import errno

    seen: list[tuple[object, ...]] = []

    class FakeLibc:
        def procctl(self, idtype, ident, cmd, data) -> int:
            seen.append((type(idtype), idtype.value, type(ident), ident.value, cmd.value,
                         data._obj.value))
            if ident.value == 2**40:
                ctypes.set_errno(errno.ESRCH)
                return -1
            return 0

    kernel = libc.LibcKernel()
    kernel._libc = FakeLibc()
    kernel.procctl(0, 1234, 7, 2)
    assert seen == [(ctypes.c_int, 0, ctypes.c_int64, 1234, 7, 2)]
    with pytest.raises(KernelError) as info:
        kernel.procctl(0, 2**40, 7, 2)
    assert info.value.errno == errno.ESRCH


def test_statfs_and_getfsstat_read_freebsd_14s_struct_statfs() -> None:
    """struct statfs as sys/sys/mount.h (STATFS_VERSION 0x20140518): 2344 bytes,
    f_fsid at 192, f_fstypename at 280, f_mntfromname at 296, f_mntonname at 1320;
    getfsstat(NULL, 0, MNT_NOWAIT) counts, then fills a buffer of that size."""
    import errno

    from pyocijail.backends.freebsd.kernel import Mounted

    assert ctypes.sizeof(libc.Statfs) == 2344
    assert (libc.Statfs.f_fsid.offset, libc.Statfs.f_fstypename.offset,
            libc.Statfs.f_mntfromname.offset, libc.Statfs.f_mntonname.offset) == \
        (192, 280, 296, 1320)

    def fill(address: int, fsid: tuple[int, int], fstype: bytes, on: bytes) -> None:
        raw = bytearray(2344)
        raw[192:200] = struct.pack("=ii", *fsid)
        raw[280:280 + len(fstype)] = fstype
        raw[296:301] = b"tmpfs"
        raw[1320:1320 + len(on)] = on
        ctypes.memmove(address, bytes(raw), len(raw))

    table = [((-16776958, 53), b"ufs", b"/"), ((-5, 135), b"tmpfs", b"/j/tmp")]

    class FakeLibc:
        def statfs(self, path, buf) -> int:
            if path != b"/j/tmp":
                ctypes.set_errno(errno.ENOENT)
                return -1
            fill(ctypes.addressof(buf._obj), *table[1])
            return 0

        def getfsstat(self, buf, size, mode) -> int:
            assert mode.value == libc.MNT_NOWAIT
            if buf is None:
                assert size.value == 0
                return len(table)
            assert size.value == ctypes.sizeof(buf) >= len(table) * 2344
            for i, row in enumerate(table):
                fill(ctypes.addressof(buf) + i * 2344, *row)
            return len(table)

    kernel = libc.LibcKernel()
    kernel._libc = FakeLibc()
    assert kernel.statfs("/j/tmp") == Mounted((-5, 135), "tmpfs", "tmpfs", "/j/tmp")
    assert [m.target for m in kernel.getfsstat()] == ["/", "/j/tmp"]
    assert kernel.getfsstat()[0].fsid == (-16776958, 53)
    with pytest.raises(KernelError) as info:
        kernel.statfs("/nope")
    assert info.value.errno == errno.ENOENT


def test_jail_walk_passes_jid_127(tmp_path) -> None:
    """F1: `lastjid` is a packed C int, not text: once jids pass 127 (jid 128 packs
    to b"\\x80\\0\\0\\0", not UTF-8) the walk must go on, and so must kill --all,
    ps, pause and delete, which use it."""
    kernel, _sim = _sim_kernel(tmp_path)
    for jid in (5, 128, 130):  # a numeric name asks for that jid (kern_jail_set)
        assert kernel.jail_set({"name": str(jid), "path": str(tmp_path), "persist": True},
                               create=True) == jid
    assert kernel._jails() == {5: 0, 128: 0, 130: 0}
    assert kernel.jail_pids(130) == []


def test_jail_get_error_names_the_jail(tmp_path) -> None:
    """A failed lookup carries the kernel's errmsg, copied into our buffer."""
    import errno

    kernel, _ = _sim_kernel(tmp_path)
    with pytest.raises(KernelError) as info:
        kernel.jail_get("nope")
    assert info.value.errno == errno.ENOENT and str(info.value) == \
        'jail_get nope: jail "nope" not found'


def test_allow_mount_fs_loads_the_module_first(tmp_path) -> None:
    """F2: allow.mount.nullfs is unknown until nullfs.ko is loaded (kern_jail.c
    prison_add_vfs); jail_set loads it first, as libjail's kldload_param does."""
    kernel, sim = _sim_kernel(tmp_path)
    assert not sim.registered("allow.mount.nullfs")
    kernel.jail_set({"name": "j", "path": str(tmp_path), "persist": True,
                     "allow.mount": True, "allow.mount.nullfs": True,
                     "allow.mount.fdescfs": False, "enforce_statfs": 1}, create=True)
    got = kernel.jail_get("j")
    assert got["allow.mount.nullfs"] is True and got["allow.mount.fdescfs"] is False
    assert {"nullfs", "fdescfs"} <= set(sim.snapshot()["kld"])


def test_jail_set_errors_carry_the_kernels_errmsg(tmp_path) -> None:
    """The errmsg buffer LibcKernel reserves is filled by the (fake) kernel, and the
    errno comes through ctypes' use_errno."""
    import errno

    kernel, _ = _sim_kernel(tmp_path)
    with pytest.raises(KernelError) as info:
        kernel.jail_set({"name": "j", "path": str(tmp_path)}, create=True)
    assert info.value.errno == errno.EINVAL
    assert str(info.value).endswith("new jail must persist or attach")


def test_racct_enabled_reads_the_sysctl(tmp_path) -> None:
    """kern.racct.enable through sysctlbyname: off on GENERIC, on when set."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    assert _sim_kernel(tmp_path / "a")[0].racct_enabled() is False
    assert _sim_kernel(tmp_path / "b", racct=True)[0].racct_enabled() is True


class _FailingLibc:
    """A libc whose every call fails with one errno (ctypes.set_errno, as use_errno)."""

    def __init__(self, err: int) -> None:
        self.err = err

    def __getattr__(self, name: str):
        def call(*args):
            ctypes.set_errno(self.err)
            return -1
        return call


def test_unexpected_errnos_are_raised_not_taken_for_absence() -> None:
    """ENOENT means "no such parameter / no more jails / no RACCT"; any other errno
    from sysctl or jail_get is an error, not a quiet False."""
    import errno

    kernel = libc.LibcKernel(libc=_FailingLibc(errno.EPERM))
    for call in (lambda: kernel._registered("allow.mount.nullfs"), kernel._jails,
                 kernel.racct_enabled):
        with pytest.raises(KernelError) as info:
            call()
        assert info.value.errno == errno.EPERM
    assert libc.LibcKernel(libc=_FailingLibc(errno.ENOENT)).racct_enabled() is False


def test_attach_to_a_missing_jail_is_einval(tmp_path) -> None:
    """sys_jail_attach: EINVAL for a jid that is not a live jail."""
    import errno

    kernel, _ = _sim_kernel(tmp_path)
    with pytest.raises(KernelError) as info:
        kernel.jail_attach(77)
    assert info.value.errno == errno.EINVAL and info.value.op == "jail_attach"


def test_builtin_file_system_needs_no_module(tmp_path) -> None:
    """allow.mount.tmpfs exists from boot (GENERIC has TMPFS): no kldload."""
    kernel, sim = _sim_kernel(tmp_path)
    kernel.jail_set({"name": "j", "path": str(tmp_path), "persist": True,
                     "allow.mount": True, "allow.mount.tmpfs": True}, create=True)
    assert "kldload" not in [c[0] for c in sim.snapshot()["calls"]]


def test_host_path_is_the_path_and_kill_of_nobody_is_esrch() -> None:
    """On FreeBSD the host sees the jail's files where they are; kill(2) of a gone
    process is ESRCH."""
    import errno

    kernel = libc.LibcKernel()
    assert kernel.host_path("/j/c1/etc") == "/j/c1/etc"
    child = subprocess.Popen([sys.executable, "-c", ""])
    child.wait()
    with pytest.raises(KernelError) as info:
        kernel.kill(child.pid, 0)
    assert info.value.errno == errno.ESRCH


def test_a_parameter_type_without_an_encoding_is_a_bug(monkeypatch) -> None:
    """encode_param knows every type jailparams uses; a new one fails loudly."""
    from pyocijail.backends.freebsd import jailparams

    odd = jailparams.JailParam(name="odd", type="float")
    monkeypatch.setitem(jailparams.TABLE, "odd", odd)
    with pytest.raises(AssertionError):
        encode_param("odd", 1.0)


def test_allow_names_follow_the_release(tmp_path) -> None:
    """F16: allow.routing (like setaudit and unprivileged_parent_tampering) exists on
    15.0, not on 14.x: there jail_set names the unknown parameter, and jail_get
    leaves it out instead of failing."""
    import errno

    (tmp_path / "14").mkdir()
    (tmp_path / "15").mkdir()
    old, _ = _sim_kernel(tmp_path / "14")
    with pytest.raises(KernelError) as info:
        old.jail_set({"name": "j", "path": str(tmp_path), "persist": True,
                      "allow.routing": True}, create=True)
    assert info.value.errno == errno.EINVAL
    assert str(info.value).endswith("unknown parameter: allow.routing")
    old.jail_set({"name": "j", "path": str(tmp_path), "persist": True}, create=True)
    assert "allow.routing" not in old.jail_get("j")
    new, _ = _sim_kernel(tmp_path / "15", release=15)
    new.jail_set({"name": "j", "path": str(tmp_path), "persist": True,
                  "allow.routing": True}, create=True)
    assert new.jail_get("j")["allow.routing"] is True


def test_tool_failures_come_back_with_freebsds_words_and_errnos(tmp_path) -> None:
    """Through the fake tools: rctl's own ENOSYS text, cpuset's jail_getid error
    for a jail that is gone, ifconfig's "does not exist" (ENXIO), jail_getid's
    "jail 42 not found" (ENOENT) and Perror texts, devfs's ioctl error."""
    import errno

    kernel, _sim = _sim_kernel(tmp_path)
    with pytest.raises(KernelError) as info:
        kernel.rctl_add("jail:j:memoryuse:deny=1g")
    assert info.value.errno == errno.ENOSYS and "kern.racct.enable=1" in str(info.value)
    with pytest.raises(KernelError) as info:
        kernel.cpuset(42, "0")
    assert info.value.errno == errno.ENOENT
    assert str(info.value).endswith("cpuset: jail 42 not found")
    with pytest.raises(KernelError) as info:
        kernel.ifconfig_alias("igb9", "192.0.2.1", add=True)
    assert info.value.errno == errno.ENXIO
    assert str(info.value).endswith("ifconfig: interface igb9 does not exist")
    with pytest.raises(KernelError) as info:
        kernel.ifconfig_alias("em0", "192.0.2.1", add=False)
    assert info.value.errno == errno.EADDRNOTAVAIL and "ioctl (SIOCDIFADDR)" in str(info.value)
    with pytest.raises(KernelError) as info:
        kernel.ifconfig_vnet("epair0b", 42)
    assert info.value.errno == errno.ENOENT  # jail_getid looks the jid up first
    assert str(info.value).endswith("ifconfig: jail 42 not found")
    with pytest.raises(KernelError) as info:
        kernel.devfs_rule_apply(str(tmp_path), "path null unhide")
    assert info.value.errno == errno.ENOTTY and "ioctl DEVFSIO_RAPPLY" in str(info.value)


def test_rctl_refusal_reaches_the_caller_as_eopnotsupp(tmp_path) -> None:
    """F6: the fake rctl(8) prints "failed to add rule '...': Operation not supported"
    (usr.bin/rctl/rctl.c add_rule's warn) and LibcKernel reads EOPNOTSUPP from it."""
    import errno

    kernel, _ = _sim_kernel(tmp_path, racct=True)
    with pytest.raises(KernelError) as info:
        kernel.rctl_add("jail:j:cputime:deny=10")
    assert info.value.errno == errno.EOPNOTSUPP
    assert "Operation not supported" in str(info.value)


def test_ifconfig_minus_vnet_as_freebsd_answers(tmp_path) -> None:
    """F8: `ifconfig <if> -vnet <jid>` (sbin/ifconfig/ifconfig.c setifrvnet, main's
    `-vnet` special case for an interface not in this vnet): exit 0 and the
    interface back on the host; "jail <jid> not found" (ENOENT) from jail_getid for
    no such jail; err(1, "SIOCSIFRVNET(<jid>, <if>)") with ENXIO's strerror for an
    interface not in that jail (sys/net/if.c if_vmove_reclaim)."""
    import errno

    kernel, sim = _sim_kernel(tmp_path)
    jid = kernel.jail_set({"name": "j", "path": str(tmp_path), "persist": True,
                           "vnet": "new"}, create=True)
    kernel.ifconfig_vnet("epair0b", jid)
    assert not kernel.host_interface("epair0b")
    kernel.ifconfig_unvnet("epair0b", jid)
    assert kernel.host_interface("epair0b")
    with pytest.raises(KernelError) as info:
        kernel.ifconfig_unvnet("epair0b", jid)  # on the host now, not in the jail
    assert info.value.errno == errno.ENXIO
    assert str(info.value).endswith(
        f"ifconfig: SIOCSIFRVNET({jid}, epair0b): {os.strerror(errno.ENXIO)}")
    kernel.ifconfig_vnet("epair0b", jid)
    sim.destroy_interface("epair0b")
    with pytest.raises(KernelError) as info:
        kernel.ifconfig_unvnet("epair0b", jid)  # destroyed inside the jail
    assert info.value.errno == errno.ENXIO
    with pytest.raises(KernelError) as info:
        kernel.ifconfig_unvnet("epair1b", jid + 1)
    assert info.value.errno == errno.ENOENT
    assert str(info.value).endswith(f"ifconfig: jail {jid + 1} not found")
