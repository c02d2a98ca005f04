"""jsonlite: errors on torn documents are ValueErrors, as json's are."""

from __future__ import annotations

import pytest

from pyocijail import jsonlite

TORN = [b'{"id": "c1", "trunc', b'{"a": [1, 2', b"", b"nul", b'"\\u12']


@pytest.mark.parametrize("text", TORN)
def test_truncated_documents_raise_valueerror(text):
    """A torn state.json is a ValueError (a clean error upstream), never SystemError."""
    with pytest.raises(ValueError):
        jsonlite.loads(text)
