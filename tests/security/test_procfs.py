"""procfs and sysfs through descriptors the runtime checked (CVE-2025-52881, finding 3).

After pivot_root the container's `/proc` is a path the image or a racing process
can redirect: a `/proc` that is a symlink into a volume (4c-vol), or the folder
procfs was mounted on renamed away and replaced by a tree of symlinks (4c-root,
4c-race). The race is made deterministic with a createRuntime hook: it runs on
the host after the init made its mounts and before it pivots and applies the
sysctls, masks and read-only paths, exactly the window a racing container uses.
Every probe writes only to the container's own namespaces (its hostname and
domainname, its own oom_score_adj); the host's are checked unchanged.
"""

from __future__ import annotations

import json
import os

import pytest

pytestmark = [pytest.mark.root, pytest.mark.busybox]

#: The host sees these before and after: nothing a test does may change them.
HOST_FILES = ("/proc/sys/kernel/hostname", "/proc/sys/kernel/domainname",
              "/proc/sys/kernel/core_pattern")


def _host_snapshot() -> dict[str, str]:
    result = {}
    for path in HOST_FILES:
        with open(path) as f:
            result[path] = f.read()
    return result


def _edit(bundle_path: str, change) -> None:
    path = os.path.join(bundle_path, "config.json")
    with open(path) as f:
        doc = json.load(f)
    change(doc)
    with open(path, "w") as f:
        json.dump(doc, f)


def _one_error(res, log_path: str, *words: str) -> None:
    """exit 1, one line on stderr, one JSON object in --log, naming `words`."""
    assert res.code == 1, res
    lines = res.err.strip().splitlines()
    assert len(lines) == 1, res.err
    for word in words:
        assert word in lines[0], lines[0]
    with open(log_path) as f:
        entries = [json.loads(line) for line in f if line.strip()]
    assert [e["level"] for e in entries] == ["error"], entries


@pytest.mark.parametrize("kind,dest", [("proc", "/proc"), ("sysfs", "/sys")])
def test_proc_or_sys_destination_symlinked_into_a_volume_is_refused(
        runtime, bundle, workdir, kind, dest):
    """4c-vol: the image's /proc (or /sys) is a symlink into a volume mounted before
    it; runc refuses such a destination since CVE-2023-28642, and so does create:
    one clear error, nothing left behind (the runtime fixture checks), the
    volume untouched."""
    volume = os.path.join(workdir, f"vol-{kind}")
    os.makedirs(os.path.join(volume, "p"))
    b = bundle(["true"])
    rootfs = os.path.join(b, "rootfs")
    os.rmdir(os.path.join(rootfs, dest.lstrip("/")))
    os.symlink("/vol/p", os.path.join(rootfs, dest.lstrip("/")))

    def change(doc):
        doc["mounts"].insert(0, {"destination": "/vol", "type": "bind", "source": volume,
                                 "options": ["rbind"]})
    _edit(b, change)
    log = os.path.join(workdir, f"log-{kind}.json")
    res = runtime("create", "--bundle", b, "c4cvol", globals_=("--log", log,
                                                               "--log-format", "json"))
    _one_error(res, log, dest, "symlink")
    assert os.listdir(volume) == ["p"] and os.listdir(os.path.join(volume, "p")) == []


# The attacker, on the host (a container sharing the rootfs folder in the real
# attack): procfs is mounted on ROOT/proc in the container's mount namespace;
# renaming that folder moves the mount to /real there, and /proc becomes this
# tree, where oom_score_adj leads to the container's hostname, the sysctl lands
# in a plain file and /proc/self/fd (what mounts by fd went through) still works.
RENAME_PROC = """set -e
mv {root}/proc {root}/real
mkdir -p {root}/proc/self {root}/proc/sys/kernel
ln -s /real/sys/kernel/hostname {root}/proc/self/oom_score_adj
ln -s /real/self/fd {root}/proc/self/fd
echo decoy > {root}/proc/sys/kernel/domainname
"""

PROBE = """cat /real/self/oom_score_adj; hostname; cat /real/sys/kernel/domainname
stat -c '%F %t:%T' /real/timer_list; ls /real/acpi | wc -l
if echo x 2>/dev/null > /real/sys/kernel/hostname; then echo sys-writable; else echo sys-ro; fi
"""


def test_proc_folder_renamed_away_after_the_mount_does_not_fool_the_runtime(
        runtime, bundle):
    """4c-root / 4c-race: whatever the container's /proc has become, the runtime's
    oom_score_adj write, sysctl, masks and read-only /proc/sys all reach the
    procfs it mounted (now at /real in the container), not the attacker's tree."""
    before = _host_snapshot()
    b = bundle(["sh", "-c", PROBE], process={"oomScoreAdj": 500})
    rootfs = os.path.join(b, "rootfs")

    def change(doc):
        doc["linux"]["sysctl"] = {"kernel.domainname": "pj-sysctl"}
        doc["hooks"] = {"createRuntime": [{"path": "/bin/sh", "args": [
            "sh", "-c", RENAME_PROC.format(root=rootfs)]}]}
    _edit(b, change)
    res = runtime("run", "--bundle", b, "c4croot")
    assert res.code == 0, res
    assert res.out.split("\n")[:6] == [
        "500",                          # oom_score_adj of the container's process
        "pyocijail",                    # its hostname was not overwritten with "500"
        "pj-sysctl",                    # the sysctl reached the real procfs
        "character special file 1:3",  # /proc/timer_list masked by /dev/null
        "0",                            # /proc/acpi masked by an empty tmpfs
        "sys-ro",                       # /proc/sys read-only
    ], res
    assert os.path.isdir(os.path.join(rootfs, "real"))  # the attack did happen
    assert _host_snapshot() == before


def test_masked_path_the_host_has_but_the_container_lacks_is_an_error(
        runtime, bundle, workdir):
    """A masked or read-only path that the host's /proc has but the procfs the
    runtime mounted lacks (here: `subset=pid` hides it) is an error, not a silent
    skip; one the host itself lacks (a kernel without that file) is skipped."""
    b = bundle(["true"])

    def lacking_on_host(doc):
        doc["linux"]["maskedPaths"].append("/proc/pyocijail-no-such-file")
        doc["linux"]["readonlyPaths"].append("/sys/pyocijail-no-such-dir")
    _edit(b, lacking_on_host)
    assert runtime("run", "--bundle", b, "cmiss1").code == 0

    def hidden_in_container(doc):
        doc["mounts"][0]["options"] = ["subset=pid"]
        doc["linux"]["readonlyPaths"] = []
        doc["linux"]["maskedPaths"] = ["/proc/timer_list"]
    _edit(b, hidden_in_container)
    log = os.path.join(workdir, "log-miss.json")
    res = runtime("run", "--bundle", b, "cmiss2", globals_=("--log", log,
                                                            "--log-format", "json"))
    _one_error(res, log, "/proc/timer_list", "the host has it")


def test_exec_oom_score_adj_does_not_go_through_the_containers_proc(runtime, bundle, workdir):
    """After the same rename, the container's /proc stays the attacker's tree; an
    exec'd process with oomScoreAdj writes its own oom_score_adj (through the host's
    procfs, opened before it joins), not the file that tree points at."""
    before = _host_snapshot()
    b = bundle(["sleep", "60"])
    rootfs = os.path.join(b, "rootfs")

    def change(doc):
        doc["hooks"] = {"createRuntime": [{"path": "/bin/sh", "args": [
            "sh", "-c", RENAME_PROC.format(root=rootfs)]}]}
    _edit(b, change)
    runtime.ok("create", "--bundle", b, "c4cexec")
    runtime.ok("start", "c4cexec")
    proc = os.path.join(workdir, "process.json")
    with open(proc, "w") as f:
        json.dump({"args": ["sh", "-c", "cat /real/self/oom_score_adj; hostname"],
                   "cwd": "/", "env": ["PATH=/bin"], "user": {"uid": 0, "gid": 0},
                   "oomScoreAdj": 321}, f)
    res = runtime("exec", "--process", proc, "c4cexec")
    assert (res.code, res.out.split()) == (0, ["321", "pyocijail"]), res
    runtime.ok("delete", "--force", "c4cexec")
    assert _host_snapshot() == before
