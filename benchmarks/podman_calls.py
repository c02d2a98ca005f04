#!/usr/bin/env python3
"""Which runtime calls one `podman run --rm IMAGE /bin/true` makes, and how long each takes.

    .venv/bin/python -I benchmarks/podman_calls.py [--iterations 10] [--runtimes pyocijail,runc]

Runs podman 4.3 in a throw-away configuration (benchmarks/podman_env.py),
with each runtime behind a timing wrapper (`/bin/sh`, two `date` calls around
the real runtime, outside the timed interval) that logs start, end, exit code,
argv and caller (from /proc/$PPID/cmdline: conmon, podman, or the clean-up
process conmon's --exit-command starts) of every call. Prints, per runtime,
the calls of one run in order with median durations, the end-to-end median
with the wrapper, and how much of it the runtime calls account for. bench.py
measures end to end without wrappers.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import statistics
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from benchmarks.bench import RUNC, Spawner, become_subreaper, make_rootfs  # noqa: E402
from benchmarks.launcher import STYLES, write_launcher  # noqa: E402
from benchmarks.podman_env import PodmanEnv  # noqa: E402

WRAPPER = """#!/bin/sh
caller=$(tr '\\0' ' ' < /proc/$PPID/cmdline | cut -c1-300)
t0=$(date +%s%N)
{real} "$@"
rc=$?
t1=$(date +%s%N)
echo "$t0 $t1 $rc $*" >> {log}
echo "$caller" >> {log}.callers
exit $rc
"""

_ID = re.compile(r"\b[0-9a-f]{64}\b")


def shape(argv: str) -> str:
    """The call with ids and podman's per-container paths replaced by placeholders."""
    text = _ID.sub("<id>", argv)
    return re.sub(r"/\S*/(userdata|conmon-term\.\w+|exec_pid|oci-log)\S*", r"<\1>", text)


def caller(cmdline: str) -> str:
    """conmon, podman, or podman's clean-up process (conmon's --exit-command)."""
    words = cmdline.split()
    if not words:
        return "?"
    name = os.path.basename(words[0])
    if name == "podman" and "cleanup" in words:
        return "podman container cleanup"
    return name


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--iterations", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--runtimes", type=lambda s: s.split(","), default=["pyocijail", "runc"],
                   help="runc, pyocijail (with --launcher), or pyocijail-STYLE to compare "
                   "launchers in one run, e.g. pyocijail-module,pyocijail-fast,runc")
    p.add_argument("--launcher", choices=STYLES, default="fast")
    p.add_argument("--e2e-only", action="store_true",
                   help="no timing wrapper: end-to-end medians and ratios to runc only")
    a = p.parse_args(argv)
    if os.geteuid() != 0:
        print("podman_calls: needs root", file=sys.stderr)
        return 2
    become_subreaper()
    tmp = tempfile.mkdtemp(prefix="pyocijail-pcalls.")
    spawn = Spawner(tmp)
    env = PodmanEnv(os.path.join(tmp, "podman"), tmp)
    logs, wrappers, e2e = {}, {}, {}
    try:
        env.setup(make_rootfs(os.path.join(tmp, "rootfs")))
        for name in a.runtimes:
            if name == "pyocijail" or name.startswith("pyocijail-"):
                style = name.partition("-")[2] or a.launcher
                if style not in STYLES:
                    raise SystemExit(f"unknown launcher style {style}")
                real = write_launcher(os.path.join(tmp, "real"), style=style, name=name,
                                      root=os.path.join(tmp, "state"))
            elif name == "runc":
                real = RUNC
            else:
                raise SystemExit(f"unknown runtime {name}")
            e2e[name] = []
            if a.e2e_only:
                wrappers[name] = real
                continue
            logs[name] = os.path.join(tmp, f"{name}.log")
            wrappers[name] = os.path.join(tmp, "bin", name)  # podman names it after the file
            os.makedirs(os.path.dirname(wrappers[name]), exist_ok=True)
            with open(wrappers[name], "w") as f:
                f.write(WRAPPER.format(real=shlex.quote(real), log=shlex.quote(logs[name])))
            os.chmod(wrappers[name], 0o755)
        names = list(a.runtimes)
        for i in range(a.warmup + a.iterations):
            k = i % len(names)
            for name in names[k:] + names[:k]:
                if i == a.warmup and not a.e2e_only:
                    for log in (logs[name], logs[name] + ".callers"):
                        if os.path.exists(log):
                            os.unlink(log)
                ms = env.run_rm(wrappers[name], spawn)
                if i >= a.warmup:
                    e2e[name].append(ms)
        if not a.e2e_only:
            report(names, logs, e2e, a.iterations)
        print(f"\npodman run --rm true, end to end, median of {a.iterations} interleaved"
              + ("" if a.e2e_only else " (with the timing wrappers)"))
        base = statistics.median(e2e["runc"]) if "runc" in e2e else None
        for name in names:
            ms = statistics.median(e2e[name])
            print(f"  {name:18s} {ms:7.1f} ms" + (f"  {ms / base:.2f} x runc" if base else ""))
    finally:
        env.teardown(spawn)
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def report(names: list[str], logs: dict[str, str], e2e: dict[str, list[float]],
           iterations: int) -> None:
    for name in names:
        with open(logs[name]) as f:
            rows = [line.rstrip("\n").split(" ", 3) for line in f]
        with open(logs[name] + ".callers") as f:
            callers = [caller(line) for line in f]
        calls: dict[str, list[float]] = {}
        order: list[str] = []
        total = 0.0
        for (t0, t1, rc, argv), who in zip(rows, callers, strict=True):
            key = f"{who}: {shape(argv)}  (exit {rc})"
            if key not in calls:
                order.append(key)
            ms = (int(t1) - int(t0)) / 1e6
            calls.setdefault(key, []).append(ms)
            total += ms
        print(f"\n{name}: podman run --rm true, {statistics.median(e2e[name]):.1f} ms median "
              f"end to end (with the timing wrapper); runtime calls {total / iterations:.1f} ms "
              f"per run")
        for key in order:
            ms = calls[key]
            print(f"  {len(ms) / iterations:4.1f} x {statistics.median(ms):7.1f} ms  {key}")


if __name__ == "__main__":
    sys.exit(main())
