"""A private containerd (temporary root, state and sockets) driving pyocijail.

The daemon's root, state, gRPC/ttrpc sockets, the runtime state root
(`ctr run --runc-root`) and the FIFOs (`--fifo-dir`) all live under one temp
dir. What containerd 1.6 still puts outside it (shim sockets in
`/run/containerd/s`, FIFOs in `/run/containerd/fifo`, cgroups named
`default`) is recorded before start and removed after stop, and only what
appeared meanwhile.

Images come from `oci_archive()`, which turns a rootfs directory into an OCI
image layout tarball that `ctr image import` accepts: no registry.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import platform
import shutil
import signal
import subprocess
import tarfile
import time
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

CONTAINERD, CTR = "containerd", "ctr"
RUN_DIR = "/run/containerd"
NAMESPACE = "pyocijail-e2e"

CONFIG = """\
version = 2
root = "{base}/root"
state = "{base}/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]

[grpc]
  address = "{base}/containerd.sock"

[ttrpc]
  address = "{base}/containerd.sock.ttrpc"

[debug]
  address = "{base}/debug.sock"
"""

_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "ppc64le": "ppc64le",
         "s390x": "s390x", "riscv64": "riscv64"}


def oci_archive(rootfs: str, out: str, name: str) -> str:
    """Write an OCI image layout tar of `rootfs` (one gzip layer) named `name`."""
    layer_tar = io.BytesIO()
    with tarfile.open(fileobj=layer_tar, mode="w") as t:
        for entry in sorted(os.listdir(rootfs)):
            t.add(os.path.join(rootfs, entry), arcname=entry)
    diff = layer_tar.getvalue()
    layer = gzip.compress(diff, mtime=0)
    cfg = json.dumps({
        "architecture": _ARCH.get(platform.machine(), platform.machine()), "os": "linux",
        "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]},
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(diff).hexdigest()]},
    }).encode()
    blobs: dict[str, bytes] = {}

    def blob(data: bytes, media_type: str) -> dict[str, Any]:
        digest = hashlib.sha256(data).hexdigest()
        blobs[digest] = data
        return {"mediaType": media_type, "digest": f"sha256:{digest}", "size": len(data)}

    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": blob(cfg, "application/vnd.oci.image.config.v1+json"),
        "layers": [blob(layer, "application/vnd.oci.image.layer.v1.tar+gzip")],
    }).encode()
    desc = blob(manifest, "application/vnd.oci.image.manifest.v1+json")
    desc["annotations"] = {"io.containerd.image.name": name,
                           "org.opencontainers.image.ref.name": name.rpartition(":")[2]}
    index = json.dumps({"schemaVersion": 2, "manifests": [desc]}).encode()
    with tarfile.open(out, "w") as t:
        for path, data in [("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'),
                           ("index.json", index),
                           *((f"blobs/sha256/{d}", b) for d, b in blobs.items())]:
            info = tarfile.TarInfo(path)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return out


def _entries(path: str) -> set[str]:
    try:
        return set(os.listdir(path))
    except OSError:
        return set()


class Containerd(CallLog):
    def __init__(self, base: str) -> None:
        self.base = os.path.abspath(base)
        self.address = os.path.join(self.base, "containerd.sock")
        self.runc_root = os.path.join(self.base, "runc")
        self.fifo_dir = os.path.join(self.base, "fifo")
        self.calls = os.path.join(self.base, "calls.log")
        self.launcher = os.path.join(self.base, "bin", "pyocijail")
        self.token = uuid.uuid4().hex
        self.proc: subprocess.Popen[bytes] | None = None
        self._run_dirs_existed: dict[str, bool] = {}
        self._run_entries: dict[str, set[str]] = {}
        self.cgroups_before: set[str] = set()

    @classmethod
    def start(cls, base: str, python: str | None = None, timeout: float = 20) -> Containerd:
        import sys

        self = cls(base)
        for d in ("root", "state", "bin", "fifo"):
            os.makedirs(os.path.join(self.base, d), exist_ok=True)
        # The launcher's baked-in root is only a default: the shim always
        # passes --root (from --runc-root), and the last --root wins.
        write_launcher(os.path.dirname(self.launcher), os.path.join(self.base, "default-root"),
                       python=python or sys.executable, call_log=self.calls)
        with open(os.path.join(self.base, "config.toml"), "w") as f:
            f.write(CONFIG.format(base=self.base))
        for d in (RUN_DIR, f"{RUN_DIR}/s", f"{RUN_DIR}/fifo"):
            self._run_dirs_existed[d] = os.path.isdir(d)
            self._run_entries[d] = _entries(d)
        self.cgroups_before = cgroup_dirs()
        log = open(os.path.join(self.base, "containerd.log"), "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [CONTAINERD, "--config", os.path.join(self.base, "config.toml")],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd=self.base,
            start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        while self.ctr("version").code != 0:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"containerd did not start: see {self.base}/containerd.log")
            time.sleep(0.1)
        return self

    def argv(self, *args: str) -> list[str]:
        return [CTR, "--address", self.address, "--namespace", NAMESPACE, *args]

    def ctr(self, *args: str, input: str | None = None, timeout: float = 60,
            **kwargs: Any) -> Result:
        proc = subprocess.run(self.argv(*args), input=input, capture_output=True, text=True,
                              timeout=timeout, check=False,
                              stdin=None if input is not None else subprocess.DEVNULL, **kwargs)
        return Result(proc.returncode, proc.stdout, proc.stderr)

    def ok(self, *args: str, **kwargs: Any) -> Result:
        res = self.ctr(*args, **kwargs)
        if res.code != 0:
            raise AssertionError(f"ctr {' '.join(args)} failed: {res}\n{self.tail_calls()}")
        return res

    def run_flags(self) -> list[str]:
        """`ctr run` options that make it use pyocijail and keep files in the temp dir."""
        return ["--runc-binary", self.launcher, "--runc-root", self.runc_root,
                "--fifo-dir", self.fifo_dir, "--env", f"PYOCIJAIL_E2E={self.token}"]

    def import_rootfs(self, rootfs: str, ref: str) -> None:
        archive = oci_archive(rootfs, os.path.join(self.base, "image.tar"), ref)
        self.ok("image", "import", archive)
        os.unlink(archive)

    def host_snapshot(self) -> HostSnapshot:
        return HostSnapshot(self.base, (self.base, f"PYOCIJAIL_E2E={self.token}"))

    def state_roots(self) -> tuple[str, ...]:
        return (os.path.join(self.runc_root, NAMESPACE), os.path.join(self.base, "default-root"))

    def remove_all(self) -> None:
        """Kill and delete every task and container of the namespace."""
        for line in self.ctr("task", "ls", "-q").out.split():
            self.ctr("task", "kill", "-a", "-s", "SIGKILL", line)
            self.ctr("task", "delete", "-f", line)
        for line in self.ctr("container", "ls", "-q").out.split():
            self.ctr("container", "delete", line)

    def stop(self) -> list[str]:
        """Stop the daemon by its pid, remove what it left; what would not go."""
        problems = []
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.remove_all()
                for img in self.ctr("image", "ls", "-q").out.split():
                    self.ctr("image", "rm", img)
            except (OSError, subprocess.SubprocessError) as err:
                problems.append(f"ctr clean-up: {err}")
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        unmount_under(self.base)
        for d in (f"{RUN_DIR}/s", f"{RUN_DIR}/fifo"):
            for name in _entries(d) - self._run_entries.get(d, set()):
                path = os.path.join(d, name)
                if os.path.isdir(path) and not os.path.islink(path):
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    try:
                        os.unlink(path)
                    except OSError as err:
                        problems.append(f"{path}: {err}")
        for d in (f"{RUN_DIR}/s", f"{RUN_DIR}/fifo", RUN_DIR):
            if not self._run_dirs_existed.get(d, True):
                try:
                    os.rmdir(d)
                except FileNotFoundError:
                    pass
                except OSError as err:
                    problems.append(f"{d}: {err}")
        stuck = remove_cgroups(cgroup_dirs() - self.cgroups_before)
        problems += [f"cgroup not removed: {d}" for d in stuck]
        shutil.rmtree(self.base, ignore_errors=True)
        return problems
