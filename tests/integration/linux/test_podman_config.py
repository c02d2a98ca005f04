"""podman 4.3.1's own config.json (tests/fixtures/podman) under pyocijail, and against runc."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time

import pytest

from pyocijail.testing import bundles
from tests.integration.linux.cgroupfs import cgroup_leftovers
from tests.integration.linux.podman_config import make_podman_bundle

pytestmark = [pytest.mark.root, pytest.mark.busybox, pytest.mark.cgroup_v1]

RUNC = "/usr/sbin/runc"
PODMAN_CAPS = ["CAP_AUDIT_WRITE", "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID",
               "CAP_KILL", "CAP_MKNOD", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_SETFCAP",
               "CAP_SETGID", "CAP_SETPCAP", "CAP_SETUID", "CAP_SYS_CHROOT"]
PROBE = ("echo pid=$$; grep -E '^(Cap|Seccomp:|NoNewPrivs)' /proc/self/status; "
         "echo limits $(cat /sys/fs/cgroup/memory/memory.limit_in_bytes "
         "/sys/fs/cgroup/pids/pids.max); "
         "echo x > /proc/sys/kernel/domainname 2>/dev/null || echo procsys=ro; "
         "echo keys=$(cat /proc/keys | wc -c); echo acpi=$(ls /proc/acpi | wc -l); "
         "echo dev=$(ls /dev | tr '\\n' ' '); cat /proc/self/mountinfo")
MEMORY = {"limit": 64 << 20, "swap": 128 << 20}


def podman_bundle(workdir, cid, cgroups_path=None, args=("sh", "-c", PROBE)):
    b = make_podman_bundle(os.path.join(workdir, "podman-" + cid), list(args), cid, cgroups_path)
    with open(os.path.join(b, "config.json")) as f:
        doc = json.load(f)
    doc["linux"]["resources"]["memory"] = dict(MEMORY)  # as `podman run --memory 64m`
    bundles.write_config(b, doc)
    return b


def parse(out: str) -> dict:
    """What the probe printed, normalised so runs of two runtimes compare equal."""
    seen: dict = {"mounts": {}}
    for line in out.splitlines():
        if " - " in line and line[0].isdigit():
            left, right = line.split(" - ", 1)
            f = left.split()
            root = f[3].split("/userdata/")[-1]  # bind sources live in per-run dirs
            seen["mounts"][f[4]] = (root, f[5], right.split()[0])
        elif ":" in line and line.split(":")[0] in ("CapInh", "CapPrm", "CapEff", "CapBnd",
                                                     "CapAmb", "Seccomp", "NoNewPrivs"):
            key, value = line.split(":", 1)
            seen[key] = value.strip()
        elif "=" in line or line.startswith("limits"):
            key, _, value = line.replace("limits ", "limits=").partition("=")
            seen[key] = value.strip()
    return seen


ISOLATION_KEYS = ("pid", "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "Seccomp",
                  "NoNewPrivs", "limits", "procsys", "keys", "acpi", "dev")
CHECKED_MOUNTS = ("/proc", "/proc/sys", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/asound",
                  "/proc/sysrq-trigger", "/proc/acpi", "/proc/keys", "/proc/kcore",
                  "/proc/timer_list", "/proc/scsi", "/sys", "/sys/firmware", "/sys/dev/block",
                  "/dev", "/dev/pts", "/dev/mqueue", "/dev/shm", "/etc/hosts",
                  "/run/.containerenv", "/etc/hostname")


def test_podman_default_config_is_isolated(runtime, cid, workdir):
    """pid 1, podman's capabilities only, seccomp mode 2, masked and read-only /proc
    paths, the memory and pids limits in its own cgroup."""
    b = podman_bundle(workdir, cid)
    res = runtime("run", "--bundle", b, cid)
    assert res.code == 0, res
    seen = parse(res.out)
    from pyocijail.backends.linux import capabilities

    mask = sum(1 << capabilities.NUMBERS[c] for c in PODMAN_CAPS)
    assert seen["pid"] == "1"
    assert seen["CapEff"] == seen["CapPrm"] == seen["CapBnd"] == f"{mask:016x}"
    assert seen["CapAmb"] == seen["CapInh"] == "0" * 16
    assert seen["Seccomp"] == "2" and seen["NoNewPrivs"] == "0"
    assert seen["limits"] == f"{64 << 20} 2048"
    assert seen["procsys"] == "ro" and seen["keys"] == "0" and seen["acpi"] == "0"
    assert seen["mounts"]["/proc/sys"][1].startswith("ro,")
    assert seen["mounts"]["/proc/keys"][0] == "/null"
    assert seen["mounts"]["/sys/firmware"][2] == "tmpfs"
    assert cgroup_leftovers(f"libpod-{cid}") == []


def test_podman_config_pause_resume_exec_and_delete(runtime, cid, workdir):
    b = podman_bundle(workdir, cid, args=("sleep", "30"))
    runtime.ok("create", "--bundle", b, cid)
    assert len(cgroup_leftovers(f"libpod-{cid}")) == 10
    runtime.ok("start", cid)
    out = runtime("exec", cid, "sh", "-c", "grep -E '^(Seccomp|CapEff):' /proc/self/status")
    assert out.code == 0 and "Seccomp:\t2" in out.out, out
    runtime.ok("pause", cid)
    assert runtime.status(cid) == "paused"
    with open(f"/sys/fs/cgroup/freezer/libpod_parent/libpod-{cid}/freezer.state") as f:
        assert f.read().strip() == "FROZEN"
    runtime.ok("resume", cid)
    assert runtime.status(cid) == "running"
    runtime.ok("kill", cid, "KILL")
    deadline = time.monotonic() + 5
    while runtime.status(cid) != "stopped" and time.monotonic() < deadline:
        time.sleep(0.02)
    runtime.ok("delete", cid)
    assert runtime.ids() == [] and cgroup_leftovers(f"libpod-{cid}") == []


@pytest.mark.skipif(not os.access(RUNC, os.X_OK), reason="runc is not installed")
def test_podman_config_isolation_matches_runc(runtime, cid, workdir):
    """The same bundle under runc 1.1 and under pyocijail: same capabilities, seccomp,
    no_new_privs, limits, and the same flags on every proc/sys/dev mount."""
    b = podman_bundle(workdir, cid)
    ours = runtime("run", "--bundle", b, cid)
    assert ours.code == 0, ours
    parent = f"{cid}-runc"
    runc_bundle = podman_bundle(workdir, cid + "r", cgroups_path=f"/{parent}/{cid}")
    root = tempfile.mkdtemp(prefix="runc-", dir=workdir)
    try:
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            proc = subprocess.run([RUNC, "--root", root, "run", "-b", runc_bundle, cid + "r"],
                                  stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                  timeout=60, check=False)
            out.seek(0)
            err.seek(0)
            theirs_out, theirs_err = out.read().decode(), err.read().decode()
        assert proc.returncode == 0, theirs_err
    finally:
        subprocess.run([RUNC, "--root", root, "delete", "--force", cid + "r"],
                       capture_output=True, check=False)
        shutil.rmtree(root, ignore_errors=True)
        for d in sorted(cgroup_leftovers(parent) + cgroup_leftovers(cid), key=len,
                        reverse=True):
            try:
                os.rmdir(d)
            except OSError:
                pass
    a, b_ = parse(ours.out), parse(theirs_out)
    for key in ISOLATION_KEYS:
        assert a.get(key) == b_.get(key), (key, a.get(key), b_.get(key))
    for point in CHECKED_MOUNTS:
        assert a["mounts"].get(point) == b_["mounts"].get(point), (point, a["mounts"].get(
            point), b_["mounts"].get(point))
