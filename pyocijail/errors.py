# lean layer: a hot command loads this module; its imports keep pyocijail/lean.py's rules
"""The one exception tree. Only `cli` turns these into exit codes and log lines.

`str(error)` is the text a caller sees; callers match some of these words
(`CALLER_PHRASES`), so keep the wording when editing.
"""

import posix  # not os (~2 ms per call): tests/unit/test_import_budget.py

#: words callers look for in our error text -> who, and what it means to them
#: (oci-contract.md section 3; tests/unit/test_errors.py makes each one where it
#: is raised). The messages of status checks are `state.status._MESSAGES`.
CALLER_PHRASES = {
    "does not exist": "containerd: the container is gone (delete ignores it, state is "
                      "'stopped')",
    "container not running": "containerd: kill of an exited task, 'already finished'",
    "executable file not found": "podman getOCIRuntimeError: exit 127",
    "no such file or directory": "podman getOCIRuntimeError: exit 127",
    "permission denied": "podman getOCIRuntimeError: exit 126",
}


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


class StateMissing(PyocijailError):
    """The container's folder is there but its state.json is not."""

    def __init__(self, container_id: str) -> None:
        super().__init__(f'container "{container_id}": state is missing; '
                         "use delete --force to remove what is left")


class StateCorrupt(PyocijailError):
    """The container's state.json cannot be read as a record."""

    def __init__(self, container_id: str, why: str) -> None:
        super().__init__(f'container "{container_id}": state is corrupt ({why}); '
                         "use delete --force to remove what is left")


class InitFailed(PyocijailError):
    """A process of the container (init, exec, user namespace stage) reported an
    error or died; `stage` says when: the message the runtime was waiting for
    (`process.sync`: "isolated", "ready", "userns", "pid"), the one it could not
    send ("created"), or the exec it was waiting for ("exec", "start")."""

    def __init__(self, stage: str, message: str) -> None:
        self.stage = stage
        super().__init__(message)


class ProtocolError(PyocijailError):
    """The other end of a channel sent a message the exchange does not allow."""


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
