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
import shutil
import subprocess
import uuid
from typing import Any

from pyocijail.testing.driver import Result
from pyocijail.testing.hostcheck import (
    CallLog,
    HostSnapshot,
    cgroup_dirs,
    remove_cgroups,
    unmount_under,
    write_launcher,
)
from pyocijail.testing.podman import STORAGE_CONF, containers_conf, dump_toml

BUILDAH = "buildah"


class BuildahEnv(CallLog):
    def __init__(self, base: str) -> None:
        self.base = os.path.abspath(base)
        self.state = os.path.join(self.base, "state")
        self.calls = os.path.join(self.base, "calls.log")
        self.launcher = os.path.join(self.base, "bin", "pyocijail")
        self.runtime = self.launcher
        self.token = uuid.uuid4().hex
        self.env: dict[str, str] = {}
        self.cgroups_before: set[str] = set()

    @classmethod
    def create(cls, base: str) -> BuildahEnv:
        import sys

        self = cls(base)
        for d in ("root", "runroot", "tmp", "conf", "state", "bin"):
            os.makedirs(os.path.join(self.base, d), exist_ok=True)
        write_launcher(os.path.dirname(self.launcher), self.state, python=sys.executable,
                       call_log=self.calls)
        conf = os.path.join(self.base, "conf")
        with open(os.path.join(conf, "containers.conf"), "w") as f:
            f.write(dump_toml(containers_conf(self.base, self.launcher, self.token)))
        with open(os.path.join(conf, "storage.conf"), "w") as f:
            f.write(STORAGE_CONF.format(base=self.base))
        with open(os.path.join(conf, "registries.conf"), "w") as f:
            f.write("unqualified-search-registries = []\n")
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("CONTAINERS_", "PYTHON", "BUILDAH_"))}
        env.update(CONTAINERS_CONF=os.path.join(conf, "containers.conf"),
                   CONTAINERS_STORAGE_CONF=os.path.join(conf, "storage.conf"),
                   CONTAINERS_REGISTRIES_CONF=os.path.join(conf, "registries.conf"),
                   TMPDIR=os.path.join(self.base, "tmp"))
        self.env = env
        self.cgroups_before = cgroup_dirs()
        return self

    # -- running buildah -----------------------------------------------------------

    def argv(self, *args: str) -> list[str]:
        return [BUILDAH, "--root", f"{self.base}/root", "--runroot", f"{self.base}/runroot",
                "--storage-driver", "overlay", *args]

    def __call__(self, *args: str, input: str | None = None, timeout: float = 120) -> Result:
        proc = subprocess.run(self.argv(*args), input=input, capture_output=True, text=True,
                              env=self.env, timeout=timeout,
                              stdin=None if input is not None else subprocess.DEVNULL,
                              check=False)
        return Result(proc.returncode, proc.stdout, proc.stderr)

    def ok(self, *args: str, **kwargs: Any) -> Result:
        res = self(*args, **kwargs)
        if res.code != 0:
            raise AssertionError(f"buildah {' '.join(args)} failed: {res}\n{self.tail_calls()}")
        return res

    def run_argv(self, container: str, *command: str, options: tuple[str, ...] = ()) -> list[str]:
        """`buildah run` through the runtime (`--isolation oci`), with the session token.

        `--network none`: buildah ignores containers.conf's netns and network_config_dir
        and would otherwise set up the host's CNI bridge and firewall chains."""
        return self.argv("run", "--isolation", "oci", "--runtime", self.runtime,
                         "--network", "none", "--env", f"PYOCIJAIL_E2E={self.token}",
                         *options, container, "--", *command)

    def run(self, container: str, *command: str, options: tuple[str, ...] = (),
            input: str | None = None) -> Result:
        argv = self.run_argv(container, *command, options=options)
        return self(*argv[len(self.argv()):], input=input)

    def popen(self, argv: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        return subprocess.Popen(argv, env=self.env, **kwargs)

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

    def teardown(self) -> list[str]:
        """Remove every container and image, mounts, new cgroups, the temp dir.

        Returns what could not be removed (for the report).
        """
        problems = []
        try:
            self.remove_all_containers()
            self("rmi", "-a", "-f", timeout=60)
        except (OSError, subprocess.SubprocessError) as err:
            problems.append(f"buildah clean-up: {err}")
        unmount_under(self.base)
        stuck = remove_cgroups((cgroup_dirs() - self.cgroups_before) | self.our_cgroups())
        problems += [f"cgroup not removed: {d}" for d in stuck]
        shutil.rmtree(self.base, ignore_errors=True)
        if os.path.exists(self.base):
            problems.append(f"could not remove {self.base}")
        return problems

    def host_snapshot(self) -> HostSnapshot:
        # The overlay driver's home (<graphroot>/overlay) is a bind mount of itself that
        # lives as long as the storage is used; teardown unmounts it.
        return HostSnapshot(self.base, (self.base, f"PYOCIJAIL_E2E={self.token}"),
                            ignore_mounts=(f"{self.base}/root/overlay",))
