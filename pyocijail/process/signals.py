"""Signal names as callers send them: `9`, `KILL`, `SIGKILL`, `sigkill`."""

from __future__ import annotations

import signal

from pyocijail.errors import UsageError


def parse_signal(text: str) -> int:
    """runc's rule: a number first; else upper-case and add SIG if missing."""
    text = text.strip()
    if text.isdigit():
        num = int(text)
        if not 0 < num < signal.NSIG:
            raise UsageError(f"invalid signal {text!r}")
        return num
    name = text.upper()
    if not name.startswith("SIG"):
        name = "SIG" + name
    try:
        return int(getattr(signal.Signals, name))
    except AttributeError:
        raise UsageError(f"invalid signal {text!r}") from None


def reset_for_exec() -> None:
    """Unblock everything and restore default dispositions.

    Python ignores SIGPIPE and SIGXFSZ at start-up, and ignored signals
    survive execve: without this, `yes | head` in the container never ends.
    """
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    for sig in signal.valid_signals():
        if sig in (signal.SIGKILL, signal.SIGSTOP):
            continue
        try:
            signal.signal(sig, signal.SIG_DFL)
        except (OSError, ValueError):
            pass
