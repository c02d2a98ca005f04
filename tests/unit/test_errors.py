"""errors.py: the words callers match stay in the messages that carry them."""

from __future__ import annotations

import errno
import struct

import pytest

from pyocijail.errors import CALLER_PHRASES, ContainerNotFound, ExecutableError, InvalidStatus
from pyocijail.process import exechelper, setup
from pyocijail.spec.model import Process
from pyocijail.state.status import Status, check


def _missing_program(tmp_path) -> str:
    with pytest.raises(ExecutableError) as info:
        setup.find_executable(Process(cwd=str(tmp_path), args=("nope",),
                                      env=(f"PATH={tmp_path}",)))
    return str(info.value)


def _not_executable(tmp_path) -> str:
    (tmp_path / "prog").write_text("")
    with pytest.raises(ExecutableError) as info:
        setup.find_executable(Process(cwd=str(tmp_path), args=(str(tmp_path / "prog"),)))
    return str(info.value)


def _stopped_kill(tmp_path) -> str:
    with pytest.raises(InvalidStatus) as info:
        check("kill", Status.STOPPED)
    return str(info.value)


def _helper_enoent(tmp_path) -> str:
    text = exechelper.failure("prog", exechelper.RECORD_TAG + struct.pack("<I", errno.ENOENT))
    assert text is not None
    return text


#: phrase -> a message the runtime makes where the caller looks for it
WHERE = {
    "does not exist": lambda tmp_path: str(ContainerNotFound("c1")),
    "container not running": _stopped_kill,
    "executable file not found": _missing_program,
    "no such file or directory": _helper_enoent,
    "permission denied": _not_executable,
}


def test_every_caller_phrase_has_a_case():
    assert set(WHERE) == set(CALLER_PHRASES)


@pytest.mark.parametrize("phrase", sorted(CALLER_PHRASES))
def test_caller_phrase_is_in_the_message(tmp_path, phrase):
    assert phrase in WHERE[phrase](tmp_path)
