"""pyocijail.values: the frozen value classes the model and the plans are made of."""

from __future__ import annotations

import pytest

from pyocijail import values


@values.frozen
class Point:
    x: int
    y: int = 0

    @property
    def norm1(self) -> int:
        return abs(self.x) + abs(self.y)


@values.frozen(kw_only=True)
class Box:
    name: str
    corner: Point = Point(0)
    tags: dict[str, str] = values.factory(dict)


def test_fields_in_order_with_defaults():
    assert [(f.name, f.type, f.default) for f in values.fields(Point)] == \
        [("x", "int", values.REQUIRED), ("y", "int", 0)]


def test_positional_and_keyword_arguments():
    assert Point(1, 2) == Point(x=1, y=2) == Point(1, y=2)
    assert Point(3).y == 0 and Point(3, 4).norm1 == 7


@pytest.mark.parametrize(("call", "message"), [
    (lambda: Point(), "missing the required field 'x'"),
    (lambda: Point(1, 2, 3), "takes 2 arguments"),
    (lambda: Point(1, x=2), "two values for 'x'"),
    (lambda: Point(1, z=2), r"unknown fields \['z'\]"),
    (lambda: Box("b"), "keyword arguments only"),
])
def test_bad_calls_are_type_errors(call, message):
    with pytest.raises(TypeError, match=message):
        call()


def test_instances_are_frozen():
    p = Point(1)
    with pytest.raises(values.FrozenError):
        p.x = 2
    with pytest.raises(AttributeError):
        del p.y
    assert p == Point(1)


def test_equality_and_hash_by_fields_and_class():
    assert Point(1, 2) == Point(1, 2) and hash(Point(1, 2)) == hash(Point(1, 2))
    assert Point(1, 2) != Point(2, 1)
    assert Point(1) != Box(name="p") and Point(1) != (1, 0)
    assert len({Point(1), Point(1), Point(2)}) == 2


def test_factory_defaults_are_fresh_per_instance():
    a, b = Box(name="a"), Box(name="b")
    assert a.tags == {} and a.tags is not b.tags


def test_evolve_copies_with_changes_and_checks_names():
    a = Box(name="a", tags={"k": "v"})
    b = values.evolve(a, name="b")
    assert (b.name, b.tags, a.name) == ("b", {"k": "v"}, "a")
    with pytest.raises(TypeError, match="no field 'nme'"):
        values.evolve(a, nme="x")


def test_repr_names_every_field():
    assert repr(Box(name="a")) == "Box(name='a', corner=Point(x=0, y=0), tags={})"


def test_required_after_default_is_refused_unless_keyword_only():
    with pytest.raises(TypeError, match="required field 'b' follows a default"):
        @values.frozen
        class Bad:
            a: int = 0
            b: int

    @values.frozen(kw_only=True)
    class Fine:
        a: int = 0
        b: int

    assert Fine(b=1).a == 0


def test_subclass_fields_follow_the_base_fields():
    @values.frozen
    class Point3(Point):
        z: int = 0

    assert [f.name for f in values.fields(Point3)] == ["x", "y", "z"]
    assert Point3(1, 2, 3).norm1 == 3
    assert not values.is_value_class(int) and values.is_value_class(Point3)
