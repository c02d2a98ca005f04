# lean layer: a hot command loads this module; its imports keep pyocijail/lean.py's rules
"""What state.json holds about one container.

A plain class on purpose: `state`, `kill` and `start` read this on every call
(buildah polls `state` every 100 ms) and must not pay for attrs or cattrs
imports; `state/store.py` reads and writes the file with `jsonlite`. The OCI
fields come first; runtime facts live under the `org.pyocijail` key so the
file itself is a valid (extended) OCI state.

`status` is only create's progress: "creating" until create finished, then
"created" (`Status.CREATING.value`, `Status.CREATED.value`). The status a
caller sees is derived on every read (`state.status.compute`).
"""

from pyocijail import SPEC_VERSION

TYPE_CHECKING = False  # not `from typing import`: `state` must not pay for typing
if TYPE_CHECKING:
    from typing import Any

PRIVATE = "org.pyocijail"


class Record:
    __slots__ = ("id", "status", "pid", "bundle", "annotations", "start_time", "created",
                 "backend", "backend_state", "hooks", "rootfs", "process")

    def __init__(self, id: str, bundle: str, *, status: str = "creating", pid: int = 0,
                 annotations: dict[str, str] | None = None, start_time: str | None = None,
                 created: str = "", backend: str = "",
                 backend_state: "dict[str, Any] | None" = None,
                 hooks: "dict[str, list[dict[str, Any]]] | None" = None, rootfs: str = "",
                 process: "dict[str, Any] | None" = None) -> None:
        self.id, self.bundle, self.status, self.pid = id, bundle, status, pid
        self.annotations = annotations or {}
        self.start_time = start_time          # liveness token of `pid`
        self.created = created                # RFC 3339, for `list`
        self.backend = backend                # "linux" or "freebsd"
        self.backend_state = backend_state or {}
        self.hooks = hooks or {}              # poststart/poststop, as validated JSON
        self.rootfs = rootfs
        self.process = process or {}          # the config's process, base for `exec ID CMD`

    def to_json(self) -> "dict[str, Any]":
        return {
            "ociVersion": SPEC_VERSION, "id": self.id, "status": self.status, "pid": self.pid,
            "bundle": self.bundle, "annotations": self.annotations,
            PRIVATE: {"startTime": self.start_time, "created": self.created,
                      "backend": self.backend, "backendState": self.backend_state,
                      "hooks": self.hooks, "rootfs": self.rootfs, "process": self.process},
        }

    @classmethod
    def from_json(cls, data: "Any") -> "Record":
        if not isinstance(data, dict) or not isinstance(data.get(PRIVATE), dict):
            raise ValueError("not a pyocijail state")
        own = data[PRIVATE]
        return cls(str(data["id"]), str(data["bundle"]), status=str(data["status"]),
                   pid=int(data.get("pid") or 0), annotations=dict(data.get("annotations") or {}),
                   start_time=own.get("startTime"), created=str(own.get("created", "")),
                   backend=str(own.get("backend", "")),
                   backend_state=dict(own.get("backendState") or {}),
                   hooks=dict(own.get("hooks") or {}), rootfs=str(own.get("rootfs", "")),
                   process=dict(own.get("process") or {}))

    def oci_state(self, status: str) -> "dict[str, Any]":
        """The runtime-spec state object, with `status` as computed now."""
        state: dict[str, Any] = {"ociVersion": SPEC_VERSION, "id": self.id, "status": status}
        if status != "stopped" and self.pid > 0:
            state["pid"] = self.pid
        state["bundle"] = self.bundle
        extra = self.backend_state.get("annotations")
        state["annotations"] = {**self.annotations, **extra} if extra else self.annotations
        return state
