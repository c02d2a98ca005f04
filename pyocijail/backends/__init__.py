# lean layer: a hot command loads this module; its imports keep pyocijail/lean.py's rules
"""The one place that chooses a platform backend: the host's.

Nothing here looks at the process's variables: tests that run the FreeBSD backend on
Linux hand the CLI a backend of their own (the test entry point `simhost`).
"""

import sys

TYPE_CHECKING = False  # not `from typing import`: `delete` must not pay for typing
if TYPE_CHECKING:
    from pyocijail.backends.base import Backend
    from pyocijail.log import LogSink


def host_platform() -> str:
    """"freebsd" or "linux", from `sys.platform`: liveness, signal numbers and the
    subreaper ask here too. Imports nothing: hot paths call it."""
    return "freebsd" if sys.platform.startswith("freebsd") else "linux"


def select_backend(platform: str | None, log: "LogSink") -> "Backend":
    platform = platform or host_platform()
    if platform == "freebsd":
        from pyocijail.backends.freebsd.backend import FreeBSDBackend

        if host_platform() == "freebsd":
            from pyocijail.backends.freebsd.libc import LibcKernel

            return FreeBSDBackend(LibcKernel(), log)
        return FreeBSDBackend(None, log)  # planning only: any kernel call fails
    from pyocijail.backends.linux.backend import LinuxBackend

    return LinuxBackend(None, log)  # this host's kernel, loaded when create or exec needs it
