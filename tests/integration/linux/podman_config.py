"""Bundles made from the config.json podman 4.3.1 generates (tests/fixtures/podman)."""

from __future__ import annotations

import json
import os
from typing import Any

from pyocijail.testing import bundles

FIXTURE = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "podman",
                       "config.json")


def podman_config(container_id: str, userdata: str) -> dict[str, Any]:
    with open(FIXTURE, encoding="utf-8") as f:
        text = f.read()
    return json.loads(text.replace("@USERDATA@", userdata).replace("@ID@", container_id))


def make_podman_bundle(path: str, args: list[str], container_id: str,
                       cgroups_path: str | None = None) -> str:
    """A bundle with a busybox rootfs and podman's config running `args`.

    `cgroups_path` replaces podman's /libpod_parent/libpod-<id> (e.g. so runc
    and pyocijail runs of one test do not share a cgroup).
    """
    os.makedirs(path, exist_ok=True)
    rootfs = bundles.make_rootfs(os.path.join(path, "rootfs"))
    os.makedirs(os.path.join(rootfs, "run"), exist_ok=True)
    userdata = os.path.join(path, "userdata")
    os.makedirs(os.path.join(userdata, "shm"), exist_ok=True)
    for name, text in (("hosts", "127.0.0.1 localhost\n"), ("hostname", "podmanfix\n"),
                       (".containerenv", 'engine="podman-4.3.1"\n')):
        with open(os.path.join(userdata, name), "w") as f:
            f.write(text)
    doc = podman_config(container_id, userdata)
    doc["process"]["args"] = list(args)
    if cgroups_path is not None:
        doc["linux"]["cgroupsPath"] = cgroups_path
    bundles.write_config(path, doc)
    return path
