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

Protocol: argv = [MAGIC, report fd in decimal, path, *program argv],
envp = the program's. Python has resolved `path` (`setup.find_executable`):
no PATH search here.

- argv[0] is not MAGIC, fewer than 3 arguments, or a bad fd: exit 126.
- fcntl(report fd, F_SETFD, FD_CLOEXEC), then execve(path, argv + 3, envp).
- If execve fails: write RECORD (b"PJX!" + errno as u32 little-endian) to
  the report fd, exit 127. `failure` turns it into the words of a failed
  Python execve (`exec: "X": permission denied`: podman maps them to 126/127).

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
RECORD_TAG = b"PJX!"
RECORD_SIZE = 8
REFUSED = 126  # argv[0] is not ours (a #!/proc/self/exe re-entry) or bad arguments
FAILED = 127  # execve failed; the record says why

# x86_64 (Linux syscalls: fcntl 72, execve 59, write 1, exit_group 231)
#   _start: mov (%rsp),%rbx            # argc
#           cmp $3,%rbx ; jb refuse
#           mov 8(%rsp),%rsi ; lea magic(%rip),%rdi
#   1:      movzbl (%rdi),%eax ; cmpb (%rsi),%al ; jne refuse  # argv[0] == MAGIC
#           inc %rdi ; inc %rsi ; test %al,%al ; jnz 1b
#           mov 16(%rsp),%rsi ; xor %r12d,%r12d              # argv[1]: report fd
#           cmpb $0,(%rsi) ; je refuse
#   2:      movzbl (%rsi),%eax ; test %al,%al ; jz 3f
#           sub $48,%eax ; cmp $9,%eax ; ja refuse
#           imul $10,%r12,%r12 ; add %rax,%r12 ; inc %rsi ; jmp 2b
#   3:      mov $72,%eax ; mov %r12,%rdi ; mov $2,%esi ; mov $1,%edx  # F_SETFD CLOEXEC
#           syscall ; test %rax,%rax ; jnz refuse
#           mov 24(%rsp),%rdi ; lea 32(%rsp),%rsi        # argv[2], argv + 3
#           lea 16(%rsp,%rbx,8),%rdx                      # envp
#           mov $59,%eax ; syscall                        # execve
#           neg %eax ; sub $16,%rsp
#           movl $0x21584a50,(%rsp) ; mov %eax,4(%rsp)    # "PJX!" + errno
#           mov $1,%eax ; mov %r12,%rdi ; mov %rsp,%rsi ; mov $8,%edx ; syscall
#           mov $127,%edi ; jmp 4f
#   refuse: mov $126,%edi
#   4:      mov $231,%eax ; syscall
#   magic:  .asciz "pyocijail-exec"
_X86_64 = bytes.fromhex(
    "488b1c244883fb030f82a2000000488b742408488d3da20000000fb6073a060f858b00"
    "000048ffc748ffc684c075eb488b7424104531e4803e0074740fb60684c0741483e830"
    "83f80977654d6be40a4901c448ffc6ebe5b8480000004c89e7be02000000ba01000000"
    "0f054885c07540488b7c2418488d742420488d54dc10b83b0000000f05f7d84883ec10"
    "c70424504a582189442404b8010000004c89e74889e6ba080000000f05bf7f000000eb"
    "05bf7e000000b8e70000000f0570796f63696a61696c2d6578656300")

# aarch64 (fcntl 25, execve 221, write 64, exit_group 94)
#   _start: ldr x19,[sp] ; cmp x19,#3 ; b.lo refuse         # argc
#           ldr x1,[sp,#8] ; adr x0,magic
#   1:      ldrb w2,[x0],#1 ; ldrb w3,[x1],#1 ; cmp w2,w3 ; b.ne refuse
#           cbnz w2,1b                                      # argv[0] == MAGIC
#           ldr x1,[sp,#16] ; mov x20,#0                    # argv[1]: report fd
#           ldrb w2,[x1] ; cbz w2,refuse ; mov x4,#10
#   2:      ldrb w2,[x1],#1 ; cbz w2,3f
#           sub w2,w2,#48 ; cmp w2,#9 ; b.hi refuse
#           madd x20,x20,x4,x2 ; b 2b
#   3:      mov x0,x20 ; mov x1,#2 ; mov x2,#1 ; mov x8,#25 ; svc #0  # F_SETFD CLOEXEC
#           cbnz x0,refuse
#           ldr x0,[sp,#24] ; add x1,sp,#32                 # argv[2], argv + 3
#           add x2,sp,x19,lsl #3 ; add x2,x2,#16            # envp
#           mov x8,#221 ; svc #0                            # execve
#           neg w0,w0 ; sub sp,sp,#16
#           movz w1,#0x4a50 ; movk w1,#0x2158,lsl #16 ; stp w1,w0,[sp]  # "PJX!" + errno
#           mov x0,x20 ; mov x1,sp ; mov x2,#8 ; mov x8,#64 ; svc #0
#           mov x0,#127 ; b 4f
#   refuse: mov x0,#126
#   4:      mov x8,#94 ; svc #0
#   magic:  .asciz "pyocijail-exec"
_AARCH64 = bytes.fromhex(
    "f30340f97f0e00f183050054e10740f9a005001002144038231440385f00036bc10400"
    "5482ffff35e10b40f9140080d22200403922040034440180d222144038c20000344"
    "2c000515f24007168030054940a049bfaffff17e00314aa410080d2220080d2280380"
    "d2010000d4600200b5e00f40f9e1830091e26f338b42400091a81b80d2010000d4e0"
    "03004bff4300d1014a8952012ba472e1030029e00314aae1030091020180d2080880"
    "d2010000d4e00f80d202000014c00f80d2c80b80d2010000d470796f63696a61696c"
    "2d6578656300")

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


def argv(report_fd: int, path: str, args: list[str]) -> list[str]:
    return [MAGIC, str(report_fd), path, *args]


def record_errno(data: bytes) -> int | None:
    """The errno in a helper's failure record, if `data` is one."""
    if len(data) == RECORD_SIZE and data.startswith(RECORD_TAG):
        return int.from_bytes(data[4:], "little")
    return None


def failure(name: str, data: bytes) -> str | None:
    """What a failed execve of args[0] `name` says, if `data` is a helper record."""
    code = record_errno(data)
    if code is None:
        return None
    return f'exec: "{name}": {posix.strerror(code).lower()}'


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
