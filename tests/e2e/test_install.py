"""A regular (non-editable) install runs containers through the README's launcher.

The other tests run the editable install of the checkout. A regular `pip install .`
differs in where files land: a wheel holds only what pyproject ships, unpacked into
the venv's site-packages, and the launcher runs the venv's base interpreter, whose
`sys.prefix` is not the venv's. Both once broke `create` ("cannot find the JSON
schemas") with every other test green. This test installs a copy of the checkout
into a new venv the way the README says, writes the launcher with that venv's
Python, and runs a real container through it with no environment, as podman's
clean-up calls do.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from pyocijail.launcher import DEPENDENCIES
from pyocijail.testing import bundles
from pyocijail.testing.clients.driver import read_pid, reap

CHECKOUT = Path(__file__).resolve().parents[2]
#: Not part of a source tree pip would see (and large, or owned by the editable install).
_NOT_SOURCE = shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info",
                                     "__pycache__", ".pytest_cache", ".hypothesis",
                                     ".ruff_cache", ".mypy_cache")

pytestmark = [pytest.mark.root, pytest.mark.busybox]


def _run(*argv: str, cwd: str, env: dict[str, str] | None = None) -> str:
    res = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True,
                         stdin=subprocess.DEVNULL, timeout=300, check=False)
    assert res.returncode == 0, f"{argv} failed ({res.returncode}):\n{res.stdout}\n{res.stderr}"
    return res.stdout


def _call(launcher: str, *args: str, cwd: str) -> subprocess.CompletedProcess[str]:
    """The launcher with no environment at all (podman's `kill` and clean-up calls).
    Output goes to files: the container inherits them, and a pipe would stay open."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.run([launcher, *args], cwd=cwd, env={}, stdin=subprocess.DEVNULL,
                              stdout=out, stderr=err, timeout=60, check=False)
        out.seek(0)
        err.seek(0)
        return subprocess.CompletedProcess(proc.args, proc.returncode, out.read(), err.read())


@pytest.fixture
def installed(workdir):
    """A venv in `workdir` with a regular install of a copy of this checkout.

    The run-time dependencies come from the package index pip is configured with
    (as `.ci/run` installs them), at the versions this environment runs; pyocijail
    itself with `--no-deps --no-build-isolation`, built by the venv's own setuptools.
    """
    source = os.path.join(workdir, "src")
    shutil.copytree(CHECKOUT, source, symlinks=True, ignore=_NOT_SOURCE)
    venv = os.path.join(workdir, "venv")
    base = os.path.realpath(getattr(sys, "_base_executable", sys.executable))
    _run(base, "-m", "venv", venv, cwd=workdir)
    python = os.path.join(venv, "bin", "python")
    pins = [f"{d}=={importlib.metadata.version(d)}" for d in DEPENDENCIES]
    # (wheel: setuptools before 70.1 needs it to build one, and isolation is off)
    _run(python, "-m", "pip", "install", "-q", "wheel", *pins, cwd=workdir)
    _run(python, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", source,
         cwd=workdir)
    return python


def test_regular_install_runs_a_container_through_the_launcher(installed, workdir):
    """`pip install .` (not -e), `python -m pyocijail.launcher`, then create, start,
    state and delete of a busybox container through the launcher, from the venv's
    site-packages alone."""
    bin_path = os.path.join(workdir, "bin", "pyocijail")
    root = os.path.join(workdir, "state")
    # The README's command, run from outside any source tree.
    _run(installed, "-m", "pyocijail.launcher", "--output", bin_path, "--root", root,
         cwd=workdir, env={})
    text = Path(bin_path).read_text()
    site = _run(installed, "-I", "-c", "import pyocijail, os; "
                "print(os.path.dirname(os.path.dirname(pyocijail.__file__)))", cwd=workdir,
                env={}).strip()
    assert site.startswith(workdir) and site.endswith("site-packages"), site
    assert str(CHECKOUT) not in text and os.path.join(workdir, "src") not in text

    path = bundles.make_bundle(os.path.join(workdir, "bundle"),
                               ["sh", "-c", "echo installed > /tmp/out"])
    cid = f"install-{os.getpid()}"
    try:
        res = _call(bin_path, "create", "--bundle", path, "--pid-file", f"{path}/pid", cid,
                    cwd=path)
        assert (res.returncode, res.stdout, res.stderr) == (0, "", ""), res
        pid = read_pid(f"{path}/pid")
        assert json.loads(_call(bin_path, "state", cid, cwd=workdir).stdout)["status"] \
            == "created"
        assert _call(bin_path, "start", cid, cwd=workdir).returncode == 0
        assert reap(pid) == 0
        assert json.loads(_call(bin_path, "state", cid, cwd=workdir).stdout)["status"] \
            == "stopped"
        assert Path(path, "rootfs", "tmp", "out").read_text() == "installed\n"
        res = _call(bin_path, "delete", cid, cwd=workdir)
        assert (res.returncode, res.stderr) == (0, ""), res
    finally:
        _call(bin_path, "delete", "--force", cid, cwd=workdir)
    assert not os.path.exists(os.path.join(root, cid))
