"""Fake FreeBSD base tools over the simulated kernel: devfs, rctl, cpuset, ifconfig, ps.

`install(directory, sim_path)` writes one executable per tool and returns the
paths for `LibcKernel(tools=...)`. Each runs `main`, which takes the argv
`LibcKernel` sends, asks the model, and prints and exits as FreeBSD 14's tool
does, so `run_tool`/`tool_errno` parse real output:

- sbin/devfs/rule.c: `rule apply` / `rule -s N show`; an ioctl failure is
  err(1, "ioctl DEVFSIO_...") -> "devfs: ioctl DEVFSIO_RAPPLY: <strerror>", exit 1;
  `show` prints `<number> <rule>` lines, exit 0 (also for a missing ruleset).
- usr.bin/rctl/rctl.c: add_rule / remove_rule warn "failed to add rule '<rule>'"
  / "failed to remove rule '<filter>'" (+ strerror); ENOSYS goes to enosys(),
  errx(1) with the kern.racct.enable text; the exit status counts failed rules.
- usr.bin/cpuset/cpuset.c: -j goes through jail_getid (lib/libjail/jail_getid.c,
  which looks a number up as a jid), errx(EXIT_FAILURE, "%s", jail_errmsg) for a
  jail not found ("cpuset: jail <jid> not found"); the kernel's refusal is
  err(EXIT_FAILURE, "setaffinity").
- sbin/ifconfig/ifconfig.c: `main` errx "interface <if> does not exist" (exit 1)
  when if_nametoindex finds no such interface in this vnet, except for `-vnet`,
  whose interface lives in the jail's; alias add/remove failures through Perror as
  "ioctl (SIOCAIFADDR)" / "ioctl (SIOCDIFADDR)" (inet6 too). `vnet` / `-vnet`
  (setifvnet / setifrvnet) first resolve the jail with jail_getid, and errx its
  message ("jail <jid> not found"); then err(1, "SIOCSIFVNET") (EEXIST for a jail
  without its own vnet: if.c if_vmove_loan) or err(1, "SIOCSIFRVNET(<jid>, <if>)")
  (ENXIO for an interface not in the jail: if.c if_vmove_reclaim). Read in the
  13.x-era text (index id 895199250); 14.x reorganised ifconfig.c around if_ctx.
- bin/ps: `-a -x -o pid=,jid=`: one line per process, no header (the `=`).
"""

from __future__ import annotations

import errno
import os
import sys

from pyocijail.errors import KernelError
from pyocijail.testing.simkernel import SimulatedKernel

TOOLS = ("devfs", "rctl", "cpuset", "ifconfig", "ps")


def install(directory: str, sim_path: str) -> dict[str, str]:
    """Write the tools into `directory` (atomically, each once); their paths by name."""
    os.makedirs(directory, exist_ok=True)
    paths = {}
    for tool in TOOLS:
        path = os.path.join(directory, tool)
        paths[tool] = path
        if os.path.exists(path):
            continue
        text = (f"#!{sys.executable}\nimport sys\n"
                "from pyocijail.testing.faketools import main\n"
                f"sys.exit(main({tool!r}, {sim_path!r}, sys.argv[1:]))\n")
        tmp = f"{path}.{os.getpid()}"
        with open(tmp, "w") as f:
            f.write(text)
        os.chmod(tmp, 0o755)
        os.replace(tmp, path)
    return paths


def _say(tool: str, text: str) -> None:
    sys.stderr.write(f"{tool}: {text}\n")


def _usage(tool: str) -> int:
    _say(tool, "usage not simulated")  # LibcKernel never sends such a line
    return 64


def main(tool: str, sim_path: str, argv: list[str]) -> int:
    sim = SimulatedKernel(sim_path)
    return {"devfs": _devfs, "rctl": _rctl, "cpuset": _cpuset, "ifconfig": _ifconfig,
            "ps": _ps}[tool](sim, argv)


def _devfs(sim: SimulatedKernel, argv: list[str]) -> int:
    if len(argv) >= 4 and argv[0] == "-m" and argv[2:4] == ["rule", "apply"]:
        try:
            sim.devfs_rule_apply(argv[1], " ".join(argv[4:]))
        except KernelError as err:
            _say("devfs", f"ioctl DEVFSIO_RAPPLY: {os.strerror(err.errno or errno.EIO)}")
            return 1
        return 0
    if len(argv) == 6 and argv[0] == "-m" and argv[2:4] == ["rule", "-s"] and argv[5] == "show":
        for line in sim.devfs_ruleset_rules(int(argv[4])):
            sys.stdout.write(line + "\n")
        return 0
    return _usage("devfs")


def _rctl(sim: SimulatedKernel, argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("-a", "-r"):
        return _usage("rctl")
    add = argv[0] == "-a"
    try:
        (sim.rctl_add if add else sim.rctl_remove)(argv[1])
    except KernelError as err:
        if err.errno == errno.ENOSYS:  # enosys(): kern.racct.enable exists, is 0
            _say("rctl", "RACCT/RCTL present, but disabled; "
                         "enable using kern.racct.enable=1 tunable")
            return 1
        what = "add rule" if add else "remove rule"
        _say("rctl", f"failed to {what} '{argv[1]}': {os.strerror(err.errno or errno.EINVAL)}")
        return 1
    return 0


def _cpuset(sim: SimulatedKernel, argv: list[str]) -> int:
    if len(argv) != 4 or argv[0] != "-j" or argv[2] != "-l":
        return _usage("cpuset")
    jid = _jail_getid(sim, "cpuset", argv[1])
    if jid is None:
        return 1
    try:
        sim.cpuset(jid, argv[3])
    except KernelError as err:
        _say("cpuset", f"setaffinity: {os.strerror(err.errno or errno.EINVAL)}")
        return 1
    return 0


def _jail_getid(sim: SimulatedKernel, tool: str, name: str) -> int | None:
    """lib/libjail/jail_getid.c: a number is looked up as a jid (0, the host, is
    returned without a lookup), anything else as a name; jail_get without
    JAIL_DYING, so a dying jail is not found either. A failure prints the
    kernel's errmsg (kern_jail.c kern_jail_get: ENOENT, "jail <jid> not found" /
    'jail "<name>" not found'), as ifconfig's setifvnet/setifrvnet and cpuset's -j
    errx it ("%s", jail_errmsg)."""
    number = name.isdigit()  # strtoul consumed all of it
    try:
        if number:
            return 0 if int(name) == 0 else int(sim.jail_get_by("jid", int(name))["jid"])
        return int(sim.jail_get_by("name", name)["jid"])
    except KernelError:
        _say(tool, f"jail {int(name)} not found" if number else f'jail "{name}" not found')
        return None


def _ifconfig(sim: SimulatedKernel, argv: list[str]) -> int:
    if argv and not sim.host_interface(argv[0]) and argv[1:2] != ["-vnet"]:
        _say("ifconfig", f"interface {argv[0]} does not exist")
        return 1
    try:
        if len(argv) == 4 and argv[1] in ("inet", "inet6") and argv[3] in ("alias", "-alias"):
            add = argv[3] == "alias"
            address = argv[2].split("/", 1)[0]
            ioctl = "SIOCAIFADDR" if add else "SIOCDIFADDR"  # the text for inet6 too
            sim.ifconfig_alias(argv[0], address, add=add)
        elif len(argv) == 3 and argv[1] in ("vnet", "-vnet"):
            jid = _jail_getid(sim, "ifconfig", argv[2])
            if jid is None:
                return 1
            if argv[1] == "vnet":
                ioctl = "SIOCSIFVNET"
                sim.ifconfig_vnet(argv[0], jid)
            else:
                ioctl = f"SIOCSIFRVNET({jid}, {argv[0]})"
                sim.ifconfig_unvnet(argv[0], jid)
        else:
            return _usage("ifconfig")
    except KernelError as err:
        if ioctl.startswith("SIOCSIF"):  # err(1, ...): the strerror text follows
            _say("ifconfig", f"{ioctl}: {os.strerror(err.errno or errno.EINVAL)}")
        else:  # ifconfig.c Perror: its own words for ENXIO and EPERM
            code = err.errno or errno.EINVAL
            words = {errno.ENXIO: "no such interface", errno.EPERM: "permission denied"}
            _say("ifconfig", f"ioctl ({ioctl}): {words.get(code) or os.strerror(code)}")
        return 1
    return 0


def _ps(sim: SimulatedKernel, argv: list[str]) -> int:
    if argv != ["-a", "-x", "-o", "pid=,jid="]:
        return _usage("ps")
    jids = {os.getpid(): 0, os.getppid(): 0, **sim.process_jids()}
    for pid in sorted(jids):
        sys.stdout.write(f"{pid:5d} {jids[pid]:3d}\n")
    return 0
