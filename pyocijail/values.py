# lean layer: a hot command loads this module; its imports keep pyocijail/lean.py's rules
"""Frozen value classes: the part of attrs' `frozen` the runtime uses, without its cost.

The runtime starts for every operation, and a `create` defines some sixty
small immutable classes (the config model, plans, mount options). attrs
costs ~50 ms to import and compiles `__init__`, `__eq__`, ... for every
class (~1 ms each); here each class gets the same few generic methods,
driven by its field list, which is read once from the class body:

    @frozen(kw_only=True)
    class User:
        uid: int = 0
        additional_gids: tuple[int, ...] = ()
        names: dict[str, str] = factory(dict)

Fields are the annotated names, in order (a base class's fields first);
`ClassVar` annotations are not fields. The annotations stay text, which
`spec.convert` reads: the class's module has `from __future__ import annotations`
or, if a hot command loads it (no `__future__` there: its import costs ~0.3 ms),
writes each field's annotation as a string (`version: "int"`). This module is
loaded by `delete`, so its own annotations that name type-checking-only imports
are strings too. Instances refuse assignment; `evolve` makes a changed copy.
"""

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeGuard, TypeVar, dataclass_transform, overload

    T = TypeVar("T")
else:
    # typing costs an import on the hot path; at run time the markers are no-ops.
    def dataclass_transform(**_: object) -> "Callable[[T], T]":
        return lambda f: f

    def overload(f: "T") -> "T":
        return f

#: a field without a default
REQUIRED: "Any" = type("Required", (), {"__repr__": lambda self: "REQUIRED"})()


class Factory:
    """A default made afresh for each instance (a mutable `dict`, say)."""

    __slots__ = ("make",)

    def __init__(self, make: "Callable[[], Any]") -> None:
        self.make = make

    def __repr__(self) -> str:
        return f"factory({self.make.__name__})"


def factory(make: "Callable[[], Any]") -> "Any":
    """Use as a field's default: `sysctl: dict[str, str] = factory(dict)`."""
    return Factory(make)


class Field:
    """One field: its name, its annotation as text, and its default."""

    __slots__ = ("name", "type", "default")

    def __init__(self, name: str, type: str, default: "Any") -> None:
        self.name, self.type, self.default = name, type, default

    def value(self) -> "Any":
        """The default value (a new one for a factory); REQUIRED if there is none."""
        d = self.default
        return d.make() if type(d) is Factory else d

    def __repr__(self) -> str:
        return f"Field({self.name!r}, {self.type!r}, {self.default!r})"


class FrozenError(AttributeError):
    """Assignment to a field of a frozen value."""


@overload
def frozen(cls: "type[T]", *, kw_only: bool = False) -> "type[T]": ...
@overload
def frozen(cls: None = None, *, kw_only: bool = False) -> "Callable[[type[T]], type[T]]": ...  # noqa: F811


# dataclass_transform: type checkers see the generated `__init__` (fields as keywords).
@dataclass_transform(frozen_default=True, field_specifiers=(factory,))
def frozen(cls: "type[T] | None" = None, *, kw_only: bool = False) -> "Any":  # noqa: F811
    """Make `cls` a frozen value class (usable bare or as `frozen(kw_only=True)`)."""
    def wrap(cls: "type[T]") -> "type[T]":
        return _make(cls, kw_only)

    return wrap if cls is None else wrap(cls)


def fields(cls: type) -> tuple[Field, ...]:
    """The fields of a frozen value class, in order."""
    try:
        return cls.__dict__["__fields__"]  # type: ignore[no-any-return]
    except KeyError:
        raise TypeError(f"{cls!r} is not a frozen value class") from None


def is_value_class(cls: object) -> "TypeGuard[type]":
    return isinstance(cls, type) and "__fields__" in cls.__dict__


def evolve(inst: "T", **changes: "Any") -> "T":
    """A copy of `inst` with some fields changed."""
    values = dict(inst.__dict__)
    for name in changes:
        if name not in values:
            raise TypeError(f"{type(inst).__name__} has no field {name!r}")
    values.update(changes)
    return type(inst)(**values)


# --- the generic methods -----------------------------------------------------------------

def _make(cls: "type[T]", kw_only: bool) -> "type[T]":
    own = _own_annotations(cls)
    rows: dict[str, Field] = {}
    for base in reversed(cls.__mro__[1:]):
        for f in base.__dict__.get("__fields__", ()):
            rows[f.name] = f
    for name, text in own.items():
        text = text if isinstance(text, str) else getattr(text, "__name__", repr(text))
        if text.startswith(("ClassVar", "typing.ClassVar")):
            continue
        rows[name] = Field(name, text, cls.__dict__.get(name, REQUIRED))
    table = tuple(rows.values())
    if not kw_only:
        seen_default = False
        for f in table:
            if f.default is not REQUIRED:
                seen_default = True
            elif seen_default:
                raise TypeError(f"{cls.__name__}: required field {f.name!r} follows a default")
    cls.__fields__ = table  # type: ignore[attr-defined]
    cls.__kw_only__ = kw_only  # type: ignore[attr-defined]
    for name, method in _METHODS.items():
        if name not in cls.__dict__:
            setattr(cls, name, method)
    return cls


def _own_annotations(cls: type) -> "dict[str, Any]":
    """The annotations written in `cls`'s own body, not a base's.

    Up to 3.13 they sit in `cls.__dict__["__annotations__"]`. From 3.14 (PEP 649/749)
    the class dict holds an annotate function instead, and `annotationlib` evaluates
    it; STRING format keeps them text (a name imported under TYPE_CHECKING only
    would otherwise raise NameError).
    """
    own = cls.__dict__.get("__annotations__")  # noqa: RUF063 - the class's own, see above
    if isinstance(own, dict):  # 3.11-3.13, or 3.14 once something cached them
        return own
    try:
        import annotationlib  # type: ignore[import-not-found,unused-ignore]
    except ImportError:  # before 3.14: no annotations in the body
        return {}
    got: dict[str, Any] = annotationlib.get_annotations(
        cls, format=annotationlib.Format.STRING)
    return got


def _init(self: "Any", *args: "Any", **kwargs: "Any") -> None:
    cls = type(self)
    table: tuple[Field, ...] = cls.__fields__
    if args:
        if cls.__kw_only__:
            raise TypeError(f"{cls.__name__}() takes keyword arguments only")
        if len(args) > len(table):
            raise TypeError(f"{cls.__name__}() takes {len(table)} arguments, "
                            f"{len(args)} were given")
        positional = {f.name: a for f, a in zip(table, args, strict=False)}
        for name in positional.keys() & kwargs.keys():
            raise TypeError(f"{cls.__name__}() got two values for {name!r}")
        kwargs = {**positional, **kwargs}
    values = {}
    for f in table:
        name = f.name
        if name in kwargs:
            values[name] = kwargs.pop(name)
        elif f.default is REQUIRED:
            raise TypeError(f"{cls.__name__}() is missing the required field {name!r}")
        else:
            d = f.default
            values[name] = d.make() if type(d) is Factory else d
    if kwargs:
        raise TypeError(f"{cls.__name__}() got unknown fields {sorted(kwargs)}")
    self.__dict__.update(values)


def _setattr(self: "Any", name: str, value: "Any") -> None:
    raise FrozenError(f"{type(self).__name__} is frozen: cannot set {name!r}")


def _delattr(self: "Any", name: str) -> None:
    raise FrozenError(f"{type(self).__name__} is frozen: cannot delete {name!r}")


def _eq(self: "Any", other: object) -> "Any":
    if other.__class__ is not self.__class__:
        return NotImplemented
    return self.__dict__ == other.__dict__


def _ne(self: "Any", other: object) -> "Any":
    result = _eq(self, other)
    return result if result is NotImplemented else not result


def _hash(self: "Any") -> int:
    return hash((self.__class__, *self.__dict__.values()))


def _repr(self: "Any") -> str:
    inner = ", ".join(f"{k}={v!r}" for k, v in self.__dict__.items())
    return f"{type(self).__name__}({inner})"


_METHODS = {"__init__": _init, "__setattr__": _setattr, "__delattr__": _delattr,
            "__eq__": _eq, "__ne__": _ne, "__hash__": _hash, "__repr__": _repr}
