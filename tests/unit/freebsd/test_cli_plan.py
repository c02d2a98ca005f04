"""`pyocijail plan` prints the plan and touches nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from .conftest import base_config, tree


def plan_cli(layout: dict[str, Path], *args: str) -> subprocess.CompletedProcess[str]:
    root = layout["tmp"] / "runroot"
    return subprocess.run([sys.executable, "-m", "pyocijail", "--root", str(root), "plan",
                           *args, "--bundle", str(layout["bundle"]), "c1"],
                          capture_output=True, text=True)


def test_json_plan(layout: dict[str, Path]) -> None:
    """The default output is the plan JSON, exit 0, and nothing is created."""
    (layout["bundle"] / "config.json").write_text(json.dumps(base_config(
        annotations={"org.freebsd.jail.vnet": "new"})))
    before = tree(layout["tmp"])
    out = plan_cli(layout)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["platform"] == "freebsd" and doc["jail"]["params"]["vnet"] == "new"
    assert tree(layout["tmp"]) == before


def test_text_plan(layout: dict[str, Path]) -> None:
    """--format text prints the readable form."""
    (layout["bundle"] / "config.json").write_text(json.dumps(base_config()))
    out = plan_cli(layout, "--format", "text")
    assert out.returncode == 0 and out.stdout.startswith("jail c1\n")


def test_bad_config_fails_with_a_message(layout: dict[str, Path]) -> None:
    """A config the jail cannot honour exits 1 with the reason on stderr."""
    (layout["bundle"] / "config.json").write_text(json.dumps(base_config(
        freebsd={"jail": {"enforceStatfs": 3}})))
    out = plan_cli(layout)
    assert out.returncode == 1 and "enforceStatfs" in out.stderr and out.stdout == ""


def test_linux_platform_without_backend_says_so(layout: dict[str, Path]) -> None:
    """--platform linux fails clearly while no Linux backend is installed."""
    (layout["bundle"] / "config.json").write_text(json.dumps(base_config()))
    out = plan_cli(layout, "--platform", "linux")
    try:
        import pyocijail.backends.linux.backend  # noqa: F401
    except ImportError:
        assert out.returncode == 1 and "not available" in out.stderr
    else:
        assert out.returncode in (0, 1)
