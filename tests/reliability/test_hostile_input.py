"""Hostile input, generated: config.json, exec process files, ids and argv.

Random and mutated documents (wrong types, huge numbers, deep nesting, long
strings, NUL bytes, lone surrogates, non-UTF-8, duplicate keys, truncation)
go through the loaders and both backends' `plan` in-process (fast: well over
1000 cases a run), and a smaller sample through the real CLI. Every case
must end in success or in one `PyocijailError` with a one-line message,
never another exception; through the CLI, exit 1, one line on stderr, no
traceback, nothing in the state root.

Reproducible: no example database, derandomized, no deadlines.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pyocijail.errors import ConfigError, InvalidId, PyocijailError
from pyocijail.testing import bundles
from tests.reliability import harness
from tests.reliability.harness import CASES

#: cases per in-process property; 8 properties -> about 2000 generated cases a run
N = int(os.environ.get("PYOCIJAIL_HYPOTHESIS_EXAMPLES", "250"))
#: cases per CLI property (each is a real `pyocijail` process)
N_CLI = int(os.environ.get("PYOCIJAIL_HYPOTHESIS_CLI_EXAMPLES", "25"))

SETTINGS = dict(database=None, derandomize=True, deadline=None, print_blob=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.filter_too_much,
                                       HealthCheck.function_scoped_fixture])

def clean_error(err: PyocijailError, prefix: str | None = None) -> None:
    """A PyocijailError with a message (the CLI prints it as one bounded line)."""
    from pyocijail.log import one_line

    text = one_line(str(err))
    assert text.strip() and "\n" not in text, repr(err)
    if prefix is not None:
        assert text.startswith(prefix), text


def _count(test: str) -> None:
    CASES[test] = CASES.get(test, 0) + 1


# --- strategies -----------------------------------------------------------------------

def _rich(doc: dict[str, Any]) -> dict[str, Any]:
    """A default config plus the parts that reach the kernel: hooks, binds, limits."""
    hook = {"path": "/bin/true", "args": ["true", "x"], "env": ["A=b"], "timeout": 5}
    doc["hooks"] = {stage: [dict(hook)] for stage in harness.HOOK_STAGES}
    doc["annotations"] = {"org.example.key": "value"}
    doc["domainname"] = "example.org"
    doc["process"]["user"]["additionalGids"] = [1, 2]
    doc["process"]["rlimits"].append({"type": "RLIMIT_CORE", "soft": 0, "hard": 0})
    doc["mounts"].append({"destination": "/data", "type": "bind", "source": "/tmp",
                          "options": ["rbind", "ro"]})
    if "linux" in doc:
        doc["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1"}
        doc["linux"]["devices"] = [{"path": "/dev/fuse", "type": "c", "major": 10,
                                    "minor": 229, "fileMode": 438, "uid": 0, "gid": 0}]
        doc["linux"]["resources"]["memory"] = {"limit": 1 << 28}
        doc["linux"]["resources"]["pids"] = {"limit": 100}
    else:
        doc["mounts"][-1]["type"] = "nullfs"
        doc["mounts"].append({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
                              "options": ["tmpcopyup", "size=1m"]})
        doc["annotations"]["org.freebsd.jail.allow.mlock"] = "true"
    return doc


from pyocijail.lifecycle.defaults import freebsd_config  # noqa: E402

LINUX_CONFIG = _rich(bundles.config(["sh", "-c", "true"]))
FREEBSD_CONFIG = _rich(freebsd_config(["sh", "-c", "true"], terminal=False))
BASE_CONFIG = LINUX_CONFIG
BASE_PROCESS = copy.deepcopy(LINUX_CONFIG["process"])


def _nested(depth: int) -> Any:
    value: Any = "x"
    for i in range(depth):
        value = [value] if i % 2 else {"k": value}
    return value


SPECIAL_NUMBERS = st.sampled_from([0, -1, 1, 2**31 - 1, 2**31, 2**32, 2**63 - 1, 2**63, 2**64,
                                   -(2**63) - 1, 10**100, -(10**100), 0.5, 1e308, -0.0])
HOSTILE_TEXT = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.sampled_from(["\0", "/", ".", "a", "\n", "\ud800", "é", " "]),
            max_size=20),
    st.sampled_from(["", "\0", "a\0b", "/", "..", "../../..", "/proc/self/root", "x" * 70000,
                     "\ud800", "\udfff", "\x7f", "-", "--help", "%s%n"]),
)
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), SPECIAL_NUMBERS,
                    st.floats(allow_nan=True, allow_infinity=True), HOSTILE_TEXT)
HOSTILE = st.one_of(
    SCALARS,
    st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                  st.dictionaries(HOSTILE_TEXT, inner,
                                                                  max_size=4)),
                 max_leaves=12),
    st.sampled_from([60, 130, 400]).map(_nested),
    st.sampled_from(["zeros", "dict", "list"]).map(
        lambda k: {"zeros": [0] * 5000, "dict": {}, "list": []}[k]),
)


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


POISON = st.sampled_from(["\0", "/..", "/../../..", "\ud800", "\n", "x" * 5000, "/" * 5000,
                          "\udcff", "%n", "$(id)", "é", "\x7f", ","])


def _get(doc: Any, path: tuple) -> Any:
    for step in path:
        doc = doc[step]
    return doc


@st.composite
def mutated(draw, base: dict[str, Any]) -> Any:
    """`base` with 1-3 edits anywhere: replace, delete, or add a key or item."""
    doc = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(doc)))
        if not path:
            if draw(st.integers(0, 9)) == 0:
                doc = draw(HOSTILE)  # the whole document
            continue
        parent = doc
        for step in path[:-1]:
            parent = parent[step]
        last = path[-1]
        action = draw(st.sampled_from(["replace", "replace", "delete", "add", "poison",
                                       "poison"]))
        if action == "poison":  # keep the type, spoil the text
            strings = [p for p in _paths(doc) if p and isinstance(_get(doc, p), str)]
            if not strings:
                continue
            path = draw(st.sampled_from(strings))
            parent, last = _get(doc, path[:-1]), path[-1]
            text = parent[last]
            at = draw(st.integers(0, len(text)))
            parent[last] = text[:at] + draw(POISON) + text[at:]
        elif action == "replace":
            parent[last] = draw(HOSTILE)
        elif action == "delete":
            del parent[last]
        elif isinstance(parent, dict):
            parent[draw(HOSTILE_TEXT)] = draw(HOSTILE)
        else:
            parent.append(draw(HOSTILE))
        if not isinstance(doc, (dict, list)):
            break
    return doc


def _dumps(doc: Any) -> bytes:
    # ensure_ascii: lone surrogates become \\ud800 escapes, as a generator would write them
    return json.dumps(doc).encode()


@st.composite
def raw_document(draw, base: dict[str, Any]) -> bytes:
    """Bytes: a mutated document, possibly broken below the JSON level."""
    raw = _dumps(draw(mutated(base)))
    how = draw(st.sampled_from(["as is", "as is", "truncate", "insert", "non-utf8",
                                "duplicate", "nul-escape", "surrogate", "bom", "trailing"]))
    at = draw(st.integers(0, max(0, len(raw) - 1)))
    if how == "truncate":
        raw = raw[:at]
    elif how == "insert":
        raw = raw[:at] + draw(st.binary(min_size=1, max_size=8)) + raw[at:]
    elif how == "non-utf8":
        raw = raw[:at] + draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x80"])) \
            + raw[at:]
    elif how == "duplicate" and raw.startswith(b"{") and len(raw) > 2:
        raw = b'{"ociVersion": "1.0.0", ' + raw[1:]
    elif how == "nul-escape":
        raw = raw.replace(b'"sh"', b'"s\\u0000h"').replace(b'"/"', b'"/\\u0000"')
    elif how == "surrogate":
        raw = raw.replace(b'"true"', b'"\\udc80true"')
    elif how == "bom":
        raw = b"\xef\xbb\xbf" + raw
    elif how == "trailing":
        raw = raw + draw(st.sampled_from([b",", b"}", b" x", b"\x00", b"[]"]))
    return raw


# --- in-process properties ------------------------------------------------------------

@pytest.fixture(scope="module")
def bundle_dir(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("hostile")
    (path / "rootfs").mkdir()
    (path / "rootfs/bin").mkdir()
    (path / "state").mkdir()
    return path


class _Log:
    debugging = False

    def debug(self, msg: str) -> None: ...

    def warn(self, msg: str) -> None: ...

    def error(self, msg: str) -> None: ...


def _plan_everywhere(spec: Any, bundle: Path) -> None:
    """Both backends' plan: pure, and the last place hostile values can surface."""
    from pyocijail.backends.freebsd.backend import FreeBSDBackend
    from pyocijail.backends.linux.backend import LinuxBackend

    for backend in (LinuxBackend(None, _Log()), FreeBSDBackend(None, _Log())):
        if spec.process is None or spec.root is None:
            continue
        try:
            backend.plan("c1", spec, str(bundle), str(bundle / "state" / "c1"))
        except PyocijailError as err:
            clean_error(err)


@settings(max_examples=N, **SETTINGS)
@given(raw=raw_document(BASE_CONFIG))
def test_config_bytes(raw: bytes, bundle_dir: Path) -> None:
    """Any bytes as config.json: a model or one ConfigError naming config.json."""
    _count("test_config_bytes")
    (bundle_dir / "config.json").write_bytes(raw)
    from pyocijail.spec.load import load_config

    try:
        spec, _ = load_config(str(bundle_dir))
    except ConfigError as err:
        clean_error(err, "config.json")
        return
    _plan_everywhere(spec, bundle_dir)


@settings(max_examples=N, **SETTINGS)
@given(doc=HOSTILE)
def test_config_random_documents(doc: Any, bundle_dir: Path) -> None:
    """Random JSON values (not mutations of a config) through parse and validation."""
    _count("test_config_random_documents")
    from pyocijail.spec.load import parse_json, spec_from_data

    try:
        data = parse_json(_dumps(doc), "config.json")
        spec = spec_from_data(data, "config.json")
    except ConfigError as err:
        clean_error(err, "config.json")
        return
    _plan_everywhere(spec, bundle_dir)


@settings(max_examples=N, **SETTINGS)
@given(doc=st.one_of(mutated(LINUX_CONFIG), mutated(FREEBSD_CONFIG)))
def test_config_mutations_reach_the_plan(doc: Any, bundle_dir: Path) -> None:
    """Valid-looking configs with one to three hostile values, down to both plans."""
    _count("test_config_mutations_reach_the_plan")
    _through_everything(doc, bundle_dir)


def _leaves(doc: Any, kind: type) -> list[tuple]:
    return [p for p in _paths(doc) if p and type(_get(doc, p)) is kind]


LEAF_CASES = st.sampled_from([(base, path) for base in (LINUX_CONFIG, FREEBSD_CONFIG)
                              for path in _leaves(base, str)])
NUMBER_CASES = st.sampled_from([(base, path) for base in (LINUX_CONFIG, FREEBSD_CONFIG)
                                for path in _leaves(base, int)])


def _through_everything(doc: Any, bundle: Path) -> None:
    from pyocijail.spec.load import parse_json, spec_from_data

    try:
        spec = spec_from_data(parse_json(_dumps(doc), "config.json"), "config.json")
    except ConfigError as err:
        clean_error(err, "config.json")
        return
    _plan_everywhere(spec, bundle)


@settings(max_examples=N, **SETTINGS)
@given(case=LEAF_CASES, poison=POISON, where=st.floats(0, 1))
def test_config_every_string_poisoned(case, poison: str, where: float, bundle_dir) -> None:
    """Each string of a rich config, in turn, with NUL, '..', newlines, surrogates..."""
    _count("test_config_every_string_poisoned")
    base, path = case
    doc = copy.deepcopy(base)
    parent, last = _get(doc, path[:-1]), path[-1]
    at = int(len(parent[last]) * where)
    parent[last] = parent[last][:at] + poison + parent[last][at:]
    _through_everything(doc, bundle_dir)


@settings(max_examples=N, **SETTINGS)
@given(case=NUMBER_CASES, value=st.one_of(SPECIAL_NUMBERS, st.integers()))
def test_config_every_number_extreme(case, value, bundle_dir) -> None:
    """Each number of a rich config, in turn, negative, huge or fractional."""
    _count("test_config_every_number_extreme")
    base, path = case
    doc = copy.deepcopy(base)
    _get(doc, path[:-1])[path[-1]] = value
    _through_everything(doc, bundle_dir)


@settings(max_examples=N, **SETTINGS)
@given(raw=raw_document(BASE_PROCESS))
def test_exec_process_file(raw: bytes, tmp_path_factory) -> None:
    """`exec --process FILE` content: a Process or one ConfigError naming the file."""
    _count("test_exec_process_file")
    from pyocijail.spec.load import load_process

    path = tmp_path_factory.getbasetemp() / "process.json"
    path.write_bytes(raw)
    try:
        load_process(str(path))
    except ConfigError as err:
        clean_error(err, str(path))


@settings(max_examples=N, **SETTINGS)
@given(cid=st.one_of(HOSTILE_TEXT, st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_+\-.]{0,250}",
                                                 fullmatch=True)))
def test_container_ids(cid: str) -> None:
    """check_id accepts only what is safe as a directory name (a jail name maps each
    '.' to '_'): no '/', no NUL, not "." or "..", nothing starting with '.' or '-'."""
    _count("test_container_ids")
    from pyocijail.state.ids import check_id

    try:
        check_id(cid)
    except InvalidId as err:
        clean_error(err)
        return
    assert "/" not in cid and "\0" not in cid and cid not in ("", ".", "..")
    assert not cid.startswith((".", "-"))
    assert len(cid.encode()) <= 255


COMMANDS = ["state", "start", "kill", "delete", "pause", "resume", "ps", "exec", "update",
            "events", "list", "features", "checkpoint", "plan", "nosuch", "--root", "--log",
            "--log-format", "--log-level", "--version", "-h"]
WORDS = st.one_of(st.sampled_from([*COMMANDS, "--all", "--force", "-f", "9", "KILL", "SIGFOO",
                                    "--format", "json", "--process", "-", "--pid-file",
                                    "--bundle", "--preserve-fds", "-1", "--cwd", "--user",
                                    "a:b", "--env", "=", "c1"]),
                  HOSTILE_TEXT)


@settings(max_examples=N, **SETTINGS)
@given(argv=st.lists(WORDS, max_size=6))
@example(argv=["--log", "", "state", "c1"])  # found by this test: two lines on stderr
@example(argv=["--log", "/", "state", "c1"])
def test_argv(argv: list[str], tmp_path_factory) -> None:
    """Any argv (minus the commands that build containers): exit 0, 1 or 2, no exception."""
    _count("test_argv")
    from pyocijail.cli import main

    if {"create", "run", "spec"} & set(argv):
        return
    base = tmp_path_factory.getbasetemp()
    root = base / "argv-root"
    err = io.StringIO()
    out = io.StringIO()
    full = ["--root", str(root), *argv]
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out), \
            contextlib.chdir(base):
        try:
            code = main(full)
        except SystemExit as exit_:  # argparse's --help
            code = exit_.code
            assert code == 0, (full, err.getvalue())
    assert code in (0, 1, 2), (full, code)
    if code:
        lines = err.getvalue().strip().splitlines()
        assert lines and "Traceback" not in err.getvalue(), (full, err.getvalue())
        if code == 1:
            assert len(lines) == 1, (full, err.getvalue())
    assert not root.exists() or os.listdir(root) == [], (full, os.listdir(root))


# --- through the real CLI -------------------------------------------------------------

@pytest.fixture(scope="module")
def cli_host(tmp_path_factory):
    host = harness.LinuxHost(tmp_path_factory.mktemp("hostile-cli"))
    yield host
    leaks = host.leaks()
    host.force_clean()
    from tests.reliability.harness import LEAKS

    LEAKS.append(("hostile input through the CLI", leaks))
    assert not leaks


def _cli_case(host: harness.Host, res) -> None:
    if res.code == 0:  # a mutation that is still a valid config: clean it up
        host.ok("delete", "--force", host.cid)
    else:
        assert harness.one_clean_line(res), res
    assert host.state_dirs() == [], host.state_dirs()


@settings(max_examples=N_CLI, **SETTINGS)
@given(raw=raw_document(BASE_CONFIG))
def test_cli_create(raw: bytes, cli_host: harness.Host) -> None:
    _count("test_cli_create")
    (cli_host.bundle / "config.json").write_bytes(raw)
    _cli_case(cli_host, cli_host.create(cli_host.cid))


@settings(max_examples=N_CLI, **SETTINGS)
@given(raw=raw_document(BASE_PROCESS))
def test_cli_exec_process(raw: bytes, cli_host: harness.Host) -> None:
    _count("test_cli_exec_process")
    path = cli_host.work / "process.json"
    path.write_bytes(raw)
    res = cli_host.cli("exec", "--process", str(path), cli_host.cid)
    assert harness.one_clean_line(res), res
    assert cli_host.state_dirs() == []


@settings(max_examples=N_CLI, **SETTINGS)
@given(argv=st.lists(WORDS.filter(lambda w: "\0" not in w and "\ud800" not in w
                                  and "\udfff" not in w and "\n" not in w), max_size=5),
       cid=HOSTILE_TEXT.filter(lambda w: "\0" not in w and not ("\ud800" <= w[:1] <= "\udfff")
                               and "\ud800" not in w and "\udfff" not in w))
def test_cli_argv_and_ids(argv: list[str], cid: str, cli_host: harness.Host) -> None:
    """Hostile ids and words through every id-taking command and create."""
    _count("test_cli_argv_and_ids")
    if {"create", "run", "spec"} & set(argv):
        return
    for args in (["create", "--bundle", str(cli_host.bundle), cid], ["delete", cid],
                 ["state", cid], [*argv, cid]):
        res = cli_host.cli(*args)
        if res.code == 0 and args[0] == "create":
            cli_host.ok("delete", "--force", cid)
        assert res.code in (0, 1, 2) and "Traceback" not in res.err, (args, res)
    assert cli_host.state_dirs() == []


def test_at_least_1000_generated_cases_ran():
    """The issue's bar for a CI run (when the whole module runs)."""
    in_process = {k: v for k, v in CASES.items() if not k.startswith("test_cli_")}
    if len(in_process) < 8:
        pytest.skip("only part of the module ran")
    assert sum(CASES.values()) >= 1000, CASES
