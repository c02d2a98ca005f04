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


def test_a_failure_after_warnings_leaves_one_object_in_the_log(tmp_path, capfd) -> None:
    """podman parses the whole --log file as one JSON object after a failed create:
    warnings are held back until success; a failure reports its error alone (one
    object in the log, one line on stderr)."""
    import json

    log = tmp_path / "oci-log"
    sink = LogSink()
    sink.configure(str(log), "json", "warn")
    sink.warn("allow.mount has no effect with enforce_statfs 2")
    sink.error("boom")
    assert json.loads(log.read_text())["msg"] == "boom"  # one object, the error
    assert capfd.readouterr().err == "pyocijail: boom\n"
    ok = tmp_path / "ok-log"
    sink = LogSink()
    sink.configure(str(ok), "json", "warn")
    sink.warn("w")
    sink.flush()
    assert [json.loads(line)["level"] for line in ok.read_text().splitlines()] == ["warning"]


def test_an_empty_log_path_is_no_log_file(tmp_path, capfd) -> None:
    """`--log ''` is runc's default (stderr only), not a file named ''."""
    sink = LogSink()
    sink.configure("", "json", None)
    sink.error("boom")
    assert capfd.readouterr().err == "pyocijail: boom\n"
    assert sink.path is None


def test_a_log_that_cannot_be_opened_keeps_the_error_on_one_line(tmp_path, capfd) -> None:
    """An unusable --log (a directory, a missing parent) is named on the error's own
    line: callers read one line of stderr after exit 1 (conmon, the hostile-argv test)."""
    for path, why in ((str(tmp_path), "Is a directory"),
                      (str(tmp_path / "no" / "log"), "No such file or directory")):
        sink = LogSink()
        sink.configure(path, "json", None)
        sink.warn("held back")
        sink.error("boom")
        assert capfd.readouterr().err == f"pyocijail: boom (cannot open log {path}: {why})\n"
