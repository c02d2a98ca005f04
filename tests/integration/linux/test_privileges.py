"""Capabilities, no_new_privs, oom_score_adj and seccomp, seen from inside the container."""

from __future__ import annotations

import os
import time

import pytest

pytestmark = [pytest.mark.root, pytest.mark.busybox]


def status(out: str) -> dict[str, str]:
    fields = {}
    for line in out.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields[key.strip()] = value.strip()
    return fields


def run_status(runtime, bundle, cid, **overrides):
    b = bundle(["cat", "/proc/self/status"], **overrides)
    res = runtime("run", "--bundle", b, cid)
    assert res.code == 0, res
    return status(res.out), res


def caps(*names):
    return {k: list(names) for k in ("bounding", "effective", "permitted", "inheritable",
                                     "ambient")}


def test_only_the_configured_capabilities(runtime, bundle, cid):
    """runc spec's three capabilities: CapEff/CapPrm/CapBnd are exactly those bits."""
    st, _ = run_status(runtime, bundle, cid)
    # CAP_KILL (5), CAP_NET_BIND_SERVICE (10), CAP_AUDIT_WRITE (29)
    expected = f"{(1 << 5) | (1 << 10) | (1 << 29):016x}"
    assert st["CapEff"] == st["CapPrm"] == st["CapBnd"] == expected
    assert st["CapInh"] == st["CapAmb"] == "0" * 16


def test_ambient_capabilities_survive_the_change_to_a_non_root_user(runtime, bundle, cid):
    """uid 1000 with NET_BIND_SERVICE in every set: effective and ambient after exec."""
    st, _ = run_status(runtime, bundle, cid, process={
        "user": {"uid": 1000, "gid": 1000, "additionalGids": [5, 7]},
        "capabilities": caps("CAP_NET_BIND_SERVICE")})
    bit = f"{1 << 10:016x}"
    assert st["CapEff"] == st["CapAmb"] == st["CapBnd"] == st["CapInh"] == bit
    assert st["Uid"].split()[0] == "1000" and st["Gid"].split()[0] == "1000"
    assert st["Groups"].split() == ["5", "7"]


def test_non_root_without_ambient_has_no_effective_capabilities(runtime, bundle, cid):
    """Without ambient, the exec of a non-setuid program as uid 1000 clears CapEff."""
    sets = caps("CAP_CHOWN")
    sets["ambient"] = []
    st, _ = run_status(runtime, bundle, cid, process={"user": {"uid": 1000, "gid": 1000},
                                                       "capabilities": sets})
    assert st["CapEff"] == st["CapPrm"] == "0" * 16
    assert st["CapBnd"] == f"{1:016x}"


def test_absent_capabilities_keep_the_runtimes_set(runtime, bundle, cid):
    """No process.capabilities: nothing is dropped (runc's behaviour), root keeps all."""
    import json

    from pyocijail.testing import bundles

    b = bundle(["cat", "/proc/self/status"])
    with open(f"{b}/config.json") as f:
        doc = json.load(f)
    del doc["process"]["capabilities"]
    bundles.write_config(b, doc)
    res = runtime("run", "--bundle", b, cid)
    assert res.code == 0, res
    with open("/proc/self/status") as f:
        ours = status(f.read())
    assert status(res.out)["CapBnd"] == ours["CapBnd"]
    assert status(res.out)["CapEff"] == ours["CapEff"]


def test_unknown_capability_is_ignored_with_a_warning(runtime, bundle, cid):
    """A well-formed name unknown to this kernel: warning, the rest still applies."""
    st, res = run_status(runtime, bundle, cid,
                         process={"capabilities": caps("CAP_KILL", "CAP_FROM_THE_FUTURE")})
    assert "CAP_FROM_THE_FUTURE" in res.err
    assert st["CapEff"] == f"{1 << 5:016x}"


def test_malformed_capability_name_is_an_error(runtime, bundle, cid):
    b = bundle(["true"], process={"capabilities": caps("kill")})
    res = runtime("run", "--bundle", b, cid)
    assert res.code != 0 and "not a capability name" in res.err


def test_no_new_privileges_and_oom_score_adj(runtime, bundle, cid):
    """noNewPrivileges sets NoNewPrivs; oomScoreAdj lands in /proc/self/oom_score_adj."""
    b = bundle(["sh", "-c", "grep NoNewPrivs /proc/self/status; cat /proc/self/oom_score_adj"],
               process={"noNewPrivileges": True, "oomScoreAdj": 345})
    res = runtime("run", "--bundle", b, cid)
    assert res.code == 0, res
    assert res.out.split() == ["NoNewPrivs:", "1", "345"]


def test_no_new_privileges_false(runtime, bundle, cid):
    st, _ = run_status(runtime, bundle, cid, process={"noNewPrivileges": False})
    assert st["NoNewPrivs"] == "0"


# --- seccomp -----------------------------------------------------------------------

def seccomp_linux(bundle_linux: dict, profile: dict) -> dict:
    linux = dict(bundle_linux)
    linux["seccomp"] = profile
    return linux


@pytest.fixture
def linux_section():
    from pyocijail.lifecycle.defaults import linux_config

    return linux_config(["true"])["linux"]


@pytest.mark.parametrize("nnp", [True, False])
def test_seccomp_blocks_a_syscall_with_its_errno(runtime, bundle, cid, linux_section, nnp):
    """mkdir → EPERM by rule; the rest allowed; Seccomp mode 2 (with and without NNP)."""
    profile = {"defaultAction": "SCMP_ACT_ALLOW",
               "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
               "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO",
                             "errnoRet": 1}]}
    b = bundle(["sh", "-c", "grep '^Seccomp:' /proc/self/status; mkdir /tmp/x; echo rc=$?"],
               linux=seccomp_linux(linux_section, profile), process={"noNewPrivileges": nnp})
    res = runtime("run", "--bundle", b, cid)
    assert res.code == 0, res
    assert "Seccomp:\t2" in res.out
    assert "Operation not permitted" in res.err + res.out
    assert "rc=1" in res.out


def test_seccomp_argument_conditions(runtime, bundle, cid, linux_section):
    """kill(pid, SIGUSR1) is refused with EACCES (13); kill(pid, 0) still works."""
    profile = {"defaultAction": "SCMP_ACT_ALLOW",
               "syscalls": [{"names": ["kill"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13,
                             "args": [{"index": 1, "value": 10, "op": "SCMP_CMP_EQ"}]}]}
    script = "trap '' USR1; kill -0 $$; echo zero=$?; kill -USR1 $$; echo usr1=$?"
    b = bundle(["sh", "-c", script], linux=seccomp_linux(linux_section, profile))
    res = runtime("run", "--bundle", b, cid)
    assert res.code == 0, res
    assert "zero=0" in res.out and "usr1=1" in res.out
    assert "Permission denied" in res.err + res.out


def test_seccomp_unknown_names_are_skipped_with_a_warning(runtime, bundle, cid, linux_section):
    """A syscall name libseccomp does not know is skipped with a warning, as runc does;
    the other names of the rule still get its errno (38, ENOSYS)."""
    profile = {"defaultAction": "SCMP_ACT_ALLOW",
               "syscalls": [{"names": ["mkdir", "mkdirat", "no_such_syscall_l4"],
                             "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]}
    b = bundle(["sh", "-c", "mkdir /tmp/z; echo rc=$?"],
               linux=seccomp_linux(linux_section, profile))
    res = runtime("run", "--bundle", b, cid)
    assert res.code == 0, res
    assert "no_such_syscall_l4" in res.err
    assert "rc=1" in res.out and "Function not implemented" in res.err + res.out


@pytest.mark.parametrize("profile, words", [
    ({"defaultAction": "SCMP_ACT_NOTIFY"}, "not supported"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["read"], "action": "SCMP_ACT_ERRNO",
         "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]}, "argument index 6"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]},
     "not supported"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_SHEB"]}, "not supported"),
])
def test_invalid_seccomp_profile_is_an_error(runtime, bundle, cid, linux_section, profile,
                                             words):
    b = bundle(["true"], linux=seccomp_linux(linux_section, profile))
    res = runtime("create", "--bundle", b, cid)
    assert res.code != 0 and words in res.err, res
    assert runtime.ids() == []


@pytest.mark.parametrize("nnp", [False, True])
def test_when_the_waiting_init_loads_its_filter(runtime, bundle, cid, linux_section, nnp):
    """Without noNewPrivileges the filter needs CAP_SYS_ADMIN, so it is loaded with the
    user change while the init waits for start (runc's order); with it, as late as
    possible, just before execve. Either way the program runs under it."""
    from pyocijail.testing.clients.driver import reap

    profile = {"defaultAction": "SCMP_ACT_ALLOW",
               "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}
    b = bundle(["sh", "-c", "grep '^Seccomp:' /proc/self/status > /tmp/mode"],
               linux=seccomp_linux(linux_section, profile), process={"noNewPrivileges": nnp})
    runtime.ok("create", "--bundle", b, cid)
    pid = runtime.state(cid)["pid"]
    wanted = "0" if nnp else "2"
    deadline = time.monotonic() + 10
    while _seccomp_mode(pid) != wanted and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.05)  # (and it stays so)
    assert _seccomp_mode(pid) == wanted
    runtime.ok("start", cid)
    reap(pid)
    with open(os.path.join(b, "rootfs", "tmp", "mode")) as f:
        assert f.read().split() == ["Seccomp:", "2"]
    runtime.ok("delete", cid)


def _seccomp_mode(pid: int) -> str:
    with open(f"/proc/{pid}/status") as f:
        return next(line.split()[1] for line in f if line.startswith("Seccomp:"))


def test_exec_gets_the_containers_seccomp_filter(runtime, bundle, cid, linux_section):
    profile = {"defaultAction": "SCMP_ACT_ALLOW",
               "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}
    b = bundle(["sleep", "30"], linux=seccomp_linux(linux_section, profile))
    runtime.ok("create", "--bundle", b, cid)
    runtime.ok("start", cid)
    res = runtime("exec", cid, "sh", "-c", "grep '^Seccomp:' /proc/self/status; mkdir /tmp/y")
    assert "Seccomp:\t2" in res.out
    assert res.code == 1 and "Operation not permitted" in res.err + res.out


def test_personality_linux32(runtime, bundle, cid, linux_section):
    linux = dict(linux_section, personality={"domain": "LINUX32"})
    b = bundle(["uname", "-m"], linux=linux)
    res = runtime("run", "--bundle", b, cid)
    assert res.code == 0, res
    assert res.out.strip() == "i686"


@pytest.mark.parametrize("key, value, words", [
    ("personality", {"domain": "PER_BSD"}, "personality"),
    ("intelRdt", {"closID": "x"}, "intelRdt"),
    ("uidMappings", [{"containerID": 0, "hostID": 1000, "size": 1}], "uidMappings"),
])
def test_unsupported_linux_fields_are_refused(runtime, bundle, cid, linux_section, key, value,
                                              words):
    linux = dict(linux_section, **{key: value})
    b = bundle(["true"], linux=linux)
    res = runtime("create", "--bundle", b, cid)
    assert res.code != 0 and words in res.err, res


def test_ambient_capability_that_cannot_be_raised_is_not_fatal(runtime, bundle, cid):
    """An ambient cap missing from the inheritable set is skipped, as runc does (buildah
    asks for exactly that); the container runs with the other sets as configured."""
    sets = caps("CAP_CHOWN")
    sets["inheritable"] = []
    st, _res = run_status(runtime, bundle, cid, process={"capabilities": sets})
    assert st["CapAmb"] == "0" * 16
    assert st["CapEff"] == f"{1:016x}"


# --- compiled seccomp programs are kept -----------------------------------------------

DENY_MKDIR = {"defaultAction": "SCMP_ACT_ALLOW",
              "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}
DENY_RMDIR = {"defaultAction": "SCMP_ACT_ALLOW",
              "syscalls": [{"names": ["rmdir"], "action": "SCMP_ACT_ERRNO"}]}
PROBE = "mkdir /tmp/d; echo mkdir=$?; rmdir /tmp/d; echo rmdir=$?"


def _cache(runtime) -> str:
    return os.path.join(runtime.root, ".seccomp-programs")


def test_a_created_containers_program_is_kept_and_the_next_create_uses_it(
        runtime, bundle, cid, linux_section):
    first = bundle(["sleep", "30"], linux=seccomp_linux(linux_section, DENY_MKDIR))
    runtime.ok("create", "--bundle", first, cid)
    (key,) = os.listdir(_cache(runtime))
    kept = os.stat(os.path.join(_cache(runtime), key))
    assert kept.st_ino == os.stat(os.path.join(runtime.root, cid, "seccomp.bpf")).st_ino
    assert kept.st_mode & 0o777 == 0o600
    runtime.ok("delete", "--force", cid)
    # Prove the second container loads the kept program: swap in another profile's.
    other = bundle(["true"], linux=seccomp_linux(linux_section, DENY_RMDIR))
    runtime.ok("create", "--bundle", other, cid + "o")
    with open(os.path.join(runtime.root, cid + "o", "seccomp.bpf"), "rb") as f:
        rmdir_program = f.read()
    runtime.ok("delete", "--force", cid + "o")
    with open(os.path.join(_cache(runtime), key), "wb") as f:
        f.write(rmdir_program)
    second = bundle(["sh", "-c", PROBE], linux=seccomp_linux(linux_section, DENY_MKDIR))
    res = runtime("run", "--bundle", second, cid + "s")
    assert res.code == 0, res
    assert "mkdir=0" in res.out and "rmdir=1" in res.out, res


def test_a_damaged_kept_program_is_built_again(runtime, bundle, cid, linux_section):
    b = bundle(["true"], linux=seccomp_linux(linux_section, DENY_MKDIR))
    runtime.ok("create", "--bundle", b, cid)
    runtime.ok("delete", "--force", cid)
    (key,) = os.listdir(_cache(runtime))
    with open(os.path.join(_cache(runtime), key), "wb") as f:
        f.write(b"\0" * 7)  # not a whole instruction
    probe = bundle(["sh", "-c", PROBE], linux=seccomp_linux(linux_section, DENY_MKDIR))
    res = runtime("run", "--bundle", probe, cid + "p")
    assert res.code == 0, res
    assert "mkdir=1" in res.out, res


def test_the_program_cache_is_emptied_when_full(runtime, bundle, cid, linux_section):
    from pyocijail.backends.linux import seccomp

    os.makedirs(_cache(runtime), mode=0o700)
    for i in range(seccomp.CACHE_LIMIT):
        with open(os.path.join(_cache(runtime), f"{i:064x}"), "wb") as f:
            f.write(b"\0" * 8)
    b = bundle(["true"], linux=seccomp_linux(linux_section, DENY_MKDIR))
    runtime.ok("create", "--bundle", b, cid)
    assert len(os.listdir(_cache(runtime))) == 1


def test_a_failed_create_keeps_no_program(runtime, bundle, cid, linux_section):
    b = bundle(["true"], linux=seccomp_linux(linux_section, DENY_MKDIR),
               process={"cwd": "relative"})
    res = runtime("create", "--bundle", b, cid)
    assert res.code != 0
    assert not os.path.exists(_cache(runtime))
