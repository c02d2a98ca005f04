"""`linux.seccomp` through libseccomp (libseccomp.so.2, loaded with ctypes).

Three steps, in three places:

    check(profile, log)   runtime, at plan: every action, operator, arch and
                          flag is known; names libseccomp does not know are
                          dropped with a warning (runc does the same)
    Filter(profile)       container side, *before* pivot_root / setns: the
                          library is loaded, the filter built in memory and
                          compiled to BPF (seccomp_export_bpf)
    Filter.load()         the last step before execve (or before the user
                          change when noNewPrivileges is false, as runc does:
                          without no_new_privs, loading needs CAP_SYS_ADMIN)

Compiled programs are kept: create puts the container's in its state
directory (`seccomp.bpf`, which exec loads too), and once the container is
created a hard link in `<state root>/.seccomp-programs/<program_key>`, so
the next create with the same profile, libseccomp and kernel skips
libseccomp altogether (building podman's profile costs ~17 ms). The key is
a sha256 of everything the program depends on: the profile, libseccomp's
version and API level (what it found the kernel to support), the machine,
the kernel release and how this module builds programs (`PROGRAM_FORMAT`).
The directory is as private as the state root; at 64 programs it is emptied.

The BPF program is generated when the filter is built, not when it is
loaded: for the init process that is during create, so `start` does not wait
for libseccomp's code generation (~10 ms for podman's profile). `load` hands
the program to the kernel the way seccomp_load does (seccomp(2)
SECCOMP_SET_MODE_FILTER with the flags of `linux.seccomp.flags`, or
prctl(PR_SET_SECCOMP) where this module does not know seccomp(2)'s number and
no flag is asked for); elsewhere seccomp_load itself is used.

Like runc: a rule whose action equals the default action is skipped; an
ERRNO action without errnoRet returns EPERM; when one rule compares the same
argument more than once it becomes one rule per comparison (libseccomp cannot
AND two comparisons of one argument). libseccomp's own no_new_privs attribute
is off: the runtime sets no_new_privs itself from `process.noNewPrivileges`.

Not supported, refused at plan time: SCMP_ACT_NOTIFY / `listenerPath` and
the SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV flag (runc 1.1 has neither a
listener of ours to talk to nor that flag). runc 1.1 also rewrites the BPF
so unknown syscalls get ENOSYS; here they get the default action.
"""

from __future__ import annotations

import ctypes
import errno
import os

from pyocijail.backends.linux import libc
from pyocijail.errors import ConfigError, KernelError
from pyocijail.process.stream import write_all
from pyocijail.spec import model

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

LIBRARY = "libseccomp.so.2"

SCMP_ACT_KILL_PROCESS = 0x80000000
SCMP_ACT_KILL_THREAD = 0x00000000
SCMP_ACT_TRAP = 0x00030000
SCMP_ACT_ERRNO = 0x00050000
SCMP_ACT_TRACE = 0x7FF00000
SCMP_ACT_LOG = 0x7FFC0000
SCMP_ACT_ALLOW = 0x7FFF0000

ACTIONS = {"SCMP_ACT_KILL": SCMP_ACT_KILL_THREAD, "SCMP_ACT_KILL_THREAD": SCMP_ACT_KILL_THREAD,
           "SCMP_ACT_KILL_PROCESS": SCMP_ACT_KILL_PROCESS, "SCMP_ACT_TRAP": SCMP_ACT_TRAP,
           "SCMP_ACT_ERRNO": SCMP_ACT_ERRNO, "SCMP_ACT_TRACE": SCMP_ACT_TRACE,
           "SCMP_ACT_LOG": SCMP_ACT_LOG, "SCMP_ACT_ALLOW": SCMP_ACT_ALLOW}
OPERATORS = {"SCMP_CMP_NE": 1, "SCMP_CMP_LT": 2, "SCMP_CMP_LE": 3, "SCMP_CMP_EQ": 4,
             "SCMP_CMP_GE": 5, "SCMP_CMP_GT": 6, "SCMP_CMP_MASKED_EQ": 7}
# SCMP_ARCH_* → libseccomp's name for seccomp_arch_resolve_name
ARCHES = {"SCMP_ARCH_X86": "x86", "SCMP_ARCH_X86_64": "x86_64", "SCMP_ARCH_X32": "x32",
          "SCMP_ARCH_ARM": "arm", "SCMP_ARCH_AARCH64": "aarch64", "SCMP_ARCH_MIPS": "mips",
          "SCMP_ARCH_MIPS64": "mips64", "SCMP_ARCH_MIPS64N32": "mips64n32",
          "SCMP_ARCH_MIPSEL": "mipsel", "SCMP_ARCH_MIPSEL64": "mipsel64",
          "SCMP_ARCH_MIPSEL64N32": "mipsel64n32", "SCMP_ARCH_PPC": "ppc",
          "SCMP_ARCH_PPC64": "ppc64", "SCMP_ARCH_PPC64LE": "ppc64le", "SCMP_ARCH_S390": "s390",
          "SCMP_ARCH_S390X": "s390x", "SCMP_ARCH_PARISC": "parisc",
          "SCMP_ARCH_PARISC64": "parisc64", "SCMP_ARCH_RISCV64": "riscv64"}
# filter attributes (enum scmp_filter_attr)
_ATTR_CTL_NNP, _ATTR_CTL_TSYNC, _ATTR_CTL_LOG, _ATTR_CTL_SSB = 3, 4, 6, 7
FLAGS = {"SECCOMP_FILTER_FLAG_TSYNC": _ATTR_CTL_TSYNC, "SECCOMP_FILTER_FLAG_LOG": _ATTR_CTL_LOG,
         "SECCOMP_FILTER_FLAG_SPEC_ALLOW": _ATTR_CTL_SSB}
_NR_SCMP_ERROR = -1
# Loading a compiled program ourselves (what seccomp_load does after generating it).
_NR_SECCOMP = {"x86_64": 317, "aarch64": 277}
_SECCOMP_SET_MODE_FILTER = 1
_KERNEL_FLAGS = {"SECCOMP_FILTER_FLAG_TSYNC": 1, "SECCOMP_FILTER_FLAG_LOG": 2,
                 "SECCOMP_FILTER_FLAG_SPEC_ALLOW": 4}
_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER = 22, 2
_BPF_INSN = 8  # struct sock_filter: u16 code, u8 jt, u8 jf, u32 k
_MACHINE = os.uname().machine  # now: a LINUX32 personality would change it before load


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


class _ArgCmp(ctypes.Structure):
    _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int),
                ("datum_a", ctypes.c_uint64), ("datum_b", ctypes.c_uint64)]


class _Version(ctypes.Structure):
    _fields_ = [("major", ctypes.c_uint), ("minor", ctypes.c_uint), ("micro", ctypes.c_uint)]


PROGRAM_FILE = "seccomp.bpf"
CACHE_DIR = ".seccomp-programs"  # in the state root
CACHE_LIMIT = 64
#: part of every key: raise it when this module builds programs differently
PROGRAM_FORMAT = "1"

_lib: ctypes.CDLL | None = None


def library() -> ctypes.CDLL:
    """libseccomp, loaded once (call before pivot_root: the file is on the host)."""
    global _lib
    if _lib is None:
        try:
            lib = ctypes.CDLL(LIBRARY, use_errno=True)
        except OSError as err:
            raise ConfigError(f"linux.seccomp needs {LIBRARY} (package libseccomp2): "
                              f"{err}") from None
        lib.seccomp_init.restype = ctypes.c_void_p
        lib.seccomp_init.argtypes = [ctypes.c_uint32]
        lib.seccomp_release.argtypes = [ctypes.c_void_p]
        lib.seccomp_load.argtypes = [ctypes.c_void_p]
        lib.seccomp_export_bpf.argtypes = [ctypes.c_void_p, ctypes.c_int]
        lib.seccomp_attr_set.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_uint32]
        lib.seccomp_arch_add.argtypes = [ctypes.c_void_p, ctypes.c_uint32]
        lib.seccomp_arch_resolve_name.restype = ctypes.c_uint32
        lib.seccomp_arch_resolve_name.argtypes = [ctypes.c_char_p]
        lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
        lib.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int,
                                               ctypes.c_uint, ctypes.POINTER(_ArgCmp)]
        lib.seccomp_version.restype = ctypes.POINTER(_Version)
        lib.seccomp_api_get.restype = ctypes.c_uint
        _lib = lib
    return _lib


def action_value(name: str, errno_ret: int | None) -> int:
    base = ACTIONS[name]
    if base == SCMP_ACT_ERRNO:
        return base | ((errno.EPERM if errno_ret is None else errno_ret) & 0xFFFF)
    if base == SCMP_ACT_TRACE:
        return base | ((errno.EPERM if errno_ret is None else errno_ret) & 0xFFFF)
    return base


def _check_action(name: str, where: str) -> None:
    if name == "SCMP_ACT_NOTIFY":
        raise ConfigError(f"{where}: SCMP_ACT_NOTIFY (seccomp user notification) is not "
                          "supported")
    if name not in ACTIONS:
        raise ConfigError(f"{where}: unknown action {name!r}")


def check(profile: model.Seccomp, log: Any = None) -> model.Seccomp:
    """Validate `profile`; return it without the syscall names libseccomp does not know."""
    from pyocijail import values

    _check_action(profile.default_action, "linux.seccomp.defaultAction")
    if profile.listener_path:
        raise ConfigError("linux.seccomp.listenerPath: seccomp user notification is not "
                          "supported")
    for flag in profile.flags:
        if flag not in FLAGS:
            raise ConfigError(f"linux.seccomp.flags: {flag} is not supported")
    lib = library()
    for arch in profile.architectures:
        if arch not in ARCHES or not lib.seccomp_arch_resolve_name(ARCHES[arch].encode()):
            raise ConfigError(f"linux.seccomp.architectures: {arch} is not supported")
    rules = []
    unknown: list[str] = []
    for i, rule in enumerate(profile.syscalls):
        where = f"linux.seccomp.syscalls[{i}]"
        _check_action(rule.action, where)
        for arg in rule.args:
            if arg.op not in OPERATORS:
                raise ConfigError(f"{where}: unknown operator {arg.op!r}")
            if not 0 <= arg.index < 6:
                raise ConfigError(f"{where}: argument index {arg.index} is not 0-5")
        names = tuple(n for n in rule.names if _resolve(lib, n) != _NR_SCMP_ERROR)
        unknown += [n for n in rule.names if n not in names]
        if names:
            rules.append(values.evolve(rule, names=names))
    if unknown and log is not None:
        listed = ", ".join(sorted(set(unknown)))
        log.warn(f"seccomp: ignoring syscalls unknown to libseccomp: {listed}")
    return values.evolve(profile, syscalls=tuple(rules))


def program_key(profile: model.Seccomp) -> str | None:
    """The name the compiled program of `profile` is kept under; None when it
    cannot be kept (libseccomp loads it itself: see `Filter.load`)."""
    if not _loads_program(profile):
        return None
    from pyocijail import jsonlite
    from pyocijail.digest import sha256
    from pyocijail.spec.convert import unstructure

    lib = library()
    v = lib.seccomp_version().contents
    uname = os.uname()
    facts = (PROGRAM_FORMAT, f"{v.major}.{v.minor}.{v.micro}", str(lib.seccomp_api_get()),
             uname.machine, uname.release, jsonlite.dumps(unstructure(profile), compact=True))
    return sha256("\0".join(facts).encode()).hexdigest()


def _loads_program(profile: model.Seccomp) -> bool:
    return _MACHINE in _NR_SECCOMP or not profile.flags


def _kernel_flags(profile: model.Seccomp) -> int:
    flags = 0
    for flag in profile.flags:
        flags |= _KERNEL_FLAGS[flag]
    return flags


def _resolve(lib: ctypes.CDLL, name: str) -> int:
    return int(lib.seccomp_syscall_resolve_name(name.encode()))


class Filter:
    """A filter built and compiled in memory (container side, before pivot_root);
    `load` applies it."""

    def __init__(self, profile: model.Seccomp) -> None:
        lib = library()
        self.lib: ctypes.CDLL | None = lib  # None in a filter read back by `compiled`
        self.flags = _kernel_flags(profile)
        #: the BPF program (a ctypes buffer) and its length in instructions, once compiled
        self.program: ctypes.Array[ctypes.c_char] | None = None
        self.length = 0
        default = action_value(profile.default_action, profile.default_errno_ret)
        ctx = lib.seccomp_init(default)
        if not ctx:
            raise KernelError("seccomp_init", None, None, "failed")
        self.ctx: int | None = ctx
        try:
            self._attr(_ATTR_CTL_NNP, 0)
            for flag in profile.flags:
                self._attr(FLAGS[flag], 1)
            for arch in profile.architectures:
                token = lib.seccomp_arch_resolve_name(ARCHES[arch].encode())
                rc = lib.seccomp_arch_add(ctx, token)
                if rc < 0 and rc != -errno.EEXIST:
                    raise KernelError(f"seccomp_arch_add {arch}", -rc)
            for rule in profile.syscalls:
                action = action_value(rule.action, rule.errno_ret)
                if action == default:
                    continue
                for name in rule.names:
                    self._add(action, name, _resolve(lib, name), rule.args)
            if _loads_program(profile):
                self._compile()
        except BaseException:
            lib.seccomp_release(ctx)
            self.ctx = None
            raise
        if self.program is not None:
            lib.seccomp_release(ctx)  # the program is all `load` needs
            self.ctx = None

    @property
    def _seccomp(self) -> ctypes.CDLL:
        """libseccomp: only a filter built here calls it (`compiled` needs none)."""
        assert self.lib is not None
        return self.lib

    @classmethod
    def compiled(cls, profile: model.Seccomp, path: str) -> Filter | None:
        """The filter of `profile` from its program saved at `path`; None if there is
        none there (or it is not a whole program: then it is built again)."""
        if not _loads_program(profile):
            return None
        try:
            with open(path, "rb") as f:
                data = f.read(0xFFFF * _BPF_INSN + 1)
        except OSError:
            return None
        if not data or len(data) % _BPF_INSN or len(data) // _BPF_INSN > 0xFFFF:
            return None
        self = cls.__new__(cls)
        self.lib, self.ctx, self.flags = None, None, _kernel_flags(profile)
        self.program = ctypes.create_string_buffer(data, len(data))
        self.length = len(data) // _BPF_INSN
        return self

    def save(self, path: str) -> None:
        """Write the compiled program to `path` (atomically; nothing if not compiled)."""
        if self.program is None:
            return
        tmp = f"{path}.{os.getpid()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            write_all(fd, self.program.raw)
        finally:
            os.close(fd)
        os.rename(tmp, path)

    def _compile(self) -> None:
        """The BPF program seccomp_load would generate, through a memfd."""
        fd = os.memfd_create("pyocijail-seccomp", os.MFD_CLOEXEC)
        try:
            rc = self._seccomp.seccomp_export_bpf(self.ctx, fd)
            if rc < 0:
                raise KernelError("seccomp_export_bpf", -rc)
            size = os.fstat(fd).st_size
            data = os.pread(fd, size, 0)
        finally:
            os.close(fd)
        if not data or len(data) != size or size % _BPF_INSN or size // _BPF_INSN > 0xFFFF:
            raise KernelError("seccomp_export_bpf", None, None,
                              f"unexpected program of {size} bytes")
        self.program = ctypes.create_string_buffer(data, size)
        self.length = size // _BPF_INSN

    def _attr(self, attr: int, value: int) -> None:
        rc = self._seccomp.seccomp_attr_set(self.ctx, attr, value)
        if rc < 0:
            raise KernelError(f"seccomp_attr_set {attr}", -rc)

    def _add(self, action: int, name: str, nr: int, args: tuple[model.SeccompArg, ...]) -> None:
        if nr == _NR_SCMP_ERROR:
            return
        indexes = [a.index for a in args]
        groups = [list(args)] if len(set(indexes)) == len(indexes) else [[a] for a in args]
        for group in groups:
            cmps = (_ArgCmp * max(len(group), 1))()
            for i, a in enumerate(group):
                cmps[i] = _ArgCmp(a.index, OPERATORS[a.op], a.value, a.value_two or 0)
            rc = self._seccomp.seccomp_rule_add_array(self.ctx, action, nr, len(group), cmps)
            if rc < 0:
                raise KernelError(f"seccomp rule for {name}", -rc)

    def load(self) -> None:
        if self.program is None:
            rc = self._seccomp.seccomp_load(self.ctx)
            if rc < 0:
                raise KernelError("seccomp_load", -rc)
            return
        prog = _SockFprog(self.length, ctypes.addressof(self.program))
        lib = libc._libc()
        nr = _NR_SECCOMP.get(_MACHINE)
        if nr is not None:
            rc = lib.syscall(ctypes.c_long(nr), ctypes.c_uint(_SECCOMP_SET_MODE_FILTER),
                             ctypes.c_uint(self.flags), ctypes.byref(prog))
        else:  # no flags (checked before compiling)
            rc = lib.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.addressof(prog), 0, 0)
        if rc < 0:
            raise KernelError("seccomp_load", ctypes.get_errno())
        if rc > 0:  # TSYNC: the id of a thread that could not be synchronised
            raise KernelError("seccomp_load", errno.ESRCH, None,
                              f"thread {rc} could not be synchronised")
