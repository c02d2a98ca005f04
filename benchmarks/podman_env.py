"""podman 4.3 in a throw-away configuration (linux-host.md section 4), for `run --rm`."""

from __future__ import annotations

import os
import shutil
import subprocess
import time

PODMAN = "/usr/bin/podman"
IMAGE = "localhost/pyocijail-bench:latest"


class PodmanEnv:
    def __init__(self, base: str, tmp: str) -> None:
        self.base = base
        self.env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}

    def pm(self) -> list[str]:
        b = self.base
        return [PODMAN, "--root", f"{b}/root", "--runroot", f"{b}/runroot", "--tmpdir",
                f"{b}/tmp", "--storage-driver", "overlay", "--cgroup-manager", "cgroupfs",
                "--events-backend", "file"]

    def setup(self, rootfs: str) -> None:
        b = self.base
        for d in ("root", "runroot", "tmp", "conf/cni"):
            os.makedirs(f"{b}/{d}", exist_ok=True)
        with open(f"{b}/conf/containers.conf", "w") as f:
            f.write(f"""[containers]
netns = "none"
cgroupns = "host"
log_driver = "k8s-file"
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "{b}/tmp/events.log"
tmp_dir = "{b}/tmp"
static_dir = "{b}/root/libpod"
volume_path = "{b}/root/volumes"
runtime = "runc"
[network]
network_backend = "cni"
network_config_dir = "{b}/conf/cni"
""")
        with open(f"{b}/conf/storage.conf", "w") as f:
            f.write(f'[storage]\ndriver = "overlay"\nrunroot = "{b}/runroot"\n'
                    f'graphroot = "{b}/root"\n')
        with open(f"{b}/conf/registries.conf", "w") as f:
            f.write("unqualified-search-registries = []\n")
        self.env.update(CONTAINERS_CONF=f"{b}/conf/containers.conf",
                        CONTAINERS_STORAGE_CONF=f"{b}/conf/storage.conf",
                        CONTAINERS_REGISTRIES_CONF=f"{b}/conf/registries.conf")
        tar = f"{b}/rootfs.tar"
        subprocess.run(["tar", "-C", rootfs, "-cf", tar, "."], check=True)
        subprocess.run([*self.pm(), "import", "-q", tar, IMAGE], check=True, env=self.env,
                       stdout=subprocess.DEVNULL)

    def run_rm(self, runtime: str, spawn) -> float:  # type: ignore[no-untyped-def]
        argv = [*self.pm(), "--runtime", runtime, "run", "--rm", IMAGE, "/bin/true"]
        ms, _, _, _ = spawn(argv, env=self.env)
        return ms

    def run_detached(self, runtime: str, name: str, spawn) -> str:  # type: ignore[no-untyped-def]
        """A running container of `runtime` for `exec_true` (removed at teardown)."""
        cname = f"bench-exec-{name}"
        spawn([*self.pm(), "--runtime", runtime, "run", "-d", "--name", cname, IMAGE,
               "/bin/sleep", "100000"], env=self.env)
        return cname

    def exec_true(self, runtime: str, cname: str, spawn) -> float:  # type: ignore[no-untyped-def]
        ms, _, _, _ = spawn([*self.pm(), "--runtime", runtime, "exec", cname, "/bin/true"],
                            env=self.env)
        return ms

    def teardown(self, spawn) -> None:  # type: ignore[no-untyped-def]
        if os.path.isdir(f"{self.base}/conf"):
            for args in (["rm", "-a", "-f", "-t", "0"], ["rmi", "-a", "-f"]):
                spawn(self.pm() + args, env=self.env, check=False)
        prefix = self.base.rstrip("/") + "/"
        for _ in range(3):
            with open("/proc/self/mountinfo") as f:
                points = sorted({ln.split()[4] for ln in f if ln.split()[4].startswith(prefix)},
                                key=len, reverse=True)
            if not points:
                break
            for p in points:
                subprocess.run(["umount", "-l", p], check=False, stderr=subprocess.DEVNULL)
            time.sleep(0.05)
        shutil.rmtree(self.base, ignore_errors=True)
