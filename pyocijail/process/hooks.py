"""Run OCI hooks: full argv from `args`, exact `env`, state JSON on stdin.

Each hook runs in its own process group so that a timeout kills it and
everything it started. Its output is captured (the runtime's stdout is the
container's log) and quoted in the error if it fails. Stages and timing are
the lifecycle's business (runtime-spec v1.3.0 "Lifecycle"); this module only
runs a list.

Divergence from ocijail: `args` is the whole argv (argv[0] included), not
`[path] + args`, and `timeout` and the exit status are enforced.
"""

from __future__ import annotations

# `_signal`, not `signal`: the wrapper module builds enums at import (~3 ms).
import _signal
import os
import select
import time

from pyocijail import jsonlite
from pyocijail.errors import HookError
from pyocijail.failpoints import failpoint
from pyocijail.process import exechelper
from pyocijail.process.signals import reset_for_exec

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from pyocijail.backends.base import Backend

OUTPUT_LIMIT = 16384


def run_hooks(stage: str, hooks: list[dict[str, Any]], state: dict[str, Any], *,
              log: Any = None, in_child: Callable[[], None] | None = None,
              cwd: str | None = None, keep_going: bool = False,
              via: Backend | None = None) -> None:
    """Run each hook in order, in `cwd` (None: ours); a failure raises HookError.

    `keep_going` (poststop: the spec's "the remaining hooks and lifecycle
    continue") runs the rest after a failure, warns for each one on `log`,
    and raises nothing. `via`: the backend whose `execve` runs the hook (the
    init's hooks, which exec a file of the container's: on Linux through the
    exec helper, so a `#!/proc/self/exe` hook cannot run the host interpreter)."""
    payload = jsonlite.dumps(state).encode()
    for hook in hooks:
        if log is not None:
            log.debug(f"hook {stage}: {hook['path']} {hook.get('args') or [hook['path']]}")
        try:
            _run_one(stage, hook, payload, in_child, cwd, via)
        except HookError as err:
            if not keep_going:
                raise
            if log is not None:
                log.warn(str(err))


def _run_one(stage: str, hook: dict[str, Any], payload: bytes,
             in_child: Callable[[], None] | None, cwd: str | None,
             via: Backend | None = None) -> None:
    path = hook["path"]
    argv = list(hook.get("args") or [path])
    env = _env(hook.get("env") or [])
    timeout = hook.get("timeout")
    stdin_r, stdin_w = os.pipe()
    out_r, out_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the hook
        try:
            os.setpgid(0, 0)
            os.dup2(stdin_r, 0)
            os.dup2(out_w, 1)
            os.dup2(out_w, 2)
            low = 3
            for fd in sorted(via.exec_fds() if via is not None else ()):
                os.closerange(low, fd)
                low = fd + 1
            os.closerange(low, _max_fd())
            reset_for_exec()
            if cwd is not None:
                os.chdir(cwd)  # before in_child: a jail_attach then moves us to the jail's root
            if in_child is not None:
                in_child()
            if via is None:
                os.execve(path, argv, env)
            else:  # its failure record comes on the output pipe: `_quote` words it
                via.execve(path, argv, env, os.dup(1))
        except BaseException as err:  # noqa: BLE001 - must not return into the runtime
            os.write(2, f"cannot run hook: {err}\n".encode())
        os._exit(127)
    os.close(stdin_r)
    os.close(out_w)
    failpoint(f"hook.{stage}")
    _feed(stdin_w, payload)
    output, status = _wait(pid, out_r, timeout)
    output = _worded(output, path)
    if status is None:
        raise HookError(f"{stage} hook {path} timed out after {timeout}s"
                        + _quote(output))
    if status != 0:
        raise HookError(f"{stage} hook {path} failed: {_describe(status)}" + _quote(output))


def _feed(fd: int, payload: bytes) -> None:
    """Write the state; a hook that does not read stdin must not block us."""
    try:
        os.set_blocking(fd, False)
        os.write(fd, payload)
    except (BlockingIOError, BrokenPipeError):
        pass
    finally:
        os.close(fd)


def _wait(pid: int, out_r: int, timeout: int | None) -> tuple[bytes, int | None]:
    """Collect output until the hook exits; None status = killed on timeout."""
    deadline = None if timeout is None else time.monotonic() + timeout
    output = bytearray()
    open_out = True
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if deadline is not None and time.monotonic() >= deadline:
            try:
                os.killpg(pid, _signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.waitpid(pid, 0)
            os.close(out_r)
            return bytes(output), None
        wait = 0.05 if deadline is None else max(0.0, min(0.05, deadline - time.monotonic()))
        if open_out:
            ready, _, _ = select.select([out_r], [], [], wait)
            if ready:
                chunk = os.read(out_r, 65536)
                if chunk:
                    if len(output) < OUTPUT_LIMIT:
                        output += chunk[: OUTPUT_LIMIT - len(output)]
                else:
                    open_out = False
        else:
            time.sleep(min(wait, 0.005))
    os.set_blocking(out_r, False)
    try:
        while len(output) < OUTPUT_LIMIT:
            chunk = os.read(out_r, 65536)
            if not chunk:
                break
            output += chunk
    except BlockingIOError:
        pass
    os.close(out_r)
    return bytes(output), os.waitstatus_to_exitcode(status)


def _env(entries: list[str]) -> dict[str, str]:
    env = {}
    for entry in entries:
        key, _, value = entry.partition("=")
        env[key] = value
    return env


def _describe(code: int) -> str:
    return f"killed by signal {-code}" if code < 0 else f"exit status {code}"


def _worded(output: bytes, path: str) -> bytes:
    """The output with the exec helper's failure record at its end (the hook
    could not be exec'd) put in words, as a failed Python execve's."""
    failed = exechelper.failure(path, output[-exechelper.RECORD_SIZE:])
    if failed is None:
        return output
    return output[:-exechelper.RECORD_SIZE] + f"cannot run hook: {failed}".encode()


def _quote(output: bytes) -> str:
    text = output.decode("utf-8", "replace").strip()
    return f": {text[-500:]}" if text else ""


def _max_fd() -> int:
    try:
        return os.sysconf("SC_OPEN_MAX")
    except (ValueError, OSError):
        return 65536
