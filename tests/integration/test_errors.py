"""Failures: exit 1, one clear message (one JSON object in --log), nothing left behind."""

from __future__ import annotations

import json
import os

import pytest

pytestmark = [pytest.mark.root, pytest.mark.busybox]


def _log_objects(path):
    with open(path) as f:
        return [json.loads(line) for line in f]


@pytest.mark.parametrize(("args", "words"), [
    (["nosuchcmd"], 'exec: "nosuchcmd": executable file not found in $PATH'),
    (["/bin/nosuch"], 'exec: "/bin/nosuch": stat /bin/nosuch: no such file or directory'),
    (["/etc/passwd"], 'exec: "/etc/passwd": permission denied'),
    ([""], 'exec: "": executable file not found in $PATH'),
])
def test_bad_executable_fails_create_with_podmans_words(runtime, bundle, workdir, args, words):
    """args[0] is checked inside the container at create, with the wording podman maps."""
    b = bundle(args)
    log = os.path.join(workdir, "oci-log")
    res = runtime("create", "--bundle", b, "c1", globals_=("--log", log, "--log-format=json"))
    assert res.code == 1
    assert words in res.err
    objects = _log_objects(log)
    assert len(objects) == 1
    assert objects[0]["level"] == "error" and words in objects[0]["msg"]
    assert objects[0]["time"][10] == "T" and "." in objects[0]["time"]
    assert runtime.ids() == []
    assert res.out == ""


def test_invalid_config_names_the_pointer(runtime, bundle, workdir):
    """A schema violation names the JSON pointer and rule; no state dir is made."""
    b = bundle(["true"], process={"args": []})
    res = runtime("create", "--bundle", b, "c1")
    assert res.code == 1
    assert "/process/args" in res.err and "too short" in res.err
    assert "Traceback" not in res.err
    assert not os.path.exists(runtime.root) or runtime.ids() == []


def test_text_log_format_writes_one_line(runtime, bundle, workdir):
    """--log with the default text format appends one line per failure."""
    b = bundle(["nosuchcmd"])
    log = os.path.join(workdir, "log.txt")
    runtime("create", "--bundle", b, "c1", globals_=("--log", log))
    with open(log) as f:
        lines = f.read().splitlines()
    assert len(lines) == 1 and "level=error" in lines[0] and "nosuchcmd" in lines[0]


def test_debug_log_traces_kernel_steps(runtime, bundle, workdir):
    """--log-level debug records forks, namespaces and mounts, one JSON object a line."""
    b = bundle(["true"])
    log = os.path.join(workdir, "debug.log")
    runtime.ok("run", "--bundle", b, "c1",
               globals_=("--log", log, "--log-format", "json", "--log-level", "debug"))
    msgs = [o["msg"] for o in _log_objects(log)]
    assert any(m.startswith("forked init process") for m in msgs)
    assert any(m.startswith("unshare") for m in msgs)
    assert any("mount" in m and "/proc" in m for m in msgs)
    assert all(o["level"] == "debug" for o in _log_objects(log))


def test_debug_log_shows_the_plan_as_json(runtime, bundle, workdir):
    """The plan line of --log-level debug is JSON one can feed to jq, not a Python repr."""
    log = os.path.join(workdir, "debug.log")
    runtime.ok("run", "--bundle", bundle(["true"]), "c1",
               globals_=("--log", log, "--log-format", "json", "--log-level", "debug"))
    (line,) = [o["msg"] for o in _log_objects(log) if o["msg"].startswith("plan: ")]
    plan = json.loads(line[len("plan: "):])
    assert plan["id"] == "c1" and plan["rootfs"].endswith("/rootfs")


@pytest.mark.parametrize("bad_id", ["../x", "a/b", "..", ".", ".x", "-x", "x" * 300, "a b"])
def test_hostile_ids_are_refused(runtime, bundle, bad_id):
    """Ids that could become paths or other jails' names are refused before anything."""
    b = bundle(["true"])
    res = runtime("create", "--bundle", b, bad_id)
    if bad_id.startswith("-"):  # taken for an option: a usage error
        assert res.code == 1 and "required: ID" in res.err
    else:
        assert res.code == 1 and "invalid container id" in res.err
    assert runtime.ids() == []


@pytest.mark.parametrize("good_id", ["my.app", "_x", "a.b.c"])
def test_ids_runc_accepts_are_accepted(runtime, bundle, good_id):
    """Dots and a leading underscore, as runc allows: a whole lifecycle works."""
    b = bundle(["sleep", "30"])
    runtime.ok("create", "--bundle", b, good_id)
    assert runtime.state(good_id)["id"] == good_id
    assert [row["id"] for row in runtime.ok("list", "--format", "json").json()] == [good_id]
    runtime.ok("start", good_id)
    runtime.ok("delete", "--force", good_id)
    assert runtime.ids() == []


def test_missing_bundle_is_one_clear_error(runtime, workdir):
    """A bundle without config.json: exit 1, the path in the message."""
    res = runtime("create", "--bundle", os.path.join(workdir, "nope"), "c1")
    assert res.code == 1 and "config.json" in res.err and "Traceback" not in res.err
    assert runtime.ids() == []


def test_unknown_container_is_reported_for_every_command(runtime):
    """start/state/kill/exec/pause on an unknown id say it does not exist."""
    for args in (["start"], ["state"], ["kill"], ["exec"], ["pause"], ["ps"]):
        cmd = [*args, "ghost"] + (["true"] if args == ["exec"] else [])
        res = runtime(*cmd)
        assert res.code == 1, args
        assert 'container "ghost" does not exist' in res.err, (args, res)


@pytest.mark.skipif(not os.path.isdir("/proc/self/ns"), reason="Linux namespaces")
def test_a_namespace_path_that_cannot_be_read_says_why(runtime, bundle, workdir):
    """Not "does not exist" for a path that exists but cannot be reached (a symlink
    loop here; EACCES on another user namespace's /proc/1/ns/net in practice)."""
    from pyocijail.lifecycle.defaults import linux_config

    loop = os.path.join(workdir, "loop")
    os.symlink(loop, loop)

    def with_network_path(path):
        linux = linux_config(["true"])["linux"]
        linux["namespaces"] = [ns if ns["type"] != "network" else {"type": "network",
                                                                   "path": path}
                               for ns in linux["namespaces"]]
        return bundle(["true"], linux=linux)

    res = runtime("create", "--bundle", with_network_path(loop), "c1")
    assert res.code == 1 and "Too many levels of symbolic links" in res.err, res
    res = runtime("create", "--bundle", with_network_path(loop + "-gone"), "c1")
    assert res.code == 1 and "does not exist" in res.err, res
    assert runtime.ids() == []
