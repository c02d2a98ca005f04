"""cgroup v2 device programs in the kernel: what a process in the cgroup can open and mknod.

Each test makes its own directory in the host's cgroup2 hierarchy (the unified
one of this hybrid machine: a device program needs no controller), attaches a
program, and checks from a forked child that moved itself into it. The
finalizer kills whatever is still in the directory and removes it.
"""

from __future__ import annotations

import errno
import json
import os
import time

import pytest

pytestmark = [pytest.mark.root]

_COUNTER = [0]
FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures")


def _cgroup2_root():
    from pyocijail.backends.linux import cgroups

    try:
        return next((h.mountpoint for h in cgroups.hierarchies() if h.version == 2), None)
    except OSError:
        return None


CGROUP2 = _cgroup2_root()
needs_cgroup2 = pytest.mark.skipif(CGROUP2 is None, reason="no cgroup2 hierarchy mounted")


def _members(directory):
    try:
        with open(f"{directory}/cgroup.procs") as f:
            return [int(w) for w in f.read().split()]
    except FileNotFoundError:
        return []


@pytest.fixture
def cgroup2_dir():
    """A fresh directory in the cgroup2 hierarchy, removed (its processes killed) after."""
    _COUNTER[0] += 1
    path = f"{CGROUP2}/pjdf{os.getpid()}x{_COUNTER[0]}"
    os.mkdir(path)
    yield path
    deadline = time.monotonic() + 5
    while os.path.isdir(path):
        for pid in _members(path):
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
        try:
            os.rmdir(path)
        except OSError as err:
            if err.errno != errno.EBUSY or time.monotonic() > deadline:
                raise
            time.sleep(0.01)
    assert not os.path.exists(path)


def in_cgroup(directory, fn, *args):
    """Run fn(*args) in a forked child that first moved itself into `directory`;
    returns its JSON-able result (an exception in the child fails the test)."""
    from tests.integration.linux.childns import run_in_child

    def join() -> None:
        with open(f"{directory}/cgroup.procs", "w") as f:
            f.write(str(os.getpid()))

    return run_in_child(fn, *args, prepare=join)



def _outcome(call):
    try:
        call()
        return "ok"
    except OSError as err:
        return errno.errorcode.get(err.errno, str(err.errno))


def try_open(path, flags=os.O_RDONLY):
    return _outcome(lambda: os.close(os.open(path, flags | os.O_CLOEXEC | os.O_NOCTTY)))


def try_mknod(directory, kind, major, minor):
    import stat

    path = os.path.join(directory, f"node-{kind}-{major}-{minor}")
    mode = (stat.S_IFCHR if kind == "c" else stat.S_IFBLK) | 0o600
    result = _outcome(lambda: os.mknod(path, mode, os.makedev(major, minor)))
    if result == "ok":
        os.unlink(path)
    return result


def _install(directory, pairs):
    from pyocijail.backends.linux import devicefilter

    return devicefilter.install(directory, devicefilter.parse(pairs))


@needs_cgroup2
def test_null_only_program_denies_other_devices(cgroup2_dir, tmp_path):
    """deny-all + allow c 1:3 rwm: /dev/null opens, /dev/zero and mknod of 1:5 get EPERM."""
    _install(cgroup2_dir, [(False, "a"), (True, "c 1:3 rwm")])

    def checks(tmp):
        return {"null": try_open("/dev/null", os.O_RDWR), "zero": try_open("/dev/zero"),
                "mknod-zero": try_mknod(tmp, "c", 1, 5), "mknod-null": try_mknod(tmp, "c", 1, 3)}

    assert in_cgroup(cgroup2_dir, checks, str(tmp_path)) == {
        "null": "ok", "zero": "EPERM", "mknod-zero": "EPERM", "mknod-null": "ok"}


@needs_cgroup2
def test_podman_rules_allow_the_usual_devices(cgroup2_dir, tmp_path):
    """podman 4.3's rules plus runc's defaults: null, zero, urandom, full, tty, ptmx and a
    pts open; mknod of any char device works; /dev/kmsg (c 1:11) gets EPERM."""
    from pyocijail.backends.linux import resources
    from pyocijail.spec import model

    with open(os.path.join(FIXTURES, "podman", "config.json")) as f:
        rules = json.load(f)["linux"]["resources"]["devices"]
    _install(cgroup2_dir, resources.device_rules(
        tuple(model.DeviceRule(**r) for r in rules), ()))

    def checks(tmp):
        def pty():
            master, slave = os.openpty()  # /dev/ptmx, then /dev/pts/N (c 136:N)
            os.close(master)
            os.close(slave)

        result = {p: try_open(p, os.O_RDWR) for p in ("/dev/null", "/dev/zero", "/dev/urandom",
                                                       "/dev/full")}
        tty = try_open("/dev/tty", os.O_RDWR)  # ENXIO without a controlling terminal
        result["tty"] = "ok" if tty in ("ok", "ENXIO") else tty
        result["pty"] = _outcome(pty)
        result["kmsg"] = try_open("/dev/kmsg")
        result["mknod"] = try_mknod(tmp, "c", 1, 11)
        return result

    assert in_cgroup(cgroup2_dir, checks, str(tmp_path)) == {
        "/dev/null": "ok", "/dev/zero": "ok", "/dev/urandom": "ok", "/dev/full": "ok",
        "tty": "ok", "pty": "ok", "kmsg": "EPERM", "mknod": "ok"}


@needs_cgroup2
def test_install_again_replaces_our_program(cgroup2_dir):
    """A second install leaves one pyocijail program, the new one: /dev/zero opens now."""
    from pyocijail.backends.linux import devicefilter

    first = _install(cgroup2_dir, [(False, "a"), (True, "c 1:3 rwm")])
    assert in_cgroup(cgroup2_dir, try_open, "/dev/zero") == "EPERM"
    second = _install(cgroup2_dir, [(False, "a"), (True, "c 1:3 rwm"), (True, "c 1:5 r")])
    assert second != first
    assert devicefilter.programs(cgroup2_dir) == [(second, devicefilter.PROG_NAME)]
    assert in_cgroup(cgroup2_dir, try_open, "/dev/zero") == "ok"


def test_verifier_refusal_is_a_kernel_error_with_its_log():
    """A program the verifier refuses (r0 never set) fails with the verifier's words."""
    from pyocijail.backends.linux import devicefilter
    from pyocijail.errors import KernelError

    with pytest.raises(KernelError, match=r"verifier: .*R0") as info:
        devicefilter.load([devicefilter.Insn(devicefilter.EXIT)])
    assert info.value.errno == errno.EACCES


# --- a whole container, with the eBPF path forced on this hybrid host ---------------------

CGROUP_MOUNT = {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
                "options": ["rprivate", "nosuid", "noexec", "nodev", "relatime", "ro"]}
FORCED = {"PYOCIJAIL_DEVICE_FILTER": "bpf"}
hybrid = pytest.mark.skipif(not (os.path.isdir("/sys/fs/cgroup/devices")
                                 and os.path.isfile("/sys/fs/cgroup/unified/cgroup.procs")),
                            reason="written for this machine's hybrid cgroup layout")


def _bundle(bundle, args, devices=()):
    from pyocijail.lifecycle.defaults import linux_config

    config = linux_config(["true"])
    section = dict(config["linux"], devices=list(devices))
    caps = {k: [*v, "CAP_MKNOD"] for k, v in config["process"]["capabilities"].items()}
    return bundle(args, linux=section, mounts=config["mounts"] + [CGROUP_MOUNT],
                  process={"capabilities": caps})


@pytest.mark.busybox
@hybrid
def test_container_run_with_the_ebpf_filter(runtime, bundle, cid):
    """PYOCIJAIL_DEVICE_FILTER=bpf: the deny-all config is enforced by the unified cgroup's
    program (the v1 devices cgroup stays allow-all); a linux.devices entry is allowed."""
    env = dict(runtime.env, **FORCED)
    # c 240:0 has no driver: EPERM comes from the filter, an allowed open gets ENXIO
    b = _bundle(bundle, ["sh", "-c", ("echo ok > /dev/null && echo null-ok; "
                         "busybox mknod /tmp/nodrv c 240 0 && true < /tmp/nodrv; "
                         "true < /dev/fuse && echo fuse-ok; "
                         "cat /sys/fs/cgroup/devices/devices.list")],
                devices=[{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229,
                          "fileMode": 438}])
    out = runtime("run", "--bundle", b, cid, env=env)
    assert "null-ok" in out.out and "fuse-ok" in out.out, out
    assert "mknod" not in out.err and "can't open /tmp/nodrv: Operation not permitted" in out.err
    assert "a *:* rwm" in out.out.splitlines()


@pytest.mark.busybox
@hybrid
def test_update_replaces_the_containers_program(runtime, bundle, cid, tmp_path):
    """update with new device rules swaps the program: a denied device becomes readable
    (not writable), and one pyocijail program stays attached."""
    from pyocijail.backends.linux import devicefilter

    env = dict(runtime.env, **FORCED)
    b = _bundle(bundle, ["sh", "-c", "busybox mknod /tmp/fuse c 10 229; sleep 30"])
    runtime.ok("create", "--bundle", b, cid, env=env)
    runtime.ok("start", cid, env=env)
    from pyocijail.backends.linux.cgroups import default_parent

    directory = f"/sys/fs/cgroup/unified{default_parent(runtime.root)}/{cid}"
    [(before, _)] = devicefilter.programs(directory)
    for _ in range(100):
        if runtime("exec", cid, "sh", "-c", "test -c /tmp/fuse").code == 0:
            break
        time.sleep(0.05)
    denied = runtime("exec", cid, "sh", "-c", "true < /tmp/fuse")
    assert "can't open /tmp/fuse: Operation not permitted" in denied.err, denied
    rules = tmp_path / "resources.json"
    rules.write_text(json.dumps({"devices": [
        {"allow": False, "access": "rwm"},
        {"allow": True, "type": "c", "major": 10, "minor": 229, "access": "r"}]}))
    runtime.ok("update", "--resources", str(rules), cid, env=env)
    [(after, name)] = devicefilter.programs(directory)
    assert after != before and name == devicefilter.PROG_NAME
    read = runtime("exec", cid, "sh", "-c", "true < /tmp/fuse && true < /dev/null && echo read")
    assert read.out.strip() == "read", read
    written = runtime("exec", cid, "sh", "-c", "true > /tmp/fuse")
    assert "can't create /tmp/fuse: Operation not permitted" in written.err, written
