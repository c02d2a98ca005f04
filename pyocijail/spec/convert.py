"""The one cattrs converter between config.json documents and `spec.model`.

Keys are the spec's camelCase names (`additionalGids`, `ociVersion`); the
ones that are not plain camelCase of the field name (`blockIO`, `kernelTCP`,
`disableOOMKiller`, `throttleReadIOPSDevice`, ...) are listed in
`_SPECIAL_KEYS`. Unknown keys are ignored, as the runtime-spec requires.
"""

from __future__ import annotations

import functools
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from pyocijail.errors import ConfigError
from pyocijail.spec import model

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


@functools.cache
def converter() -> cattrs.Converter:
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
    return conv


def structure(data: Any, cls: type[T]) -> T:
    """A model value from already-validated JSON data."""
    try:
        return converter().structure(data, cls)
    except (cattrs.BaseValidationError, ValueError, TypeError, KeyError) as err:
        raise ConfigError(f"config does not match the runtime-spec: {_describe(err)}") from err


def unstructure(value: Any) -> Any:
    """JSON data (camelCase keys, defaults omitted) from a model value."""
    return converter().unstructure(value)


def spec_from_json(data: Any) -> model.Spec:
    return structure(data, model.Spec)


def process_from_json(data: Any) -> model.Process:
    return structure(data, model.Process)


def _describe(err: BaseException) -> str:
    if isinstance(err, cattrs.BaseValidationError):
        msgs = cattrs.transform_error(err)
        return "; ".join(msgs) if msgs else str(err)
    return str(err)
