"""The simulated kernel rejects what FreeBSD 14 rejects, with the same errno."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from pyocijail.backends.freebsd.kernel import MNT_FORCE
from pyocijail.errors import KernelError
from pyocijail.testing.simkernel import SimulatedKernel


@pytest.fixture
def root(tmp_path: Path) -> Path:
    r = tmp_path / "root"
    (r / "dev").mkdir(parents=True)
    (r / "mnt/sub").mkdir(parents=True)
    (r / "file").write_text("x")
    return r


def jail(sim: SimulatedKernel, root: Path, name: str = "j", **extra: Any) -> int:
    return sim.jail_set({"name": name, "path": str(root), "persist": True, **extra},
                        create=True)


def fails(err: int, fn: Any, *args: Any, **kw: Any) -> KernelError:
    with pytest.raises(KernelError) as info:
        fn(*args, **kw)
    assert info.value.errno == err, info.value
    return info.value


# --- jail_set -------------------------------------------------------------------

def test_sysv_needs_the_parents(sim: SimulatedKernel, root: Path) -> None:
    """sysv_{msg,sem,shm}.c: new or inherit under a parent with it disabled is EPERM;
    disable is always allowed, and the host always has SysV IPC."""
    jail(sim, root, "p", **{"sysvmsg": "new", "children.max": 5})  # sem, shm: disable
    jail(sim, root, "p.a", sysvmsg="inherit", sysvsem="disable")
    fails(errno.EPERM, jail, sim, root, "p.b", sysvsem="new")
    fails(errno.EPERM, jail, sim, root, "p.c", sysvshm="inherit")


def test_unknown_parameter_is_einval(sim: SimulatedKernel, root: Path) -> None:
    """An unknown parameter name is EINVAL ("unknown parameter")."""
    fails(errno.EINVAL, jail, sim, root, **{"allow.everything": True})


def test_readonly_parameter_cannot_be_set(sim: SimulatedKernel, root: Path) -> None:
    """children.cur is read-only: jail_set does not consume it (EINVAL)."""
    fails(errno.EINVAL, jail, sim, root, **{"children.cur": 1})


def test_enforce_statfs_3_is_einval(sim: SimulatedKernel, root: Path) -> None:
    """enforce_statfs outside 0..2 is EINVAL."""
    fails(errno.EINVAL, jail, sim, root, enforce_statfs=3)


def test_securelevel_must_be_an_int(sim: SimulatedKernel, root: Path) -> None:
    """A string securelevel is a type error (EINVAL)."""
    fails(errno.EINVAL, jail, sim, root, securelevel="3")


def test_securelevel_never_below_the_parents(sim: SimulatedKernel, root: Path) -> None:
    """kern_jail.c kern_jail_set: a child starts at its parent's securelevel and may be
    set higher, never lower (EPERM, create or update); raising a jail raises its
    descendants; a jail may come back down to (not below) its parent's level."""
    jail(sim, root, "p", securelevel=1, **{"children.max": 2})
    jail(sim, root, "p.a")
    assert sim.jail_get("p.a")["securelevel"] == 1
    fails(errno.EPERM, jail, sim, root, "p.b", securelevel=0)
    jail(sim, root, "p.b", securelevel=3)
    sim.jail_set({"name": "p", "securelevel": 2}, create=False)
    assert [sim.jail_get(n)["securelevel"] for n in ("p", "p.a", "p.b")] == [2, 2, 3]
    fails(errno.EPERM, sim.jail_set, {"name": "p.b", "securelevel": 1}, create=False)
    sim.jail_set({"name": "p.b", "securelevel": 2}, create=False)
    sim.jail_set({"name": "p", "securelevel": -1}, create=False)  # the host's level
    assert sim.jail_get("p.a")["securelevel"] == 2


def test_boolean_must_be_a_bool(sim: SimulatedKernel, root: Path) -> None:
    """An int for a boolean parameter is rejected."""
    fails(errno.EINVAL, jail, sim, root, **{"allow.mlock": 1})


def test_vnet_disable_is_einval(sim: SimulatedKernel, root: Path) -> None:
    """vnet has no `disable` value."""
    fails(errno.EINVAL, jail, sim, root, vnet="disable")


def test_vnet_with_ip4_is_einval(sim: SimulatedKernel, root: Path) -> None:
    """A vnet jail cannot have IP address restrictions."""
    fails(errno.EINVAL, jail, sim, root, vnet="new", ip4="inherit")


def test_vnet_with_address_selection_flag_is_allowed(sim: SimulatedKernel,
                                                     root: Path) -> None:
    """Only ip4/ip6 and their addresses are restrictions; ip4.saddrsel is a flag."""
    jail(sim, root, "a", vnet="new", **{"ip4.saddrsel": False})
    fails(errno.EINVAL, jail, sim, root, "b", vnet="inherit", **{"ip6.addr": ["2001:db8::1"]})


def test_linux_strings_are_utsname_sized(sim: SimulatedKernel, root: Path) -> None:
    """linux.osname/osrelease hold LINUX_MAX_UTSNAME (65) bytes with the NUL."""
    jail(sim, root, "a", **{"linux.osrelease": "5" * 64})
    fails(errno.ENAMETOOLONG, jail, sim, root, "b", **{"linux.osrelease": "5" * 65})


def test_osrelease_holds_30_characters(sim: SimulatedKernel, root: Path) -> None:
    """F17: kern_jail.c wants the string with its NUL below OSRELEASELEN (32)."""
    jail(sim, root, "a", osrelease="1" * 30)
    fails(errno.ENAMETOOLONG, jail, sim, root, "b", osrelease="1" * 31)


def test_more_addresses_than_jail_max_af_ips_is_einval(sim: SimulatedKernel,
                                                       root: Path) -> None:
    """F17: security.jail.jail_max_af_ips (255) caps each address list."""
    many = [f"10.1.{i // 250}.{i % 250 + 1}" for i in range(256)]
    fails(errno.EINVAL, jail, sim, root, **{"ip4.addr": many})
    jail(sim, root, **{"ip4.addr": many[:255]})


def test_bad_address_is_einval(sim: SimulatedKernel, root: Path) -> None:
    """INADDR_ANY cannot be a jail address."""
    fails(errno.EINVAL, jail, sim, root, **{"ip4.addr": ["0.0.0.0"]})


def test_shared_addresses_clash_unless_both_have_one(sim: SimulatedKernel,
                                                    root: Path) -> None:
    """kern_jail.c prison_ip_conflict_check: two jails may share an address only when
    each has exactly one of that family; otherwise EADDRINUSE "IPv4 addresses clash"."""
    jail(sim, root, "a", **{"ip4.addr": ["192.0.2.1"]})
    jail(sim, root, "b", **{"ip4.addr": ["192.0.2.1"]})  # one and one: permitted
    err = fails(errno.EADDRINUSE, jail, sim, root, "c",
                **{"ip4.addr": ["192.0.2.1", "192.0.2.2"]})
    assert "IPv4 addresses clash" in str(err)
    jail(sim, root, "d", **{"ip4.addr": ["192.0.2.3", "192.0.2.4"]})
    fails(errno.EADDRINUSE, jail, sim, root, "e", **{"ip4.addr": ["192.0.2.4"]})
    jail(sim, root, "f", **{"ip6.addr": ["2001:db8::1", "2001:db8::2"]})
    err = fails(errno.EADDRINUSE, jail, sim, root, "g", **{"ip6.addr": ["2001:db8::2"]})
    assert "IPv6 addresses clash" in str(err)
    jail(sim, root, "h", **{"ip4.addr": ["192.0.2.9", "192.0.2.10"]})  # disjoint


def test_addresses_in_another_vnet_do_not_clash(sim: SimulatedKernel, root: Path) -> None:
    """The clash check stays within one network stack: jails inside a vnet jail are
    not compared with the host's, and a removed jail's addresses are free again."""
    jid = jail(sim, root, "a", **{"ip4.addr": ["192.0.2.1", "192.0.2.2"]})
    jail(sim, root, "v", vnet="new", **{"children.max": 1})
    jail(sim, root, "v.c", **{"ip4.addr": ["192.0.2.1", "192.0.2.2"]})
    sim.jail_remove(jid)
    jail(sim, root, "b", **{"ip4.addr": ["192.0.2.2", "192.0.2.1"]})


def test_inheriting_jails_are_looked_through(sim: SimulatedKernel, root: Path) -> None:
    """An ip4=inherit jail has no list of its own: its children's lists are checked."""
    jail(sim, root, "p", ip4="inherit", **{"children.max": 1})
    jail(sim, root, "p.c", **{"ip4.addr": ["192.0.2.1", "192.0.2.2"]})
    fails(errno.EADDRINUSE, jail, sim, root, "x", **{"ip4.addr": ["192.0.2.2"]})


def test_child_addresses_must_be_the_parents(sim: SimulatedKernel, root: Path) -> None:
    """kern_jail.c prison_ip_parent_match: under a parent with an address list, a
    child's list must be a subset of it (EPERM); a parent with no address (ip4 not
    given, or disable) admits none; the host and vnet parents do not restrict."""
    jail(sim, root, "p", **{"ip4.addr": ["192.0.2.1", "192.0.2.2"], "children.max": 3})
    fails(errno.EPERM, jail, sim, root, "p.c", **{"ip4.addr": ["192.0.2.1", "192.0.2.3"]})
    # A subset passes the parent match, then clashes with the parent's own list
    # (the clash walk includes the parent): children use ip4=inherit instead.
    fails(errno.EADDRINUSE, jail, sim, root, "p.a", **{"ip4.addr": ["192.0.2.2"]})
    jail(sim, root, "s", **{"ip4.addr": ["192.0.2.5"], "children.max": 1})
    jail(sim, root, "s.a", **{"ip4.addr": ["192.0.2.5"]})  # one and one
    jail(sim, root, "q", **{"children.max": 1})  # no ip4 at all: no address allowed
    fails(errno.EPERM, jail, sim, root, "q.a", **{"ip6.addr": ["2001:db8::1"]})
    jail(sim, root, "q.b", ip4="inherit")
    jail(sim, root, "v", vnet="new", **{"children.max": 1})
    jail(sim, root, "v.a", **{"ip4.addr": ["198.51.100.7"]})


def test_long_hostname_is_enametoolong(sim: SimulatedKernel, root: Path) -> None:
    """host.hostname longer than MAXHOSTNAMELEN-1 is ENAMETOOLONG."""
    fails(errno.ENAMETOOLONG, jail, sim, root, **{"host.hostname": "h" * 256})


def test_new_jail_must_persist(sim: SimulatedKernel, root: Path) -> None:
    """Without persist (and no attach), create is EINVAL."""
    fails(errno.EINVAL, sim.jail_set, {"name": "j", "path": str(root)}, create=True)


def test_duplicate_name_is_eexist(sim: SimulatedKernel, root: Path) -> None:
    """A second live jail of the same name is EEXIST."""
    jail(sim, root)
    fails(errno.EEXIST, jail, sim, root)


def test_numeric_name_asks_for_that_jid(sim: SimulatedKernel, root: Path) -> None:
    """kern_jail.c kern_jail_set: at create a numeric last name component asks for
    that jid (EEXIST "jail N already exists" if taken); any other numeric name, or
    one not in normal form, is EINVAL "name cannot be numeric (unless it is the
    jid)"; later jids skip those asked for."""
    assert jail(sim, root, "12345") == 12345
    assert sim.jail_get("12345")["jid"] == 12345
    err = fails(errno.EEXIST, jail, sim, root, "12345")
    assert "jail 12345 already exists" in str(err)
    err = fails(errno.EINVAL, jail, sim, root, "007")
    assert "name cannot be numeric (unless it is the jid)" in str(err)
    fails(errno.EINVAL, jail, sim, root, "0")
    fails(errno.EINVAL, jail, sim, root, "4294967295")  # -1 as a C int: negative jid
    assert jail(sim, root, "2") == 2
    assert jail(sim, root, "a") == 1 and jail(sim, root, "b") == 3  # 2 is taken
    jail(sim, root, "p", **{"children.max": 1})
    assert jail(sim, root, "p.9") == 9  # the last component counts


def test_numeric_name_with_its_jid(sim: SimulatedKernel, root: Path) -> None:
    """An explicit jid and a matching numeric name are accepted; an update keyed by
    a numeric name alone has jid 0, so it is EINVAL; keyed by jid it is fine."""
    jail(sim, root, "8", jid=8)
    fails(errno.EINVAL, sim.jail_set, {"name": "8", "securelevel": 1}, create=False)
    sim.jail_set({"name": "8", "jid": 8, "securelevel": 1}, create=False)
    fails(errno.ENOENT, sim.jail_set, {"name": "x", "jid": 99}, create=False)


def test_child_of_missing_parent_is_enoent(sim: SimulatedKernel, root: Path) -> None:
    """`a.b` needs a jail `a`."""
    fails(errno.ENOENT, jail, sim, root, "nope.child")


def test_host_creates_children_beyond_the_parents_children_max(sim: SimulatedKernel,
                                                             root: Path) -> None:
    """kern_jail.c kern_jail_set walks the *creator's* jail and its ancestors
    (pr_childcount >= pr_childmax: EPERM): from the host only prison0's limit
    counts, so a parent's children.max 0 does not stop the host."""
    jail(sim, root, "p")
    jail(sim, root, "p.c")
    jail(sim, root, "p.c.d")


def _create_inside(sim: SimulatedKernel, jid: int, root: Path, *names: str) -> list[Any]:
    """jail_set(create) from a process attached to jail `jid`: jids or errnos."""
    code = ("import os, sys; from pyocijail.testing.simkernel import SimulatedKernel as K;"
            "from pyocijail.errors import KernelError; os.chroot = lambda p: None;"
            f"k = K({sim.path!r}); k.jail_attach({jid}); out = []\n"
            f"for n in {list(names)!r}:\n"
            "    try: out.append(k.jail_set({'name': n, 'path': %r, 'persist': True},"
            " create=True))\n"
            "    except KernelError as e: out.append(-e.errno)\n"
            "print(out)") % str(root)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    return list(eval(done.stdout))


def test_children_max_of_the_creator_and_its_ancestors(sim: SimulatedKernel,
                                                       root: Path) -> None:
    """A jailed creator names jails relative to its own; children.max 0 refuses at
    once, and every ancestor's count of all its descendants is checked."""
    jail(sim, root, "a", **{"children.max": 3})
    b = jail(sim, root, "a.b", **{"children.max": 2})
    z = jail(sim, root, "a.z")  # children.max 0
    assert _create_inside(sim, z, root, "x") == [-errno.EPERM]
    assert _create_inside(sim, b, root, "c")[0] > 0
    assert sim.jail_get("a.b.c")["parent"] == b
    # a now has b, z, c: 3 descendants, its limit; b (1 of 2) would allow one more.
    assert _create_inside(sim, b, root, "d") == [-errno.EPERM]
    sim.jail_remove(z)
    made, refused = _create_inside(sim, b, root, "d", "e")  # b reaches its own limit
    assert sim.jail_get("a.b.d")["jid"] == made and refused == -errno.EPERM


def test_child_cannot_have_allow_the_parent_lacks(sim: SimulatedKernel, root: Path) -> None:
    """allow.* beyond the parent's permissions is EPERM."""
    jail(sim, root, "p", **{"children.max": 2})
    fails(errno.EPERM, jail, sim, root, "p.c", **{"allow.chflags": True})
    jail(sim, root, "p.d", **{"allow.unprivileged_proc_debug": True})  # a permitted difference


def test_child_enforce_statfs_below_parent_is_eperm(sim: SimulatedKernel, root: Path) -> None:
    """A child cannot see more mounts than its parent."""
    jail(sim, root, "p", **{"children.max": 1, "enforce_statfs": 2})
    fails(errno.EPERM, jail, sim, root, "p.c", enforce_statfs=1)


def test_missing_path_is_enoent_and_file_path_enotdir(sim: SimulatedKernel,
                                                      root: Path) -> None:
    """The jail path must be an existing directory."""
    fails(errno.ENOENT, jail, sim, root / "missing")
    fails(errno.ENOTDIR, jail, sim, root / "file")


def test_update_cannot_change_path_or_vnet(sim: SimulatedKernel, root: Path) -> None:
    """path and vnet are fixed after creation (EINVAL); a missing jail is ENOENT."""
    jail(sim, root)
    fails(errno.EINVAL, sim.jail_set, {"name": "j", "path": str(root)}, create=False)
    fails(errno.EINVAL, sim.jail_set, {"name": "j", "vnet": "new"}, create=False)
    fails(errno.ENOENT, sim.jail_set, {"name": "x", "persist": True}, create=False)


def test_address_lists_can_be_updated(sim: SimulatedKernel, root: Path) -> None:
    """kern_jail_set replaces ip4.addr/ip6.addr on JAIL_UPDATE (unlike path, vnet, ip4),
    with the same checks as at creation; a vnet jail still may not have any."""
    jail(sim, root, "a", **{"ip4.addr": ["192.0.2.1", "192.0.2.2"]})
    jail(sim, root, "b", **{"ip4.addr": ["192.0.2.5", "192.0.2.6"]})
    sim.jail_set({"name": "a", "ip4.addr": ["192.0.2.3", "192.0.2.4"]}, create=False)
    assert sim.snapshot()["jails"]["1"]["ip"]["ip4"]["addrs"] == ["192.0.2.3", "192.0.2.4"]
    fails(errno.EADDRINUSE, sim.jail_set,
          {"name": "a", "ip4.addr": ["192.0.2.3", "192.0.2.5"]}, create=False)
    sim.jail_set({"name": "a", "ip4.addr": ["192.0.2.3", "192.0.2.4", "192.0.2.9"]},
                 create=False)  # its own addresses do not clash with themselves
    jail(sim, root, "v", vnet="new")
    fails(errno.EINVAL, sim.jail_set, {"name": "v", "ip4.addr": ["192.0.2.7"]},
          create=False)


def test_jail_get_reports_children(sim: SimulatedKernel, root: Path) -> None:
    """jail_get by name returns jid, children.max and children.cur."""
    jid = jail(sim, root, "p", **{"children.max": 3})
    jail(sim, root, "p.c")
    info = sim.jail_get("p")
    assert (info["jid"], info["children.max"], info["children.cur"]) == (jid, 3, 1)
    fails(errno.ENOENT, sim.jail_get, "q")


def test_state_is_shared_between_instances(sim: SimulatedKernel, root: Path) -> None:
    """Two kernels on the same file (two runtime processes) see the same jails."""
    jail(sim, root)
    assert SimulatedKernel(sim.path).jail_get("j")["name"] == "j"


# --- processes --------------------------------------------------------------------

def _attached_child(sim: SimulatedKernel, jid: int) -> subprocess.Popen[bytes]:
    code = ("import sys, time; from pyocijail.testing.simkernel import SimulatedKernel as K;"
            "import os; os.chroot = lambda p: None;"  # membership only: keep the host root
            f"K({sim.path!r}).jail_attach({jid}); print('in', flush=True);"
            "import subprocess; subprocess.Popen(['sleep', '60']); time.sleep(60)")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.readline() == b"in\n"
    return proc


def test_attach_missing_jail_is_einval(sim: SimulatedKernel) -> None:
    """jail_attach to no jail is EINVAL."""
    fails(errno.EINVAL, sim.jail_attach, 42)


def test_members_and_descendants_are_listed(sim: SimulatedKernel, root: Path) -> None:
    """Processes of a jail: attached pids and their children, in child jails too."""
    jid = jail(sim, root, "p", **{"children.max": 1})
    cjid = jail(sim, root, "p.c")
    a, b = _attached_child(sim, jid), _attached_child(sim, cjid)
    try:
        deadline = time.time() + 5
        while len(sim.jail_pids(jid)) < 4 and time.time() < deadline:
            time.sleep(0.05)
        pids = sim.jail_pids(jid)
        assert a.pid in pids and b.pid in pids and len(pids) == 4
        assert sim.jail_pids(cjid) == sorted(_tree(b.pid))
        sim.jail_remove(jid)
        assert a.wait(5) == -signal.SIGKILL and b.wait(5) == -signal.SIGKILL
        assert sim.snapshot()["jails"] == {}
    finally:
        for p in (a, b):
            p.kill()
            p.wait()


def _tree(pid: int) -> list[int]:
    import psutil

    return [pid, *(c.pid for c in psutil.Process(pid).children(recursive=True))]


def test_remove_missing_jail_is_einval(sim: SimulatedKernel) -> None:
    """jail_remove of no jail is EINVAL."""
    fails(errno.EINVAL, sim.jail_remove, 7)


@pytest.mark.root  # chroot needs root
def test_attach_chroots_as_root(sim: SimulatedKernel, root: Path) -> None:
    """As root, jail_attach really chroots into the jail path."""
    jid = jail(sim, root)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            sim.jail_attach(jid)
            os.write(w, ",".join(sorted(os.listdir("/"))).encode())
        finally:
            os._exit(0)
    os.close(w)
    seen = os.read(r, 4096).decode()
    os.waitpid(pid, 0)
    assert seen == ",".join(sorted(os.listdir(root)))


# --- mounts ---------------------------------------------------------------------------

def test_mount_on_missing_dir_is_enoent(sim: SimulatedKernel, root: Path) -> None:
    """nmount onto a path that does not exist is ENOENT."""
    fails(errno.ENOENT, sim.nmount, "tmpfs", "tmpfs", str(root / "nope"), 0, {})


def test_unknown_fs_is_einval_invalid_fstype(sim: SimulatedKernel, root: Path) -> None:
    """A file system no module provides: vfs_donmount turns the ENOENT into EINVAL."""
    err = fails(errno.EINVAL, sim.nmount, "ext4", "x", str(root / "mnt"), 0, {})
    assert str(err).endswith(": Invalid fstype")


def test_linprocfs_autoloads_with_linux_common(tmp_path: Path, root: Path) -> None:
    """No linux64 module loaded: nmount loads linprocfs and its linux_common dependency."""
    sim = SimulatedKernel.configure(str(tmp_path / "s.json"), modules=[])
    sim.nmount("linprocfs", "linproc", str(root / "mnt"), 0, {})
    assert {"linprocfs", "linux_common"} <= set(sim.snapshot()["kld"])


def test_allow_mount_fs_exists_only_once_the_module_is_loaded(sim: SimulatedKernel,
                                                              root: Path) -> None:
    """allow.mount.nullfs is unknown until nullfs.ko is loaded; tmpfs is built in."""
    err = fails(errno.EINVAL, jail, sim, root, "a", **{"allow.mount.nullfs": True})
    assert str(err).endswith(": unknown parameter: allow.mount.nullfs")
    assert not sim.registered("allow.mount.nullfs") and sim.registered("allow.mount.tmpfs")
    assert sim.kldload("nullfs") > 0
    fails(errno.EEXIST, sim.kldload, "nullfs")
    fails(errno.ENOENT, sim.kldload, "nosuchfs")
    jail(sim, root, "b", **{"allow.mount.nullfs": True})
    assert sim.jail_get("b")["allow.mount.nullfs"] is True


def test_nmount_loads_the_file_system_module(sim: SimulatedKernel, root: Path) -> None:
    """vfs_byname_kld: the first nullfs mount loads nullfs.ko (and so registers
    allow.mount.nullfs)."""
    sim.nmount("nullfs", str(root / "mnt"), str(root / "mnt"), 0, {})
    assert sim.registered("allow.mount.nullfs")


def test_unknown_options_are_ignored_where_the_fs_does_not_filter(sim: SimulatedKernel,
                                                                 root: Path) -> None:
    """nullfs does not call vfs_filteropt: an option it does not read is ignored."""
    sim.nmount("nullfs", str(root / "mnt"), str(root / "mnt"), 0, {"relatime": None})


def test_unknown_option_is_einval(sim: SimulatedKernel, root: Path) -> None:
    """tmpfs filters its options (vfs_filteropt): an unknown one is EINVAL."""
    err = fails(errno.EINVAL, sim.nmount, "tmpfs", "tmpfs", str(root / "mnt"), 0,
                {"relatime": None})
    assert str(err).endswith(": mount option <relatime> is unknown")


def test_file_nullfs_on_old_kernel_is_enotdir(tmp_path: Path, root: Path) -> None:
    """A kernel without single-file nullfs says ENOTDIR."""
    sim = SimulatedKernel.configure(str(tmp_path / "s.json"), nullfs_files=False)
    fails(errno.ENOTDIR, sim.nmount, "nullfs", str(root / "file"), str(root / "file"), 0, {})


def test_nullfs_file_and_dir_mismatch_and_hard_links_are_einval(sim: SimulatedKernel,
                                                                root: Path) -> None:
    """F9: nullfs source and mount point must be of the same kind (null_vfsops.c
    nullfs_mount: EINVAL, not ENOTDIR), and a file mount point must have one link
    (vfs_mount.c vfs_domount_first: EINVAL)."""
    fails(errno.EINVAL, sim.nmount, "nullfs", str(root / "mnt"), str(root / "file"), 0, {})
    fails(errno.EINVAL, sim.nmount, "nullfs", str(root / "file"), str(root / "mnt"), 0, {})
    os.link(root / "file", root / "link")
    fails(errno.EINVAL, sim.nmount, "nullfs", str(root / "file"), str(root / "link"), 0, {})
    assert sim.snapshot()["mounts"] == []


def test_unmount_nothing_is_einval(sim: SimulatedKernel, root: Path) -> None:
    """Unmounting what is not mounted is EINVAL."""
    fails(errno.EINVAL, sim.unmount, str(root / "mnt"), 0)


def test_unmount_with_mount_beneath_is_ebusy(sim: SimulatedKernel, root: Path) -> None:
    """A mount with another beneath it is EBUSY, even forced."""
    sim.nmount("tmpfs", "tmpfs", str(root / "mnt"), 0, {})
    sim.nmount("tmpfs", "tmpfs", str(root / "mnt/sub"), 0, {})
    fails(errno.EBUSY, sim.unmount, str(root / "mnt"), MNT_FORCE)
    sim.unmount(str(root / "mnt/sub"), 0)
    sim.unmount(str(root / "mnt"), 0)


def test_unmount_in_use_is_ebusy_unless_forced(sim: SimulatedKernel, root: Path) -> None:
    """A jailed process working inside the mount makes it busy; MNT_FORCE wins."""
    jid = jail(sim, root)
    sim.nmount("tmpfs", "tmpfs", str(root / "mnt"), 0, {})
    code = ("import os, time; from pyocijail.testing.simkernel import SimulatedKernel as K;"
            "os.chroot = lambda p: None;"
            f"K({sim.path!r}).jail_attach({jid}); os.chdir({str(root / 'mnt')!r});"
            "print('in', flush=True); time.sleep(60)")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == b"in\n"
        fails(errno.EBUSY, sim.unmount, str(root / "mnt"), 0)
        sim.unmount(str(root / "mnt"), MNT_FORCE)
    finally:
        proc.kill()
        proc.wait()


def test_devfs_hides_by_ruleset(sim: SimulatedKernel, root: Path) -> None:
    """fdescfs on /dev/fd works under ruleset 4, fails where the ruleset hides fd."""
    sim.nmount("devfs", "devfs", str(root / "dev"), 0, {"ruleset": "1"})
    fails(errno.ENOENT, sim.nmount, "fdescfs", "fdesc", str(root / "dev/fd"), 0, {})
    sim.devfs_rule_apply(str(root / "dev"), "path fd unhide")
    sim.nmount("fdescfs", "fdesc", str(root / "dev/fd"), 0, {})


def test_devfs_mount_with_a_missing_ruleset_hides_nothing(sim: SimulatedKernel,
                                                         root: Path) -> None:
    """devfs_vfsops.c devfs_mount + devfs_rule.c devfs_ruleset_use: a ruleset that does
    not exist is created empty (every node visible) and reaped at unmount; a value
    that is not a number in 0..65535 is EINVAL "invalid ruleset specification"."""
    sim.nmount("devfs", "devfs", str(root / "dev"), 0, {"ruleset": "77"})
    state = sim.snapshot()
    assert state["devfs_rulesets"]["77"] == [] and "mem" in state["mounts"][0]["visible"]
    sim.unmount(str(root / "dev"), 0)
    assert "77" not in sim.snapshot()["devfs_rulesets"]
    for bad in ("70000", "-1", "four"):
        err = fails(errno.EINVAL, sim.nmount, "devfs", "devfs", str(root / "dev"), 0,
                    {"ruleset": bad})
        assert "invalid ruleset specification" in str(err)


def test_boot_rulesets_follow_devfs_rules(sim: SimulatedKernel, root: Path) -> None:
    """/etc/defaults/devfs.rules: 2 and 3 only unhide (a mount with them hides
    nothing), 1 hides all, 4 = 1+2+3 plus fuse and zfs through includes."""
    sim.nmount("devfs", "devfs", str(root / "dev"), 0, {"ruleset": "2"})
    sim.nmount("devfs", "devfs", str(root / "mnt"), 0, {"ruleset": "4"})
    two, four = (m["visible"] for m in sim.snapshot()["mounts"])
    assert "mem" in two and "mem" not in four
    assert {"null", "pts/0", "fd", "zfs"} <= set(four)


def test_applyset_needs_an_existing_ruleset(sim: SimulatedKernel, root: Path) -> None:
    """devfs_rule.c DEVFSIO_SAPPLY: a ruleset that does not exist is ESRCH, and ruleset
    0 never exists; DEVFSIO_SUSE (`ruleset N`) creates it; DEVFSIO_RADD (`rule -s N
    add`) creates it too, and without -s on a ruleset-0 mount is EIO."""
    dev = str(root / "dev")
    sim.nmount("devfs", "devfs", dev, 0, {})
    fails(errno.ESRCH, sim.devfs_rule_applyset, dev)
    fails(errno.ESRCH, sim.devfs_rule_applyset, dev, 9)
    fails(errno.EIO, sim.devfs_rule_add, dev, "path mem hide")
    sim.devfs_rule_add(dev, "path mem hide", 9)
    sim.devfs_rule_applyset(dev, 9)
    assert "mem" not in sim.snapshot()["mounts"][0]["visible"]
    sim.devfs_ruleset(dev, 12)
    sim.devfs_rule_applyset(dev)  # the mount's own, empty: nothing changes
    sim.devfs_rule_add(dev, "path kmem hide")  # into the mount's ruleset, 12
    assert sim.snapshot()["devfs_rulesets"]["12"] == ["path kmem hide"]


def test_rule_apply_include_needs_the_ruleset(sim: SimulatedKernel, root: Path) -> None:
    """DEVFSIO_RAPPLY runs one rule with no ruleset; `include N` of a missing N is
    ESRCH (devfs(8) prints the ioctl's error)."""
    sim.nmount("devfs", "devfs", str(root / "dev"), 0, {"ruleset": "0"})
    err = fails(errno.ESRCH, sim.devfs_rule_apply, str(root / "dev"), "include 42")
    assert "DEVFSIO_RAPPLY: No such process" in str(err)
    sim.devfs_rule_apply(str(root / "dev"), "include 1")
    assert sim.snapshot()["mounts"][0]["visible"] == {}


def test_jail_devfs_ruleset_is_inherited_not_checked(sim: SimulatedKernel,
                                                    root: Path) -> None:
    """kern_jail.c: devfs_ruleset is 0..65535 (EINVAL beyond), need not exist,
    starts as the parent's and is passed on to descendants when set."""
    jail(sim, root, "p", devfs_ruleset=300, **{"children.max": 1})
    jail(sim, root, "p.c")
    assert sim.jail_get("p.c")["devfs_ruleset"] == 300
    sim.jail_set({"name": "p", "devfs_ruleset": 4}, create=False)
    assert sim.jail_get("p.c")["devfs_ruleset"] == 4
    fails(errno.EINVAL, jail, sim, root, "q", devfs_ruleset=65536)


def test_devfs_rule_on_non_devfs_is_enotty(sim: SimulatedKernel, root: Path) -> None:
    """`devfs -m` on something that is not a devfs mount fails (ENOTTY)."""
    fails(errno.ENOTTY, sim.devfs_rule_apply, str(root / "mnt"), "path null unhide")


def test_bad_devfs_rule_is_einval(sim: SimulatedKernel, root: Path) -> None:
    """A rule devfs(8) cannot parse is refused."""
    sim.nmount("devfs", "devfs", str(root / "dev"), 0, {"ruleset": "4"})
    fails(errno.EINVAL, sim.devfs_rule_apply, str(root / "dev"), "path x explode")


# --- rctl, cpuset, network ------------------------------------------------------------

def test_rctl_without_racct_is_enosys(tmp_path: Path) -> None:
    """GENERIC boots with kern.racct.enable=0: by default rctl fails (ENOSYS)."""
    sim = SimulatedKernel.configure(str(tmp_path / "generic.json"))
    fails(errno.ENOSYS, sim.rctl_add, "jail:j:memoryuse:deny=1g")


@pytest.fixture
def racct(tmp_path: Path) -> SimulatedKernel:
    """A host booted with kern.racct.enable=1."""
    return SimulatedKernel.configure(str(tmp_path / "racct.json"), racct=True)


def test_rctl_bad_resource_is_einval(racct: SimulatedKernel) -> None:
    """An unknown rctl resource is EINVAL."""
    sim = racct
    fails(errno.EINVAL, sim.rctl_add, "jail:j:memory:deny=1g")


def test_rctl_remove_nothing_is_esrch(racct: SimulatedKernel) -> None:
    """Removing rules that do not exist is ESRCH; a subject filter removes all of it."""
    sim = racct
    fails(errno.ESRCH, sim.rctl_remove, "jail:j")
    sim.rctl_add("jail:j:memoryuse:deny=1g")
    sim.rctl_add("jail:j:maxproc:deny=10")
    sim.rctl_add("jail:jj:maxproc:deny=10")
    sim.rctl_remove("jail:j")
    assert sim.snapshot()["rctl"] == ["jail:jj:maxproc:deny=10"]


def test_cpuset_checks_jail_and_cpus(sim: SimulatedKernel, root: Path) -> None:
    """cpuset needs a jail (ESRCH) and CPUs that exist (EINVAL)."""
    fails(errno.ESRCH, sim.cpuset, 9, "0")
    jid = jail(sim, root)
    fails(errno.EINVAL, sim.cpuset, jid, "0-63")
    sim.cpuset(jid, "0-1")


def test_ifconfig_needs_existing_interface(sim: SimulatedKernel, root: Path) -> None:
    """Unknown interfaces are ENXIO; a vnet move needs a jail (ENXIO, if.c
    if_vmove_loan) with a vnet of its own (EEXIST: the same vnet)."""
    fails(errno.ENXIO, sim.ifconfig_alias, "igb9", "192.0.2.1", add=True)
    jid = jail(sim, root, ip4="inherit")
    fails(errno.EEXIST, sim.ifconfig_vnet, "epair0b", jid)
    fails(errno.ENXIO, sim.ifconfig_vnet, "epair0b", 999)
    vjid = jail(sim, root, "v", vnet="new")
    sim.ifconfig_vnet("epair0b", vjid)
    fails(errno.ENXIO, sim.ifconfig_vnet, "epair0b", vjid)  # no longer on the host
    sim.jail_remove(vjid)
    assert sim.snapshot()["vnet_ifaces"] == {}  # back on the host


def test_vnet_interface_returns_when_the_dying_jail_is_freed(sim: SimulatedKernel,
                                                              root: Path) -> None:
    """F8: jail_remove kills the jail's processes, but its vnet (and the interfaces
    moved into it) goes only when the prison is freed, after the last process,
    a zombie included, has been reaped (kern_jail.c prison_deref)."""
    vjid = jail(sim, root, "v", vnet="new")
    sim.ifconfig_vnet("epair0b", vjid)
    code = ("import os, time; from pyocijail.testing.simkernel import SimulatedKernel as K;"
            "os.chroot = lambda p: None;"  # membership only: keep the host root
            f"K({sim.path!r}).jail_attach({vjid}); print('in', flush=True); time.sleep(60)")
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    try:
        assert child.stdout is not None and child.stdout.readline() == b"in\n"
        sim.jail_remove(vjid)
        deadline = time.monotonic() + 10
        while subprocess.run(["ps", "-o", "stat=", "-p", str(child.pid)], capture_output=True,
                             text=True).stdout.strip()[:1] != "Z":
            assert time.monotonic() < deadline  # SIGKILLed: a zombie until reaped
            time.sleep(0.02)
        fails(errno.ENXIO, sim.ifconfig_alias, "epair0b", "192.0.2.1", add=True)
    finally:
        child.kill()
        child.wait()
    sim.ifconfig_alias("epair0b", "192.0.2.1", add=True)
    assert sim.snapshot()["vnet_ifaces"] == {}


def test_alias_remove_missing_is_eaddrnotavail(sim: SimulatedKernel) -> None:
    """Removing an alias that is not there is EADDRNOTAVAIL."""
    fails(errno.EADDRNOTAVAIL, sim.ifconfig_alias, "em0", "192.0.2.1", add=False)


def test_fault_injection_fails_the_nth_call(sim: SimulatedKernel, root: Path) -> None:
    """fail_next(op, errno, after=n) fails exactly the (n+1)-th call of op."""
    sim.fail_next("nmount", errno.EIO, after=1)
    sim.nmount("tmpfs", "tmpfs", str(root / "mnt"), 0, {})
    fails(errno.EIO, sim.nmount, "tmpfs", "tmpfs", str(root / "dev"), 0, {})
    sim.nmount("tmpfs", "tmpfs", str(root / "dev"), 0, {})


def test_rule_show_lists_a_rulesets_rules(sim: SimulatedKernel, root: Path) -> None:
    """sbin/devfs/rule.c rule_show: `devfs rule -s N show` prints one numbered line per
    rule (autonumbered by 100) and exits 0; a missing ruleset (DEVFSIO_RGETNEXT
    ENOENT, devfs_rule.c) and an empty one print nothing and exit 0 alike."""
    assert sim.devfs_ruleset_rules(2)[:2] == ["100 path null unhide", "200 path zero unhide"]
    assert sim.devfs_ruleset_rules(4)[0] == "100 include 1"
    assert sim.devfs_ruleset_rules(77) == []
    sim.nmount("devfs", "devfs", str(root / "dev"), 0, {"ruleset": "78"})
    assert "78" in sim.snapshot()["devfs_rulesets"]
    assert sim.devfs_ruleset_rules(78) == []
    with pytest.raises(ValueError):
        sim.devfs_ruleset_rules(0)  # -s 0 means the mount's own ruleset: not asked


def test_rule_show_prints_rules_as_rule_c_does(sim: SimulatedKernel, root: Path) -> None:
    """sbin/devfs/rule.c rulespec_outfp: number, `type`s (disk, mem, tape, tty
    order), `path`, then hide, unhide, user, group, mode (%o), include (%d), whatever
    order the rule was added in."""
    dev = str(root / "dev")
    sim.nmount("devfs", "devfs", dev, 0, {})
    sim.devfs_rule_add(dev, "path ada* type disk include 1 mode 0660 unhide", 10)
    sim.devfs_rule_add(dev, "type tty type disk hide", 10)
    assert sim.devfs_ruleset_rules(10) == ["100 type disk path ada* unhide mode 660 include 1",
                                           "200 type disk type tty hide"]


def test_devfs_rules_run_as_devfs_rule_run(sim: SimulatedKernel, root: Path) -> None:
    """devfs_rule.c: `path` is fnmatch(3) with FNM_PATHNAME (`*` stops at `/`, and
    a node under a hidden directory cannot be reached); `type` matches devices of
    that class only; in one rule unhide wins over hide (cleared after set)."""
    from pyocijail.testing import freebsd_devfs

    dev = str(root / "dev")
    sim.nmount("devfs", "devfs", dev, 0, {})
    sim.devfs_rule_apply(dev, "path * hide")
    view = sim.snapshot()["mounts"][0]["visible"]
    assert "mem" not in view and "fd" not in view and "pts/0" in view
    assert not freebsd_devfs.reachable(view, "pts/0")
    fails(errno.ENOENT, sim.nmount, "fdescfs", "fdesc", str(root / "dev/fd"), 0, {})
    sim.devfs_rule_apply(dev, "path fd hide unhide")
    sim.nmount("fdescfs", "fdesc", str(root / "dev/fd"), 0, {})
    sim.nmount("devfs", "devfs", str(root / "mnt"), 0, {})
    sim.devfs_rule_apply(str(root / "mnt"), "type disk hide")
    view = sim.snapshot()["mounts"][-1]["visible"]
    assert "ada0" not in view and "ada0p1" not in view and {"mem", "pts"} <= set(view)


@pytest.mark.parametrize(("depth", "mem_shown"), [(0, True), (1, True), (2, False)])
def test_includes_run_to_the_rule_depth(tmp_path: Path, root: Path, depth: int,
                                        mem_shown: bool) -> None:
    """devfs_rule_run follows `include` while the depth left (vfs.devfs.rule_depth,
    default 1) is above 0: ruleset 10 = `include 4` hides mem only at depth 2, where
    4's own `include 1` runs too."""
    sim = SimulatedKernel.configure(str(tmp_path / "k.json"), devfs_rule_depth=depth)
    assert sim.devfs_rule_depth() == depth
    dev = str(root / "dev")
    sim.nmount("devfs", "devfs", dev, 0, {})
    sim.devfs_rule_add(dev, "include 4", 10)
    sim.nmount("devfs", "devfs", str(root / "mnt"), 0, {"ruleset": "10"})
    assert ("mem" in sim.snapshot()["mounts"][-1]["visible"]) is mem_shown


def test_host_without_loaded_rules_has_no_rulesets(tmp_path: Path) -> None:
    """devfs_rules=False: /etc/rc.d/devfs never loaded /etc/defaults/devfs.rules."""
    bare = SimulatedKernel.configure(str(tmp_path / "bare.json"), devfs_rules=False)
    assert bare.snapshot()["devfs_rulesets"] == {}
    assert bare.devfs_ruleset_rules(4) == []


def test_procctl_trace_ctl_is_recorded_and_checked(sim: SimulatedKernel) -> None:
    """PROC_TRACE_CTL_DISABLE on a live process is recorded; an unknown state is
    EINVAL, a missing process ESRCH, re-enabling another's EPERM (trace_ctl)."""
    sim.procctl(0, os.getpid(), 7, 2)
    assert [p for p, _ in sim.snapshot()["notrace"]] == [os.getpid()]
    fails(errno.EINVAL, sim.procctl, 0, os.getpid(), 7, 9)
    fails(errno.ESRCH, sim.procctl, 0, 2**22 + 1, 7, 2)
    fails(errno.EPERM, sim.procctl, 0, 1, 7, 1)
    sim.procctl(0, os.getpid(), 7, 1)
    assert sim.snapshot()["notrace"] == []


def test_nmount_follows_a_swapped_link_and_records_where_it_landed(
        sim: SimulatedKernel, root: Path, tmp_path: Path) -> None:
    """nmount resolves its path with links followed (vfs_domount namei FOLLOW) and
    the mount's f_mntonname is where it landed; statfs follows the same way."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (root / "mnt/sub").rmdir()
    (root / "mnt/sub").symlink_to(elsewhere)
    sim.nmount("tmpfs", "tmpfs", str(root / "mnt/sub"), 0, {})
    here = sim.statfs(str(root / "mnt/sub"))
    assert here.target == str(elsewhere) and here.fstype == "tmpfs"
    assert [m.target for m in sim.getfsstat()] == ["/", str(elsewhere)]
    assert sim.statfs(str(root)).target == "/"


def test_unmount_by_fsid(sim: SimulatedKernel, root: Path) -> None:
    """MNT_BYFSID takes "FSID:%d:%d" (kern_unmount): that very mount goes, even
    under another stacked on the same path (forced); EINVAL if the string does not
    scan, ENOENT for an fsid no mount has."""
    from pyocijail.backends.freebsd.kernel import MNT_BYFSID, fsid_path

    sim.nmount("tmpfs", "tmpfs", str(root / "mnt"), 0, {"size": "1m"})
    sim.nmount("tmpfs", "tmpfs", str(root / "mnt"), 0, {"size": "2m"})
    lower, upper = sim.getfsstat()[1:]
    assert lower.fsid != upper.fsid and sim.statfs(str(root / "mnt")).fsid == upper.fsid
    fails(errno.EBUSY, sim.unmount, fsid_path(lower.fsid), MNT_BYFSID)
    sim.unmount(fsid_path(lower.fsid), MNT_BYFSID | MNT_FORCE)
    assert sim.getfsstat()[1:] == [upper]
    fails(errno.ENOENT, sim.unmount, fsid_path(lower.fsid), MNT_BYFSID)
    fails(errno.EINVAL, sim.unmount, str(root / "mnt"), MNT_BYFSID)
    sim.unmount(fsid_path(upper.fsid), MNT_BYFSID)
    assert sim.snapshot()["mounts"] == []


def test_a_jail_may_not_read_devfs_rules_and_mounts_with_its_own_ruleset(
        sim: SimulatedKernel, root: Path) -> None:
    """From inside a jail: `devfs rule show` is EPERM (PRIV_DEVFS_RULE); a devfs
    mount gets the jail's devfs_ruleset, and asking for another one is EPERM
    (devfs_vfsops.c devfs_mount); jail_get names are relative to the caller's jail."""
    jid = jail(sim, root, "outer", devfs_ruleset=4, **{"children.max": 1})
    result = root / "result"
    pid = os.fork()
    if pid == 0:
        try:
            os.chroot = lambda p: None  # type: ignore[assignment]  # membership only
            sim.jail_attach(jid)
            got = [fails(errno.EPERM, sim.devfs_ruleset_rules, 4).errno,
                   fails(errno.EPERM, sim.nmount, "devfs", "devfs", str(root / "dev"), 0,
                         {"ruleset": "5"}).errno]
            sim.nmount("devfs", "devfs", str(root / "dev"), 0, {"ruleset": "0"})
            sim.jail_set({"name": "inner", "path": str(root), "persist": True}, create=True)
            inner = sim.jail_get("inner")
            got += [sim.snapshot()["mounts"][0]["ruleset"], inner["parent"], inner["name"]]
            result.write_text(repr(got))
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    # kern_jail_get to a jailed caller: its own jail is parent 0, names are relative.
    assert result.read_text() == repr([errno.EPERM, errno.EPERM, 4, 0, "inner"])
    assert sim.jail_get("outer.inner")["parent"] == jid
    sim.unmount(str(root / "dev"), 0)
    sim.jail_remove(jid)


@pytest.mark.parametrize(("rule", "err"), [
    ("jail:j:cputime:deny=10", errno.EOPNOTSUPP), ("jail:j:readbps:deny=1m", errno.EOPNOTSUPP),
    ("jail:j:pcpu:throttle=50", errno.EOPNOTSUPP),
    ("jail:j:swapuse:deny=1g/process", errno.EOPNOTSUPP),
    ("jail:j:openfiles:siglibrt=10", errno.EINVAL)])
def test_rctl_refuses_what_the_kernel_refuses(racct: SimulatedKernel, rule: str,
                                              err: int) -> None:
    """F6: kern_rctl.c rctl_string_to_rule (unknown action: EINVAL), then
    rctl_rule_add (non-deniable deny, pcpu throttle, per=process on a sloppy
    resource: EOPNOTSUPP)."""
    fails(err, racct.rctl_add, rule)
    assert racct.snapshot()["rctl"] == []


def _in_child(run: Any) -> Any:
    """`run()` in a forked child (credentials change for real); its result or the
    errno of the KernelError it raised."""
    import json

    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            result: Any = run()
        except KernelError as err:
            result = {"errno": err.errno}
        except BaseException as err:  # noqa: BLE001 - the parent asserts on it
            result = {"error": repr(err)}
        os.write(write, json.dumps(result).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as f:
        data = f.read()
    os.waitpid(pid, 0)
    return json.loads(data)


@pytest.mark.root  # setgroups needs root on this host too
@pytest.mark.parametrize(("release", "egid", "groups"), [(14, 1000, [5, 6]),
                                                         (15, 0, [5, 6, 1000])])
def test_setgroups_before_and_from_15(tmp_path: Path, release: int, egid: int,
                                      groups: list[int]) -> None:
    """kern_prot.c: on 14 groups[0] is the egid; on 15.0 all are supplementary
    (sorted, once); setgid then sets all three gids, setuid all three uids."""
    sim = SimulatedKernel.configure(str(tmp_path / "sim.json"), release=release)

    def run() -> Any:
        sim.setgroups([1000, 6, 5, 6])
        after_groups = sim.snapshot()["creds"][str(os.getpid())]
        real = [os.getresgid()[1], sorted(os.getgroups())]
        sim.setgid(1000)
        sim.setuid(1000)
        return [after_groups["egid"], after_groups["groups"], real,
                list(os.getresgid()), list(os.getresuid())]

    assert _in_child(run) == [egid, groups, [egid, groups], [1000] * 3, [1000] * 3]

