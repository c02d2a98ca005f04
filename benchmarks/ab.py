#!/usr/bin/env python3
"""A/B: two (or more) pyocijail source trees, interleaved, same run, same bundles.

    .venv/bin/python -I benchmarks/ab.py /tmp/base /work/wt/perf2     # medians, ms
    .venv/bin/python -I benchmarks/ab.py --iterations 30 --bundles default A B

Each tree is a directory that holds the `pyocijail` package (a checkout, or
`git archive` of a commit unpacked somewhere). All trees run with this
interpreter and the run-time dependencies of its environment, through the
launcher form of `bench.py`, each written by the tree's own
`pyocijail/launcher.py` (a launcher change is measured too), each with its
own `--root`. Per iteration and bundle: a full cycle (create, start, wait,
delete), a foreground `run` and an `exec --detach` into a running sleeper;
the order of the trees rotates every iteration. Prints medians, and the
ratio of every tree to the first one.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from benchmarks.bench import (  # noqa: E402
    Bundles,
    Spawner,
    become_subreaper,
    reap_strays,
    remove_cgroups,
    wait_pid,
)
from pyocijail.launcher import import_paths  # noqa: E402

OPS = ("cycle", "create", "start", "delete", "run", "exec")


def write_tree_launcher(directory: str, name: str, tree: str, deps: list[str]) -> str:
    """The installed launcher's form, importing pyocijail from `tree`, written by
    `tree`'s own `pyocijail.launcher` (so a change to the launcher is measured too)."""
    import importlib.util

    tree = os.path.abspath(tree)
    spec = importlib.util.spec_from_file_location(
        f"_ab_launcher_{name}", os.path.join(tree, "pyocijail", "launcher.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.write_launcher(os.path.join(directory, name), python=sys.executable,
                                 paths=[tree] + [d for d in deps if d != tree])


def main(argv: list[str] | None = None) -> int:  # noqa: C901 - the command line's one walk: parse, build both trees, run
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("trees", nargs="+")
    p.add_argument("--iterations", type=int, default=20)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--bundles", type=lambda s: s.split(","), default=["default", "podman-like"])
    p.add_argument("--ops", type=lambda s: s.split(","), default=["cycle", "run", "exec"])
    a = p.parse_args(argv)
    if os.geteuid() != 0:
        print("ab: needs root", file=sys.stderr)
        return 2
    become_subreaper()
    tmp = tempfile.mkdtemp(prefix="pyocijail-ab.")
    cg = f"pyocijail-ab-{os.getpid()}"
    spawn = Spawner(tmp)
    deps = [d for d in import_paths(sys.executable)]
    names = [f"t{i}" for i in range(len(a.trees))]
    launchers = {n: write_tree_launcher(os.path.join(tmp, "bin"), n, t, deps)
                 for n, t in zip(names, a.trees, strict=True)}
    roots = {n: os.path.join(tmp, "roots", n) for n in names}
    samples: dict[tuple[str, str, str], list[float]] = {}
    counter = 0

    def call(n: str, *args: str) -> float:
        ms, _, _, _ = spawn([launchers[n], "--root", roots[n], *args])
        return ms

    def add(key: tuple[str, str, str], ms: float, record: bool) -> None:
        if record:
            samples.setdefault(key, []).append(ms)

    try:
        bundles = Bundles(tmp, cg)
        for kind in a.bundles:
            sleepers = {}
            for n in names:
                counter += 1
                cid = f"ab-sleep-{n}-{counter}"
                b = bundles.prepare(kind, n, cid, ["/bin/sleep", "100000"])
                call(n, "create", "--bundle", b, cid)
                call(n, "start", cid)
                sleepers[n] = cid
            process = bundles.process_file(kind)
            for i in range(a.warmup + a.iterations):
                record = i >= a.warmup
                k = i % len(names)
                order = names[k:] + names[:k]
                for n in order:
                    if "cycle" in a.ops:
                        counter += 1
                        cid = f"ab-{n}-{counter}"
                        b = bundles.prepare(kind, n, cid)
                        pid_file = os.path.join(b, "pid")
                        t_create = call(n, "create", "--bundle", b, "--pid-file", pid_file, cid)
                        with open(pid_file) as f:
                            pid = int(f.read())
                        t_start = call(n, "start", cid)
                        t0 = time.perf_counter_ns()
                        wait_pid(pid)
                        waited = (time.perf_counter_ns() - t0) / 1e6
                        t_delete = call(n, "delete", cid)
                        add((kind, n, "create"), t_create, record)
                        add((kind, n, "start"), t_start, record)
                        add((kind, n, "delete"), t_delete, record)
                        add((kind, n, "cycle"), t_create + t_start + waited + t_delete, record)
                    if "run" in a.ops:
                        counter += 1
                        cid = f"ab-run-{n}-{counter}"
                        b = bundles.prepare(kind, n, cid)
                        add((kind, n, "run"), call(n, "run", "--bundle", b, cid), record)
                    if "exec" in a.ops:
                        pid_file = os.path.join(tmp, f"exec-{n}.pid")
                        add((kind, n, "exec"), call(n, "exec", "--detach", "--process", process,
                                                    "--pid-file", pid_file, sleepers[n]), record)
                    reap_strays()
            for n in names:
                call(n, "delete", "--force", sleepers[n])
            reap_strays()
    finally:
        for n in names:
            try:
                ids = [i for i in os.listdir(roots[n]) if not i.startswith(".")]
            except OSError:
                ids = []
            for cid in ids:
                spawn([launchers[n], "--root", roots[n], "delete", "--force", cid], check=False)
        reap_strays()
        remove_cgroups(cg)
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"medians of {a.iterations} interleaved iterations, ms; ratio = tree / t0")
    for i, t in enumerate(a.trees):
        print(f"  t{i} = {t}")
    for kind in a.bundles:
        print(f"bundle {kind}")
        for op in OPS:
            meds = [statistics.median(samples[(kind, n, op)]) if (kind, n, op) in samples
                    else None for n in names]
            if meds[0] is None:
                continue
            cells = "".join(f"{m:10.1f}" for m in meds)
            ratios = "".join(f"{m / meds[0]:8.2f}" for m in meds[1:])
            print(f"  {op:<8}{cells}   {ratios}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
