#!/usr/bin/env python3
"""pyocijail, runc and crun side by side: same run, same bundles, interleaved.

    .venv/bin/python -I benchmarks/bench.py            # full run (a few minutes)
    .venv/bin/python -I benchmarks/bench.py --quick    # smoke run (seconds)
    .venv/bin/python -I benchmarks/bench.py --json out.json

Every runtime gets its own temporary `--root`, every container a unique id
and a unique `cgroupsPath` under one parent cgroup, and all of it is removed
at the end (also after an error or ^C). Timings are wall-clock milliseconds
of one runtime invocation, spawned with posix_spawn and reaped with wait4;
medians over interleaved iterations after warm-up. Peak RSS is measured in a
pass of its own, with the runtime started by a small static process
(`benchmarks/rss.py` says why wait4's figure for our own children is not it).
The benchmark is a subreaper, so it reaps the container processes the runtimes
leave behind and can time "wait".

crun 1.8.1 refuses to run on this host's hybrid cgroup layout, so it runs
through the wrapper of ../shared/reference/linux-host.md section 8 (a private
mount namespace without the cgroup2 mount), which costs it ~3 ms per call.
pyocijail runs through the launcher users install (`python -m
pyocijail.launcher`, see `benchmarks/launcher.py`) unless `--launcher sh` or
`--launcher module` asks for the `/bin/sh` form or `python -I -m pyocijail`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from benchmarks.launcher import STYLES, write_launcher  # noqa: E402
from benchmarks.parallel import throughput  # noqa: E402
from benchmarks.rss import peak_rss_kib  # noqa: E402

RUNC = "/usr/sbin/runc"
CRUN = "/usr/bin/crun"
PODMAN = "/usr/bin/podman"
BUSYBOX = "/bin/busybox"
CGROUP_ROOT = "/sys/fs/cgroup"
ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
PR_SET_CHILD_SUBREAPER = 36

CRUN_WRAPPER = """#!/bin/sh
exec unshare -m --propagation private sh -c 'umount -l /sys/fs/cgroup/unified 2>/dev/null; \
exec {crun} "$@"' crun "$@"
"""

#: (metric, what it times) in print order; all per bundle.
METRICS = [
    ("cycle", "create + start + wait + delete"),
    ("create", "create --bundle B --pid-file F ID"),
    ("start", "start ID"),
    ("wait", "start returned -> container exited"),
    ("delete", "delete ID (stopped)"),
    ("state", "state ID (running)"),
    ("exec", "exec --detach --process F --pid-file F ID"),
    ("run", "run --bundle B ID (foreground)"),
    ("version", "--version"),
]
#: the commands whose peak RSS is measured (`Bench.rss_pass`), each a target of its own
RSS_OPS = ("create", "start", "state", "exec", "kill", "delete", "run")
#: what each timed metric costs in runtime calls, for its floor
CALLS = {"cycle": 3, "create": 1, "start": 1, "delete": 1, "state": 1, "exec": 1, "run": 1}


class BenchError(Exception):
    pass


# --- processes -------------------------------------------------------------------------

class Spawner:
    """Run argv with stdio on files, time it, keep its rusage."""

    def __init__(self, tmp: str) -> None:
        self.null = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
        self.err_path = os.path.join(tmp, "stderr")
        self.out_path = os.path.join(tmp, "stdout")

    def __call__(self, argv: list[str], *, check: bool = True, capture: bool = False,
                 env: dict[str, str] | None = None) -> tuple[float, int, int, str]:
        """(ms, exit code, peak RSS in KiB, stdout if capture)."""
        err = os.open(self.err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        out = os.open(self.out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC,
                      0o600) if capture else self.null
        actions = [(os.POSIX_SPAWN_DUP2, self.null, 0), (os.POSIX_SPAWN_DUP2, out, 1),
                   (os.POSIX_SPAWN_DUP2, err, 2)]
        try:
            t0 = time.perf_counter_ns()
            pid = os.posix_spawn(argv[0], argv, env or ENV, file_actions=actions)
            _, status, usage = os.wait4(pid, 0)
            ms = (time.perf_counter_ns() - t0) / 1e6
        finally:
            os.close(err)
            if capture:
                os.close(out)
        code = os.waitstatus_to_exitcode(status)
        text = ""
        if capture:
            with open(self.out_path) as f:
                text = f.read()
        if check and code != 0:
            with open(self.err_path, errors="replace") as f:
                raise BenchError(f"{' '.join(argv)}: exit {code}: {f.read().strip()}")
        return ms, code, usage.ru_maxrss, text


def become_subreaper() -> None:
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise BenchError("prctl(PR_SET_CHILD_SUBREAPER) failed")


def reap_strays() -> None:
    from pyocijail.testing.clients.driver import reap_orphans

    reap_orphans()


def wait_pid(pid: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return  # not our child (should not happen as a subreaper): nothing to wait for
        if done:
            return
        if time.monotonic() > deadline:
            raise BenchError(f"container process {pid} did not exit")
        time.sleep(0.0002)


# --- runtimes --------------------------------------------------------------------------

class Runtime:
    def __init__(self, name: str, argv0: list[str], root: str) -> None:
        self.name, self.argv0, self.root = name, argv0, root
        os.makedirs(root, mode=0o700, exist_ok=True)

    def argv(self, *args: str) -> list[str]:
        return [*self.argv0, "--root", self.root, *args]

    def ids(self) -> list[str]:
        try:
            return [n for n in os.listdir(self.root)  # not pyocijail's .seccomp-programs
                    if not n.startswith(".") and os.path.isdir(os.path.join(self.root, n))]
        except FileNotFoundError:
            return []


def make_runtimes(tmp: str, wanted: list[str], launcher_style: str,
                  python: str) -> list[Runtime]:
    runtimes = []
    for name in wanted:
        root = os.path.join(tmp, "roots", name)
        if name == "pyocijail":
            launcher = write_launcher(os.path.join(tmp, "bin"), python=python,
                                      style=launcher_style)
            runtimes.append(Runtime(name, [launcher], root))
        elif name == "runc":
            if os.access(RUNC, os.X_OK):
                runtimes.append(Runtime(name, [RUNC], root))
        elif name == "crun":
            if os.access(CRUN, os.X_OK) and shutil.which("unshare"):
                wrapper = os.path.join(tmp, "bin", "crun")
                os.makedirs(os.path.dirname(wrapper), exist_ok=True)
                with open(wrapper, "w") as f:
                    f.write(CRUN_WRAPPER.format(crun=CRUN))
                os.chmod(wrapper, 0o755)
                runtimes.append(Runtime(name, [wrapper], root))
        else:
            raise BenchError(f"unknown runtime {name!r}")
    if not runtimes or runtimes[0].name != "pyocijail":
        raise BenchError("pyocijail must be among the runtimes")
    return runtimes


# --- bundles ---------------------------------------------------------------------------

def make_rootfs(path: str) -> str:
    from pyocijail.testing.bundles import make_rootfs as make

    if not os.access(BUSYBOX, os.X_OK):
        raise BenchError(f"{BUSYBOX} is missing (apt-get install busybox-static)")
    return make(path)


def default_config(rootfs: str) -> dict:
    """What `pyocijail spec` (= `runc spec`) writes, running /bin/true on a read-only root."""
    from pyocijail.lifecycle.defaults import linux_config

    doc = linux_config(["/bin/true"], terminal=False)
    doc["ociVersion"] = "1.0.2-dev"  # crun 1.8.1 refuses 1.3.0
    doc["root"] = {"path": rootfs, "readonly": True}
    return doc


def podman_config(rootfs: str) -> dict:
    """podman 4.3's generated config (benchmarks/podman-like.json), minus bind mounts."""
    with open(os.path.join(HERE, "podman-like.json")) as f:
        doc = json.load(f)
    doc["root"]["path"] = rootfs
    return doc


class Bundles:
    """One bundle directory per (kind, runtime, use); config.json rewritten per container."""

    def __init__(self, tmp: str, cgroup_parent: str) -> None:
        self.tmp, self.cgroup_parent = tmp, cgroup_parent
        rootfs = make_rootfs(os.path.join(tmp, "rootfs"))
        self.templates = {"default": default_config(rootfs), "podman-like": podman_config(rootfs)}

    def prepare(self, kind: str, runtime: str, cid: str, args: list[str] | None = None) -> str:
        doc = json.loads(json.dumps(self.templates[kind]))
        doc.setdefault("linux", {})["cgroupsPath"] = f"/{self.cgroup_parent}/{cid}"
        if args:
            doc["process"]["args"] = args
        path = os.path.join(self.tmp, "bundles", f"{kind}-{runtime}-{cid}")
        os.makedirs(path, exist_ok=True)
        with open(os.path.join(path, "config.json"), "w") as f:
            json.dump(doc, f)
        return path

    def process_file(self, kind: str) -> str:
        path = os.path.join(self.tmp, f"process-{kind}.json")
        if not os.path.exists(path):
            process = dict(self.templates[kind]["process"], args=["/bin/true"], terminal=False)
            with open(path, "w") as f:
                json.dump(process, f)
        return path


# --- measurements ----------------------------------------------------------------------

class Samples:
    def __init__(self) -> None:
        self.ms: dict[tuple, list[float]] = {}
        self.rss: dict[tuple, int] = {}

    def add(self, key: tuple, ms: float) -> None:
        self.ms.setdefault(key, []).append(ms)

    def rss_add(self, key: tuple, kib: int) -> None:
        self.rss[key] = max(self.rss.get(key, 0), kib)

    def median(self, key: tuple) -> float | None:
        values = self.ms.get(key)
        return statistics.median(values) if values else None


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.tmp = tempfile.mkdtemp(prefix="pyocijail-bench.")
        self.cgroup_parent = f"pyocijail-bench-{os.getpid()}"
        self.spawn = Spawner(self.tmp)
        self.samples = Samples()
        self.counter = 0
        self.runtimes: list[Runtime] = []
        self.results: dict = {}

    def new_id(self, rt: Runtime, tag: str) -> str:
        self.counter += 1
        return f"bench-{tag}-{rt.name}-{self.counter}"

    def order(self, i: int) -> list[Runtime]:
        """Rotate who goes first, so no runtime always runs right after another."""
        k = i % len(self.runtimes)
        return self.runtimes[k:] + self.runtimes[:k]

    # -- lifecycle pieces
    def create(self, rt: Runtime, kind: str, cid: str, args: list[str] | None = None,
               tag: tuple | None = None) -> int:
        bundle = self.bundles.prepare(kind, rt.name, cid, args)
        pid_file = os.path.join(bundle, "pid")
        ms, _, _, _ = self.spawn(rt.argv("create", "--bundle", bundle, "--pid-file",
                                         pid_file, cid))
        if tag:
            self.samples.add(tag, ms)
        with open(pid_file) as f:
            return int(f.read().strip())

    def call(self, rt: Runtime, tag: tuple | None, *args: str) -> float:
        ms, _, _, _ = self.spawn(rt.argv(*args))
        if tag:
            self.samples.add(tag, ms)
        return ms

    def cycle(self, rt: Runtime, kind: str, record: bool) -> None:
        cid = self.new_id(rt, "cycle")
        t = (lambda op: (kind, rt.name, op)) if record else (lambda op: None)
        total = 0.0
        t0 = time.perf_counter_ns()
        pid = self.create(rt, kind, cid, tag=t("create"))
        total += (time.perf_counter_ns() - t0) / 1e6
        total += self.call(rt, t("start"), "start", cid)
        t0 = time.perf_counter_ns()
        wait_pid(pid)
        waited = (time.perf_counter_ns() - t0) / 1e6
        total += waited
        total += self.call(rt, t("delete"), "delete", cid)
        if record:
            self.samples.add(t("wait"), waited)
            self.samples.add(t("cycle"), total)
        reap_strays()

    def run_fg(self, rt: Runtime, kind: str, record: bool) -> None:
        cid = self.new_id(rt, "run")
        bundle = self.bundles.prepare(kind, rt.name, cid)
        ms, _, _, _ = self.spawn(rt.argv("run", "--bundle", bundle, cid))
        if record:
            self.samples.add((kind, rt.name, "run"), ms)
        reap_strays()

    def start_sleeper(self, rt: Runtime, kind: str) -> str:
        cid = self.new_id(rt, "sleeper")
        self.create(rt, kind, cid, args=["/bin/sleep", "100000"])
        self.call(rt, None, "start", cid)
        return cid

    # -- phases
    def per_bundle(self, kind: str) -> None:
        a = self.args
        sleepers = {rt.name: self.start_sleeper(rt, kind) for rt in self.runtimes}
        process = self.bundles.process_file(kind)
        for i in range(a.warmup + a.iterations):
            record = i >= a.warmup
            for rt in self.order(i):
                self.cycle(rt, kind, record)
            for rt in self.order(i + 1):
                self.run_fg(rt, kind, record)
            for rt in self.order(i + 2):
                tag = (kind, rt.name, "state") if record else None
                self.call(rt, tag, "state", sleepers[rt.name])
                tag = (kind, rt.name, "version") if record else None
                self.call(rt, tag, "--version")
            ms, _, _, _ = self.spawn(self.bare_python)  # the floor's interpreter start-up
            if record:
                self.samples.add(("startup", "python", "bare"), ms)
            for rt in self.order(i):
                tag = (kind, rt.name, "exec") if record else None
                pid_file = os.path.join(self.tmp, f"exec-{rt.name}.pid")
                self.call(rt, tag, "exec", "--detach", "--process", process, "--pid-file",
                          pid_file, sleepers[rt.name])
                # Reap the exec'd process (ours: we are the subreaper) before going on. A
                # zombie left in the sleeper's pid namespace holds its init in exit later,
                # and runc's `delete --force` then waits on that init for 10 s and fails
                # ("container init still running") while we block in wait4 on runc.
                with open(pid_file) as f:
                    wait_pid(int(f.read().strip()))
            reap_strays()
        for rt in self.order(0):
            self.rss_pass(rt, kind, sleepers[rt.name], process)
        for rt in self.runtimes:
            self.call(rt, None, "delete", "--force", sleepers[rt.name])
        reap_strays()

    def rss_pass(self, rt: Runtime, kind: str, sleeper: str, process: str) -> None:
        """Each command's peak RSS, the runtime started by a small process (rss.py)."""
        for _ in range(self.args.rss_iterations):
            cid = self.new_id(rt, "rss")
            bundle = self.bundles.prepare(kind, rt.name, cid, ["/bin/sleep", "100000"])
            pid_file = os.path.join(self.tmp, f"rss-{rt.name}.pid")
            calls = [("create", ("create", "--bundle", bundle, "--pid-file",
                                 os.path.join(bundle, "pid"), cid)),
                     ("start", ("start", cid)), ("state", ("state", sleeper)),
                     ("exec", ("exec", "--detach", "--process", process, "--pid-file",
                               pid_file, sleeper)),
                     ("kill", ("kill", cid, "KILL"))]
            for op, args in calls:
                kib, code = peak_rss_kib(rt.argv(*args), ENV)
                if code:
                    raise BenchError(f"{rt.name} {' '.join(args)}: exit {code}")
                self.samples.rss_add((kind, rt.name, op), kib)
                if op == "exec":
                    with open(pid_file) as f:
                        wait_pid(int(f.read().strip()))
            with open(os.path.join(bundle, "pid")) as f:
                wait_pid(int(f.read().strip()))
            kib, _ = peak_rss_kib(rt.argv("delete", cid), ENV)
            self.samples.rss_add((kind, rt.name, "delete"), kib)
            cid = self.new_id(rt, "rss-run")
            bundle = self.bundles.prepare(kind, rt.name, cid)
            kib, _ = peak_rss_kib(rt.argv("run", "--bundle", bundle, cid), ENV)
            self.samples.rss_add((kind, rt.name, "run"), kib)
            reap_strays()

    def parallel(self) -> None:
        """Containers per second with `--workers` cycles in flight (parallel.py)."""
        a = self.args
        rounds = 2
        per_round = max(1, a.parallel_cycles // rounds)
        for r in range(rounds):
            for rt in self.order(r):
                ids = [self.new_id(rt, "par") for _ in range(per_round)]
                secs = throughput(rt.argv, lambda cid, rt=rt: self.bundles.prepare(
                    "default", rt.name, cid), ENV, ids, a.workers)
                key = ("parallel", rt.name, "seconds")
                self.samples.ms.setdefault(key, []).append(secs)
                reap_strays()

    def scaling(self) -> None:
        a = self.args
        counts = a.scale
        existing: dict[str, list[str]] = {rt.name: [] for rt in self.runtimes}
        for n in counts:
            for rt in self.runtimes:
                while len(existing[rt.name]) < n:
                    cid = self.new_id(rt, "scale")
                    self.create(rt, "default", cid, args=["/bin/sleep", "100000"])
                    self.call(rt, None, "start", cid)  # running, as podman's are
                    existing[rt.name].append(cid)
            for i in range(a.warmup + a.scale_iterations):
                record = i >= a.warmup
                for rt in self.order(i):
                    key = lambda op: ("scale", rt.name, f"{op}@{n}") if record else None  # noqa: E731, B023 - used in this iteration
                    self.call(rt, key("state"), "state", existing[rt.name][0])
                    self.call(rt, key("list"), "list")
                    cid = self.new_id(rt, "probe")
                    self.create(rt, "default", cid, tag=key("create"))
                    self.call(rt, None, "delete", "--force", cid)
                reap_strays()
        for rt in self.runtimes:
            for cid in existing[rt.name]:
                self.call(rt, None, "delete", "--force", cid)
        reap_strays()

    def podman(self) -> None:
        from benchmarks.podman_env import PodmanEnv

        rts = {rt.name: rt for rt in self.runtimes}
        env = PodmanEnv(os.path.join(self.tmp, "podman"), self.bundles.tmp)
        try:
            env.setup(os.path.join(self.tmp, "rootfs"))
            wrappers = {"runc": RUNC}
            wrappers["pyocijail"] = write_launcher(
                os.path.join(self.tmp, "podman-bin"), python=self.args.python,
                style=self.args.launcher, root=os.path.join(self.tmp, "roots", "podman-pyocijail"))
            if "crun" in rts:
                wrappers["crun"] = rts["crun"].argv0[0]
            names = [n for n in ("pyocijail", "runc", "crun") if n in wrappers]
            for i in range(self.args.warmup + self.args.podman_iterations):
                k = i % len(names)
                for name in names[k:] + names[:k]:
                    ms = env.run_rm(wrappers[name], self.spawn)
                    if i >= self.args.warmup:
                        self.samples.add(("podman-e2e", name, "run --rm"), ms)
            running = {name: env.run_detached(wrappers[name], name, self.spawn)
                       for name in names}
            for i in range(self.args.warmup + self.args.podman_iterations):
                k = i % len(names)
                for name in names[k:] + names[:k]:
                    ms = env.exec_true(wrappers[name], running[name], self.spawn)
                    if i >= self.args.warmup:
                        self.samples.add(("podman-e2e", name, "exec"), ms)
        finally:
            env.teardown(self.spawn)

    # -- whole run
    def run(self) -> dict:
        a = self.args
        become_subreaper()
        self.runtimes = make_runtimes(self.tmp, a.runtimes, a.launcher, a.python)
        # the launcher's interpreter binary, started the launcher's way, doing nothing
        self.bare_python = [os.path.realpath(a.python), "-I", "-S", "-c", "pass"]
        self.bundles = Bundles(self.tmp, self.cgroup_parent)
        for kind in a.bundles:
            self.per_bundle(kind)
        if a.parallel_cycles:
            self.parallel()
        if a.scale:
            self.scaling()
        if a.podman and os.access(PODMAN, os.X_OK):
            self.podman()
        return self.report()

    def cleanup(self) -> list[str]:
        """Force-delete whatever is left in every root, remove cgroups and the temp dir."""
        problems = []
        for rt in self.runtimes:
            for cid in rt.ids():
                _, code, _, _ = self.spawn(rt.argv("delete", "--force", cid), check=False)
                if code:
                    problems.append(f"{rt.name}: delete --force {cid} failed")
        reap_strays()
        problems += remove_cgroups(self.cgroup_parent)
        shutil.rmtree(self.tmp, ignore_errors=True)
        return problems

    # -- output
    def report(self) -> dict:
        s, names = self.samples, [rt.name for rt in self.runtimes]
        out: dict = {"runtimes": names, "launcher": self.args.launcher,
                     "iterations": self.args.iterations, "warmup": self.args.warmup,
                     "bundles": {}, "scaling": {}, "podman": {}, "rss_mb": {},
                     "parallel": {}}
        for kind in self.args.bundles:
            rows = {}
            for metric, _ in METRICS:
                row = {n: _round(s.median((kind, n, metric))) for n in names}
                _ratios(row, names)
                rows[metric] = row
            out["bundles"][kind] = rows
        for n in names:
            by_op = {op: max((s.rss[(kind, n, op)] for kind in self.args.bundles
                              if (kind, n, op) in s.rss), default=0) / 1024 for op in RSS_OPS}
            by_op = {op: _round(v) for op, v in by_op.items() if v}
            out["rss_mb"][n] = {"max": max(by_op.values()) if by_op else None, "by_op": by_op}
        if self.args.parallel_cycles:
            row = {}
            for n in names:
                secs = s.ms.get(("parallel", n, "seconds"))
                if secs:
                    row[n] = _round(self.args.parallel_cycles // 2 * len(secs) / sum(secs))
            for other in ("runc", "crun"):
                if row.get("pyocijail") and row.get(other):
                    row[f"pyocijail/{other}"] = round(row["pyocijail"] / row[other], 2)
            out["parallel"] = {"workers": self.args.workers, "containers_per_s": row}
        for count in self.args.scale:
            for op in ("state", "create", "list"):
                row = {n: _round(s.median(("scale", n, f"{op}@{count}"))) for n in names}
                _ratios(row, names)
                out["scaling"].setdefault(op, {})[str(count)] = row
        for op, label in (("run --rm", "run --rm true"), ("exec", "exec CTR true")):
            podman_names = [n for n in ("pyocijail", "runc", "crun")
                            if ("podman-e2e", n, op) in s.ms]
            if podman_names:
                row = {n: _round(s.median(("podman-e2e", n, op))) for n in podman_names}
                _ratios(row, podman_names)
                out["podman"][label] = row
        runc_version = [ms for (kind, n, op), v in s.ms.items() for ms in v
                        if n == "runc" and op == "version"]
        out["startup"] = {"python": _round(s.median(("startup", "python", "bare"))),
                          "runc": _round(statistics.median(runc_version))
                          if runc_version else None}
        out["targets"] = targets(out)
        return out


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _ratios(row: dict, names: list[str]) -> None:
    for other in ("runc", "crun"):
        if other in names and row.get("pyocijail") and row.get(other):
            row[f"pyocijail/{other}"] = round(row["pyocijail"] / row[other], 2)


def floor(out: dict, runc_ms: float | None, calls: int) -> float | None:
    """The best ratio to runc that a runtime starting an interpreter for each of its
    `calls` can reach on this machine: runc's time, plus `calls` times what the bare
    interpreter's start-up (`python -I -S -c pass`) takes over runc's (`runc --version`)."""
    python, runc = out.get("startup", {}).get("python"), out.get("startup", {}).get("runc")
    if not (runc_ms and python and runc):
        return None
    return round((runc_ms + calls * (python - runc)) / runc_ms, 2)


def targets(out: dict) -> list[dict]:
    """The issue's targets, evaluated on this run's medians (information, not a test).

    Where runc's time is known, each ratio target also gets its `floor` (see
    `floor`): a limit below it cannot be met by any per-call Python runtime here."""
    found = []

    def ratio(section: dict, metric: str) -> float | None:
        return section.get(metric, {}).get("pyocijail/runc")

    def add(name: str, value: float | None, limit: float, unit: str = "x runc",
            best: float | None = None) -> None:
        found.append({"target": name, "value": value, "limit": limit, "unit": unit,
                      "met": None if value is None else value <= limit, "floor": best})

    b = out["bundles"]
    # 1. every command's own work at or below runc's: the ratio over its floor <= 1.00
    for kind in b:
        for metric, calls in CALLS.items():
            value, best = ratio(b[kind], metric), floor(out, b[kind][metric].get("runc"), calls)
            over = round(value / best, 2) if value and best else None
            add(f"{metric}, {kind} bundle, over floor", over, 1.0, "x floor", best=best)
    # 2. podman-like create at or below crun's
    if "podman-like" in b:
        add("create, podman-like bundle vs crun",
            b["podman-like"]["create"].get("pyocijail/crun"), 1.0, "x crun")
    # 3. through podman
    for label in ("run --rm true", "exec CTR true"):
        row = out["podman"].get(label)
        if row:
            calls = 3 if label.startswith("run") else 1  # conmon's create, start, delete
            add(f"podman {label}", row.get("pyocijail/runc"), 1.03,
                best=floor(out, row.get("runc"), calls))
    # 4. many at once, and at 1000 existing containers
    par = out.get("parallel", {}).get("containers_per_s", {})
    if par.get("pyocijail") and par.get("runc"):
        add(f"containers/s, {out['parallel']['workers']} workers vs runc",
            round(par["runc"] / par["pyocijail"], 2), 1.0, "x (runc/)")
    counts = sorted(int(c) for c in out["scaling"].get("state", {}))
    if len(counts) > 1:
        lo, hi = str(counts[0]), str(counts[-1])
        for op in ("create", "state"):
            a = out["scaling"][op][lo].get("pyocijail")
            z = out["scaling"][op][hi].get("pyocijail")
            ra = out["scaling"][op][lo].get("runc")
            rz = out["scaling"][op][hi].get("runc")
            if a and z:
                # "Flat within noise": pyocijail's growth from lo to hi containers, divided
                # by runc's over the same phase when runc ran and grew (so a machine that got
                # busier between the phases does not count against it; one that got quieter
                # does not count for runc), at most 15 %.
                growth = (z / a) / max(1.0, rz / ra) if ra and rz else z / a
                add(f"{op} latency {hi} vs {lo} containers", round(growth, 2), 1.15,
                    "x (/runc)" if ra and rz else "x")
        listed = out["scaling"]["list"][hi]
        add(f"list @{hi}", listed.get("pyocijail/runc"), 1.0)
    # 5. peak RSS, each command
    for op, mb in out["rss_mb"].get("pyocijail", {}).get("by_op", {}).items():
        add(f"peak RSS, {op}", mb, 30.0, "MB")
    return found


def print_report(out: dict) -> None:
    names = out["runtimes"]
    cols = names + [f"pyocijail/{o}" for o in ("runc", "crun") if o in names]
    w = 12

    def table(title: str, rows: dict) -> None:
        print(f"\n{title}")
        print(f"  {'':<22}" + "".join(f"{c:>{w + 4}}" for c in cols))
        for metric, row in rows.items():
            cells = []
            for c in cols:
                v = row.get(c)
                cells.append(f"{'-' if v is None else v:>{w + 4}}")
            print(f"  {metric:<22}" + "".join(cells))

    print(f"pyocijail launcher: {out['launcher']}; medians of {out['iterations']} "
          f"interleaved iterations after {out['warmup']} warm-up; ms")
    for kind, rows in out["bundles"].items():
        table(f"bundle: {kind}", rows)
    if out["scaling"]:
        rows = {f"{op} @{count}": row for op, by in out["scaling"].items()
                for count, row in by.items()}
        table("scaling with N existing containers (default bundle)", rows)
    if out["podman"]:
        table("podman 4.3 end to end", out["podman"])
    if out.get("parallel"):
        par = out["parallel"]
        table(f"containers per second, {par['workers']} workers", {"cycles/s":
                                                                   par["containers_per_s"]})
    print("\npeak RSS of one invocation (MB, the runtime's own; max over the bundles)")
    print(f"  {'':<12}" + "".join(f"{op:>8}" for op in RSS_OPS))
    for n in names:
        by_op = out["rss_mb"][n]["by_op"]
        print(f"  {n:<12}" + "".join(f"{by_op.get(op, '-')!s:>8}" for op in RSS_OPS))
    startup = out.get("startup", {})
    print(f"\nbare start-up: python -I -S -c pass {startup.get('python')} ms, "
          f"runc --version {startup.get('runc')} ms")
    print("\ntargets (pyocijail); floor: the best a per-call Python runtime can reach here")
    for t in out["targets"]:
        mark = {True: "met", False: "NOT MET", None: "n/a"}[t["met"]]
        best = f"floor {t['floor']:<5}" if t.get("floor") else " " * 11
        if t["met"] is False and t["unit"] == "x runc" and (t.get("floor") or 0) > t["limit"]:
            mark += " (limit below floor)"
        print(f"  {t['target']:<42}{t['value']!s:>8} {t['unit']:<7} limit {t['limit']:<6} "
              f"{best} {mark}")


# --- cgroups ---------------------------------------------------------------------------

def remove_cgroups(parent: str) -> list[str]:
    problems = []
    try:
        controllers = os.listdir(CGROUP_ROOT)
    except OSError:
        return problems
    for ctl in controllers:
        top = os.path.join(CGROUP_ROOT, ctl, parent)
        if not os.path.isdir(top):
            continue
        for dirpath, _dirs, _files in sorted(os.walk(top), key=lambda x: -len(x[0])):
            try:
                os.rmdir(dirpath)
            except OSError as err:
                problems.append(f"cgroup {dirpath}: {err.strerror}")
    return problems


# --- command line ----------------------------------------------------------------------

def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true",
                   help="smoke run: 1 iteration, no warm-up, scaling 1 and 3, no podman")
    p.add_argument("--iterations", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--scale", type=lambda s: [int(x) for x in s.split(",") if x],
                   default=[1, 50, 200, 1000], help="existing (running) container counts "
                   "(comma list; empty to skip)")
    p.add_argument("--scale-iterations", type=int, default=10)
    p.add_argument("--podman-iterations", type=int, default=20,
                   help="podman run --rm per runtime (its own ~200 ms varies: more runs, "
                   "a steadier median)")
    p.add_argument("--no-podman", dest="podman", action="store_false")
    p.add_argument("--parallel-cycles", type=int, default=100,
                   help="cycles per runtime in the many-at-once phase (0 to skip)")
    p.add_argument("--workers", type=int, default=8, help="cycles in flight in that phase")
    p.add_argument("--rss-iterations", type=int, default=3,
                   help="peak RSS passes per runtime and bundle")
    p.add_argument("--bundles", type=lambda s: s.split(","), default=["default", "podman-like"])
    p.add_argument("--runtimes", type=lambda s: s.split(","),
                   default=["pyocijail", "runc", "crun"])
    p.add_argument("--launcher", choices=STYLES, default="fast",
                   help="how pyocijail is started: the installed launcher (fast), the same "
                   "behind /bin/sh (sh) or `python -I -m pyocijail` (module)")
    p.add_argument("--python", default=sys.executable, help="interpreter for pyocijail")
    p.add_argument("--json", metavar="FILE", help="also write the results as JSON ('-': stdout)")
    args = p.parse_args(argv)
    if args.quick:
        args.iterations, args.warmup, args.scale_iterations = 1, 0, 1
        args.podman_iterations = 1
        args.scale = [1, 3] if args.scale == [1, 50, 200, 1000] else args.scale
        args.podman = False
        args.parallel_cycles, args.workers, args.rss_iterations = 8, 4, 1
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if os.geteuid() != 0:
        print("bench: needs root", file=sys.stderr)
        return 2
    bench = Bench(args)
    try:
        out = bench.run()
    except BenchError as err:
        print(f"bench: {err}", file=sys.stderr)
        return 1
    finally:
        problems = bench.cleanup()
        for p in problems:
            print(f"bench: cleanup: {p}", file=sys.stderr)
    if args.json == "-":
        json.dump(out, sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        print_report(out)
        if args.json:
            with open(args.json, "w") as f:
                json.dump(out, f, indent=1)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
