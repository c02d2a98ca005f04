"""The `features` document: what create accepts (runtime-spec features.md)."""

from __future__ import annotations

from pyocijail import SPEC_VERSION, __version__
from pyocijail.lifecycle.hooks import STAGES

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pyocijail.lifecycle.context import Context


def features(ctx: Context) -> dict[str, Any]:
    backend = ctx.backend.features()
    doc: dict[str, Any] = {
        "ociVersionMin": "1.0.0",
        "ociVersionMax": SPEC_VERSION,
        "hooks": list(STAGES),
        "mountOptions": backend.get("mountOptions", []),
        "annotations": {"org.pyocijail.version": __version__},
        # These change how the jail is built: a caller passing them through
        # from untrusted images must know (entries ending in "." are prefixes).
        "potentiallyUnsafeConfigAnnotations": ["org.freebsd."],
    }
    if "linux" in backend:
        doc["linux"] = backend["linux"]
    return doc
