"""Jail parameters from the freebsd section, annotations and defaults."""

from __future__ import annotations

from typing import Any

import pytest

from pyocijail.backends.freebsd.params import jail_name, jail_settings
from pyocijail.errors import ConfigError

from .conftest import base_config, spec_of


def settings(warn: list[str] | None = None, **config: Any) -> Any:
    return jail_settings("c1", spec_of(base_config(**config)), "/root",
                         warn if warn is not None else [])


def test_legacy_defaults_are_ocijails() -> None:
    """Without freebsd.jail: enforce_statfs 1, raw_sockets and chflags on, sysv new."""
    p = settings().params
    assert p["enforce_statfs"] == 1 and p["allow.raw_sockets"] and p["allow.chflags"]
    assert (p["sysvmsg"], p["sysvsem"], p["sysvshm"]) == ("new", "new", "new")
    assert p["persist"] is True and (p["ip4"], p["ip6"]) == ("inherit", "inherit")


def test_spec_defaults_with_a_jail_object() -> None:
    """With freebsd.jail: enforce_statfs 2, every allow off except suser."""
    p = settings(freebsd={"jail": {}}).params
    assert p["enforce_statfs"] == 2 and p["allow.suser"] is True
    assert not any(v for k, v in p.items() if k.startswith("allow.") and k != "allow.suser")


def test_explicit_false_suser_is_honoured() -> None:
    """JSON false is kept (Go omitempty could not say it)."""
    s = settings(freebsd={"jail": {"allow": {"suser": False}}})
    assert s.params["allow.suser"] is False and "allow.suser" not in s.soft


def test_field_wins_over_annotation_with_a_warning() -> None:
    """A present field beats its annotation, and the conflict is logged."""
    warn: list[str] = []
    s = settings(warn, freebsd={"jail": {"vnet": "new"}},
                 annotations={"org.freebsd.jail.vnet": "inherit"})
    assert s.params["vnet"] == "new" and "org.freebsd.jail.vnet" in warn[0]


def test_annotation_used_when_field_absent() -> None:
    """An annotation fills a field the freebsd section leaves out, silently."""
    warn: list[str] = []
    s = settings(warn, freebsd={"jail": {}},
                 annotations={"org.freebsd.jail.allow.mlock": "true"})
    assert s.params["allow.mlock"] is True and warn == []


def test_unknown_allow_annotation_is_ignored_with_a_warning() -> None:
    """Only ocijail's whitelist of allow annotations is honoured."""
    warn: list[str] = []
    s = settings(warn, annotations={"org.freebsd.jail.allow.vmm": "true",
                                    "org.freebsd.whatever": "x"})
    assert "allow.vmm" not in s.params
    assert len(warn) == 2


def test_annotation_values_other_than_true_or_1_are_ignored() -> None:
    """`yes` does not turn a permission on."""
    warn: list[str] = []
    s = settings(warn, annotations={"org.freebsd.jail.allow.mlock": "yes"})
    assert "allow.mlock" not in s.params and warn


def test_allow_mount_fs_implies_allow_mount() -> None:
    """allow.mount.<fs> (field or annotation) also sets allow.mount."""
    assert settings(annotations={"org.freebsd.jail.allow.mount.tmpfs": "1"}
                    ).params["allow.mount"] is True
    p = settings(freebsd={"jail": {"allow": {"mount": ["nullfs"]}}}).params
    assert p["allow.mount"] and p["allow.mount.nullfs"]


def test_allow_mount_unknown_fs_is_an_error() -> None:
    """allow.mount only names jail-mountable file systems."""
    with pytest.raises(ConfigError):
        settings(freebsd={"jail": {"allow": {"mount": ["ext4"]}}})


def test_sysvipc_annotation_means_inherit() -> None:
    """The old allow.sysvipc annotation is jail(8)'s sysv* = inherit."""
    p = settings(annotations={"org.freebsd.jail.allow.sysvipc": "true"}).params
    assert (p["sysvmsg"], p["sysvsem"], p["sysvshm"]) == ("inherit",) * 3
    assert "allow.sysvipc" not in p


@pytest.mark.parametrize("jail, config", [
    ({"host": "inherit"}, {"hostname": "x"}),
    ({"host": "disable"}, {}),
    ({"vnet": "disable"}, {}),
    ({"vnet": "new", "ip4": "inherit"}, {}),
    ({"vnet": "new", "ip4Addr": ["192.0.2.1"]}, {}),
    ({"ip4": "inherit", "ip4Addr": ["192.0.2.1"]}, {}),
    ({"ip4Addr": ["2001:db8::1"]}, {}),
    ({"ip6Addr": ["192.0.2.1"]}, {}),
    ({"ip4Addr": ["0.0.0.0"]}, {}),
    ({"enforceStatfs": 3}, {}),
    ({"sysvshm": "shared"}, {}),
    ({"interface": "em0"}, {}),
    ({"vnetInterfaces": ["epair0b"]}, {}),
])
def test_contradictions_are_config_errors(jail: dict, config: dict) -> None:
    """Values the kernel would refuse, or that contradict each other, fail early."""
    with pytest.raises(ConfigError):
        settings(freebsd={"jail": jail}, **config)


def test_vnet_annotation_disable_is_rejected() -> None:
    """org.freebsd.jail.vnet=disable is refused, as ocijail did."""
    with pytest.raises(ConfigError):
        settings(annotations={"org.freebsd.jail.vnet": "disable"})


def test_domainname_sets_host_new() -> None:
    """domainname alone makes the jail's UTS its own."""
    p = settings(hostname=None, domainname="example.org").params
    assert p["host"] == "new" and p["host.domainname"] == "example.org"


def test_no_hostname_inherits_the_host() -> None:
    """Without hostname or host=new the jail shares the host's names."""
    assert settings(hostname=None).params["host"] == "inherit"


def test_ip6_misspelled_annotation_is_accepted() -> None:
    """ocijail accepted org.freebsd.jail.ip6.add; we do, with a warning."""
    warn: list[str] = []
    p = settings(warn, annotations={"org.freebsd.jail.ip6.add": "2001:db8::5"}).params
    assert p["ip6.addr"] == ["2001:db8::5"] and any("misspelling" in w for w in warn)


@pytest.mark.parametrize("cid", ["123", "", "+5", "-1", "007"])
def test_bad_container_ids_cannot_name_jails(cid: str) -> None:
    """A name strtoul reads as a number is a jid request (kern_jail.c
    kern_jail_set), also under a parent."""
    with pytest.raises(ConfigError):
        jail_name(cid, None)
    with pytest.raises(ConfigError):
        jail_name(cid, "infra")


@pytest.mark.parametrize("cid", ["1a", "a1", "0x10", "1e3"])
def test_ids_with_digits_are_names(cid: str) -> None:
    """Only a fully numeric component is a jid request."""
    assert jail_name(cid, None) == cid


@pytest.mark.parametrize(("cid", "name"), [("my.app", "my_app"), ("a.b.c", "a_b_c"),
                                           ("_x", "_x"), ("1.2", "1_2")])
def test_a_dotted_id_names_one_jail_with_underscores(cid: str, name: str) -> None:
    """'.' splits jail names (kern_jail_set takes the part after the last one), so
    each dot of an id is written '_': the jail is one level deep, also under a parent."""
    assert jail_name(cid, None) == name
    assert jail_name(cid, "infra") == f"infra.{name}"


def test_child_jail_name() -> None:
    """Under a parent the name is <parent>.<id>."""
    assert jail_name("c1", "infra") == "infra.c1"
