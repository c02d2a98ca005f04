"""values reads a class's own annotations on 3.11 through 3.14 (PEP 649/749).

No `from __future__ import annotations` here: the annotations are real objects.
"""

import sys
import types

import pytest

from pyocijail import values


def test_real_type_annotations_become_text_fields():
    @values.frozen
    class Plain:
        x: int
        name: str = "a"

    assert [(f.name, f.type) for f in values.fields(Plain)] == [("x", "int"), ("name", "str")]
    assert Plain(1).name == "a"


def test_a_subclass_without_annotations_gets_only_the_base_fields():
    @values.frozen
    class Base:
        x: int

    @values.frozen
    class Child(Base):
        pass

    assert [f.name for f in values.fields(Child)] == ["x"]


@pytest.mark.skipif(sys.version_info >= (3, 14), reason="3.14 has its own annotationlib")
def test_pep649_class_without_annotations_dict_reads_them_from_annotationlib(monkeypatch):
    # A 3.14 class body leaves `__annotate__`, not `__annotations__`, in the class dict;
    # on 3.11 we build one such class and stand in the stdlib's annotationlib for it.
    def annotate(fmt):
        return {"uid": "int"}

    cls = type("Lazy", (), {"__annotate__": annotate, "uid": 0})
    assert "__annotations__" not in cls.__dict__
    lib = types.ModuleType("annotationlib")
    lib.Format = types.SimpleNamespace(STRING=4)
    lib.get_annotations = lambda c, format: c.__dict__["__annotate__"](format)
    monkeypatch.setitem(sys.modules, "annotationlib", lib)
    made = values.frozen(cls)
    assert [(f.name, f.type, f.default) for f in values.fields(made)] == [("uid", "int", 0)]
