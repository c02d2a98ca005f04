"""pyocijail/testing/__init__.py: the doubles' public names, imported only when used."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import pyocijail.testing as testing


@pytest.mark.parametrize("name", testing.__all__)
def test_each_public_name_is_its_home_module_s_object(name):
    home = importlib.import_module(f"pyocijail.testing.{testing._HOMES[name]}")
    assert getattr(testing, name) is getattr(home, name)
    assert name in dir(testing)


def test_the_facade_names_the_doubles():
    assert {"SimulatedKernel", "FakeLibc", "SimulatedHostKernel", "MemoryUndoLog",
            "make_bundle", "make_rootfs"} <= set(testing.__all__)
    assert set(testing.__all__) == set(testing._HOMES)


def test_an_unknown_name_is_an_attribute_error_and_submodules_still_import():
    with pytest.raises(AttributeError, match="no_such_double"):
        _ = testing.no_such_double
    from pyocijail.testing import simhost

    assert simhost.SimulatedHostKernel is testing.SimulatedHostKernel


@pytest.mark.parametrize("module", ["pyocijail.testing", "pyocijail.demo",
                                    "pyocijail.testing.clients.driver"])
def test_importing_it_loads_no_double_nor_backend(module):
    """The demo and the CLI driver run `testing/__init__` first: it must not bring in
    the simulated kernel, the fake libc or the FreeBSD backend they import."""
    code = (f"import sys, {module}; "
            "print(' '.join(m for m in sys.modules if m.startswith('pyocijail')))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=30, check=True)
    loaded = set(res.stdout.split())
    assert module in loaded
    assert not loaded & {"pyocijail.testing.simkernel", "pyocijail.testing.fakelibc",
                         "pyocijail.testing.simhost", "pyocijail.testing.faketools"}
    assert not any(m.startswith("pyocijail.backends") for m in loaded), loaded
