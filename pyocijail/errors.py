# lean layer: a hot command loads this module; its imports keep pyocijail/lean.py's rules
"""The one exception tree. Only `cli` turns these into exit codes and log lines.

`str(error)` is the text a caller sees; callers match some of these words
(podman maps "executable file not found" to 127, containerd treats
"does not exist" as gone), so keep the wording when editing.
"""

import posix  # not os (~2 ms per call): tests/unit/test_import_budget.py


class PyocijailError(Exception):
    """Any failure the runtime reports: exit 1, one log line, no traceback."""


class UsageError(PyocijailError):
    """The command line is wrong (exit 1 and one line, like every failure)."""


class InvalidId(PyocijailError):
    def __init__(self, container_id: str, why: str) -> None:
        super().__init__(f"invalid container id {container_id!r}: {why}")


class ContainerNotFound(PyocijailError):
    def __init__(self, container_id: str) -> None:
        super().__init__(f'container "{container_id}" does not exist')


class ContainerExists(PyocijailError):
    def __init__(self, container_id: str) -> None:
        super().__init__(f'container "{container_id}" already exists')


class InvalidStatus(PyocijailError):
    """An operation that the container's status does not allow."""

    def __init__(self, op: str, status: str, message: str | None = None) -> None:
        self.op, self.status = op, status
        super().__init__(message or f"cannot {op} a container that is {status}")


class ConfigError(PyocijailError):
    """config.json (or an exec process file) is malformed or unsupported."""


class ExecutableError(PyocijailError):
    """args[0] cannot be run; the text is what podman maps to 126/127."""


class HookError(PyocijailError):
    pass


class KernelError(PyocijailError):
    """A system call or kernel-side tool failed; carries what, errno and path."""

    def __init__(self, op: str, errno: int | None = None, path: str | None = None,
                 detail: str | None = None) -> None:
        self.op, self.errno, self.path = op, errno, path
        parts = [op]
        if path:
            parts.append(path)
        text = " ".join(parts)
        if detail:
            text += f": {detail}"
        elif errno is not None:
            text += f": {posix.strerror(errno)}"
        super().__init__(text)
