"""Mount option mapping and mount planning."""

from __future__ import annotations

import os

import pytest

from pyocijail.backends.freebsd.mounts import check_devfs_rule, parse_options
from pyocijail.errors import ConfigError
from pyocijail.spec.model import IdMapping, Mount

from .conftest import base_config, plan_of, tree


def opts(*options: str, type_: str | None = "nullfs") -> tuple[tuple[str, ...], dict]:
    parsed = parse_options(Mount(destination="/x", type=type_, source="/s", options=options))
    return parsed.flags, dict(parsed.data)


def test_flags_map_to_mount_flags() -> None:
    """Generic flag names become mount(8) flags; every mount gets MNT_IGNORE."""
    flags, data = opts("ro", "nosuid", "noexec", "noatime", "sync")
    assert flags == ("ignore", "ro", "nosuid", "noexec", "noatime", "sync") and data == {}


def test_negations_clear_flags() -> None:
    """rw, exec, suid, atime undo an earlier flag; rdonly is ro."""
    flags, _ = opts("rdonly", "noexec", "nosuid", "rw", "exec", "suid")
    assert flags == ("ignore",)


def test_linux_propagation_and_nodev_are_dropped() -> None:
    """bind/rbind/rprivate/... and nodev are accepted and ignored."""
    flags, data = opts("rbind", "rprivate", "shared", "rslave", "unbindable", "nodev")
    assert flags == ("ignore",) and data == {}


def test_key_values_are_fs_data() -> None:
    """key=value options go to nmount as file-system data."""
    _, data = opts("size=64m", "mode=1777", type_="tmpfs")
    assert data == {"size": "64m", "mode": "1777"}


@pytest.mark.parametrize("option, type_", [("idmap", "nullfs"), ("relatime", "tmpfs"),
                                           ("size=64m", "devfs"), ("mode=999", "tmpfs"),
                                           ("ruleset=x", "devfs"), ("tmpcopyup", "nullfs"),
                                           ("rule=path x unhide", "tmpfs"), ("size", "tmpfs")])
def test_unsupported_options_are_errors(option: str, type_: str) -> None:
    """Options FreeBSD cannot honour for that file system fail at plan time."""
    with pytest.raises(ConfigError):
        opts(option, type_=type_)


@pytest.mark.parametrize("type_", ["nullfs", "fdescfs", "procfs", "linprocfs", "linsysfs"])
def test_unknown_options_pass_where_the_kernel_ignores_them(type_: str) -> None:
    """F19: nullfs, fdescfs and pseudofs never call vfs_filteropt (null_vfsops.c
    nullfs_mount, fdesc_vfsops.c fdesc_mount, pseudofs.c pfs_mount): an option they
    do not read goes to nmount as ocijail sends it, with a warning."""
    warn: list[str] = []
    parsed = parse_options(Mount(destination="/x", type=type_, source="/s",
                                 options=("relatime", "x-podman.a=b", "size=64m", "ro")),
                           warn)
    assert parsed.flags == ("ignore", "ro")
    assert dict(parsed.data) == {"relatime": None, "x-podman.a": "b", "size": "64m"}
    assert len(warn) == 3 and all("ignores it" in w for w in warn)
    assert "'relatime'" in warn[0] and type_ in warn[0]


@pytest.mark.parametrize("type_", ["tmpfs", "devfs"])
def test_unknown_options_still_refused_where_the_kernel_filters(type_: str) -> None:
    """tmpfs_mount/devfs_mount filter with vfs_filteropt: EINVAL, so a plan-time error."""
    with pytest.raises(ConfigError, match="not known for"):
        parse_options(Mount(destination="/x", type=type_, source=type_,
                            options=("relatime",)), [])


@pytest.mark.parametrize("option", ["update", "force", "export", "from=/etc", "fspath=/x",
                                    "emptydir", "ro=1", "tmpcopyup=1", "bind=x", "=x"])
def test_options_nmount_reads_itself_are_not_passed(option: str) -> None:
    """vfs_mount.c vfs_donmount turns update/force/export/... into flags and reads
    from/fspath itself: passing them through would change the mount, so refused."""
    with pytest.raises(ConfigError):
        parse_options(Mount(destination="/x", type="nullfs", source="/s",
                            options=(option,)), [])


def test_types_map_to_nullfs() -> None:
    """bind, nullfs and an empty type with bind are nullfs; empty without bind is not."""
    for type_, options in (("bind", ()), ("nullfs", ()), (None, ("rbind",))):
        assert parse_options(Mount(destination="/x", type=type_, source="/s",
                                   options=options)).fstype == "nullfs"
    with pytest.raises(ConfigError):
        parse_options(Mount(destination="/x", type=None, source="/s"))


@pytest.mark.parametrize("type_", ["proc", "sysfs", "cgroup", "ext4", "zfs"])
def test_unknown_types_are_errors(type_: str) -> None:
    """Linux-only and unsupported file system types are refused."""
    with pytest.raises(ConfigError, match="not supported"):
        parse_options(Mount(destination="/x", type=type_, source="x"))


def test_id_mappings_are_rejected() -> None:
    """uidMappings on a mount are unsupported on FreeBSD."""
    m = Mount(destination="/x", type="bind", source="/s",
              uid_mappings=(IdMapping(container_id=0, host_id=1000, size=1),))
    with pytest.raises(ConfigError, match="uidMappings"):
        parse_options(m)


def test_tmpcopyup_pseudo_options() -> None:
    """tmpcopyup/notmpcopyup are pseudo options; the last one wins."""
    m = Mount(destination="/t", type="tmpfs", source="tmpfs",
              options=("tmpcopyup", "notmpcopyup"))
    assert parse_options(m).tmpcopyup is False


@pytest.mark.parametrize("rule", ["path shm unhide mode 1777", "path 'dri/*' unhide",
                                  "type disk hide", "path tun0 mode 0660 group 5"])
def test_devfs_rules_accepted(rule: str) -> None:
    """devfs(8) rule grammar: conditions then actions."""
    assert check_devfs_rule(rule) == rule


@pytest.mark.parametrize("rule", ["", "path", "path x", "path x mode 9", "frob",
                                  "type sock hide", "path x unhide mode"])
def test_devfs_rules_rejected(rule: str) -> None:
    """Rules devfs(8) would not parse are configuration errors."""
    with pytest.raises(ConfigError):
        check_devfs_rule(rule)


def test_mount_inside_an_earlier_volume_resolves_through_it(planner, layout) -> None:
    """A later mount under a volume is resolved and created in the volume's source."""
    host = layout["host"]
    os.symlink("/elsewhere", host / "volume/link")
    config = base_config(mounts=[
        {"destination": "/data", "type": "bind", "source": str(host / "volume")},
        {"destination": "/data/link/sub", "type": "tmpfs", "source": "tmpfs"}])
    plan = plan_of(planner, layout, config)
    assert plan.mounts[1].destination == "/elsewhere/sub"
    # /elsewhere is not under /data: it is created in the rootfs.
    assert [p.path for p in plan.mountpoints if p.mount == 1] == [
        str(layout["rootfs"] / "elsewhere"), str(layout["rootfs"] / "elsewhere/sub")]


def test_file_on_directory_is_an_error(planner, layout) -> None:
    """A file source cannot be mounted on an existing directory."""
    config = base_config(mounts=[{"destination": "/etc", "type": "bind",
                                  "source": str(layout["host"] / "hosts")}])
    with pytest.raises(ConfigError, match="cannot mount a file"):
        plan_of(planner, layout, config)


def test_relative_source_is_bundle_relative(planner, layout) -> None:
    """A relative nullfs source is taken relative to the bundle."""
    (layout["bundle"] / "shared").mkdir()
    config = base_config(mounts=[{"destination": "/shared", "type": "bind",
                                  "source": "shared"}])
    assert plan_of(planner, layout, config).mounts[0].source == str(layout["bundle"] /
                                                                     "shared")


def test_missing_source_is_an_error(planner, layout) -> None:
    """A nullfs source that does not exist fails at plan time."""
    config = base_config(mounts=[{"destination": "/x", "type": "bind", "source": "/nope"}])
    with pytest.raises(ConfigError, match="does not exist"):
        plan_of(planner, layout, config)


def test_symlink_loop_destination_is_an_error(planner, layout) -> None:
    """A destination through a symlink loop fails with ELOOP's message."""
    os.symlink("/loop", layout["rootfs"] / "loop")
    config = base_config(mounts=[{"destination": "/loop/x", "type": "tmpfs",
                                  "source": "tmpfs"}])
    with pytest.raises(ConfigError, match="symbolic links"):
        plan_of(planner, layout, config)


def test_nothing_is_created_inside_devfs(planner, layout) -> None:
    """Mount points inside devfs are not created (EOPNOTSUPP there)."""
    config = base_config(mounts=[
        {"destination": "/dev", "type": "devfs", "source": "devfs", "options": ["ruleset=4"]},
        {"destination": "/dev/shm", "type": "tmpfs", "source": "shm"}])
    assert [p.mount for p in plan_of(planner, layout, config).mountpoints] == []


def test_plan_has_no_side_effects(planner, layout) -> None:
    """Planning creates nothing in the rootfs, the host dirs or the state dir."""
    before = tree(layout["tmp"])
    config = base_config(root={"path": "rootfs", "readonly": True}, mounts=[
        {"destination": "/new/dir", "type": "tmpfs", "source": "tmpfs"},
        {"destination": "/run/.containerenv", "type": "bind",
         "source": str(layout["host"] / ".containerenv")}])
    plan_of(planner, layout, config)
    after = tree(layout["tmp"])
    after.pop("bundle/config.json")
    assert after == before


@pytest.mark.parametrize("value", ["1p", "2e", "1P", "010m", "08"])
def test_tmpfs_sizes_the_kernel_would_misread_are_errors(value: str) -> None:
    """F11: vfs_getopt_size takes only k/m/g/t suffixes (tmpfs then reads a failed
    size as "unlimited") and parses with base 0 (010m is 8 MiB): refused here."""
    with pytest.raises(ConfigError):
        opts(f"size={value}", type_="tmpfs")


@pytest.mark.parametrize("value", ["0", "64m", "1G", "3t", "4096", "10k"])
def test_tmpfs_sizes_the_kernel_reads_as_written(value: str) -> None:
    assert opts(f"size={value}", type_="tmpfs")[1] == {"size": value}


@pytest.mark.parametrize("type_", ["tmpfs", "devfs"])
def test_noclusterw_on_a_filtering_fs_is_an_error(type_: str) -> None:
    """F12: MNT_NOCLUSTERW (bit 31) goes to nmount as the option "noclusterw", which
    tmpfs and devfs refuse (vfs_filteropt): a plan-time error, not a failed create."""
    with pytest.raises(ConfigError, match="noclusterw"):
        opts("noclusterw", type_=type_)
    assert "noclusterw" in opts("noclusterw", type_="nullfs")[0]


def test_passed_through_options_reach_nmount_and_the_kernel_ignores_them(
        backend, sim, layout, log) -> None:
    """F19 end to end over the real LibcKernel: the nullfs bind with Linux atime words
    and an x- annotation is mounted (the fake libc hands the iovec to the model, which
    ignores unknown nullfs options as nullfs_mount does); the log warns once each."""
    from pyocijail.testing.freebsd_undo import MemoryUndoLog

    config = base_config(mounts=[{"destination": "/data", "type": "bind",
                                  "source": str(layout["host"] / "volume"),
                                  "options": ["rbind", "relatime", "x-mount.mkdir"]}])
    plan = plan_of(backend, layout, config)
    undo = MemoryUndoLog()
    state = backend.prepare(plan, undo)
    [mount] = sim.snapshot()["mounts"]
    assert mount["fstype"] == "nullfs"
    assert {"relatime", "x-mount.mkdir"} <= set(mount["data"])
    assert sum("ignores it" in w for w in log.warnings) == 2
    backend.destroy(state, undo)
    assert sim.snapshot()["mounts"] == []
