"""Standalone buildah in a fully isolated temporary configuration, pyocijail as its runtime.

Like `PodmanEnv`: storage, run root, TMPDIR (buildah's bundles and its
`RUN --mount=type=cache` directories go there), containers.conf,
storage.conf and registries.conf all live under one temp dir; no registry
is used (the busybox image is made with `buildah from scratch` + `copy` +
`commit`). buildah does not apply containers.conf's `env`, so `run` adds
`PYOCIJAIL_E2E=<token>` to each container itself for the leak check.

    env = BuildahEnv.create(tempfile.mkdtemp())
    env.import_rootfs(rootfs_dir, "localhost/busybox:latest")
    ctr = env.ok("from", "localhost/busybox").out.strip()
    env.run(ctr, "echo", "hi")
    env.teardown()
"""

from __future__ import annotations

import os

from pyocijail.testing.clients.driver import Result
from pyocijail.testing.clients.hostcheck import HostSnapshot
from pyocijail.testing.clients.podman import PodmanEnv

BUILDAH = "buildah"


class BuildahEnv(PodmanEnv):
    """buildah over the same isolated storage and configuration as `PodmanEnv`;
    what differs is its command line, how an image is made, and its containers."""

    TOOL = BUILDAH

    # -- running buildah -----------------------------------------------------------

    def argv(self, *args: str) -> list[str]:
        return [BUILDAH, "--root", f"{self.base}/root", "--runroot", f"{self.base}/runroot",
                "--storage-driver", "overlay", *args]

    def run_args(self, container: str, *command: str, options: tuple[str, ...] = ()) -> list[str]:
        """`buildah run` through the runtime (`--isolation oci`), with the session token.

        `--network none`: buildah ignores containers.conf's netns and network_config_dir
        and would otherwise set up the host's CNI bridge and firewall chains."""
        return ["run", "--isolation", "oci", "--runtime", self.runtime, "--network", "none",
                "--env", f"PYOCIJAIL_E2E={self.token}", *options, container, "--", *command]

    def run(self, container: str, *command: str, options: tuple[str, ...] = (),
            input: str | None = None) -> Result:
        return self(*self.run_args(container, *command, options=options), input=input)

    def import_rootfs(self, rootfs: str, ref: str) -> None:
        ctr = self.ok("from", "scratch").out.strip()
        try:
            self.ok("copy", ctr, rootfs + "/", "/")
            self.ok("commit", "-q", ctr, ref)
        finally:
            self("rm", ctr)

    def container_ids(self) -> list[str]:
        return self.ok("containers", "-q", "--notruncate").out.split()

    # -- clean-up ------------------------------------------------------------------

    def remove_all_containers(self) -> None:
        self("rm", "-a", timeout=60)

    def cgroup_parent(self) -> str:
        """The cgroup pyocijail puts buildah's containers under (they name none)."""
        from pyocijail.backends.linux.cgroups import default_parent

        return default_parent(self.state).strip("/")

    def our_cgroups(self) -> set[str]:
        """Directories under that parent, in every hierarchy (none once all is deleted)."""
        import glob

        parent = self.cgroup_parent()
        tops = glob.glob(f"/sys/fs/cgroup/{parent}") + glob.glob(f"/sys/fs/cgroup/*/{parent}")
        return {d for top in tops for d, _, _ in os.walk(top)}

    def host_snapshot(self) -> HostSnapshot:
        # The overlay driver's home (<graphroot>/overlay) is a bind mount of itself that
        # lives as long as the storage is used; teardown unmounts it.
        return HostSnapshot(self.base, (self.base, f"PYOCIJAIL_E2E={self.token}"),
                            ignore_mounts=(f"{self.base}/root/overlay",))
