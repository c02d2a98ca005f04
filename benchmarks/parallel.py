"""Many containers at once: full cycles from parallel workers, containers per second.

podman and CI systems start containers side by side, so what matters there is how
many whole cycles (create, start, wait, delete) a runtime gets through per second
when several run at once against one state root, not one cycle's latency: locks,
the state directory and the kernel's cgroup and namespace locks are then shared.
Each runtime runs alone (the others wait), `workers` threads each doing cycles with
distinct ids, in rounds that rotate which runtime goes first.
"""

from __future__ import annotations

import os
import threading
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable


def _run(argv: list[str], env: dict[str, str], null: int) -> int:
    pid = os.posix_spawn(argv[0], argv, env, file_actions=[
        (os.POSIX_SPAWN_DUP2, null, 0), (os.POSIX_SPAWN_DUP2, null, 1),
        (os.POSIX_SPAWN_DUP2, null, 2)])
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def _wait(pid: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return
        if done:
            return
        time.sleep(0.0005)
    raise TimeoutError(f"container process {pid} did not exit")


def throughput(argv: Callable[..., list[str]], prepare: Callable[[str], str],
               env: dict[str, str], ids: list[str], workers: int) -> float:
    """Seconds for `workers` threads to run one cycle per id in `ids` (each id once).

    `argv(*args)` makes the runtime's command line; `prepare(id)` writes the
    bundle for `id` and returns its path. The caller is a subreaper: the container
    processes become its children when `create` exits, and are waited for here."""
    todo = list(ids)
    lock = threading.Lock()
    errors: list[str] = []
    null = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)

    def worker() -> None:
        while True:
            with lock:
                if not todo or errors:
                    return
                cid = todo.pop()
            try:
                bundle = prepare(cid)
                pid_file = os.path.join(bundle, "pid")
                for args in (("create", "--bundle", bundle, "--pid-file", pid_file, cid),
                             ("start", cid)):
                    if _run(argv(*args), env, null):
                        raise RuntimeError(f"{args[0]} {cid} failed")
                    if args[0] == "create":
                        with open(pid_file) as f:
                            pid = int(f.read())
                _wait(pid)
                if _run(argv("delete", cid), env, null):
                    raise RuntimeError(f"delete {cid} failed")
            except (OSError, ValueError, RuntimeError, TimeoutError) as err:
                with lock:
                    errors.append(str(err))

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    t0 = time.perf_counter()
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        os.close(null)
    elapsed = time.perf_counter() - t0
    if errors:
        raise RuntimeError(errors[0])
    return elapsed
