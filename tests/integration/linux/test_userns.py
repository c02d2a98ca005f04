"""User namespaces with uid/gid mappings: real containers through the CLI.

The bundles map container ids 0-65535 onto host ids 100000-165535. The
rootfs stays owned by host root (as an unprepared image would be): the
container's root reads it as "others" and cannot write it, as with runc, so
the test's work directory is made traversable (0711) and writes go to bind
mounts or tmpfs.
"""

from __future__ import annotations

import json
import os

import psutil
import pytest

from pyocijail.testing.clients.driver import read_pid, reap
from tests.integration.linux.cgroupfs import CGROUP_MOUNT

pytestmark = [pytest.mark.root, pytest.mark.busybox,
              pytest.mark.skipif(not os.path.exists("/proc/self/ns/user"),
                                 reason="needs user namespaces")]

HOST = 100000
MAP = [{"containerID": 0, "hostID": HOST, "size": 65536}]
NEW = ("pid", "network", "ipc", "uts", "mount")


@pytest.fixture
def make(workdir, bundle):
    """make(args, namespaces=..., uid=MAP, gid=MAP, mounts_extra=[], **overrides) -> bundle
    (the mount points of `mounts_extra` made in the rootfs beforehand)."""
    from pyocijail.lifecycle.defaults import linux_config

    os.chmod(workdir, 0o711)  # the container's root (host uid 100000) walks to its rootfs

    def _make(args, *, namespaces=(*NEW, "user"), uid=MAP, gid=MAP, mounts_extra=(),
              linux_extra=None, **overrides):
        base = linux_config(["true"])
        section = dict(base["linux"])
        section["namespaces"] = [ns if isinstance(ns, dict) else {"type": ns}
                                 for ns in namespaces]
        if uid is not None:
            section["uidMappings"] = uid
        if gid is not None:
            section["gidMappings"] = gid
        section.update(linux_extra or {})
        path = bundle(args, linux=section, mounts=base["mounts"] + list(mounts_extra),
                      **overrides)
        for m in mounts_extra:  # the container's root may not create them
            target = os.path.join(path, "rootfs", m["destination"].lstrip("/"))
            if m["type"] != "bind" or os.path.isdir(m["source"]):
                os.makedirs(target, exist_ok=True)
            else:
                open(target, "a").close()
        return path

    return _make


@pytest.fixture
def shared(workdir):
    """A host directory anyone may write, to be bind-mounted at /shared."""
    path = os.path.join(workdir, "shared")
    os.mkdir(path)
    os.chmod(path, 0o777)
    return path


def bind(source, dest, *options):
    return {"destination": dest, "type": "bind", "source": source,
            "options": ["rbind", *options]}


def full_caps():
    from pyocijail.backends.linux import capabilities

    return capabilities.names(range(capabilities.last_cap() + 1))


def test_root_inside_is_the_mapped_host_range(runtime, make, cid):
    """/proc/self/uid_map and gid_map show the mappings; the process is uid/gid 0, pid 1."""
    b = make(["sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map; id -u; id -g; echo $$"])
    out = runtime.ok("run", "--bundle", b, cid).out.split("\n")
    assert [line.split() for line in out[:2]] == [["0", str(HOST), "65536"]] * 2
    assert out[2:5] == ["0", "0", "1"]


def test_pid_file_names_the_init_that_blocks_and_then_execs(runtime, make, cid, workdir):
    """The pid file names pid 1 of the container (the intermediate process is gone): it
    waits on the start barrier, runs as the mapped host uid, is reparented to the
    caller's subreaper and becomes the program at start."""
    b = make(["sleep", "30"])
    pid_file = os.path.join(workdir, "init.pid")
    runtime.ok("create", "--bundle", b, "--pid-file", pid_file, cid)
    pid = read_pid(pid_file)
    assert runtime.state(cid)["pid"] == pid
    assert runtime.status(cid) == "created"
    with open(f"/proc/{pid}/status") as f:
        status = dict(line.split(":", 1) for line in f.read().splitlines())
    assert status["NSpid"].split() == [str(pid), "1"]
    assert status["Uid"].split() == [str(HOST)] * 4
    assert os.readlink(f"/proc/{pid}/ns/user") != os.readlink("/proc/self/ns/user")
    proc = psutil.Process(pid)
    assert proc.ppid() == os.getpid()  # we are the subreaper, as conmon is
    runtime.ok("start", cid)
    assert proc.cmdline() == ["sleep", "30"]
    runtime.ok("kill", cid, "KILL")
    assert reap(pid) == -9


def test_run_returns_the_exit_code_of_the_init(runtime, make, cid):
    """`run` (a subreaper) waits for the init, which is its grandchild."""
    b = make(["sh", "-c", "exit 3"])
    assert runtime("run", "--bundle", b, cid).code == 3


def test_files_made_inside_belong_to_the_mapped_host_ids(runtime, make, cid, shared):
    """A file created in a bind-mounted host directory is owned by host uid/gid
    100000 + the container id: 100000 for root, 101000 for user 1000."""
    b = make(["sh", "-c", ("touch /shared/by-root && busybox chown 1000:1000 /shared/by-root && "
              "touch /shared/again")], mounts_extra=[bind(shared, "/shared")],
             process={"capabilities": {k: ["CAP_CHOWN"] for k in ("bounding", "effective",
                                                                  "permitted")}})
    runtime.ok("run", "--bundle", b, cid)
    st = os.stat(os.path.join(shared, "by-root"))
    assert (st.st_uid, st.st_gid) == (HOST + 1000, HOST + 1000)
    st = os.stat(os.path.join(shared, "again"))
    assert (st.st_uid, st.st_gid) == (HOST, HOST)


def test_process_user_is_mapped_too(runtime, make, cid, shared):
    """process.user 1000:1000 with additionalGids runs as host 101000 and is listed so."""
    b = make(["sh", "-c", "id -u; id -G; touch /shared/f"],
             mounts_extra=[bind(shared, "/shared")],
             process={"user": {"uid": 1000, "gid": 1000, "additionalGids": [5]}})
    out = runtime.ok("run", "--bundle", b, cid).out.splitlines()
    assert out[0] == "1000" and set(out[1].split()) == {"1000", "5"}
    assert os.stat(os.path.join(shared, "f")).st_uid == HOST + 1000


def test_capabilities_are_full_inside_but_give_nothing_on_the_host(runtime, make, cid,
                                                                  workdir):
    """Every capability is effective in the namespace, and namespaced things work (a
    tmpfs mount), but a device node cannot be made and a host file readable only by
    host root stays unreadable: the ids and privileges are not the host's."""
    secret = os.path.join(workdir, "secret")
    with open(secret, "w") as f:
        f.write("host only\n")
    os.chmod(secret, 0o600)
    caps = full_caps()
    b = make(["sh", "-c", ("grep CapEff /proc/self/status; "
              "mount -t tmpfs none /tmp && echo tmpfs-ok; "
              "busybox mknod /tmp/sda b 8 0 || echo mknod-refused; "
              "cat /secret || echo secret-refused; "
              "ls -ln /secret")],
             mounts_extra=[bind(secret, "/secret", "ro")],
             process={"capabilities": {k: caps for k in ("bounding", "effective",
                                                          "permitted")}})
    res = runtime.ok("run", "--bundle", b, cid)
    lines = res.out.splitlines()
    mask = (1 << len(caps)) - 1
    assert lines[0].split() == ["CapEff:", f"{mask:016x}"]
    assert lines[1:4] == ["tmpfs-ok", "mknod-refused", "secret-refused"], res
    assert "Operation not permitted" in res.err and "Permission denied" in res.err
    assert lines[4].split()[2:4] == ["65534", "65534"]  # host root is unmapped here


def test_rlimits_are_set_before_the_user_namespace(runtime, make, cid):
    """process.rlimits are set while the init still has the host's privileges (only
    those may raise a hard limit) and hold in the container; one the host refuses
    fails create, naming it, with nothing left behind."""
    b = make(["sh", "-c", "ulimit -n; ulimit -Hn"],
             process={"rlimits": [{"type": "RLIMIT_NOFILE", "soft": 123, "hard": 456}]})
    assert runtime.ok("run", "--bundle", b, cid).out.split() == ["123", "456"]
    b = make(["true"], process={"rlimits": [{"type": "RLIMIT_NOFILE", "soft": 1 << 30,
                                             "hard": 1 << 30}]})
    res = runtime("create", "--bundle", b, cid)
    assert res.code == 1 and "setrlimit RLIMIT_NOFILE" in res.err, res
    assert runtime.ids() == []


def test_devices_are_the_host_nodes_bound_onto_files(runtime, make, cid):
    """mknod is refused in a user namespace: /dev/null etc. are bind mounts of the
    host's nodes, with the right numbers, and usable."""
    b = make(["sh", "-c", ("stat -c %t:%T /dev/null /dev/zero /dev/tty; "
              "echo x > /dev/null && head -c 3 /dev/zero | wc -c; "
              "grep -c ' /dev/null ' /proc/self/mountinfo")])
    out = runtime.ok("run", "--bundle", b, cid).out.split()
    assert out == ["1:3", "1:5", "5:0", "3", "1"]


def test_sysfs_is_fresh_with_a_network_namespace(runtime, make, cid):
    """With a new network namespace (owned by the user namespace) sysfs is mounted anew
    and shows only that namespace's lo."""
    b = make(["ls", "/sys/class/net"])
    assert runtime.ok("run", "--bundle", b, cid).out.split() == ["lo"]


def test_sysfs_is_the_hosts_without_a_network_namespace(runtime, make, cid):
    """Without one the kernel refuses a fresh sysfs; the mount layer binds the host's
    /sys instead, read-only (runc 1.1 fails here with EPERM)."""
    b = make(["sh", "-c", "ls /sys/class/net; touch /sys/x || echo ro"],
             namespaces=("pid", "ipc", "uts", "mount", "user"))
    out = runtime.ok("run", "--bundle", b, cid).out.split()
    assert out[-1] == "ro"
    assert sorted(out[:-1]) == sorted(os.listdir("/sys/class/net"))


def test_hostname_and_read_only_root(runtime, make, cid):
    """hostname is set in the uts namespace the user namespace owns; root.readonly
    remounts "/" read-only (keeping the flags the kernel locks)."""
    b = make(["sh", "-c", "hostname; touch /tmp/x || echo refused"], hostname="inside",
             root={"path": "rootfs", "readonly": True})
    res = runtime.ok("run", "--bundle", b, cid)
    assert res.out.split() == ["inside", "refused"]
    assert "Read-only file system" in res.err


def test_cgroup_is_joined_before_the_namespaces(runtime, make, cid):
    """The init is in the container's cgroup before it unshares the cgroup namespace:
    its own cgroup is "/" inside, the limits are visible, the host lists its pid."""
    b = make(["sh", "-c", ("grep pids /proc/self/cgroup; cat /sys/fs/cgroup/pids/pids.max; "
              "sleep 30")],
             namespaces=(*NEW, "cgroup", "user"), mounts_extra=[CGROUP_MOUNT],
             linux_extra={"resources": {"devices": [{"allow": False, "access": "rwm"}],
                                        "pids": {"limit": 77}}})
    runtime.ok("create", "--bundle", b, cid)
    pid = runtime.state(cid)["pid"]
    from pyocijail.backends.linux.cgroups import default_parent

    host = f"/sys/fs/cgroup/pids{default_parent(runtime.root)}/{cid}"
    with open(f"{host}/cgroup.procs") as f:
        assert f.read().split() == [str(pid)]
    runtime.ok("delete", "--force", cid)
    b2 = make(["sh", "-c", "grep pids /proc/self/cgroup; cat /sys/fs/cgroup/pids/pids.max"],
              namespaces=(*NEW, "cgroup", "user"), mounts_extra=[CGROUP_MOUNT],
              linux_extra={"resources": {"devices": [{"allow": False, "access": "rwm"}],
                                         "pids": {"limit": 77}}})
    out = runtime.ok("run", "--bundle", b2, cid).out.split()
    assert out[0].endswith(":pids:/") and out[1] == "77"


def test_exec_joins_the_user_namespace(runtime, make, cid, shared, workdir):
    """exec enters the user namespace, becomes root in it (a cwd only the container's
    root may enter is entered) then the process user: root sees the maps and pid 1,
    user 1000 creates files as host uid 101000. A missing cwd is an error for exec,
    as in runc."""
    b = make(["sleep", "30"], mounts_extra=[bind(shared, "/shared")])
    runtime.ok("run", "--detach", "--bundle", b, cid)
    res = runtime.ok("exec", cid, "sh", "-c",
                     "cat /proc/self/uid_map; id -u; cat /proc/1/cmdline | tr '\\0' ' '")
    lines = res.out.splitlines()
    assert lines[0].split() == ["0", str(HOST), "65536"]
    assert lines[1] == "0" and lines[2].strip() == "sleep 30"
    runtime.ok("exec", "--user", "1000:1000", cid, "sh", "-c", "touch /shared/e")
    st = os.stat(os.path.join(shared, "e"))
    assert (st.st_uid, st.st_gid) == (HOST + 1000, HOST + 1000)
    proc = os.path.join(workdir, "p.json")
    with open(proc, "w") as f:
        json.dump({"args": ["pwd"], "cwd": "/shared/made", "env": ["PATH=/bin"],
                   "user": {"uid": 1000, "gid": 1000}}, f)
    res = runtime("exec", "--process", proc, cid)
    assert res.code == 1 and "no such file or directory" in res.err, res
    runtime.ok("exec", cid, "sh", "-c", "mkdir -m 700 /shared/made")
    assert os.stat(os.path.join(shared, "made")).st_uid == HOST  # made as root inside
    assert runtime.ok("exec", "--process", proc, cid).out == "/shared/made\n"


def test_terminal_is_a_pty_of_the_namespace_devpts(runtime, make, cid):
    """process.terminal: the pty comes from the devpts instance mounted in the user
    namespace, owned by the container's root, and `run` relays it."""
    from tests.helpers import drive_terminal

    b = make(["sh", "-c", "tty; stat -c %u $(tty); echo ready; read x; echo got:$x"],
             process={"terminal": True})
    code, out = drive_terminal(runtime.argv("run", "--bundle", b, cid), b"hi\n")
    assert code == 0, out
    assert b"/dev/pts/0" in out and b"got:hi" in out, out
    assert b"\n0\r\n" in out.replace(b"\r\r", b"\r"), out


def test_a_user_namespace_given_by_path_is_joined(runtime, make, cid):
    """A second container joins the first one's user namespace (no mappings of its
    own): same maps, root inside, and its new pid namespace can mount /proc."""
    first = make(["sleep", "30"])
    runtime.ok("run", "--detach", "--bundle", first, cid)
    pid = runtime.state(cid)["pid"]
    ns = f"/proc/{pid}/ns/user"
    second = make(["sh", "-c", ("cat /proc/self/uid_map; id -u; echo $$; "
                   "readlink /proc/self/ns/user")],
                  namespaces=(*NEW, {"type": "user", "path": ns}), uid=None, gid=None)
    out = runtime.ok("run", "--bundle", second, cid + "b").out.splitlines()
    assert out[0].split() == ["0", str(HOST), "65536"]
    assert out[1:3] == ["0", "1"]
    assert out[3] == os.readlink(ns)


def test_a_failure_in_the_first_stage_fails_create_cleanly(runtime, make, cid):
    """A "user" path that is not a user namespace: the first stage reports the setns
    error, create fails with it and leaves no state, process or cgroup behind."""
    b = make(["true"], namespaces=(*NEW, {"type": "user", "path": "/proc/self/ns/net"}),
             uid=None, gid=None)
    res = runtime("create", "--bundle", b, cid)
    assert res.code == 1 and "join user namespace /proc/self/ns/net" in res.err, res
    assert runtime.ids() == []
    left = [p.pid for p in psutil.process_iter(["cmdline"])
            if runtime.root in (p.info["cmdline"] or [])]  # the stage and init are forks
    assert left == []


def test_a_rootfs_the_container_root_cannot_reach_fails_cleanly(runtime, make, cid,
                                                                workdir):
    """As with runc, the mapped root must be able to walk to the rootfs: if not, create
    fails naming the path and leaves no state, process or cgroup behind."""
    b = make(["true"])
    os.chmod(workdir, 0o700)
    res = runtime("create", "--bundle", b, cid)
    assert res.code == 1 and "Permission denied" in res.err, res
    assert f"open rootfs {b}/rootfs" in res.err and f"host uid {HOST}" in res.err
    assert runtime.ids() == []


@pytest.mark.parametrize("change, words", [
    ({"uid": None, "gid": None}, "no uid mappings found"),
    ({"gid": None}, "no gid mappings found"),
    ({"uid": [{"containerID": 1, "hostID": HOST, "size": 10}]}, "no root uid mapping"),
    ({"gid": [{"containerID": 0, "hostID": HOST, "size": 10},
              {"containerID": 5, "hostID": 200000, "size": 10}]}, "overlap"),
    ({"uid": [{"containerID": 0, "hostID": HOST, "size": 10},
              {"containerID": 20, "hostID": HOST + 5, "size": 10}]}, "overlap"),
    ({"uid": [{"containerID": 0, "hostID": HOST, "size": 0}]}, "size"),
    ({"process": {"user": {"uid": 70000, "gid": 0}}}, "uid 70000 is not mapped"),
    ({"process": {"user": {"uid": 0, "gid": 0, "additionalGids": [70001]}}},
     "gid 70001 is not mapped"),
    ({"namespaces": (*NEW, {"type": "user", "path": "/proc/self/ns/user"})},
     "cannot be applied to the existing user namespace"),
    ({"namespaces": NEW}, "require a user namespace"),
])
def test_configurations_runc_refuses_are_refused(runtime, make, cid, change, words):
    """Each is refused at create with the field named, before anything is made."""
    b = make(["true"], **change)
    res = runtime("create", "--bundle", b, cid)
    assert res.code == 1 and words in res.err, res
    assert runtime.ids() == []


def test_features_lists_the_user_namespace(runtime):
    assert "user" in runtime.ok("features").json()["linux"]["namespaces"]


def test_plan_shows_the_mappings(runtime, make, cid):
    b = make(["true"])
    plan = runtime.ok("plan", "--platform", "linux", "--bundle", b, cid).json()
    assert plan["uidMappings"] == MAP and plan["gidMappings"] == MAP
    assert {"type": "user"} in plan["namespaces"]

