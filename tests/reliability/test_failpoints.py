"""The failpoint switch itself: free when off, SIGKILL at the chosen hit when on."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import timeit

from tests.reliability import harness

_SCRIPT = """
from pyocijail.failpoints import failpoint
for i in range(5):
    failpoint("other")
    failpoint("test.point")
    print(i, flush=True)
"""


def _run(env_extra: dict[str, str]) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYOCIJAIL_FAILPOINT")}
    env.update(env_extra)
    return subprocess.run([sys.executable, "-c", _SCRIPT], env=env, capture_output=True,
                          text=True, timeout=30, check=False)


def test_disarmed_does_nothing():
    out = _run({})
    assert out.returncode == 0 and out.stdout.split() == ["0", "1", "2", "3", "4"]


def test_armed_kills_at_the_first_hit_and_records_it(tmp_path):
    record = tmp_path / "record"
    out = _run({"PYOCIJAIL_FAILPOINT": "test.point",
                "PYOCIJAIL_FAILPOINT_RECORD": str(record)})
    assert out.returncode == -signal.SIGKILL and out.stdout == ""
    name, pid = record.read_text().split()
    assert name == "test.point" and pid.isdigit()


def test_armed_with_a_count_kills_at_that_hit():
    out = _run({"PYOCIJAIL_FAILPOINT": "test.point#3"})
    assert out.returncode == -signal.SIGKILL and out.stdout.split() == ["0", "1"]


def test_disarmed_costs_about_a_function_call():
    """Off, a failpoint is an empty function: well under a microsecond a call."""
    from pyocijail import failpoints

    if os.environ.get("PYOCIJAIL_FAILPOINT"):
        return  # this pytest run itself is armed; nothing to measure
    assert failpoints.failpoint is failpoints._off
    per_call = min(timeit.repeat(lambda: failpoints.failpoint("x"), number=20000, repeat=3))
    assert per_call / 20000 < 2e-6


def test_the_module_imports_nothing_but_os_when_disarmed():
    code = ("import sys; before = set(sys.modules); import pyocijail.failpoints; "
            "print(sorted(set(sys.modules) - before))")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYOCIJAIL_FAILPOINT")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=30, env=env)
    assert out.stdout.strip() == "['pyocijail', 'pyocijail.failpoints']"


def test_registry_finds_points_in_every_process():
    points = harness.registry()
    assert "create.after-prepare" in points          # runtime
    assert "create.init.after-isolate" in points     # init
    assert "exec.process.after-join" in points       # exec'd process
    assert "hook.createContainer" in points          # hook runner, f-string expanded
    assert len(points) == len(set(points))
