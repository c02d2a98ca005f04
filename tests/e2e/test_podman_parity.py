"""The same podman commands with pyocijail and with runc give the same results.

Each test runs a short `podman run --rm` (or exec) once per runtime in the
session's isolated configuration (`podman --runtime /usr/bin/runc` for the
reference) and compares exit code, stdout and stderr, after replacing the
runtime's path in podman's error text. Found by a differential run of ~140
podman variants; each case here failed or differed before its fix.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import struct

import pytest

from tests.helpers import IMAGE

pytestmark = [pytest.mark.podman, pytest.mark.root]

RUNC = shutil.which("runc") or "/usr/bin/runc"


def _both(podman, *args: str) -> dict[str, tuple[int, str, str]]:
    """(code, out, err) per runtime; the runtime's path in messages becomes RUNTIME."""
    if shutil.which("runc") is None:
        pytest.skip("not installed: runc")
    results = {}
    for name, runtime in (("pyocijail", podman.launcher), ("runc", RUNC)):
        podman.runtime = runtime
        try:
            res = podman(*args)
        finally:
            podman.runtime = podman.launcher
        results[name] = (res.code, res.out, res.err.replace(runtime, "RUNTIME"))
    return results


def _same(podman, *args: str) -> tuple[int, str, str]:
    got = _both(podman, *args)
    assert got["pyocijail"] == got["runc"], got
    return got["runc"]


def _same_code_and_out(podman, *args: str) -> tuple[int, str, dict[str, str]]:
    """As `_same`, for failures whose wording differs around the same reason."""
    got = _both(podman, *args)
    assert got["pyocijail"][:2] == got["runc"][:2], got
    return got["runc"][0], got["runc"][1], {k: v[2] for k, v in got.items()}


def _remove(podman, name: str) -> None:
    """rm -f, once more if podman 4.3 raced its own clean-up of a user-namespaced
    container ("unlinkat .../userdata/shm: device or resource busy"; seen with runc too)."""
    res = podman("rm", "-f", "-t", "0", name)
    if res.code != 0 and "device or resource busy" in res.err:
        res = podman("rm", "-f", "-t", "0", name)
    assert res.code == 0, res


def test_device_with_podmans_file_mode(podman):
    """--device: podman's fileMode carries S_IFCHR (0o20666); the node is made as runc makes it."""
    code, out, _ = _same(podman, "run", "--rm", "--device", "/dev/null:/dev/mynull",
                         "--device", "/dev/zero:/dev/myzero:r", IMAGE, "sh", "-c",
                         "stat -c '%A %u:%g %t:%T' /dev/mynull /dev/myzero; "
                         "echo x > /dev/mynull && head -c 3 /dev/myzero | wc -c")
    assert code == 0 and out == "crw-rw-rw- 0:0 1:3\ncrw-rw-rw- 0:0 1:5\n3\n"


class DevChanges:
    """The names in /dev whose `ls -ln` line may have changed while watching: an
    entry of /dev created, deleted, renamed or chmod/chown'd, or anything below a
    subdirectory of /dev (its line in /dev shows its link count and size). From
    inotify (watches on /dev and each directory below it): nothing between
    `start` and `stop` is missed, not even a device made and gone in between.
    (Tests running in parallel may make and remove devices: loop devices, say.)"""

    _EVENTS = 0x4 | 0x40 | 0x80 | 0x100 | 0x200  # IN_ATTRIB, MOVED_FROM/TO, CREATE, DELETE
    _Q_OVERFLOW = 0x4000

    def __init__(self, root: str = "/dev") -> None:
        self.root = root
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.fd = -1
        self.top: dict[int, str] = {}  # watch -> the name in /dev it is below ("" for /dev)

    def start(self) -> None:
        self.fd = self.libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        assert self.fd >= 0, os.strerror(ctypes.get_errno())
        for path, dirs, _ in os.walk(self.root):
            dirs[:] = [d for d in dirs if not os.path.ismount(os.path.join(path, d))]
            self._watch(path)

    def _watch(self, path: str) -> None:
        wd = self.libc.inotify_add_watch(self.fd, os.fsencode(path), self._EVENTS)
        if wd >= 0:  # (gone already: its parent's event names it)
            rel = os.path.relpath(path, self.root)
            self.top[wd] = "" if rel == "." else rel.split(os.sep)[0]

    def stop(self) -> set[str]:
        """The names that changed (and closes the watches)."""
        changed: set[str] = set()
        try:
            while True:
                try:
                    data = os.read(self.fd, 65536)
                except BlockingIOError:
                    return changed
                offset = 0
                while offset < len(data):
                    wd, mask, _, size = struct.unpack_from("iIII", data, offset)
                    name = data[offset + 16:offset + 16 + size].split(b"\0")[0].decode()
                    offset += 16 + size
                    assert not mask & self._Q_OVERFLOW, "inotify queue overflow on /dev"
                    if wd in self.top:
                        changed.add(self.top[wd] or name)
        finally:
            os.close(self.fd)


def _dev_name(line: str) -> str:
    """The entry an `ls -ln` line is about (a symlink's, before " -> ")."""
    return line.split(" -> ")[0].split()[-1]


def test_privileged_gets_the_hosts_devices(podman):
    """--privileged: every host device (block ones with S_IFBLK in fileMode), all
    capabilities. Only host devices that changed during the two runs (`DevChanges`)
    are left out of the comparison; every other line must be the same."""
    watch = DevChanges()
    watch.start()
    try:
        got = _both(podman, "run", "--rm", "--privileged", IMAGE, "sh", "-c",
                    "ls -ln /dev | grep -v '^total' | sed 's/ [A-Z][a-z][a-z] .*:.. / /'; "
                    "echo; grep -E '^(CapEff|Seccomp):' /proc/self/status")
    finally:
        changed = watch.stop()
    listings = {}
    for name, (code, out, err) in got.items():
        devices, _, status = out.partition("\n\n")
        lines = devices.splitlines()
        listings[name] = [line for line in lines if _dev_name(line) not in changed]
        got[name] = (code, status, err)
    assert got["pyocijail"] == got["runc"], got
    assert listings["pyocijail"] == listings["runc"], (changed, listings)
    code, status, _ = got["runc"]
    assert code == 0 and "Seccomp:\t0" in status
    stable = {"null", "zero", "full", "random", "urandom", "tty"} - changed
    assert stable <= {_dev_name(line) for line in listings["runc"]}, (changed, listings)


def test_bind_mount_with_rslave_propagation(podman, tmp_path):
    """--mount ...,bind-propagation=rslave: podman asks for rootfsPropagation "rslave"."""
    (tmp_path / "f").write_text("host\n")
    code, out, _ = _same(podman, "run", "--rm", "--mount",
                         f"type=bind,src={tmp_path},dst=/data,bind-propagation=rslave",
                         IMAGE, "cat", "/data/f")
    assert (code, out) == (0, "host\n")


def test_user_namespace_with_uidmap(podman):
    """--uidmap/--gidmap: the init (no longer host root) cannot write the state dir, and
    podman's rootfs mount is locked in the new user namespace (pivot_root needs a bind)."""
    maps = ("--uidmap", "0:100000:65536", "--gidmap", "0:100000:65536")
    script = ("id; cat /proc/self/uid_map; stat -c '%u:%g' /etc/passwd /proc; "
              "grep -E '^(CapEff|Seccomp):' /proc/self/status")
    code, out, _ = _same(podman, "run", "--rm", *maps, IMAGE, "sh", "-c", script)
    assert code == 0 and "         0     100000      65536\n0:0\n65534:65534\n" in out, out
    code, out, _ = _same(podman, "run", "--rm", *maps, "--user", "1000", IMAGE, "id")
    assert (code, out) == (0, "uid=1000(1000) gid=0(root) groups=0(root)\n")


def test_exec_into_a_user_namespace(podman):
    """exec joins the user namespace with the container's seccomp filter."""
    maps = ("--uidmap", "0:100000:65536", "--gidmap", "0:100000:65536")
    try:
        podman.ok("run", "-d", "--name", "un1", *maps, IMAGE, "sleep", "100")
        res = podman("exec", "un1", "sh", "-c",
                     "cat /proc/self/uid_map; grep -E '^Seccomp:' /proc/self/status")
        assert (res.code, res.out) == (0, "         0     100000      65536\nSeccomp:\t2\n"), res
    finally:
        _remove(podman, "un1")


def test_workdir_only_root_may_enter(podman):
    """run --user 1000 -w DIR (0700, root's): runc enters it before the user change."""
    code, out, _ = _same(podman, "run", "--rm", "--user", "1000", "--tmpfs", "/priv:mode=700",
                         "-w", "/priv", IMAGE, "sh", "-c", "pwd; ls . 2>&1 || true")
    assert (code, out) == (0, "/priv\nls: .: Permission denied\n")


def test_exec_workdir_is_not_created(podman):
    """exec -w /nonexist fails with 127 (runc does not create an exec's cwd)."""
    try:
        podman.ok("run", "-d", "--name", "w1", IMAGE, "sleep", "100")
        code, out, errs = _same_code_and_out(podman, "exec", "-w", "/nonexist", "w1", "pwd")
        assert (code, out) == (127, "")
        for err in errs.values():
            assert 'chdir to cwd ("/nonexist") set in config.json failed: no such file' \
                in err.lower().replace("no such file or directory", "no such file"), errs
        assert podman("exec", "w1", "ls", "/nonexist").code == 1
    finally:
        podman.ok("rm", "-f", "-t", "0", "w1")


def test_ulimits(podman):
    """--ulimit sets soft and hard limits; one above the host's hard limit fails create
    (podman: "OCI permission denied", 126), not a later `start`."""
    code, out, _ = _same(podman, "run", "--rm", "--ulimit", "nofile=100:200", "--ulimit",
                         "nproc=300:400", IMAGE, "sh", "-c",
                         "ulimit -n; ulimit -Hn; ulimit -u; ulimit -Hu")
    assert (code, out) == (0, "100\n200\n300\n400\n")
    code, out, errs = _same_code_and_out(podman, "run", "--rm", "--ulimit", "nofile=30000:30000",
                                         "--ulimit", "nproc=300:400", IMAGE, "true")
    assert (code, out) == (126, "")
    for err in errs.values():
        assert "operation not permitted: OCI permission denied" in err.lower().replace(
            "oci permission", "OCI permission"), errs
        assert "RUNTIME start" not in err, errs


def test_cgroup_mount_lists_the_v1_hierarchies_in_the_hosts_order(podman):
    """/sys/fs/cgroup: the v1 hierarchies only (no hybrid cgroup2 "unified"), mounted in
    the host's order, each showing the container's own directory read-only."""
    script = ("ls /sys/fs/cgroup; grep ' /sys/fs/cgroup/' /proc/self/mountinfo | "
              "cut -d' ' -f5,6,9-; cat /sys/fs/cgroup/pids/pids.max")
    code, out, _ = _same(podman, "run", "--rm", "--pids-limit", "42", IMAGE, "sh", "-c", script)
    assert code == 0 and out.endswith("\n42\n")


def test_proc_and_sys_mounts_are_listed_as_under_runc(podman):
    """Read-only paths are bound before the masks are mounted (runc's order)."""
    script = ("grep -E ' /(proc|sys)/' /proc/self/mountinfo | grep -v ' /sys/fs/cgroup' | "
              "cut -d' ' -f4-6,9-")
    code, out, _ = _same(podman, "run", "--rm", IMAGE, "sh", "-c", script)
    assert code == 0 and "/proc/keys" in out and "/proc/sys" in out
