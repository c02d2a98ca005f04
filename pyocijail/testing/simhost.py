"""The runtime on a simulated FreeBSD host: `python -m pyocijail.testing.simhost SIM ARGS...`.

SIM is a `SimulatedKernel` state file; ARGS are pyocijail's command line. The
FreeBSD backend runs over the real `LibcKernel`, whose libc is `FakeLibc` and
whose base tools are `faketools` (written next to SIM), so every line of
`backends/freebsd/libc.py` runs on Linux. This is how tests inject the
simulator: product code has no switch for it.
"""

from __future__ import annotations

import sys
from typing import Any

from pyocijail.backends.freebsd.libc import LibcKernel
from pyocijail.testing import faketools
from pyocijail.testing.fakelibc import FakeLibc
from pyocijail.testing.simkernel import SimulatedKernel


class SimulatedHostKernel(LibcKernel):
    """LibcKernel with the fake libc and tools. One divergence: `host_path` asks
    the model, whose mounts are records, not mounts (a file under a simulated
    nullfs mount is in its source directory)."""

    def __init__(self, sim_path: str) -> None:
        self.sim = SimulatedKernel(sim_path)
        super().__init__(libc=FakeLibc(self.sim),
                         tools=faketools.install(sim_path + ".tools", self.sim.path))

    def host_path(self, path: str) -> str:
        return self.sim.host_path(path)


def backend_factory(sim_path: str) -> Any:
    """A `pyocijail.cli.main(backend=...)` factory: the FreeBSD backend on SIM."""
    def make(platform: str | None, log: Any) -> Any:
        from pyocijail.backends.freebsd.backend import FreeBSDBackend

        return FreeBSDBackend(SimulatedHostKernel(sim_path), log)

    return make


def use_simulated_liveness(sim_path: str) -> None:
    """Liveness as on FreeBSD (`procinfo`: sysctl kern.proc.pid through the fake
    libc), not the Linux /proc reader this host would choose."""
    from pyocijail.backends.freebsd import procinfo
    from pyocijail.state import liveness

    libc = FakeLibc(SimulatedKernel(sim_path))
    liveness.use(lambda pid: procinfo.start_time(pid, libc))


def argv(sim_path: str, python: str = sys.executable) -> list[str]:
    """The command that runs pyocijail on SIM (append pyocijail's arguments)."""
    return [python, "-m", "pyocijail.testing.simhost", sim_path]


def main() -> int:
    from pyocijail.cli import main as cli_main

    if len(sys.argv) < 2:
        sys.stderr.write("usage: python -m pyocijail.testing.simhost SIM [pyocijail args]\n")
        return 2
    sim_path = sys.argv.pop(1)
    use_simulated_liveness(sim_path)
    return cli_main(backend=backend_factory(sim_path))


if __name__ == "__main__":
    sys.exit(main())
