"""The one list of modules the container side imports before fork and pivot_root.

After pivot_root, and with a user namespace as soon as the first stage is root
in it, the package's own files may be out of reach (an interpreter under /root,
mode 0700, cannot be read by the namespace's root), so nothing the init uses
later may be imported lazily then. `load` imports it all first, while the host's
root still reads them: in the init (`LinuxBackend._before_gate`) and, with a
user namespace, in the fork's first stage before it enters it (`userns`).
The seccomp module is not here: `_before_gate` loads it as it builds the filter.
"""

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pyocijail.backends.linux.plan import LinuxPlan

#: What `isolate`, `enter`, `become` and `before_exec` use, whatever the config.
MODULES = (
    "pyocijail.backends.linux.capabilities",
    "pyocijail.backends.linux.devices",
    "pyocijail.backends.linux.libc",
    "pyocijail.backends.linux.linuxkernel",
    "pyocijail.backends.linux.lsm",  # (loaded by the plan already: the mqueue label)
    "pyocijail.backends.linux.mounts",
    "pyocijail.backends.linux.namespaces",
    "pyocijail.backends.linux.pivot",
    "pyocijail.backends.linux.procfs",
    "pyocijail.rootpath",  # (linuxkernel imports it where it opens in a root)
)
#: Only for a config with a `type: cgroup` mount (0.2-0.3 ms on the path to start).
CGROUP_MOUNT = "pyocijail.backends.linux.cgroupmount"


def modules(plan: "LinuxPlan") -> tuple[str, ...]:
    """What `load` imports for `plan`."""
    if any(m.type == "cgroup" for m in plan.mounts):
        return (*MODULES, CGROUP_MOUNT)
    return MODULES


def load(plan: "LinuxPlan") -> None:
    for name in modules(plan):
        __import__(name)  # (the builtin: no importlib to load)
