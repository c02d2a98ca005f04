"""Device rules on cgroup v2: an eBPF program of type BPF_PROG_TYPE_CGROUP_DEVICE.

cgroup2 has no devices controller. Instead, on every open of a device node
and every mknod, the kernel runs each BPF_CGROUP_DEVICE program attached to
the process's cgroup and to its ancestors, and refuses with EPERM unless all
of them return 1. This module compiles `linux.resources.devices` (as
`resources.device_rules` orders them: the config's rules, runc's default
allow list, an allow for each `linux.devices` entry) into such a program,
loads it and attaches it to the container's cgroup2 directory.

What the program decides (the effect the same rules have as a sequence of
writes to a v1 cgroup's devices.allow / devices.deny):

- For each access the request asks for (m = mknod, r = read, w = write;
  opening read-write asks for both r and w), the LAST rule that names that
  access and matches the device decides it. A rule matches on its type
  ("a" = block and char), major and minor; a missing or -1 number matches
  any. The request passes when every access it asks for passes.
- An access no rule decides passes: a new v1 devices cgroup starts from its
  parent's "a *:* rwm", and the programs of the ancestor cgroups still
  apply. Every client (podman, containerd, `pyocijail spec`) begins the list
  with a deny-all rule, after which nothing is left undecided.
- A config rule of type "a" reaches this module as "a": every device, every
  access, whatever its numbers and access say (`resources.device_rules`
  writes it so for v1, whose kernel reads any "a" rule that way). A Rule of
  type "a" with numbers, built directly, is compiled as written.

The program reads struct bpf_cgroup_dev_ctx {u32 access_type; u32 major;
u32 minor} (access_type = access << 16 | type) into r2 = type, r3 = access,
r4 = major, r5 = minor, then has one section per access bit: skipped when
the request lacks the bit, else the rules from last to first, each a few
"jne" tests that jump to the next rule, then "allow: to the section's end"
or "deny: return 0". It ends with "return 1". Rules that a match-everything
rule hides are not emitted: the verifier refuses unreachable instructions.

Life of the program: BPF_PROG_LOAD gives an fd; BPF_PROG_ATTACH with
BPF_F_ALLOW_MULTI to an fd of the cgroup directory takes a reference, so
both fds are closed at once and the filter stays after the runtime exits,
until the cgroup is removed. `install` on a cgroup that already has our
program (named PROG_NAME; `update`) attaches the new one, then detaches the
old ones: meanwhile both run and both must allow, never less strict.

Facts from the kernel's uapi <linux/bpf.h> and Documentation/bpf.
"""

from __future__ import annotations

import ctypes
import errno
import os
import struct
from typing import Any, NamedTuple

from pyocijail.backends.linux import libc
from pyocijail.errors import ConfigError, KernelError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

# --- bpf(2) commands, types, flags (enum bpf_cmd, bpf_prog_type, bpf_attach_type) --------
BPF_PROG_LOAD = 5
BPF_PROG_ATTACH = 8
BPF_PROG_DETACH = 9
BPF_PROG_GET_FD_BY_ID = 13
BPF_OBJ_GET_INFO_BY_FD = 15
BPF_PROG_QUERY = 16
BPF_PROG_TYPE_CGROUP_DEVICE = 15
BPF_CGROUP_DEVICE = 6
BPF_F_ALLOW_MULTI = 1 << 1

# struct bpf_cgroup_dev_ctx
DEV_BLOCK = 1  # BPF_DEVCG_DEV_BLOCK
DEV_CHAR = 2  # BPF_DEVCG_DEV_CHAR
ACC_MKNOD = 1  # BPF_DEVCG_ACC_MKNOD
ACC_READ = 2  # BPF_DEVCG_ACC_READ
ACC_WRITE = 4  # BPF_DEVCG_ACC_WRITE
ACCESS_BITS = (("m", ACC_MKNOD), ("r", ACC_READ), ("w", ACC_WRITE))
TYPES = {"b": DEV_BLOCK, "c": DEV_CHAR}

# --- instruction encoding: opcode = operation | source | class --------------------------
LDX_MEM_W = 0x61  # BPF_LDX | BPF_MEM | BPF_W:  dst = *(u32 *)(src + off)
MOV32_X = 0xBC  # BPF_ALU | BPF_MOV | BPF_X:  dst = (u32) src
RSH32_K = 0x74  # BPF_ALU | BPF_RSH | BPF_K:  dst = (u32) dst >> imm
AND32_K = 0x54  # BPF_ALU | BPF_AND | BPF_K:  dst = (u32) dst & imm
MOV64_K = 0xB7  # BPF_ALU64 | BPF_MOV | BPF_K:  dst = imm
JA = 0x05  # BPF_JMP | BPF_JA:  pc += off
JNE_K = 0x55  # BPF_JMP | BPF_JNE | BPF_K:  if dst != imm: pc += off
JSET_K = 0x45  # BPF_JMP | BPF_JSET | BPF_K:  if dst & imm: pc += off
EXIT = 0x95  # BPF_JMP | BPF_EXIT:  return r0
R0, R1, R2, R3, R4, R5 = range(6)

PROG_NAME = b"pyocijail_dev"  # BPF_OBJ_NAME_LEN 16: [A-Za-z0-9_.], NUL-terminated
LICENSE = b"BSD-2-Clause"  # no GPL-only helper is called: any license string loads
LOG_SIZE = 1 << 16
_MAX_NUMBER = 0x7FFFFFFF  # an imm is s32, sign-extended; the loaded values are u32


class Insn(NamedTuple):
    """struct bpf_insn: u8 code; u8 dst_reg:4, src_reg:4; s16 off; s32 imm."""

    code: int
    dst: int = 0
    src: int = 0
    off: int = 0
    imm: int = 0

    def encode(self) -> bytes:
        # Little-endian (x86_64, aarch64): dst_reg is the low nibble of byte 1.
        return struct.pack("<BBhi", self.code, (self.src << 4) | self.dst, self.off, self.imm)


class Rule(NamedTuple):
    allow: bool
    type: str  # "a", "b" or "c"
    major: int | None  # None: any
    minor: int | None
    access: str  # a non-empty subset of "rwm"

    def __str__(self) -> str:
        def num(n: int | None) -> str:
            return "*" if n is None else str(n)

        return (f"{'allow' if self.allow else 'deny'} {self.type} "
                f"{num(self.major)}:{num(self.minor)} {self.access}")


def parse(pairs: Iterable[tuple[bool, str]]) -> list[Rule]:
    """`resources.device_rules` output ("c 1:3 rwm", "a") → Rules."""
    rules = []
    for allow, text in pairs:
        words = text.split()
        if words == ["a"]:
            rules.append(Rule(allow, "a", None, None, "rwm"))
            continue
        if len(words) != 3 or words[0] not in ("a", "b", "c") or ":" not in words[1]:
            raise ConfigError(f"linux.resources.devices: cannot read rule {text!r}")
        major, minor = (None if n == "*" else _number(n) for n in words[1].split(":", 1))
        access = words[2]
        if not access or set(access) - set("rwm"):
            raise ConfigError(f"linux.resources.devices: bad access {access!r}")
        rules.append(Rule(allow, words[0], major, minor, access))
    return rules


def _number(text: str) -> int | None:
    try:
        n = int(text)
    except ValueError:
        raise ConfigError(f"linux.resources.devices: bad device number {text!r}") from None
    if n < 0:
        return None
    if n > _MAX_NUMBER:
        raise ConfigError(f"linux.resources.devices: device number {n} is too large")
    return n


def decide(rules: Sequence[Rule], dev_type: str, major: int, minor: int, access: str) -> bool:
    """What the compiled program answers, written plainly (for tests and debugging)."""
    for letter in access:
        for rule in reversed(rules):
            if letter in rule.access and _matches(rule, dev_type, major, minor):
                if not rule.allow:
                    return False
                break
    return True


def _matches(rule: Rule, dev_type: str, major: int, minor: int) -> bool:
    return ((rule.type == "a" or rule.type == dev_type)
            and rule.major in (None, major) and rule.minor in (None, minor))


# --- compiling ------------------------------------------------------------------------------

class _Assembler:
    def __init__(self) -> None:
        self.code: list[Insn] = []
        self.labels: dict[str, int] = {}
        self.fixups: list[tuple[int, str]] = []

    def emit(self, code: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0,
             to: str | None = None) -> None:
        if to is not None:
            self.fixups.append((len(self.code), to))
        self.code.append(Insn(code, dst, src, off, imm))

    def label(self, name: str) -> None:
        self.labels[name] = len(self.code)

    def finish(self) -> tuple[Insn, ...]:
        code = list(self.code)
        for pc, name in self.fixups:
            code[pc] = code[pc]._replace(off=self.labels[name] - pc - 1)
        return tuple(code)


def compile_rules(rules: Sequence[Rule]) -> tuple[Insn, ...]:
    """The program for `rules` (see the module's docstring for what it decides)."""
    asm = _Assembler()
    asm.emit(LDX_MEM_W, R2, R1, 0)  # access_type
    asm.emit(LDX_MEM_W, R4, R1, 4)  # major
    asm.emit(LDX_MEM_W, R5, R1, 8)  # minor
    asm.emit(MOV32_X, R3, R2)
    asm.emit(RSH32_K, R3, imm=16)  # r3 = access
    asm.emit(AND32_K, R2, imm=0xFFFF)  # r2 = type
    denies = False
    for letter, bit in ACCESS_BITS:
        naming = [r for r in reversed(rules) if letter in r.access]
        if not naming:
            continue  # nothing decides this access: it passes
        done = f"{letter}.done"
        asm.emit(JSET_K, R3, off=1, imm=bit)
        asm.emit(JA, to=done)
        for i, rule in enumerate(naming):
            following = f"{letter}.{i}"
            tests = []
            if rule.type != "a":
                tests.append((R2, TYPES[rule.type]))
            if rule.major is not None:
                tests.append((R4, rule.major))
            if rule.minor is not None:
                tests.append((R5, rule.minor))
            for reg, value in tests:
                asm.emit(JNE_K, reg, imm=value, to=following)
            if rule.allow:
                asm.emit(JA, to=done)
            else:
                asm.emit(JA, to="deny")
                denies = True
            asm.label(following)
            if not tests:
                break  # matches everything: the rules before it never decide this bit
        asm.label(done)
    asm.emit(MOV64_K, R0, imm=1)
    asm.emit(EXIT)
    if denies:
        asm.label("deny")
        asm.emit(MOV64_K, R0, imm=0)
        asm.emit(EXIT)
    return asm.finish()


def encode(insns: Sequence[Insn]) -> bytes:
    return b"".join(i.encode() for i in insns)


# --- the kernel -----------------------------------------------------------------------------

_u32, _u64 = ctypes.c_uint32, ctypes.c_uint64


class _LoadAttr(ctypes.Structure):
    _fields_ = [("prog_type", _u32), ("insn_cnt", _u32), ("insns", _u64), ("license", _u64),
                ("log_level", _u32), ("log_size", _u32), ("log_buf", _u64),
                ("kern_version", _u32), ("prog_flags", _u32), ("prog_name", ctypes.c_char * 16),
                ("prog_ifindex", _u32), ("expected_attach_type", _u32)]


class _AttachAttr(ctypes.Structure):
    _fields_ = [("target_fd", _u32), ("attach_bpf_fd", _u32), ("attach_type", _u32),
                ("attach_flags", _u32), ("replace_bpf_fd", _u32)]


class _QueryAttr(ctypes.Structure):
    _fields_ = [("target_fd", _u32), ("attach_type", _u32), ("query_flags", _u32),
                ("attach_flags", _u32), ("prog_ids", _u64), ("prog_cnt", _u32),
                ("_pad", _u32)]


class _GetFdAttr(ctypes.Structure):
    _fields_ = [("prog_id", _u32), ("next_id", _u32), ("open_flags", _u32)]


class _InfoAttr(ctypes.Structure):
    _fields_ = [("bpf_fd", _u32), ("info_len", _u32), ("info", _u64)]


class _ProgInfo(ctypes.Structure):  # the head of struct bpf_prog_info
    _fields_ = [("type", _u32), ("id", _u32), ("tag", ctypes.c_uint8 * 8),
                ("jited_prog_len", _u32), ("xlated_prog_len", _u32),
                ("jited_prog_insns", _u64), ("xlated_prog_insns", _u64), ("load_time", _u64),
                ("created_by_uid", _u32), ("nr_map_ids", _u32), ("map_ids", _u64),
                ("name", ctypes.c_char * 16)]


def load(insns: Sequence[Insn]) -> int:
    """BPF_PROG_LOAD → the program's fd. A refusal by the verifier is reported with
    the end of its log (asked for on a second try, as the log costs time)."""
    code = ctypes.create_string_buffer(encode(insns), len(insns) * 8)
    lic = ctypes.create_string_buffer(LICENSE)
    attr = _LoadAttr(prog_type=BPF_PROG_TYPE_CGROUP_DEVICE, insn_cnt=len(insns),
                     insns=ctypes.addressof(code), license=ctypes.addressof(lic),
                     prog_name=PROG_NAME)
    try:
        return libc.bpf(BPF_PROG_LOAD, attr, "load cgroup device filter (eBPF)")
    except KernelError as err:
        if err.errno == errno.EPERM:  # not privileged: the log would not say more
            raise KernelError("load cgroup device filter (eBPF)", err.errno, None,
                              f"{os.strerror(err.errno)} (needs CAP_SYS_ADMIN or CAP_BPF)"
                              ) from None
    log = ctypes.create_string_buffer(LOG_SIZE)
    attr.log_level, attr.log_size, attr.log_buf = 1, LOG_SIZE, ctypes.addressof(log)
    try:
        return libc.bpf(BPF_PROG_LOAD, attr, "load cgroup device filter (eBPF)")
    except KernelError as err:
        lines = log.value.decode(errors="replace").strip().splitlines()[-4:]
        detail = os.strerror(err.errno or 0)
        if lines:
            detail += "; verifier: " + " | ".join(lines)
        raise KernelError("load cgroup device filter (eBPF)", err.errno, None, detail
                          ) from None


def attached(dirfd: int, path: str | None = None) -> list[int]:
    """The ids of the device programs attached directly to the cgroup."""
    capacity = 16
    while True:
        ids = (_u32 * capacity)()
        attr = _QueryAttr(target_fd=dirfd, attach_type=BPF_CGROUP_DEVICE,
                          prog_ids=ctypes.addressof(ids), prog_cnt=capacity)
        try:
            libc.bpf(BPF_PROG_QUERY, attr, "query cgroup device programs", path)
        except KernelError as err:
            if err.errno == errno.ENOSPC and attr.prog_cnt > capacity:  # the count is set
                capacity = attr.prog_cnt
                continue
            raise
        return list(ids[:attr.prog_cnt])


def program_fd(prog_id: int) -> int:
    return libc.bpf(BPF_PROG_GET_FD_BY_ID, _GetFdAttr(prog_id=prog_id),
                    f"open eBPF program {prog_id}")


def program_name(fd: int) -> bytes:
    info = _ProgInfo()
    libc.bpf(BPF_OBJ_GET_INFO_BY_FD, _InfoAttr(bpf_fd=fd, info_len=ctypes.sizeof(info),
                                               info=ctypes.addressof(info)),
             "read eBPF program info")
    return bytes(info.name)


def programs(cgroup_dir: str) -> list[tuple[int, bytes]]:
    """(id, name) of every device program attached to `cgroup_dir` itself."""
    dirfd = _open_dir(cgroup_dir)
    try:
        result = []
        for prog_id in attached(dirfd, cgroup_dir):
            fd = program_fd(prog_id)
            try:
                result.append((prog_id, program_name(fd)))
            finally:
                os.close(fd)
        return result
    finally:
        os.close(dirfd)


def attach(dirfd: int, prog_fd: int, path: str | None = None) -> None:
    libc.bpf(BPF_PROG_ATTACH, _AttachAttr(target_fd=dirfd, attach_bpf_fd=prog_fd,
                                          attach_type=BPF_CGROUP_DEVICE,
                                          attach_flags=BPF_F_ALLOW_MULTI),
             "attach cgroup device filter (eBPF) to", path)


def detach(dirfd: int, prog_fd: int, path: str | None = None) -> None:
    libc.bpf(BPF_PROG_DETACH, _AttachAttr(target_fd=dirfd, attach_bpf_fd=prog_fd,
                                          attach_type=BPF_CGROUP_DEVICE),
             "detach cgroup device filter (eBPF) from", path)


def _open_dir(path: str) -> int:
    try:
        return os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as err:
        raise KernelError("open cgroup", err.errno, path) from None


def install(cgroup_dir: str, rules: Sequence[Rule], log: Any = None) -> int:
    """Attach the program for `rules` to the cgroup2 directory, replacing ours if
    one is there already; returns the new program's id."""
    insns = compile_rules(rules)
    if log is not None:
        log.debug(f"cgroup {cgroup_dir}: device filter of {len(rules)} rules, "
                  f"{len(insns)} eBPF instructions")
    prog = load(insns)
    try:
        dirfd = _open_dir(cgroup_dir)
        try:
            old = []
            try:
                for prog_id in attached(dirfd, cgroup_dir):
                    fd = program_fd(prog_id)
                    old.append(fd)
                    if program_name(fd).rstrip(b"\0") != PROG_NAME:
                        old.pop()
                        os.close(fd)
                attach(dirfd, prog, cgroup_dir)
                for fd in old:
                    detach(dirfd, fd, cgroup_dir)
            finally:
                for fd in old:
                    os.close(fd)
        finally:
            os.close(dirfd)
        info = _ProgInfo()
        libc.bpf(BPF_OBJ_GET_INFO_BY_FD, _InfoAttr(bpf_fd=prog, info_len=ctypes.sizeof(info),
                                                   info=ctypes.addressof(info)),
                 "read eBPF program info")
        return int(info.id)
    finally:
        os.close(prog)
