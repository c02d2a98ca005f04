"""The one place that chooses a platform backend.

`PYOCIJAIL_FREEBSD_SIMULATOR=<file>` (tests only) selects the FreeBSD backend
over the simulated kernel kept in that file, so the lifecycle core runs the
jail code paths on Linux exactly as it would on FreeBSD.
"""

import posix  # not os (~2 ms per call): tests/unit/test_import_budget.py
import sys

TYPE_CHECKING = False  # not `from typing import`: `delete` must not pay for typing
if TYPE_CHECKING:
    from pyocijail.backends.base import Backend
    from pyocijail.log import LogSink


def host_platform() -> str:
    return "freebsd" if sys.platform.startswith("freebsd") else "linux"


def select_backend(platform: str | None, log: "LogSink") -> "Backend":
    found = posix.environ.get(b"PYOCIJAIL_FREEBSD_SIMULATOR")  # bytes, as at start-up
    simulator = found.decode(sys.getfilesystemencoding(), "surrogateescape") if found else None
    platform = platform or ("freebsd" if simulator else host_platform())
    if platform == "freebsd":
        from pyocijail.backends.freebsd.backend import FreeBSDBackend

        if simulator:
            from pyocijail.testing.simkernel import SimulatedKernel

            return FreeBSDBackend(SimulatedKernel(simulator), log)
        if host_platform() == "freebsd":
            from pyocijail.backends.freebsd.libc import LibcKernel

            return FreeBSDBackend(LibcKernel(), log)
        return FreeBSDBackend(None, log)  # planning only: any kernel call fails
    from pyocijail.backends.linux.backend import LinuxBackend

    return LinuxBackend(log)
