"""exec into a container whose init has just died: a clean error, not a traceback.

The race (found by tests/reliability/test_races.py under load): exec checks
that the container runs, its init is killed, then exec forks into the
container's pid namespace, whose init is gone, and fork fails with ENOMEM.
Here the namespace's init is killed and left a zombie, which keeps its
/proc/<pid>/ns/pid link: the same fork, without the race.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = [pytest.mark.root]

CODE = """
import os, signal, time
from pyocijail.backends.linux import namespaces
from pyocijail.backends.linux.backend import LinuxBackend
from pyocijail.backends.linux.linuxkernel import LinuxKernel
from pyocijail.errors import PyocijailError
from pyocijail.process.spawn import fork_child

with namespaces.pid_namespace_for_children(LinuxKernel(), None):
    init = fork_child(lambda: time.sleep(60))
os.kill(init, signal.SIGKILL)
deadline = time.monotonic() + 10
while open(f"/proc/{init}/stat").read().rsplit(")", 1)[1].split()[0] != "Z":
    assert time.monotonic() < deadline
    time.sleep(0.01)
# exec's path: the process fork_joined forks joins the namespaces and execs the exec
# helper, which forks into the pid namespace: that fork fails, reported on the channel.
from pyocijail.process import exechelper

backend = LinuxBackend(None, log=None)
state = {"namespaces": [["pid", None]]}
r, w = os.pipe()


def child():
    os.close(r)
    backend.join(state, init)
    backend.execve("/bin/true", ["true"], {}, w)


middle = backend.fork_joined(state, init, child)
os.close(w)
print("error:", exechelper.failure("true", os.read(r, 64), init))
os.waitpid(middle, 0)
os.waitpid(init, 0)
"""


def test_exec_into_a_pid_namespace_whose_init_died_is_a_clean_error():
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("error: container process "), out.stdout
    assert "has exited: its pid namespace takes no new process" in out.stdout
