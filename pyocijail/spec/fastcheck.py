"""The compiled schema check: accept a document without importing jsonschema.

`_fastcheck_gen.py` is generated from `schemas/` by `tools/gen_fastcheck.py`
(plain Python, stdlib only) and committed with the package. It decides
accept/reject as jsonschema's Draft4Validator does for the keywords our
schemas use. `schema.validate_*` ask it first:

- it accepts: done, jsonschema is never imported;
- it rejects: jsonschema (the source of truth) validates the document and
  produces the message; if jsonschema accepts after all, the document is
  accepted and the disagreement logged at debug level;
- it cannot be used (missing from a broken install): jsonschema decides
  everything.

Whether the generated module matches the schema files is checked by CI
(`tools/gen_fastcheck.py --check`), not here: the schemas ship inside the
package beside it, so an installed copy cannot drift, and hashing 15 files
cost every create ~1.4 ms to guard a developer-only mistake.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

_UNSET = object()
_entries: Any = _UNSET  # entry name -> predicate, or None when unusable
_why_not = ""


def accepts(entry: str, data: Any, debug: Callable[[str], None] | None = None) -> bool | None:
    """True if the schema accepts `data`; False if it may not; None if unknown here."""
    entries = _load()
    if entries is None:
        if debug is not None:
            debug(f"compiled schema check not used: {_why_not}")
        return None
    try:
        return bool(entries[entry](data))
    except RecursionError:
        return False  # let jsonschema decide (and describe) it


def _load() -> Any:
    global _entries, _why_not
    if _entries is _UNSET:
        _entries = None
        try:
            from pyocijail.spec import _fastcheck_gen as gen
        except ImportError as err:  # pragma: no cover - the file ships with the package
            _why_not = f"generated module missing ({err})"
            return None
        _entries = gen.ENTRY_POINTS
    return _entries
