"""podman 5 on FreeBSD drives pyocijail end to end (skipped where podman is absent)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from tests.integration.freebsd.conftest import Host

pytestmark = pytest.mark.freebsd_host
PODMAN = shutil.which("podman") or "/usr/local/bin/podman"


def test_podman_run_rm_through_the_launcher(host: Host, tmp_path: Path) -> None:
    """`podman --runtime <launcher> run --rm` of an image made from /rescue prints and exits
    with the program's status, in a private store (no global config touched)."""
    if not os.access(PODMAN, os.X_OK):
        pytest.skip("podman is not installed (pkg install podman)")
    launcher = tmp_path / "pyocijail"
    subprocess.run([sys.executable, "-m", "pyocijail.launcher", "--output", str(launcher),
                    "--root", str(tmp_path / "state")], check=True)
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "containers.conf").write_text(
        f'[engine]\nevents_logger = "file"\nevents_logfile_path = "{tmp_path}/events.log"\n'
        f'tmp_dir = "{tmp_path}/tmp"\n')
    (conf / "storage.conf").write_text(
        f'[storage]\ndriver = "vfs"\nrunroot = "{tmp_path}/runroot"\n'
        f'graphroot = "{tmp_path}/graph"\n')
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
           "CONTAINERS_CONF": str(conf / "containers.conf"),
           "CONTAINERS_STORAGE_CONF": str(conf / "storage.conf")}
    tar = tmp_path / "rootfs.tar"
    with tarfile.open(tar, "w") as t:
        t.add(host.rootfs, arcname=".")
    pm = [PODMAN, "--root", str(tmp_path / "graph"), "--runroot", str(tmp_path / "runroot")]
    try:
        subprocess.run([*pm, "import", "-q", str(tar), "localhost/pyocijail-rescue"],
                       check=True, env=env, capture_output=True, timeout=300)
        run = subprocess.run([*pm, "--runtime", str(launcher), "run", "--rm", "--network",
                              "none", "localhost/pyocijail-rescue", "/bin/sh", "-c",
                              "cat /etc/marker; exit 7"],
                             env=env, capture_output=True, text=True, timeout=300)
        assert run.stdout == "inside the jail\n" and run.returncode == 7, run.stderr
    finally:
        subprocess.run([*pm, "rm", "-a", "-f"], env=env, capture_output=True, timeout=300)
        subprocess.run([*pm, "rmi", "-a", "-f"], env=env, capture_output=True, timeout=300)
