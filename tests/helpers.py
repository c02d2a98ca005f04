"""What several test directories share, imported from here, never from a conftest.

Markers and their skips are not here: tests/conftest.py decides them (docs/hacking.md).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import time
from collections.abc import Callable

#: The checkout (README.md, .venv) these tests belong to.
CHECKOUT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: README step 1's venv, when the checkout has one.
VENV_BIN = os.path.join(CHECKOUT, ".venv", "bin")

#: The image the e2e client sessions import from the busybox rootfs (tests/e2e/conftest.py).
IMAGE = "localhost/busybox:latest"


def mount_points() -> set[str]:
    """This mount namespace's mount points (/proc/self/mountinfo's fifth field)."""
    with open("/proc/self/mountinfo") as f:
        return {line.split()[4] for line in f}


def readme_block(heading: str, fence: str = "```sh") -> str:
    """The first code block after `heading` in README.md."""
    with open(os.path.join(CHECKOUT, "README.md")) as f:
        text = f.read()
    after = text[text.index(heading + "\n"):]
    start = after.index(fence + "\n") + len(fence) + 1
    return after[start:after.index("```\n", start)]


def wait_for(predicate: Callable[[], object], timeout: float = 10.0,
             what: str = "condition") -> None:
    """Poll `predicate` until true; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def sha256(path: str) -> str:
    """The file's SHA-256, hex."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def copy_libraries(program: str, rootfs: str) -> None:
    """The shared libraries `program` loads (ldd), at the same paths in `rootfs`:
    the image a real attack ships, so that the host interpreter can start inside."""
    out = subprocess.run(["ldd", program], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        parts = line.split()
        path = parts[2] if "=>" in parts and len(parts) > 2 else parts[0]
        if path.startswith("/"):
            dest = rootfs + path
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            shutil.copy2(os.path.realpath(path), dest)


def drive_terminal(argv: list[str], typed: bytes, timeout: float = 20) -> tuple[int, bytes]:
    """Run argv on a fresh pty, type `typed` once the program says "ready"; all output."""
    master, slave = os.openpty()
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
    os.close(slave)
    out = b""
    deadline = time.monotonic() + timeout
    sent = False
    os.set_blocking(master, False)
    while time.monotonic() < deadline:
        try:
            chunk = os.read(master, 4096)
        except BlockingIOError:
            chunk = None
        except OSError:
            break
        if chunk:
            out += chunk
        elif proc.poll() is not None:
            break
        else:
            time.sleep(0.01)
        if not sent and b"ready" in out:
            os.write(master, typed)
            sent = True
    code = proc.wait(timeout=10)
    os.close(master)
    return code, out
