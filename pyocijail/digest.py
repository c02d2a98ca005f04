"""sha256 for create's hot path: the interpreter's built-in module, not hashlib.

`import hashlib` loads OpenSSL (~3 ms); `_sha256` is compiled into CPython.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # typeshed has no stub of _sha256: its sha256 is hashlib's
    from hashlib import sha256
else:
    try:
        from _sha256 import sha256
    except ImportError:  # pragma: no cover - other Pythons
        from hashlib import sha256

__all__ = ["sha256"]
