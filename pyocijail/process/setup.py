"""Inside the container, the last steps before the user program runs.

Imports are all at module level: after pivot_root or jail_attach the
package's files are out of reach, so nothing may be imported lazily here.

Shared by the init process (at start) and by `exec`: look up args[0] the
way the container will (PATH from `process.env`, relative to `cwd`), set
rlimits (the init at create, as runc), then `become_user`:
stdio owner → cwd → user (backend) → umask → env, and `exec_as_user`:
signals → fds → execve (cwd first as runc does, and again after the user
change if it was denied). The execve is the backend's: on Linux the exec
helper (`process.exechelper`) makes it, so an execve failure is then
reported by the helper on `keep_fd` as a record (`exechelper.failure`).
The init calls `become_user` before the start barrier; its startContainer
hooks run after it (`process/init.py`).
The wording of lookup errors is what podman maps to exit codes 126/127.
"""

from __future__ import annotations

import errno
import os
import resource
import stat

from pyocijail.errors import ConfigError, ExecutableError, KernelError
from pyocijail.process.signals import reset_for_exec
from pyocijail.process.stream import write_all

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    from pyocijail.backends.base import Backend
    from pyocijail.spec.model import Process, Rlimit


def env_dict(entries: tuple[str, ...] | list[str]) -> dict[str, str]:
    env: dict[str, str] = {}
    for entry in entries:
        key, sep, value = entry.partition("=")
        if sep:
            env[key] = value
    return env


def find_executable(process: Process) -> str:
    """The path execve will get, checked now so create can fail with the right words."""
    if not process.args or not process.args[0]:
        # An image with no command: podman sends args [""] (pkg/specgen/generate/oci.go
        # makeCommand), and a config may have no args at all. runc's words (Go's
        # exec.LookPath("")), which podman's getOCIRuntimeError maps to exit 127, as it
        # maps ocijail's "No such file or directory" from execvp("").
        raise ExecutableError('exec: "": executable file not found in $PATH')
    name = process.args[0]
    if "/" in name:
        path = name if name.startswith("/") else os.path.join(process.cwd, name)
        return _check(name, path, missing=f"stat {name}: no such file or directory")
    denied = None
    for folder in env_dict(process.env).get("PATH", "").split(":"):
        path = os.path.join(folder or ".", name)
        if not folder:
            path = os.path.join(process.cwd, name)
        try:
            return _check(name, path, missing="")
        except ExecutableError as err:
            if "permission denied" in str(err):
                denied = denied or err
    if denied:
        raise denied
    raise ExecutableError(f'exec: "{name}": executable file not found in $PATH')


def _check(name: str, path: str, missing: str) -> str:
    try:
        st = os.stat(path)
    except OSError:
        raise ExecutableError(f'exec: "{name}": {missing or "not found"}') from None
    if not stat.S_ISREG(st.st_mode) or not st.st_mode & 0o111:
        raise ExecutableError(f'exec: "{name}": permission denied')
    return path


def ensure_cwd(process: Process) -> None:
    """runc creates the init's missing cwd; a cwd that is a file is an error,
    in runc's words (`buildah run --workingdir` shows them), not makedirs'
    "File exists". (An exec's cwd is not created: `check_cwd`.)"""
    if not process.cwd.startswith("/"):
        raise ConfigError(f"process.cwd {process.cwd!r} is not absolute")
    try:
        os.makedirs(process.cwd, 0o755, exist_ok=True)
    except FileExistsError:
        raise ConfigError(f"mkdir {process.cwd}: not a directory") from None
    except OSError as err:
        raise ConfigError(f"mkdir {process.cwd}: {_reason(err)}") from None


def _reason(err: OSError) -> str:
    """The errno's text in runc's lower case (an OSError made without one: its message)."""
    return (os.strerror(err.errno) if err.errno is not None else str(err)).lower()


def check_cwd(process: Process) -> None:
    """An exec's cwd must exist: runc creates a missing cwd for the init only,
    and fails an exec into a missing directory (its words, which users see)."""
    if not process.cwd.startswith("/"):
        raise ConfigError(f"process.cwd {process.cwd!r} is not absolute")
    try:
        if stat.S_ISDIR(os.stat(process.cwd).st_mode):
            return
        reason = "not a directory"
    except OSError as err:
        reason = _reason(err)
    raise ConfigError(f'chdir to cwd ("{process.cwd}") set in config.json failed: {reason}')


#: The largest limit setrlimit can take: Python converts to a C long long, and
#: FreeBSD's rlim_t is signed with RLIM_INFINITY = 2**63 - 1.
_RLIM_MAX = 2**63 - 1


def rlimit_number(name: str) -> int | None:
    """This host's number for `name` (FreeBSD's come from its plan instead:
    `backends/freebsd/kernel.RLIMITS`, `FreeBSDBackend.apply_rlimits`)."""
    kind = getattr(resource, name, None)
    return kind if isinstance(kind, int) else None


def rlimit_value(value: int) -> int:
    """runtime-spec limits are uint64 and podman/runc write 2**64 - 1 for
    "unlimited"; any value beyond a signed 64-bit one is the host's RLIM_INFINITY."""
    return resource.RLIM_INFINITY if value > _RLIM_MAX else value


def apply_rlimits(rlimits: Sequence[Rlimit]) -> None:
    """process.rlimits; an unknown type or a refused value is an error naming the limit."""
    for rl in rlimits:
        kind = rlimit_number(rl.type)
        if kind is None:
            raise ConfigError(f"unknown rlimit {rl.type}")
        try:
            resource.setrlimit(kind, (rlimit_value(rl.soft), rlimit_value(rl.hard)))
        except OSError as err:
            raise KernelError(f"setrlimit {rl.type} ({rl.soft}, {rl.hard})",
                              err.errno) from None
        except (ValueError, OverflowError) as err:  # Python's words for EPERM; runc's
            code = errno.EPERM if "not allowed" in str(err) else None  # are EPERM's own
            raise KernelError(f"setrlimit {rl.type} ({rl.soft}, {rl.hard})", code,
                              detail=None if code else str(err)) from None


def home_for(uid: int) -> str:
    try:
        with open("/etc/passwd", encoding="utf-8", errors="replace") as f:
            for line in f:
                fields = line.rstrip("\n").split(":")
                if len(fields) >= 6 and fields[2] == str(uid):
                    return fields[5] or "/"
    except OSError:
        pass
    return "/"


def exec_process(backend: Backend, process: Process, path: str, *, preserve_fds: int,
                 keep_fd: int, announce: bytes = b"") -> None:
    """Become the user program. Never returns; raises if a step fails."""
    env = become_user(backend, process)
    exec_as_user(backend, process, path, env, preserve_fds=preserve_fds, keep_fd=keep_fd,
                 announce=announce)


def become_user(backend: Backend, process: Process) -> dict[str, str]:
    """stdio owner → cwd → user (backend: seccomp without noNewPrivileges,
    capabilities) → umask → cwd again if it was denied; returns the environment.

    Nothing here needs what `start` brings, so the init does it while it waits
    at the barrier, as runc does before its fifo."""
    env = env_dict(process.env)
    if "HOME" not in env:
        env["HOME"] = home_for(process.user.uid)
    give_stdio_to(process.user.uid)
    entered = _chdir(process.cwd, denied_ok=True)
    backend.become(process)
    if process.user.umask is not None:
        os.umask(process.user.umask)
    if not entered:
        _chdir(process.cwd)
    return env


def exec_as_user(backend: Backend, process: Process, path: str, env: dict[str, str], *,
                 preserve_fds: int, keep_fd: int, announce: bytes = b"") -> None:
    """The steps after `become_user`: signals → fds → execve. Never returns.

    `announce` is written to `keep_fd` once only closing descriptors, the
    seccomp filter and execve are left (an error after it is still reported
    on `keep_fd`). It is written while SIGPIPE is still ignored, and a reader
    that is gone does not stop the program: `start` died after handing over
    the state, and the program runs, as it would have without the word."""
    if announce:
        try:
            write_all(keep_fd, announce)
        except OSError:
            pass
    reset_for_exec()
    first_closed = 3 + preserve_fds
    kept = {keep_fd, *backend.exec_fds()}
    low = first_closed
    for fd in sorted(f for f in kept if f >= first_closed):
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, _max_fd())
    for fd in range(3, first_closed):
        if fd in kept:
            continue
        try:
            os.set_inheritable(fd, True)
        except OSError:
            pass
    backend.before_exec(process)
    try:
        backend.execve(path, list(process.args), env, keep_fd)
    except OSError as err:
        raise ExecutableError(f'exec: "{process.args[0]}": {_reason(err)}') from None


def _chdir(cwd: str, *, denied_ok: bool = False) -> bool:
    """chdir as runc does it: first before the user change, so that `--user 1000
    -w /root` starts in a directory only root may enter; if that is denied, again
    after it (a volume only the user may enter). False: denied, try again later."""
    try:
        os.chdir(cwd)
    except OSError as err:
        if denied_ok and err.errno in (errno.EACCES, errno.EPERM):
            return False
        raise KernelError(f'chdir to cwd ("{cwd}") set in config.json failed',
                          err.errno) from None
    return True


#: fchown errors that leave stdio as it is (runc's list): a gid or owner not
#: mapped in the user namespace, a read-only /dev.
_CHOWN_TOLERATED = (errno.EINVAL, errno.EPERM, errno.EROFS)


def give_stdio_to(uid: int) -> None:
    """Make fds 0-2 owned by the user the program runs as, keeping their group.

    A non-root program reopens its stdio by path (`/dev/stdout` is
    `/proc/self/fd/1`), and the kernel checks the inode's owner: the pipes,
    FIFOs and pty slave the caller or we made belong to root, mode 0600/0620,
    so `echo > /dev/stdout` failed as any other user. runc does the same,
    skipping /dev/null and what the user owns already."""
    try:
        null = os.stat("/dev/null").st_rdev
    except OSError:
        null = None
    for fd in (0, 1, 2):
        try:
            st = os.fstat(fd)
        except OSError:
            continue  # closed: nothing to give
        if st.st_uid == uid or (stat.S_ISCHR(st.st_mode) and st.st_rdev == null):
            continue
        try:
            os.fchown(fd, uid, -1)
        except OSError as err:
            if err.errno not in _CHOWN_TOLERATED:
                raise KernelError("fchown of stdio", err.errno, f"fd {fd}") from None


def _max_fd() -> int:
    try:
        return max(os.sysconf("SC_OPEN_MAX"), 1024)
    except (ValueError, OSError):
        return 65536
