"""The container gets a session keyring of its own (runc's `_ses.<id>`), not the caller's."""

from __future__ import annotations

import os

import pytest

from pyocijail.backends.linux import lsm

pytestmark = [pytest.mark.root, pytest.mark.busybox]


def test_the_init_joins_a_session_keyring_named_after_the_container(runtime, bundle, cid):
    """While the container runs, a keyring `_ses.<id>` exists, made by its init and
    searchable by its user; the runtime's own session keyring is not the container's."""
    b = bundle(["sleep", "30"])
    runtime.ok("create", "--bundle", b, cid)
    try:
        runtime.ok("start", cid)
        with open("/proc/keys") as f:
            lines = [line for line in f if f"_ses.{cid}:" in line or
                     line.rstrip().endswith(f"_ses.{cid}")]
        assert len(lines) == 1, lines
        perm = int(lines[0].split()[4], 16)  # serial flags usage timeout perm ...
        assert perm == 0x3F1B0000  # possessor all, user view|read|link|search: as runc
    finally:
        runtime.ok("delete", "--force", cid)


def test_the_keyring_label_is_written_before_the_join_and_reset_after(tmp_path):
    """lsm.set_key_label writes attr/keycreate (runc's SetKeyLabel), so the keyring
    gets the process's SELinux label; tested against a stand-in attr directory."""
    attr = tmp_path / "attr"
    attr.mkdir()
    (attr / "keycreate").write_text("")
    lsm.set_key_label("system_u:system_r:container_t:s0", attr=(str(attr),))
    assert (attr / "keycreate").read_text() == "system_u:system_r:container_t:s0"
    os.truncate(attr / "keycreate", 0)
