"""pyocijail.spec.schema: the schema files, validation messages, ociVersion rule."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyocijail.errors import ConfigError
from pyocijail.spec import schema

SCHEMAS = Path(__file__).resolve().parents[2] / "pyocijail" / "spec" / "schemas"
ENTRY_POINTS = {"config-schema.json", "state-schema.json", "features-schema.json"}
EXPECTED_FILES = ENTRY_POINTS | {
    "defs.json", "defs-linux.json", "config-linux.json", "config-freebsd.json",
    "defs-freebsd.json", "config-solaris.json", "config-windows.json", "defs-windows.json",
    "config-vm.json", "config-zos.json", "defs-zos.json", "features-linux.json",
}
DRAFT4 = "http://json-schema.org/draft-04/schema#"

MINIMAL = {"ociVersion": "1.3.0", "root": {"path": "rootfs"},
           "process": {"cwd": "/", "args": ["sh"]}}


def _load(name: str) -> dict:
    return json.loads((SCHEMAS / name).read_text())


def _refs(node: object) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def _resolve(doc: dict, fragment: str) -> object:
    node: object = doc
    for part in fragment.lstrip("/").split("/") if fragment else []:
        assert isinstance(node, dict), fragment
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _expect(data: object, fragment: str, validate=schema.validate_config) -> str:
    with pytest.raises(ConfigError) as info:
        validate(data)
    assert fragment in str(info.value)
    return str(info.value)


# --- the files ---------------------------------------------------------------

def test_schema_directory_holds_exactly_the_expected_files():
    """schemas/ has one file per section of the spec, no more, no fewer."""
    assert {p.name for p in SCHEMAS.glob("*.json")} == EXPECTED_FILES


def test_only_entry_points_declare_draft04():
    """The three entry points say draft-04; fragments declare no dialect and no $id."""
    for name in EXPECTED_FILES:
        doc = _load(name)
        assert "$id" not in doc and "id" not in doc
        if name in ENTRY_POINTS:
            assert doc["$schema"] == DRAFT4
        else:
            assert "$schema" not in doc


def test_every_ref_is_a_bare_file_name_or_local_and_resolves():
    """Each $ref is `file.json#/pointer` or `#/pointer`, and the target exists."""
    for name in EXPECTED_FILES:
        doc = _load(name)
        for ref in _refs(doc):
            assert re.fullmatch(r"([a-z-]+\.json)?#/[A-Za-z0-9/_-]+", ref), (name, ref)
            target_file, _, fragment = ref.partition("#")
            target = _load(target_file) if target_file else doc
            assert isinstance(_resolve(target, fragment), dict), (name, ref)


def test_schemas_are_package_data_beside_the_reader():
    """The schemas ship inside the package (found by its own path in any install, even
    by the launcher's base interpreter); the checkout's `schemas/` is a link to them."""
    import tomllib

    assert schema.schemas_dir() == SCHEMAS == Path(schema.__file__).resolve().parent / "schemas"
    top = Path(__file__).resolve().parents[2] / "schemas"
    assert top.is_symlink() and top.resolve() == SCHEMAS
    project = tomllib.loads((top.parent / "pyproject.toml").read_text())
    assert "spec/schemas/*.json" in project["tool"]["setuptools"]["package-data"]["pyocijail"]
    assert "data-files" not in project["tool"]["setuptools"]


def test_missing_schemas_are_a_config_error(tmp_path, monkeypatch):
    """A broken installation without the schema files: the error says where it looked."""
    monkeypatch.setattr(schema, "SCHEMAS_DIR", str(tmp_path / "schemas"))
    with pytest.raises(ConfigError, match=r"cannot find the JSON schemas .*schemas"):
        schema.schemas_dir()


def test_validators_are_built_once_per_process():
    """The registry and validator are cached; building them is the slow part."""
    schema.validate_config(MINIMAL)
    assert schema._validator("config-schema.json") is schema._validator("config-schema.json")
    assert schema._registry() is schema._registry()


# --- config rules ------------------------------------------------------------

def test_minimal_config_is_valid():
    """ociVersion alone is a valid config document."""
    schema.validate_config({"ociVersion": "1.0.0"})


def test_unknown_properties_are_allowed_everywhere():
    """The spec says unknown properties MUST be ignored, at any level."""
    data = json.loads(json.dumps(MINIMAL))
    data["x-tool"] = {"a": [1]}
    data["process"]["x-extra"] = True
    data["freebsd"] = {"jail": {"futureParam": 3, "allow": {"nfsd": True}}}
    data["linux"] = {"resources": {"memory": {"futureKnob": "x"}}}
    schema.validate_config(data)


def test_empty_args_names_the_pointer_and_rule():
    """An empty args array is reported as `/process/args: [] is too short`."""
    msg = _expect({**MINIMAL, "process": {"cwd": "/", "args": []}}, "/process/args:")
    assert msg.startswith("config.json: /process/args: [] is too short")


def test_missing_oci_version_is_reported_at_the_root():
    """A missing top-level property is reported against `/`."""
    msg = _expect({"root": {"path": "r"}}, "'ociVersion' is a required property")
    assert msg == "config.json: /: 'ociVersion' is a required property"


def test_process_requires_cwd():
    """process.cwd is REQUIRED."""
    _expect({**MINIMAL, "process": {"args": ["sh"]}}, "/process: 'cwd' is a required property")


def test_root_requires_path():
    """root.path is REQUIRED."""
    _expect({**MINIMAL, "root": {}}, "/root: 'path' is a required property")


def test_hook_timeout_must_be_positive():
    """A hook timeout of 0 is rejected (minimum 1)."""
    _expect({**MINIMAL, "hooks": {"poststop": [{"path": "/x", "timeout": 0}]}},
            "/hooks/poststop/0/timeout: 0 is less than the minimum of 1")


def test_filemode_is_at_most_0o777():
    """fileMode 511 (0o777) is valid, 512 is not."""
    dev = {"type": "c", "path": "/dev/x", "major": 1, "minor": 1, "fileMode": 511}
    schema.validate_config({**MINIMAL, "linux": {"devices": [dev]}})
    _expect({**MINIMAL, "linux": {"devices": [{**dev, "fileMode": 512}]}},
            "/linux/devices/0/fileMode: 512 is greater than the maximum of 511")


@pytest.mark.parametrize("key", ["vnet", "host"])
def test_freebsd_vnet_and_host_cannot_be_disabled(key):
    """vnet and host take only new|inherit; 'disable' is an enum error."""
    _expect({**MINIMAL, "freebsd": {"jail": {key: "disable"}}},
            f"/freebsd/jail/{key}: 'disable' is not one of ['new', 'inherit']")


@pytest.mark.parametrize("key", ["ip4", "ip6", "sysvmsg", "sysvsem", "sysvshm"])
def test_freebsd_sharing_modes_accept_disable(key):
    """ip4/ip6/sysv* take disable|new|inherit."""
    for mode in ("disable", "new", "inherit"):
        schema.validate_config({**MINIMAL, "freebsd": {"jail": {key: mode}}})


def test_freebsd_enforce_statfs_is_uint8():
    """enforceStatfs is a uint8."""
    _expect({**MINIMAL, "freebsd": {"jail": {"enforceStatfs": -1}}},
            "/freebsd/jail/enforceStatfs: -1 is less than the minimum of 0")


def test_integer_types_reject_floats_and_booleans():
    """draft-04 integers: 1.0 and true are not integers."""
    _expect({**MINIMAL, "process": {"cwd": "/", "args": ["a"], "user": {"uid": 1.0}}},
            "/process/user/uid: 1.0 is not of type 'integer'")
    _expect({**MINIMAL, "process": {"cwd": "/", "args": ["a"], "user": {"uid": True}}},
            "/process/user/uid: True is not of type 'integer'")


def test_uint64_bounds_are_exact():
    """2**64-1 fits a uint64 rlimit; 2**64 does not."""
    rl = {"type": "RLIMIT_NOFILE", "soft": 2**64 - 1, "hard": 2**64 - 1}
    schema.validate_config({**MINIMAL, "process": {"cwd": "/", "args": ["a"], "rlimits": [rl]}})
    _expect({**MINIMAL, "process": {"cwd": "/", "args": ["a"], "rlimits": [{**rl, "hard": 2**64}]}},
            "/process/rlimits/0/hard")


def test_pointer_escapes_slash_and_tilde():
    """Keys with `/` or `~` are escaped per RFC 6901 in the reported pointer."""
    _expect({**MINIMAL, "annotations": {"a/b~c": 1}}, "/annotations/a~1b~0c: 1 is not of type")


@pytest.mark.parametrize("key", ["", "\n"])
def test_map_values_must_be_strings_for_every_key(key):
    """Annotation keys the pattern `.{1,}` misses still need string values."""
    _expect({**MINIMAL, "annotations": {key: 1}}, "1 is not of type 'string'")


def test_huge_values_are_truncated_in_messages():
    """A megabyte-long bad value does not end up in the message."""
    msg = _expect({**MINIMAL, "hostname": ["x" * 1_000_000]}, "/hostname:")
    assert len(msg) < 200
    assert "..." in msg


def test_messages_name_the_document():
    """The `what` argument leads the message."""
    with pytest.raises(ConfigError, match=r"^/b/config\.json: /hostname: "):
        schema.validate_config({**MINIMAL, "hostname": 3}, "/b/config.json")


# --- process, state, features -----------------------------------------------

def test_process_document_uses_the_config_process_rules():
    """An exec process file is checked against config.json's process definition."""
    schema.validate_process({"cwd": "/", "args": ["ps"]})
    _expect({"cwd": "/", "args": []}, "process.json: /args: [] is too short",
            schema.validate_process)


def test_state_rules():
    """State needs ociVersion/id/status/bundle, status is one of four, pid >= 0."""
    good = {"ociVersion": "1.3.0", "id": "c", "status": "created", "pid": 0, "bundle": "/b"}
    schema.validate_state(good)
    _expect({**good, "pid": -1}, "state: /pid: -1 is less than the minimum of 0",
            schema.validate_state)
    _expect({**good, "status": "paused"}, "/status: 'paused' is not one of",
            schema.validate_state)
    for key in ("ociVersion", "id", "status", "bundle"):
        _expect({k: v for k, v in good.items() if k != key},
                f"'{key}' is a required property", schema.validate_state)


def test_features_require_version_bounds_and_allow_nulls():
    """features needs ociVersionMin/Max; other fields may be absent or null."""
    schema.validate_features({"ociVersionMin": "1.0.0", "ociVersionMax": "1.3.0",
                              "hooks": None, "annotations": None, "linux": None})
    _expect({"ociVersionMin": "1.0.0"}, "'ociVersionMax' is a required property",
            schema.validate_features)


# --- ociVersion ----------------------------------------------------------------

@pytest.mark.parametrize("version", ["1.0.0", "1.0.2-dev", "1.1.0", "1.2.0", "1.2.1", "1.3.0",
                                     "1.3.0-rc.1", "1.0.0+dev", "1.3.12"])
def test_supported_oci_versions_pass_silently(version):
    """1.0.x to 1.3.x, with pre-release or build suffixes, are accepted quietly."""
    assert schema.check_oci_version(version) is None


@pytest.mark.parametrize("version", ["1.4.0", "1.10.0-rc.2"])
def test_newer_minor_versions_warn(version):
    """A 1.x newer than 1.3 is accepted with a warning for the caller to log."""
    warning = schema.check_oci_version(version)
    assert warning is not None and version in warning


@pytest.mark.parametrize("version", ["0.9.0", "0.5.0-dev", "2.0.0", "1", "1.0", "v1.0.0", "",
                                     "1.0.0-", "01.0.0", "1.0.0 ", " 1.0.0", "1.0.0\n",
                                     "1.0.0-rc..1", None, 1])
def test_bad_oci_versions_are_rejected(version):
    """0.x, 2.x and anything that is not SemVer is an error at /ociVersion."""
    with pytest.raises(ConfigError, match=r"^config\.json: /ociVersion: "):
        schema.check_oci_version(version)


@given(st.text(max_size=40))
def test_oci_version_check_only_raises_config_error(text):
    """Arbitrary strings either pass, warn, or raise ConfigError: never anything else."""
    try:
        result = schema.check_oci_version(text)
    except ConfigError:
        return
    assert result is None or isinstance(result, str)
    assert text.startswith("1.")
