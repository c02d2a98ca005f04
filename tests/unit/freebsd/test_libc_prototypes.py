"""The real libc LibcKernel loads: by its soname, with C prototypes for what it calls."""

import ctypes
import ctypes.util
import pathlib
import subprocess
import sys

import pytest

from pyocijail.backends.freebsd import libc as freebsd_libc
from pyocijail.backends.freebsd.libc import LibcKernel

HOST_LIBC = ctypes.util.find_library("c")
needs_libc = pytest.mark.skipif(HOST_LIBC is None, reason="no C library to load")


@needs_libc
def test_if_nametoindex_has_unsigned_prototype(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(freebsd_libc, "LIBC_SONAME", HOST_LIBC)
    fn = LibcKernel().libc.if_nametoindex
    assert fn.restype is ctypes.c_uint
    assert fn.argtypes == [ctypes.c_char_p]


def test_the_default_is_freebsds_libc_soname() -> None:
    assert freebsd_libc.LIBC_SONAME == "libc.so.7"  # lib/libc/Makefile: SHLIB_MAJOR= 7


@needs_libc
def test_loading_libc_runs_no_ldconfig_and_imports_no_subprocess() -> None:
    """find_library would import subprocess and run `ldconfig -r` on FreeBSD, on
    every delete and kill --all."""
    tree = pathlib.Path(freebsd_libc.__file__).parents[3]  # this tree's, not the venv's
    code = (
        "import sys\n"
        f"sys.path.insert(0, {str(tree)!r})\n"
        "from pyocijail.backends.freebsd import libc\n"
        f"libc.LIBC_SONAME = {HOST_LIBC!r}\n"
        "libc.LibcKernel().libc\n"
        "print(sorted(m for m in ('ctypes.util', 'subprocess', 'shutil')"
        " if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == "[]"
