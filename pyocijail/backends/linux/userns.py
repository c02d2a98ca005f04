"""User namespaces: checking the id mappings, and the two-stage fork of init.

Without a user namespace the runtime forks the init process directly (in a
pid namespace it enters for its children only). With one, the namespaces the
init creates must be owned by the container's user namespace, the pid
namespace included, so the fork happens in two stages:

    R  fork S (stage 1, in the host's user and pid namespaces)
    S  join the namespaces given by path (see `join`), then
       unshare(CLONE_NEWUSER)                    ── USERNS ──▶ R
                                                 R writes /proc/S/uid_map, gid_map
                                                 ◀── MAPPED ── R
       (or setns into the user namespace given by path)
       (before all this: process.rlimits, which only host root may raise)
       setgroups([]), setresgid(0), setresuid(0): root in the namespace
       unshare(CLONE_NEWPID) when the pid namespace is new
       fork I (pid 1 of the new pid namespace)   ── PID {pid} ─▶ R
       exit 0                                    R reaps S; `fork` returns I's pid

I is the container's init: the pid in state.json and in --pid-file, the
process blocked on the start barrier, the one that execs the user program.
Once S has exited, I is reparented to the caller's subreaper (conmon), as
runc's init is. The maps are written by R, root in the host's user
namespace, so `setgroups` stays allowed in the container, as with runc.
"""

from __future__ import annotations

import itertools
import os

from pyocijail.backends.linux import libc, preload
from pyocijail.backends.linux.namespaces import JOIN_ORDER, setns_all
from pyocijail.errors import ConfigError, KernelError
from pyocijail.process.sync import ERROR, MAPPED, PID, USERNS
from pyocijail.spec.model import IdMapping

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any

    from pyocijail.backends.linux.kernel import NsKernel
    from pyocijail.backends.linux.plan import LinuxPlan
    from pyocijail.process.sync import Channel
    from pyocijail.spec.model import Rlimit

    #: `fork(child)`: fork, run `child` in the child, return its pid (`process.spawn`)
    Fork = Callable[[Callable[[], None]], int]

MAX_LINES = 340  # user_namespaces(7): lines a uid_map/gid_map may hold (Linux >= 4.15)
MAX_ID = (1 << 32) - 1  # (uid_t)-1 is never a valid id


# --- plan ---------------------------------------------------------------------------

def check_mappings(kind: str, mappings: Sequence[IdMapping]) -> None:
    """What the kernel would refuse in a map write, refused with the field named."""
    field = f"linux.{kind}Mappings"
    if len(mappings) > MAX_LINES:
        raise ConfigError(f"{field}: at most {MAX_LINES} entries")
    for m in mappings:
        if m.size < 1:
            raise ConfigError(f"{field}: size must be at least 1 ({m.container_id} "
                              f"{m.host_id} {m.size})")
        for name, first in (("containerID", m.container_id), ("hostID", m.host_id)):
            if first < 0 or first + m.size > MAX_ID:
                raise ConfigError(f"{field}: {name} range {first}+{m.size} is out of range")
    for side in ("container_id", "host_id"):
        spans = sorted((getattr(m, side), getattr(m, side) + m.size) for m in mappings)
        for (_, end), (start, _) in itertools.pairwise(spans):
            if start < end:
                raise ConfigError(f"{field}: ranges overlap")


def maps_id(mappings: Sequence[IdMapping], container_id: int) -> bool:
    return any(m.container_id <= container_id < m.container_id + m.size for m in mappings)


def host_id(mappings: Sequence[IdMapping], container_id: int) -> int | None:
    for m in mappings:
        if m.container_id <= container_id < m.container_id + m.size:
            return m.host_id + container_id - m.container_id
    return None


def map_text(mappings: Sequence[IdMapping]) -> bytes:
    return "".join(f"{m.container_id} {m.host_id} {m.size}\n" for m in mappings).encode()


# --- both sides of the fork -----------------------------------------------------------

def fork_init(kernel: NsKernel, plan: LinuxPlan, child: Callable[[], None],
              first: Callable[[], None], log: Any, *, channels: tuple[Channel, Channel],
              fork: Fork, set_rlimits: Callable[[Sequence[Rlimit]], None]) -> int:
    """In R: fork S, map its user namespace, return the pid of I, which runs `child`.

    `first` runs in S before anything else (closing R-only descriptors). What
    the stages share with the rest of the runtime comes from the caller: the
    channel pair (R's end, S's end), the fork, and the rlimit setter S applies."""
    ours, theirs = channels

    def stage1() -> None:
        ours.close()
        first()
        try:
            _stage1(kernel, plan, theirs, child, fork, set_rlimits)
        except BaseException as err:  # noqa: BLE001 - report, never return into R
            try:
                theirs.send(ERROR, msg=str(err) or type(err).__name__)
            except OSError:
                pass
        os._exit(1)

    try:
        pid = fork(stage1)
    finally:
        theirs.close()
    log.debug(f"forked user namespace stage {pid}")
    try:
        if plan.new("user"):
            ours.expect(USERNS)
            write_maps(pid, plan.uid_mappings, plan.gid_mappings, log)
            ours.send(MAPPED)
        init = int(ours.expect(PID)["pid"])
    except BaseException:
        ours.close()  # S (and I, if forked) see EOF and exit
        _reap(pid)
        raise
    ours.close()
    _reap(pid)
    log.debug(f"user namespace stage {pid} forked init {init}")
    return init


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass


def write_maps(pid: int, uid_mappings: Sequence[IdMapping], gid_mappings: Sequence[IdMapping],
               log: Any) -> None:
    """In R: each map in one write(2), as the kernel requires."""
    for name, mappings in (("uid_map", uid_mappings), ("gid_map", gid_mappings)):
        path = f"/proc/{pid}/{name}"
        text = map_text(mappings)
        log.debug(f"write {path}: {text.decode().strip()!r}")
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
            try:
                os.write(fd, text)
            finally:
                os.close(fd)
        except OSError as err:
            raise KernelError("write", err.errno, path) from None


def _stage1(kernel: NsKernel, plan: LinuxPlan, chan: Channel, child: Callable[[], None],
            fork: Fork, set_rlimits: Callable[[Sequence[Rlimit]], None]) -> None:
    """In S: see the module docstring. Never returns."""
    preload.load(plan)  # while S can still read the package's files
    # While S still has the host's privileges: in the user namespace a hard limit
    # can no longer be raised (runc sets them from its parent for this reason).
    # I inherits them; the init sets them again at start, which changes nothing.
    set_rlimits(plan.rlimits)
    join(kernel, plan)
    if plan.new("user"):
        kernel.unshare(libc.CLONE_NEWUSER)
        chan.send(USERNS)
        msg = chan.recv()
        if not msg or msg.get("t") != MAPPED:
            os._exit(1)
    become_root()
    if plan.new("pid"):
        kernel.unshare(libc.CLONE_NEWPID)

    def init() -> None:
        chan.close()
        child()

    pid = fork(init)
    chan.send(PID, pid=pid)
    os._exit(0)


def join(kernel: NsKernel, plan: LinuxPlan) -> None:
    """In S: every namespace given by path (pid: for the children), user first in effect."""
    wanted = [(kind, path) for kind in JOIN_ORDER for k, path in plan.namespaces
              if k == kind and path]
    fds = []
    try:
        for kind, path in wanted:
            try:
                fds.append((kind, kernel.open(path, os.O_RDONLY | os.O_CLOEXEC), path))
            except OSError as err:
                raise KernelError(f"open {kind} namespace", err.errno, path) from None
        setns_all(kernel, fds)
    finally:
        for _, fd, _ in fds:
            kernel.close(fd)


def become_root() -> None:
    """After entering a user namespace: uid and gid 0 in it, no supplementary groups."""
    try:
        try:
            os.setgroups([])
        except PermissionError:  # a joined namespace whose setgroups is "deny"
            pass
        os.setresgid(0, 0, 0)
        os.setresuid(0, 0, 0)
    except OSError as err:
        raise KernelError("become root in the user namespace", err.errno,
                          detail=None if err.errno != 22 else
                          "uid or gid 0 is not mapped") from None
