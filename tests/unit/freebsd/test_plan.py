"""Process settings and devices in the plan; JSON and text renderings."""

from __future__ import annotations

import json

import pytest

from pyocijail.errors import ConfigError

from .conftest import base_config, plan_of


def with_rlimits(*rlimits: dict) -> dict:
    config = base_config()
    config["process"]["rlimits"] = list(rlimits)
    return config


def test_rlimits_keep_freebsd_names(planner, layout) -> None:
    """Rlimits that exist on FreeBSD are kept in order."""
    plan = plan_of(planner, layout, with_rlimits(
        {"type": "RLIMIT_NOFILE", "soft": 10, "hard": 20},
        {"type": "RLIMIT_AS", "soft": 1, "hard": 2}))
    assert plan.process.rlimits == (("RLIMIT_NOFILE", 10, 20), ("RLIMIT_AS", 1, 2))


@pytest.mark.parametrize("rlimits, message", [
    ([{"type": "RLIMIT_RTPRIO", "soft": 1, "hard": 1}], "does not exist on FreeBSD"),
    ([{"type": "RLIMIT_BOGUS", "soft": 1, "hard": 1}], "unknown rlimit"),
    # FreeBSD 15's: the init on 14 could not set it (sys/resource.h ends at UMTXP, 14).
    ([{"type": "RLIMIT_PIPEBUF", "soft": 1, "hard": 1}], "does not exist on FreeBSD 14"),
    ([{"type": "RLIMIT_CORE", "soft": 1, "hard": 1}] * 2, "twice"),
    ([{"type": "RLIMIT_CORE", "soft": 2, "hard": 1}], "exceeds"),
])
def test_bad_rlimits_are_errors(planner, layout, rlimits: list, message: str) -> None:
    """Linux-only, later-FreeBSD, unknown, duplicate or inverted rlimits fail at plan time."""
    with pytest.raises(ConfigError, match=message):
        plan_of(planner, layout, with_rlimits(*rlimits))


def test_umask_absent_is_inherited(planner, layout) -> None:
    """No umask in config: the plan says inherit (None), not 077 like ocijail."""
    assert plan_of(planner, layout, base_config()).process.umask is None


def test_relative_cwd_is_an_error(planner, layout) -> None:
    """process.cwd must be absolute."""
    config = base_config()
    config["process"]["cwd"] = "tmp"
    with pytest.raises(ConfigError, match="absolute"):
        plan_of(planner, layout, config)


def test_devices_need_devfs_on_dev(planner, layout) -> None:
    """freebsd.devices without a devfs mount on /dev is an error."""
    config = base_config(freebsd={"devices": [{"path": "null", "mode": 438}]})
    with pytest.raises(ConfigError, match="devfs mount on /dev"):
        plan_of(planner, layout, config)


@pytest.mark.parametrize("device", [{"path": "/etc/x"}, {"path": "a b"},
                                    {"path": "null", "mode": 512}, {"path": "dri/"},
                                    {"path": "dri//card0"}, {"path": "../mem"}])
def test_bad_devices_are_errors(planner, layout, device: dict) -> None:
    """Device paths are relative to /dev and modes are 0..511."""
    config = base_config(mounts=[{"destination": "/dev", "type": "devfs", "source": "devfs"}],
                         freebsd={"devices": [device]})
    with pytest.raises(ConfigError):
        plan_of(planner, layout, config)


def test_nested_devices_unhide_their_directories_first(planner, layout) -> None:
    """F5: `dri/card0` is reachable only if `dri` is unhidden too (devfs_rule.c
    devfs_rule_run changes the matching entry only; devfs_vnops.c devfs_lookupx
    answers ENOENT for a hidden directory): parents first, each once, no mode."""
    config = base_config(
        mounts=[{"destination": "/dev", "type": "devfs", "source": "devfs",
                 "options": ["ruleset=4"]}],
        freebsd={"devices": [{"path": "/dev/dri/card0", "mode": 432}, {"path": "dri/card1"},
                             {"path": "usb/0.1.0"}, {"path": "null"}]})
    plan = plan_of(planner, layout, config)
    assert plan.mounts[0].rules == ("path dri unhide", "path dri/card0 unhide mode 660",
                                    "path dri/card1 unhide", "path usb unhide",
                                    "path usb/0.1.0 unhide", "path null unhide")


def test_nested_device_is_reachable_in_the_simulated_devfs(backend, sim, layout) -> None:
    """Through the real LibcKernel and the fake /sbin/devfs: after create, the
    container's devfs shows dri/card0 with every directory above it."""
    from pyocijail.testing import freebsd_devfs
    from pyocijail.testing.freebsd_undo import MemoryUndoLog

    config = base_config(
        mounts=[{"destination": "/dev", "type": "devfs", "source": "devfs",
                 "options": ["ruleset=4"]}],
        freebsd={"devices": [{"path": "dri/card0", "mode": 432}]})
    plan = plan_of(backend, layout, config)
    undo = MemoryUndoLog()
    state = backend.prepare(plan, undo)
    [devfs] = [m for m in sim.snapshot()["mounts"] if m["fstype"] == "devfs"]
    assert freebsd_devfs.reachable(devfs["visible"], "dri/card0")
    assert devfs["visible"]["dri/card0"] == "660"
    backend.destroy(state, undo)


def test_missing_rootfs_is_an_error(planner, layout) -> None:
    """root.path must be an existing directory."""
    with pytest.raises(ConfigError, match=r"root.path"):
        plan_of(planner, layout, base_config(root={"path": "nope"}))


def test_json_is_stable_and_serialisable(planner, layout) -> None:
    """to_json has the documented top-level keys and round-trips through json."""
    doc = plan_of(planner, layout, base_config()).to_json()
    assert list(doc) == ["platform", "jail", "mounts", "mountpoints", "devfs_rules",
                         "devfs_ruleset_checks", "rctl", "cpuset", "interfaces", "process",
                         "warnings"]
    assert json.loads(json.dumps(doc)) == doc


def test_text_names_the_jail_mounts_and_process(planner, layout) -> None:
    """to_text shows the jail, each mount, created mount points and the process."""
    config = base_config(mounts=[{"destination": "/run/x", "type": "tmpfs",
                                  "source": "tmpfs"}])
    text = plan_of(planner, layout, config).to_text()
    assert text.startswith("jail c1\n")
    assert "tmpfs tmpfs on" in text and "create dir" in text and "process ['/bin/sh']" in text


def test_warnings_reach_the_log(planner, layout, log) -> None:
    """Plan warnings (precedence conflicts) are logged as warnings."""
    plan_of(planner, layout, base_config(freebsd={"jail": {"vnet": "new"}},
                                         annotations={"org.freebsd.jail.vnet": "inherit"}))
    assert any("org.freebsd.jail.vnet" in w for w in log.warnings)


def test_plan_shows_the_devfs_ruleset_checks(planner, layout) -> None:
    """Each devfs mount with a ruleset other than 0 is checked before anything is
    created (`devfs rule -s N show` must hide every device first); plan shows it in
    both forms."""
    config = base_config(mounts=[
        {"destination": "/dev", "type": "devfs", "source": "devfs", "options": ["ruleset=5"]},
        {"destination": "/tmp", "type": "devfs", "source": "devfs", "options": ["ruleset=0"]}])
    plan = plan_of(planner, layout, config)
    dev = str(layout["rootfs"] / "dev")
    assert plan.to_json()["devfs_ruleset_checks"] == [{"mountpoint": dev, "ruleset": 5}]
    text = plan.to_text()
    assert ("check devfs rule -s 5 show hides every device before any unhide (else refuse)"
            in text)
    assert text.index("check devfs rule -s 5") < text.index("mounts (in order")
    assert "-s 0" not in text


PIPEBUF = {"type": "RLIMIT_PIPEBUF", "soft": 1 << 20, "hard": 1 << 21}


@pytest.mark.parametrize("release, ok", [(14, False), (15, True)])
def test_pipebuf_by_the_release_the_simulated_host_reports(tmp_path, layout, log, release,
                                                           ok) -> None:
    """F14: RLIMIT_PIPEBUF (15 in 15.0's sys/sys/resource.h) is refused on 14.x and
    kept on 15.x, the release read through the real LibcKernel as sysctl
    kern.osreldate from the fake libc (1403000 / 1500068)."""
    from pyocijail.backends.freebsd.backend import FreeBSDBackend
    from pyocijail.testing.simhost import SimulatedHostKernel
    from pyocijail.testing.simkernel import SimulatedKernel

    sim = SimulatedKernel.configure(str(tmp_path / "sim.json"), release=release)
    kernel = SimulatedHostKernel(sim.path)
    assert kernel.osreldate() == {14: 1403000, 15: 1500068}[release]
    backend = FreeBSDBackend(kernel, log)
    config = with_rlimits(PIPEBUF)
    if ok:
        plan = plan_of(backend, layout, config)
        assert plan.process.rlimits == (("RLIMIT_PIPEBUF", 1 << 20, 1 << 21),)
    else:
        with pytest.raises(ConfigError, match=r"does not exist on FreeBSD 14 .only from 15"):
            plan_of(backend, layout, config)


def test_release_is_asked_only_for_a_limit_that_depends_on_it(layout) -> None:
    """The sysctl is not made for configs without RLIMIT_PIPEBUF."""
    from pyocijail.backends.freebsd.plan import host_release, process_plan
    from pyocijail.spec.convert import spec_from_json

    asked = []

    def release() -> int:
        asked.append(1)
        return 15

    process_plan(spec_from_json(base_config()).process, release)
    assert asked == []
    process_plan(spec_from_json(with_rlimits(PIPEBUF)).process, release)
    assert asked == [1]
    assert host_release(None) == 14


def test_env_and_groups_are_planned_as_the_process_gets_them(planner, layout) -> None:
    """env: one entry per name with the last value, entries without `=` dropped;
    additionalGids: the groups beyond gid, each once, in order."""
    config = base_config()
    config["process"]["env"] = ["PATH=/bin", "A=1", "JUNK", "A=2"]
    config["process"]["user"] = {"uid": 7, "gid": 8, "additionalGids": [8, 9, 3, 9]}
    proc = plan_of(planner, layout, config).process
    assert proc.env == ("PATH=/bin", "A=2")
    assert (proc.gid, proc.additional_gids) == (8, (9, 3))
    text = plan_of(planner, layout, config).to_text()
    assert "uid=7 gid=8 groups=[9, 3] umask=inherited\n  env PATH=/bin\n  env A=2\n" in text


def test_the_planned_process_is_the_plans(planner, layout) -> None:
    """`planned_process` gives the core the plan's values in place of the spec's,
    keeping what the plan does not hold (console size); for exec (no plan) the
    process file is planned, and refused as create would refuse it."""
    from pyocijail import values
    from pyocijail.spec.model import ConsoleSize

    from .conftest import spec_of

    config = base_config()
    config["process"]["user"] = {"uid": 7, "gid": 8, "additionalGids": [8, 9]}
    plan = plan_of(planner, layout, config)
    plan = values.evolve(plan, process=values.evolve(plan.process, args=("/bin/planned",),
                                                      cwd="/var", umask=0o022))
    spec = values.evolve(spec_of(config).process, console_size=ConsoleSize(height=2, width=3))
    run = planner.planned_process(plan, spec)
    assert (run.args, run.cwd, run.user.umask) == (("/bin/planned",), "/var", 0o022)
    assert (run.user.uid, run.user.gid, run.user.additional_gids) == (7, 8, (9,))
    assert run.console_size == ConsoleSize(height=2, width=3)
    exec_run = planner.planned_process(None, spec)
    assert exec_run.args == spec.args and exec_run.user.additional_gids == (9,)
    with pytest.raises(ConfigError, match="not a file mode"):
        planner.planned_process(None, values.evolve(spec, user=values.evolve(
            spec.user, umask=0o1000)))
