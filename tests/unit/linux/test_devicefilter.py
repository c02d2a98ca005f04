"""The cgroup v2 device program: rule parsing, instruction encoding, and what it decides.

`run` below is a small interpreter for the instructions the compiler emits;
it lets the compiled program be compared with `decide` (the rules' meaning
written plainly) without a kernel. The kernel's verifier and the real effect
are checked in tests/integration/linux/test_devicefilter.py.
"""

from __future__ import annotations

import json
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyocijail.backends.linux import devicefilter as df
from pyocijail.backends.linux import resources
from pyocijail.backends.linux.cgroups import Cgroup
from pyocijail.backends.linux.devicefilter import Insn, Rule
from pyocijail.errors import ConfigError
from pyocijail.spec import model

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures")
PROLOGUE = ("6112000000000000 6114040000000000 6115080000000000 bc23000000000000 "
            "7403000010000000 54020000ffff0000")
MASK = (1 << 64) - 1


def hexes(insns):
    return [i.encode().hex() for i in insns]


def _sext(imm):
    return imm & MASK  # imm is s32; as a 64-bit operand it is sign-extended


def run(insns, dev_type, major, minor, access):
    """Execute the program on a bpf_cgroup_dev_ctx; returns r0."""
    ctx = {0: (access << 16) | dev_type, 4: major, 8: minor}
    reg = [0] * 11
    reg[1] = "ctx"
    pc = 0
    for _ in range(10_000):
        i = insns[pc]
        pc += 1
        if i.code == df.LDX_MEM_W:
            assert reg[i.src] == "ctx"
            reg[i.dst] = ctx[i.off]
        elif i.code == df.MOV32_X:
            reg[i.dst] = reg[i.src] & 0xFFFFFFFF
        elif i.code == df.RSH32_K:
            reg[i.dst] = (reg[i.dst] & 0xFFFFFFFF) >> i.imm
        elif i.code == df.AND32_K:
            reg[i.dst] = reg[i.dst] & i.imm & 0xFFFFFFFF
        elif i.code == df.MOV64_K:
            reg[i.dst] = _sext(i.imm)
        elif i.code == df.JA:
            pc += i.off
        elif i.code == df.JNE_K:
            pc += i.off if reg[i.dst] != _sext(i.imm) else 0
        elif i.code == df.JSET_K:
            pc += i.off if reg[i.dst] & _sext(i.imm) else 0
        elif i.code == df.EXIT:
            return reg[0]
        else:
            raise AssertionError(f"unknown opcode {i.code:#x}")
    raise AssertionError("no exit")


def reachable(insns):
    """Indexes reachable from 0 (the verifier refuses a program with any other)."""
    seen, todo = set(), [0]
    while todo:
        pc = todo.pop()
        if pc in seen:
            continue
        seen.add(pc)
        i = insns[pc]
        if i.code == df.EXIT:
            continue
        if i.code == df.JA:
            todo.append(pc + 1 + i.off)
            continue
        todo.append(pc + 1)
        if i.code in (df.JNE_K, df.JSET_K):
            todo.append(pc + 1 + i.off)
    return seen


def test_instruction_layout():
    """struct bpf_insn: opcode, dst in the low nibble and src in the high one, s16 off, s32 imm."""
    assert Insn(df.LDX_MEM_W, dst=2, src=1, off=4).encode() == bytes.fromhex("6112040000000000")
    assert Insn(df.JNE_K, dst=5, off=-2, imm=-1).encode() == bytes.fromhex("5505feffffffffff")
    assert Insn(df.MOV64_K, imm=1).encode() == bytes.fromhex("b700000001000000")
    assert Insn(df.EXIT).encode() == bytes.fromhex("9500000000000000")


def test_one_allow_rule_compiles_to_one_section():
    """allow c 1:3 r: the read section tests type, major, minor; no deny block is emitted."""
    insns = df.compile_rules(df.parse([(True, "c 1:3 r")]))
    assert hexes(insns) == [*PROLOGUE.split(),
        "4503010002000000",  # if access & READ: skip the next
        "0500040000000000",  # ja done
        "5502030002000000",  # if type != CHAR: next rule (= done)
        "5504020001000000",  # if major != 1: next rule
        "5505010003000000",  # if minor != 3: next rule
        "0500000000000000",  # allow: ja done
        "b700000001000000", "9500000000000000",  # done: return 1
    ]


def test_deny_all_compiles_to_three_jumps_to_deny():
    """deny a: each access bit's section jumps straight to the shared "return 0"."""
    insns = df.compile_rules(df.parse([(False, "a")]))
    assert hexes(insns) == [*PROLOGUE.split(),
        "4503010001000000", "0500010000000000", "0500080000000000",  # m: ja deny (+8)
        "4503010002000000", "0500010000000000", "0500050000000000",  # r
        "4503010004000000", "0500010000000000", "0500020000000000",  # w
        "b700000001000000", "9500000000000000",  # return 1 (a request with no bit)
        "b700000000000000", "9500000000000000",  # deny: return 0
    ]


def test_rules_before_a_match_all_rule_are_not_emitted():
    """Rules a later "a" rule hides never decide, so they leave no (unreachable) code."""
    hidden = df.parse([(True, "c 1:3 rwm"), (True, "b 8:* r"), (False, "a")])
    assert df.compile_rules(hidden) == df.compile_rules(df.parse([(False, "a")]))


def test_no_rules_allow_everything():
    """An empty list decides nothing: the program returns 1."""
    insns = df.compile_rules([])
    assert hexes(insns) == [*PROLOGUE.split(), "b700000001000000", "9500000000000000"]


@pytest.mark.parametrize("text, rule", [
    ("a", Rule(True, "a", None, None, "rwm")),
    ("c 1:3 rwm", Rule(True, "c", 1, 3, "rwm")),
    ("c *:* m", Rule(True, "c", None, None, "m")),
    ("b 8:-1 r", Rule(True, "b", 8, None, "r")),
])
def test_parse_reads_what_device_rules_writes(text, rule):
    """"*" and -1 are wildcards (None)."""
    assert df.parse([(True, text)]) == [rule]


@pytest.mark.parametrize("text", ["x 1:3 r", "c 1:3 rx", "c 1:3", "c 2147483648:0 r",
                                  "c one:3 r"])
def test_parse_refuses_bad_rules(text):
    """Unknown types and access letters, missing fields, numbers beyond s32."""
    with pytest.raises(ConfigError):
        df.parse([(True, text)])


def test_each_access_bit_is_decided_by_the_last_rule_naming_it():
    """After deny-all, "allow w" then "allow r" let read-write through; "deny w" later stops it."""
    rules = df.parse([(False, "a"), (True, "c 1:3 w"), (True, "c 1:3 r")])
    assert df.decide(rules, "c", 1, 3, "rw") and not df.decide(rules, "c", 1, 3, "m")
    rules.append(Rule(False, "c", 1, None, "w"))
    assert df.decide(rules, "c", 1, 3, "r") and not df.decide(rules, "c", 1, 3, "rw")
    for access in ("r", "rw", "w", "m"):
        code = sum(bit for letter, bit in df.ACCESS_BITS if letter in access)
        assert run(df.compile_rules(rules), df.DEV_CHAR, 1, 3, code) == df.decide(
            rules, "c", 1, 3, access)


_rule = st.builds(Rule, st.booleans(), st.sampled_from("abc"),
                  st.one_of(st.none(), st.integers(0, 3)), st.one_of(st.none(), st.integers(0, 3)),
                  st.sampled_from(["r", "w", "m", "rw", "rm", "wm", "rwm"]))


@settings(max_examples=300, deadline=None)
@given(st.lists(_rule, max_size=8), st.sampled_from("bc"), st.integers(0, 3),
       st.integers(0, 3), st.sampled_from(["r", "w", "m", "rw"]))
def test_compiled_program_answers_as_decide(rules, dev_type, major, minor, access):
    """For any rule list and request, the program returns decide()'s answer, and every
    instruction is reachable."""
    insns = df.compile_rules(rules)
    assert reachable(insns) == set(range(len(insns)))
    code = sum(bit for letter, bit in df.ACCESS_BITS if letter in access)
    assert run(insns, df.TYPES[dev_type], major, minor, code) == int(
        df.decide(rules, dev_type, major, minor, access))


def test_podman_rules_with_runcs_defaults():
    """podman 4.3's deny-all plus the backend's defaults: the usual devices, mknod of any
    char or block device, and nothing else."""
    with open(os.path.join(FIXTURES, "podman", "config.json")) as f:
        spec = json.load(f)
    devs = tuple(model.DeviceRule(**{k: v for k, v in d.items()})
                 for d in spec["linux"]["resources"]["devices"])
    rules = df.parse(resources.device_rules(devs, ()))
    insns = df.compile_rules(rules)
    allowed = [("c", 1, 3, "rw"), ("c", 1, 5, "r"), ("c", 1, 9, "r"), ("c", 5, 0, "rw"),
               ("c", 136, 4, "rw"), ("c", 5, 2, "rw"), ("c", 1, 1, "m"), ("b", 8, 0, "m")]
    denied = [("c", 1, 1, "r"), ("b", 8, 0, "r"), ("c", 10, 229, "rw"), ("c", 4, 0, "w")]
    for dev_type, major, minor, access in allowed + denied:
        code = sum(bit for letter, bit in df.ACCESS_BITS if letter in access)
        got = run(insns, df.TYPES[dev_type], major, minor, code)
        assert got == ((dev_type, major, minor, access) in allowed), (dev_type, major, minor)


HYBRID = [Cgroup("/cg/devices/x", 1, ("devices",), "/cg/devices"),
          Cgroup("/cg/unified/x", 2, (), "/cg/unified")]


def test_hybrid_host_uses_v1_devices_unless_bpf_is_forced(monkeypatch):
    """v1 devices.allow/deny on a hybrid host; PYOCIJAIL_DEVICE_FILTER=bpf moves the rules
    to the unified directory's eBPF program."""
    res = model.Resources(devices=(model.DeviceRule(allow=False),))
    monkeypatch.delenv(resources.DEVICE_FILTER_ENV, raising=False)
    assert resources.writes(res, HYBRID)[0] == ("/cg/devices/x", "devices.deny", "a")
    assert resources.device_filter(res, HYBRID) is None
    monkeypatch.setenv(resources.DEVICE_FILTER_ENV, "bpf")
    assert resources.writes(res, HYBRID) == []
    assert resources.device_filter(res, HYBRID)[0] == "/cg/unified/x"
    monkeypatch.setenv(resources.DEVICE_FILTER_ENV, "ebpf")
    with pytest.raises(ConfigError, match="PYOCIJAIL_DEVICE_FILTER"):
        resources.writes(res, HYBRID)


def test_update_on_v2_rebuilds_with_the_stored_tail():
    """update's rules: the new config rules, then the defaults and linux.devices from create."""
    groups = [Cgroup("/cg/x", 2, (), "/cg")]
    res = model.Resources(devices=(model.DeviceRule(allow=False),))
    tail = [(True, "c 10:229 rwm")]
    assert resources.writes(res, groups, update=True) == []
    assert resources.device_filter(res, groups, tail=tail) == (
        "/cg/x", ((False, "a"), (True, "c 10:229 rwm")))
