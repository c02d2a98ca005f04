"""Signal names as callers send them: `9`, `KILL`, `SIGKILL`, `sigkill`."""

from pyocijail.errors import UsageError

#: Both platforms have signals 1..64 (NSIG is 65 on Linux, 129 on FreeBSD), so
#: numbers in this range need no `import signal` (it builds enums: ~2 ms); they
#: are what podman sends (`kill ID 15`, `kill ID 9`).
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
        if not 0 < num < signal.NSIG:
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
