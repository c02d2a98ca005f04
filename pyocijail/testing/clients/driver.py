"""Drive the real `pyocijail` command the way conmon does, for tests and benchmarks.

The container inherits the runtime's stdout and stderr, so they are files,
not pipes (a pipe would not reach EOF while the container runs). The caller
should be a subreaper so it can reap container processes (`reap`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from typing import Any


class Result:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err

    def json(self) -> Any:
        return json.loads(self.out)

    def __repr__(self) -> str:
        return f"Result(code={self.code}, out={self.out!r}, err={self.err!r})"


class Runtime:
    def __init__(self, root: str, *, python: str = sys.executable,
                 env: dict[str, str] | None = None) -> None:
        self.root, self.python = root, python
        #: the command before pyocijail's arguments (simhost.argv for a simulated FreeBSD)
        self.program = [python, "-m", "pyocijail"]
        self.env = dict(os.environ if env is None else env)
        self.env.pop("PYTHONWARNINGS", None)

    def argv(self, *args: str, globals_: tuple[str, ...] = ()) -> list[str]:
        return [*self.program, "--root", self.root, *globals_, *args]

    def __call__(self, *args: str, stdin: Any = subprocess.DEVNULL, cwd: str | None = None,
                 globals_: tuple[str, ...] = (), timeout: float = 60,
                 pass_fds: tuple[int, ...] = (), env: dict[str, str] | None = None) -> Result:
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            proc = subprocess.run(self.argv(*args, globals_=globals_), stdin=stdin, stdout=out,
                                  stderr=err, cwd=cwd, timeout=timeout, pass_fds=pass_fds,
                                  env=self.env if env is None else env, check=False)
            out.seek(0)
            err.seek(0)
            return Result(proc.returncode, out.read().decode(errors="replace"),
                          err.read().decode(errors="replace"))

    def ok(self, *args: str, **kwargs: Any) -> Result:
        """Run and insist on exit 0."""
        res = self(*args, **kwargs)
        if res.code != 0:
            raise AssertionError(f"pyocijail {' '.join(args)} failed: {res}")
        return res

    def state(self, container_id: str) -> dict[str, Any]:
        state: dict[str, Any] = self.ok("state", container_id).json()
        return state

    def status(self, container_id: str) -> str:
        return str(self.state(container_id)["status"])

    def wait_status(self, container_id: str, status: str, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while self.status(container_id) != status:
            if time.monotonic() > deadline:
                raise AssertionError(f"{container_id} never became {status}")
            time.sleep(0.02)

    def ids(self) -> list[str]:
        """Container directories in the state root (not the runtime's own dot-entries,
        e.g. kept seccomp programs: no container id starts with a dot)."""
        try:
            return sorted(n for n in os.listdir(self.root) if not n.startswith("."))
        except FileNotFoundError:
            return []

    def cleanup(self) -> list[str]:
        """delete --force everything; returns the ids that were still there."""
        left = self.ids()
        for cid in left:
            res = self("delete", "--force", cid)
            if res.code:
                print(f"cleanup: delete --force {cid}: {res}")
        return left


def become_subreaper() -> None:
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)


def reap_orphans() -> None:
    """Collect whatever was reparented to this subreaper and has exited."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def reap(pid: int, timeout: float = 10) -> int | None:
    """Wait for a container process reparented to us; its exit code, None on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            done, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return None
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            return None
        time.sleep(0.01)


def read_pid(path: str) -> int:
    with open(path) as f:
        text = f.read()
    assert text.isdigit(), f"pid file {path} holds {text!r}"
    return int(text)
