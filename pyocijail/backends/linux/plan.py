"""The Linux backend's plan: what create will do, decided before any side effect.

Its own module so that the commands that need the backend but no plan
(`delete`, `kill --all`) do not import attrs and the spec model.
"""

from __future__ import annotations

from typing import Any

import attrs

from pyocijail.spec.model import Device, Mount


@attrs.frozen(kw_only=True)
class LinuxPlan:
    container_id: str
    bundle: str
    rootfs: str
    readonly: bool
    namespaces: tuple[tuple[str, str | None], ...]
    hostname: str | None
    domainname: str | None
    mounts: tuple[Mount, ...]
    devices: tuple[Device, ...]
    masked_paths: tuple[str, ...]
    readonly_paths: tuple[str, ...]
    sysctl: dict[str, str]
    rootfs_propagation: str | None

    def new(self, kind: str) -> bool:
        return (kind, None) in self.namespaces

    def path(self, kind: str) -> str | None:
        return next((p for k, p in self.namespaces if k == kind and p), None)

    def to_json(self) -> dict[str, Any]:
        from pyocijail.spec.convert import unstructure

        return {"platform": "linux", "id": self.container_id, "rootfs": self.rootfs,
                "readonly": self.readonly,
                "namespaces": [{"type": k, "path": p} if p else {"type": k}
                               for k, p in self.namespaces],
                "hostname": self.hostname, "domainname": self.domainname,
                "mounts": [unstructure(m) for m in self.mounts],
                "devices": [unstructure(d) for d in self.devices],
                "maskedPaths": list(self.masked_paths),
                "readonlyPaths": list(self.readonly_paths), "sysctl": self.sysctl}

    def to_text(self) -> str:
        lines = [f"container {self.container_id}: rootfs {self.rootfs}"
                 + (" (read-only)" if self.readonly else "")]
        for kind, path in self.namespaces:
            lines.append(f"  namespace {kind}: {'join ' + path if path else 'new'}")
        for m in self.mounts:
            lines.append(f"  mount {m.type or 'bind'} {m.source or '-'} on {m.destination}"
                         + (f" ({','.join(m.options)})" if m.options else ""))
        return "\n".join(lines) + "\n"
