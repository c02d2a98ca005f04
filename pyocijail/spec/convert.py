"""Between config.json documents and `spec.model`.

Keys are spelled as the schemas spell them (`additionalGids`, `blockIO`,
`kernelTCP`): `_keys_gen.JSON_KEYS`, generated from the schemas and the model's
field names by `tools/gen_keys.py`, so no key is written down twice. Unknown
keys are ignored, as the runtime-spec requires.

Each model class gets a conversion plan, made once from its fields and
their annotation text (`str`, `int | None`, `tuple[Hook, ...]`,
`dict[str, str]`, another model class, `object` for free-form values).
The document has passed the schema check, so every value should already
have the JSON type its field declares; conversion still checks each one,
exactly (a bool is not an int), because the schemas and the model are two
texts that could drift, and names the first value that does not fit by its
path in the document. `unstructure` is the inverse: camelCase keys, fields
that equal their default left out.
"""

from __future__ import annotations

from pyocijail import values
from pyocijail.errors import ConfigError
from pyocijail.spec import model
from pyocijail.spec._keys_gen import JSON_KEYS

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeVar

    T = TypeVar("T")

_JSON_TYPES = {str: "a string", int: "an integer", bool: "a boolean", list: "an array",
               dict: "an object", float: "a number", type(None): "null"}


def key_of(cls: type, name: str) -> str:
    """The JSON key of field `name` of model class `cls` (one spelling per name)."""
    return JSON_KEYS[name]


def structure(data: Any, cls: type[T]) -> T:
    """A model value from already-validated JSON data; ConfigError naming what does not fit."""
    try:
        return _structure_class(cls, data)  # type: ignore[no-any-return]
    except _Mismatch as err:
        raise ConfigError(f"config does not match the runtime-spec: {err.describe()}") from None


def unstructure(value: Any) -> Any:
    """JSON data (camelCase keys, defaults omitted) from a model value."""
    return _unstructure_class(value)


def spec_from_json(data: Any) -> model.Spec:
    return structure(data, model.Spec)


def process_from_json(data: Any) -> model.Process:
    return structure(data, model.Process)


# --- conversion plans -------------------------------------------------------------------

class _Mismatch(Exception):
    """A value that does not fit its field; the path grows as it propagates out."""

    def __init__(self, expected: str, value: Any, missing: bool = False) -> None:
        super().__init__(expected)
        self.expected, self.value, self.missing = expected, value, missing
        self.path: list[str | int] = []

    def describe(self) -> str:
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in reversed(self.path))
        where = where.lstrip(".") or "(top level)"
        if self.missing:
            return f"{where}: is required"
        got = _JSON_TYPES.get(type(self.value), type(self.value).__name__)
        return f"{where}: expected {self.expected}, got {got}"


#: class -> ((field name, JSON key, JSON -> model, model -> JSON, field), ...)
_plans: dict[type, tuple[tuple[str, str, Any, Any, values.Field], ...]] = {}


def _plan(cls: type) -> tuple[tuple[str, str, Any, Any, values.Field], ...]:
    plan = _plans.get(cls)
    if plan is None:
        if not values.is_value_class(cls) or cls.__module__ != model.__name__:
            raise TypeError(f"{cls!r} is not a class of pyocijail.spec.model")
        rows = []
        for f in values.fields(cls):
            to_model, to_json = _field_fns(f.type.strip())
            rows.append((f.name, key_of(cls, f.name), to_model, to_json, f))
        plan = _plans[cls] = tuple(rows)
    return plan


def _identity(v: Any) -> Any:
    return v


def _exactly(kind: type, expected: str) -> Callable[[Any], Any]:
    def to_model(v: Any) -> Any:
        if type(v) is not kind:
            raise _Mismatch(expected, v)
        return v

    return to_model


_SCALARS = {"str": (str, "a string"), "int": (int, "an integer"), "bool": (bool, "a boolean")}


def _field_fns(text: str) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    """(JSON -> model, model -> JSON) for one annotation of `spec.model`, as text."""
    if text.endswith(" | None"):
        inner_model, inner_json = _field_fns(text[: -len(" | None")].strip())
        return ((lambda v: None if v is None else inner_model(v)),
                (lambda v: None if v is None else inner_json(v)))
    if text in _SCALARS:
        return _exactly(*_SCALARS[text]), _identity
    if text == "object":  # free-form values pass through both ways
        return _identity, _identity
    if text.startswith("tuple[") and text.endswith(", ...]"):
        item_model, item_json = _field_fns(text[len("tuple["): -len(", ...]")].strip())

        def seq_model(v: Any) -> Any:
            if type(v) is not list:
                raise _Mismatch("an array", v)
            out = []
            for i, e in enumerate(v):
                try:
                    out.append(item_model(e))
                except _Mismatch as err:
                    err.path.append(i)
                    raise
            return tuple(out)

        return seq_model, (lambda v: [item_json(e) for e in v])
    if text.startswith("dict[str, ") and text.endswith("]"):
        value_model, value_json = _field_fns(text[len("dict[str, "): -1].strip())

        def map_model(v: Any) -> Any:
            if type(v) is not dict:
                raise _Mismatch("an object", v)
            out = {}
            for k, e in v.items():
                try:
                    out[k] = value_model(e)
                except _Mismatch as err:
                    err.path.append(k)
                    raise
            return out

        return map_model, (lambda v: {k: value_json(e) for k, e in v.items()})
    cls = getattr(model, text, None)
    if values.is_value_class(cls):
        return (lambda v: _structure_class(cls, v)), _unstructure_class
    raise TypeError(f"spec.model: no conversion for the annotation {text!r}")


def _structure_class(cls: type, data: Any) -> Any:
    if type(data) is not dict:
        raise _Mismatch("an object", data)
    kwargs = {}
    for name, key, to_model, _, f in _plan(cls):
        if key in data:
            try:
                kwargs[name] = to_model(data[key])
            except _Mismatch as err:
                err.path.append(key)
                raise
        elif f.default is values.REQUIRED:
            missing = _Mismatch("a value", None, missing=True)
            missing.path.append(key)
            raise missing
    return cls(**kwargs)


def _unstructure_class(value: Any) -> Any:
    out = {}
    for name, key, _, to_json, f in _plan(type(value)):
        v = getattr(value, name)
        if f.default is values.REQUIRED or v != f.value():
            out[key] = to_json(v)
    return out
