"""create refuses a devfs ruleset that does not hide every device before it unhides any.

Run on the simulated kernel, whose `devfs rule show` prints what sbin/devfs does
and whose devfs runs rules (and includes, to vfs.devfs.rule_depth) as the kernel
does; custom rulesets are added with `devfs rule -s N add`, as an admin would.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pyocijail.backends.freebsd.backend import FreeBSDBackend
from pyocijail.errors import ConfigError
from pyocijail.testing.freebsd_undo import MemoryUndoLog
from pyocijail.testing.simhost import SimulatedHostKernel
from pyocijail.testing.simkernel import SimulatedKernel

from .conftest import RecordingLog, assert_clean, base_config, plan_of, tree


def devfs_config(ruleset: int) -> dict[str, Any]:
    return base_config(mounts=[{"destination": "/dev", "type": "devfs", "source": "devfs",
                                "options": [f"ruleset={ruleset}"]}])


def add_rulesets(sim: SimulatedKernel, scratch: Path, rulesets: dict[int, list[str]]) -> None:
    """`devfs -m <scratch> rule -s N add <rule>` for each, in order, through a
    scratch devfs mount (ruleset 0) that is unmounted afterwards."""
    scratch.mkdir(exist_ok=True)
    sim.nmount("devfs", "devfs", str(scratch), 0, {})
    for number, rules in rulesets.items():
        for rule in rules:
            sim.devfs_rule_add(str(scratch), rule, number)
    sim.unmount(str(scratch), 0)


def refused(backend: FreeBSDBackend, sim: SimulatedKernel, layout: dict[str, Path],
            ruleset: int) -> str:
    """The refusal's text, after checking that create made nothing: no jail, no
    mount, no rootfs change, no kernel call but the checks."""
    before = tree(layout["rootfs"])
    calls_before = len(sim.snapshot()["calls"])
    undo = MemoryUndoLog()
    with pytest.raises(ConfigError) as info:
        backend.prepare(plan_of(backend, layout, devfs_config(ruleset)), undo)
    assert undo.entries() == []
    made = sim.snapshot()["calls"][calls_before:]
    assert {c[0] for c in made} == {"devfs_ruleset_rules", "devfs_rule_depth"}
    backend.destroy({}, undo)
    assert_clean(sim)
    assert tree(layout["rootfs"]) == before
    message = str(info.value)
    assert message.startswith(f"mount /dev: devfs ruleset {ruleset} ")
    assert "ruleset=0" in message and "include 1" in message
    return message


def accepted(backend: FreeBSDBackend, sim: SimulatedKernel, layout: dict[str, Path],
             ruleset: int) -> dict[str, str]:
    """Created, then destroyed; returns what the container's /dev showed."""
    undo = MemoryUndoLog()
    state = backend.prepare(plan_of(backend, layout, devfs_config(ruleset)), undo)
    view = sim.snapshot()["mounts"][0]["visible"]
    backend.destroy(state, undo)
    assert_clean(sim)
    return view


@pytest.mark.parametrize(("ruleset", "first"), [(2, "100 path null unhide"),
                                                (3, "100 path ptmx unhide")])
def test_stock_unhide_only_rulesets_alone_are_refused(
        backend: FreeBSDBackend, sim: SimulatedKernel, layout: dict[str, Path],
        ruleset: int, first: str) -> None:
    """/etc/defaults/devfs.rules 2 (devfsrules_unhide_basic) and 3
    (devfsrules_unhide_login) hold rules but hide nothing: the container would see
    /dev/mem. Refused, naming the ruleset and the rule that shows devices first."""
    message = refused(backend, sim, layout, ruleset)
    assert f"unhides before any rule hides every device: `{first}` comes first" in message


@pytest.mark.parametrize("ruleset", [4, 5])
def test_stock_jail_rulesets_are_accepted(backend: FreeBSDBackend, sim: SimulatedKernel,
                                          layout: dict[str, Path], ruleset: int) -> None:
    """4 (devfsrules_jail) and 5 (devfsrules_jail_vnet) start with `include 1`: accepted,
    and the mount hides /dev/mem while showing what they unhide."""
    view = accepted(backend, sim, layout, ruleset)
    assert "mem" not in view and {"null", "fd", "zfs"} <= set(view)
    assert ("pf" in view) is (ruleset == 5)


def test_ruleset_0_is_accepted_without_a_check(backend: FreeBSDBackend, sim: SimulatedKernel,
                                               layout: dict[str, Path]) -> None:
    """`ruleset=0` (podman --privileged) asks for every device: no rule is read."""
    assert "mem" in accepted(backend, sim, layout, 0)
    assert not [c for c in sim.snapshot()["calls"] if c[0].startswith("devfs_")]


def test_custom_unhide_only_ruleset_is_refused(backend: FreeBSDBackend, sim: SimulatedKernel,
                                               layout: dict[str, Path]) -> None:
    """A ruleset that only unhides (and sets modes) exposes every host device."""
    add_rulesets(sim, layout["tmp"] / "scratch", {10: ["path null unhide",
                                                       "path zero unhide mode 0666"]})
    message = refused(backend, sim, layout, 10)
    assert "`100 path null unhide` comes first" in message


def test_custom_ruleset_that_never_hides_everything_is_refused(
        backend: FreeBSDBackend, sim: SimulatedKernel, layout: dict[str, Path]) -> None:
    """Hiding some paths, a device type, or including the hide-all for some paths only
    does not hide every device: refused as never hiding every device."""
    add_rulesets(sim, layout["tmp"] / "scratch", {
        11: ["path mem hide", "type disk hide", "path d* include 1", "path kmem mode 0600"]})
    message = refused(backend, sim, layout, 11)
    assert "never hides every device" in message


def test_custom_ruleset_including_1_first_is_accepted(
        backend: FreeBSDBackend, sim: SimulatedKernel, layout: dict[str, Path]) -> None:
    """`include 1` first (as devfs.rules(5) rulesets do), then unhides: accepted; so is
    a bare `hide` or `path * hide` first (`*` reaches every top-level name, and
    everything deeper sits under a hidden directory)."""
    add_rulesets(sim, layout["tmp"] / "scratch", {12: ["include 1", "path null unhide"],
                                                  13: ["hide", "path null unhide"],
                                                  14: ["path * hide", "path null unhide"]})
    for ruleset in (12, 13, 14):
        view = accepted(backend, sim, layout, ruleset)
        assert "null" in view and "mem" not in view and "fd" not in view


def test_unhide_before_the_hide_all_is_refused(backend: FreeBSDBackend, sim: SimulatedKernel,
                                               layout: dict[str, Path]) -> None:
    """An unhide that runs before `include 1` is overridden by it (the kernel runs
    rules in number order), so it does nothing its author meant: refused, naming
    it. Also for a rule that hides and unhides at once (the kernel clears the hide
    bit after it sets it)."""
    add_rulesets(sim, layout["tmp"] / "scratch", {15: ["path bpf unhide", "include 1"],
                                                  16: ["hide unhide", "include 1"]})
    assert "`100 path bpf unhide` comes first" in refused(backend, sim, layout, 15)
    assert "`100 hide unhide` comes first" in refused(backend, sim, layout, 16)


def test_nested_include_beyond_the_rule_depth_does_not_count(
        tmp_path: Path, log: RecordingLog, layout: dict[str, Path]) -> None:
    """At the default vfs.devfs.rule_depth=1, ruleset 20 = `include 4` runs 4's rules
    but not 4's own `include 1`: nothing is hidden, refused and said why. With
    rule_depth=2 the kernel follows it, and so does the check."""
    sim = SimulatedKernel.configure(str(tmp_path / "k.json"))
    add_rulesets(sim, tmp_path / "scratch", {20: ["include 4"]})
    message = refused(FreeBSDBackend(SimulatedHostKernel(sim.path), log), sim, layout, 20)
    assert "`400 path fuse unhide` (in ruleset 4, included) comes first" in message
    assert "`100 include 1` (in ruleset 4, included)" in message
    assert "vfs.devfs.rule_depth=1" in message
    deep = SimulatedKernel.configure(str(tmp_path / "deep.json"), devfs_rule_depth=2)
    add_rulesets(deep, tmp_path / "scratch", {20: ["include 4"]})
    view = accepted(FreeBSDBackend(SimulatedHostKernel(deep.path), log), deep, layout, 20)
    assert "mem" not in view and "null" in view


def test_rule_depth_0_makes_ruleset_4_hide_nothing(tmp_path: Path, log: RecordingLog,
                                                   layout: dict[str, Path]) -> None:
    """vfs.devfs.rule_depth=0 switches includes off: ruleset 4 then only unhides."""
    sim = SimulatedKernel.configure(str(tmp_path / "k.json"), devfs_rule_depth=0)
    message = refused(FreeBSDBackend(SimulatedHostKernel(sim.path), log), sim, layout, 4)
    assert "vfs.devfs.rule_depth=0" in message


def test_include_loop_before_the_hide_all_is_refused(tmp_path: Path, log: RecordingLog,
                                                     layout: dict[str, Path]) -> None:
    """30 includes 31, which includes 30 again, before anything hides every device:
    refused with the loop spelled out, however deep the kernel follows includes."""
    sim = SimulatedKernel.configure(str(tmp_path / "k.json"), devfs_rule_depth=1000)
    scratch = tmp_path / "scratch"
    add_rulesets(sim, scratch, {30: ["path mem mode 0600"], 31: ["include 30"]})
    add_rulesets(sim, scratch, {30: ["include 31", "include 31", "include 1"]})
    message = refused(FreeBSDBackend(SimulatedHostKernel(sim.path), log), sim, layout, 30)
    assert "includes itself before any rule hides every device" in message
    assert "closes the loop 30 -> 31 -> 30" in message


def test_include_loop_after_the_hide_all_is_accepted(tmp_path: Path, log: RecordingLog,
                                                     layout: dict[str, Path]) -> None:
    """A self-include after `include 1` is never reached by the walk: accepted."""
    sim = SimulatedKernel.configure(str(tmp_path / "k.json"), devfs_rule_depth=3)
    add_rulesets(sim, tmp_path / "scratch", {32: ["include 1", "path null unhide",
                                                  "include 32"]})
    view = accepted(FreeBSDBackend(SimulatedHostKernel(sim.path), log), sim, layout, 32)
    assert "mem" not in view and "null" in view


def test_each_ruleset_is_read_once(backend: FreeBSDBackend, sim: SimulatedKernel,
                                   layout: dict[str, Path]) -> None:
    """Two devfs mounts with ruleset 4: `devfs rule show` runs once for 4 and once for
    the included 1, the rule depth is read once."""
    config = base_config(mounts=[{"destination": d, "type": "devfs", "source": "devfs",
                                  "options": ["ruleset=4"]} for d in ("/dev", "/tmp")])
    undo = MemoryUndoLog()
    state = backend.prepare(plan_of(backend, layout, config), undo)
    reads = [c for c in sim.snapshot()["calls"] if c[0].startswith("devfs_")]
    assert reads == [["devfs_ruleset_rules", 4], ["devfs_rule_depth"],
                     ["devfs_ruleset_rules", 1]]
    backend.destroy(state, undo)
    assert_clean(sim)
