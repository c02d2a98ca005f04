"""pyocijail/demo.py: the README's first command, and its old name's alias."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize("module", ["pyocijail.demo", "pyocijail.testing.demo"])
def test_usage_names_the_top_level_module(module):
    """Both names run the same demo, and its usage line gives the new name."""
    res = subprocess.run([sys.executable, "-m", module, "--help"], capture_output=True,
                         text=True, timeout=30, check=False)
    assert (res.returncode, res.stdout) == (1, "")
    assert res.stderr == "usage: python -m pyocijail.demo [DIR]\n"


def test_command_runs_the_bundle_in_the_directory(tmp_path):
    from pyocijail import demo

    argv = demo.command(str(tmp_path))
    assert argv[1:3] == ["-m", "pyocijail"]
    assert argv[-4:] == ["run", "--bundle", str(tmp_path / "bundle"), "demo"]
