"""The launcher as the clients call it, without the clients.

podman's cleanup `delete --force` runs the launcher with no PATH and no
environment; buildah polls `state` and kills by signal name; containerd's
shim passes its own `--root`. These tests replay those exact calls through a
launcher written by `write_launcher`, so a broken launcher or a broken call
shape shows up even where podman or containerd is not installed.
"""

from __future__ import annotations

import json
import os
import subprocess
import time

import pytest

from pyocijail.testing.clients.driver import read_pid, reap
from pyocijail.testing.clients.hostcheck import write_launcher


def _call(launcher, *args, env=None, cwd=None):
    """Run the launcher; stdout/stderr are files (the container inherits them)."""
    import tempfile

    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.run([launcher, *args], env={} if env is None else env, cwd=cwd,
                              stdin=subprocess.DEVNULL, stdout=out, stderr=err, timeout=60,
                              check=False)
        out.seek(0)
        err.seek(0)
        return subprocess.CompletedProcess(proc.args, proc.returncode, out.read(), err.read())


@pytest.fixture
def launcher(workdir):
    path = write_launcher(os.path.join(workdir, "bin"), os.path.join(workdir, "state"))
    yield path
    for cid in os.listdir(os.path.join(workdir, "state")) if os.path.isdir(
            os.path.join(workdir, "state")) else []:
        _call(path, "delete", "--force", cid)


def test_launcher_names_everything_absolutely(launcher, workdir):
    """A `#!<absolute python> -IS` script with the import paths and the state root baked
    in; it runs with no PATH at all, as podman's cleanup call does."""
    text = open(launcher).read()
    first = text.splitlines()[0]
    assert first.startswith("#!/") and first.endswith(" -IS"), first
    assert os.path.isabs(first[2:-4]) and os.access(first[2:-4], os.X_OK)
    assert f"['--root', {os.path.join(workdir, 'state')!r}]" in text
    res = _call(launcher, "--version")  # no PATH at all, as podman's cleanup call
    assert res.returncode == 0 and res.stdout.startswith("pyocijail version "), res


@pytest.mark.parametrize("form", ["python", "sh"])
def test_both_forms_run_without_environment(workdir, form):
    """The shebang form and the /bin/sh fallback behave alike: same output, the
    baked root used, a caller's later --root winning."""
    from pyocijail.launcher import write_launcher as write

    path = write(os.path.join(workdir, "bin", f"pj-{form}"), root=os.path.join(workdir, "st"),
                 form=form)
    assert open(path).read().startswith("#!/bin/sh\n" if form == "sh" else "#!/")
    res = _call(path, "delete", "--force", "nothing-here")
    assert (res.returncode, res.stdout, res.stderr) == (0, "", ""), res
    res = _call(path, "state", "nothing-here")
    assert res.returncode == 1 and 'container "nothing-here" does not exist' in res.stderr
    res = _call(path, "--root", os.path.join(workdir, "other"), "list", "--format", "json")
    assert (res.returncode, res.stdout) == (0, "[]\n"), res


@pytest.mark.parametrize("form", ["python", "sh"])
def test_stale_launcher_fails_clearly(workdir, form):
    """A baked directory that is gone (venv moved or rebuilt): exit 1, one line naming
    the missing path and the command that rewrites the launcher."""
    from pyocijail.launcher import import_paths
    from pyocijail.launcher import write_launcher as write

    gone = os.path.join(workdir, "moved-venv", "site-packages")
    path = write(os.path.join(workdir, "bin", "stale"), paths=[*import_paths(), gone],
                 form=form)
    res = _call(path, "delete", "--force", "x")
    assert res.returncode == 1 and res.stdout == "", res
    assert len(res.stderr.splitlines()) == 1, res.stderr
    assert gone in res.stderr and "-m pyocijail.launcher --output " + path in res.stderr


@pytest.mark.root
def test_buildah_call_sequence(launcher, bundle):
    """create (cwd = bundle), start, state polling, kill NAME (TERM), kill NAME SIGKILL,
    delete — buildah's sequence, in podman's empty environment."""
    path = bundle(["sh", "-c", "trap '' TERM; echo up; while true; do sleep 0.1; done"])
    name = "buildah-buildah123"
    env = {"PATH": "/usr/bin:/bin"}
    res = _call(launcher, "create", "--bundle", path, "--pid-file", f"{path}/pid", name,
                env=env, cwd=path)
    assert res.returncode == 0 and res.stdout == "" and res.stderr == "", res
    pid = read_pid(f"{path}/pid")
    assert json.loads(_call(launcher, "state", name).stdout)["status"] == "created"
    assert _call(launcher, "start", name).returncode == 0
    state = json.loads(_call(launcher, "state", name).stdout)
    assert (state["status"], state["pid"], state["bundle"]) == ("running", pid, path)

    assert _call(launcher, "kill", name).returncode == 0  # default TERM: ignored
    time.sleep(0.3)
    assert json.loads(_call(launcher, "state", name).stdout)["status"] == "running"
    assert _call(launcher, "kill", name, "SIGKILL").returncode == 0
    assert reap(pid) == -9
    assert json.loads(_call(launcher, "state", name).stdout)["status"] == "stopped"
    res = _call(launcher, "kill", name, "9")
    assert res.returncode != 0 and "container not running" in res.stderr, res
    assert _call(launcher, "delete", name).returncode == 0
    res = _call(launcher, "state", name)
    assert res.returncode != 0 and f'container "{name}" does not exist' in res.stderr


@pytest.mark.root
def test_podman_cleanup_delete_without_environment(launcher, bundle):
    """`delete --force` with an empty environment removes a running container;
    again on the now unknown id it still exits 0."""
    path = bundle(["sleep", "100"])
    assert _call(launcher, "create", "--bundle", path, "--pid-file", f"{path}/pid",
                 "c1").returncode == 0
    pid = read_pid(f"{path}/pid")
    assert _call(launcher, "start", "c1").returncode == 0
    assert _call(launcher, "delete", "--force", "c1").returncode == 0
    assert reap(pid) == -9
    assert _call(launcher, "delete", "--force", "c1").returncode == 0


@pytest.mark.root
def test_a_callers_root_wins_over_the_baked_in_one(launcher, bundle, workdir):
    """containerd's shim passes --root itself: state goes there, not to the default."""
    path = bundle(["true"])
    other = os.path.join(workdir, "shim-root")
    log = os.path.join(path, "log.json")
    res = _call(launcher, "--root", other, "--log", log, "--log-format", "json", "create",
                "--bundle", path, "--pid-file", f"{path}/init.pid", "c2")
    assert res.returncode == 0, res
    assert os.listdir(other) == ["c2"]
    assert not os.path.exists(os.path.join(workdir, "state", "c2"))
    pid = read_pid(f"{path}/init.pid")
    assert _call(launcher, "--root", other, "delete", "c2").returncode == 0
    reap(pid)
    assert os.listdir(other) == []
