"""What the Linux cgroup tests share: a bundle with the cgroup mount, the host's view.

A module, not a conftest or a test module, so that tests import it (test_cgroups,
test_events, test_userns, test_podman_config and linux/conftest.py's `cid`).
"""

from __future__ import annotations

import os

CGROUP_MOUNT = {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
                "options": ["rprivate", "nosuid", "noexec", "nodev", "relatime", "ro"]}


def make(bundle, args, linux_section, resources=None, process=None, **linux):
    from pyocijail.lifecycle.defaults import linux_config

    section = dict(linux_section, **linux)
    section["resources"] = dict(section.get("resources", {}), **(resources or {}))
    mounts = linux_config(["true"])["mounts"] + [CGROUP_MOUNT]
    return bundle(args, linux=section, mounts=mounts, process=process or {})


def host_dir(controller, cid, parent=None):
    """The container's cgroup on the host: under /pyocijail-<hash of its state root>
    (the default parent for any root but /var/run/pyocijail) unless `parent` says."""
    if parent is None:
        import glob

        found = glob.glob(f"/sys/fs/cgroup/{controller}/pyocijail-*/{cid}")
        assert len(found) == 1, found
        return found[0]
    return f"/sys/fs/cgroup/{controller}/{parent}/{cid}"


def read(path):
    with open(path) as f:
        return f.read().strip()


def cgroup_leftovers(name: str) -> list[str]:
    """Directories called `name` (or ending in it) in any cgroup hierarchy, 3 levels deep."""
    import glob

    found = []
    for depth in ("*", "*/*", "*/*/*"):
        found += [p for p in glob.glob(f"/sys/fs/cgroup/*/{depth}")
                  if os.path.basename(p).endswith(name) and os.path.isdir(p)]
    return found
