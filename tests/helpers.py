"""What several test directories share, imported from here, never from a conftest.

Markers and their skips are not here: tests/conftest.py decides them (docs/hacking.md).
"""

from __future__ import annotations

import os
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
