"""The converter's fast path builds exactly what cattrs builds (cattrs is the reference)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings

from pyocijail.errors import ConfigError
from pyocijail.spec import convert, model
from tests.unit.test_fastcheck import FIXTURES, GOOD, _jsonschema_accepts, mutated

CLASSES = {"config": model.Spec, "process": model.Process}


def _both(entry: str, doc: object) -> object:
    cls = CLASSES[entry]
    fast = convert._structure_class(cls, doc)
    slow = convert.structure_cattrs(doc, cls)
    assert fast == slow
    assert type(fast) is type(slow)
    assert convert._unstructure_class(fast) == convert.unstructure_cattrs(slow)
    assert convert.unstructure(fast) == convert.unstructure_cattrs(slow)
    return fast


@pytest.mark.parametrize("name", [n for n, _ in GOOD
                                  if not n.startswith(("state-", "features-"))])
def test_good_fixtures_convert_the_same(name):
    doc = dict(GOOD)[name]
    _both("process" if name.startswith("process-") else "config", doc)


def test_generated_valid_documents_convert_the_same():
    """Mutated fixtures that jsonschema accepts: fast path == cattrs (~150 of 1500 are valid)."""
    done = [0]

    @settings(max_examples=1500, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(mutated())
    def check(case: tuple[str, object]) -> None:
        entry, doc = case
        if entry not in CLASSES or not _jsonschema_accepts(entry, doc):
            return
        if entry == "config" and isinstance(doc.get("process"), dict) \
                and "args" not in doc["process"]:
            return  # load.py refuses it before conversion
        try:
            expected = convert.structure_cattrs(doc, CLASSES[entry])
        except ConfigError:
            with pytest.raises(ConfigError):
                convert.structure(doc, CLASSES[entry])
            return
        assert convert.structure(doc, CLASSES[entry]) == expected
        assert convert.unstructure(expected) == convert.unstructure_cattrs(expected)
        done[0] += 1

    check()
    assert done[0] >= 120, done


@pytest.mark.parametrize("doc", [
    {"cwd": "/", "user": {"uid": True}},           # bool where an int is declared
    {"cwd": "/", "args": "sh"},                    # str where a tuple is declared
    {"cwd": "/", "rlimits": [{"type": "RLIMIT_NOFILE", "soft": 1}]},  # required field missing
    {"cwd": 3},
    {"args": ["sh"]},
])
def test_non_canonical_input_goes_to_cattrs(doc):
    """Whatever is not the canonical case gives cattrs' result or cattrs' error."""
    try:
        expected = convert.structure_cattrs(doc, model.Process)
    except ConfigError as err:
        with pytest.raises(ConfigError) as info:
            convert.structure(doc, model.Process)
        assert str(info.value) == str(err)
    else:
        assert convert.structure(doc, model.Process) == expected


def test_evolve_still_works_on_converted_values():
    """attrs.evolve users (exec's process_args, seccomp) get real model classes."""
    import attrs

    proc = convert.process_from_json({"cwd": "/", "args": ["sh"], "user": {"uid": 5}})
    assert attrs.evolve(proc, cwd="/tmp").user == model.User(uid=5)


def test_valid_config_does_not_import_cattrs():
    """Loading and unstructuring a valid config leaves cattrs unimported."""
    path = FIXTURES / "good" / "podman-4.3-linux.json"
    code = (
        "import sys\n"
        "from pyocijail.spec import load, convert\n"
        f"spec = load.spec_from_data(load.parse_json(open({str(path)!r}, 'rb').read(), 'c'))\n"
        "convert.unstructure(spec.process); convert.unstructure(spec.linux.seccomp)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('cattrs', 'jsonschema', 'referencing')))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


def test_unstructure_round_trips_through_json():
    doc = json.loads((FIXTURES / "good" / "linux-all-fields.json").read_bytes())
    spec = convert.spec_from_json(doc)
    again = convert.spec_from_json(json.loads(json.dumps(convert.unstructure(spec))))
    assert again == spec
