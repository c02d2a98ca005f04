"""podman in a fully isolated temporary configuration, with pyocijail as its runtime.

Nothing global is touched: storage, run root, tmp dir, events log, CNI
config and containers.conf all live under one temp dir, and the network
namespace defaults to "none" (no bridge, no firewall rules). Each container
gets `PYOCIJAIL_E2E=<token>` in its environment so the leak check can find
its processes on a shared machine.

    env = PodmanEnv.create(tempfile.mkdtemp())
    env.import_rootfs(rootfs_dir, "localhost/busybox:latest")
    env.ok("run", "--rm", "localhost/busybox", "echo", "hi")
    env.teardown()
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from typing import Any

from pyocijail.testing.clients.driver import Result
from pyocijail.testing.clients.hostcheck import (
    CallLog,
    HostSnapshot,
    cgroup_dirs,
    remove_cgroups,
    unmount_under,
    write_launcher,
)

PODMAN = "podman"
#: where containers/image keeps root's blob-info cache unless told otherwise
BLOB_INFO_CACHE = "/var/lib/containers/cache"

def containers_conf(base: str, launcher: str, token: str) -> dict[str, dict[str, Any]]:
    """The isolated containers.conf as tables of keys (see `dump_toml`)."""
    return {
        "containers": {
            "netns": "none",
            "cgroupns": "host",
            "log_driver": "k8s-file",
            # podman's default rlimits (1048576) exceed the hard limits of CI machines.
            "default_ulimits": ["nofile=20000:20000", "nproc=32768:32768"],
            "env": [f"PYOCIJAIL_E2E={token}"],
        },
        "engine": {
            "cgroup_manager": "cgroupfs",
            "events_logger": "file",
            "events_logfile_path": f"{base}/tmp/events.log",
            "tmp_dir": f"{base}/tmp",
            "image_copy_tmp_dir": f"{base}/tmp",  # not the shared /var/tmp
            "static_dir": f"{base}/root/libpod",
            "volume_path": f"{base}/root/volumes",
            "runtime": "pyocijail",
            "runtime_supports_json": ["crun", "runc", "pyocijail"],
        },
        "engine.runtimes": {"pyocijail": [launcher]},
        "network": {"network_backend": "cni", "network_config_dir": f"{base}/conf/cni"},
    }


def dump_toml(tables: dict[str, dict[str, Any]]) -> str:
    """Tables of strings, numbers, booleans and lists of those, as TOML."""
    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return repr(v)
        if isinstance(v, str):
            return json.dumps(v)
        return "[" + ", ".join(value(x) for x in v) + "]"

    out = []
    for name, keys in tables.items():
        out.append(f"[{name}]")
        out += [f"{k} = {value(v)}" for k, v in keys.items()]
        out.append("")
    return "\n".join(out)


STORAGE_CONF = """\
[storage]
driver = "overlay"
runroot = "{base}/runroot"
graphroot = "{base}/root"
"""


class PodmanEnv(CallLog):
    TOOL = PODMAN

    def __init__(self, base: str) -> None:
        self.base = os.path.abspath(base)
        self.state = os.path.join(self.base, "state")
        self.calls = os.path.join(self.base, "calls.log")
        self.launcher = os.path.join(self.base, "bin", "pyocijail")
        self.token = ""
        self.env: dict[str, str] = {}
        self.snapshot: HostSnapshot | None = None
        self.cgroups_before: set[str] = set()
        self.runtime = self.launcher

    @classmethod
    def create(cls, base: str, python: str | None = None,
               conf_overlay: dict[str, dict[str, Any]] | None = None,
               runtime: str | None = None) -> PodmanEnv:
        """Make the temp tree and configs. `conf_overlay` tables are merged over
        the default containers.conf; `runtime` is what `podman --runtime` gets
        (default: the launcher's path; "" passes no --runtime at all)."""
        import sys

        self = cls(base)
        self.runtime = self.launcher if runtime is None else runtime
        self.token = uuid.uuid4().hex
        for d in ("root", "runroot", "tmp", "conf/cni", "state", "bin"):
            os.makedirs(os.path.join(self.base, d), exist_ok=True)
        write_launcher(os.path.dirname(self.launcher), self.state,
                       python=python or sys.executable, call_log=self.calls)
        conf = os.path.join(self.base, "conf")
        with open(os.path.join(conf, "containers.conf"), "w") as f:
            tables = containers_conf(self.base, self.launcher, self.token)
            for name, keys in (conf_overlay or {}).items():
                table = tables.setdefault(name, {})
                for key, value in keys.items():
                    if value is None:
                        table.pop(key, None)  # None removes a default key
                    else:
                        table[key] = value
            f.write(dump_toml(tables))
        with open(os.path.join(conf, "storage.conf"), "w") as f:
            f.write(STORAGE_CONF.format(base=self.base))
        with open(os.path.join(conf, "registries.conf"), "w") as f:
            f.write("unqualified-search-registries = []\n")
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("CONTAINERS_", "PYTHON", "BUILDAH_"))}
        env.update(CONTAINERS_CONF=os.path.join(conf, "containers.conf"),
                   CONTAINERS_STORAGE_CONF=os.path.join(conf, "storage.conf"),
                   CONTAINERS_REGISTRIES_CONF=os.path.join(conf, "registries.conf"),
                   TMPDIR=os.path.join(self.base, "tmp"))  # buildah's bundles go here
        self.env = env
        self.cgroups_before = cgroup_dirs()
        return self

    # -- running podman ------------------------------------------------------------

    def argv(self, *args: str) -> list[str]:
        return [PODMAN, "--root", f"{self.base}/root", "--runroot", f"{self.base}/runroot",
                "--tmpdir", f"{self.base}/tmp", "--storage-driver", "overlay",
                "--cgroup-manager", "cgroupfs", "--events-backend", "file",
                *(["--runtime", self.runtime] if self.runtime else []), *args]

    def __call__(self, *args: str, input: str | None = None, timeout: float = 120,
                 pass_fds: tuple[int, ...] = (), **kwargs: Any) -> Result:
        proc = subprocess.run(self.argv(*args), input=input, capture_output=True, text=True,
                              env=self.env, timeout=timeout, pass_fds=pass_fds,
                              stdin=None if input is not None else subprocess.DEVNULL,
                              check=False, **kwargs)
        return Result(proc.returncode, proc.stdout, proc.stderr)

    def ok(self, *args: str, **kwargs: Any) -> Result:
        res = self(*args, **kwargs)
        if res.code != 0:
            raise AssertionError(f"{self.TOOL} {' '.join(args)} failed: {res}\n"
                                 f"{self.tail_calls()}")
        return res

    def popen(self, *args: str, **kwargs: Any) -> subprocess.Popen[bytes]:
        return subprocess.Popen(self.argv(*args), env=self.env, **kwargs)

    def import_rootfs(self, rootfs: str, ref: str) -> None:
        """`podman import` of `rootfs` as image `ref`.

        podman 4.3's import writes the host's blob-info cache
        (/var/lib/containers/cache/blob-info-cache-v1.boltdb: containers/image
        picks it for root when the caller names none, and import names none;
        no containers.conf key moves it). So podman runs in a private mount
        namespace where a directory of ours covers that path."""
        tar = os.path.join(self.base, "tmp", "rootfs.tar")
        subprocess.run(["tar", "-C", rootfs, "-cf", tar, "."], check=True)
        cache = os.path.join(self.base, "blob-info-cache")
        os.makedirs(cache, exist_ok=True)
        target = BLOB_INFO_CACHE
        while not os.path.isdir(target):  # the deepest directory that exists
            target = os.path.dirname(target)
        argv = ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c",
                'mount --bind "$1" "$2" && shift 2 && exec "$@"', "sh", cache, target,
                *self.argv("import", "-q", tar, ref)]
        proc = subprocess.run(argv, capture_output=True, text=True, env=self.env,
                              stdin=subprocess.DEVNULL, timeout=120, check=False)
        if proc.returncode != 0:
            raise AssertionError(f"podman import failed: {proc.stderr.strip()}")
        os.unlink(tar)

    def container_ids(self) -> list[str]:
        return self.ok("ps", "-a", "-q", "--no-trunc").out.split()

    def inspect(self, name: str) -> dict[str, Any]:
        found: dict[str, Any] = json.loads(self.ok("inspect", name).out)[0]
        return found

    # -- clean-up ------------------------------------------------------------------

    def remove_all_containers(self) -> None:
        self("pod", "rm", "-a", "-f", "-t", "0", timeout=60)
        self("rm", "-a", "-f", "-t", "0", timeout=60)

    def our_cgroups(self) -> set[str]:
        """Cgroups of ours that may predate the session (none for podman: it names them)."""
        return set()

    def delete_runtime_leftovers(self) -> list[str]:
        """`delete --force` every container still in pyocijail's state root, the ones
        their client no longer knows included (a client killed mid-run leaves its
        container running): processes, cgroups and state go with them. The ids it
        deleted."""
        try:
            names = sorted(n for n in os.listdir(self.state) if not n.startswith("."))
        except FileNotFoundError:
            return []
        for name in names:
            subprocess.run([self.launcher, "delete", "--force", name], capture_output=True,
                           stdin=subprocess.DEVNULL, timeout=60, check=False)
        return names

    def teardown(self) -> list[str]:
        """Remove every container and image, mounts, new cgroups, the temp dir.

        Returns what could not be removed (for the report).
        """
        problems = []
        try:
            self.remove_all_containers()
            self("rmi", "-a", "-f", timeout=60)
        except (OSError, subprocess.SubprocessError) as err:
            problems.append(f"{self.TOOL} clean-up: {err}")
        try:
            self.delete_runtime_leftovers()
        except (OSError, subprocess.SubprocessError) as err:
            problems.append(f"pyocijail clean-up: {err}")
        unmount_under(self.base)
        # libpod_parent (and its conmon child) is created by podman's cgroupfs
        # manager on first use; remove only what appeared during this session.
        stuck = remove_cgroups((cgroup_dirs() - self.cgroups_before) | self.our_cgroups())
        problems += [f"cgroup not removed: {d}" for d in stuck]
        shutil.rmtree(self.base, ignore_errors=True)
        if os.path.exists(self.base):
            problems.append(f"could not remove {self.base}")
        return problems

    def host_snapshot(self) -> HostSnapshot:
        # conmon's own cgroup (libpod_parent/conmon) lives as long as podman is used, and
        # so may the overlay driver's home (<graphroot>/overlay, a private bind mount of
        # itself that podman's storage makes on use): it was seen still mounted at the end
        # of a test in two full runs. It belongs to the session; teardown unmounts it.
        return HostSnapshot(self.base, (self.base, f"PYOCIJAIL_E2E={self.token}"),
                            ignore_cgroups=("conmon", "libpod_parent"),
                            ignore_mounts=(f"{self.base}/root/overlay",))
