"""`--preserve-fds N`: the caller's fds 3..3+N-1, checked before the runtime opens any.

The container inherits exactly that range (`setup.exec_as_user` marks it
inheritable and closes everything above). An fd the caller did not give
would be filled by whatever the runtime opens next (the host pid namespace's
fd, a log, a sync socket) and handed to the container. So, as runc
(`unable to stat preserved-fd`), every fd of the range must exist at start-up.
Once all of them are open the kernel gives each later open the lowest free
number, at or above 3+N, so no runtime fd can land in the range afterwards.

An fd that exists but is close-on-exec cannot have come from the caller (it
would not have survived the caller's execve): it is the runtime's own, opened
before this check (the debug log), and counts as missing.
"""

from __future__ import annotations

import posix  # not os (the same function): exec checks this before the warm-up starts

from pyocijail.errors import ConfigError


def check_preserved_fds(count: int) -> None:
    """Refuse unless fds 3..3+count-1 are all descriptors the caller passed."""
    if count < 0:
        raise ConfigError("--preserve-fds must not be negative")
    for index in range(count):
        fd = 3 + index
        try:
            inherited = posix.get_inheritable(fd)
        except OSError as err:
            reason = (err.strerror or str(err)).lower()
        else:
            if inherited:
                continue
            reason = "not passed by the caller"
        raise ConfigError(f"unable to stat preserved-fd {index} (of {count}): "
                          f"fd {fd}: {reason}")
