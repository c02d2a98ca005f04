"""exec into running containers: detached with a pid file, attached, and failures."""

from __future__ import annotations

import json
import os

import psutil
import pytest

from pyocijail.testing.clients.driver import read_pid, reap

pytestmark = [pytest.mark.root, pytest.mark.busybox]


def _running(runtime, bundle, **overrides):
    b = bundle(["sleep", "60"], **overrides)
    runtime.ok("run", "--detach", "--bundle", b, "c1")
    return b


def test_exec_command_returns_its_exit_code(runtime, bundle):
    """`exec ID CMD` runs in the container and exits with the command's code."""
    _running(runtime, bundle)
    res = runtime("exec", "c1", "sh", "-c", "hostname; exit 5")
    assert res.code == 5
    assert res.out == "pyocijail\n"


def test_exec_sees_the_container_pid_namespace(runtime, bundle):
    """The exec'd process joins the container's pid namespace (init is pid 1)."""
    _running(runtime, bundle)
    res = runtime.ok("exec", "c1", "sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '")
    assert res.out.strip() == "sleep 60"


def test_exec_detached_writes_pid_file_of_the_program(runtime, bundle, workdir):
    """--detach --pid-file: the pid is our descendant and becomes the program."""
    _running(runtime, bundle)
    proc = os.path.join(workdir, "process.json")
    with open(proc, "w") as f:
        json.dump({"args": ["sleep", "7"], "cwd": "/", "env": ["PATH=/bin"],
                   "user": {"uid": 0, "gid": 0}}, f)
    pid_file = os.path.join(workdir, "exec.pid")
    res = runtime("exec", "--process", proc, "--detach", "--pid-file", pid_file, "c1")
    assert res.code == 0 and res.out == "" and res.err == "", res
    pid = read_pid(pid_file)
    assert psutil.Process(pid).cmdline() == ["sleep", "7"]
    os.kill(pid, 9)
    assert reap(pid) == -9


def test_exec_process_file_settings_apply(runtime, bundle, workdir):
    """cwd, env and user from the process file are what the program gets."""
    _running(runtime, bundle)
    proc = os.path.join(workdir, "process.json")
    with open(proc, "w") as f:
        json.dump({"args": ["sh", "-c", "pwd; echo $FOO; id -u; id -g"], "cwd": "/tmp",
                   "env": ["PATH=/bin", "FOO=bar"], "user": {"uid": 65534, "gid": 65534}}, f)
    res = runtime.ok("exec", "--process", proc, "c1")
    assert res.out.split() == ["/tmp", "bar", "65534", "65534"]


def test_exec_missing_binary_fails_before_pid_file(runtime, bundle, workdir):
    """A missing command is reported with runc's words and no pid file appears."""
    _running(runtime, bundle)
    pid_file = os.path.join(workdir, "exec.pid")
    res = runtime("exec", "--detach", "--pid-file", pid_file, "c1", "nosuchcmd")
    assert res.code == 1
    assert 'exec: "nosuchcmd": executable file not found in $PATH' in res.err
    assert not os.path.exists(pid_file)


def test_exec_in_stopped_container_fails(runtime, bundle):
    """exec needs a running container."""
    b = bundle(["true"])
    runtime.ok("create", "--bundle", b, "c1")
    pid = runtime.state("c1")["pid"]
    runtime.ok("start", "c1")
    reap(pid)
    res = runtime("exec", "c1", "true")
    assert res.code == 1 and "stopped" in res.err


def test_exec_into_a_created_container_works(runtime, bundle):
    """As runc: exec before start runs in the container's namespaces and root (the
    README's debugging recipe); the container still starts afterwards; a paused
    container still refuses exec (runc: without --ignore-paused)."""
    b = bundle(["sh", "-c", "echo started > /tmp/started; sleep 60"])
    runtime.ok("create", "--bundle", b, "c1")
    pid = runtime.state("c1")["pid"]
    res = runtime("exec", "c1", "sh", "-c", "cat /proc/1/status | grep ^Pid; ls /tmp; hostname")
    assert res.code == 0, res
    assert res.out.splitlines()[0].split() == ["Pid:", "1"]  # the waiting init is pid 1
    assert "started" not in res.out
    assert runtime.status("c1") == "created"
    runtime.ok("start", "c1")
    runtime.wait_status("c1", "running")
    runtime.ok("pause", "c1")
    res = runtime("exec", "c1", "true")
    assert res.code == 1 and "paused" in res.err
    runtime.ok("resume", "c1")
    runtime.ok("kill", "c1", "KILL")
    reap(pid)


def test_exec_env_and_cwd_flags(runtime, bundle):
    """--env adds to the container's env, --cwd sets the directory, --user the ids."""
    _running(runtime, bundle)
    res = runtime.ok("exec", "--env", "A=1", "--cwd", "/etc", "--user", "65534:65534", "c1",
                     "sh", "-c", "echo $A $(pwd) $(id -u)")
    assert res.out == "1 /etc 65534\n"


def test_exec_into_a_missing_cwd_fails(runtime, bundle):
    """runc creates a missing cwd for the init only: an exec into one fails with
    its words and creates nothing (`ctr task exec --cwd /nonexist` ran before)."""
    _running(runtime, bundle)
    res = runtime("exec", "--cwd", "/no/such", "c1", "true")
    assert res.code == 1
    assert 'chdir to cwd ("/no/such") set in config.json failed: no such file or directory' \
        in res.err, res
    res = runtime("exec", "--cwd", "/etc/passwd", "c1", "true")
    assert res.code == 1 and "failed: not a directory" in res.err, res
    assert runtime.ok("exec", "c1", "sh", "-c", "test -e /no || echo absent").out == "absent\n"


def test_exec_cwd_only_root_may_enter(runtime, bundle):
    """As runc: chdir happens before the user change, so user 65534 starts in a 0700 dir."""
    b = _running(runtime, bundle)
    os.chmod(os.path.join(b, "rootfs", "root"), 0o700)
    res = runtime.ok("exec", "--cwd", "/root", "--user", "65534:65534", "c1",
                     "sh", "-c", "pwd; ls . >/dev/null 2>&1 || echo denied")
    assert res.out == "/root\ndenied\n"
