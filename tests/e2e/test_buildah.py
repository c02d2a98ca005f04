"""Standalone buildah (1.28) with pyocijail as its runtime: `buildah run` and `buildah bud`.

Found by a differential run of ~80 `buildah run`/`bud` variants with pyocijail
and with runc (same exit codes, output and runtime calls except where noted
in README); the last tests are the differences that were fixed.
"""

from __future__ import annotations

import os
import signal
import time
import uuid

import pytest

from tests.helpers import IMAGE, wait_for

pytestmark = [pytest.mark.buildah, pytest.mark.root]


@pytest.fixture
def ctr(buildah):
    """A working container from the busybox image, removed after the test."""
    name = buildah.ok("from", "--name", f"w-{uuid.uuid4().hex[:8]}", IMAGE).out.strip()
    yield name
    buildah("rm", name)


def _calls_since(buildah, before):
    calls = buildah.runtime_calls()[before:]
    name = calls[0].split()[-1]
    return name, calls, buildah.verbs(name)


def test_run_output_stdin_and_process_options(buildah, ctr):
    """--user, --workingdir (created), --env, piped stdin, separate stderr; one
    create/start/state.../delete per run, with the bundle as cwd-relative paths."""
    before = len(buildah.runtime_calls())
    res = buildah.run(ctr, "sh", "-c", 'id -u; id -g; pwd; echo "$FOO"; cat; echo err >&2',
                      options=("--user", "1000:1000", "--workingdir", "/new/dir",
                               "--env", "FOO=bar"), input="piped\n")
    assert (res.code, res.out, res.err) == (0, "1000\n1000\n/new/dir\nbar\npiped\n", "err\n")
    name, calls, verbs = _calls_since(buildah, before)
    bundle = os.path.join(buildah.base, "tmp", name.removeprefix("buildah-"))
    assert calls[0] == f"create --bundle {bundle} --pid-file {bundle}/pid {name}"
    assert verbs[:2] == ["create", "start"] and verbs[-1] == "delete", calls
    assert set(verbs[2:-1]) <= {"state"}, calls


@pytest.mark.parametrize("command, code, words", [
    (("sh", "-c", "exit 3"), 3, "exit status 3"),
    (("nosuchcmd",), 1, 'exec: "nosuchcmd": executable file not found in $PATH'),
    (("/etc/passwd",), 1, 'exec: "/etc/passwd": permission denied'),
], ids=["exit-3", "missing", "not-executable"])
def test_run_exit_codes(buildah, ctr, command, code, words):
    """buildah's exit code and message are runc's (the runtime text after its prefix)."""
    res = buildah.run(ctr, *command)
    assert res.code == code and words in res.err, res


def test_run_volumes_and_mounts(buildah, ctr, tmp_path):
    """-v (read-only), --mount type=tmpfs and type=cache."""
    (tmp_path / "f").write_text("from host\n")
    res = buildah.run(ctr, "sh", "-c", "cat /vol/f; touch /vol/g 2>/dev/null || echo ro; "
                      "grep ' /mt ' /proc/mounts | cut -d' ' -f3; echo c > /c/x && cat /c/x",
                      options=("-v", f"{tmp_path}:/vol:ro", "--mount", "type=tmpfs,target=/mt",
                               "--mount", "type=cache,target=/c"))
    assert (res.code, res.out, res.err) == (0, "from host\nro\ntmpfs\nc\n", ""), res


def test_sigterm_to_buildah_run_kills_and_deletes(buildah, ctr, tmp_path):
    """SIGTERM to `buildah run`: it sends `kill NAME SIGKILL`, then `delete` (as with runc)."""
    before = len(buildah.runtime_calls())
    out = tmp_path / "out"
    with open(out, "w") as o, open(tmp_path / "err", "w") as e:
        proc = buildah.popen(*buildah.run_args(ctr, "sh", "-c", "echo started; sleep 30"),
                             stdin=open(os.devnull), stdout=o, stderr=e)
    try:
        wait_for(lambda: out.read_text() == "started\n", 30, "the step to start")
        # buildah's runtime subprocess handles SIGTERM only once our `start` has returned
        # and it polls `state`: a signal before that kills it outright ("while running
        # runtime: signal: terminated", exit 255) and nothing kills the container. That
        # is buildah's own race (runc's start leaves the same window); wait past it.
        wait_for(lambda: any(" state " in f" {c} " for c in buildah.runtime_calls()[before:]),
                 30, "buildah to poll the state")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 1
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "container exited on killed" in (tmp_path / "err").read_text()
    _, calls, verbs = _calls_since(buildah, before)
    # buildah polls `state` every 100 ms, so a poll may fall between the kill and the delete.
    kill = max(i for i, v in enumerate(verbs) if v == "kill")
    assert calls[kill].endswith(" SIGKILL") and verbs[-1] == "delete", calls
    assert set(verbs[kill + 1:-1]) <= {"state"}, calls


CONTAINERFILE = """\
FROM {image}
ENV GREETING=hello
WORKDIR /app
RUN echo "$GREETING from $PWD" > out.txt
RUN ["sh", "-c", "echo exec form >> /app/out.txt"]
RUN --mount=type=cache,target=/cache echo cached > /cache/c && cat /cache/c
USER 1000:1000
RUN id -u
USER root
CMD ["cat", "/app/out.txt"]
"""


def test_bud_with_run_steps(buildah, tmp_path):
    """`buildah bud`: shell and exec form RUN steps, ENV/WORKDIR/USER, a cache mount."""
    (tmp_path / "Containerfile").write_text(CONTAINERFILE.format(image=IMAGE))
    res = buildah("bud", "--isolation", "oci", "--runtime", buildah.runtime, "--network",
                  "none", "--layers=false", "-t", "localhost/built:1", str(tmp_path))
    try:
        assert res.code == 0, res
        assert "\ncached\n" in res.out and "\n1000\n" in res.out, res
        ctr = buildah.ok("from", "localhost/built:1").out.strip()
        try:
            out = buildah.run(ctr, "cat", "/app/out.txt")
            assert (out.code, out.out) == (0, "hello from /app\nexec form\n"), out
        finally:
            buildah("rm", ctr)
    finally:
        buildah("rmi", "localhost/built:1")


def test_bud_failing_run_step(buildah, tmp_path):
    """A failing RUN fails the build with its exit status and leaves no container."""
    (tmp_path / "Containerfile").write_text(f"FROM {IMAGE}\nRUN exit 7\nRUN echo after\n")
    res = buildah("bud", "--isolation", "oci", "--runtime", buildah.runtime, "--network",
                  "none", "--layers=false", str(tmp_path))
    assert res.code != 0 and "after" not in res.out
    assert 'building at STEP "RUN exit 7": while running runtime: exit status 7' in res.err, res


# -- differences from runc that were fixed --------------------------------------------

def test_workingdir_that_is_a_file_fails_in_runcs_words(buildah, ctr):
    """runc: "mkdir /etc/passwd: not a directory" (pyocijail said "File exists")."""
    res = buildah.run(ctr, "pwd", options=("--workingdir", "/etc/passwd"))
    assert res.code == 1 and "mkdir /etc/passwd: not a directory" in res.err, res


def test_runtime_flag_debug_shows_debug_lines(buildah, ctr):
    """`--runtime-flag debug` shows the runtime's debug lines on stderr, as with runc
    (pyocijail printed nothing without --log)."""
    start = time.monotonic()
    res = buildah.run(ctr, "echo", "x", options=("--runtime-flag", "debug"))
    assert (res.code, res.out) == (0, "x\n"), res
    assert any(" level=debug msg=" in line for line in res.err.splitlines()), res
    assert time.monotonic() - start < 30
