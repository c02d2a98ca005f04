"""Mount option parsing and sysctl key checks: pure, no privileges needed."""

from __future__ import annotations

import pytest

from pyocijail.backends.linux import libc as L
from pyocijail.backends.linux.mountopts import MOUNT_OPTIONS, check_mount, parse_options
from pyocijail.backends.linux.pivot import check_sysctl
from pyocijail.errors import ConfigError
from pyocijail.spec.model import IdMapping, Mount


def test_flags_and_data_are_split():
    """Known words become MS_* flags; key=value and unknown words become fs data."""
    o = parse_options(["nosuid", "noexec", "nodev", "strictatime", "mode=755", "size=65536k"])
    assert o.flags == L.MS_NOSUID | L.MS_NOEXEC | L.MS_NODEV | L.MS_STRICTATIME
    assert o.data == "mode=755,size=65536k"
    assert not (o.bind or o.recursive or o.readonly or o.tmpcopyup)


def test_later_word_wins():
    """ro followed by rw clears MS_RDONLY and records it as explicitly cleared."""
    o = parse_options(["ro", "rw"])
    assert o.flags == 0 and o.clear == L.MS_RDONLY
    o = parse_options(["suid", "nosuid"])
    assert o.flags == L.MS_NOSUID and o.clear == 0


def test_bind_rbind_and_propagation():
    """rbind is MS_BIND|MS_REC; propagation words are kept apart, in order."""
    o = parse_options(["rbind", "rprivate", "slave", "ro"])
    assert o.bind and o.recursive and o.readonly
    assert o.propagation == (L.MS_PRIVATE | L.MS_REC, L.MS_SLAVE)


@pytest.mark.parametrize("word,flag", [
    ("sync", L.MS_SYNCHRONOUS), ("dirsync", L.MS_DIRSYNC), ("remount", L.MS_REMOUNT),
    ("mand", L.MS_MANDLOCK), ("noatime", L.MS_NOATIME), ("nodiratime", L.MS_NODIRATIME),
    ("relatime", L.MS_RELATIME), ("nosymfollow", L.MS_NOSYMFOLLOW)])
def test_each_flag_word(word, flag):
    """Each documented runc option sets its flag."""
    assert parse_options([word]).flags == flag


def test_pseudo_options():
    """tmpcopyup/notmpcopyup and defaults are not passed to the filesystem."""
    assert parse_options(["tmpcopyup"]).tmpcopyup
    assert not parse_options(["tmpcopyup", "notmpcopyup"]).tmpcopyup
    assert parse_options(["defaults"]) == parse_options([])
    assert {"tmpcopyup", "rbind", "ro", "rslave"} <= set(MOUNT_OPTIONS)


@pytest.mark.parametrize("word", ["idmap", "ridmap", "rro"])
def test_unsupported_options_are_config_errors(word):
    """idmap/ridmap and recursive attributes are refused, not passed to the fs."""
    with pytest.raises(ConfigError):
        parse_options(["bind", word])


def test_check_mount_refusals():
    """Mappings, a missing type, a sourceless bind and tmpcopyup on non-tmpfs are refused."""
    m = IdMapping(container_id=0, host_id=1, size=1)
    for bad in (Mount(destination="/a", type="bind", source="/x", gid_mappings=(m,)),
                Mount(destination="/a"),
                Mount(destination="/a", options=("bind",)),
                Mount(destination="/a", type="proc", options=("tmpcopyup",))):
        with pytest.raises(ConfigError):
            check_mount(bad)
    assert check_mount(Mount(destination="/a", type="bind", source="x")).flags == 0


def test_sysctl_keys():
    """Only well-formed kernel./fs.mqueue./net. keys are accepted."""
    check_sysctl({"net.ipv4.ip_forward": "1", "kernel.shmmax": "1", "fs.mqueue.msg_max": "10"})
    for key in ("vm.swappiness", "fs.file-max", "net..x", "net.ipv4/../x", "kernel.a/b",
                "kernel.", "net.ipv4.conf.eth0/1.forwarding"):
        with pytest.raises(ConfigError):
            check_sysctl({key: "1"})
