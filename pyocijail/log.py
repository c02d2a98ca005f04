# lean layer: a hot command loads this module; its imports keep pyocijail/lean.py's rules
"""`--log`, `--log-format`, `--log-level`: where messages go and in what shape.

Callers parse the log file: podman reads the *whole* file as one JSON object
after a failure, containerd decodes a stream of objects and keeps the last
error. So at the default level a failure appends exactly one line and nothing
else is written there: warnings are held until the command has succeeded (then
appended); a failed command reports its error alone, in the log and as one
line on stderr (the warnings are dropped: run with `--log-level debug`, or
without `--log`, to see them as they happen).
`--log-level debug` adds trace lines (one object each), warnings among them.
Errors always go to stderr too (conmon reads it after a failed create).
Without `--log` the caller is a person: warnings go to stderr as well, and
so do debug lines when asked for (as runc's do: `buildah run --runtime-flag
debug` shows them).
"""

import posix  # not os (~2 ms per call): tests/unit/test_import_budget.py
import sys
import time

_LEVELS = {"debug": 10, "info": 20, "warn": 30, "warning": 30, "error": 40, "fatal": 50,
           "panic": 50}


def rfc3339(now: float | None = None) -> str:
    now = time.time() if now is None else now
    secs = int(now)
    frac = int((now - secs) * 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{frac:09d}Z"


class LogSink:
    def __init__(self) -> None:
        self.path: str | None = None
        self.format = "text"
        self.level = _LEVELS["error"]
        self._fd: int | None = None
        self._unopenable: str | None = None  # why the log file could not be opened
        self._held: list[str] = []  # warnings for the log, once the command succeeded
        self._pid = posix.getpid()  # forked children (init, hooks) never write them

    def configure(self, path: str | None, fmt: str, level: str | None) -> None:
        # `--log ''` is no log file, as runc reads its default ("" = stderr only)
        self.path, self.format = path or None, fmt
        if level is not None:
            if level.lower() not in _LEVELS:
                from pyocijail.errors import UsageError

                raise UsageError(f"invalid log level {level!r}")
            self.level = _LEVELS[level.lower()]
        if self.debugging:
            # Debug lines also come from the container's init process, after it
            # changed root and put the container's stdio (a terminal) on 0-2:
            # keep one descriptor (close-on-exec) it inherits.
            if self.path is not None:
                self._open()
            else:
                try:
                    self._fd = posix.dup(2)  # non-inheritable: closed at exec
                except OSError:
                    pass

    @property
    def debugging(self) -> bool:
        return self.level <= _LEVELS["debug"]

    def debug(self, msg: str) -> None:
        if self.debugging:
            self._write("debug", msg)

    def warn(self, msg: str) -> None:
        if self.path is None:
            sys.stderr.write(f"pyocijail: warning: {msg}\n")
        elif self.debugging:
            self._write("warning", msg)  # among the trace lines, in order
        elif self.level <= _LEVELS["warn"]:
            self._held.append(msg)

    def flush(self) -> None:
        """The command succeeded: append the warnings it held back."""
        held, self._held = self._held, []
        if posix.getpid() == self._pid:
            for msg in held:
                self._write("warning", msg)

    def error(self, msg: str) -> None:
        self._held = []  # the error alone: podman parses the log as one object
        line = msg.rstrip("\n")
        if self.path is not None and self._fd is None:
            if self._unopenable is None:
                self._open(quiet=True)
            if self._unopenable is not None:  # still one line on stderr: callers parse it
                line += f" (cannot open log {self.path}: {self._unopenable})"
        sys.stderr.write(f"pyocijail: {line}\n" if not msg.endswith("\n") else line + "\n")
        sys.stderr.flush()
        self._write("error", msg)

    def _write(self, level: str, msg: str) -> None:
        if self.path is None and (level != "debug" or self._fd is None):
            return  # errors and warnings went to stderr already
        if self.format == "json":
            import json

            line = json.dumps({"level": level, "msg": msg, "time": rfc3339()}) + "\n"
        else:
            line = f'time="{rfc3339()}" level={level} msg="{_escape(msg)}"\n'
        if self._fd is None and self._unopenable is None:
            self._open()
        fd = self._fd
        if fd is not None:
            try:
                posix.write(fd, line.encode("utf-8", "replace"))
            except OSError:
                pass  # closed under us (the init closes fds before exec)

    def _open(self, quiet: bool = False) -> str | None:
        """Open the log file once; None, or why it cannot be opened (said on stderr
        unless `quiet`: `error` says it on its own line). Not retried."""
        assert self.path is not None
        try:
            self._fd = posix.open(self.path, posix.O_WRONLY | posix.O_APPEND | posix.O_CREAT
                                  | posix.O_CLOEXEC, 0o600)
        except OSError as err:  # only the runtime opens lazily: stderr is ours
            self._unopenable = err.strerror or str(err)
            if not quiet:
                sys.stderr.write(f"pyocijail: cannot open log {self.path}: {self._unopenable}\n")
            return self._unopenable
        return None


def _escape(msg: str) -> str:
    return msg.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


#: longest error line: conmon reads one 8191-byte chunk of stderr after a failure
MAX_ERROR = 2000


def one_line(msg: str) -> str:
    """An error as one bounded line: messages quote paths, names and hook output
    from the config, which may hold newlines, terminal escapes or 100 KiB."""
    if not msg.isprintable():
        msg = "".join(c if c.isprintable() else repr(c)[1:-1] for c in msg)
    if len(msg) > MAX_ERROR:
        msg = msg[:MAX_ERROR * 2 // 3] + " [...] " + msg[-MAX_ERROR // 3:]
    return msg
