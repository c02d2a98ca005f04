"""`process.capabilities`: the five sets, applied around the user change.

Order (in `apply`, called by the backend's `become`):

    1. PR_CAPBSET_DROP every capability not in `bounding`   (needs CAP_SETPCAP)
    2. PR_SET_KEEPCAPS 1, then setgroups/setgid/setuid      (the caller's `change_user`)
    3. capset(effective, permitted, inheritable)
    4. PR_CAP_AMBIENT_CLEAR_ALL, then raise each ambient one

A set that is absent is empty (as runc). When `process.capabilities` itself
is absent nothing is changed, which is runc's behaviour too: the process
keeps what the user change leaves (everything for uid 0).

Unknown names (decided, as runc 1.1): a well-formed `CAP_*` name that this
table or the running kernel does not know is ignored with a warning at plan
time, so a config written for a newer kernel still runs; anything that is
not of the form `CAP_[A-Z0-9_]+` is a ConfigError.
"""

from __future__ import annotations

import ctypes
import os

from pyocijail import values
from pyocijail.backends.linux import libc
from pyocijail.errors import ConfigError, KernelError
from pyocijail.spec import model

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import Any

NAMES = ("CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID",
         "SETUID", "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST",
         "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO",
         "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE",
         "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE",
         "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM",
         "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE")
NUMBERS = {f"CAP_{name}": i for i, name in enumerate(NAMES)}
_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


def well_formed(name: str) -> bool:
    """`CAP_` and then upper-case letters, digits and `_` (without `re`, an import)."""
    return name.startswith("CAP_") and len(name) > 4 and _NAME_CHARS.issuperset(name[4:])


_CAPABILITY_VERSION_3 = 0x20080522
_NR_CAPSET = {"x86_64": 126, "aarch64": 91}
_MACHINE = os.uname().machine  # now: a LINUX32 personality would change it later

SETS = ("bounding", "effective", "inheritable", "permitted", "ambient")


@values.frozen
class CapSets:
    """Capability numbers per set (all sets present; absent in the config = empty)."""

    bounding: frozenset[int] = frozenset()
    effective: frozenset[int] = frozenset()
    inheritable: frozenset[int] = frozenset()
    permitted: frozenset[int] = frozenset()
    ambient: frozenset[int] = frozenset()


_last_cap: int | None = None


def last_cap() -> int:
    """The highest capability the running kernel knows (probed with PR_CAPBSET_READ)."""
    global _last_cap
    if _last_cap is None:
        n = 0
        while n < 64:
            try:
                libc.prctl(libc.PR_CAPBSET_READ, n + 1)
            except KernelError:
                break
            n += 1
        _last_cap = n
    return _last_cap


def parse(caps: model.Capabilities | None, warn: Callable[[str], None] | None = None
          ) -> CapSets | None:
    """Names → numbers; None when the config has no `capabilities` at all."""
    if caps is None:
        return None
    top = last_cap()
    ignored: set[str] = set()
    sets: dict[str, frozenset[int]] = {}
    for which in SETS:
        numbers = set()
        for name in getattr(caps, which) or ():
            if not well_formed(name):
                raise ConfigError(f"process.capabilities.{which}: {name!r} is not a "
                                  "capability name")
            n = NUMBERS.get(name)
            if n is None or n > top:
                ignored.add(name)
                continue
            numbers.add(n)
        sets[which] = frozenset(numbers)
    if ignored and warn is not None:
        warn(f"ignoring capabilities unknown to this kernel: {', '.join(sorted(ignored))}")
    return CapSets(**sets)


def names(numbers: Iterable[int]) -> list[str]:
    return [f"CAP_{NAMES[n]}" for n in sorted(numbers)]


class _Header(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _Data(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def _mask(numbers: frozenset[int]) -> int:
    return sum(1 << n for n in numbers)


def capset(effective: frozenset[int], permitted: frozenset[int],
           inheritable: frozenset[int]) -> None:
    header = _Header(_CAPABILITY_VERSION_3, 0)
    data = (_Data * 2)()
    for i, shift in enumerate((0, 32)):
        data[i].effective = (_mask(effective) >> shift) & 0xFFFFFFFF
        data[i].permitted = (_mask(permitted) >> shift) & 0xFFFFFFFF
        data[i].inheritable = (_mask(inheritable) >> shift) & 0xFFFFFFFF
    nr = _NR_CAPSET.get(_MACHINE)
    if nr is None:
        raise KernelError("capset", None, None, f"unsupported architecture {_MACHINE}")
    lib = libc._libc()
    if lib.syscall(ctypes.c_long(nr), ctypes.byref(header), ctypes.byref(data)) < 0:
        raise KernelError("capset", ctypes.get_errno())


def apply(sets: CapSets | None, change_user: Callable[[], None],
          warn: Callable[[str], None] = lambda msg: None) -> None:
    """Bounding set, the user change (keeping permitted caps), then the rest."""
    if sets is None:
        change_user()
        return
    for n in range(last_cap() + 1):
        if n not in sets.bounding:
            libc.prctl(libc.PR_CAPBSET_DROP, n)
    libc.prctl(libc.PR_SET_KEEPCAPS, 1)
    change_user()
    libc.prctl(libc.PR_SET_KEEPCAPS, 0)
    capset(sets.effective, sets.permitted, sets.inheritable)
    libc.prctl(libc.PR_CAP_AMBIENT, libc.PR_CAP_AMBIENT_CLEAR_ALL)
    for n in sorted(sets.ambient):
        try:
            libc.prctl(libc.PR_CAP_AMBIENT, libc.PR_CAP_AMBIENT_RAISE, n)
        except KernelError as err:
            # An ambient cap must also be permitted and inheritable (EPERM
            # otherwise). runtime-spec: a capability that cannot be granted is
            # a warning, not a failure; runc warns too (buildah relies on it:
            # it asks for ambient caps it leaves out of the inheritable set).
            warn(f"cannot raise ambient capability CAP_{NAMES[n]}: {os.strerror(err.errno or 0)}")


def to_json(sets: CapSets | None) -> dict[str, Any] | None:
    return None if sets is None else {w: names(getattr(sets, w)) for w in SETS}
