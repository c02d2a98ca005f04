"""Masked paths and /dev (CVE-2025-31133, finding 5, attack 4a).

Files are masked by binding /dev/null over them. If the container's /dev/null
is not the null device (an image symlink to another file, a node with other
numbers, a swap after the runtime made it), the "mask" shows that file instead:
`/proc/timer_list` was covered by `/proc/sys/kernel/hostname`. The runtime must
replace a /dev entry that is not the configured device (image /dev, a /dev
volume), bind only a /dev/null it opened O_PATH|O_NOFOLLOW and found to be the
character device 1:3, and otherwise fail with one clear error.
"""

from __future__ import annotations

import json
import os
import stat

import pytest

pytestmark = [pytest.mark.root, pytest.mark.busybox]

#: Where the hostile /dev/null points (a file every procfs has, namespaced).
DECOY = "/proc/sys/kernel/hostname"
PROBE = "stat -c '%F %t:%T' /dev/null /proc/timer_list /dev/zero; wc -c < /proc/timer_list"
EXPECTED = ["character special file 1:3", "character special file 1:3",
            "character special file 1:5", "0"]


def _host_hostname() -> str:
    with open("/proc/sys/kernel/hostname") as f:
        return f.read()


def _without_dev_tmpfs(b: str, replacement: dict | None = None) -> None:
    path = os.path.join(b, "config.json")
    with open(path) as f:
        doc = json.load(f)
    mounts = []
    for m in doc["mounts"]:
        if m["destination"] != "/dev":
            mounts.append(m)
        elif replacement is not None:
            mounts.append(replacement)
    doc["mounts"] = mounts
    with open(path, "w") as f:
        json.dump(doc, f)


def _add_hook(b: str, script: str) -> None:
    path = os.path.join(b, "config.json")
    with open(path) as f:
        doc = json.load(f)
    doc["hooks"] = {"createRuntime": [{"path": "/bin/sh", "args": ["sh", "-c", script]}]}
    with open(path, "w") as f:
        json.dump(doc, f)


def _lines(res) -> list[str]:
    assert res.code == 0, res
    return res.out.strip().splitlines()


def test_image_dev_null_symlink_is_replaced_before_masking(runtime, bundle):
    """4a-img: no /dev tmpfs, the image's /dev/null is a symlink: it is replaced by
    the device, and /proc/timer_list is masked by the real null device."""
    before = _host_hostname()
    b = bundle(["sh", "-c", PROBE])
    _without_dev_tmpfs(b)
    os.symlink(DECOY, os.path.join(b, "rootfs/dev/null"))
    assert _lines(runtime("run", "--bundle", b, "c4aimg")) == EXPECTED
    assert _host_hostname() == before


def test_dev_volume_with_a_symlinked_null_is_replaced_before_masking(runtime, bundle, workdir):
    """4a-vol: /dev is a volume (a host folder) whose `null` is a symlink: replaced
    by the device in the container; the host's file of that name untouched."""
    before = _host_hostname()
    volume = os.path.join(workdir, "devvol")
    os.mkdir(volume)
    os.symlink(DECOY, os.path.join(volume, "null"))
    b = bundle(["sh", "-c", PROBE])
    _without_dev_tmpfs(b, {"destination": "/dev", "type": "bind", "source": volume,
                           "options": ["rbind"]})
    assert _lines(runtime("run", "--bundle", b, "c4avol")) == EXPECTED
    assert stat.S_ISCHR(os.lstat(os.path.join(volume, "null")).st_mode)
    assert _host_hostname() == before


def test_dev_entries_of_the_wrong_kind_are_replaced(runtime, bundle):
    """An image /dev entry that is not the device the config names (a regular file,
    a node with other numbers) is replaced, not kept."""
    b = bundle(["sh", "-c", PROBE])
    _without_dev_tmpfs(b)
    dev = os.path.join(b, "rootfs/dev")
    with open(os.path.join(dev, "null"), "w") as f:
        f.write("not a device")
    os.mknod(os.path.join(dev, "zero"), stat.S_IFCHR | 0o666, os.makedev(1, 3))
    assert _lines(runtime("run", "--bundle", b, "c4akind")) == EXPECTED


def test_dev_null_swapped_after_it_was_made_is_refused(runtime, bundle, workdir):
    """4a-race: /dev/null is replaced by a symlink after the runtime made it and
    before the masks (a createRuntime hook, standing for a racing container that
    shares the rootfs): create fails with one clear error, nothing is left."""
    before = _host_hostname()
    b = bundle(["true"])
    _without_dev_tmpfs(b)
    null = os.path.join(b, "rootfs/dev/null")
    _add_hook(b, f"rm -f {null} && ln -s {DECOY} {null}")
    log = os.path.join(workdir, "log.json")
    res = runtime("create", "--bundle", b, "c4arace", globals_=("--log", log,
                                                                 "--log-format", "json"))
    assert res.code == 1, res
    lines = res.err.strip().splitlines()
    assert len(lines) == 1 and "/dev/null is not the character device 1:3" in lines[0], res
    with open(log) as f:
        assert [json.loads(line)["level"] for line in f if line.strip()] == ["error"]
    assert _host_hostname() == before
