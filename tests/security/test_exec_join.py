"""Finding 1b: an exec'd process is never visible in the container with the host's root
(nor with the host interpreter as its exe).

A container given CAP_SYS_PTRACE runs a watcher (static C, `WATCHER_C`) as its
init: it stops every new process of its pid namespace it finds in /proc
(SIGSTOP), opens `/proc/PID/root/<a host file>` and lets it go. Scanning
/proc alone misses processes (the helper lives microseconds, and under load
so does the runtime's window), so each `exec` runs under a tracer of ours
(static C, `TRACER_C`) that follows every fork and holds each new process of
a child pid namespace at its birth, before its first instruction, until the
watcher has logged it: every exec'd process is caught as it was born. Before the fix the exec'd
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


#: tracer LOG PROGRAM ARGS...: runs PROGRAM ptraced, following every fork, and
#: keeps each new process of a child pid namespace stopped at its birth until
#: LOG has a line "pid <its pid there>[ :]" (10 s at most); exits as PROGRAM.
TRACER_C = r"""#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define OPTIONS (PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE | \
                 PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL)

static char known[1 << 22];  /* pid_max is at most 2^22 */

/* The pid `pid` has in the innermost pid namespace, if that is not ours; else 0. */
static int inner_pid(pid_t pid) {
    char path[64], line[256];
    int inner = 0, levels = 0;
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (f == NULL) return 0;
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "NSpid:", 6) != 0) continue;
        for (char *tok = strtok(line + 6, " \t\n"); tok; tok = strtok(NULL, " \t\n")) {
            inner = atoi(tok);
            levels++;
        }
    }
    fclose(f);
    return levels > 1 ? inner : 0;
}

static int logged(const char *log, int pid) {
    char want[32], line[4400];
    int found = 0;
    snprintf(want, sizeof want, "pid %d", pid);
    FILE *f = fopen(log, "r");
    if (f == NULL) return 0;
    while (!found && fgets(line, sizeof line, f) != NULL)
        found = strncmp(line, want, strlen(want)) == 0 && (line[strlen(want)] == ' ' ||
                                                             line[strlen(want)] == ':');
    fclose(f);
    return found;
}

/* A new process stopped at its birth: if it is in a child pid namespace, keep it
   stopped until the watcher's log names it (10 s at most). */
static void hold(const char *log, pid_t pid) {
    int inner = inner_pid(pid);
    if (inner == 0) return;
    struct timespec tick = {0, 2000000};
    for (int i = 0; i < 5000 && !logged(log, inner); i++) nanosleep(&tick, NULL);
    fprintf(stderr, "tracer: held pid %d (%d in its pid namespace): %s\n", pid, inner,
            logged(log, inner) ? "logged" : "TIMED OUT");
}

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    pid_t root = fork();
    if (root == 0) {
        ptrace(PTRACE_TRACEME, 0, 0, 0);
        raise(SIGSTOP);
        execv(argv[2], argv + 2);
        _exit(127);
    }
    int status, code = 1;
    waitpid(root, &status, 0);
    ptrace(PTRACE_SETOPTIONS, root, 0, OPTIONS);
    known[root] = 1;
    ptrace(PTRACE_CONT, root, 0, 0);
    pid_t pid;
    while ((pid = waitpid(-1, &status, __WALL)) > 0) {
        if (WIFEXITED(status) || WIFSIGNALED(status)) {
            known[pid] = 0;
            if (pid == root) code = WIFEXITED(status) ? WEXITSTATUS(status)
                                                      : 128 + WTERMSIG(status);
            continue;
        }
        int sig = WSTOPSIG(status);
        if (status >> 16 != 0) {  /* a PTRACE_EVENT stop: no signal to pass on */
            sig = 0;
        } else if (!known[pid]) {  /* the SIGSTOP an auto-attached child starts with */
            known[pid] = 1;
            hold(argv[1], pid);
            sig = 0;
        } else if (sig == SIGSTOP) {  /* the watcher's: it ends with a SIGCONT anyway */
            sig = 0;
        }
        ptrace(PTRACE_CONT, pid, 0, sig);
    }
    return code;
}
"""


def _compile(tmp_path_factory, name: str, source: str) -> str:
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip(f"needs gcc (the {name} is a static C program)")
    src = tmp_path_factory.mktemp(name) / f"{name}.c"
    src.write_text(source)
    out = src.with_suffix("")
    subprocess.run([gcc, "-static", "-O1", "-o", str(out), str(src)], check=True)
    return str(out)


@pytest.fixture(scope="module")
def watcher(tmp_path_factory):
    return _compile(tmp_path_factory, "watcher", WATCHER_C)


@pytest.fixture(scope="module")
def tracer(tmp_path_factory):
    return _compile(tmp_path_factory, "tracer", TRACER_C)


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
        private_runtime, workdir, watcher, tracer):
    """The watcher also keeps /proc/PID/exe of each process it caught and reopens
    it for writing at the end: the runtime runs from a private interpreter copy
    (`private_runtime`), which must stay unchanged. Each exec'd process is caught
    at its birth (`tracer`): what it is then is what the container first sees."""
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
    held = []
    for _ in range(4):
        res = subprocess.run([tracer, os.path.join(rootfs, "tmp", "watch.log"),
                              *runtime.argv("exec", "sec1b", "/bin/true")],
                             env=runtime.env, capture_output=True, text=True, timeout=60)
        assert res.returncode == 0, res
        held += [line for line in res.stderr.splitlines() if line.startswith("tracer: held")]
    open(os.path.join(rootfs, "tmp", "stop"), "w").close()
    log = _wait_for(path, "done")
    runtime.ok("delete", "--force", "sec1b")
    caught = [line for line in log.splitlines() if line.startswith("pid ")]
    assert len(held) == 4 and all(line.endswith(": logged") for line in held), (held, log)
    assert len(caught) == 4, log  # each exec'd process, caught at its birth
    assert "SAW THE HOST FILE" not in log, log
    assert sha256(runtime.private_python) == runtime.private_sha256, log
    written = {line.split(": ", 1)[1] for line in log.splitlines()
               if line.startswith("exe WRITTEN")}
    assert written <= {"/bin/busybox"}, log  # the container's own file: its to write
    # what appears in the container is the sealed helper from birth, never the runtime
    exes = {line[line.index("(exe ") + 5:-1] for line in caught}
    assert exes == {"/memfd:pyocijail-exec (deleted)"}, log
