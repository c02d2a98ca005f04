"""README.md's own commands, run as written: the debugging recipe and the demo (step 1)."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys

import pytest

from pyocijail.testing.clients.driver import Runtime, reap_orphans
from tests.helpers import CHECKOUT, VENV_BIN, readme_block

pytestmark = [pytest.mark.root, pytest.mark.busybox]

def _env(tmp: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["TMPDIR"] = tmp  # the recipe's `mktemp -d` lands here
    return env


def _cleanup(tmp: str) -> None:
    """delete --force whatever a failed step left in a scratch state root."""
    for name in os.listdir(tmp):
        state = os.path.join(tmp, name, "state")
        if os.path.isdir(state):
            Runtime(state).cleanup()
    reap_orphans()


@pytest.mark.skipif(not os.access(os.path.join(VENV_BIN, "pyocijail"), os.X_OK),
                    reason="README step 1's .venv is not in this checkout")
def test_the_debugging_recipe_runs_as_written(workdir):
    """Every line of "Debugging a bundle by hand", in order, from the checkout, with
    `sh -e`: all succeed, and they show what the comments promise."""
    block = readme_block("### Debugging a bundle by hand")
    tmp = os.path.join(workdir, "tmp")
    os.mkdir(tmp)
    try:
        res = subprocess.run(["sh", "-ec", block], cwd=CHECKOUT, env=_env(tmp),
                             stdin=subprocess.DEVNULL, capture_output=True, text=True,
                             timeout=120, check=False)
    finally:
        _cleanup(tmp)
    assert res.returncode == 0, (res.stdout[-3000:], res.stderr[-3000:])
    out = res.stdout
    assert "hello from " in out                      # run, with the script on stdin
    assert '"status": "created"' in out               # create && state
    ps_rows = [line.split() for line in out.splitlines() if line.startswith("    ")]
    assert ["1", "0"] in [row[:2] for row in ps_rows]   # exec before start: the init is pid 1
    assert "proc on /proc type proc" in out            # ... and mount
    assert "UID" in out and '"type": "stats"' in out  # ps; events --stats
    assert "jail c1" in out and "enforce_statfs" in out  # plan --platform freebsd
    assert res.stderr == ""
    (scratch,) = os.listdir(tmp)
    assert os.listdir(os.path.join(tmp, scratch, "state")) == []  # delete --force took c1


def readme_demo_command() -> list[str]:
    """The demo command that ends README step 1 (after its installs), on this interpreter."""
    block = readme_block("On a fresh Debian 12 machine, from a checkout, as root:")
    step1 = next(line for line in block.splitlines() if line.startswith("apt-get "))
    words = shlex.split(step1.rpartition(" && ")[2])
    assert words[0] == ".venv/bin/python", words
    return [sys.executable, *words[1:]]


def test_readme_step_1_runs_the_top_level_demo():
    """README's first command ends in `python -m pyocijail.demo`: the demo is a first-class
    module, not one of the test doubles' (`pyocijail.testing.demo` is only an alias)."""
    assert readme_demo_command()[1:] == ["-m", "pyocijail.demo"]


def test_the_demo_leaves_no_temporary_directory_and_prints_a_command_that_reruns(workdir):
    """README step 1's demo, as written: runs the container, creates nothing in the
    temporary directory, and the `$ ...` line it prints runs the container again."""
    tmp = os.path.join(workdir, "tmp")
    os.mkdir(tmp)
    cwd = os.path.join(workdir, "checkout")
    os.mkdir(cwd)
    res = subprocess.run(readme_demo_command(), cwd=cwd,
                         env=_env(tmp), capture_output=True, text=True, timeout=60,
                         check=False)
    assert res.returncode == 0, res
    assert "hello from " in res.stdout
    assert os.listdir(tmp) == []
    (line,) = [ln for ln in res.stdout.splitlines() if ln.startswith("$ ")]
    again = subprocess.run(shlex.split(line[2:]), cwd=cwd, env=_env(tmp),
                           capture_output=True, text=True, timeout=60, check=False)
    assert again.returncode == 0 and "hello from " in again.stdout, again
    assert os.listdir(tmp) == []
    assert os.listdir(os.path.join(cwd, "pyocijail-demo", "state")) == []
