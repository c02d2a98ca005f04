"""The exec helper: a tiny static ELF of ours that makes the program's execve.

Why (CVE-2019-5736): the init and every exec'd process are forks of the
runtime, so their `/proc/self/exe` is the host interpreter. If they called
execve themselves, an image whose entrypoint (or `/bin/sh`) is a
`#!/proc/self/exe` script would make the kernel run that interpreter inside
the container, and container root could then reopen `/proc/PID/exe` for
writing: the host's Python, overwritten. So on Linux the last step is
execveat(AT_EMPTY_PATH) of this helper from a sealed memfd, made before
pivot_root and seccomp; the helper then execs the program. At that moment
`/proc/self/exe` is the memfd: no host file, and sealed against writes.
A script re-entering it gets a wrong argv[0] and the helper exits 126.
(runc re-execs itself from a sealed memfd or a read-only bind; a copy of
the interpreter would cost a whole interpreter start, ~12 ms, and could not
run after pivot_root without its stdlib.)

Protocol: argv = [MAGIC, FDS, path, *program argv], envp = the program's.
Python has resolved `path` (`setup.find_executable`): no PATH search here.
FDS is "R" (report fd), "R:H" or "R:H:t" (decimal numbers).

- argv[0] is not MAGIC, fewer than 3 arguments, a malformed FDS or a bad
  report fd: exit 126, nothing run.
- fcntl(R, F_SETFD, FD_CLOEXEC): the runtime reading R sees EOF at the exec.
- With H (exec into a pid namespace, `LinuxBackend.fork_joined`): fork; the
  parent writes the child's pid (u32 little-endian) on H and exits 0; the
  child closes H, setsid()s and, with ":t", takes fd 0 as its controlling
  terminal (TIOCSCTTY). So the process that appears in the container's pid
  namespace is this helper from birth, never the Python runtime.
- execve(path, argv + 3, envp).
- A failure writes an 8-byte record on R: a tag (b"PJX!" execve, b"PJF!"
  fork, b"PJT!" setsid/TIOCSCTTY) and the errno (u32 little-endian), and
  exits 127. `failure` puts it in the words of the Python code it replaces
  (`exec: "X": permission denied`: podman maps those to 126/127).

The machine code below is assembled from the listings next to it (GNU as
syntax; `llvm-mc -triple=<arch>-linux-gnu -filetype=obj`, then the .text
bytes); `elf` wraps it in a 64-bit ELF header with one R+X PT_LOAD segment.

Security labels (not built here): a label written to /proc/self/attr/exec
in `backend.before_exec` applies at the *next* execve, the helper's. For
AppArmor that confines the helper and, through it, the program (the profile
must let the helper's memfd be exec'd). For SELinux the memfd becomes the
domain's entrypoint, and its type (the runtime's tmpfs/memfd type) is not an
entrypoint of container_t: the exec would be denied. There the label must be
written by the helper itself, just before its execve of the program: the
runtime would pass an fd of /proc/thread-self/attr/exec and the label (argv),
and the helper would write one to the other between its fcntl and execve
(the file checks only that the writer is the same task, which it is).

Imports: posix only (`start` loads this module to read an error record).
"""

import posix

MAGIC = "pyocijail-exec"
RECORD_SIZE = 8
REFUSED = 126  # argv[0] is not ours (a #!/proc/self/exe re-entry) or bad arguments
FAILED = 127  # execve failed; the record says why

# x86_64 (syscalls: write 1, close 3, ioctl 16, clone 56, execve 59, fcntl 72,
# setsid 112, exit_group 231; clone(SIGCHLD, 0, 0, 0, 0) is fork: seccomp
# profiles filter clone by its flags and allow this one; `number` parses
# decimal at %rsi into %rcx)
#   _start:
#    mov    (%rsp), %rbx
#    cmp    $3, %rbx
#    jb     refuse
#    mov    8(%rsp), %rsi
#    lea    magic(%rip), %rdi
#   1:  movzbl (%rdi), %eax
#    cmpb   (%rsi), %al
#    jne    refuse
#    inc    %rdi
#    inc    %rsi
#    test   %al, %al
#    jnz    1b
#    mov    16(%rsp), %rsi
#    call   number
#    mov    %rcx, %r12
#    mov    $-1, %r13
#    xor    %r14d, %r14d
#    test   %al, %al
#    jz     3f
#    cmp    $58, %al
#    jne    refuse
#    inc    %rsi
#    call   number
#    mov    %rcx, %r13
#    test   %al, %al
#    jz     3f
#    cmp    $58, %al
#    jne    refuse
#    cmpb   $116, 1(%rsi)
#    jne    refuse
#    cmpb   $0, 2(%rsi)
#    jne    refuse
#    mov    $1, %r14d
#   3:  mov $72, %eax
#    mov    %r12, %rdi
#    mov    $2, %esi
#    mov    $1, %edx
#    syscall
#    test   %rax, %rax
#    jnz    refuse
#    test   %r13, %r13
#    js     6f
#    mov    $56, %eax
#    mov    $17, %edi
#    xor    %esi, %esi
#    xor    %edx, %edx
#    xor    %r10d, %r10d
#    xor    %r8d, %r8d
#    syscall
#    mov    $0x21464a50, %r15d
#    test   %rax, %rax
#    js     fail
#    jz     4f
#    push   %rax
#    mov    $1, %eax
#    mov    %r13, %rdi
#    mov    %rsp, %rsi
#    mov    $4, %edx
#    syscall
#    xor    %edi, %edi
#    jmp    exit
#   4:  mov $3, %eax
#    mov    %r13, %rdi
#    syscall
#    mov    $112, %eax
#    syscall
#    mov    $0x21544a50, %r15d
#    test   %rax, %rax
#    js     fail
#    test   %r14d, %r14d
#    jz     6f
#    mov    $16, %eax
#    xor    %edi, %edi
#    mov    $0x540e, %esi
#    xor    %edx, %edx
#    syscall
#    test   %rax, %rax
#    js     fail
#   6:  mov 24(%rsp), %rdi
#    lea    32(%rsp), %rsi
#    lea    16(%rsp,%rbx,8), %rdx
#    mov    $59, %eax
#    syscall
#    mov    $0x21584a50, %r15d
#   fail:
#    neg    %eax
#    sub    $16, %rsp
#    mov    %r15d, (%rsp)
#    mov    %eax, 4(%rsp)
#    mov    $1, %eax
#    mov    %r12, %rdi
#    mov    %rsp, %rsi
#    mov    $8, %edx
#    syscall
#    mov    $127, %edi
#    jmp    exit
#   refuse:
#    mov    $126, %edi
#   exit:
#    mov    $231, %eax
#    syscall
#   number:
#    xor    %ecx, %ecx
#    movzbl (%rsi), %eax
#    sub    $48, %eax
#    cmp    $9, %eax
#    ja     refuse
#   7:  imul   $10, %rcx, %rcx
#    add    %rax, %rcx
#    inc    %rsi
#    movzbl (%rsi), %eax
#    sub    $48, %eax
#    cmp    $9, %eax
#    jbe    7b
#    movzbl (%rsi), %eax
#    ret
#   magic:
#    .asciz "pyocijail-exec"
_X86_64 = bytes.fromhex(
    "488b1c244883fb030f824a010000488b742408488d3d700100000fb6073a060f853301"
    "000048ffc748ffc684c075eb488b742410e82b0100004989cc49c7c5ffffffff4531f6"
    "84c074393c3a0f850601000048ffc6e80a0100004989cd84c074223c3a0f85ef000000"
    "807e01740f85e5000000807e02000f85db00000041be01000000b8480000004c89e7be"
    "02000000ba010000000f054885c00f85b80000004d85ed7870b838000000bf11000000"
    "31f631d24531d24531c00f0541bf504a46214885c0786b741750b8010000004c89ef48"
    "89e6ba040000000f0531ffeb7eb8030000004c89ef0f05b8700000000f0541bf504a54"
    "214885c078364585f67415b81000000031ffbe0e54000031d20f054885c0781c488b7c"
    "2418488d742420488d54dc10b83b0000000f0541bf504a5821f7d84883ec1044893c24"
    "89442404b8010000004c89e74889e6ba080000000f05bf7f000000eb05bf7e000000b8"
    "e70000000f0531c90fb60683e83083f80977e7486bc90a4801c148ffc60fb60683e830"
    "83f80976eb0fb606c370796f63696a61696c2d6578656300")

# aarch64 (syscalls: fcntl 25, ioctl 29, close 57, write 64, exit_group 94,
# setsid 157, clone 220 (aarch64 has no fork), execve 221; `number` parses
# decimal at x1 into x5)
#   _start:
#    ldr    x19, [sp]
#    cmp    x19, #3
#    b.lo   refuse
#    ldr    x1, [sp, #8]
#    adr    x0, magic
#   1:  ldrb   w2, [x0], #1
#    ldrb   w3, [x1], #1
#    cmp    w2, w3
#    b.ne   refuse
#    cbnz   w2, 1b
#    ldr    x1, [sp, #16]
#    bl     number
#    mov    x20, x5
#    mov    x21, #-1
#    mov    x22, #0
#    cbz    w2, 3f
#    cmp    w2, #58
#    b.ne   refuse
#    add    x1, x1, #1
#    bl     number
#    mov    x21, x5
#    cbz    w2, 3f
#    cmp    w2, #58
#    b.ne   refuse
#    ldrb   w2, [x1, #1]
#    cmp    w2, #116
#    b.ne   refuse
#    ldrb   w2, [x1, #2]
#    cbnz   w2, refuse
#    mov    x22, #1
#   3:  mov x0, x20
#    mov    x1, #2
#    mov    x2, #1
#    mov    x8, #25
#    svc    #0
#    cbnz   x0, refuse
#    tbnz   x21, #63, 6f
#    mov    x0, #17
#    mov    x1, #0
#    mov    x2, #0
#    mov    x3, #0
#    mov    x4, #0
#    mov    x8, #220
#    svc    #0
#    movz   w23, #0x4a50
#    movk   w23, #0x2146, lsl #16
#    tbnz   x0, #63, fail
#    cbz    x0, 4f
#    sub    sp, sp, #16
#    str    w0, [sp]
#    mov    x0, x21
#    mov    x1, sp
#    mov    x2, #4
#    mov    x8, #64
#    svc    #0
#    mov    x0, #0
#    b      exit
#   4:  mov x0, x21
#    mov    x8, #57
#    svc    #0
#    mov    x8, #157
#    svc    #0
#    movz   w23, #0x4a50
#    movk   w23, #0x2154, lsl #16
#    tbnz   x0, #63, fail
#    cbz    x22, 6f
#    mov    x0, #0
#    mov    x1, #0x540e
#    mov    x2, #0
#    mov    x8, #29
#    svc    #0
#    tbnz   x0, #63, fail
#   6:  ldr x0, [sp, #24]
#    add    x1, sp, #32
#    add    x2, sp, x19, lsl #3
#    add    x2, x2, #16
#    mov    x8, #221
#    svc    #0
#    movz   w23, #0x4a50
#    movk   w23, #0x2158, lsl #16
#   fail:
#    neg    w0, w0
#    sub    sp, sp, #16
#    stp    w23, w0, [sp]
#    mov    x0, x20
#    mov    x1, sp
#    mov    x2, #8
#    mov    x8, #64
#    svc    #0
#    mov    x0, #127
#    b      exit
#   refuse:
#    mov    x0, #126
#   exit:
#    mov    x8, #94
#    svc    #0
#   number:
#    mov    x5, #0
#    mov    x6, #10
#    ldrb   w2, [x1]
#    sub    w3, w2, #48
#    cmp    w3, #9
#    b.hi   refuse
#   7:  madd   x5, x5, x6, x3
#    add    x1, x1, #1
#    ldrb   w2, [x1]
#    sub    w3, w2, #48
#    cmp    w3, #9
#    b.ls   7b
#    ret
#   magic:
#    .asciz "pyocijail-exec"
_AARCH64 = bytes.fromhex(
    "f30340f97f0e00f1030b0054e10740f9c00c001002144038231440385f00036b410a00"
    "5482ffff35e10b40f952000094f40305aa15008092160080d2e20100345fe800712109"
    "0054210400914a000094f50305aa220100345fe8007161080054220440395fd0017101"
    "08005422084039c2070035360080d2e00314aa410080d2220080d2280380d2010000d4"
    "e00600b59504f8b7200280d2010080d2020080d2030080d2040080d2881b80d2010000"
    "d4174a8952d728a4724004f8b7400100b4ff4300d1e00300b9e00315aae10300918200"
    "80d2080880d2010000d4000080d223000014e00315aa280780d2010000d4a81380d201"
    "0000d4174a8952972aa4720002f8b7f60000b4000080d2c1818ad2020080d2a80380d2"
    "010000d42001f8b7e00f40f9e1830091e26f338b42400091a81b80d2010000d4174a89"
    "52172ba472e003004bff4300d1f7030029e00314aae1030091020180d2080880d20100"
    "00d4e00f80d202000014c00f80d2c80b80d2010000d4050080d2460180d22200403943"
    "c000517f24007108ffff54a50c069b210400912200403943c000517f24007169ffff54"
    "c0035fd670796f63696a61696c2d6578656300")

#: uname machine -> (ELF e_machine, code)
CODE = {"x86_64": (62, _X86_64), "aarch64": (183, _AARCH64)}

_BASE = 0x400000
_HEADERS = 64 + 56  # ELF64 header + one program header; code follows (8-aligned)


def _u(value: int, size: int) -> bytes:
    return value.to_bytes(size, "little")


def elf(machine: str) -> bytes | None:
    """The helper as a static ELF for `machine` (uname -m), None if we have none."""
    if machine not in CODE:
        return None
    e_machine, code = CODE[machine]
    entry = _BASE + _HEADERS
    size = _HEADERS + len(code)
    header = (b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)  # 64-bit, LE, SysV
              + _u(2, 2) + _u(e_machine, 2) + _u(1, 4)  # ET_EXEC
              + _u(entry, 8) + _u(64, 8) + _u(0, 8)  # entry, phoff, shoff
              + _u(0, 4) + _u(64, 2) + _u(56, 2) + _u(1, 2)  # flags, ehsize, phentsize, phnum
              + _u(64, 2) + _u(0, 2) + _u(0, 2))  # shentsize, shnum, shstrndx
    phdr = (_u(1, 4) + _u(5, 4)  # PT_LOAD, PF_R | PF_X
            + _u(0, 8) + _u(_BASE, 8) + _u(_BASE, 8)  # offset, vaddr, paddr
            + _u(size, 8) + _u(size, 8) + _u(0x1000, 8))  # filesz, memsz, align
    return header + phdr + code


def argv(report_fd: int, path: str, args: list[str], *, handover: int | None = None,
         terminal: bool = False) -> list[str]:
    fds = str(report_fd) if handover is None else f"{report_fd}:{handover}"
    return [MAGIC, fds + (":t" if terminal and handover is not None else ""), path, *args]


#: record tag -> what failed
TAGS = {b"PJX!": "exec", b"PJF!": "fork", b"PJT!": "session"}
RECORD_TAG = b"PJX!"


def record(data: bytes) -> tuple[str, int] | None:
    """(what failed, errno) if `data` is a helper's failure record."""
    if len(data) == RECORD_SIZE and data[:4] in TAGS:
        return TAGS[data[:4]], int.from_bytes(data[4:], "little")
    return None


def record_errno(data: bytes) -> int | None:
    found = record(data)
    return None if found is None else found[1]


def failure(name: str, data: bytes, init_pid: int | None = None) -> str | None:
    """What a failed start of args[0] `name` says, if `data` is a helper record."""
    found = record(data)
    if found is None:
        return None
    what, code = found
    reason = posix.strerror(code).lower()
    if what == "fork":
        if code == 12:  # ENOMEM: what fork says once the pid namespace's init died
            return (f"container process {init_pid} has exited: its pid namespace takes no "
                    "new process")
        return f"fork into the container: {reason}"
    if what == "session":
        return f"new session and controlling terminal: {reason}"
    return f'exec: "{name}": {reason}'


# --- the sealed memfd (Linux) ----------------------------------------------------------
_MFD_CLOEXEC, _MFD_ALLOW_SEALING, _MFD_EXEC = 0x1, 0x2, 0x10
_F_ADD_SEALS = 1033
_F_SEAL_SEAL, _F_SEAL_SHRINK, _F_SEAL_GROW, _F_SEAL_WRITE = 0x1, 0x2, 0x4, 0x8
_F_SEAL_FUTURE_WRITE, _F_SEAL_EXEC = 0x10, 0x20  # Linux 5.1, 6.3
SEALS = _F_SEAL_SEAL | _F_SEAL_SHRINK | _F_SEAL_GROW | _F_SEAL_WRITE


def sealed_memfd(machine: str) -> int:
    """A close-on-exec memfd holding the helper, sealed; OSError if the kernel
    refuses, LookupError for a machine we have no code for."""
    image = elf(machine)
    if image is None:
        raise LookupError(machine)
    try:  # MFD_EXEC: executable even under vm.memfd_noexec=1 (Linux >= 6.3)
        fd = posix.memfd_create(MAGIC, _MFD_CLOEXEC | _MFD_ALLOW_SEALING | _MFD_EXEC)
    except OSError:
        fd = posix.memfd_create(MAGIC, _MFD_CLOEXEC | _MFD_ALLOW_SEALING)
    try:
        if posix.write(fd, image) != len(image):
            raise OSError(5, "short write to the exec helper's memfd")
        import fcntl  # (a C module; create and exec only)

        try:
            fcntl.fcntl(fd, _F_ADD_SEALS, SEALS | _F_SEAL_FUTURE_WRITE | _F_SEAL_EXEC)
        except OSError:  # older kernels know neither: the four classic seals
            fcntl.fcntl(fd, _F_ADD_SEALS, SEALS)
    except BaseException:
        posix.close(fd)
        raise
    return fd
