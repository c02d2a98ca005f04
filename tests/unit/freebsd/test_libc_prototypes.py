"""The real libc LibcKernel loads declares C prototypes for what it calls."""

import ctypes
import ctypes.util

import pytest

from pyocijail.backends.freebsd.libc import LibcKernel


def test_if_nametoindex_has_unsigned_prototype() -> None:
    if ctypes.util.find_library("c") is None:
        pytest.skip("no C library to load")
    fn = LibcKernel().libc.if_nametoindex
    assert fn.restype is ctypes.c_uint
    assert fn.argtypes == [ctypes.c_char_p]
