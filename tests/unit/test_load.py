"""pyocijail.spec.load: strict JSON, bundle loading and the fixture corpus."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyocijail.errors import ConfigError
from pyocijail.spec import load, model, schema

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "configs"
GOOD = sorted((FIXTURES / "good").glob("*.json"))
BAD = sorted((FIXTURES / "bad").glob("*.json"))

MINIMAL = {"ociVersion": "1.3.0", "root": {"path": "rootfs"},
           "process": {"cwd": "/", "args": ["sh"]}}

#: bad fixture -> text its error must contain (the pointer and usually the rule).
EXPECTED = {
    "empty-args.json": "/process/args: [] is too short",
    "missing-args.json": "/process/args: is required",
    "args-not-strings.json": "/process/args/1: 1 is not of type 'string'",
    "cwd-missing.json": "/process: 'cwd' is a required property",
    "terminal-string.json": "/process/terminal: 'true' is not of type 'boolean'",
    "uid-negative.json": "/process/user/uid: -1 is less than the minimum of 0",
    "gid-too-big.json": "/process/user/gid: 4294967296 is greater than the maximum",
    "rlimit-bad-type.json": "/process/rlimits/0/type: 'NOFILE' does not match",
    "rlimit-missing-hard.json": "/process/rlimits/0: 'hard' is a required property",
    "missing-oci-version.json": "/: 'ociVersion' is a required property",
    "oci-version-number.json": "/ociVersion: 1 is not of type 'string'",
    "oci-version-2.json": "/ociVersion: unsupported runtime-spec version '2.0.0'",
    "oci-version-not-semver.json": "/ociVersion: 'v1.0.0' is not a SemVer version",
    "root-without-path.json": "/root: 'path' is a required property",
    "hook-timeout-zero.json": "/hooks/poststart/0/timeout: 0 is less than the minimum of 1",
    "hook-without-path.json": "/hooks/prestart/0: 'path' is a required property",
    "hooks-not-array.json": "/hooks/poststop: {'path': '/bin/true'} is not of type 'array'",
    "mount-without-destination.json": "/mounts/1: 'destination' is a required property",
    "mount-options-string.json": "/mounts/0/options: 'ro' is not of type 'array'",
    "annotation-not-string.json": "/annotations/com.example.n: 1 is not of type 'string'",
    "annotations-null.json": "/annotations: None is not of type 'object'",
    "filemode-too-big.json": "/linux/devices/0/fileMode: 512 is greater than the maximum of 511",
    "device-bad-type.json": "/linux/devices/0/type: 'x' is not one of",
    "namespace-bad-type.json": "/linux/namespaces/0/type: 'pidns' is not one of",
    "idmapping-missing-size.json": "/linux/uidMappings/0: 'size' is a required property",
    "rootfs-propagation-bad.json": "/linux/rootfsPropagation: 'master' is not one of",
    "seccomp-bad-action.json": "/linux/seccomp/syscalls/0/action: 'SCMP_ACT_DENY' is not one of",
    "seccomp-bad-op.json": "/linux/seccomp/syscalls/0/args/0/op: 'SCMP_CMP_IN' is not one of",
    "seccomp-bad-arch.json": "/linux/seccomp/architectures/1: 'SCMP_ARCH_VAX' is not one of",
    "seccomp-bad-flag.json": "/linux/seccomp/flags/0: 'SECCOMP_FILTER_FLAG_NEW_LISTENER'",
    "seccomp-empty-names.json": "/linux/seccomp/syscalls/0/names: [] is too short",
    "seccomp-missing-default-action.json": "/linux/seccomp: 'defaultAction' is a required",
    "hugepage-bad-pagesize.json": "/linux/resources/hugepageLimits/0/pageSize: '2M' does not",
    "pids-limit-string.json": "/linux/resources/pids/limit: 'max' is not of type 'integer'",
    "memory-limit-float.json": "/linux/resources/memory/limit: 1.5 is not of type 'integer'",
    "blkio-throttle-missing-rate.json":
        "/linux/resources/blockIO/throttleReadIOPSDevice/0: 'rate' is a required property",
    "rdma-bad-handles.json": "/linux/resources/rdma/mlx5_1/hcaHandles: -3 is less than",
    "device-cgroup-missing-allow.json": "/linux/resources/devices/0: 'allow' is a required",
    "memory-policy-bad-mode.json": "/linux/memoryPolicy/mode: 'MPOL_RANDOM' is not one of",
    "personality-bad-domain.json": "/linux/personality/domain: 'BSD' is not one of",
    "time-offset-bad-nanosecs.json": "/linux/timeOffsets/monotonic/nanosecs: -1 is less than",
    "freebsd-vnet-disable.json": "/freebsd/jail/vnet: 'disable' is not one of ['new', 'inherit']",
    "freebsd-host-disable.json": "/freebsd/jail/host: 'disable' is not one of ['new', 'inherit']",
    "freebsd-ip4-shared.json": "/freebsd/jail/ip4: 'shared' is not one of",
    "freebsd-sysvshm-bool.json": "/freebsd/jail/sysvshm: True is not of type 'string'",
    "freebsd-enforce-statfs-256.json":
        "/freebsd/jail/enforceStatfs: 256 is greater than the maximum of 255",
    "freebsd-allow-mount-string.json": "/freebsd/jail/allow/mount: 'tmpfs' is not of type 'array'",
    "freebsd-allow-mlock-string.json": "/freebsd/jail/allow/mlock: 'yes' is not of type 'boolean'",
    "freebsd-ip4addr-string.json": "/freebsd/jail/ip4Addr: '10.0.0.1' is not of type 'array'",
    "freebsd-device-without-path.json": "/freebsd/devices/0: 'path' is a required property",
    "freebsd-device-mode-negative.json": "/freebsd/devices/0/mode: -1 is less than the minimum",
    "windows-no-layerfolders.json": "/windows: 'layerFolders' is a required property",
    "vm-bad-image-format.json": "/vm/image/format: 'iso' is not one of",
    "zos-bad-namespace.json": "/zos/namespaces/0/type: 'network' is not one of",
    "state-negative-pid.json": "/pid: -1 is less than the minimum of 0",
    "state-paused.json": "/status: 'paused' is not one of",
    "state-missing-bundle.json": "/: 'bundle' is a required property",
    "features-missing-oci-version-max.json": "/: 'ociVersionMax' is a required property",
    "features-hooks-string.json": "/hooks: 'prestart' is not of type",
    "process-empty-args.json": "/args: [] is too short",
    "process-missing-args.json": "/args: is required",
    "process-missing-cwd.json": "/: 'cwd' is a required property",
    "top-level-array.json": "top level must be a JSON object, not an array",
    "duplicate-key.json": "duplicate key 'cwd'",
    "nan-constant.json": "NaN is not a JSON number",
    "trailing-comma.json": "invalid JSON: ",
    "latin1-hostname.json": "not valid UTF-8 at byte offset 40",
}


def check_fixture(path: Path) -> object:
    """Run a fixture through the loader its name prefix selects."""
    name = path.name
    if name.startswith("process-"):
        return load.load_process(str(path))
    data = load.parse_json(path.read_bytes(), name)
    if name.startswith("state-"):
        return schema.validate_state(data, name)
    if name.startswith("features-"):
        return schema.validate_features(data, name)
    return load.spec_from_data(data, name)


def write_bundle(tmp_path: Path, data: object) -> Path:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    (tmp_path / "config.json").write_bytes(raw)
    return tmp_path


# --- the fixture corpus --------------------------------------------------------

def test_fixture_corpus_is_not_empty_and_fully_described():
    """Every bad fixture has an expected message, and every table entry has a file."""
    assert len(GOOD) >= 8
    assert {p.name for p in BAD} == set(EXPECTED)


@pytest.mark.parametrize("path", GOOD, ids=lambda p: p.name)
def test_good_fixture_loads(path):
    """Each good fixture passes the schema and, if a config, converts to the model."""
    result = check_fixture(path)
    if path.name.startswith("process-"):
        assert isinstance(result, model.Process)
    elif not path.name.startswith(("state-", "features-")):
        assert isinstance(result, model.Spec)


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.name)
def test_bad_fixture_fails_with_its_pointer(path):
    """Each bad fixture fails with a ConfigError naming the file, pointer and rule."""
    with pytest.raises(ConfigError) as info:
        check_fixture(path)
    text = str(info.value)
    assert EXPECTED[path.name] in text
    assert text.startswith(str(path) if path.name.startswith("process-") else path.name)
    assert "\n" not in text and len(text) < 300


def test_spec_keys_reach_the_model():
    """camelCase keys that are not plain camelCase (blockIO, kernelTCP...) are converted."""
    spec = check_fixture(FIXTURES / "good" / "linux-all-fields.json")
    assert isinstance(spec, model.Spec)
    res = spec.linux.resources
    assert res.memory.kernel_tcp == 1048576
    assert res.memory.disable_oom_killer is True
    assert res.block_io.throttle_read_iops_device[0].rate == 800
    assert res.block_io.throttle_write_iops_device[0].rate == 900
    assert spec.linux.uid_mappings[0].host_id == 100000


def test_freebsd_section_reaches_the_model():
    """Every freebsd.jail field of v1.3.0 is carried into the model."""
    spec = check_fixture(FIXTURES / "good" / "freebsd-full.json")
    jail = spec.freebsd.jail
    assert (jail.vnet, jail.host, jail.ip6, jail.enforce_statfs) == ("new", "new", "disable", 1)
    assert jail.ip4_addr == ("10.11.12.13",) and jail.vnet_interfaces == ("epair0b",)
    assert jail.allow.mlock and jail.allow.mount == ("tmpfs", "nullfs")
    assert spec.freebsd.devices[0] == model.FreeBSDDevice(path="pf", mode=448)


# --- parse_json ----------------------------------------------------------------

def test_duplicate_keys_are_rejected_by_name():
    """A repeated key is an error naming the key, not a silent last-wins."""
    with pytest.raises(ConfigError, match=r"^config\.json: duplicate key 'ociVersion'"):
        load.parse_json(b'{"ociVersion": "1.0.0", "ociVersion": "1.3.0"}', "config.json")


def test_non_utf8_names_the_byte_offset():
    """Invalid UTF-8 is reported with the offset of the first bad byte."""
    with pytest.raises(ConfigError, match=r"not valid UTF-8 at byte offset 14"):
        load.parse_json(b'{"hostname": "\xff"}', "config.json")


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_constants_are_rejected(constant):
    """NaN and Infinity are Python extensions, not JSON."""
    with pytest.raises(ConfigError, match=f"{constant} is not a JSON number"):
        load.parse_json(f'{{"x": {constant}}}'.encode(), "config.json")


@pytest.mark.parametrize("raw", [b"[]", b'"text"', b"3", b"null", b"true"])
def test_top_level_must_be_an_object(raw):
    """Only an object can be a config, process, state or features document."""
    with pytest.raises(ConfigError, match="top level must be a JSON object"):
        load.parse_json(raw, "config.json")


def test_syntax_errors_give_line_and_column():
    """Malformed JSON names where parsing stopped."""
    with pytest.raises(ConfigError, match=r"invalid JSON: .* at line 2 column \d+"):
        load.parse_json(b'{"a": 1,\n}', "config.json")


def test_very_deep_nesting_is_an_error_not_a_crash():
    """100000 nested arrays give ConfigError, not RecursionError."""
    raw = b'{"x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    with pytest.raises(ConfigError, match="nested too deeply"):
        load.parse_json(raw, "config.json")


def test_moderate_nesting_beyond_the_limit_is_rejected():
    """Nesting the parser copes with but deeper than MAX_DEPTH is refused too."""
    depth = load.MAX_DEPTH + 5
    raw = b'{"x": ' + b"[" * depth + b"]" * depth + b"}"
    with pytest.raises(ConfigError, match="nested too deeply"):
        load.parse_json(raw, "config.json")
    ok = load.MAX_DEPTH - 2
    load.parse_json(b'{"x": ' + b"[" * ok + b"]" * ok + b"}", "config.json")


def test_oversized_document_is_refused_before_parsing():
    """Above MAX_DOCUMENT_BYTES the text is not parsed at all."""
    raw = b'{"x": "' + b"a" * load.MAX_DOCUMENT_BYTES + b'"}'
    with pytest.raises(ConfigError, match="too large"):
        load.parse_json(raw, "config.json")


def test_large_config_under_the_cap_loads(tmp_path):
    """A multi-megabyte config (huge seccomp profile, annotations) still loads."""
    data = json.loads(json.dumps(MINIMAL))
    data["annotations"] = {f"k{i}": "v" * 100 for i in range(20_000)}
    data["linux"] = {"seccomp": {"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"names": [f"sys{i}"], "action": "SCMP_ACT_ALLOW"} for i in range(20_000)]}}
    spec, raw = load.load_config(write_bundle(tmp_path, data))
    assert len(raw) > 2_000_000
    assert len(spec.linux.seccomp.syscalls) == 20_000


def test_oversized_config_file_is_refused(tmp_path):
    """load_config reads at most one byte past the cap."""
    (tmp_path / "config.json").write_bytes(b" " * (load.MAX_DOCUMENT_BYTES + 10))
    with pytest.raises(ConfigError, match=r"^config\.json: file is too large"):
        load.load_config(tmp_path)


def test_lone_surrogate_escapes_are_rejected():
    """`\\ud800` decodes to a str that cannot be passed to execve; refuse it early."""
    with pytest.raises(ConfigError, match="lone UTF-16 surrogate"):
        load.parse_json(b'{"process": {"args": ["\\ud800"]}}', "config.json")


def test_surrogate_pairs_are_fine():
    """A proper escaped pair is just a non-BMP character."""
    data = load.parse_json(b'{"hostname": "\\ud83d\\ude00"}', "config.json")
    assert data["hostname"] == "\U0001f600"


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-2**65, max_value=2**65)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=3),
    max_leaves=8)

#: Where fuzzed values are planted: known keys whose types the model relies on.
KNOWN_PATHS = [
    ("process",), ("process", "args"), ("process", "user"), ("process", "user", "uid"),
    ("process", "rlimits"), ("process", "capabilities"), ("root",), ("mounts",),
    ("hooks",), ("hooks", "poststart"), ("annotations",), ("linux",),
    ("linux", "resources"), ("linux", "seccomp"), ("linux", "personality"),
    ("linux", "sysctl"), ("freebsd",), ("freebsd", "jail"), ("freebsd", "jail", "allow"),
    ("freebsd", "devices"),
]


@given(st.binary(max_size=300))
def test_parse_json_only_raises_config_error(raw):
    """Arbitrary bytes either parse to an object or give ConfigError."""
    try:
        assert isinstance(load.parse_json(raw, "config.json"), dict)
    except ConfigError:
        pass


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(KNOWN_PATHS), JSON_VALUES)
def test_any_value_at_a_known_key_loads_or_fails_cleanly(path, value):
    """Whatever sits at a known key, loading yields a Spec or a ConfigError, never a crash."""
    data = json.loads(json.dumps(MINIMAL))
    node = data
    for key in path[:-1]:
        node = node.setdefault(key, {}) if isinstance(node.get(key, {}), dict) else {}
    node[path[-1]] = value
    try:
        assert isinstance(load.spec_from_data(data), model.Spec)
    except ConfigError as err:
        assert str(err).startswith("config.json: ")


# --- load_config / load_process ----------------------------------------------------

def test_load_config_returns_model_and_exact_bytes(tmp_path):
    """The raw bytes are returned unchanged so the caller can keep a copy."""
    raw = b'{"ociVersion": "1.0.2-dev",\n "process": {"cwd": "/", "args": ["sh"]}}\n'
    spec, got = load.load_config(write_bundle(tmp_path, raw))
    assert got == raw
    assert spec.oci_version == "1.0.2-dev" and spec.process.args == ("sh",)


def test_missing_config_names_path_and_strerror(tmp_path):
    """A bundle without config.json is a ConfigError with the path and OS reason."""
    with pytest.raises(ConfigError) as info:
        load.load_config(tmp_path)
    assert str(info.value) == (f"config.json: cannot read {tmp_path / 'config.json'}: "
                               f"{os.strerror(2)}")


def test_unreadable_config_is_a_config_error(tmp_path):
    """A directory where config.json should be gives ConfigError, not IsADirectoryError."""
    (tmp_path / "config.json").mkdir()
    with pytest.raises(ConfigError, match=r"^config\.json: .*config\.json is a directory, not a "):
        load.load_config(tmp_path)


def test_config_without_args_is_rejected(tmp_path):
    """On non-Windows platforms process.args is REQUIRED."""
    with pytest.raises(ConfigError, match=r"/process/args: is required"):
        load.load_config(write_bundle(tmp_path, {"ociVersion": "1.0.0",
                                                 "process": {"cwd": "/"}}))


def test_config_without_process_loads(tmp_path):
    """process is OPTIONAL in config.json; requiring it is the lifecycle's business."""
    spec, _ = load.load_config(write_bundle(tmp_path, {"ociVersion": "1.0.0"}))
    assert spec.process is None


def test_newer_oci_version_warns_through_the_callback(tmp_path):
    """ociVersion 1.4.0 loads, and the warning goes to the caller's sink."""
    warnings: list[str] = []
    spec, _ = load.load_config(write_bundle(tmp_path, {**MINIMAL, "ociVersion": "1.4.0"}),
                               warn=warnings.append)
    assert spec.oci_version == "1.4.0"
    assert len(warnings) == 1 and "1.4.0" in warnings[0]


@pytest.mark.parametrize("version", ["1.0.0", "1.0.2-dev", "1.2.1", "1.3.0", "1.3.0-rc.1",
                                     "1.0.0+dev"])
def test_oci_versions_callers_write_load(tmp_path, version):
    """The versions podman, buildah and runtime-spec 1.3 generators write are accepted."""
    spec, _ = load.load_config(write_bundle(tmp_path, {**MINIMAL, "ociVersion": version}))
    assert spec.oci_version == version


@pytest.mark.parametrize("version", ["0.9.0", "2.0.0", "1", "1.0", "v1.0.0", ""])
def test_oci_versions_outside_1x_fail(tmp_path, version):
    """0.x, 2.x and non-SemVer ociVersion values stop the load."""
    with pytest.raises(ConfigError, match=r"^config\.json: /ociVersion: "):
        load.load_config(write_bundle(tmp_path, {**MINIMAL, "ociVersion": version}))


def test_podman_device_file_modes_load_without_their_type_bits(tmp_path):
    """podman writes S_IFCHR|0666 (8630) for --device /dev/null; runc accepts it."""
    devices = [{"type": "c", "path": "/dev/mynull", "major": 1, "minor": 3, "fileMode": 0o20666},
               {"type": "b", "path": "/dev/vda", "major": 254, "minor": 0, "fileMode": 0o60660},
               {"type": "p", "path": "/dev/fifo", "fileMode": 0o10600}]
    spec, _ = load.load_config(write_bundle(tmp_path, {**MINIMAL, "linux": {"devices": devices}}))
    assert [d.file_mode for d in spec.linux.devices] == [0o666, 0o660, 0o600]


def test_device_file_mode_with_another_types_bits_is_still_refused(tmp_path):
    """Only the bits of the device's own type are dropped (S_IFBLK on a "c" is an error)."""
    dev = {"type": "c", "path": "/dev/x", "major": 1, "minor": 3, "fileMode": 0o60666}
    with pytest.raises(ConfigError, match=r"/linux/devices/0/fileMode: 25014 is greater"):
        load.load_config(write_bundle(tmp_path, {**MINIMAL, "linux": {"devices": [dev]}}))


@pytest.mark.parametrize("given", ["rprivate", "rshared", "rslave", "runbindable"])
def test_recursive_rootfs_propagation_loads(tmp_path, given):
    """podman writes rslave/rshared (`--mount ...,bind-propagation=rslave`), as runc accepts."""
    spec, _ = load.load_config(write_bundle(
        tmp_path, {**MINIMAL, "linux": {"rootfsPropagation": given}}))
    assert spec.linux.rootfs_propagation == given[1:]


def test_load_process_reads_stdin(monkeypatch):
    """`-` reads the process document from standard input."""
    raw = json.dumps({"cwd": "/tmp", "args": ["ls", "-l"], "env": ["A=1"]}).encode()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(raw)))
    proc = load.load_process("-")
    assert proc == model.Process(cwd="/tmp", args=("ls", "-l"), env=("A=1",))


def test_load_process_missing_file(tmp_path):
    """A missing --process file names the path and the OS reason."""
    path = str(tmp_path / "nope.json")
    with pytest.raises(ConfigError, match=f"^{path}: cannot read {path}: "):
        load.load_process(path)


# --- cost of importing ---------------------------------------------------------------

def test_importing_load_does_not_import_jsonschema():
    """`import pyocijail.spec.load` leaves jsonschema, referencing and schema unloaded."""
    code = ("import sys, pyocijail.spec.load; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('jsonschema', 'referencing') or m == 'pyocijail.spec.schema'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
