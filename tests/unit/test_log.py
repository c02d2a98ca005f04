"""Where log lines go without `--log`: a person reads stderr."""

from __future__ import annotations

import os

from pyocijail.log import LogSink


def test_debug_without_log_file_goes_to_stderr(capfd) -> None:
    """runc prints its debug lines on stderr when there is no --log (what
    `buildah run --runtime-flag debug` shows); so do we, logrus-shaped."""
    sink = LogSink()
    sink.configure(None, "text", "debug")
    try:
        sink.debug('mount "x"')
        sink.error("boom")
    finally:
        os.close(sink._fd)
    err = capfd.readouterr().err.splitlines()
    assert err[0].startswith('time="') and err[0].endswith(' level=debug msg="mount \\"x\\""')
    assert err[1:] == ["pyocijail: boom"]  # an error once, plain


def test_default_level_writes_only_errors(capfd) -> None:
    sink = LogSink()
    sink.configure(None, "text", None)
    sink.debug("hidden")
    sink.error("boom")
    assert capfd.readouterr().err == "pyocijail: boom\n"
    assert sink._fd is None
