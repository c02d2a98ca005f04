"""JSON Schema checks of config.json, exec process files, state and features.

The schemas in `schemas/` beside this module (draft-04, runtime-spec v1.3.0)
refer to each other by bare file name (`defs.json#/definitions/Hook`), so every
file is registered under its own name in one `referencing.Registry`.

This is the only module that imports `jsonschema`/`referencing`, and it does
so inside functions: importing them costs more than a whole runc create, and
`state`, `kill`, `delete` must never pay for it. Nothing imports this module
at module level either. The validators are built once per process.
"""

from __future__ import annotations

import os

from pyocijail.errors import ConfigError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path
    from typing import Any

    from jsonschema.exceptions import ValidationError
    from jsonschema.protocols import Validator

SCHEMA_FILES_GLOB = "*.json"
#: Package data (pyproject's package-data), read by path: no importlib.resources
#: on the create path, and a wheel is installed unpacked anyway.
SCHEMAS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "schemas")
_REPR_LIMIT = 80

# Highest runtime-spec minor version pyocijail was written against.
_KNOWN_MINOR = 3

_DIGITS = frozenset("0123456789")  # ASCII only: str.isdigit() also takes other scripts' digits
_IDENT_CHARS = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-")


def is_semver(version: str) -> bool:
    """SemVer 2.0.0: MAJOR.MINOR.PATCH, optional -prerelease and +build (without `re`)."""
    rest, plus, build = version.partition("+")
    core, dash, pre = rest.partition("-")
    numbers = core.split(".")
    return (len(numbers) == 3 and all(_number(n) for n in numbers)
            and (not dash or all(_number(p) or (_ident(p) and not _DIGITS.issuperset(p))
                                 for p in pre.split(".")))
            and (not plus or all(_ident(b) for b in build.split("."))))


def _number(text: str) -> bool:
    return text != "" and _DIGITS.issuperset(text) and (text == "0" or text[0] != "0")


def _ident(text: str) -> bool:
    return text != "" and _IDENT_CHARS.issuperset(text)


def check_oci_version(version: object, what: str = "config.json") -> str | None:
    """Accept runtime-spec 1.x.y; return a warning text for a 1.x newer than we know.

    SemVer promises compatibility within a major version, so 1.4+ is run
    (podman 6 and later generators must not break on an upgrade) but the
    caller logs the returned warning. 0.x, 2.x and non-SemVer are errors.
    """
    if not isinstance(version, str) or not is_semver(version):
        raise ConfigError(f"{what}: /ociVersion: {_short(version)} is not a SemVer version "
                          "(expected 1.x.y)")
    major, minor = (int(p) for p in version.split(".", 2)[:2])
    if major != 1:
        raise ConfigError(f"{what}: /ociVersion: unsupported runtime-spec version {version!r} "
                          "(supported: 1.0.0 to 1.3.x)")
    if minor > _KNOWN_MINOR:
        return (f"{what}: ociVersion {version} is newer than the runtime-spec 1.3 this "
                "runtime implements; continuing")
    return None


def validate_config(data: Any, what: str = "config.json",
                    debug: Callable[[str], None] | None = None) -> None:
    """Raise ConfigError naming the pointer and rule unless `data` is a valid config."""
    _validate("config", "config-schema.json", data, what, debug)


def validate_process(data: Any, what: str = "process.json",
                     debug: Callable[[str], None] | None = None) -> None:
    """Check an `exec --process` document against config.json's `process` definition."""
    _validate("process", "config-schema.json#/definitions/Process", data, what, debug)


def validate_state(data: Any, what: str = "state") -> None:
    _validate("state", "state-schema.json", data, what, None)


def validate_features(data: Any, what: str = "features") -> None:
    _validate("features", "features-schema.json", data, what, None)


def _validate(entry: str, ref: str, data: Any, what: str,
              debug: Callable[[str], None] | None) -> None:
    """The compiled check accepts, or jsonschema decides and describes (fastcheck.py)."""
    from pyocijail.spec import fastcheck

    verdict = fastcheck.accepts(entry, data, debug)
    if verdict:
        return
    _check(_validator(ref), data, what)  # raises with jsonschema's message
    if verdict is False and debug is not None:
        debug(f"{what}: the compiled schema check rejected a document that jsonschema "
              "accepts; accepted (jsonschema is the reference)")


def schemas_dir() -> Path:
    """The directory holding our schema files: `schemas/` inside this package.

    They ship as package data next to this module, so a regular install, an
    editable one and a checkout all find them the same way. (They used to be
    data-files under `<prefix>/share/pyocijail/schemas`, which the launcher's
    interpreter, a venv's base Python, never finds: its prefix is not the
    venv's.) The checkout's top-level `schemas` is a symlink to it.
    """
    from pathlib import Path

    directory = Path(SCHEMAS_DIR)
    if not (directory / "config-schema.json").is_file():
        raise ConfigError(f"cannot find the JSON schemas (looked in {directory}): "
                          "the pyocijail installation is incomplete")
    return directory


_cache: dict[str, Any] = {}  # (not functools.cache: functools costs an import)


def _registry() -> Any:
    if "registry" in _cache:
        return _cache["registry"]
    import json

    from referencing import Registry
    from referencing.jsonschema import DRAFT4

    directory = schemas_dir()
    resources = []
    for path in sorted(directory.glob(SCHEMA_FILES_GLOB)):
        try:
            contents = json.loads(path.read_bytes())
        except (OSError, ValueError) as err:
            raise ConfigError(f"cannot load schema {path}: {err}") from err
        resources.append((path.name, DRAFT4.create_resource(contents)))
    # No crawl(): draft-04 files here have no ids or anchors to index, and
    # lookups by file name work without it (crawling costs ~4 ms per run).
    registry = _cache["registry"] = Registry().with_resources(resources)
    return registry


def _validator(ref: str) -> Validator:
    from jsonschema import Draft4Validator

    if ref not in _cache:
        _cache[ref] = Draft4Validator({"$ref": ref}, registry=_registry())
    return _cache[ref]


def _check(validator: Validator, data: Any, what: str) -> None:
    from jsonschema.exceptions import best_match

    try:
        error = best_match(validator.iter_errors(data))
    except RecursionError:
        raise ConfigError(f"{what}: document is nested too deeply") from None
    if error is not None:
        raise ConfigError(f"{what}: {pointer(error.absolute_path)}: {describe(error)}")


def pointer(path: Any) -> str:
    """RFC 6901 JSON pointer for a jsonschema path; the whole document is `/`."""
    parts = [str(p).replace("~", "~0").replace("/", "~1") for p in path]
    return "/" + "/".join(parts) if parts else "/"


def describe(error: ValidationError) -> str:
    """The rule that failed, in wording that does not change with jsonschema versions."""
    kind, rule, value = error.validator, error.validator_value, error.instance
    if kind == "required":
        missing = [k for k in rule if isinstance(value, dict) and k not in value]
        return f"{_short(missing[0] if missing else rule)} is a required property"
    if kind == "minItems":
        return f"{_short(value)} is too short (at least {rule} item{'s' * (rule != 1)})"
    if kind == "maxItems":
        return f"{_short(value)} is too long (at most {rule} items)"
    if kind == "minimum":
        return f"{_short(value)} is less than the minimum of {rule}"
    if kind == "maximum":
        return f"{_short(value)} is greater than the maximum of {rule}"
    if kind == "enum":
        return f"{_short(value)} is not one of {_short(rule)}"
    if kind == "type":
        return f"{_short(value)} is not of type {_short(rule)}"
    if kind == "pattern":
        return f"{_short(value)} does not match {rule!r}"
    return _truncate(error.message, 2 * _REPR_LIMIT)


def _short(value: object) -> str:
    return _truncate(repr(value), _REPR_LIMIT)


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
