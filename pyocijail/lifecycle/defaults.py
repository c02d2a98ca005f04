"""Default config.json documents, as `runc spec` writes them (and a FreeBSD one)."""

from __future__ import annotations

from pyocijail import SPEC_VERSION

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_ENV = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"]
_CAPS = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]


def _process(args: list[str], terminal: bool) -> dict[str, Any]:
    return {"terminal": terminal, "user": {"uid": 0, "gid": 0}, "args": args, "env": list(_ENV),
            "cwd": "/", "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": True}


def linux_config(args: list[str] | None = None, terminal: bool = True) -> dict[str, Any]:
    process = _process(args or ["sh"], terminal)
    process["capabilities"] = {k: list(_CAPS) for k in ("bounding", "effective", "permitted")}
    return {
        "ociVersion": SPEC_VERSION,
        "process": process,
        "root": {"path": "rootfs", "readonly": True},
        "hostname": "pyocijail",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620",
                         "gid=5"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]},
        ],
        "linux": {
            "resources": {"devices": [{"allow": False, "access": "rwm"}]},
            "namespaces": [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount")],
            "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                            "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                            "/proc/sched_debug", "/sys/firmware", "/proc/scsi"],
            "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                              "/proc/sysrq-trigger"],
        },
    }


def freebsd_config(args: list[str] | None = None, terminal: bool = True) -> dict[str, Any]:
    return {
        "ociVersion": SPEC_VERSION,
        "process": _process(args or ["sh"], terminal),
        "root": {"path": "rootfs", "readonly": False},
        "hostname": "pyocijail",
        "mounts": [
            {"destination": "/dev", "type": "devfs", "source": "devfs", "options": ["ruleset=4"]},
            {"destination": "/dev/fd", "type": "fdescfs", "source": "fdesc", "options": []},
        ],
        "freebsd": {"jail": {"host": "new", "vnet": "new", "sysvmsg": "new", "sysvsem": "new",
                             "sysvshm": "new", "enforceStatfs": 2}},
    }
