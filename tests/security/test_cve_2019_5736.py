"""CVE-2019-5736 (findings 1a, 1d): an image's `#!/proc/self/exe` never runs the host interpreter.

The image ships the libraries the interpreter needs and an LD_PRELOAD library
(`conftest.EVIL_C`) in its ENV that keeps `/proc/self/exe` and reopens it for
writing once the process has exec'd away. If the process that execs the
entrypoint had the runtime's interpreter as its exe, that interpreter would
start inside the container and be overwritten. With the exec helper
(`pyocijail.process.exechelper`) the script re-enters the helper, whose argv[0]
is then wrong: exit 126, nothing else runs. Each test runs the runtime from a
private copy of the interpreter (`private_runtime`) and checks both copies.
"""

from __future__ import annotations

import os
import shutil
import time

import pytest

from pyocijail.testing import bundles
from pyocijail.testing.driver import reap
from tests.conftest import needs_busybox, needs_root
from tests.security.conftest import copy_libraries, sha256

pytestmark = [needs_root, needs_busybox]

SCRIPT = "#!/proc/self/exe\nprint('the host interpreter ran in the container')\n"


def hostile_bundle(workdir: str, name: str, args: list[str], runtime, evil_so: str, *,
                   script_at: str = "/entry") -> str:
    path = os.path.join(workdir, name)
    rootfs = bundles.make_rootfs(os.path.join(path, "rootfs"))
    copy_libraries(runtime.private_python, rootfs)
    shutil.copy2(evil_so, os.path.join(rootfs, "evil.so"))
    target = rootfs + script_at
    if os.path.lexists(target):
        os.unlink(target)
    with open(target, "w") as f:
        f.write(SCRIPT)
    os.chmod(target, 0o755)
    doc = bundles.config(args, process={"env": ["PATH=/bin", "LD_PRELOAD=/evil.so"]})
    bundles.write_config(path, doc)
    return path


def evidence(bundle: str, wait: float = 0.0) -> str:
    """What the attack library wrote (nothing if it never ran). `wait` gives a
    running attack the time it needs to retry its write."""
    path = os.path.join(bundle, "rootfs", "evidence")
    deadline = time.monotonic() + wait
    while True:
        text = open(path).read() if os.path.exists(path) else ""
        if "wrote" in text or "refused" in text or "busy" in text or "failed" in text \
                or time.monotonic() >= deadline:
            return text
        time.sleep(0.05)


def assert_not_fooled(runtime, bundle: str) -> None:
    ran = evidence(bundle, wait=3.0 if os.path.exists(os.path.join(bundle, "rootfs",
                                                                   "evidence")) else 0.0)
    assert sha256(runtime.private_python) == runtime.private_sha256, \
        f"the runtime's interpreter was overwritten: {ran}"
    assert ran == "", f"the host interpreter ran inside the container: {ran}"


def test_create_start_of_a_proc_self_exe_entrypoint_runs_only_the_helper(
        private_runtime, workdir, evil_so):
    rt = private_runtime
    b = hostile_bundle(workdir, "b1", ["/entry"], rt, evil_so)
    rt.ok("create", "--bundle", b, "sec5736a")
    pid = rt.state("sec5736a")["pid"]
    rt.ok("start", "sec5736a")
    code = reap(pid, timeout=15)
    assert_not_fooled(rt, b)
    assert code == 126  # the helper refused its re-entry: nothing but it was exec'd
    rt.ok("delete", "sec5736a")


def test_run_of_a_proc_self_exe_entrypoint_exits_126(private_runtime, workdir, evil_so):
    rt = private_runtime
    b = hostile_bundle(workdir, "b2", ["/entry"], rt, evil_so)
    res = rt("run", "--bundle", b, "sec5736b", timeout=60)
    assert_not_fooled(rt, b)
    assert res.code == 126, res


@pytest.mark.parametrize("detach", [False, True])
def test_exec_of_an_image_bin_sh_that_is_proc_self_exe_exits_126(
        private_runtime, workdir, evil_so, detach):
    """1a: the admin runs `exec CTR /bin/sh`; the image's /bin/sh is the script."""
    rt = private_runtime
    b = hostile_bundle(workdir, "b3", ["sleep", "30"], rt, evil_so, script_at="/bin/sh")
    rt.ok("create", "--bundle", b, "sec5736c")
    rt.ok("start", "sec5736c")
    pid_file = os.path.join(workdir, "exec.pid")
    args = ["exec", "--pid-file", pid_file, *(["--detach"] if detach else []),
            "sec5736c", "/bin/sh"]
    res = rt(*args)
    code = reap(int(open(pid_file).read()), timeout=15) if detach else res.code
    assert_not_fooled(rt, b)
    assert code == 126, res
    rt.ok("delete", "--force", "sec5736c")
