"""What the container process gets: user, umask, env, cwd, rlimits, fds, root, hostname."""

from __future__ import annotations

import json
import os

import pytest

pytestmark = [pytest.mark.root, pytest.mark.busybox]


def test_user_groups_umask_env_cwd(runtime, bundle):
    """uid, gid, additionalGids, umask, env, cwd are applied as configured."""
    b = bundle(["sh", "-c", "id -u; id -g; id -G; umask; echo $GREETING; pwd; echo $HOME"],
               process={"user": {"uid": 65534, "gid": 65534, "additionalGids": [5, 7],
                                 "umask": 23},
                        "env": ["PATH=/bin", "GREETING=hi"], "cwd": "/tmp"})
    res = runtime.ok("run", "--bundle", b, "c1")
    lines = res.out.splitlines()
    assert lines[0:2] == ["65534", "65534"]
    assert set(lines[2].split()) == {"65534", "5", "7"}
    assert lines[3] == "0027"
    assert lines[4:7] == ["hi", "/tmp", "/home"]


def test_a_non_root_program_can_reopen_its_stdio(runtime, bundle, workdir):
    """/dev/stdout is /proc/self/fd/1: reopening it checks the inode's owner, so
    fds 0-2 are given to the program's user (keeping their group), as runc does;
    `echo > /dev/stdout` failed as any uid but root. /dev/null is left alone."""
    # (reopened with >>: the driver's stdout is a file, and > would truncate it)
    script = ("exec 1>>/dev/stdout 2>>/dev/stderr; echo out; echo err >&2; cat /dev/stdin; "
              "stat -L -c '%u %g' /proc/self/fd/0 /dev/null")
    b = bundle(["sh", "-c", script], process={"user": {"uid": 65534, "gid": 65534}})
    stdin = os.path.join(workdir, "stdin")
    with open(stdin, "w") as f:
        f.write("in\n")
    with open(stdin) as f:
        res = runtime("run", "--bundle", b, "c1", stdin=f)
    assert (res.code, res.err) == (0, "err\n"), res
    assert res.out == "out\nin\n65534 0\n0 0\n", res
    runtime.ok("run", "--detach", "--bundle", bundle(["sleep", "60"]), "c2")
    res = runtime("exec", "--user", "65534:65534", "c2", "sh", "-c", "echo x >> /dev/stdout")
    assert (res.code, res.out) == (0, "x\n"), res


def test_absent_umask_is_the_inherited_one(runtime, bundle):
    """No user.umask: the program keeps the umask the runtime was started with
    (ocijail forced 077 on every process)."""
    b = bundle(["sh", "-c", "umask"])
    old = os.umask(0o027)
    try:
        res = runtime.ok("run", "--bundle", b, "c1")
    finally:
        os.umask(old)
    assert res.out == "0027\n"


def test_missing_cwd_is_created(runtime, bundle):
    """Like runc, a cwd missing in the rootfs is created."""
    b = bundle(["pwd"], process={"cwd": "/new/dir"})
    assert runtime.ok("run", "--bundle", b, "c1").out == "/new/dir\n"


def test_cwd_only_root_may_enter_works_for_another_user(runtime, bundle):
    """As runc: chdir before the user change (`podman run --user 1000 -w /root`)."""
    b = bundle(["sh", "-c", "pwd; ls . >/dev/null 2>&1 || echo denied"],
               process={"user": {"uid": 1000, "gid": 1000}, "cwd": "/root"})
    os.chmod(os.path.join(b, "rootfs", "root"), 0o700)
    assert runtime.ok("run", "--bundle", b, "c1").out == "/root\ndenied\n"


def test_rlimits_are_applied(runtime, bundle):
    """process.rlimits set soft and hard limits."""
    b = bundle(["sh", "-c", "ulimit -n; ulimit -Hn"],
               process={"rlimits": [{"type": "RLIMIT_NOFILE", "soft": 123, "hard": 456}]})
    assert runtime.ok("run", "--bundle", b, "c1").out.split() == ["123", "456"]


def test_unlimited_rlimit_is_applied(runtime, bundle):
    """18446744073709551615 (uint64 max, what podman writes for unlimited) is
    RLIM_INFINITY, not an OverflowError in setrlimit."""
    b = bundle(["sh", "-c", "ulimit -c; ulimit -Hc"],
               process={"rlimits": [{"type": "RLIMIT_CORE", "soft": 2**64 - 1,
                                     "hard": 2**64 - 1}]})
    assert runtime.ok("run", "--bundle", b, "c1").out.split() == ["unlimited", "unlimited"]


def test_rlimit_above_hard_limit_fails_create(runtime, bundle):
    """An rlimit the kernel refuses fails create (as runc: podman reports it from
    create, not from a later `start`), with the limit and EPERM's words."""
    b = bundle(["true"], process={"rlimits": [{"type": "RLIMIT_NOFILE", "soft": 1 << 30,
                                               "hard": 1 << 30}]})
    res = runtime("create", "--bundle", b, "c1")
    assert res.code == 1 and "setrlimit RLIMIT_NOFILE" in res.err, res
    assert "Operation not permitted" in res.err
    assert runtime.ids() == []


def test_duplicate_rlimit_types_are_refused_at_create(runtime, bundle, workdir):
    """Two entries of one rlimit type: create fails with one line naming it (a spec
    MUST), nothing is made; an exec process file with duplicates fails too."""
    twice = [{"type": "RLIMIT_NOFILE", "soft": 100, "hard": 200},
             {"type": "RLIMIT_NOFILE", "soft": 300, "hard": 400}]
    b = bundle(["sleep", "30"], process={"rlimits": twice})
    res = runtime("create", "--bundle", b, "c1")
    assert res.code == 1 and res.err.count("\n") == 1, res
    assert "duplicate rlimit type 'RLIMIT_NOFILE'" in res.err
    assert runtime.ids() == []
    runtime.ok("create", "--bundle", bundle(["sleep", "30"]), "c2")
    proc = os.path.join(workdir, "process.json")
    with open(proc, "w") as f:
        json.dump({"args": ["true"], "cwd": "/", "user": {"uid": 0, "gid": 0},
                   "rlimits": twice}, f)
    res = runtime("exec", "--process", proc, "c2")
    assert res.code == 1 and "duplicate rlimit type 'RLIMIT_NOFILE'" in res.err, res


def test_signals_are_default_in_the_container(runtime, bundle):
    """SIGPIPE is not ignored (Python ignores it; ignoring survives exec)."""
    b = bundle(["grep", "-E", "SigIgn|SigBlk", "/proc/self/status"])
    out = runtime.ok("run", "--bundle", b, "c1").out
    assert "SigIgn:\t0000000000000000" in out
    assert "SigBlk:\t0000000000000000" in out


def test_only_stdio_and_preserved_fds_reach_the_program(runtime, bundle, workdir):
    """--preserve-fds 1 keeps fd 3; a leaked fd 4 (and anything higher) is closed."""
    import subprocess

    r, w = os.pipe()
    leak = os.open("/dev/null", os.O_RDONLY)

    def fds_3_and_4():
        os.dup2(w, 3)
        os.dup2(leak, 4)

    # `[` is a shell builtin: /proc/self is the shell, which opens nothing itself.
    b = bundle(["sh", "-c", ("echo via-fd3 >&3; for fd in 3 4 5 10 251; do "
                "[ -e /proc/self/fd/$fd ] && echo $fd; done; true")])
    out = os.path.join(workdir, "out")
    with open(out, "w") as f:
        proc = subprocess.run(runtime.argv("run", "--preserve-fds", "1", "--bundle", b, "c1"),
                              stdout=f, stdin=subprocess.DEVNULL, close_fds=False,
                              preexec_fn=fds_3_and_4, timeout=60, check=False)
    os.close(w)
    os.close(leak)
    assert proc.returncode == 0
    assert os.read(r, 100) == b"via-fd3\n"
    os.close(r)
    with open(out) as f:
        fds = f.read().split()
    assert fds == ["3"], fds


def test_hostname_and_readonly_root(runtime, bundle):
    """hostname is set in the new uts namespace; root.readonly makes / read-only."""
    b = bundle(["sh", "-c", "hostname; touch /x 2>&1; touch /tmp/y && echo tmp-ok"],
               hostname="box1", root={"path": "rootfs", "readonly": True},
               mounts=[{"destination": "/proc", "type": "proc", "source": "proc"},
                       {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"}])
    out = runtime.ok("run", "--bundle", b, "c1").out
    assert out.splitlines()[0] == "box1"
    assert "Read-only file system" in out
    assert "tmp-ok" in out


def test_container_has_own_pid_namespace_and_proc(runtime, bundle):
    """The program is pid 1 and sees only its own processes."""
    b = bundle(["sh", "-c", "echo $$; ls /proc | grep -c '^[0-9]'"])
    out = runtime.ok("run", "--bundle", b, "c1").out.split()
    assert out[0] == "1"
    assert int(out[1]) <= 3


def test_bind_mounts_of_a_directory_and_a_single_file(runtime, bundle, workdir):
    """A read-only directory bind and a single-file bind (like /etc/hosts) are visible."""
    shared = os.path.join(workdir, "shared")
    os.makedirs(shared)
    with open(os.path.join(shared, "data"), "w") as f:
        f.write("from-host\n")
    hosts = os.path.join(workdir, "hosts")
    with open(hosts, "w") as f:
        f.write("10.1.2.3 web\n")
    b = bundle(["sh", "-c", "cat /mnt/shared/data /etc/hosts; touch /mnt/shared/x 2>&1; true"],
               mounts=[{"destination": "/proc", "type": "proc", "source": "proc"},
                       {"destination": "/mnt/shared", "type": "bind", "source": shared,
                        "options": ["rbind", "ro", "rprivate"]},
                       {"destination": "/etc/hosts", "type": "bind", "source": hosts,
                        "options": ["bind"]}])
    out = runtime.ok("run", "--bundle", b, "c1").out
    assert "from-host" in out and "10.1.2.3 web" in out
    assert "Read-only file system" in out
    assert not os.path.exists(os.path.join(shared, "x"))


def test_joining_namespace_paths(runtime, bundle):
    """A namespace `path` is joined: two containers share one network and uts namespace."""
    b1 = bundle(["sleep", "60"], hostname="first")
    runtime.ok("run", "--detach", "--bundle", b1, "first")
    pid = runtime.state("first")["pid"]
    namespaces = [{"type": "pid"}, {"type": "mount"}, {"type": "ipc"},
                  {"type": "network", "path": f"/proc/{pid}/ns/net"},
                  {"type": "uts", "path": f"/proc/{pid}/ns/uts"}]
    b2 = bundle(["sh", "-c", "hostname; readlink /proc/self/ns/net"],
                linux={"namespaces": namespaces})
    out = runtime.ok("run", "--bundle", b2, "second").out.split()
    assert out[0] == "first"
    assert out[1] == os.readlink(f"/proc/{pid}/ns/net")
