"""spec.convert against cattrs, the reference, on a mirror of the model made of attrs classes.

The runtime's model classes are `pyocijail.values` classes, which cattrs does
not know; the test writes the same classes as attrs source (from the same
field lists and annotation texts), lets cattrs convert each document into
them, and compares the results field by field (`repr` has the same form for
both) and after unstructuring.
"""

from __future__ import annotations

import json
import subprocess
import sys
import types

import pytest
from hypothesis import HealthCheck, given, settings

from pyocijail import values
from pyocijail.errors import ConfigError
from pyocijail.spec import convert, model
from pyocijail.spec._keys_gen import JSON_KEYS
from tests.unit.test_fastcheck import FIXTURES, GOOD, SCHEMAS, _jsonschema_accepts, mutated
from tools import gen_fastcheck, gen_keys

CLASSES = {"config": model.Spec, "process": model.Process}
MODEL_CLASSES = [c for c in vars(model).values()
                 if values.is_value_class(c) and c.__module__ == model.__name__]


def _default_source(f: values.Field) -> str:
    if f.default is values.REQUIRED:
        return ""
    if isinstance(f.default, values.Factory):
        return f" = attrs.field(factory={f.default.make.__name__})"
    return f" = {f.default!r}"


@pytest.fixture(scope="module")
def reference():
    """(cattrs converter, {model class: its attrs mirror})."""
    import cattrs
    from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

    lines = ["from __future__ import annotations", "import attrs"]
    # Classes with defaults that are instances of others (`user: User = User()`) come later.
    for cls in sorted(MODEL_CLASSES, key=lambda c: any(
            values.is_value_class(type(f.default)) for f in values.fields(c))):
        lines += ["@attrs.frozen(kw_only=True)", f"class {cls.__name__}:"]
        lines += [f"    {f.name}: {f.type}{_default_source(f)}" for f in values.fields(cls)]
        lines.append("    pass")
    mirror = types.ModuleType("pyocijail_model_mirror")
    sys.modules[mirror.__name__] = mirror
    exec("\n".join(lines), mirror.__dict__)  # source written just above
    import attrs

    conv = cattrs.Converter(forbid_extra_keys=False)
    back = {getattr(mirror, c.__name__): c for c in MODEL_CLASSES}

    def names(cls: type, **extra: object) -> dict[str, object]:
        return {a.name: override(rename=convert.key_of(back[cls], a.name), **extra)
                for a in attrs.fields(cls)}

    conv.register_structure_hook_factory(
        attrs.has, lambda cls: make_dict_structure_fn(cls, conv, **names(cls)))
    conv.register_structure_hook_func(lambda t: t is object, lambda value, _type: value)
    conv.register_unstructure_hook_factory(
        attrs.has, lambda cls: make_dict_unstructure_fn(cls, conv,
                                                        **names(cls, omit_if_default=True)))
    yield conv, {c: getattr(mirror, c.__name__) for c in MODEL_CLASSES}
    del sys.modules[mirror.__name__]


def _same_as_cattrs(reference, cls: type, doc: object) -> object:
    conv, mirror = reference
    ours = convert.structure(doc, cls)
    theirs = conv.structure(doc, mirror[cls])
    assert repr(ours) == repr(theirs)
    assert convert.unstructure(ours) == conv.unstructure(theirs)
    return ours


def pyocijail_model_source() -> str:
    with open(model.__file__) as f:
        return f.read()


def test_mirror_has_every_model_class(reference):
    decorated = pyocijail_model_source().count("@values.frozen(")
    assert len(reference[1]) == len(MODEL_CLASSES) == decorated


def test_every_key_is_spelled_as_the_schemas_spell_it():
    """The converter's keys are the schemas' own spellings, not a table of its own:
    each model field maps to the one schema property its name folds to."""
    keys = gen_keys.json_keys(str(SCHEMAS))
    assert keys == JSON_KEYS
    assert {(c, f.name): convert.key_of(c, f.name) for c in MODEL_CLASSES
            for f in values.fields(c)} == {(c, f.name): keys[f.name] for c in MODEL_CLASSES
                                           for f in values.fields(c)}
    assert (keys["block_io"], keys["kernel_tcp"], keys["host_id"]) == \
        ("blockIO", "kernelTCP", "hostID")


@pytest.mark.parametrize("edit, message", [
    (("config-linux.json", '"kernelTCP"', '"kernelTcp2"'),
     r"spec\.model\.Memory\.kernel_tcp: the schemas have no such property"),
    (("config-linux.json", '"kernelTCP"', '"kernelTCP": {"type": "integer"}, "kernelTcp"'),
     r"Memory\.kernel_tcp: the schemas have several spellings \['kernelTCP', 'kernelTcp'\]"),
])
def test_a_model_field_the_schemas_do_not_spell_once_stops_generation(tmp_path, edit, message):
    """A model field no schema has (a typo, never read) or spelled two ways: CI fails."""
    name, old, new = edit
    for f in SCHEMAS.glob("*.json"):
        text = f.read_text()
        (tmp_path / f.name).write_text(text.replace(old, new, 1) if f.name == name else text)
    with pytest.raises(gen_fastcheck.BuildError, match=message):
        gen_keys.json_keys(str(tmp_path))


@pytest.mark.parametrize("name", [n for n, _ in GOOD
                                  if not n.startswith(("state-", "features-"))])
def test_good_fixtures_convert_as_cattrs_does(reference, name):
    doc = dict(GOOD)[name]
    _same_as_cattrs(reference, model.Process if name.startswith("process-") else model.Spec, doc)


def test_generated_valid_documents_convert_as_cattrs_does(reference):
    """Mutated fixtures that jsonschema accepts (~150 of 1500 are valid)."""
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
        _same_as_cattrs(reference, CLASSES[entry], doc)
        done[0] += 1

    check()
    assert done[0] >= 120, done


@pytest.mark.parametrize(("doc", "message"), [
    ({"cwd": "/", "user": {"uid": True}}, "user.uid: expected an integer, got a boolean"),
    ({"cwd": "/", "args": "sh"}, "args: expected an array, got a string"),
    ({"cwd": "/", "args": ["sh", 3]}, "args[1]: expected a string, got an integer"),
    ({"cwd": "/", "rlimits": [{"type": "RLIMIT_NOFILE", "soft": 1}]},
     "rlimits[0].hard: is required"),
    ({"cwd": 3}, "cwd: expected a string, got an integer"),
    ({"args": ["sh"]}, "cwd: is required"),
    ({"cwd": "/", "user": {"uid": 1.0}}, "user.uid: expected an integer, got a number"),
    ({"cwd": "/", "capabilities": None}, None),
])
def test_values_that_do_not_fit_are_named_by_path(doc, message):
    """The schema should have caught these; conversion still refuses, and says where."""
    if message is None:
        assert convert.structure(doc, model.Process).capabilities is None
        return
    with pytest.raises(ConfigError) as info:
        convert.structure(doc, model.Process)
    assert str(info.value) == f"config does not match the runtime-spec: {message}"


def test_map_values_are_checked_with_their_key():
    with pytest.raises(ConfigError, match=r"annotations\.a: expected a string, got null"):
        convert.structure({"ociVersion": "1.0.0", "annotations": {"a": None}}, model.Spec)


def test_evolve_works_on_converted_values():
    proc = convert.process_from_json({"cwd": "/", "args": ["sh"], "user": {"uid": 5}})
    again = values.evolve(proc, cwd="/tmp")
    assert again.user == model.User(uid=5) and again.cwd == "/tmp" and proc.cwd == "/"


def test_valid_config_imports_neither_attrs_nor_cattrs_nor_jsonschema():
    path = FIXTURES / "good" / "podman-4.3-linux.json"
    code = (
        "import sys\n"
        "from pyocijail.spec import load, convert\n"
        f"spec = load.spec_from_data(load.parse_json(open({str(path)!r}, 'rb').read(), 'c'))\n"
        "convert.unstructure(spec.process); convert.unstructure(spec.linux.seccomp)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('attr', 'attrs', 'cattrs', 'jsonschema', 'referencing')))\n")
    out = subprocess.run([sys.executable, "-I", "-S", "-c", f"import sys; sys.path[:0] = "
                          f"{sys.path!r}\n" + code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


def test_unstructure_round_trips_through_json():
    doc = json.loads((FIXTURES / "good" / "linux-all-fields.json").read_bytes())
    spec = convert.spec_from_json(doc)
    again = convert.spec_from_json(json.loads(json.dumps(convert.unstructure(spec))))
    assert again == spec
