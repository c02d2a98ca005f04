"""Between config.json documents and `spec.model`: a fast path, and cattrs.

Keys are the spec's camelCase names (`additionalGids`, `ociVersion`); the
ones that are not plain camelCase of the field name (`blockIO`, `kernelTCP`,
`disableOOMKiller`, `throttleReadIOPSDevice`, ...) are listed in
`_SPECIAL_KEYS`. Unknown keys are ignored, as the runtime-spec requires.

cattrs (`converter()`) is the reference, and costs ~45 ms to import. The
fast path builds the same objects from the model's own field list and
annotations (`_plan`), for the canonical case only: every value already has
exactly the JSON type its field declares (what a schema-valid document has).
Anything else (a bool where an int is declared, a missing required field, a
class outside the model) raises `_Slow` internally and the whole value goes
through cattrs, so results and error messages are cattrs' by construction.
`tests/unit/test_fastconvert.py` checks both give equal results.
"""

from __future__ import annotations

import attrs

from pyocijail.errors import ConfigError
from pyocijail.spec import model

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeVar

    import cattrs

    T = TypeVar("T")

_SPECIAL_KEYS = {
    (model.Resources, "block_io"): "blockIO",
    (model.Memory, "kernel_tcp"): "kernelTCP",
    (model.Memory, "disable_oom_killer"): "disableOOMKiller",
    (model.BlockIO, "throttle_read_iops_device"): "throttleReadIOPSDevice",
    (model.BlockIO, "throttle_write_iops_device"): "throttleWriteIOPSDevice",
    (model.Linux, "sysctl"): "sysctl",
    (model.Spec, "oci_version"): "ociVersion",
    (model.IdMapping, "container_id"): "containerID",
    (model.IdMapping, "host_id"): "hostID",
}


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _key(cls: type, name: str) -> str:
    return _SPECIAL_KEYS.get((cls, name)) or camel(name)


_converter: Any = None


def converter() -> cattrs.Converter:
    """The cattrs converter (built once per process): the reference for the fast path."""
    global _converter
    if _converter is not None:
        return _converter
    import cattrs
    from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

    conv = cattrs.Converter(forbid_extra_keys=False)

    def structure_factory(cls: type) -> Any:
        names = {a.name: override(rename=_key(cls, a.name)) for a in attrs.fields(cls)}
        return make_dict_structure_fn(cls, conv, **names)

    def unstructure_factory(cls: type) -> Any:
        names = {
            a.name: override(rename=_key(cls, a.name), omit_if_default=True)
            for a in attrs.fields(cls)
        }
        return make_dict_unstructure_fn(cls, conv, **names)

    conv.register_structure_hook_factory(attrs.has, structure_factory)
    # Free-form values (`linux.personality`'s `dict[str, object]`) pass through;
    # cattrs has no hook for `object` and would fail on any such config.
    # (A predicate, not register_structure_hook(object): that would dispatch
    # every class to it.)
    conv.register_structure_hook_func(lambda t: t is object, lambda value, _type: value)
    conv.register_unstructure_hook_factory(attrs.has, unstructure_factory)
    # JSON has no tuples; the model uses them so values stay immutable.
    _converter = conv
    return conv


def structure(data: Any, cls: type[T]) -> T:
    """A model value from already-validated JSON data."""
    if cls.__module__ == model.__name__:
        try:
            return _structure_class(cls, data)  # type: ignore[no-any-return]
        except _Slow:
            pass
    return structure_cattrs(data, cls)


def structure_cattrs(data: Any, cls: type[T]) -> T:
    """`structure` by cattrs alone (the reference)."""
    import cattrs

    try:
        return converter().structure(data, cls)
    except (cattrs.BaseValidationError, ValueError, TypeError, KeyError) as err:
        raise ConfigError(f"config does not match the runtime-spec: {_describe(err)}") from err


def unstructure(value: Any) -> Any:
    """JSON data (camelCase keys, defaults omitted) from a model value."""
    if type(value).__module__ == model.__name__:
        try:
            return _unstructure_class(value)
        except _Slow:
            pass
    return converter().unstructure(value)


def unstructure_cattrs(value: Any) -> Any:
    """`unstructure` by cattrs alone (the reference)."""
    return converter().unstructure(value)


# --- the fast path ---------------------------------------------------------------------

class _Slow(Exception):
    """Not the canonical case: let cattrs do it."""


#: class -> ((field name, JSON key, structure fn, unstructure fn, default, is factory), ...)
_plans: dict[type, tuple[tuple[str, str, Any, Any, Any, bool], ...]] = {}


def _plan(cls: type) -> tuple[tuple[str, str, Any, Any, Any, bool], ...]:
    plan = _plans.get(cls)
    if plan is None:
        if not attrs.has(cls) or cls.__module__ != model.__name__:
            raise _Slow
        annotations: dict[str, Any] = {}
        for klass in reversed(cls.__mro__):
            annotations.update(getattr(klass, "__annotations__", {}))
        rows = []
        for a in attrs.fields(cls):
            text = annotations.get(a.name)
            if not isinstance(text, str) or not a.init:
                raise _Slow
            to_model, to_json = _field_fns(text.strip())
            factory = isinstance(a.default, attrs.Factory)  # type: ignore[arg-type]
            if factory and a.default.takes_self:  # type: ignore[union-attr]
                raise _Slow
            default = a.default.factory if factory else a.default  # type: ignore[union-attr]
            rows.append((a.name, _key(cls, a.name), to_model, to_json, default, factory))
        plan = _plans[cls] = tuple(rows)
    return plan


def _same(kind: type) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    def to_model(v: Any) -> Any:
        if type(v) is not kind:
            raise _Slow
        return v

    return to_model, _identity


def _identity(v: Any) -> Any:
    return v


def _field_fns(text: str) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    """(JSON -> model, model -> JSON) for one annotation of `spec.model`, as text."""
    if text.endswith(" | None"):
        inner_model, inner_json = _field_fns(text[: -len(" | None")].strip())
        return ((lambda v: None if v is None else inner_model(v)),
                (lambda v: None if v is None else inner_json(v)))
    if text in ("str", "int", "bool"):
        return _same({"str": str, "int": int, "bool": bool}[text])
    if text == "object":  # free-form values pass through both ways, as in cattrs
        return _identity, _identity
    if text.startswith("tuple[") and text.endswith(", ...]"):
        item_model, item_json = _field_fns(text[len("tuple["): -len(", ...]")].strip())

        def seq_model(v: Any) -> Any:
            if type(v) is not list:
                raise _Slow
            return tuple([item_model(e) for e in v])

        return seq_model, (lambda v: [item_json(e) for e in v])
    if text.startswith("dict[str, ") and text.endswith("]"):
        value_model, value_json = _field_fns(text[len("dict[str, "): -1].strip())

        def map_model(v: Any) -> Any:
            if type(v) is not dict:
                raise _Slow
            return {k: value_model(e) for k, e in v.items()}

        return map_model, (lambda v: {k: value_json(e) for k, e in v.items()})
    cls = getattr(model, text, None)
    if isinstance(cls, type) and attrs.has(cls):
        return (lambda v: _structure_class(cls, v)), _unstructure_class
    raise _Slow


def _structure_class(cls: type, data: Any) -> Any:
    if type(data) is not dict:
        raise _Slow
    kwargs = {}
    for name, key, to_model, _, _, _ in _plan(cls):
        if key in data:
            kwargs[name] = to_model(data[key])
    try:
        return cls(**kwargs)
    except TypeError:  # a required field is missing: cattrs says which
        raise _Slow from None


def _unstructure_class(value: Any) -> Any:
    out = {}
    for name, key, _, to_json, default, factory in _plan(type(value)):
        v = getattr(value, name)
        if v != (default() if factory else default):  # cattrs' omit_if_default
            out[key] = to_json(v)
    return out


def spec_from_json(data: Any) -> model.Spec:
    return structure(data, model.Spec)


def process_from_json(data: Any) -> model.Process:
    return structure(data, model.Process)


def _describe(err: BaseException) -> str:
    import cattrs

    if isinstance(err, cattrs.BaseValidationError):
        msgs = cattrs.transform_error(err)
        return "; ".join(msgs) if msgs else str(err)
    return str(err)
