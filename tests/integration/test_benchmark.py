"""The benchmark's smoke run: it works and reports every metric (never its timings)."""

from __future__ import annotations

import glob
import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench.py"

pytestmark = [pytest.mark.root, pytest.mark.busybox]


def test_quick_run_reports_every_metric_and_leaves_nothing():
    proc = subprocess.Popen([sys.executable, "-I", str(BENCH), "--quick", "--json", "-"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    data = json.loads(out)
    names = data["runtimes"]
    assert names[0] == "pyocijail"
    metrics = {"cycle", "create", "start", "wait", "delete", "state", "exec", "run", "version"}
    assert set(data["bundles"]) == {"default", "podman-like"}
    for rows in data["bundles"].values():
        assert set(rows) == metrics
        for row in rows.values():
            assert all(isinstance(row[n], (int, float)) for n in names)
            for other in ("runc", "crun"):
                assert (f"pyocijail/{other}" in row) == (other in names)
    assert set(data["scaling"]) == {"state", "create", "list"}
    for by_count in data["scaling"].values():
        assert set(by_count) == {"1", "3"}
    # peak RSS per command, the runtime's own: far below the benchmark's own size, which
    # a child of the benchmark would report (rss.py); busybox sh starting /bin/true is ~1 MB
    rss = data["rss_mb"]["pyocijail"]["by_op"]
    assert set(rss) == {"create", "start", "state", "exec", "kill", "delete", "run"}
    assert all(0 < mb < 100 for mb in rss.values())
    if "crun" in names:  # a C runtime's own high-water mark is a few MB, not the benchmark's
        assert min(data["rss_mb"]["crun"]["by_op"].values()) < 8
    # many at once: containers per second for each runtime
    assert data["parallel"]["workers"] == 4
    assert all(data["parallel"]["containers_per_s"][n] > 0 for n in names)
    labels = {t["target"] for t in data["targets"]}
    assert {"peak RSS, exec", "exec, default bundle, over floor", "list @3"} <= labels
    assert data["targets"] and all({"target", "value", "limit", "met", "floor"} <= set(t)
                                   for t in data["targets"])
    # the floor: runc's time plus, per call, the bare interpreter's start-up over runc's
    startup = data["startup"]
    assert startup["python"] > 0
    if "runc" in names:
        runc = data["bundles"]["default"]["cycle"]["runc"]
        expected = round((runc + 3 * (startup["python"] - startup["runc"])) / runc, 2)
        cycle = next(t for t in data["targets"]
                     if t["target"] == "cycle, default bundle, over floor")
        assert cycle["floor"] == expected
    # cleaned up: its cgroup parent and state roots are gone
    assert glob.glob(f"/sys/fs/cgroup/*/pyocijail-bench-{proc.pid}") == []
