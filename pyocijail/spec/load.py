"""Reading config.json and `exec --process` files: strict JSON, schema, model.

Every failure is a `ConfigError` whose text starts with the file it is about,
so the one log line a caller (podman, containerd) keeps says what to fix.
The JSON reader is stricter than `json.loads`: Python accepts duplicate keys
(last wins), `NaN`/`Infinity` and lone surrogates, none of which is JSON a
generator should write or that the runtime should guess the meaning of.

`pyocijail.spec.schema` (and with it jsonschema) and the cattrs converter
are imported only when a document is actually loaded, so importing this
module costs little more than `json`.
"""

from __future__ import annotations

import os
import stat
import sys

from pyocijail import jsonlite
from pyocijail.errors import ConfigError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeVar

    from pyocijail.spec import model

    T = TypeVar("T")

#: Larger files are refused before parsing; real configs are a few KiB to
#: a few hundred KiB (big seccomp profiles), so 16 MiB is generous.
MAX_DOCUMENT_BYTES = 16 * 1024 * 1024

#: Deeper documents are refused. Real configs nest fewer than 10 levels; the
#: bound keeps the recursive schema and cattrs walks far from Python's limit.
MAX_DEPTH = 128



def load_config(bundle_dir: str | os.PathLike[str],
                warn: Callable[[str], None] | None = None,
                debug: Callable[[str], None] | None = None) -> tuple[model.Spec, bytes]:
    """The bundle's config.json as a model, plus its exact bytes for the state dir.

    A 1.x ociVersion newer than the runtime knows is accepted; its warning goes
    to `warn` (the caller's log sink), or is dropped if none is given. `debug`
    gets trace lines (the schema check's, see `spec.fastcheck`).
    """
    path = os.path.join(os.fspath(bundle_dir), "config.json")
    raw = _read(path, "config.json")
    data = parse_json(raw, "config.json")
    spec = spec_from_data(data, "config.json", warn, debug)
    return spec, raw


def spec_from_data(data: Any, what: str = "config.json",
                   warn: Callable[[str], None] | None = None,
                   debug: Callable[[str], None] | None = None) -> model.Spec:
    """Validate parsed config data, check its ociVersion and convert it."""
    from pyocijail.spec import convert, schema

    _accept_callers_dialect(data)
    schema.validate_config(data, what, debug)
    warning = schema.check_oci_version(data["ociVersion"], what)
    if warning and warn is not None:
        warn(warning)
    process = data.get("process")
    if isinstance(process, dict):
        _require_args(process, what, "/process/args")
        _unique_rlimits(process, what, "/process/rlimits")
    return _convert(convert.spec_from_json, data, what)


#: The file-type bits of a device node (S_IFCHR, S_IFBLK, S_IFIFO) by `type`.
_S_IFMT = {"c": 0o020000, "u": 0o020000, "b": 0o060000, "p": 0o010000}


def _accept_callers_dialect(data: dict[str, Any]) -> None:
    """Rewrite, in place, two things podman writes that the spec's schema forbids.

    runc and crun accept both, so without this `podman run --device` and
    `--privileged` (every device's `fileMode` carries its S_IFCHR/S_IFBLK bits:
    0o20666 for /dev/null) and a bind mount with `bind-propagation=rslave`
    (`rootfsPropagation: "rslave"`) failed at create. A fileMode's type bits are
    dropped only when they are exactly those of the device's `type`; an "r"
    propagation loses its "r", which changes nothing here: "/" is always
    changed recursively (`mounts.set_root_propagation`). Anything else is
    left for the schema to judge.
    """
    linux = data.get("linux")
    if not isinstance(linux, dict):
        return
    propagation = linux.get("rootfsPropagation")
    if propagation in ("rprivate", "rshared", "rslave", "runbindable"):
        linux["rootfsPropagation"] = propagation[1:]
    devices = linux.get("devices")
    for dev in devices if isinstance(devices, list) else ():
        if not isinstance(dev, dict):
            continue
        mode, kind = dev.get("fileMode"), dev.get("type")
        if type(mode) is int and kind in _S_IFMT and mode & ~0o7777 == _S_IFMT[kind]:
            dev["fileMode"] = mode & 0o7777


def load_process(path_or_dash: str,
                 debug: Callable[[str], None] | None = None) -> model.Process:
    """The process of `exec --process FILE` (`-` reads standard input)."""
    if path_or_dash == "-":
        what = "process (stdin)"
        if sys.stdin is None:
            raise ConfigError(f"{what}: standard input is closed")
        raw = _read_stream(sys.stdin.buffer, what)
    else:
        what = path_or_dash
        raw = _read(path_or_dash, what)
    data = parse_json(raw, what)
    from pyocijail.spec import convert, schema

    schema.validate_process(data, what, debug)
    _require_args(data, what, "/args")
    _unique_rlimits(data, what, "/rlimits")
    return _convert(convert.process_from_json, data, what)


def parse_json(raw: bytes, what: str) -> Any:
    """Strictly parsed JSON object: UTF-8, unique keys, no NaN, bounded size and depth."""
    if len(raw) > MAX_DOCUMENT_BYTES:
        raise ConfigError(f"{what}: file is too large ({len(raw)} bytes, "
                          f"limit {MAX_DOCUMENT_BYTES})")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ConfigError(f"{what}: not valid UTF-8 at byte offset {err.start}") from None
    try:
        data = jsonlite.loads(text, object_pairs_hook=_unique_keys(what),
                              parse_constant=_no_constants(what))
    except ValueError as err:  # json.JSONDecodeError
        raise ConfigError(f"{what}: invalid JSON: {err.msg} at line {err.lineno} "  # type: ignore[attr-defined]
                          f"column {err.colno}") from None  # type: ignore[attr-defined]
    except RecursionError:
        raise ConfigError(f"{what}: JSON is nested too deeply") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{what}: top level must be a JSON object, not {_json_type(data)}")
    _check_tree(data, what, surrogates=_may_have_lone_surrogates(raw),
                nul=b"\\u0000" in raw)
    return data


def _may_have_lone_surrogates(raw: bytes) -> bool:
    """Whether `raw` has a `\\uD800`-`\\uDFFF` escape (a hint: `_check_tree` decides)."""
    i = raw.find(b"\\u")
    while i >= 0:
        third = raw[i + 3:i + 4]
        if raw[i + 2:i + 3] in (b"d", b"D") and third and third in b"89abcdefABCDEF":
            return True
        i = raw.find(b"\\u", i + 2)
    return False


def _read(path: str, what: str) -> bytes:
    """A regular file's bytes. The path is hostile: a FIFO would block the open
    or the read forever (runc hangs on one), a device never ends, and opening
    some devices does something. So: stat first, open without blocking and
    without taking a terminal, and insist on the same regular file."""
    try:
        _require_regular(os.stat(path), path, what)
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError as err:
        raise ConfigError(f"{what}: cannot read {path}: {err.strerror}") from None
    try:
        st = os.fstat(fd)
        _require_regular(st, path, what)  # swapped since the stat
        with open(fd, "rb", closefd=False) as stream:
            return _read_stream(stream, what)
    except OSError as err:
        raise ConfigError(f"{what}: cannot read {path}: {err.strerror}") from None
    finally:
        os.close(fd)


_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"),
          (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"))


def _require_regular(st: os.stat_result, path: str, what: str) -> None:
    if stat.S_ISREG(st.st_mode):
        return
    kind = next((name for test, name in _KINDS if test(st.st_mode)), "not a file")
    raise ConfigError(f"{what}: {path} is {kind}, not a regular file")


def _read_stream(stream: Any, what: str) -> bytes:
    # One byte over the limit is enough to know the file is too large.
    try:
        raw: bytes = stream.read(MAX_DOCUMENT_BYTES + 1)
    except OSError as err:
        raise ConfigError(f"{what}: cannot read: {err.strerror}") from None
    if len(raw) > MAX_DOCUMENT_BYTES:
        raise ConfigError(f"{what}: file is too large (more than {MAX_DOCUMENT_BYTES} bytes)")
    return raw


def _unique_keys(what: str) -> Callable[[list[tuple[str, Any]]], dict[str, Any]]:
    def build(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(pairs)
        if len(obj) != len(pairs):
            seen: set[str] = set()
            for key, _ in pairs:
                if key in seen:
                    raise ConfigError(f"{what}: duplicate key {_short(key)} in an object")
                seen.add(key)
        return obj

    return build


def _no_constants(what: str) -> Callable[[str], Any]:
    def reject(name: str) -> Any:
        raise ConfigError(f"{what}: {name} is not a JSON number")

    return reject


def _check_tree(data: Any, what: str, surrogates: bool, nul: bool = False) -> None:
    """Bound the depth and, if escapes suggest one, reject lone surrogates and NULs.

    Iterative, so it cannot itself overflow the stack. A lone surrogate
    (`"\\ud800"`) decodes to a str that cannot be encoded for execve or
    open, so it would fail much later with a confusing error; a NUL
    (`"\\u0000"`, the only way JSON can carry one) cannot be in a path, an
    argument or a name, and made plan raise ValueError (a traceback).
    """
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ConfigError(f"{what}: JSON is nested too deeply (limit {MAX_DEPTH} levels)")
        if isinstance(node, dict):
            for key, value in node.items():
                if surrogates or nul:
                    _check_text(key, what)
                stack.append((value, depth + 1))
        elif isinstance(node, list):
            stack.extend((item, depth + 1) for item in node)
        elif (surrogates or nul) and isinstance(node, str):
            _check_text(node, what)


def _check_text(text: str, what: str) -> None:
    if "\0" in text:
        raise ConfigError(f"{what}: string {_short(text)} contains a NUL character")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ConfigError(f"{what}: string {_short(text)} contains a lone UTF-16 surrogate "
                          "escape") from None


def _require_args(process: dict[str, Any], what: str, where: str) -> None:
    # The schema leaves args optional because Windows may use commandLine
    # instead; on every platform pyocijail runs, config.md makes args
    # REQUIRED with at least one entry (argv[0] is execvp's file).
    if "args" not in process:
        raise ConfigError(f"{what}: {where}: is required (at least the program to run)")


def _unique_rlimits(process: dict[str, Any], what: str, where: str) -> None:
    # config.md: "If rlimits contains duplicated entries with same type, the
    # runtime MUST generate an error" (runc 1.1 lets the last one win).
    seen = set()
    for entry in process.get("rlimits") or ():
        kind = entry.get("type") if isinstance(entry, dict) else None
        if not isinstance(kind, str):
            continue  # the schema's business
        if kind in seen:
            raise ConfigError(f"{what}: {where}: duplicate rlimit type {_short(kind)}")
        seen.add(kind)


def _convert(fn: Callable[[Any], T], data: Any, what: str) -> T:
    try:
        return fn(data)
    except ConfigError as err:
        raise ConfigError(f"{what}: {err}") from err
    except RecursionError:
        raise ConfigError(f"{what}: JSON is nested too deeply") from None


def _json_type(value: Any) -> str:
    names = {list: "an array", str: "a string", bool: "a boolean", type(None): "null",
             int: "a number", float: "a number"}
    return names.get(type(value), type(value).__name__)


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
