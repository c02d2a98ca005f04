"""Linux mounts, devices and pivot_root, each exercised in a throw-away mount namespace."""

from __future__ import annotations

import errno
import os
import stat

import pytest

from pyocijail.backends.linux import devices, libc, mountlib, mounts, pivot
from pyocijail.backends.linux.linuxkernel import LinuxKernel
from pyocijail.errors import ConfigError, KernelError
from pyocijail.spec.model import Device, Mount
from tests.integration.linux.childns import mountinfo_entry, run_in_child

KERNEL = LinuxKernel()

pytestmark = [pytest.mark.root, pytest.mark.linux]


class Log:
    def __init__(self):
        self.lines = []

    def debug(self, text):
        self.lines.append(text)


def _writable(path: str) -> bool:
    try:
        fd = os.open(os.path.join(path, ".probe"), os.O_CREAT | os.O_WRONLY, 0o600)
    except OSError as e:
        assert e.errno == errno.EROFS
        return False
    os.close(fd)
    os.unlink(os.path.join(path, ".probe"))
    return True


def test_bind_relative_source_ro_nosuid(tmp_path, busybox_rootfs):
    """A bind source relative to the bundle is mounted, then remounted ro,nosuid."""
    bundle = tmp_path
    (bundle / "data").mkdir()
    (bundle / "data/hello").write_text("hi")

    def child():
        log = Log()
        data = Mount(destination="/mnt/data", type="bind", source="data",
                     options=("rbind", "ro", "nosuid"))
        created = mounts.mount_all(KERNEL, busybox_rootfs, [data], str(bundle), log=log)
        dest = busybox_rootfs + "/mnt/data"
        entry = mountinfo_entry(dest)
        assert {"ro", "nosuid"} <= entry["opts"], entry
        assert open(dest + "/hello").read() == "hi"
        assert not _writable(dest)
        assert created == [busybox_rootfs + "/mnt", dest]
        assert any("mount" in line for line in log.lines)
        return created

    run_in_child(child)
    assert _writable(str(bundle / "data"))  # the host's directory is untouched


def test_bind_file_source_creates_file(tmp_path, busybox_rootfs):
    """A file bind source gets an empty file as mount point, parents created."""
    src = tmp_path / "resolv.conf"
    src.write_text("nameserver 10.0.0.1\n")

    def child():
        created = mounts.mount_all(KERNEL, busybox_rootfs, [Mount(destination="/etc/x/resolv.conf",
                                   source=str(src), options=("bind", "ro"))], str(tmp_path))
        dest = busybox_rootfs + "/etc/x/resolv.conf"
        assert open(dest).read() == "nameserver 10.0.0.1\n"
        assert "ro" in mountinfo_entry(dest)["opts"]
        return created

    created = run_in_child(child)
    assert created == [busybox_rootfs + "/etc/x", busybox_rootfs + "/etc/x/resolv.conf"]
    assert os.path.getsize(created[-1]) == 0  # the mount point left behind is empty


def test_tmpfs_copyup_keeps_content_modes_and_links(tmp_path, busybox_rootfs):
    """tmpcopyup copies the covered directory (files, modes, subdirs, symlinks) into
    the tmpfs, which is then read-only when asked."""
    etc = busybox_rootfs + "/etc"
    os.makedirs(etc + "/sub")
    with open(etc + "/sub/secret", "w") as f:
        f.write("s3")
    os.chmod(etc + "/sub/secret", 0o640)
    os.chown(etc + "/sub/secret", 123, 456)
    os.symlink("sub/secret", etc + "/link")
    os.mkfifo(etc + "/fifo")

    def child():
        mounts.mount_all(KERNEL, busybox_rootfs, [Mount(destination="/etc", type="tmpfs",
                         source="tmpfs", options=("tmpcopyup", "ro", "nosuid", "size=1m"))],
                         str(tmp_path))
        entry = mountinfo_entry(etc)
        assert entry["fstype"] == "tmpfs" and {"ro", "nosuid"} <= entry["opts"]
        st = os.stat(etc + "/sub/secret")
        assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (0o640, 123, 456)
        assert open(etc + "/link").read() == "s3"
        assert os.readlink(etc + "/link") == "sub/secret"
        assert stat.S_ISFIFO(os.lstat(etc + "/fifo").st_mode)
        assert open(etc + "/passwd").read().startswith("root:")
        assert not _writable(etc)

    run_in_child(child)


def test_pseudo_filesystems(tmp_path, busybox_rootfs):
    """proc, sysfs (or its rbind fallback), mqueue, devpts with runc's defaults, and
    a plain tmpfs mount with flags and fs data."""
    ms = [
        Mount(destination="/proc", type="proc", source="proc"),
        Mount(destination="/sys", type="sysfs", source="sysfs",
              options=("nosuid", "noexec", "nodev", "ro")),
        Mount(destination="/dev", type="tmpfs", source="tmpfs",
              options=("nosuid", "strictatime", "mode=755", "size=65536k")),
        Mount(destination="/dev/pts", type="devpts", source="devpts",
              options=("nosuid", "noexec", "mode=0620", "gid=5")),
        Mount(destination="/dev/mqueue", type="mqueue", source="mqueue",
              options=("nosuid", "noexec", "nodev")),
    ]

    def child():
        created = mounts.mount_all(KERNEL, busybox_rootfs, ms, str(tmp_path))
        r = busybox_rootfs
        assert mountinfo_entry(r + "/proc")["fstype"] == "proc"
        sys_entry = mountinfo_entry(r + "/sys")
        assert sys_entry["fstype"] == "sysfs" and "ro" in sys_entry["opts"]
        dev = mountinfo_entry(r + "/dev")
        assert dev["fstype"] == "tmpfs" and "mode=755" in dev["super"]
        pts = mountinfo_entry(r + "/dev/pts")
        assert pts["fstype"] == "devpts"
        assert {"ptmxmode=666", "mode=620", "gid=5"} <= pts["super"], pts
        assert mountinfo_entry(r + "/dev/mqueue")["fstype"] == "mqueue"
        return created

    created = run_in_child(child)
    # /dev/pts and /dev/mqueue were created inside the tmpfs, which is gone now
    assert created == [busybox_rootfs + "/dev/pts", busybox_rootfs + "/dev/mqueue"]


@pytest.mark.cgroup_v1
def test_cgroup_is_read_only_rbind_of_host_tree(tmp_path, busybox_rootfs):
    """type cgroup binds the host hierarchy with every controller mount read-only."""

    def child():
        mounts.mount_all(KERNEL, busybox_rootfs, [Mount(destination="/sys/fs/cgroup", type="cgroup",
                         source="cgroup", options=("nosuid", "noexec", "nodev", "ro"))],
                         str(tmp_path))
        top = busybox_rootfs + "/sys/fs/cgroup"
        assert "ro" in mountinfo_entry(top)["opts"]
        memory = mountinfo_entry(top + "/memory")
        assert memory["fstype"] == "cgroup" and {"ro", "nosuid"} <= memory["opts"]
        assert not _writable(top + "/memory")

    run_in_child(child)
    assert "ro" not in mountinfo_entry("/sys/fs/cgroup/memory")["opts"]


def test_propagation_applied_after_mount(tmp_path, busybox_rootfs):
    """Propagation options are applied after the mount (rshared shows shared:N)."""
    def child():
        mounts.mount_all(KERNEL, busybox_rootfs, [Mount(destination="/shared", type="tmpfs",
                         source="tmpfs", options=("rshared",))], str(tmp_path))
        entry = mountinfo_entry(busybox_rootfs + "/shared")
        assert any(f.startswith("shared:") for f in entry["optional"]), entry

    run_in_child(child)


def test_destination_symlink_cannot_escape(tmp_path, busybox_rootfs):
    """A destination that is a symlink to a host path is mounted inside the rootfs."""
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(str(outside), busybox_rootfs + "/evil")
    os.symlink("../../../../../../../../" + str(outside), busybox_rootfs + "/evil2")

    def child():
        mounts.mount_all(KERNEL, busybox_rootfs, [
            Mount(destination="/evil", type="tmpfs", source="tmpfs"),
            Mount(destination="/evil2/sub", type="tmpfs", source="tmpfs")], str(tmp_path))
        assert mountinfo_entry(str(outside)) is None
        assert mountinfo_entry(busybox_rootfs + str(outside))["fstype"] == "tmpfs"
        assert mountinfo_entry(busybox_rootfs + str(outside) + "/sub")["fstype"] == "tmpfs"

    run_in_child(child)
    assert os.listdir(outside) == []


def test_mount_error_names_destination(tmp_path, busybox_rootfs):
    """A failing mount raises KernelError naming the container destination."""
    def child():
        try:
            mounts.mount_all(KERNEL, busybox_rootfs, [Mount(destination="/x", type="nosuchfs",
                             source="none")], str(tmp_path))
        except KernelError as e:
            return [e.op, e.path, e.errno]
        raise AssertionError("no error")

    assert run_in_child(child) == ["mount", "/x", errno.ENODEV]


def test_unsupported_mounts_refused_before_any_change(tmp_path, busybox_rootfs):
    """idmap options and uid/gid mappings are ConfigErrors, raised before mkdir."""
    from pyocijail.spec.model import IdMapping

    with pytest.raises(ConfigError):
        mounts.mount_all(KERNEL, busybox_rootfs, [Mount(destination="/a", type="bind",
                         source="/tmp", options=("bind", "idmap"))], str(tmp_path))
    with pytest.raises(ConfigError):
        mounts.mount_all(KERNEL, busybox_rootfs, [Mount(
            destination="/a", type="bind", source="/tmp", options=("bind",),
            uid_mappings=(IdMapping(container_id=0, host_id=1000, size=1),))], str(tmp_path))
    assert not os.path.exists(busybox_rootfs + "/a")


def _dev_info(path):
    st = os.lstat(path)
    return [stat.S_IFMT(st.st_mode), os.major(st.st_rdev), os.minor(st.st_rdev),
            stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid]


def test_setup_devices_defaults_and_config(tmp_path, busybox_rootfs):
    """Default devices and links are created, plus config devices with mode/uid/gid."""
    devs = [Device(type="c", path="/dev/custom/mynull", major=1, minor=3, file_mode=0o600,
                   uid=1000, gid=1001),
            Device(type="b", path="/dev/blk", major=7, minor=0)]

    def child():
        mounts.mount_all(KERNEL, busybox_rootfs, [Mount(destination="/dev", type="tmpfs",
                         source="tmpfs", options=("mode=755",))], str(tmp_path))
        created = devices.setup_devices(KERNEL, busybox_rootfs, devs)
        d = busybox_rootfs + "/dev"
        info = {name: _dev_info(f"{d}/{name}") for name in
                ("null", "zero", "full", "random", "urandom", "tty", "custom/mynull", "blk")}
        links = {name: os.readlink(f"{d}/{name}") for name in
                 ("fd", "stdin", "stdout", "stderr", "ptmx")}
        return info, links, created

    info, links, created = run_in_child(child)
    chr_, blk = stat.S_IFCHR, stat.S_IFBLK
    assert info["null"] == [chr_, 1, 3, 0o666, 0, 0]
    assert info["tty"] == [chr_, 5, 0, 0o666, 0, 0]
    assert info["urandom"] == [chr_, 1, 9, 0o666, 0, 0]
    assert info["custom/mynull"] == [chr_, 1, 3, 0o600, 1000, 1001]
    assert info["blk"] == [blk, 7, 0, 0o666, 0, 0]
    assert links == {"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0",
                     "stdout": "/proc/self/fd/1", "stderr": "/proc/self/fd/2",
                     "ptmx": "pts/ptmx"}
    assert busybox_rootfs + "/dev/custom" in created


def test_setup_devices_bind_fallback_on_eperm(tmp_path, busybox_rootfs):
    """When mknod is refused (EPERM, as in a user namespace) the host node is bound."""
    def child():
        def refuse(*a, **k):
            raise PermissionError(errno.EPERM, "mknod")

        os.mknod = refuse  # only in this child
        devices.setup_devices(KERNEL, busybox_rootfs, [], default=True)
        null = busybox_rootfs + "/dev/null"
        assert mountinfo_entry(null) is not None
        return _dev_info(null)[:3]

    assert run_in_child(child) == [stat.S_IFCHR, 1, 3]


def test_setup_devices_keeps_the_device_replaces_anything_else(tmp_path, busybox_rootfs):
    """An existing node that is the configured device (e.g. from a bind-mounted /dev)
    is kept as it is; an image file where a device belongs is replaced (CVE-2025-31133)."""
    os.mknod(busybox_rootfs + "/dev/null", stat.S_IFCHR | 0o600, os.makedev(1, 3))
    with open(busybox_rootfs + "/dev/zero", "w") as f:
        f.write("image file")

    def child():
        devices.setup_devices(KERNEL, busybox_rootfs, [])
        null, zero = (os.lstat(busybox_rootfs + d) for d in ("/dev/null", "/dev/zero"))
        return stat.S_IMODE(null.st_mode), stat.S_ISCHR(zero.st_mode), zero.st_rdev

    mode, zero_is_chr, zero_rdev = run_in_child(child)
    assert mode == 0o600  # kept, not made again (0666)
    assert zero_is_chr and zero_rdev == os.makedev(1, 5)


def _container_setup(rootfs, bundle):
    mounts.mount_all(KERNEL, rootfs, [
        Mount(destination="/proc", type="proc", source="proc"),
        Mount(destination="/dev", type="tmpfs", source="tmpfs", options=("mode=755",)),
        Mount(destination="/dev/pts", type="devpts", source="devpts"),
    ], bundle)
    devices.setup_devices(KERNEL, rootfs, [])
    pivot.pivot_root(KERNEL, rootfs)


def test_pivot_root_into_busybox(tmp_path, busybox_rootfs):
    """After pivot_root "/" is the rootfs, the host root is gone, and busybox runs."""
    def child():
        _container_setup(busybox_rootfs, str(tmp_path))
        points = [line.split()[4] for line in open("/proc/self/mountinfo")]
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.dup2(w, 1)
            os.execv("/bin/busybox", ["ls", "/"])
        os.close(w)
        out = os.read(r, 4096).decode()
        os.waitpid(pid, 0)
        return sorted(os.listdir("/")), out.split(), points, os.getcwd()

    listing, ls_out, points, cwd = run_in_child(child)
    expected = ["bin", "dev", "etc", "proc", "root", "run", "sys", "tmp", "var"]
    assert listing == expected and sorted(ls_out) == expected
    assert cwd == "/"
    assert points[0] == "/" and "/sys/fs/cgroup" not in points
    assert set(points) == {"/", "/proc", "/dev", "/dev/pts"}


def test_pivot_root_binds_rootfs_when_not_a_mount_point(tmp_path, busybox_rootfs):
    """pivot_root works on a plain directory (it binds it onto itself first)."""
    def child():
        pivot.pivot_root(KERNEL, busybox_rootfs)
        return sorted(os.listdir("/"))

    assert "bin" in run_in_child(child)


def test_mask_and_readonly_paths(tmp_path, busybox_rootfs):
    """Masked dirs are empty and read-only, masked files read as empty, read-only
    paths refuse writes; missing paths are ignored."""
    os.makedirs(busybox_rootfs + "/secret/dir")
    with open(busybox_rootfs + "/secret/dir/key", "w") as f:
        f.write("k")
    with open(busybox_rootfs + "/secret/file", "w") as f:
        f.write("f")
    os.makedirs(busybox_rootfs + "/ro/sub")

    def child():
        _container_setup(busybox_rootfs, str(tmp_path))
        pivot.mask_paths(KERNEL, ["/secret/dir", "/secret/file", "/does/not/exist", "/proc/kcore"])
        pivot.readonly_paths(KERNEL, ["/ro", "/nope", "/proc/sys"])
        assert os.listdir("/secret/dir") == [] and not _writable("/secret/dir")
        assert open("/secret/file").read() == ""
        assert not _writable("/ro") and not _writable("/ro/sub")
        assert "ro" in mountinfo_entry("/proc/sys")["opts"]
        with pytest.raises(OSError) as info:
            open("/proc/sys/kernel/hostname", "w").write("x")
        assert info.value.errno == errno.EROFS
        assert _writable("/tmp")

    run_in_child(child)


def test_remount_readonly_root(tmp_path, busybox_rootfs):
    """remount_readonly_root makes "/" read-only but leaves other mounts writable."""
    def child():
        _container_setup(busybox_rootfs, str(tmp_path))
        pivot.remount_readonly_root(KERNEL)
        assert "ro" in mountinfo_entry("/")["opts"]
        assert not _writable("/tmp")
        assert _writable("/dev")

    run_in_child(child)


def test_apply_sysctl_in_new_ipc_namespace():
    """sysctl values are written to /proc/sys (here in a fresh IPC namespace)."""
    def child():
        pivot.apply_sysctl(KERNEL, {"kernel.msgmax": "4242"})
        return open("/proc/sys/kernel/msgmax").read().strip()

    before = open("/proc/sys/kernel/msgmax").read()
    assert run_in_child(child, extra_unshare=libc.CLONE_NEWIPC) == "4242"
    assert open("/proc/sys/kernel/msgmax").read() == before


def test_sysfs_falls_back_to_rbind_on_eperm(tmp_path, busybox_rootfs):
    """When a fresh sysfs is refused (EPERM: host network namespace in a userns),
    the host's /sys is rbound with the requested flags instead."""
    def child():
        real = libc.mount

        def mount(source, target, fstype, flags=0, data=None):
            if fstype == "sysfs":
                raise KernelError("mount", errno.EPERM, target)
            return real(source, target, fstype, flags, data)

        libc.mount = mount  # only in this child
        mounts.mount_all(KERNEL, busybox_rootfs, [Mount(destination="/sys", type="sysfs",
                         source="sysfs", options=("ro", "nosuid"))], str(tmp_path))
        entry = mountinfo_entry(busybox_rootfs + "/sys")
        assert entry["fstype"] == "sysfs" and {"ro", "nosuid"} <= entry["opts"]
        assert mountinfo_entry(busybox_rootfs + "/sys/fs/cgroup") is not None  # recursive

    run_in_child(child)


def test_set_root_propagation():
    """set_root_propagation changes "/" recursively; unknown names are ConfigErrors."""
    def child():
        mounts.set_root_propagation(KERNEL, "rshared")
        shared = [mountinfo_entry(p)["optional"] for p in ("/", "/proc")]
        mounts.set_root_propagation(KERNEL)  # rslave (a lone peer group becomes private)
        slave = [mountinfo_entry(p)["optional"] for p in ("/", "/proc")]
        return shared, slave

    shared, slave = run_in_child(child)
    assert all(any(f.startswith("shared:") for f in opt) for opt in shared)
    assert not any(f.startswith("shared:") for opt in slave for f in opt)
    with pytest.raises(ConfigError):
        mounts.set_root_propagation(KERNEL, "sideways")


def test_sethostname_in_new_uts_namespace():
    """The libc wrappers reach the kernel: sethostname in a fresh UTS namespace."""
    def child():
        libc.sethostname("pyocijail-test")
        libc.setdomainname("example")
        return os.uname().nodename

    before = os.uname().nodename
    assert run_in_child(child, extra_unshare=libc.CLONE_NEWUTS) == "pyocijail-test"
    assert os.uname().nodename == before


@pytest.mark.parametrize("name", ["with space", "tab\there", "new\nline", "back\\slash",
                                  "naïve-ünïcode", "plain"])
def test_mountinfo_reads_mount_points_with_escaped_characters(tmp_path, name):
    """The kernel escapes space, tab, newline and backslash as \\ooo in mountinfo;
    `mountinfo()` gives the path back exactly, other bytes (UTF-8) untouched."""
    point = tmp_path / name
    point.mkdir()

    def child():
        libc.mount("tmpfs", str(point), "tmpfs", 0)
        return [p for _, _, p, _ in mountlib.mountinfo(KERNEL) if p == str(point)]

    assert run_in_child(child) == [str(point)]

