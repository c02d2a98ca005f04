"""Run mount code in a forked child with a private mount namespace (see conftest)."""

from __future__ import annotations

import json
import os
import traceback


def run_in_child(fn, *args, extra_unshare: int = 0, prepare=None):
    """Run fn(*args) in a fork that unshared its mount namespace (made rprivate),
    or that ran `prepare()` instead (e.g. to move itself into a cgroup).

    Returns fn's JSON-able result; re-raises a failure (assertion or exception)
    as an AssertionError carrying the child's traceback.
    """
    from pyocijail.backends.linux import libc

    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never return into pytest
        os.close(r)
        try:
            if prepare is not None:
                prepare()
            else:
                libc.unshare(libc.CLONE_NEWNS | extra_unshare)
                libc.mount(None, "/", None, libc.MS_REC | libc.MS_PRIVATE)
            report = {"ok": True, "result": fn(*args)}
        except BaseException:  # noqa: BLE001 - reported to the parent, which re-raises
            report = {"ok": False, "error": traceback.format_exc()}
        try:
            os.write(w, json.dumps(report).encode())
        finally:
            os._exit(0)
    os.close(w)
    chunks = []
    while chunk := os.read(r, 65536):
        chunks.append(chunk)
    os.close(r)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "child crashed"
    report = json.loads(b"".join(chunks) or b'{"ok": false, "error": "no report"}')
    if not report["ok"]:
        raise AssertionError("in the child:\n" + report["error"])
    return report["result"]


def mountinfo_entry(point: str) -> dict | None:
    """The last (topmost) mountinfo entry for `point`, split into its fields."""
    found = None
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, right = line.rstrip("\n").split(" - ")
            fields = left.split(" ")
            fstype, source, sopts = right.split(" ", 2)
            mp = fields[4].encode().decode("unicode_escape")
            if mp == point:
                found = {"opts": set(fields[5].split(",")), "optional": fields[6:],
                         "fstype": fstype, "source": source, "super": set(sopts.split(","))}
    return found

