"""Bugs the crash suite found, each pinned by the case that showed it."""

from __future__ import annotations

import pytest

from tests.reliability import harness


@pytest.mark.parametrize("backend", ["linux", "freebsd"])
def test_start_killed_after_sending_does_not_leave_created_showing(make_host, backend):
    """Once start has handed over the state, the program runs: state must not say
    "created" because a killed start left the barrier socket behind."""
    host = make_host(backend)
    assert host.create(host.cid).code == 0
    res = host.cli("start", host.cid, failpoint="start.after-send")
    assert res.code == -9
    assert harness.check_state(host, host.cid) == "running"
    assert host.cli("delete", "--force", host.cid).code == 0
    assert host.leaks() == []


@pytest.mark.parametrize("backend", ["linux", "freebsd"])
def test_create_killed_after_ready_leaves_no_waiting_init(make_host, backend):
    """A create killed once the init was ready: the init must not wait for a start
    that cannot come while state says "stopped" (it exits on its own)."""
    host = make_host(backend)
    res = host.create(host.cid, failpoint="create.after-ready")
    assert res.code == -9
    assert harness.check_state(host, host.cid) == "stopped"
    assert host.cli("delete", "--force", host.cid).code == 0
    assert host.leaks() == []


def test_nul_in_a_config_string_is_a_config_error(make_host):
    """A NUL in root.path made the Linux plan raise ValueError: a traceback."""
    host = make_host("linux")
    doc = host.base_config()
    doc["root"]["path"] = "root\0fs"
    host.write_config(doc)
    res = host.create(host.cid)
    assert harness.one_clean_line(res), res
    assert "NUL" in res.err and host.state_dirs() == []


@pytest.mark.parametrize("backend", ["linux", "freebsd"])
def test_errors_quoting_hostile_text_stay_one_bounded_line(make_host, backend):
    """Messages quote config values: a newline, a terminal escape or 5000 characters
    in a mount destination made a multi-line or 5 KiB error."""
    host = make_host(backend)
    for dest in ("relative\n/second line\x1b[31m", "/" + "x" * 5000 + "\n"):
        doc = host.base_config()
        doc["mounts"].append({"destination": dest, "type": "tmpfs", "source": "tmpfs"})
        host.write_config(doc)
        res = host.create(host.cid)
        assert harness.one_clean_line(res), res
        assert "\x1b" not in res.err and len(res.err) < 2100, res
    assert host.state_dirs() == []


def test_freebsd_plan_of_an_overlong_destination_is_a_config_error(tmp_path):
    """os.lstat's ENAMETOOLONG escaped the FreeBSD resolver: a traceback."""
    from pyocijail.backends.freebsd.backend import FreeBSDBackend
    from pyocijail.errors import ConfigError
    from pyocijail.lifecycle.defaults import freebsd_config
    from pyocijail.spec.convert import spec_from_json

    (tmp_path / "rootfs").mkdir()
    doc = freebsd_config(["sh"], terminal=False)
    doc["mounts"].append({"destination": "/" + "x" * 5000, "type": "tmpfs", "source": "tmpfs"})

    class Log:
        def warn(self, msg): ...

        def debug(self, msg): ...

    with pytest.raises(ConfigError, match="File name too long"):
        FreeBSDBackend(None, Log()).plan("c1", spec_from_json(doc), str(tmp_path),
                                         str(tmp_path / "state"))
