"""Fixtures for the reliability suite; prints the crash/leak summary at the end."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.reliability import harness
from tests.reliability.harness import CASES, CRASHES, LEAKS


@pytest.fixture(scope="session", autouse=True)
def cpu_hogs():
    """PYOCIJAIL_CPU_HOGS=N: N busy processes for the whole session. Races that a quiet
    machine never shows appear under load (two were found this way: see README,
    Reliability); the default, 0, is how CI runs."""
    import signal
    import subprocess
    import sys

    count = int(os.environ.get("PYOCIJAIL_CPU_HOGS", "0") or 0)
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
            for _ in range(count)]
    try:
        yield hogs
    finally:
        for hog in hogs:
            hog.send_signal(signal.SIGKILL)
            hog.wait()


@pytest.fixture
def make_host(tmp_path: Path, request: pytest.FixtureRequest):
    """make_host("linux" | "freebsd") -> a Host; cleaned up (pass or fail) at the end."""
    made: list[harness.Host] = []

    def make(backend: str, name: str = "host") -> harness.Host:
        path = tmp_path / f"{name}{len(made)}"
        path.mkdir()
        host = harness.HOSTS[backend](path)
        made.append(host)
        return host

    yield make
    for host in made:
        host.force_clean()


@pytest.fixture(params=["linux", "freebsd"])
def host(make_host, request: pytest.FixtureRequest) -> harness.Host:
    return make_host(request.param)


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if not CRASHES and not LEAKS and not CASES:
        return
    tr = terminalreporter
    tr.section("reliability")
    if CASES:
        cli = sum(v for k, v in CASES.items() if k.startswith("test_cli_"))
        tr.write_line(f"hostile input: {sum(CASES.values())} generated cases "
                      f"({cli} through the real CLI), every one a clean result or error")
    fired = [c for c in CRASHES if c[2]]
    leaky = [c for c in CRASHES if c[4]]
    if CRASHES:
        points = sorted({c[1].partition("#")[0] for c in fired})
        per_backend = {b: sum(1 for c in fired if c[0] == b) for b in ("linux", "freebsd")}
        tr.write_line(f"failpoints: killed at {len(fired)} of {len(CRASHES)} crash cases "
                      f"({len(points)} distinct points; linux {per_backend['linux']}, "
                      f"freebsd {per_backend['freebsd']})")
        states: dict[str, int] = {}
        for c in CRASHES:
            states[c[3]] = states.get(c[3], 0) + 1
        tr.write_line("state after the crash: "
                      + ", ".join(f"{k} {v}" for k, v in sorted(states.items())))
    other = [entry for entry in LEAKS if entry[1]]
    total = sum(len(c[4]) for c in leaky) + sum(len(e[1]) for e in other)
    tr.write_line(f"leaks: {total}")
    for backend, point, _, _, leaks in leaky:
        tr.write_line(f"  {backend} {point}: {leaks}")
    for test, leaks in other:
        tr.write_line(f"  {test}: {leaks}")
