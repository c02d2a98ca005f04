"""The command-line surface: globals, tolerated flags, version, probes, usage errors."""

from __future__ import annotations

import json
import os

import pytest

from pyocijail.cli import parse_globals
from pyocijail.errors import UsageError
from pyocijail.testing.clients.driver import Runtime


@pytest.fixture
def rt(tmp_path):
    return Runtime(str(tmp_path / "state"))


def test_globals_accept_both_value_forms():
    """--opt value and --opt=value are the same; the command ends the globals."""
    a = parse_globals(["--root", "/r", "--log=/l", "--log-format", "JSON", "state", "--x", "id"])
    assert (a.root, a.log, a.log_format, a.command, a.rest) == ("/r", "/l", "json", "state",
                                                                ["--x", "id"])


def test_last_root_wins():
    """The launcher bakes a --root in first; a caller's own --root (containerd's shim)
    comes later and wins, in either value form, as with runc's flag parsing."""
    a = parse_globals(["--root", "/baked", "--log", "/l", "--root=/shim", "state", "x"])
    assert a.root == "/shim"
    a = parse_globals(["--root", "/baked", "--root", "/shim", "state", "x"])
    assert a.root == "/shim"


def test_launcher_dependencies_are_the_projects():
    """The launcher checks it reaches exactly pyproject's run-time dependencies."""
    import re
    import tomllib

    from pyocijail.launcher import DEPENDENCIES

    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "..", "..", "pyproject.toml"), "rb") as f:
        deps = tomllib.load(f)["project"]["dependencies"]
    assert {re.match(r"[A-Za-z0-9_.-]+", d).group(0) for d in deps} == set(DEPENDENCIES)


def test_launcher_calls_main_as_the_program():
    """The launcher puts the baked --root in front of sys.argv and calls main() without
    arguments: only then does main end the process without the interpreter's teardown."""
    from pyocijail.launcher import launcher_text

    text = launcher_text("/x/pj", "/usr/bin/python3", ["/a"], root="/r", form="python")
    assert text.endswith("sys.argv[1:1] = ['--root', '/r']\nsys.exit(main())\n"), text
    text = launcher_text("/x/pj", "/usr/bin/python3", ["/a"], form="sh")
    assert "sys.argv[1:1]" not in text and text.endswith("sys.exit(main())\n' \"$@\"\n")


def test_tolerated_flags_are_ignored():
    """--debug, --systemd-cgroup, --cgroup-manager X, --rootless X, --criu X are accepted."""
    a = parse_globals(["--systemd-cgroup", "--cgroup-manager", "disabled", "--rootless=false",
                       "--criu", "/x", "--debug", "kill", "id"])
    assert a.command == "kill" and a.log_level == "debug"


def test_unknown_global_flag_is_a_usage_error():
    with pytest.raises(UsageError):
        parse_globals(["--bogus", "state", "x"])


def test_version_has_runc_shape(rt):
    """Exactly three lines, as go-runc's parser expects."""
    res = rt.ok("--version")
    lines = res.out.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("pyocijail version ")
    assert lines[1].startswith("commit: ")
    assert lines[2] == "spec: 1.3.0"


@pytest.mark.parametrize("args", [["checkpoint", "--help"], ["restore", "--help"],
                                  ["restore", "--lsm-mount-context", "x", "c1"]])
def test_checkpoint_probes_fail(rt, args):
    """podman probes `checkpoint --help`: it must exit non-zero."""
    res = rt(*args)
    assert res.code != 0 and "not supported" in res.err


def test_unknown_command_fails(rt):
    res = rt("frobnicate", "x")
    assert res.code != 0 and "unknown command" in res.err


def test_create_accepts_ignored_options(rt, tmp_path):
    """--no-pivot and --no-new-keyring parse (the failure is the missing bundle)."""
    res = rt("create", "--no-pivot", "--no-new-keyring", "--bundle", str(tmp_path), "c1")
    assert res.code == 1 and "config.json" in res.err


def test_features_are_valid_against_our_schema(rt):
    """features: a valid document whose max version create accepts."""
    from pyocijail.spec import schema

    doc = rt.ok("features").json()
    schema.validate_features(doc)
    assert doc["ociVersionMin"] == "1.0.0" and doc["ociVersionMax"] == "1.3.0"
    assert set(doc["hooks"]) == {"prestart", "createRuntime", "createContainer",
                                 "startContainer", "poststart", "poststop"}
    assert "org.freebsd." in doc["potentiallyUnsafeConfigAnnotations"]
    assert "rbind" in doc["mountOptions"]
    assert schema.check_oci_version(doc["ociVersionMax"]) is None


@pytest.mark.parametrize("platform", ["linux", "freebsd"])
def test_spec_writes_a_valid_default_config(rt, tmp_path, platform):
    """spec writes config.json that validates; a second spec refuses to overwrite."""
    from pyocijail.spec.load import load_config

    rt.ok("spec", "--bundle", str(tmp_path), "--platform", platform)
    spec, _ = load_config(str(tmp_path))
    assert spec.process is not None and spec.process.args == ("sh",)
    assert (spec.linux is not None) == (platform == "linux")
    res = rt("spec", "--bundle", str(tmp_path))
    assert res.code == 1 and "exists" in res.err


def test_list_of_empty_root(rt):
    """list works before any container exists."""
    assert rt.ok("list", "--format", "json").json() == []
    assert rt.ok("list", "-q").out == ""


def test_delete_force_with_minimal_environment(rt):
    """The cleanup delete runs with only XDG_RUNTIME_DIR= (podman 4.3): it must work."""
    res = rt("delete", "--force", "x", env={"XDG_RUNTIME_DIR": "",
                                            "PYTHONPATH": os.environ.get("PYTHONPATH", "")})
    assert res.code == 0, res


def test_error_with_json_log_is_a_single_object(rt, tmp_path):
    """podman reads the whole --log file as one JSON object after a failure."""
    log = tmp_path / "oci-log"
    res = rt("state", "ghost", globals_=("--log-format=json", "--log", str(log)))
    assert res.code == 1
    obj = json.loads(log.read_text())
    assert obj["msg"] == 'container "ghost" does not exist' and obj["level"] == "error"


def test_exec_detach_runs_without_the_cyclic_gc_and_gives_it_back(tmp_path, monkeypatch):
    """exec --detach turns the cyclic GC off while it loads the process and forks
    (cli/exec_.py) and back on for an in-process caller, also when exec fails; an
    attached exec keeps it on. The backend is FreeBSD's planning-only one: no warm-up
    thread is left in this process."""
    import gc

    from pyocijail.backends.freebsd.backend import FreeBSDBackend
    from pyocijail.cli import main
    from pyocijail.lifecycle import process_args

    seen = []
    build = process_args.build_process

    def spy(*args, **kwargs):  # the real one, recording whether the GC is on
        seen.append(gc.isenabled())
        return build(*args, **kwargs)

    monkeypatch.setattr(process_args, "build_process", spy)
    proc = tmp_path / "process.json"
    proc.write_text(json.dumps({"args": ["/bin/true"], "cwd": "/", "user": {"uid": 0, "gid": 0}}))
    assert gc.isenabled() and not gc.get_freeze_count()
    for detach in (["--detach"], []):
        code = main(["--root", str(tmp_path / "state"), "exec", *detach, "--process", str(proc),
                     "nosuch"], backend=lambda platform, log: FreeBSDBackend(None, log))
        assert code == 1  # no such container
        assert gc.isenabled() and not gc.get_freeze_count()
    assert seen == [False, True]


@pytest.mark.parametrize("words, brief", [
    (["create", "c1"], True), (["start", "c1"], True), (["state", "c1"], True),
    (["kill", "c1"], True), (["delete", "c1"], True), (["list"], True),
    (["run", "c1"], False), (["events", "c1"], False),
])
def test_brief_commands_run_without_the_cyclic_gc_and_give_it_back(tmp_path, monkeypatch,
                                                                     words, brief):
    """The commands over in milliseconds (cli.BRIEF) run without the cyclic GC and
    turn it back on for an in-process caller, also when they fail; run and events,
    which live as long as a container, keep it on."""
    import gc
    import importlib

    from pyocijail.cli import COMMANDS, main
    from pyocijail.errors import PyocijailError

    module = importlib.import_module(f"pyocijail.cli.{COMMANDS[words[0]]}")
    seen = []

    def spy(args, ctx):
        seen.append(gc.isenabled())
        raise PyocijailError("spied")

    monkeypatch.setattr(module, "run", spy)
    assert gc.isenabled() and not gc.get_freeze_count()
    assert main(["--root", str(tmp_path / "state"), *words]) == 1
    assert seen == [not brief]
    assert gc.isenabled() and not gc.get_freeze_count()


def test_the_launcher_starts_without_the_cyclic_gc():
    from pyocijail.launcher import launcher_text

    for form in ("python", "sh"):
        text = launcher_text("/x/pj", "/usr/bin/python3", ["/a"], form=form)
        assert text.index("gc.disable()") < text.index("from pyocijail.cli import main")


_AS_THE_LAUNCHER = """
import gc
gc.disable()
import sys
sys.argv[1:] = {argv!r}
from pyocijail.cli import COMMANDS, main
__import__("pyocijail.cli." + COMMANDS[sys.argv[3]])
module = sys.modules["pyocijail.cli." + COMMANDS[sys.argv[3]]]

def spy(args, ctx):
    sys.stdout.write("on" if gc.isenabled() else "off")
    return 0

module.run = spy
sys.exit(main())
"""


@pytest.mark.parametrize("words, brief", [
    (["start", "c1"], True), (["delete", "c1"], True), (["run", "c1"], False),
    (["events", "c1"], False), (["help"], False),
])
def test_main_as_the_program_turns_the_gc_on_for_a_command_not_brief(tmp_path, words, brief):
    """The launcher starts with the GC off; main, as the program, leaves it off for
    a brief command and turns it on for one that lives as long as a container."""
    import subprocess
    import sys

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    code = _AS_THE_LAUNCHER.format(argv=["--root", str(tmp_path), *words])
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=root, env={"PYTHONPATH": root}, check=False)
    assert res.returncode == 0, res.stderr
    assert res.stdout == ("off" if brief else "on")
