"""Write a default config.json into a bundle, like `runc spec`."""

from __future__ import annotations

from pyocijail.cli import Args, Flag, Option

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pyocijail.lifecycle.context import Context

OPTIONS = (
    Option("--bundle", "-b", default=".", help="where to write config.json (default: .)"),
    Option("--platform", choices=("linux", "freebsd"), default=None,
           help="the platform the config is for (default: this host's)"),
    # runc has no such flag: its spec always asks for a terminal, which `create`
    # without --console-socket then refuses (the trap the debugging recipe avoids).
    Flag("--no-terminal", help="write process.terminal false (create needs no console socket)"),
    Flag("--rootless", help="accepted; ignored"),
)


def run(args: Args, ctx: Context) -> int:
    import json
    import os

    from pyocijail.backends import host_platform
    from pyocijail.errors import PyocijailError
    from pyocijail.lifecycle import defaults

    platform = args.platform or host_platform()
    make = defaults.freebsd_config if platform == "freebsd" else defaults.linux_config
    doc = make(terminal=not args.no_terminal)
    path = os.path.join(args.bundle, "config.json")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        raise PyocijailError(f"{path} exists; remove it first") from None
    except OSError as err:
        raise PyocijailError(f"cannot write {path}: {err.strerror}") from None
    with os.fdopen(fd, "w") as f:
        f.write(json.dumps(doc, indent=2) + "\n")
    return 0
