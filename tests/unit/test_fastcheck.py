"""The compiled schema check agrees with jsonschema, and jsonschema stays the reference.

`pyocijail/spec/_fastcheck_gen.py` is generated from `schemas/`; the runtime
accepts a document on its word alone, so it must accept exactly what
jsonschema's Draft4Validator accepts. Checked here on every fixture and on
thousands of documents made by mutating the good fixtures with values drawn
from the schemas themselves (bounds +-1, enum members, pattern look-alikes,
property names), so both sides of each rule are exercised.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyocijail.errors import ConfigError
from pyocijail.spec import _fastcheck_gen as gen
from pyocijail.spec import load, schema
from tools import gen_fastcheck

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "configs"
SCHEMAS = Path(__file__).resolve().parents[2] / "pyocijail" / "spec" / "schemas"
REFS = {"config": "config-schema.json", "process": "config-schema.json#/definitions/Process",
        "state": "state-schema.json", "features": "features-schema.json"}


def _entry(name: str) -> str:
    for prefix in ("process", "state", "features"):
        if name.startswith(prefix + "-"):
            return prefix
    return "config"


def _docs(kind: str) -> list[tuple[str, object]]:
    found = []
    for path in sorted((FIXTURES / kind).glob("*.json")):
        try:
            found.append((path.name, json.loads(path.read_bytes())))
        except ValueError:
            pass  # not JSON at all: never reaches the schema check
    return found


def _jsonschema_accepts(entry: str, doc: object) -> bool:
    return schema._validator(REFS[entry]).is_valid(doc)


def _agree(entry: str, doc: object) -> bool:
    fast = gen.ENTRY_POINTS[entry](doc)
    slow = _jsonschema_accepts(entry, doc)
    assert fast is slow, (entry, json.dumps(doc)[:2000], fast, slow)
    return slow


# --- the generated module ---------------------------------------------------------

def test_generated_module_is_up_to_date():
    """`python tools/gen_fastcheck.py` has been run after the last schema change."""
    assert gen_fastcheck.generate(str(SCHEMAS)) == Path(gen_fastcheck.GENERATED).read_text()


def test_check_mode_fails_on_a_stale_module_and_ci_runs_it(tmp_path, monkeypatch, capsys):
    """`tools/gen_fastcheck.py --check` exits 1 naming the stale file (and changes
    nothing), 0 when it is current; `.ci/run` runs it before the tests."""
    current = Path(gen_fastcheck.GENERATED).read_text()
    stale = tmp_path / "_fastcheck_gen.py"
    stale.write_text(current.replace("ENTRY_POINTS = {", "# an old rule\nENTRY_POINTS = {"))
    monkeypatch.setattr(gen_fastcheck, "GENERATED", str(stale))
    assert gen_fastcheck.main(["--check"]) == 1
    assert f"{stale} is stale: run python tools/gen_fastcheck.py" in capsys.readouterr().err
    assert "# an old rule" in stale.read_text()
    stale.write_text(current)
    assert gen_fastcheck.main(["--check"]) == 0
    ci = (Path(__file__).resolve().parents[2] / ".ci" / "run").read_text()
    assert "python tools/gen_fastcheck.py --check" in ci


def test_accepting_a_config_reads_no_schema_file():
    """The compiled check alone accepts: no schema file is opened (no run-time digest of
    them, ~1.4 ms per create; staleness is CI's to catch) and no hash is imported."""
    good = FIXTURES / "good" / "linux-all-fields.json"
    code = (
        "import sys\n"
        "opened = []\n"
        "sys.addaudithook(lambda ev, args: opened.append(str(args[0])) if ev == 'open' "
        "and isinstance(args[0], str) else None)\n"
        "from pyocijail.spec import load\n"
        f"load.spec_from_data(load.parse_json(open({str(good)!r}, 'rb').read(), 'c'))\n"
        f"names = {sorted(p.name for p in SCHEMAS.glob('*.json'))!r}\n"
        "print([p for p in opened if p.rpartition('/')[2] in names])\n"
        "print(sorted(m for m in sys.modules\n"
        "             if m in ('pyocijail.digest', '_sha256', 'hashlib')))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.splitlines() == ["[]", "[]"], out


def test_build_refuses_keywords_it_does_not_translate(tmp_path):
    """An untranslated keyword (uniqueItems here) stops the build instead of being ignored."""
    for f in SCHEMAS.glob("*.json"):
        (tmp_path / f.name).write_bytes(f.read_bytes())
    doc = json.loads((tmp_path / "defs.json").read_text())
    doc["definitions"]["ArrayOfStrings"]["uniqueItems"] = True
    (tmp_path / "defs.json").write_text(json.dumps(doc))
    with pytest.raises(gen_fastcheck.BuildError, match="uniqueItems"):
        gen_fastcheck.generate(str(tmp_path))


# --- agreement ------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["good", "bad"])
def test_fixtures_agree(kind):
    """Every fixture that parses: same accept/reject from both checks."""
    docs = _docs(kind)
    assert docs
    verdicts = [_agree(_entry(name), doc) for name, doc in docs]
    if kind == "good":
        assert all(verdicts)


def _schema_values() -> tuple[list[str], list[object]]:
    """Property names, and values on both sides of every rule, from the schema files."""
    names: set[str] = set()
    values: list[object] = [None, True, False, 0, 1, -1, 1.0, 1.5, "", "x", [], {}, [""], [1],
                            2**63, 2**64, -2**63 - 1, "RLIMIT_NOFILE", "RLIMIT_NOFILE\n",
                            "rlimit_x", "2MB", "2M", "0MB", "1,3-5", "a", "CAP_SYS_ADMIN",
                            "\n", {"a": "b"}, {"": 1}, {"\n": 1}, {"a": 1}]

    def walk(node: object, in_props: bool = False) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if in_props:
                    names.add(key)
                    walk(value)
                elif key in ("properties", "patternProperties", "definitions"):
                    walk(value, True)
                elif key == "enum":
                    values.extend(value)
                    values.extend(v + "x" for v in value if isinstance(v, str))
                elif key in ("minimum", "maximum"):
                    values.extend((value - 1, value, value + 1, float(value)))
                elif key == "required":
                    names.update(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    for path in sorted(SCHEMAS.glob("*.json")):
        walk(json.loads(path.read_text()))
    return sorted(names), values


NAMES, VALUES = _schema_values()
GOOD = _docs("good")
# Copies: `mutated` edits documents in place, and a list or dict of VALUES edited there
# would change what later examples draw (hypothesis: FlakyStrategyDefinition).
_VALUE = st.sampled_from(VALUES).map(copy.deepcopy)
LEAF = st.one_of(_VALUE, _VALUE, st.integers(-3, 3),
                 st.integers(-2**65, 2**65), st.text(max_size=6))
JSON = st.recursive(LEAF, lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.sampled_from(NAMES) | st.text(max_size=4), inner,
                                      max_size=3), max_leaves=6)


def _containers(doc: object, path: tuple = ()) -> list[tuple]:
    found = []
    if isinstance(doc, (dict, list)):
        found.append(path)
        items = doc.items() if isinstance(doc, dict) else enumerate(doc)
        for key, value in items:
            found += _containers(value, (*path, key))
    return found


def _get(doc: object, path: tuple) -> object:
    for key in path:
        doc = doc[key]  # type: ignore[index]
    return doc


def _near(draw: st.DrawFn, value: object) -> object:
    """A value just across some rule from `value`: the edge cases of its own type first."""
    if isinstance(value, bool):
        options: list[object] = [not value, int(value), str(value).lower(), None]
    elif isinstance(value, int):
        options = [value - 1, value + 1, -1, 0, -value, float(value), str(value), True,
                   2**32, 2**64, 2**63]
    elif isinstance(value, str):
        options = [value + "x", value + "\n", "", value.lower(), value[:-1], [value], 1]
    else:
        options = [None, [], {}]
    return draw(st.sampled_from(options) | LEAF)


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, object]:
    name, base = draw(st.sampled_from(GOOD))
    doc = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 3))):
        # Every schema location equally likely (list indices folded), so the 300
        # seccomp rules of a podman config do not crowd out process.user.
        groups: dict[tuple, list[tuple]] = {}
        for path in _containers(doc):
            groups.setdefault(tuple("#" if isinstance(k, int) else k for k in path),
                              []).append(path)
        group = groups[draw(st.sampled_from(sorted(groups, key=repr)))]
        node = _get(doc, draw(st.sampled_from(group)))
        op = draw(st.sampled_from(["near", "near", "near", "set", "set", "delete", "add",
                                   "wrap"]))
        if isinstance(node, dict):
            keys = sorted(node)
            if op == "delete" and keys:
                del node[draw(st.sampled_from(keys))]
            elif op == "add" or not keys:
                node[draw(st.sampled_from(NAMES))] = draw(JSON)
            elif op == "wrap":
                key = draw(st.sampled_from(keys))
                node[key] = [node[key]]
            elif op == "near":
                key = draw(st.sampled_from(keys))
                node[key] = _near(draw, node[key])
            else:
                node[draw(st.sampled_from(keys))] = draw(JSON)
        elif node:
            i = draw(st.integers(0, len(node) - 1))
            if op == "delete":
                del node[i]
            elif op == "add":
                node.append(draw(JSON))
            elif op == "near":
                node[i] = _near(draw, node[i])
            else:
                node[i] = draw(JSON)
        else:
            node.append(draw(JSON))
    return _entry(name), doc


def test_mutated_documents_agree():
    """At least 1500 mutated documents; both verdicts occur often."""
    seen = {True: 0, False: 0}

    @settings(max_examples=1500, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(mutated())
    def check(case: tuple[str, object]) -> None:
        entry, doc = case
        seen[_agree(entry, doc)] += 1

    values_before = copy.deepcopy(VALUES)
    check()
    assert seen[True] >= 150 and seen[False] >= 150, seen
    assert values_before == VALUES, "the strategy edited its own value pool"


def _near_values(value: object) -> list[object]:
    if isinstance(value, bool):
        return [int(value), None]
    if isinstance(value, int):  # the bounds in the schemas are 0/1, 2**n - 1 and -2**(n-1)
        return [value - 1, value + 1, 0, float(value), True, 256, -2**63 - 1, 2**32, 2**64]
    if isinstance(value, str):
        return [value + "x", value + "\n", "", 1]
    return [None, "x", [1], {"": 1}]


def test_every_location_edge_agrees():
    """Deterministic sweep: at each distinct location of each good fixture, the values
    just across its rules, and the removal of each of its keys."""
    seen = {True: 0, False: 0}
    for name, full in GOOD:
        base = _trim(full)  # same locations, a tenth of the size: jsonschema is the cost
        entry, done = _entry(name), set()
        for path in _containers(base):
            shape = tuple("#" if isinstance(k, int) else k for k in path)
            if shape in done:
                continue
            done.add(shape)
            node = _get(base, path)
            keys = sorted(node) if isinstance(node, dict) else range(min(len(node), 1))
            for key in keys:
                replacements = _near_values(node[key])
                if isinstance(node, dict):
                    replacements.append(_DELETE)
                for value in replacements:
                    doc = copy.deepcopy(base)
                    target = _get(doc, path)
                    if value is _DELETE:
                        del target[key]
                    else:
                        target[key] = value
                    seen[_agree(entry, doc)] += 1
    assert seen[True] >= 300 and seen[False] >= 1000, seen


_DELETE = object()


def _trim(doc: object) -> object:
    """The document with every array cut to its first item."""
    if isinstance(doc, dict):
        return {k: _trim(v) for k, v in doc.items()}
    if isinstance(doc, list):
        return [_trim(v) for v in doc[:1]]
    return doc


@settings(max_examples=500, derandomize=True, database=None, deadline=None,
          suppress_health_check=list(HealthCheck))
@given(st.sampled_from(sorted(REFS)), JSON)
def test_arbitrary_documents_agree(entry, doc):
    """Arbitrary JSON values (mostly rejected) at the top level of each entry point."""
    _agree(entry, doc)


# --- the runtime around it -------------------------------------------------------------

MINIMAL = {"ociVersion": "1.3.0", "root": {"path": "rootfs"},
           "process": {"cwd": "/", "args": ["sh"]}}


def test_rejection_is_described_by_jsonschema():
    """The message is jsonschema's, pointer and all, as before the compiled check."""
    with pytest.raises(ConfigError, match=r"^config\.json: /process/args: \[\] is too short"):
        schema.validate_config({**MINIMAL, "process": {"cwd": "/", "args": []}})


def test_a_false_rejection_is_accepted_and_logged(monkeypatch):
    """If the compiled check rejects what jsonschema accepts, jsonschema wins."""
    monkeypatch.setitem(gen.ENTRY_POINTS, "config", lambda doc: False)
    lines: list[str] = []
    schema.validate_config(MINIMAL, debug=lines.append)
    assert len(lines) == 1 and "jsonschema accepts" in lines[0]


def test_valid_config_does_not_import_jsonschema():
    """Loading a valid config and process leaves jsonschema and referencing unimported."""
    good = FIXTURES / "good"
    code = (
        "import sys\n"
        "from pyocijail.spec import load\n"
        f"load.spec_from_data(load.parse_json(open({str(good / 'linux-all-fields.json')!r},"
        " 'rb').read(), 'c'))\n"
        f"load.load_process({str(good / 'process-exec.json')!r})\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('jsonschema', 'referencing')))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


def test_good_fixtures_load_through_the_fast_path():
    """Sanity: the loader with the compiled check still returns the model."""
    spec = load.spec_from_data(json.loads((FIXTURES / "good" / "linux-all-fields.json")
                                          .read_bytes()))
    assert spec.linux is not None
