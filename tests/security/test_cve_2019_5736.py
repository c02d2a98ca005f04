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

import json
import os
import shutil
import time

import pytest

from pyocijail.testing import bundles
from pyocijail.testing.clients.driver import reap
from tests.helpers import copy_libraries, sha256

pytestmark = [pytest.mark.root, pytest.mark.busybox]

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


def test_a_start_container_hook_that_is_proc_self_exe_runs_only_the_helper(
        private_runtime, workdir, evil_so):
    """startContainer hooks exec a file of the image too (from the init, after
    pivot_root): the same attack through `hooks.startContainer[].path`."""
    rt = private_runtime
    b = hostile_bundle(workdir, "b4", ["true"], rt, evil_so, script_at="/hook")
    with open(os.path.join(b, "config.json")) as f:
        doc = json.load(f)
    doc["hooks"] = {"startContainer": [{"path": "/hook", "env": ["LD_PRELOAD=/evil.so"]}]}
    bundles.write_config(b, doc)
    rt.ok("create", "--bundle", b, "sec5736d")
    res = rt("start", "sec5736d")
    assert_not_fooled(rt, b)
    assert res.code == 1 and "startContainer hook /hook failed: exit status 126" in res.err, res
    rt.ok("delete", "--force", "sec5736d")


def test_a_hook_the_helper_cannot_exec_is_worded_as_before(private_runtime, workdir, evil_so):
    """The helper's failure record comes back on the hook's output: same words
    as a failed Python execve. (A guard of the record's translation: the words
    were the same before the helper.)"""
    rt = private_runtime
    b = hostile_bundle(workdir, "b5", ["true"], rt, evil_so)
    with open(os.path.join(b, "config.json")) as f:
        doc = json.load(f)
    doc["hooks"] = {"startContainer": [{"path": "/no-such-hook"}]}
    bundles.write_config(b, doc)
    rt.ok("create", "--bundle", b, "sec5736e")
    res = rt("start", "sec5736e")
    assert res.code == 1, res
    assert "startContainer hook /no-such-hook failed: exit status 127" in res.err, res
    assert "no such file or directory" in res.err.lower(), res
    rt.ok("delete", "--force", "sec5736e")
