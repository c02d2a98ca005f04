"""The peak RSS of one runtime invocation, measured so that it is the runtime's own.

Why not the benchmark's own wait4: glibc's posix_spawn shares the caller's memory
(CLONE_VM) until the child execs, and at exec the kernel folds the old memory's
high-water mark into the process's `maxrss` (fs/exec.c, exec_mmap →
setmax_mm_hiwater_rss). Every process the benchmark starts therefore reports at
least the benchmark's own size (16.4 MB whatever the runtime), and fork() copies it
the same way. So the runtime is started by a small process instead: busybox's static
`sh` starts it in the background and prints its pid, then exits; the runtime is
reparented to the benchmark (a subreaper), which reaps it with wait4. Its `maxrss`
is then the larger of busybox's few hundred KiB and the runtime's own high-water
mark, plus any child it waited for itself (RUSAGE_BOTH): the invocation's cost.
"""

from __future__ import annotations

import os

BUSYBOX = "/bin/busybox"
#: start "$@" in the background with no stdio, print its pid, exit (no wait). The
#: background child waits for fd 3 to close before it execs, so it cannot finish
#: (and be reaped by sh) before sh is gone and it belongs to the benchmark.
_SCRIPT = '{ read -r _ <&3; exec 3<&-; exec "$@"; } </dev/null >/dev/null 2>&1 & echo $!'


class RssError(Exception):
    pass


def peak_rss_kib(argv: list[str], env: dict[str, str]) -> tuple[int, int]:
    """(peak RSS in KiB, exit code) of `argv`, started by a small static process.

    The caller must be a subreaper (PR_SET_CHILD_SUBREAPER), or the runtime is
    reparented to init and cannot be reaped here."""
    read, write = os.pipe()
    gate_r, gate_w = os.pipe()
    try:
        pid = os.posix_spawn(BUSYBOX, [BUSYBOX, "sh", "-c", _SCRIPT, "sh", *argv], env,
                             file_actions=[(os.POSIX_SPAWN_DUP2, write, 1),
                                           (os.POSIX_SPAWN_DUP2, gate_r, 3)])
    finally:
        os.close(write)
        os.close(gate_r)
    try:
        with os.fdopen(read, "rb") as f:
            line = f.read()
        _, status = os.waitpid(pid, 0)
    finally:
        os.close(gate_w)  # sh is gone: let the runtime start
    if os.waitstatus_to_exitcode(status) != 0 or not line.strip().isdigit():
        raise RssError(f"{BUSYBOX} sh could not start {argv[0]}")
    child = int(line)
    _, status, usage = os.wait4(child, 0)
    return usage.ru_maxrss, os.waitstatus_to_exitcode(status)
