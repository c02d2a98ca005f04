"""The files the runtime writes and trusts: state root, pid file, console socket."""

from __future__ import annotations

import os
import stat

import pytest

from pyocijail.errors import PyocijailError
from tests.reliability import harness


def test_pid_file_never_follows_a_planted_temporary_symlink(tmp_path):
    """The temporary name is predictable (path.tmp<pid>): a symlink planted there
    by whoever can write the directory must not redirect the write."""
    from pyocijail.lifecycle.pidfile import write_pid_file

    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    pid_file = tmp_path / "pid"
    os.symlink(victim, f"{pid_file}.tmp{os.getpid()}")
    write_pid_file(str(pid_file), 4242)
    assert victim.read_text() == "precious\n"
    assert pid_file.read_text() == "4242" and not pid_file.is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pid", "victim"]


def test_pid_file_failure_leaves_no_temporary_file(tmp_path):
    from pyocijail.lifecycle.pidfile import write_pid_file

    (tmp_path / "pid").mkdir()  # rename over a directory fails
    with pytest.raises(PyocijailError, match="cannot write pid file"):
        write_pid_file(str(tmp_path / "pid"), 4242)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pid"]


def test_state_root_is_made_0700(make_host):
    host = make_host("linux")
    assert host.create(host.cid).code == 0
    st = os.stat(host.rt.root)
    assert stat.S_IMODE(st.st_mode) == 0o700 and st.st_uid == 0
    assert stat.S_IMODE(os.stat(os.path.join(host.rt.root, host.cid)).st_mode) == 0o700
    assert host.cli("delete", "--force", host.cid).code == 0


@pytest.mark.parametrize("how", ["group-writable", "world-writable", "owned by nobody",
                                 "a file"])
def test_state_root_others_can_write_is_refused(make_host, how):
    host = make_host("linux")
    root = host.rt.root
    if how == "a file":
        with open(root, "w") as f:
            f.write("x")
    else:
        os.mkdir(root, 0o700)
        if how == "group-writable":
            os.chmod(root, 0o770)
        elif how == "world-writable":
            os.chmod(root, 0o1777)
        else:
            os.chown(root, 65534, 65534)
    res = host.create(host.cid)
    assert harness.one_clean_line(res), res
    assert "state root" in res.err
    assert harness.token_processes(host.token) == []
    if how != "a file":
        assert os.listdir(root) == []
        os.rmdir(root)
    else:
        os.unlink(root)


@pytest.mark.parametrize("what", ["missing", "a regular file", "a directory", "too long",
                                  "not listening"])
def test_bad_console_socket_is_one_clean_error(make_host, what):
    import socket

    host = make_host("linux")
    doc = host.base_config()
    doc["process"]["terminal"] = True
    host.write_config(doc)
    path = host.work / "console.sock"
    if what == "a regular file":
        path.write_text("")
    elif what == "a directory":
        path.mkdir()
    elif what == "too long":
        deep = host.work / ("d" * 200)
        deep.mkdir()
        path = deep / ("s" * 200)
    elif what == "not listening":
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(str(path))
        sock.close()
    res = host.create(host.cid, "--console-socket", str(path))
    assert harness.one_clean_line(res), res
    assert "console socket" in res.err
    assert host.state_dirs() == [] and host.leaks() == []


@pytest.mark.parametrize("what", ["a directory", "in a missing directory", "dangling symlink"])
def test_bad_pid_file_fails_create_cleanly(make_host, what):
    host = make_host("linux")
    pid_file = host.work / "p" / "pid"
    pid_file.parent.mkdir()
    if what == "a directory":
        pid_file.mkdir()
    elif what == "in a missing directory":
        pid_file = host.work / "missing" / "pid"
    res = host.cli("create", "--bundle", str(host.bundle), "--pid-file", str(pid_file),
                   host.cid)
    if what == "dangling symlink":  # not applicable: the plain path works; make it one
        assert res.code == 0
        host.ok("delete", "--force", host.cid)
        os.unlink(pid_file)
        os.symlink(host.work / "nowhere" / "x", pid_file)
        res = host.cli("create", "--bundle", str(host.bundle), "--pid-file", str(pid_file),
                       host.cid)
        assert res.code == 0 and pid_file.read_text().isdigit() and not pid_file.is_symlink()
        assert not (host.work / "nowhere").exists()
        host.ok("delete", "--force", host.cid)
    else:
        assert harness.one_clean_line(res) and "pid file" in res.err, res
    assert host.state_dirs() == [] and host.leaks() == []
