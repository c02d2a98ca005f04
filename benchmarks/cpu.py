#!/usr/bin/env python3
"""CPU time per command: pyocijail trees and runc, interleaved, from `wait4`.

    .venv/bin/python -I benchmarks/cpu.py /tmp/base /work/wt/perf2 --iterations 40
    .venv/bin/python -I benchmarks/cpu.py . --wrap start='valgrind --tool=callgrind ...'

A count that load barely moves (issue 19: the machine is shared): for each
tree (as `ab.py` builds its launcher) and runc, per iteration and bundle, a
cycle of create, start, wait and delete, each call's user + system CPU time
from its `wait4` rusage (the runtime and every process it waited for), and
the container process's (`init`: pyocijail's init or `runc init` up to the
program's exec, then `/bin/true`; reaped here as the subreaper). The cycle is
their sum: what 8 parallel workers pay per container on 2 cores. Prints the
minimum and median per command in ms, and each tree's ratio to the first.
`--wrap OP=PREFIX` runs that command behind a prefix (strace, valgrind) once
per tree after the timed iterations, `{name}` in it replaced by the tree's
name: per-call profiles.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from benchmarks.ab import write_tree_launcher  # noqa: E402
from benchmarks.bench import (  # noqa: E402
    ENV,
    RUNC,
    Bundles,
    become_subreaper,
    reap_strays,
    remove_cgroups,
)
from pyocijail.launcher import import_paths  # noqa: E402

OPS = ("create", "start", "delete", "init", "cycle")


def cpu_ms(argv: list[str], null: int) -> float:
    """Run argv with stdio on /dev/null; its CPU time (user + system, ms)."""
    actions = [(os.POSIX_SPAWN_DUP2, null, 0), (os.POSIX_SPAWN_DUP2, null, 1),
               (os.POSIX_SPAWN_DUP2, null, 2)]
    pid = os.posix_spawn(argv[0], argv, ENV, file_actions=actions)
    _, status, usage = os.wait4(pid, 0)
    if os.waitstatus_to_exitcode(status):
        raise RuntimeError(f"{' '.join(argv)}: exit {os.waitstatus_to_exitcode(status)}")
    return (usage.ru_utime + usage.ru_stime) * 1000


def reap_ms(pid: int, timeout: float = 10.0) -> float:
    """Wait for the container's process (a child: we are its subreaper); its CPU
    time (ms): the init's setup in the container, and then the program's."""
    deadline = time.monotonic() + timeout
    while True:
        done, _, usage = os.wait4(pid, os.WNOHANG)
        if done:
            return (usage.ru_utime + usage.ru_stime) * 1000
        if time.monotonic() > deadline:
            raise RuntimeError(f"container process {pid} did not exit")
        time.sleep(0.0002)


def main(argv: list[str] | None = None) -> int:  # noqa: C901 - one walk: parse, build, run, print
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("trees", nargs="+")
    p.add_argument("--iterations", type=int, default=20)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--bundles", type=lambda s: s.split(","), default=["default"])
    p.add_argument("--no-runc", action="store_true")
    p.add_argument("--wrap", action="append", default=[], metavar="OP=PREFIX")
    a = p.parse_args(argv)
    if os.geteuid() != 0:
        print("cpu: needs root", file=sys.stderr)
        return 2
    wraps = dict(w.split("=", 1) for w in a.wrap)
    become_subreaper()
    tmp = tempfile.mkdtemp(prefix="pyocijail-cpu.")
    cg = f"pyocijail-cpu-{os.getpid()}"
    null = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
    deps = list(import_paths(sys.executable))
    argv0 = {f"t{i}": [write_tree_launcher(os.path.join(tmp, "bin"), f"t{i}", t, deps)]
             for i, t in enumerate(a.trees)}
    if not a.no_runc and os.access(RUNC, os.X_OK):
        argv0["runc"] = [RUNC]
    names = list(argv0)
    roots = {n: os.path.join(tmp, "roots", n) for n in names}
    samples: dict[tuple[str, str, str], list[float]] = {}
    counter = 0

    def call(n: str, *args: str, prefix: str = "") -> float:
        pre = shlex.split(prefix.replace("{name}", n))
        if pre:
            pre[0] = shutil.which(pre[0]) or pre[0]
        return cpu_ms([*pre, *argv0[n], "--root", roots[n], *args], null)

    try:
        bundles = Bundles(tmp, cg)
        for kind in a.bundles:
            for i in range(a.warmup + a.iterations + (1 if wraps else 0)):
                wrapped = i == a.warmup + a.iterations
                k = i % len(names)
                for n in names[k:] + names[:k]:
                    counter += 1
                    cid = f"cpu-{n}-{counter}"
                    b = bundles.prepare(kind, n, cid)
                    pid_file = os.path.join(b, "pid")
                    t = {"create": call(n, "create", "--bundle", b, "--pid-file", pid_file, cid,
                                        prefix=wraps.get("create", "") if wrapped else "")}
                    with open(pid_file) as f:
                        pid = int(f.read())
                    t["start"] = call(n, "start", cid,
                                      prefix=wraps.get("start", "") if wrapped else "")
                    t["init"] = reap_ms(pid)
                    t["delete"] = call(n, "delete", cid,
                                       prefix=wraps.get("delete", "") if wrapped else "")
                    t["cycle"] = t["create"] + t["start"] + t["init"] + t["delete"]
                    if a.warmup <= i < a.warmup + a.iterations:
                        for op, ms in t.items():
                            samples.setdefault((kind, n, op), []).append(ms)
                    reap_strays()
    finally:
        for n in names:
            try:
                ids = [i for i in os.listdir(roots[n]) if not i.startswith(".")]
            except OSError:
                ids = []
            for cid in ids:
                try:
                    call(n, "delete", "--force", cid)
                except RuntimeError:
                    pass
        reap_strays()
        remove_cgroups(cg)
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"CPU time (user + system) per call, ms, min / median of {a.iterations} "
          f"interleaved iterations; ratio of medians to t0")
    for i, t in enumerate(a.trees):
        print(f"  t{i} = {t}")
    for kind in a.bundles:
        print(f"bundle {kind}")
        for op in OPS:
            cells, meds = "", []
            for n in names:
                values = samples[(kind, n, op)]
                meds.append(statistics.median(values))
                cells += f"  {n} {min(values):6.1f} /{meds[-1]:6.1f}"
            ratios = "".join(f" {m / meds[0]:5.2f}" for m in meds[1:])
            print(f"  {op:<7}{cells}   {ratios}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
