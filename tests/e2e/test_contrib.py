"""The files in contrib/ work as shipped, used the way the README says: the
launcher written by `python -m pyocijail.launcher`, the containers.conf snippets
and the containerd snippet."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import tomllib

import pytest

from tests.helpers import IMAGE

CONTRIB = os.path.join(os.path.dirname(__file__), "..", "..", "contrib")


def _contrib(name):
    return os.path.join(CONTRIB, name)


def install_launcher(dest, root):
    """What the README says to run: `python -m pyocijail.launcher --output DEST --root R`."""
    res = subprocess.run([sys.executable, "-m", "pyocijail.launcher", "--output", dest,
                          "--root", root], capture_output=True, text=True, check=False)
    assert (res.returncode, res.stdout, res.stderr) == (0, "", ""), res
    return dest


def test_installed_launcher_runs_without_any_environment(tmp_path):
    """The launcher works with no PATH at all (podman's cleanup delete)."""
    launcher = install_launcher(str(tmp_path / "bin" / "pyocijail"), str(tmp_path / "state"))
    assert os.stat(launcher).st_mode & 0o777 == 0o755
    res = subprocess.run([launcher, "--version"], env={}, capture_output=True, text=True,
                         check=False)
    assert res.returncode == 0 and res.stdout.startswith("pyocijail version"), res
    res = subprocess.run([launcher, "delete", "--force", "nothing-here"], env={},
                         capture_output=True, text=True, check=False)
    assert (res.returncode, res.stdout, res.stderr) == (0, "", ""), res


def test_readme_installs_the_launcher_with_the_module():
    """The README's launcher instructions are the module's, not a hand-edited copy."""
    with open(os.path.join(CONTRIB, "..", "README.md")) as f:
        readme = f.read()
    assert "-m pyocijail.launcher --output /usr/local/bin/pyocijail" in readme
    assert not os.path.exists(_contrib("pyocijail.launcher"))


@pytest.mark.parametrize("name,others", [("containers.conf.linux", {"crun", "runc"}),
                                         ("containers.conf.freebsd", {"ocijail"})])
def test_containers_conf_snippets(name, others):
    """Valid TOML; the runtime is registered and listed for JSON error logs,
    without dropping the platform's usual runtimes from that list (listed, or kept
    from podman's built-in list by podman 5's `{append=true}`)."""
    with open(_contrib(name), "rb") as f:
        conf = tomllib.load(f)
    engine = conf["engine"]
    assert engine["runtimes"]["pyocijail"][0].startswith("/")
    listed = engine["runtime_supports_json"]
    names = {x for x in listed if isinstance(x, str)}
    assert "pyocijail" in names
    assert {"append": True} in listed or others <= names


def test_containerd_snippet_is_accepted_by_containerd(tmp_path):
    """`containerd config dump` merges the snippet into a runc-shim runtime."""
    if shutil.which("containerd") is None:
        pytest.skip("containerd not installed")
    with open(_contrib("containerd-config.toml")) as f:
        text = f.read()
    conf = tomllib.loads(text)
    rt = conf["plugins"]["io.containerd.grpc.v1.cri"]["containerd"]["runtimes"]["pyocijail"]
    assert rt["runtime_type"] == "io.containerd.runc.v2"
    assert rt["options"]["BinaryName"].startswith("/")
    # keep the check away from /var/lib/containerd: a temp root and state
    text = text.replace("version = 2", f'version = 2\nroot = "{tmp_path}/root"\n'
                        f'state = "{tmp_path}/state"', 1)
    (tmp_path / "config.toml").write_text(text)
    res = subprocess.run(["containerd", "--config", str(tmp_path / "config.toml"), "config",
                          "dump"], capture_output=True, text=True, timeout=30, check=False)
    assert res.returncode == 0, res
    dumped = tomllib.loads(res.stdout)
    got = dumped["plugins"]["io.containerd.grpc.v1.cri"]["containerd"]["runtimes"]["pyocijail"]
    assert got["runtime_type"] == "io.containerd.runc.v2"
    assert got["options"]["BinaryName"] == rt["options"]["BinaryName"]


@pytest.mark.podman
@pytest.mark.root
def test_podman_with_the_linux_snippet(busybox_rootfs):
    """containers.conf.linux + the launcher: `podman --runtime pyocijail` by name runs a
    container, and the runtime's error text reaches the user (JSON log)."""
    from pyocijail.testing.clients.podman import PodmanEnv

    base = tempfile.mkdtemp(prefix="pyocijail-e2e-contrib-")
    launcher = os.path.join(base, "bin", "contrib-pyocijail")
    with open(_contrib("containers.conf.linux"), "rb") as f:
        snippet = tomllib.load(f)["engine"]
    overlay = {"engine": {"runtime": None,
                          "runtime_supports_json": snippet["runtime_supports_json"]},
               "engine.runtimes": {"pyocijail": [launcher]}}
    env = PodmanEnv.create(base, conf_overlay=overlay, runtime="pyocijail")
    install_launcher(launcher, env.state)
    snap = env.host_snapshot()
    try:
        env.import_rootfs(busybox_rootfs, IMAGE)
        info = env.ok("info", "--format", "{{.Host.OCIRuntime.Name}} {{.Host.OCIRuntime.Path}}")
        assert info.out.split() == ["pyocijail", launcher]
        res = env("run", "--rm", IMAGE, "echo", "via-snippet")
        assert (res.code, res.out) == (0, "via-snippet\n"), res
        res = env("run", "--rm", IMAGE, "no-such-command")
        assert res.code == 127
        # the runtime's own words reach the user, prefixed by the runtime's name
        assert 'pyocijail: exec: "no-such-command": executable file not found' in res.err, res
        assert [n for n in os.listdir(env.state) if not n.startswith(".")] == []  # containers
    finally:
        env.remove_all_containers()
        left = snap.wait_clean((env.state,))
        problems = env.teardown()
    assert not left and not problems, (left, problems)
