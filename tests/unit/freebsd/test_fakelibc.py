"""The fake libc is as strict as the kernel at the ctypes boundary.

What LibcKernel sends is decoded from the bytes (kern_jail.c, vfs_mount.c), so
a wrong encoding fails here as it would on FreeBSD; and the calls other
callers will need (statfs, unmount by fsid, procctl) answer as the kernel does.
"""

from __future__ import annotations

import ctypes
import errno
import os
import struct
from pathlib import Path

import pytest

from pyocijail.backends.freebsd.kernel import MNT_BYFSID
from pyocijail.backends.freebsd.libc import build_iovec
from pyocijail.testing.fakelibc import FakeLibc, Statfs
from pyocijail.testing.simkernel import SimulatedKernel


@pytest.fixture
def fake(tmp_path: Path) -> FakeLibc:
    (tmp_path / "mnt").mkdir()
    return FakeLibc(SimulatedKernel.configure(str(tmp_path / "sim.json")))


def call(fn, pairs, flags: int = 0, count: int | None = None) -> tuple[int, int, str]:
    """(result, errno, errmsg) of a jail_set/jail_get/nmount-style call."""
    iov, keep = build_iovec([*pairs, (b"errmsg\0", 256)])
    n = 2 * (len(pairs) + 1) if count is None else count
    result = fn(iov, ctypes.c_uint(n), ctypes.c_int(flags))
    message = bytes(keep[-1].raw).split(b"\0", 1)[0].decode()
    return result, ctypes.get_errno() if result == -1 else 0, message


def test_an_odd_iovec_count_is_einval(fake: FakeLibc, tmp_path: Path) -> None:
    """vfs_buildopts: name/value pairs, so an odd count is EINVAL."""
    assert call(fake.jail_set, [(b"persist\0", None)], 1, count=3)[:2] == (-1, errno.EINVAL)


def test_a_name_without_its_nul_is_einval(fake: FakeLibc) -> None:
    assert call(fake.jail_set, [(b"persist", None)], 1)[:2] == (-1, errno.EINVAL)


def test_an_int_of_the_wrong_size_is_einval(fake: FakeLibc, tmp_path: Path) -> None:
    """vfs_copyopt wants exactly sizeof(int)."""
    pairs = [(b"name\0", b"j\0"), (b"path\0", str(tmp_path).encode() + b"\0"),
             (b"persist\0", None), (b"enforce_statfs\0", struct.pack("=q", 1))]
    assert call(fake.jail_set, pairs, 1)[:2] == (-1, errno.EINVAL)


def test_unknown_parameter_names_itself_in_errmsg(fake: FakeLibc) -> None:
    result, err, message = call(fake.jail_set, [(b"name\0", b"j\0"), (b"allow.x\0", None)], 1)
    assert (result, err, message) == (-1, errno.EINVAL, "unknown parameter: allow.x")


def test_noname_booleans_are_false(fake: FakeLibc, tmp_path: Path) -> None:
    pairs = [(b"name\0", b"j\0"), (b"path\0", str(tmp_path).encode() + b"\0"),
             (b"persist\0", None), (b"allow.noset_hostname\0", None)]
    assert call(fake.jail_set, pairs, 1)[0] == 1
    assert fake.sim.jail_get("j")["allow.set_hostname"] is False


def test_jail_get_outputs_must_be_sized_exactly(fake: FakeLibc, tmp_path: Path) -> None:
    """kern_jail_get's vfs_setopt: an int output buffer that is not 4 bytes is EINVAL."""
    fake.sim.jail_set({"name": "j", "path": str(tmp_path), "persist": True}, create=True)
    assert call(fake.jail_get, [(b"name\0", b"j\0"), (b"jid\0", 8)])[:2] == (-1, errno.EINVAL)
    assert call(fake.jail_get, [(b"name\0", b"j\0"), (b"jid\0", 4)])[0] == 1


def test_nmount_needs_four_iovecs_and_fstype_and_fspath(fake: FakeLibc, tmp_path: Path) -> None:
    assert call(fake.nmount, [(b"fstype\0", b"tmpfs\0")])[:2] == (-1, errno.EINVAL)
    where = str(tmp_path / "mnt").encode() + b"\0"
    assert call(fake.nmount, [(b"fspath\0", where), (b"from\0", b"tmpfs\0")])[:2] == \
        (-1, errno.EINVAL)


def test_bit_31_in_the_int_flags_sign_extends(fake: FakeLibc, tmp_path: Path) -> None:
    """sys_nmount copies the int into 64 bits: bit 31 sets bits 32-63 too, which
    no file system takes (why LibcKernel sends MNT_NOCLUSTERW as an option)."""
    where = str(tmp_path / "mnt").encode() + b"\0"
    pairs = [(b"fstype\0", b"nullfs\0"), (b"fspath\0", where), (b"target\0", where)]
    assert call(fake.nmount, pairs, flags=-2**31)[:2] == (-1, errno.EINVAL)
    assert call(fake.nmount, [*pairs, (b"noclusterw\0", None)])[0] == 0


def _statfs(fake: FakeLibc, path: str) -> Statfs:
    out = Statfs()
    assert fake.statfs(path.encode(), ctypes.byref(out)) == 0
    return out


def test_statfs_and_unmount_by_fsid(fake: FakeLibc, tmp_path: Path) -> None:
    """statfs names the mount a path is on (f_mntonname, f_fsid); unmount with
    MNT_BYFSID removes exactly that mount, EBUSY while another covers it, ENOENT
    for an fsid nobody has, EINVAL when the text is not FSID:<int>:<int>."""
    mnt = str(tmp_path / "mnt")
    fake.sim.nmount("tmpfs", "tmpfs", mnt, 0, {})
    lower = _statfs(fake, mnt)
    assert (lower.f_fstypename, lower.f_mntonname) == (b"tmpfs", mnt.encode())
    fake.sim.nmount("tmpfs", "tmpfs", mnt, 0, {})
    upper = _statfs(fake, mnt)
    assert list(upper.f_fsid) != list(lower.f_fsid)
    assert _statfs(fake, str(tmp_path)).f_mntonname == b"/"

    def by_fsid(fsid: str) -> int:
        result = fake.unmount(fsid.encode(), ctypes.c_int(MNT_BYFSID))
        return 0 if result == 0 else ctypes.get_errno()

    assert by_fsid(f"FSID:{lower.f_fsid[0]}:{lower.f_fsid[1]}") == errno.EBUSY
    assert by_fsid("FSID:1:2") == errno.ENOENT
    assert by_fsid("FSID:x") == errno.EINVAL
    assert by_fsid(f"FSID:{upper.f_fsid[0]}:{upper.f_fsid[1]}") == 0
    assert by_fsid(f"FSID:{lower.f_fsid[0]}:{lower.f_fsid[1]}") == 0
    assert fake.sim.snapshot()["mounts"] == []
    assert fake.statfs(str(tmp_path / "nope").encode(), ctypes.byref(Statfs())) == -1
    assert ctypes.get_errno() == errno.ENOENT


def test_fstatfs_follows_the_descriptor(fake: FakeLibc, tmp_path: Path) -> None:
    fd = os.open(tmp_path, os.O_RDONLY)
    try:
        out = Statfs()
        assert fake.fstatfs(fd, ctypes.byref(out)) == 0 and out.f_mntonname == b"/"
    finally:
        os.close(fd)


#: sys/sys/mount.h struct statfs (STATFS_VERSION 0x20140518, FreeBSD 12 to 15),
#: field by field: uint32_t f_version, f_type; uint64_t f_flags ... f_asyncreads
#: (int64_t f_bavail, f_ffree); uint32_t f_nvnodelistsize, f_spare0; uint64_t
#: f_spare[9]; uint32_t f_namemax; uid_t f_owner; fsid_t f_fsid (int32_t val[2]);
#: char f_charspare[80], f_fstypename[MFSNAMELEN=16], f_mntfromname[MNAMELEN=1024],
#: f_mntonname[MNAMELEN]. Offsets and sizes written out from the header, not
#: computed from the ctypes structure under test.
MOUNT_H_STATFS = [
    ("f_version", 0, 4), ("f_type", 4, 4), ("f_flags", 8, 8), ("f_bsize", 16, 8),
    ("f_iosize", 24, 8), ("f_blocks", 32, 8), ("f_bfree", 40, 8), ("f_bavail", 48, 8),
    ("f_files", 56, 8), ("f_ffree", 64, 8), ("f_syncwrites", 72, 8),
    ("f_asyncwrites", 80, 8), ("f_syncreads", 88, 8), ("f_asyncreads", 96, 8),
    ("f_nvnodelistsize", 104, 4), ("f_spare0", 108, 4), ("f_spare", 112, 72),
    ("f_namemax", 184, 4), ("f_owner", 188, 4), ("f_fsid", 192, 8),
    ("f_charspare", 200, 80), ("f_fstypename", 280, 16), ("f_mntfromname", 296, 1024),
    ("f_mntonname", 1320, 1024),
]


def test_statfs_is_the_freebsd_14_layout_defined_once() -> None:
    """One struct statfs: the fake writes through the product's `libc.Statfs`, whose
    every field sits where sys/sys/mount.h puts it (2344 bytes on every arch)."""
    from pyocijail.backends.freebsd import libc

    assert Statfs is libc.Statfs
    assert [(name, getattr(Statfs, name).offset, getattr(Statfs, name).size)
            for name, *_ in Statfs._fields_] == MOUNT_H_STATFS
    assert ctypes.sizeof(Statfs) == 2344


def test_libc_kernel_reads_the_fakes_statfs_and_getfsstat(tmp_path: Path) -> None:
    """LibcKernel.statfs/getfsstat over the fake: the bytes it writes decode to the
    model's mounts (fsid included), getfsstat counts with NULL first and fills
    what fits; unmount by fsid goes through the "FSID:%d:%d" text."""
    from pyocijail.backends.freebsd.libc import LibcKernel

    (tmp_path / "mnt").mkdir()
    sim = SimulatedKernel.configure(str(tmp_path / "sim.json"))
    fake = FakeLibc(sim)
    kernel = LibcKernel(libc=fake)
    mnt = str(tmp_path / "mnt")
    sim.nmount("tmpfs", "tmpfs", mnt, 0, {})
    (model,) = sim.getfsstat()[1:]
    assert kernel.statfs(mnt) == model == sim.statfs(mnt)
    assert kernel.getfsstat() == sim.getfsstat()
    two = (Statfs * 2)()
    assert fake.getfsstat(two, ctypes.c_long(ctypes.sizeof(Statfs)), ctypes.c_int(2)) == 1
    assert two[0].mounted().target == "/" and two[0].f_version == 0x20140518
    assert two[1].f_version == 0  # no room for it: left as it was
    assert fake.getfsstat(None, ctypes.c_long(0), ctypes.c_int(9)) == -1
    assert ctypes.get_errno() == errno.EINVAL
    kernel.unmount(f"FSID:{model.fsid[0]}:{model.fsid[1]}", MNT_BYFSID)
    assert sim.getfsstat()[1:] == []


def test_procctl_trace_ctl_takes_an_int(fake: FakeLibc) -> None:
    """PROC_TRACE_CTL (7) with PROC_TRACE_CTL_DISABLE (2) on oneself; EINVAL for a
    value that is no PROC_TRACE_CTL_* one."""
    value = ctypes.c_int(2)
    assert fake.procctl(0, ctypes.c_int64(os.getpid()), 7, ctypes.byref(value)) == 0
    assert ["procctl", 0, os.getpid(), 7, 2] in fake.sim.snapshot()["calls"]
    value.value = 9
    assert fake.procctl(0, ctypes.c_int64(os.getpid()), 7, ctypes.byref(value)) == -1
    assert ctypes.get_errno() == errno.EINVAL
    # The one model (bsd-sec's trace_ctl) has PROC_TRACE_CTL only; nothing in
    # pyocijail asks for PROC_REAP_ACQUIRE, so it is refused, not pretended.
    assert fake.procctl(0, ctypes.c_int64(0), 2, None) == -1 and ctypes.get_errno() == errno.EINVAL
    with pytest.raises(TypeError, match="id_t"):  # a C int where id_t is 64-bit
        fake.procctl(0, os.getpid(), 7, ctypes.byref(value))


def test_libc_kernel_setrlimit_and_if_nametoindex_errors(tmp_path: Path) -> None:
    """LibcKernel.setrlimit copies a struct rlimit the fake decodes (the model's
    limit and EINVAL at RLIM_NLIMITS, kern_resource.c kern_proc_setrlimit), in this
    process, so coverage sees the lines the init runs after a fork; and
    host_interface treats an if_nametoindex failure other than ENXIO (here ENOBUFS
    from its socket, lib/libc/net/if_nametoindex.c) as an error, not "gone"."""
    from pyocijail.backends.freebsd.libc import LibcKernel
    from pyocijail.errors import KernelError

    sim = SimulatedKernel.configure(str(tmp_path / "sim.json"))
    kernel = LibcKernel(libc=FakeLibc(sim))
    kernel.setrlimit(14, 3, 4)  # RLIMIT_UMTXP: not one this test process cares about
    assert sim.snapshot()["rlimits"][str(os.getpid())] == {"14": [3, 4]}
    with pytest.raises(KernelError) as caught:
        kernel.setrlimit(15, 1, 1)  # RLIMIT_PIPEBUF: 15.0 only
    assert caught.value.errno == errno.EINVAL

    class NoBuffers(FakeLibc):
        def if_nametoindex(self, name: object) -> int:
            ctypes.set_errno(errno.ENOBUFS)
            return 0

    assert kernel.host_interface("nosuch0") is False  # ENXIO: not on the host
    with pytest.raises(KernelError) as caught:
        LibcKernel(libc=NoBuffers(sim)).host_interface("epair0a")
    assert caught.value.errno == errno.ENOBUFS
