"""AppArmor and SELinux, against temporary directories standing in for
/sys/module, /sys/kernel/security, /sys/fs/selinux and /proc/thread-self/attr."""

from __future__ import annotations

import os

import pytest

from pyocijail.backends.linux import lsm
from pyocijail.errors import ConfigError, KernelError
from pyocijail.spec.model import Process


@pytest.fixture
def host(tmp_path):
    """roots(apparmor=..., profiles=..., selinux=...) -> the keyword roots of `lsm.check`."""
    def roots(*, apparmor: str | None = None, profiles=(), selinux: bool = False):
        module, security, selinuxfs = (tmp_path / "module", tmp_path / "security",
                                       tmp_path / "selinux")
        for d in (module, security, selinuxfs):
            d.mkdir(exist_ok=True)
        if apparmor is not None:
            (module / "apparmor/parameters").mkdir(parents=True, exist_ok=True)
            (module / "apparmor/parameters/enabled").write_text(apparmor + "\n")
            (security / "apparmor").mkdir(exist_ok=True)
            (security / "apparmor/profiles").write_text(
                "".join(f"{p} (enforce)\n" for p in profiles))
        if selinux:
            (selinuxfs / "enforce").write_text("1")
        return {"sys_module": str(module), "securityfs": str(security),
                "selinuxfs": str(selinuxfs)}

    return roots


def proc(**kw):
    return Process(cwd="/", args=("true",), **kw)


def test_apparmor_enabled_only_with_securityfs_and_y(host):
    """AppArmor counts as enabled when securityfs shows it and the parameter is Y."""
    assert lsm.apparmor_enabled(host(apparmor="Y")["sys_module"], host()["securityfs"])
    r = host(apparmor="N")
    assert not lsm.apparmor_enabled(r["sys_module"], r["securityfs"])


def test_loaded_apparmor_profile_is_accepted(host):
    """A profile listed in apparmor/profiles passes, as does `unconfined`."""
    r = host(apparmor="Y", profiles=["containers-default-0.50.1", "/usr/bin/x"])
    lsm.check(proc(apparmor_profile="containers-default-0.50.1"), None, **r)
    lsm.check(proc(apparmor_profile="unconfined"), None, **r)


def test_apparmor_profile_not_loaded_is_refused(host):
    """A profile the kernel has not loaded is one clear error naming it."""
    r = host(apparmor="Y", profiles=["other"])
    with pytest.raises(ConfigError, match=r"'missing'.*no such AppArmor profile is loaded"):
        lsm.check(proc(apparmor_profile="missing"), None, **r)


def test_apparmor_profile_refused_where_apparmor_is_disabled(host):
    """Loaded-but-disabled AppArmor (parameter N) refuses a profile, naming AppArmor."""
    with pytest.raises(ConfigError, match="AppArmor is not enabled on this host"):
        lsm.check(proc(apparmor_profile="p"), None, **host(apparmor="N", profiles=["p"]))


def test_selinux_labels_need_selinux(host):
    """selinuxLabel and mountLabel are refused without selinuxfs, accepted with it."""
    label = "system_u:system_r:container_t:s0:c1,c2"
    with pytest.raises(ConfigError, match=r"process.selinuxLabel .*SELinux is not enabled"):
        lsm.check(proc(selinux_label=label), None, **host())
    with pytest.raises(ConfigError, match=r"linux.mountLabel .*SELinux is not enabled"):
        lsm.check(proc(), label, **host())
    lsm.check(proc(selinux_label=label), label, **host(selinux=True))


@pytest.mark.parametrize("bad", ['a"b', "a\nb", "a\0b", "x" * 5000])
def test_hostile_labels_are_refused(host, bad):
    """A quote (it would end `context="..."`), control characters or a huge label
    are refused before SELinux is even asked."""
    with pytest.raises(ConfigError, match="not a valid label"):
        lsm.check(proc(), bad, **host(selinux=True))


def test_apply_writes_the_apparmor_exec_attr(tmp_path):
    """`exec <profile>` goes to attr/apparmor/exec when the kernel has it..."""
    (tmp_path / "apparmor").mkdir()
    (tmp_path / "apparmor/exec").write_text("")
    (tmp_path / "exec").write_text("")
    lsm.apply_exec(proc(apparmor_profile="containers-default"), attr=(str(tmp_path),))
    assert (tmp_path / "apparmor/exec").read_text() == "exec containers-default"
    assert (tmp_path / "exec").read_text() == ""


def test_apply_falls_back_to_the_shared_exec_attr(tmp_path):
    """...and to attr/exec on kernels before the per-LSM directories (< 5.8)."""
    (tmp_path / "exec").write_text("")
    lsm.apply_exec(proc(apparmor_profile="p"), attr=(str(tmp_path / "gone"), str(tmp_path)))
    assert (tmp_path / "exec").read_text() == "exec p"


def test_apply_writes_the_selinux_exec_label(tmp_path):
    """The SELinux process label goes to attr/exec, as it is."""
    (tmp_path / "exec").write_text("")
    lsm.apply_exec(proc(selinux_label="u:r:t:s0"), attr=(str(tmp_path),))
    assert (tmp_path / "exec").read_text() == "u:r:t:s0"


def test_apply_does_not_follow_a_symlinked_attr(tmp_path):
    """A symlink planted as the attr file is not written through."""
    target = tmp_path / "elsewhere"
    target.write_text("")
    os.symlink(target, tmp_path / "exec")
    with pytest.raises(KernelError, match="set SELinux label"):
        lsm.apply_exec(proc(selinux_label="u:r:t:s0"), attr=(str(tmp_path),))
    assert target.read_text() == ""


def test_apply_on_this_host_refuses_the_real_attr_write():
    """For real (this host has neither LSM): the kernel's refusal is one clear
    KernelError that says which label could not be set."""
    if lsm.selinux_enabled():
        pytest.skip("SELinux is enabled here")
    with pytest.raises(KernelError, match="set SELinux label"):
        lsm.apply_exec(proc(selinux_label="u:r:t:s0"))


@pytest.mark.parametrize(("kind", "data", "expected"), [
    ("tmpfs", "mode=755", 'mode=755,context="u:o:t:s0:c1,c2"'),
    ("devpts", "", 'context="u:o:t:s0:c1,c2"'),
    ("proc", "", ""), ("sysfs", "", ""), ("mqueue", "", ""), ("bind", "", "")])
def test_mount_label_goes_to_the_mounts_runc_labels(kind, data, expected):
    """context="..." (quoted: MLS levels hold commas) for tmpfs and the default
    branch (devpts, ...), not for proc, sysfs, binds or mqueue (an xattr there)."""
    assert lsm.mount_data(kind, data, "u:o:t:s0:c1,c2") == expected
    assert lsm.mount_data(kind, data, None) == data
