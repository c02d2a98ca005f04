"""teardown.Scope: which journal entries delete may act on (sec-core's note:
a planted journal must not make delete remove or unmount anything else)."""

from __future__ import annotations

from pathlib import Path

from pyocijail.backends.freebsd.teardown import SCOPE_FILE, Scope, _allowed
from pyocijail.state.undo import UndoFile
from pyocijail.testing.freebsd_undo import MemoryUndoLog

OWN = {"own": {"stateDir": "/run/p/c1", "rootfs": "/b/rootfs", "jailPath": "/b/rootfs",
               "volumes": ["/vol"], "jail": "c1", "parent": None,
               "aliases": [["em0", "192.0.2.5"]]}}


def allowed(state: dict, entry: dict, undo=None) -> bool:
    return _allowed(Scope(state, undo or MemoryUndoLog()), entry)


def test_paths_must_be_beneath_the_recorded_ones_as_written() -> None:
    assert allowed(OWN, {"op": "mount", "target": "/b/rootfs/tmp"})
    assert allowed(OWN, {"op": "scratch", "path": "/run/p/c1/tmpcopyup-0"})
    assert allowed(OWN, {"op": "jail.mounts", "root": "/b/rootfs"})
    assert allowed(OWN, {"op": "mountpoint", "path": "/vol/cache", "kind": "dir",
                         "anchor": "/vol"})
    for entry in ({"op": "mount", "target": "/etc"},
                  {"op": "mount", "target": "/b/rootfs/../../etc"},
                  {"op": "mount", "target": "/b/rootfsX/tmp"},
                  {"op": "mount", "target": ["/b/rootfs/tmp"]},
                  {"op": "scratch", "path": "/run/p/c1"},  # the folder itself
                  {"op": "scratch", "path": "/b/rootfs/tmp"},
                  {"op": "jail.mounts", "root": "/"},
                  {"op": "mountpoint", "path": "/etc/passwd", "kind": "file", "anchor": "/"},
                  {"op": "mountpoint", "path": "/b/rootfs/x", "kind": "dir", "anchor": "/"},
                  {"op": "mountpoint", "path": "/b/rootfs/x", "kind": "tree",
                   "anchor": "/b/rootfs"}):
        assert not allowed(OWN, entry), entry


def test_names_must_be_the_recorded_ones() -> None:
    assert allowed(OWN, {"op": "jid", "name": "c1", "jid": 4})
    assert not allowed(OWN, {"op": "jail", "name": "web"})
    assert not allowed(OWN, {"op": "jid", "name": "c1", "jid": "4"})
    assert not allowed(OWN, {"op": "children.max", "jail": "infra", "raised_to": 2})
    assert allowed(OWN, {"op": "alias", "interface": "em0", "address": "192.0.2.5"})
    assert not allowed(OWN, {"op": "alias", "interface": "em0", "address": "192.0.2.6"})


def test_without_a_state_the_scope_file_next_to_the_journal_holds(tmp_path: Path) -> None:
    cdir = tmp_path / "c1"
    cdir.mkdir()
    undo = UndoFile(str(cdir / "undo.jsonl"))
    mount = {"op": "mount", "target": "/b/rootfs/tmp"}
    # No state and no scope file: only the folder itself and jails named after the id.
    assert not allowed({}, mount, undo)
    assert allowed({}, {"op": "scratch", "path": f"{cdir}/tmpcopyup-1"}, undo)
    assert allowed({}, {"op": "jail", "name": "infra.c1"}, undo)
    assert not allowed({}, {"op": "jail", "name": "infra"}, undo)
    (cdir / SCOPE_FILE).write_text('{"own": {"jailPath": "/b/rootfs", "jail": "c1"}}')
    assert allowed({}, mount, undo)
    assert not allowed({}, {"op": "jail", "name": "infra.c1"}, undo)
