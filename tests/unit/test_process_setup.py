"""process.rlimits as setrlimit(2) calls with this host's numbers; the init's cwd."""

from __future__ import annotations

import resource
import subprocess
import sys

import pytest

from pyocijail.errors import ConfigError
from pyocijail.process import setup
from pyocijail.spec.model import Rlimit

UNLIMITED = 2**64 - 1  # what podman and runc write for "unlimited" (uint64 max)


def test_unlimited_becomes_rlim_infinity() -> None:
    """2**64 - 1 does not fit setrlimit's signed 64-bit argument (an OverflowError
    traceback before): it is the host's RLIM_INFINITY (2**63 - 1 on FreeBSD)."""
    code = ("import resource; from pyocijail.process.setup import apply_rlimits;"
            "from pyocijail.spec.model import Rlimit;"
            f"apply_rlimits([Rlimit(type='RLIMIT_CORE', soft={UNLIMITED}, hard={UNLIMITED})]);"
            "print(resource.getrlimit(resource.RLIMIT_CORE) =="
            " (resource.RLIM_INFINITY, resource.RLIM_INFINITY))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout == "True\n", out.stderr


def test_values_beyond_signed_64_bits_are_infinity() -> None:
    """Only values a signed 64-bit rlim_t cannot hold are mapped."""
    assert setup.rlimit_value(UNLIMITED) == resource.RLIM_INFINITY
    assert setup.rlimit_value(2**63) == resource.RLIM_INFINITY
    assert setup.rlimit_value(2**63 - 1) == 2**63 - 1
    assert setup.rlimit_value(1024) == 1024


def test_unknown_rlimit_on_this_host_is_a_config_error(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A limit this host's resource module does not name has no number here (on
    FreeBSD the backend numbers them: tests/unit/freebsd, `apply_rlimits`)."""
    monkeypatch.delattr(resource, "RLIMIT_UMTXP", raising=False)
    with pytest.raises(ConfigError):
        setup.apply_rlimits([Rlimit(type="RLIMIT_UMTXP", soft=1, hard=1)])


def test_cwd_that_is_a_file_fails_in_runcs_words(tmp_path) -> None:
    """runc: "mkdir /etc/passwd: not a directory" (buildah run --workingdir shows it),
    not makedirs' "File exists"."""
    from pyocijail.spec.model import Process

    (tmp_path / "f").write_text("")
    for cwd in (tmp_path / "f", tmp_path / "f" / "sub"):
        with pytest.raises(ConfigError) as err:
            setup.ensure_cwd(Process(cwd=str(cwd), args=("true",)))
        assert str(err.value) == f"mkdir {cwd}: not a directory"
