"""process/stream.py: write_all survives the short writes a signal causes."""

from __future__ import annotations

import os
import signal
import threading

from pyocijail.process.stream import write_all


def _write_under_signals(write) -> bytes:  # type: ignore[no-untyped-def]
    """Write 4 MiB into a pipe that a slow reader drains, with SIGALRM every 0.5 ms:
    a blocking pipe write interrupted after some bytes returns that count."""
    data = bytes(range(256)) * (4 * 4096)
    r, w = os.pipe()
    got = bytearray()

    def reader() -> None:
        while chunk := os.read(r, 3000):
            got.extend(chunk)

    thread = threading.Thread(target=reader)
    thread.start()
    old = signal.signal(signal.SIGALRM, lambda *_: None)
    signal.setitimer(signal.ITIMER_REAL, 0.0005, 0.0005)
    try:
        write(w, data)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
        os.close(w)
        thread.join()
        os.close(r)
    assert len(data) == 4 * 1024 * 1024
    return bytes(got)


def test_write_all_writes_everything_despite_interruptions():
    assert _write_under_signals(write_all) == bytes(range(256)) * (4 * 4096)


def test_a_single_write_can_be_short_under_signals():
    """What write_all guards against happens here (else the test above proves nothing)."""
    shorts = 0
    for _ in range(5):
        if len(_write_under_signals(os.write)) < 4 * 1024 * 1024:
            shorts += 1
    assert shorts > 0
