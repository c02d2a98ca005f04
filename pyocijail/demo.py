"""`python -m pyocijail.demo [DIR]`: build a busybox bundle and run it for real.

The README's first command. Needs root and busybox-static. The bundle and a
private state root go into DIR (default `./pyocijail-demo`), which stays:
the command printed can be run again as it is, and nothing is left in a
temporary directory (`run` deletes the container; `rm -r DIR` removes the rest).
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys

from pyocijail.testing import bundles

SCRIPT = ("echo \"hello from $(hostname), pid $$ in its own namespace\"; "
          "echo \"I am $(id)\"; echo \"my root holds: $(echo /*)\"")
DEFAULT_DIR = "pyocijail-demo"


def _shown(path: str) -> str:
    """`path` relative to the working directory when it is below it (shorter to read)."""
    rel = os.path.relpath(path)
    return rel if not rel.startswith("..") else path


def command(directory: str) -> list[str]:
    """The `run` of the demo bundle in `directory`, with this interpreter."""
    return [_shown(sys.executable), "-m", "pyocijail",
            "--root", _shown(os.path.join(directory, "state")),
            "run", "--bundle", _shown(os.path.join(directory, "bundle")), "demo"]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) > 1 or args[:1] in (["-h"], ["--help"]):
        sys.stderr.write("usage: python -m pyocijail.demo [DIR]\n")
        return 1
    if not bundles.busybox_available():
        sys.stderr.write("install busybox-static first (apt-get install busybox-static)\n")
        return 1
    if os.geteuid() != 0:
        sys.stderr.write("run me as root: containers need namespaces and mounts\n")
        return 1
    directory = os.path.abspath(args[0] if args else DEFAULT_DIR)
    bundle = os.path.join(directory, "bundle")
    if not os.path.exists(os.path.join(bundle, "config.json")):
        bundles.make_bundle(bundle, ["sh", "-c", SCRIPT])
    print(f"bundle: {_shown(bundle)} (busybox rootfs + config.json)")
    argv_run = command(directory)
    print("$ " + shlex.join(argv_run))
    sys.stdout.flush()
    code = subprocess.run(argv_run, check=False).returncode
    print(f"(run it again with the line above; remove it all with: rm -r {_shown(directory)})")
    return code


if __name__ == "__main__":
    sys.exit(main())
