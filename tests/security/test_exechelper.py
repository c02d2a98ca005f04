"""The exec helper's protocol, run for real from its sealed memfd (no root needed).

argv = [MAGIC, report fd, path, *program argv]: a wrong argv[0] (what a
`#!/proc/self/exe` script re-entering it passes) exits 126; a failed execve
writes the errno record on the report fd and exits 127; a good one leaves the
report fd closed in the program and the others open.
"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
import subprocess
import time

import pytest

from pyocijail.process import exechelper

pytestmark = pytest.mark.linux  # memfd
MACHINE = os.uname().machine
needs_native = pytest.mark.skipif(MACHINE not in exechelper.CODE,
                                  reason=f"no exec helper for {MACHINE}")


def run_helper(argv: list[str], *, report: bool = True,
               env: dict[str, str] | None = None) -> tuple[int, bytes]:
    """fexecve the sealed helper with `argv` (report fd given by the caller's
    argv[1]; we dup a pipe there); its exit code and what came on the pipe."""
    fd = exechelper.sealed_memfd(MACHINE)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            null = os.open("/dev/null", os.O_RDONLY)
            os.dup2(null, 0)  # no terminal on fd 0, whoever runs the tests
            if report:
                # inheritable: the helper marks it CLOEXEC
                os.dup2(w, int(argv[1].split(":")[0] or 9))
            os.execve(fd, argv, env or {"PATH": "/usr/bin:/bin"})
        finally:
            os._exit(99)
    os.close(w)
    os.close(fd)
    data = b""
    while chunk := os.read(r, 4096):
        data += chunk
    os.close(r)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), data


@needs_native
@pytest.mark.parametrize("first", ["/proc/self/exe", "pyocijail-exe", "pyocijail-execX", "p"])
def test_an_argv0_that_is_not_the_magic_word_exits_126_and_execs_nothing(first, tmp_path):
    marker = tmp_path / "ran"
    code, data = run_helper([first, "9", "/bin/sh", "sh", "-c", f"touch {marker}"])
    assert (code, data) == (exechelper.REFUSED, b"")
    assert not marker.exists()


@needs_native
@pytest.mark.parametrize("fd", ["", "x9", "9x", "-1", "900"])
def test_a_report_fd_that_is_not_an_open_fd_number_exits_126(fd):
    code, _ = run_helper([exechelper.MAGIC, fd, "/bin/true", "true"], report=False)
    assert code == exechelper.REFUSED


@needs_native
def test_too_few_arguments_exit_126():
    assert run_helper([exechelper.MAGIC, "9"])[0] == exechelper.REFUSED


@needs_native
@pytest.mark.parametrize("mode,content,err", [(None, b"", errno.ENOENT),
                                              (0o644, b"#!/bin/sh\n", errno.EACCES),
                                              (0o755, b"\x00garbage", errno.ENOEXEC)])
def test_a_failed_execve_writes_the_errno_record_and_exits_127(mode, content, err, tmp_path):
    path = tmp_path / "prog"
    if mode is not None:
        path.write_bytes(content)
        path.chmod(mode)
    code, data = run_helper([exechelper.MAGIC, "9", str(path), "x"])
    assert code == exechelper.FAILED
    assert data == exechelper.RECORD_TAG + err.to_bytes(4, "little")
    assert exechelper.record_errno(data) == err
    assert exechelper.failure("x", data) == f'exec: "x": {os.strerror(err).lower()}'


def test_failure_words_only_a_record():
    assert exechelper.failure("sh", b"") is None
    assert exechelper.failure("sh", b'{"t": "error"}') is None
    words = exechelper.failure("sh", b"PJX!\x02\x00\x00\x00")
    assert words == 'exec: "sh": no such file or directory'


@needs_native
def test_the_program_gets_argv_env_and_every_fd_but_the_report_fd(tmp_path):
    """The report fd is close-on-exec in the program (the runtime sees EOF at exec),
    an inherited fd stays open, argv + 3 and envp pass unchanged."""
    out = tmp_path / "out"
    keep_r, keep_w = os.pipe()
    os.set_inheritable(keep_w, True)
    script = (f'echo "$0|$1|$FOO|$(ls /proc/self/fd | tr "\\n" " ")" > {out}')
    code, data = run_helper([exechelper.MAGIC, "9", "/bin/sh", "sh-name", "-c", script],
                            env={"FOO": "bar baz", "PATH": "/usr/bin:/bin"})
    os.close(keep_r)
    os.close(keep_w)
    assert (code, data) == (0, b"")  # EOF at exec: nothing was written on the report fd
    zero, _one, foo, fds = out.read_text().strip().split("|")
    assert (zero, foo) == ("sh-name", "bar baz")
    open_fds = set(fds.split())
    assert "9" not in open_fds
    assert str(keep_w) in open_fds


def test_the_memfd_is_sealed_and_cannot_be_written():
    fd = exechelper.sealed_memfd(MACHINE if MACHINE in exechelper.CODE else "x86_64")
    try:
        seals = fcntl.fcntl(fd, fcntl.F_GET_SEALS)
        assert seals & exechelper.SEALS == exechelper.SEALS
        assert os.get_inheritable(fd) is False
        with pytest.raises(PermissionError):
            os.write(fd, b"x")
        w = os.open(f"/proc/self/fd/{fd}", os.O_WRONLY)  # reopened, as /proc/PID/exe would be
        try:
            with pytest.raises(PermissionError):
                os.write(w, b"PWNED")
        finally:
            os.close(w)
        with pytest.raises(PermissionError):
            os.ftruncate(fd, 0)
    finally:
        os.close(fd)


def test_an_unknown_machine_has_no_helper():
    assert exechelper.elf("riscv64") is None
    with pytest.raises(LookupError):
        exechelper.sealed_memfd("riscv64")


@pytest.mark.parametrize("machine,e_machine", [("x86_64", 62), ("aarch64", 183)])
def test_the_elf_is_well_formed(machine, e_machine):
    """ELF64 LE, ET_EXEC, one R+X PT_LOAD covering the file, entry right after
    the headers, the code ending with the magic word."""
    image = exechelper.elf(machine)
    assert image[:7] == b"\x7fELF\x02\x01\x01"
    u = lambda at, n: int.from_bytes(image[at:at + n], "little")  # noqa: E731
    assert (u(16, 2), u(18, 2)) == (2, e_machine)
    phoff, phnum = u(32, 8), u(56, 2)
    assert (phoff, phnum, u(54, 2)) == (64, 1, 56)
    assert (u(phoff, 4), u(phoff + 4, 4)) == (1, 5)  # PT_LOAD, R|X
    vaddr, filesz = u(phoff + 16, 8), u(phoff + 32, 8)
    assert filesz == len(image) and u(24, 8) == vaddr + 120
    assert image.endswith(exechelper.MAGIC.encode() + b"\0")


QEMU = shutil.which("qemu-aarch64-static") or shutil.which("qemu-aarch64")


@pytest.mark.skipif(QEMU is None or MACHINE == "aarch64",
                    reason="aarch64 helper: native or under qemu-user (qemu-user-static)")
def test_the_aarch64_helper_under_qemu(tmp_path):
    helper = tmp_path / "helper"
    helper.write_bytes(exechelper.elf("aarch64"))
    helper.chmod(0o755)
    run = lambda argv0, *args: subprocess.run(  # noqa: E731
        [QEMU, "-0", argv0, str(helper), *args], capture_output=True, timeout=30,
        pass_fds=(), check=False)
    assert run("/proc/self/exe", "2", "/bin/true", "true").returncode == exechelper.REFUSED
    failed = run(exechelper.MAGIC, "1", "/nonexistent", "x")
    assert failed.returncode == exechelper.FAILED
    assert failed.stdout == exechelper.RECORD_TAG + errno.ENOENT.to_bytes(4, "little")
    marker = tmp_path / "ran"
    ok = run(exechelper.MAGIC, "2", "/bin/sh", "sh", "-c", f"echo ok > {marker}")
    assert ok.returncode == 0 and marker.read_text() == "ok\n"
    # "R:H": fork (clone), the child's pid on H (here stdout), the child execs
    forked = tmp_path / "forked"
    handed = run(exechelper.MAGIC, "2:1", "/bin/sh", "sh", "-c", f"echo $$ > {forked}")
    assert handed.returncode == 0 and len(handed.stdout) == 4
    child = int.from_bytes(handed.stdout, "little")
    deadline = time.monotonic() + 10
    while not forked.exists() or not forked.read_text().endswith("\n"):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert int(forked.read_text()) == child
    assert run(exechelper.MAGIC, "2:1:x", "/bin/true", "true").returncode == exechelper.REFUSED


@needs_native
def test_with_a_handover_fd_the_helper_forks_and_hands_over_the_pid(tmp_path):
    """"R:H": the parent writes the child's pid (u32 LE) on H and exits 0; the child
    has closed H, is in a new session, and execs the program."""
    out = tmp_path / "out"
    h_r, h_w = os.pipe()
    os.set_inheritable(h_w, True)
    script = (f'echo "$$ $(cut -d" " -f6 /proc/$$/stat) $(ls /proc/self/fd | tr "\\n" " ")"'
              f' > {out}')
    code, data = run_helper([exechelper.MAGIC, f"9:{h_w}", "/bin/sh", "sh", "-c", script])
    os.close(h_w)
    handed = os.read(h_r, 16)
    os.close(h_r)
    assert (code, data) == (0, b"")  # the parent: exit 0; nothing on R
    assert len(handed) == 4
    child = int.from_bytes(handed, "little")
    deadline = time.monotonic() + 10
    while not out.exists() or not out.read_text().endswith("\n"):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    pid, session, fds = out.read_text().split(" ", 2)
    assert int(pid) == child and int(session) == child  # a session leader of its own
    assert str(h_w) not in fds.split() and "9" not in fds.split()


@needs_native
def test_with_a_terminal_the_forked_child_reports_a_failed_tiocsctty():
    """":t" with an fd 0 that is no terminal: the child's record says so (tag PJT!)."""
    h_r, h_w = os.pipe()
    os.set_inheritable(h_w, True)
    code, data = run_helper([exechelper.MAGIC, f"9:{h_w}:t", "/bin/true", "true"])
    os.close(h_w)
    os.close(h_r)
    assert code == 0  # the parent's
    assert data[:4] == b"PJT!" and exechelper.record_errno(data) == errno.ENOTTY
    assert exechelper.failure("true", data).startswith("new session and controlling terminal")


@needs_native
@pytest.mark.parametrize("fds", ["9:", "9:x", "9:5:", "9:5:u", "9:5:tt", ":5"])
def test_a_malformed_fds_argument_exits_126(fds):
    assert run_helper([exechelper.MAGIC, fds, "/bin/true", "true"])[0] == exechelper.REFUSED


def test_a_fork_failure_with_enomem_names_the_dead_init():
    data = b"PJF!" + errno.ENOMEM.to_bytes(4, "little")
    assert exechelper.failure("true", data, 42) == (
        "container process 42 has exited: its pid namespace takes no new process")


def test_a_machine_without_helper_code_refuses_create_and_exec(monkeypatch):
    """Never the unsafe path: no helper, no plain execve from the interpreter."""
    import posix

    from pyocijail.backends.linux import backend as linux_backend
    from pyocijail.errors import PyocijailError

    class Uname:
        machine = "riscv64"

    monkeypatch.setattr(posix, "uname", lambda: Uname)
    with pytest.raises(PyocijailError, match=r"no exec helper for this machine \(riscv64\)"):
        linux_backend._exec_helper()
    with pytest.raises(PyocijailError, match="exec helper not loaded"):
        linux_backend.LinuxBackend(None, log=None).execve("/bin/true", ["true"], {}, 1)
