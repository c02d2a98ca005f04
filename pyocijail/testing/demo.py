"""`python -m pyocijail.testing.demo`: build a busybox bundle and run it for real.

The README's first command. Needs root and busybox-static; uses a private
state root and removes the bundle and the container afterwards.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile

from pyocijail.testing import bundles

SCRIPT = ("echo \"hello from $(hostname), pid $$ in its own namespace\"; "
          "echo \"I am $(id)\"; echo \"my root holds: $(echo /*)\"")


def main() -> int:
    if not bundles.busybox_available():
        sys.stderr.write("install busybox-static first (apt-get install busybox-static)\n")
        return 1
    if os.geteuid() != 0:
        sys.stderr.write("run me as root: containers need namespaces and mounts\n")
        return 1
    work = tempfile.mkdtemp(prefix="pyocijail-demo-")
    try:
        bundle = bundles.make_bundle(os.path.join(work, "bundle"), ["sh", "-c", SCRIPT])
        print(f"bundle: {bundle} (busybox rootfs + config.json)")
        argv = [sys.executable, "-m", "pyocijail", "--root", os.path.join(work, "state"),
                "run", "--bundle", bundle, "demo"]
        print("$ " + " ".join(argv[2:]))
        sys.stdout.flush()
        return subprocess.run(argv, check=False).returncode
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
