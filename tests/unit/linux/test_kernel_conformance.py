"""The real Linux kernel and the recording double implement `NsKernel` exactly:
the same methods, each with the Protocol's parameters (names, kinds, defaults)."""

from __future__ import annotations

import inspect

import pytest

from pyocijail.backends.linux.kernel import NsKernel
from pyocijail.backends.linux.linuxkernel import LinuxKernel
from pyocijail.testing.nskernel import RecordingNsKernel


def _methods(cls: type) -> dict[str, inspect.Signature]:
    return {name: inspect.signature(fn) for name, fn in vars(cls).items()
            if inspect.isfunction(fn) and not name.startswith("_")}


def _shape(sig: inspect.Signature) -> list[tuple[str, object, object]]:
    return [(p.name, p.kind, p.default) for p in sig.parameters.values()]


@pytest.mark.parametrize("cls", [LinuxKernel, RecordingNsKernel])
def test_implements_every_call_of_the_protocol_with_its_parameters(cls: type) -> None:
    protocol = _methods(NsKernel)
    own = _methods(cls)
    assert set(protocol) <= set(own)
    for name, sig in protocol.items():
        assert _shape(own[name]) == _shape(sig), name


def test_the_real_kernel_has_nothing_more() -> None:
    assert set(_methods(LinuxKernel)) == set(_methods(NsKernel))
