"""sha256 for create's hot path: the interpreter's built-in module, not hashlib.

`import hashlib` loads OpenSSL (~3 ms); `_sha256` is compiled into CPython.
"""

from __future__ import annotations

try:
    from _sha256 import sha256
except ImportError:  # pragma: no cover - other Pythons
    from hashlib import sha256

__all__ = ["sha256"]
