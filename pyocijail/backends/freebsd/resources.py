"""Resource limits: rctl(8) rules and a cpuset(1) CPU list for the jail.

Neither ocijail nor runj sets any (users asked: ocijail #16, runj #8). Rules
come from `linux.resources` when podman fills it (memory limit, CPU quota,
pids limit, cpuset) and from the `org.freebsd.rctl` annotation, a comma
separated list of `resource:action=amount[/per]` in rctl(8) words. For the
same resource and action the standard field wins over the annotation (the
same rule as `freebsd` section over annotations) and the conflict is logged.
Rules are per jail *name*, added after create and removed at delete, since
static rules in /etc/rctl.conf cannot know container names.
"""

from __future__ import annotations

import math
import re

from pyocijail.errors import ConfigError
from pyocijail.spec.model import Resources

#: rctl(8) RESOURCES.
RCTL_RESOURCES = frozenset({
    "cputime", "datasize", "stacksize", "coredumpsize", "memoryuse", "memorylocked",
    "maxproc", "openfiles", "vmemoryuse", "pseudoterminals", "swapuse", "nthr", "msgqqueued",
    "msgqsize", "nmsgq", "nsem", "nsemop", "nshm", "shmsize", "wallclock", "pcpu", "readbps",
    "writebps", "readiops", "writeiops",
})
#: kern_rctl.c `actionnames`: the signal actions end at sigthr (there is no
#: siglibrt: the kernel's str2value fails, and rctl -a is EINVAL).
RCTL_ACTIONS = frozenset({"deny", "log", "devctl", "throttle"})
RCTL_SIGNALS = frozenset({
    "sighup", "sigint", "sigquit", "sigill", "sigtrap", "sigabrt", "sigemt", "sigfpe",
    "sigkill", "sigbus", "sigsegv", "sigsys", "sigpipe", "sigalrm", "sigterm", "sigurg",
    "sigstop", "sigtstp", "sigcont", "sigchld", "sigttin", "sigttou", "sigio", "sigxcpu",
    "sigxfsz", "sigvtalrm", "sigprof", "sigwinch", "siginfo", "sigusr1", "sigusr2",
    "sigthr",
})
#: The racct flags that decide which rules the kernel takes (sys/kern/kern_racct.c
#: `racct_types`). Not RACCT_DENIABLE: cputime, memoryuse, wallclock and the four
#: I/O rates.
RACCT_DENIABLE = frozenset({
    "datasize", "stacksize", "coredumpsize", "memorylocked", "maxproc", "openfiles",
    "vmemoryuse", "pseudoterminals", "swapuse", "nthr", "msgqqueued", "msgqsize", "nmsgq",
    "nsem", "nsemop", "nshm", "shmsize", "pcpu",
})
RACCT_DECAYING = frozenset({"pcpu", "readbps", "writebps", "readiops", "writeiops"})
RACCT_SLOPPY = frozenset({
    "pseudoterminals", "swapuse", "msgqqueued", "msgqsize", "nmsgq", "nsem", "nshm", "shmsize",
})
#: kern_rctl.c `rctl_rule_add`: "deny" is refused on a resource that is not
#: RACCT_DENIABLE, except memoryuse (RSS) and pcpu, whose limits are enforced
#: another way; "throttle" only on RACCT_DECAYING ones, and never pcpu.
DENY_OK = RACCT_DENIABLE | {"memoryuse", "pcpu"}
THROTTLE_ONLY = RACCT_DECAYING - {"pcpu"}
RCTL_PER = frozenset({"process", "user", "loginclass", "jail"})
RCTL_ANNOTATION = "org.freebsd.rctl"

_AMOUNT = re.compile(r"^[0-9]+[kKmMgGtTpPeE]?$")
_CPU_ITEM = re.compile(r"^([0-9]+)(?:-([0-9]+))?$")
CPU_SETSIZE = 1024  # FreeBSD 14 CPU_MAXSIZE


def parse_rctl(rule: str, where: str = RCTL_ANNOTATION) -> tuple[str, str, str, str]:
    """(resource, action, amount, per) of one `resource:action=amount[/per]`, its
    names checked against the kernel's tables (kern_rctl.c `rctl_string_to_rule`:
    an unknown name is EINVAL). `per` is "" when not given (the subject's type)."""
    head, eq, amount = rule.strip().partition("=")
    resource, colon, action = head.partition(":")
    if not (eq and colon and resource and action and amount):
        raise ConfigError(f"{where}: rctl rule {rule!r} is not resource:action=amount")
    if resource not in RCTL_RESOURCES:
        raise ConfigError(f"{where}: unknown rctl resource {resource!r}")
    if action not in RCTL_ACTIONS and action not in RCTL_SIGNALS:
        raise ConfigError(f"{where}: unknown rctl action {action!r}")
    value, slash, per = amount.partition("/")
    if not _AMOUNT.match(value):
        raise ConfigError(f"{where}: rctl amount {value!r} is not a number "
                          "(with optional k, m, g, t suffix)")
    if slash and per not in RCTL_PER:
        raise ConfigError(f"{where}: rctl per {per!r} is not one of {sorted(RCTL_PER)}")
    return resource, action, amount, per


def rctl_refusal(resource: str, action: str, per: str) -> str | None:
    """Why kern_rctl.c `rctl_rule_add` refuses this well-formed rule (EOPNOTSUPP),
    or None if it takes it."""
    if action == "deny" and resource not in DENY_OK:
        return f"deny is not supported for {resource} (not a deniable resource)"
    if action == "throttle" and resource not in THROTTLE_ONLY:
        return (f"throttle is not supported for {resource} "
                f"(only {', '.join(sorted(THROTTLE_ONLY))})")
    if per == "process" and resource in RACCT_SLOPPY:
        return f"per process is not supported for {resource} (not tracked per process)"
    return None


def check_rctl(rule: str, where: str = RCTL_ANNOTATION) -> tuple[str, str, str]:
    """(resource, action, amount[/per]) of one `resource:action=amount[/per]` the
    kernel would take: names as `parse_rctl`, combinations as `rctl_refusal`."""
    resource, action, amount, per = parse_rctl(rule, where)
    why = rctl_refusal(resource, action, per)
    if why is not None:
        raise ConfigError(f"{where}: rctl rule {rule.strip()!r}: {why}")
    return resource, action, amount


def rctl_rules(jail_name: str, resources: Resources | None, annotation: str | None,
               warn: list[str]) -> tuple[str, ...]:
    """Full rctl rules (`jail:<name>:resource:action=amount`) in a stable order."""
    chosen: dict[tuple[str, str], str] = {}
    for resource, action, amount in _from_resources(resources):
        chosen[(resource, action)] = amount
    if annotation:
        for item in annotation.split(","):
            if not item.strip():
                continue
            resource, action, amount = check_rctl(item)
            if (resource, action) in chosen:
                if chosen[(resource, action)] != amount:
                    warn.append(f"{RCTL_ANNOTATION}: {resource}:{action}={amount} conflicts "
                                f"with linux.resources ({chosen[(resource, action)]}); "
                                "using linux.resources")
                continue
            chosen[(resource, action)] = amount
    return tuple(f"jail:{jail_name}:{r}:{a}={v}" for (r, a), v in chosen.items())


def _from_resources(res: Resources | None) -> list[tuple[str, str, str]]:
    out: list[tuple[str, str, str]] = []
    if res is None:
        return out
    if res.memory is not None and res.memory.limit is not None and res.memory.limit > 0:
        out.append(("memoryuse", "deny", str(res.memory.limit)))
    cpu = res.cpu
    if cpu is not None and cpu.quota is not None and cpu.quota > 0:
        period = cpu.period or 100_000
        # pcpu is percent of one CPU: quota 150000 per 100000 => 150.
        out.append(("pcpu", "deny", str(max(1, math.ceil(cpu.quota * 100 / period)))))
    if res.pids is not None and res.pids.limit is not None and res.pids.limit > 0:
        out.append(("maxproc", "deny", str(res.pids.limit)))
    return out


def cpu_list(resources: Resources | None) -> str | None:
    """`linux.resources.cpu.cpus` checked as a cpuset(1) -l list, or None."""
    if resources is None or resources.cpu is None or not resources.cpu.cpus:
        return None
    return check_cpu_list(resources.cpu.cpus)


def check_cpu_list(text: str) -> str:
    items = [t.strip() for t in text.split(",")]
    for item in items:
        m = _CPU_ITEM.match(item)
        if m is None:
            raise ConfigError(f"linux.resources.cpu.cpus: {text!r} is not a CPU list "
                              "like 0-3,6")
        lo = int(m.group(1))
        hi = int(m.group(2)) if m.group(2) is not None else lo
        if hi < lo or hi >= CPU_SETSIZE:
            raise ConfigError(f"linux.resources.cpu.cpus: bad range {item!r}")
    return ",".join(items)
