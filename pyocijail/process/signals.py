# lean layer: a hot command loads this module; its imports keep pyocijail/lean.py's rules
"""Signal names as callers send them: `9`, `KILL`, `SIGKILL`, `sigkill`."""

from pyocijail import backends
from pyocijail.errors import UsageError

#: Numbers both kernels' kill(2) accept, so they need no `import signal` (it
#: builds enums: ~2 ms); podman sends them (`kill ID 15`, `kill ID 9`). Linux:
#: 1..64 (SIGRTMAX 64, NSIG 65). FreeBSD: sys/sys/signal.h assigns only 1..33
#: (SIGLIBRT 33) and SIGRTMIN 65 .. SIGRTMAX 126; 34..64 are unassigned, but
#: kern_sig.c `kern_kill` refuses only numbers above _SIG_MAXSIG (128,
#: sys/sys/_sigset.h), so they are still accepted and delivered.
_SURE_SIGNALS = range(1, 65)
#: Names whose numbers POSIX fixes (the XSI `kill -s` table), so `kill ID`
#: (TERM) and `kill ID KILL` need no `import signal` either.
_POSIX_NAMES = {"SIGHUP": 1, "SIGINT": 2, "SIGQUIT": 3, "SIGABRT": 6, "SIGKILL": 9,
                "SIGALRM": 14, "SIGTERM": 15}


def parse_signal(text: str) -> int:
    """runc's rule: a number first; else upper-case and add SIG if missing."""
    text = text.strip()
    if text.isdigit() and int(text) in _SURE_SIGNALS:
        return int(text)
    name = text.upper()
    if not name.startswith("SIG"):
        name = "SIG" + name
    if name in _POSIX_NAMES:
        return _POSIX_NAMES[name]
    import signal

    if text.isdigit():
        num = int(text)
        # Python's NSIG is one past the last signal on Linux, but on FreeBSD it is
        # _SIG_MAXSIG itself (pycore_signal.h Py_NSIG, gh-91145), a valid number
        # (sys/sys/_sigset.h _SIG_VALID: 1.._SIG_MAXSIG).
        top = signal.NSIG if backends.host_platform() == "freebsd" else signal.NSIG - 1
        if not 0 < num <= top:
            raise UsageError(f"invalid signal {text!r}")
        return num
    try:
        return int(getattr(signal.Signals, name))
    except AttributeError:
        raise UsageError(f"invalid signal {text!r}") from None


def reset_for_exec() -> None:
    """Unblock everything and restore default dispositions.

    Python ignores SIGPIPE and SIGXFSZ at start-up, and ignored signals
    survive execve: without this, `yes | head` in the container never ends.
    """
    import _signal  # not `signal`, which builds enums at import

    _signal.pthread_sigmask(_signal.SIG_SETMASK, [])
    for sig in _signal.valid_signals():
        if sig in (_signal.SIGKILL, _signal.SIGSTOP):
            continue
        try:
            _signal.signal(sig, _signal.SIG_DFL)
        except (OSError, ValueError):
            pass
