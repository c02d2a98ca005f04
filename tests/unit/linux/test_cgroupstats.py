"""cgroupstats: runc's stats shape and OOM counts from cgroup files (a temporary
directory stands in for the cgroup: both layouts, on any host)."""

from __future__ import annotations

from pyocijail.backends.linux import cgroupstats
from pyocijail.backends.linux.cgroups import Cgroup


def _files(directory, files):
    for name, text in files.items():
        (directory / name).write_text(text)


def test_v2_stats_in_runcs_shape(tmp_path):
    """v2: cpu.stat microseconds become nanoseconds; memory.max/current/peak, the
    memory.events "max" count as failcnt; pids "max" is no limit (0); io.stat entries."""
    _files(tmp_path, {
        "cpu.stat": "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 4\n"
                    "nr_throttled 1\nthrottled_usec 20\n",
        "memory.max": "max\n", "memory.current": "4096\n", "memory.peak": "8192\n",
        "memory.events": "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n",
        "memory.stat": "anon 4096\nfile 12\n", "memory.swap.current": "0\n",
        "memory.swap.max": "max\n", "pids.current": "2\n", "pids.max": "max\n",
        "io.stat": "8:0 rbytes=100 wbytes=200 rios=1 wios=2 dbytes=0 dios=0\n"})
    stats = cgroupstats.stats([Cgroup(str(tmp_path), 2, ("cpu", "memory", "pids", "io"),
                                      "/sys/fs/cgroup")])
    assert stats["cpu"] == {"usage": {"total": 1_500_000, "kernel": 500_000, "user": 1_000_000},
                            "throttling": {"periods": 4, "throttledPeriods": 1,
                                           "throttledTime": 20_000}}
    assert stats["memory"]["usage"] == {"limit": 2**64 - 1, "usage": 4096, "max": 8192,
                                        "failcnt": 3}
    assert stats["memory"]["cache"] == 12 and stats["memory"]["raw"]["anon"] == 4096
    assert stats["pids"] == {"current": 2}
    assert stats["blkio"]["ioServiceBytesRecursive"] == [
        {"major": 8, "op": "Read", "value": 100}, {"major": 8, "op": "Write", "value": 200}]
    assert cgroupstats.oom_kills([Cgroup(str(tmp_path), 2, ("memory",), "/sys/fs/cgroup")]) == 1


def test_v1_oom_explanation_names_limit_usage_and_peak(tmp_path):
    """v1: memory.oom_control's oom_kill, with the limit, usage and max usage."""
    memory = tmp_path / "memory"
    memory.mkdir()
    _files(memory, {"memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n",
                    "memory.limit_in_bytes": "1048576\n", "memory.usage_in_bytes": "4096\n",
                    "memory.max_usage_in_bytes": "1048576\n"})
    groups = [Cgroup(str(memory), 1, ("memory",), "/sys/fs/cgroup/memory")]
    assert cgroupstats.oom_explanation(groups) == (
        "container init was killed by the memory limit while it started: memory limit "
        "1048576 (current usage: 4096, peak usage: 1048576; oom_kill 2 in memory.oom_control)")


def test_no_oom_kill_no_explanation(tmp_path):
    """Without an OOM kill (or without a memory controller) there is nothing to say."""
    _files(tmp_path, {"memory.events": "oom 0\noom_kill 0\n"})
    assert cgroupstats.oom_explanation([Cgroup(str(tmp_path), 2, ("memory",), "/x")]) is None
    assert cgroupstats.oom_explanation([]) is None


def test_hybrid_layout_reads_the_v1_controllers(tmp_path):
    """On a hybrid host the unified (v2) group has no controllers: memory and pids come
    from their v1 hierarchies, wherever the unified group is listed."""
    unified, memory, pids = (tmp_path / n for n in ("unified", "memory", "pids"))
    for d in (unified, memory, pids):
        d.mkdir()
    _files(memory, {"memory.usage_in_bytes": "4096\n", "memory.limit_in_bytes": "8192\n",
                    "memory.failcnt": "0\n"})
    _files(pids, {"pids.current": "3\n", "pids.max": "10\n"})
    groups = [Cgroup(str(unified), 2, (), "/sys/fs/cgroup/unified"),
              Cgroup(str(memory), 1, ("memory",), "/sys/fs/cgroup/memory"),
              Cgroup(str(pids), 1, ("pids",), "/sys/fs/cgroup/pids")]
    stats = cgroupstats.stats(groups)
    assert stats["memory"]["usage"] == {"limit": 8192, "usage": 4096, "failcnt": 0}
    assert stats["pids"] == {"current": 3, "limit": 10}
