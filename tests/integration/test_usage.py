"""The command line itself: usage errors are one line and exit 1; help lists every command."""

from __future__ import annotations

import json
import os

import pytest

from pyocijail.cli import COMMANDS
from pyocijail.cli.help import SUMMARIES


@pytest.mark.parametrize("argv", [
    [],                                  # `pyocijail` alone
    ["nosuchcommand", "c1"],             # an unknown command
    ["create"],                          # a missing argument
    ["state"],
    ["kill", "c1", "99"],                # bad signals
    ["kill", "c1", "NOSUCHSIG"],
    ["list", "--format", "yaml"],        # a bad choice
    ["--bogus", "state", "c1"],          # an unknown global flag
    ["exec", "--preserve-fds", "x", "c1", "true"],
    ["help", "nosuchcommand"],
])
def test_a_usage_error_is_exit_1_one_line_and_one_log_object(runtime, workdir, argv):
    """As the README promises for any failure: exit 1, one stderr line, one JSON object."""
    log = os.path.join(workdir, "log.json")
    res = runtime(*argv, globals_=("--log", log, "--log-format", "json"))
    assert res.code == 1, res
    assert res.err.count("\n") == 1 and res.err.startswith("pyocijail: "), res.err
    assert res.err.count("pyocijail") == 1 or "--help" in res.err, res.err
    with open(log) as f:
        text = f.read()
    obj = json.loads(text)  # the whole file is one object, as podman reads it
    assert obj["level"] == "error" and obj["msg"] in res.err
    assert res.out == ""


@pytest.mark.root
@pytest.mark.busybox
def test_a_bad_signal_to_a_real_container_is_one_line(runtime, bundle):
    """`kill ID 99` on a created container: exit 1, one line, the container untouched."""
    b = bundle(["sleep", "30"])
    runtime.ok("create", "--bundle", b, "c1")
    res = runtime("kill", "c1", "99")
    assert res.code == 1 and res.err == "pyocijail: invalid signal '99'\n", res
    assert runtime.status("c1") == "created"


def test_help_lists_every_command_with_a_summary(runtime):
    """`--help` (and `help`) names each command with one line and points at COMMAND --help."""
    for argv in (["--help"], ["help"]):
        res = runtime(*argv)
        assert res.code == 0, res
        listed = {line.split()[0]: line for line in res.out.splitlines()
                  if line.startswith("  ") and not line.lstrip().startswith("-")}
        assert set(COMMANDS) - {"help"} <= set(listed), res.out
        for name in set(COMMANDS) - {"help"}:
            assert SUMMARIES[name] in listed[name]
        assert "COMMAND --help" in res.out
        assert "/var/run/pyocijail" in res.out  # the default state root


def test_help_command_is_command_help(runtime):
    """`help create` prints what `create --help` prints."""
    res = runtime("help", "create")
    assert res.code == 0, res
    assert res.out == runtime("create", "--help").out and "--bundle" in res.out
