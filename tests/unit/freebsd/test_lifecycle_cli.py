"""Whole lifecycles through the CLI on the simulated FreeBSD kernel.

Every runtime process (create, start, exec, kill, delete are separate
processes) is `python -m pyocijail.testing.simhost <file>`: the real CLI and
FreeBSD backend over `LibcKernel`, whose libc and base tools are fakes in
front of one simulated host kept in <file>.
The rootfs holds a static busybox so that, as root, the chrooted process runs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from pyocijail.testing import simhost
from pyocijail.testing.bundles import BUSYBOX
from pyocijail.testing.simkernel import SimulatedKernel

pytestmark = pytest.mark.busybox


@pytest.fixture
def env(tmp_path: Path) -> dict[str, Any]:
    rootfs = tmp_path / "bundle/rootfs"
    for d in ("bin", "dev", "etc", "tmp"):
        (rootfs / d).mkdir(parents=True)
    assert BUSYBOX
    shutil.copy(BUSYBOX, rootfs / "bin/busybox")
    for tool in ("sh", "sleep", "cat", "echo"):
        os.symlink("busybox", rootfs / "bin" / tool)
    (rootfs / "etc/marker").write_text("inside the rootfs\n")
    (tmp_path / "hosts").write_text("10.0.0.1 web\n")
    config = {"ociVersion": "1.3.0", "root": {"path": "rootfs"}, "hostname": "web",
              "process": {"args": ["/bin/sleep", "30"], "cwd": "/", "env": ["PATH=/bin"],
                          "user": {"uid": 0, "gid": 0}},
              "mounts": [{"destination": "/dev", "type": "devfs", "source": "devfs",
                          "options": ["ruleset=4"]},
                         {"destination": "/dev/fd", "type": "fdescfs", "source": "fdesc"},
                         {"destination": "/etc/hosts", "type": "nullfs",
                          "source": str(tmp_path / "hosts")},
                         {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
                          "options": ["tmpcopyup"]}],
              "annotations": {"org.freebsd.jail.vnet": "new"},
              "linux": {"resources": {"memory": {"limit": 1 << 28}}}}
    (tmp_path / "bundle/config.json").write_text(json.dumps(config))
    sim = SimulatedKernel.configure(str(tmp_path / "sim.json"), racct=True)
    return {"tmp": tmp_path, "sim": sim, "rootfs": rootfs,
            "before": sorted(str(p) for p in rootfs.rglob("*"))}


def cli(env: dict[str, Any], *args: str, check: bool = True) -> subprocess.CompletedProcess:
    # Files, not pipes: the container inherits create's stdio (the OCI contract)
    # and would hold a pipe open until it exits.
    out, err = env["tmp"] / "out", env["tmp"] / "err"
    with open(out, "w") as o, open(err, "w") as e:
        proc = subprocess.run(
            [*simhost.argv(env["sim"].path), "--root", str(env["tmp"] / "run"), *args],
            stdin=subprocess.DEVNULL, stdout=o, stderr=e, text=True, timeout=60)
    proc.stdout, proc.stderr = out.read_text(), err.read_text()
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def status(env: dict[str, Any], cid: str) -> str:
    return json.loads(cli(env, "state", cid).stdout)["status"]


def assert_nothing_left(env: dict[str, Any]) -> None:
    state = env["sim"].snapshot()
    assert state["jails"] == {} and state["mounts"] == [] and state["rctl"] == []
    assert sorted(str(p) for p in env["rootfs"].rglob("*")) == env["before"]
    assert not (env["tmp"] / "run" / "c1").exists()


def test_create_start_kill_delete(env: dict[str, Any]) -> None:
    """The jail, mounts and rules exist from create to delete, then nothing is left."""
    cli(env, "create", "--bundle", str(env["tmp"] / "bundle"), "--pid-file",
        str(env["tmp"] / "pid"), "c1")
    snap = env["sim"].snapshot()
    assert [j["name"] for j in snap["jails"].values()] == ["c1"]
    assert len(snap["mounts"]) == 4 and snap["rctl"] == ["jail:c1:memoryuse:deny=268435456"]
    assert status(env, "c1") == "created"
    cli(env, "start", "c1")
    assert status(env, "c1") == "running"
    cli(env, "kill", "--all", "c1", "9")
    deadline = time.time() + 10
    while status(env, "c1") != "stopped":
        assert time.time() < deadline
        time.sleep(0.05)
    cli(env, "delete", "c1")
    assert_nothing_left(env)


def test_delete_force_of_a_running_container(env: dict[str, Any]) -> None:
    """delete --force kills the jail's processes and undoes everything."""
    cli(env, "create", "--bundle", str(env["tmp"] / "bundle"), "--pid-file",
        str(env["tmp"] / "pid"), "c1")
    cli(env, "start", "c1")
    pid = int((env["tmp"] / "pid").read_text())
    cli(env, "delete", "--force", "c1")
    assert_nothing_left(env)
    import psutil

    try:  # gone, or a zombie nobody has reaped yet
        assert psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        pass


@pytest.mark.root  # the simulator chroots only as root
def test_exec_runs_inside_the_rootfs(env: dict[str, Any]) -> None:
    """exec attaches to the jail: the process sees the container's rootfs as /."""
    cli(env, "create", "--bundle", str(env["tmp"] / "bundle"), "--pid-file",
        str(env["tmp"] / "pid"), "c1")
    cli(env, "start", "c1")
    proc_file = env["tmp"] / "proc.json"
    proc_file.write_text(json.dumps({"args": ["/bin/cat", "/etc/marker"], "cwd": "/",
                                     "env": ["PATH=/bin"], "user": {"uid": 0, "gid": 0}}))
    out = cli(env, "exec", "--process", str(proc_file), "c1")
    assert out.stdout == "inside the rootfs\n"
    assert "jail_attach" in [c[0] for c in env["sim"].snapshot()["calls"]]
    cli(env, "delete", "--force", "c1")
    assert_nothing_left(env)


def test_failed_create_leaves_nothing(env: dict[str, Any]) -> None:
    """A kernel failure during create is undone before create exits non-zero."""
    import errno

    env["sim"].fail_next("nmount", errno.EIO, after=2)
    out = cli(env, "create", "--bundle", str(env["tmp"] / "bundle"), "--pid-file",
              str(env["tmp"] / "pid"), "c1", check=False)
    assert out.returncode != 0 and "nmount" in out.stderr
    assert_nothing_left(env)  # without any help from delete


def test_state_pause_resume_update(env: dict[str, Any]) -> None:
    """state shows the jid; pause/resume stop and continue the jail; update swaps rctl."""
    cli(env, "create", "--bundle", str(env["tmp"] / "bundle"), "c1")
    cli(env, "start", "c1")
    state = json.loads(cli(env, "state", "c1").stdout)
    jid = next(j["jid"] for j in env["sim"].snapshot()["jails"].values())
    assert state["annotations"]["org.freebsd.jail.jid"] == str(jid)
    cli(env, "pause", "c1")
    assert status(env, "c1") == "paused"
    import psutil

    assert psutil.Process(state["pid"]).status() == psutil.STATUS_STOPPED
    cli(env, "resume", "c1")
    assert status(env, "c1") == "running"
    assert psutil.Process(state["pid"]).status() != psutil.STATUS_STOPPED
    cli(env, "update", "--memory", "64m", "--pids-limit", "50", "c1")
    assert sorted(env["sim"].snapshot()["rctl"]) == ["jail:c1:maxproc:deny=50",
                                                     "jail:c1:memoryuse:deny=67108864"]
    cli(env, "delete", "--force", "c1")
    assert_nothing_left(env)


def test_debug_log_traces_jail_parameters(env: dict[str, Any]) -> None:
    """--log-level debug shows each kernel call, jail parameters included."""
    log = env["tmp"] / "debug.log"
    cli(env, "--log", str(log), "--log-format", "json", "--log-level", "debug", "create",
        "--bundle", str(env["tmp"] / "bundle"), "c1")
    msgs = [json.loads(line)["msg"] for line in log.read_text().splitlines()]
    assert any(m.startswith("freebsd: jail_set(") and "'vnet': 'new'" in m for m in msgs)
    assert any(m.startswith("freebsd: nmount(") for m in msgs)
    assert any(m.startswith("forked init process") for m in msgs)
    cli(env, "delete", "--force", "c1")
    assert_nothing_left(env)


def test_create_with_an_unhide_only_ruleset_is_refused(env: dict[str, Any]) -> None:
    """devfs ruleset=2 (devfsrules_unhide_basic) alone would show every host device:
    create exits 1 with one line on stderr and one JSON object in --log naming the
    ruleset and why, and leaves nothing behind."""
    config_file = env["tmp"] / "bundle/config.json"
    config = json.loads(config_file.read_text())
    config["mounts"][0]["options"] = ["ruleset=2"]
    config_file.write_text(json.dumps(config))
    log = env["tmp"] / "log.json"
    out = cli(env, "--log", str(log), "--log-format", "json", "create", "--bundle",
              str(env["tmp"] / "bundle"), "c1", check=False)
    assert out.returncode == 1
    assert len(out.stderr.strip().splitlines()) == 1
    assert "devfs ruleset 2 unhides before any rule hides every device" in out.stderr
    entry = json.loads(log.read_text())
    assert entry["level"] == "error" and "devfs ruleset 2" in entry["msg"]
    assert "jail_set" not in [c[0] for c in env["sim"].snapshot()["calls"]]
    assert_nothing_left(env)


@pytest.mark.root  # the simulator chroots only as root
def test_start_container_hook_runs_in_the_jail_as_the_container_user(
        env: dict[str, Any]) -> None:
    """The startContainer hook (the jail's file) runs after the user change, as the
    process's uid and gid, not as the jail's root (runc: the container's privileges)."""
    rootfs = env["rootfs"]
    os.symlink("busybox", rootfs / "bin/id")
    (rootfs / "out").mkdir(mode=0o777)
    os.chmod(rootfs / "out", 0o777)
    config_file = env["tmp"] / "bundle/config.json"
    config = json.loads(config_file.read_text())
    config["process"]["user"] = {"uid": 1000, "gid": 1000}
    config["process"]["args"] = ["/bin/sh", "-c", "id -u > /out/main"]
    config["hooks"] = {"startContainer": [
        {"path": "/bin/sh", "args": ["sh", "-c", 'echo "$(id -u) $(id -g)" > /out/hook']}]}
    config_file.write_text(json.dumps(config))
    cli(env, "create", "--bundle", str(env["tmp"] / "bundle"), "c1")
    cli(env, "start", "c1")
    assert (rootfs / "out/hook").read_text() == "1000 1000\n"
    cli(env, "delete", "--force", "c1")
    shutil.rmtree(rootfs / "out")
    os.unlink(rootfs / "bin/id")


def test_ps_lists_the_jails_processes_past_jid_127(env: dict[str, Any]) -> None:
    """`ps` walks the jails (jail_get lastjid) and reads /bin/ps's pid/jid columns:
    with the host's jids past 127 (F1: jid 128 packs to bytes that are not UTF-8),
    ps, kill --all and delete still work."""
    for jid in (120, 128):  # other jails on the host; ours then gets jid 129
        env["sim"].jail_set({"name": str(jid), "path": str(env["rootfs"]), "persist": True},
                            create=True)
    cli(env, "create", "--bundle", str(env["tmp"] / "bundle"), "--pid-file",
        str(env["tmp"] / "pid"), "c1")
    cli(env, "start", "c1")
    pid = int((env["tmp"] / "pid").read_text())
    listed = json.loads(cli(env, "ps", "--format", "json", "c1").stdout)
    assert listed == [pid]
    cli(env, "kill", "--all", "c1", "KILL")
    cli(env, "delete", "--force", "c1")
    for jid in (120, 128):
        env["sim"].jail_remove(jid)
    assert_nothing_left(env)


@pytest.mark.parametrize("state_json", ["kept", "corrupt"])
def test_a_planted_journal_makes_delete_touch_nothing_outside_the_container(
        env: dict[str, Any], state_json: str) -> None:
    """The undo journal is data, not orders: entries appended to a container's
    undo.jsonl that name a host folder (scratch), a host file (mount point),
    another's mounts (by fsid, by path, by a sweep of a host folder), another jail
    and its children.max, or an alias the container never added are refused at
    delete, which still removes everything the container did make. With state.json
    unreadable too, the scope prepare wrote next to the journal holds."""
    tmp, sim = env["tmp"], env["sim"]
    victim = tmp / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("host data\n")
    (tmp / "victim-file").write_text("host file\n")
    foreign = []
    for name in ("elsewhere", "elsewhere2"):
        (tmp / name).mkdir()
        sim.nmount("tmpfs", "tmpfs", str(tmp / name), 0, {})
        foreign.append(sim.statfs(str(tmp / name)))
    (tmp / "otherroot").mkdir()
    other = sim.jail_set({"name": "other", "path": str(tmp / "otherroot"), "persist": True,
                          "children.max": 3}, create=True)
    sim.ifconfig_alias("em0", "192.0.2.99", add=True)
    aliases_before = sim.snapshot()["aliases"]
    cli(env, "create", "--bundle", str(tmp / "bundle"), "c1")
    cdir = tmp / "run/c1"
    planted = [
        {"op": "scratch", "path": str(victim)},
        {"op": "scratch", "path": f"{cdir}/../../victim"},
        {"op": "mount", "target": foreign[0].target, "fstype": "tmpfs"},
        {"op": "mount.fsid", "fsid": list(foreign[0].fsid)},
        {"op": "mount", "target": foreign[1].target, "fstype": "tmpfs"},
        {"op": "jail.mounts", "root": str(tmp)},
        {"op": "mountpoint", "path": str(tmp / "victim-file"), "kind": "file",
         "anchor": str(tmp)},
        {"op": "mountpoint", "path": str(victim), "kind": "dir", "anchor": "/"},
        {"op": "jail", "name": "other"}, {"op": "jid", "name": "other", "jid": other},
        {"op": "children.max", "jail": "other", "raised_to": 3},
        {"op": "children.max.raised", "jail": "other"},
        {"op": "alias", "interface": "em0", "address": "192.0.2.99"},
    ]
    with open(cdir / "undo.jsonl", "a") as f:
        f.writelines(json.dumps(e) + "\n" for e in planted)
    if state_json == "corrupt":
        (cdir / "state.json").write_text("{")
    proc = cli(env, "delete", "--force", "c1")
    assert "ignoring journal entry" in proc.stderr
    assert not cdir.exists()
    assert (victim / "keep.txt").read_text() == "host data\n"
    assert (tmp / "victim-file").read_text() == "host file\n"
    state = sim.snapshot()
    assert [m["target"] for m in state["mounts"]] == [m.target for m in foreign]
    assert [j["name"] for j in state["jails"].values()] == ["other"]
    assert sim.jail_get("other")["children.max"] == 3
    assert state["aliases"] == aliases_before
    assert state["rctl"] == []
    assert sorted(str(p) for p in env["rootfs"].rglob("*")) == env["before"]
    for m in foreign:
        sim.unmount(m.target, 0)
    sim.jail_remove(other)
    sim.ifconfig_alias("em0", "192.0.2.99", add=False)


def _console(path: str) -> tuple[Any, list[int]]:
    """A console socket at `path` (what conmon listens on) and the masters it got."""
    import socket
    import threading

    from pyocijail.process.console import recv_master

    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)
    server.settimeout(30)
    got: list[int] = []

    def receive() -> None:
        conn, _ = server.accept()
        with conn:
            got.append(recv_master(conn))
        server.close()

    thread = threading.Thread(target=receive, daemon=True)
    thread.start()
    return thread, got


def _read_until(fd: int, marker: bytes) -> bytes:
    output = b""
    deadline = time.monotonic() + 10
    while marker not in output and time.monotonic() < deadline:
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the slave side closed
            break
        if not chunk:
            break
        output += chunk
    return output


def test_terminal_without_devfs_in_the_jail(env: dict[str, Any]) -> None:
    """F4: create's and exec's pty is opened before jail_attach, so `terminal: true`
    works in a jail with no devfs at /dev (libutil's openpty opens /dev/pts/N by
    name; after jail_attach that name resolves in the jail's root)."""
    config_path = env["tmp"] / "bundle/config.json"
    config = json.loads(config_path.read_text())
    config["mounts"] = [m for m in config["mounts"] if not m["destination"].startswith("/dev")]
    config["process"]["terminal"] = True
    config["process"]["args"] = ["/bin/sh", "-c", "echo through-the-tty; sleep 30"]
    config_path.write_text(json.dumps(config))
    masters: list[int] = []
    try:
        thread, got = _console(str(env["tmp"] / "console.sock"))
        cli(env, "create", "--bundle", str(env["tmp"] / "bundle"), "--console-socket",
            str(env["tmp"] / "console.sock"), "c1")
        thread.join(30)
        masters += got
        assert len(got) == 1
        cli(env, "start", "c1")
        assert b"through-the-tty" in _read_until(got[0], b"through-the-tty")
        thread, got = _console(str(env["tmp"] / "exec.sock"))
        cli(env, "exec", "--tty", "--detach", "--console-socket", str(env["tmp"] / "exec.sock"),
            "c1", "/bin/echo", "exec-tty")
        thread.join(30)
        masters += got
        assert len(got) == 1
        assert b"exec-tty" in _read_until(got[0], b"exec-tty")
        cli(env, "kill", "--all", "c1", "9")
        deadline = time.monotonic() + 10
        while status(env, "c1") != "stopped":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        cli(env, "delete", "c1")
    finally:
        for fd in masters:
            os.close(fd)
        cli(env, "delete", "--force", "c1", check=False)


def podman_exit_code(msg: str) -> int:
    """podman's libpod/oci_util.go getOCIRuntimeError on the runtime's message:
    126 for permission words, 127 for not-found words, else 125."""
    import re

    if re.search(r"permission denied|operation not permitted", msg, re.IGNORECASE):
        return 126
    if re.search(r"executable file not found in|no such file or directory|open executable",
                 msg, re.IGNORECASE):
        return 127
    return 125


@pytest.mark.parametrize("args, code", [([""], 127), (["nosuchcmd"], 127),
                                        (["/bin/nosuch"], 127), (None, 125)])
def test_image_without_a_command_exits_127_under_podman(env: dict[str, Any], args,
                                                        code: int) -> None:
    """Callers §5: an image with no command (podman sends args [""]) or a missing
    args[0] fails create with one JSON error whose words podman maps to 127, as
    ocijail's execvp("") "No such file or directory" and runc's `exec: "": ...` are;
    nothing is left. A config with no args key at all is malformed (config.md makes
    args REQUIRED on POSIX; ocijail says "no process.args", runc "args must not be
    empty"): a configuration error, 125 under podman, as with both."""
    bundle = env["tmp"] / "bundle"
    config = json.loads((bundle / "config.json").read_text())
    if args is None:
        del config["process"]["args"]
    else:
        config["process"]["args"] = args
    (bundle / "config.json").write_text(json.dumps(config))
    log = env["tmp"] / "oci-log"
    out = cli(env, "--log-format=json", "--log", str(log), "create", "--bundle", str(bundle),
              "--pid-file", str(env["tmp"] / "pid"), "c1", check=False)
    assert out.returncode == 1
    error = json.loads(log.read_text())  # podman reads the whole file as one object
    assert error["level"] == "error"
    assert podman_exit_code(error["msg"]) == code, error["msg"]
    assert_nothing_left(env)


def test_the_init_sets_the_planned_limits_through_setrlimit(env: dict[str, Any]) -> None:
    """The init at create sets the printed plan's limits through the libc boundary
    with FreeBSD's numbers (RLIMIT_NOFILE 8, RLIMIT_UMTXP 14, which Python before
    3.15 does not name); the simulated process really has the open-files limit."""
    config_path = env["tmp"] / "bundle/config.json"
    config = json.loads(config_path.read_text())
    config["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 321, "hard": 654},
                                    {"type": "RLIMIT_UMTXP", "soft": 77, "hard": 88}]
    config_path.write_text(json.dumps(config))
    plan = json.loads(cli(env, "plan", "--bundle", str(env["tmp"] / "bundle"), "c1").stdout)
    assert plan["process"]["rlimits"] == [{"type": "RLIMIT_NOFILE", "soft": 321, "hard": 654},
                                          {"type": "RLIMIT_UMTXP", "soft": 77, "hard": 88}]
    cli(env, "create", "--bundle", str(env["tmp"] / "bundle"), "--pid-file",
        str(env["tmp"] / "pid"), "c1")
    try:
        pid = (env["tmp"] / "pid").read_text().strip()
        assert env["sim"].snapshot()["rlimits"][pid] == {"8": [321, 654], "14": [77, 88]}
        limits = Path(f"/proc/{pid}/limits").read_text()
        assert any(line.startswith("Max open files") and line.split()[3:5] == ["321", "654"]
                   for line in limits.splitlines())
    finally:
        cli(env, "delete", "--force", "c1")
    assert_nothing_left(env)


#: Runs the CLI on the simulated host, as `simhost.argv` does, with a plan whose
#: process differs from what the spec gives: its args and env are replaced.
_PATCHED_PLAN = """
import sys
from pyocijail import values
from pyocijail.backends.freebsd import plan
real = plan.process_plan
def patched(process, release=plan.DEFAULT_RELEASE):
    return values.evolve(real(process, release), env=("PATH=/bin", "FROM=plan"),
                         cwd="/etc", umask=0o027,
                         args=("/bin/sh", "-c", "echo $FROM $(pwd) $(umask) > /out"))
plan.process_plan = patched
from pyocijail.testing import simhost
sys.exit(simhost.main())
"""


def patched_cli(env: dict[str, Any], *args: str) -> subprocess.CompletedProcess[str]:
    script = env["tmp"] / "patched.py"
    script.write_text(_PATCHED_PLAN)
    import sys

    out, err = env["tmp"] / "out", env["tmp"] / "err"
    with open(out, "w") as o, open(err, "w") as e:  # files: the container inherits them
        proc = subprocess.run([sys.executable, str(script), env["sim"].path, "--root",
                               str(env["tmp"] / "run"), *args], stdin=subprocess.DEVNULL,
                              stdout=o, stderr=e, text=True, timeout=60)
    proc.stdout = out.read_text()
    assert proc.returncode == 0, err.read_text()
    return proc


@pytest.mark.root  # the simulator chroots only as root
def test_the_init_runs_the_plans_process_not_the_specs(env: dict[str, Any]) -> None:
    """The init execs the plan's args and env in its cwd with its umask (here not
    what the spec gives), and `pyocijail plan` prints those same values."""
    config_file = env["tmp"] / "bundle/config.json"
    config = json.loads(config_file.read_text())
    config["process"]["args"] = ["/bin/sh", "-c", "echo spec > /out"]
    config_file.write_text(json.dumps(config))
    bundle = str(env["tmp"] / "bundle")
    shown = json.loads(patched_cli(env, "plan", "--bundle", bundle, "c1").stdout)
    assert shown["process"]["args"] == ["/bin/sh", "-c", "echo $FROM $(pwd) $(umask) > /out"]
    assert (shown["process"]["cwd"], shown["process"]["umask"]) == ("/etc", 0o027)
    patched_cli(env, "create", "--bundle", bundle, "c1")
    patched_cli(env, "start", "c1")
    out = env["rootfs"] / "out"
    deadline = time.time() + 10
    while not out.exists() or not out.read_text():
        assert time.time() < deadline
        time.sleep(0.05)
    assert out.read_text() == "plan /etc 0027\n"
    cli(env, "delete", "--force", "c1")
    out.unlink()
    assert_nothing_left(env)


def _credential_calls(env: dict[str, Any]) -> list[list[Any]]:
    return [c for c in env["sim"].snapshot()["calls"]
            if c[0] in ("setgroups", "setgid", "setuid")]


@pytest.mark.root  # the simulator chroots only as root
def test_the_kernel_gets_the_ids_pyocijail_plan_prints(env: dict[str, Any]) -> None:
    """setgroups, setgid and setuid get exactly the plan's ids (its groups beyond
    gid, each once: not the spec's list), at start and for exec's process file."""
    os.symlink("busybox", env["rootfs"] / "bin/id")
    config_file = env["tmp"] / "bundle/config.json"
    config = json.loads(config_file.read_text())
    config["process"]["user"] = {"uid": 1000, "gid": 1000, "additionalGids": [1000, 5, 5]}
    config["process"]["args"] = ["/bin/sh", "-c", "id -G > /out/ids; sleep 30"]
    config_file.write_text(json.dumps(config))
    (env["rootfs"] / "out").mkdir(mode=0o777)
    os.chmod(env["rootfs"] / "out", 0o777)
    bundle = str(env["tmp"] / "bundle")
    planned = json.loads(cli(env, "plan", "--bundle", bundle, "c1").stdout)["process"]
    assert (planned["gid"], planned["additionalGids"], planned["uid"]) == (1000, [5], 1000)
    cli(env, "create", "--bundle", bundle, "c1")
    cli(env, "start", "c1")
    assert _credential_calls(env) == [["setgroups", [1000, 5]], ["setgid", 1000],
                                      ["setuid", 1000]]
    ids = env["rootfs"] / "out/ids"
    deadline = time.time() + 10
    while not ids.exists() or not ids.read_text():
        assert time.time() < deadline
        time.sleep(0.05)
    assert ids.read_text().split() == ["1000", "5"]
    proc_file = env["tmp"] / "proc.json"
    proc_file.write_text(json.dumps({"args": ["/bin/id", "-G"], "cwd": "/",
                                     "env": ["PATH=/bin"],
                                     "user": {"uid": 7, "gid": 8, "additionalGids": [9, 8, 9]}}))
    out = cli(env, "exec", "--process", str(proc_file), "c1")
    assert out.stdout.split() == ["8", "9"]
    assert _credential_calls(env)[3:] == [["setgroups", [8, 9]], ["setgid", 8], ["setuid", 7]]
    cli(env, "delete", "--force", "c1")
    shutil.rmtree(env["rootfs"] / "out")
    os.unlink(env["rootfs"] / "bin/id")
    assert_nothing_left(env)


def test_exec_plans_the_process_file_as_create_plans_the_config(env: dict[str, Any]) -> None:
    """exec's process file goes through the plan's checks: a umask that is no file
    mode is refused with the plan's words, and nothing runs."""
    cli(env, "create", "--bundle", str(env["tmp"] / "bundle"), "c1")
    cli(env, "start", "c1")
    proc_file = env["tmp"] / "proc.json"
    proc_file.write_text(json.dumps({"args": ["/bin/echo", "ran"], "cwd": "/",
                                     "env": ["PATH=/bin"],
                                     "user": {"uid": 0, "gid": 0, "umask": 0o1777}}))
    out = cli(env, "exec", "--process", str(proc_file), "c1", check=False)
    assert out.returncode != 0 and "ran" not in out.stdout
    assert "process.user.umask 1023 is not a file mode" in out.stderr
    cli(env, "delete", "--force", "c1")
    assert_nothing_left(env)
