"""The compiled schema check: accept a document without importing jsonschema.

`_fastcheck_gen.py` is generated from `schemas/` at build time by
`pyocijail.spec.build` (plain Python, stdlib only) and committed with the
package. It decides accept/reject as jsonschema's Draft4Validator does for
the keywords our schemas use. `schema.validate_*` ask it first:

- it accepts: done, jsonschema is never imported;
- it rejects: jsonschema (the source of truth) validates the document and
  produces the message; if jsonschema accepts after all, the document is
  accepted and the disagreement logged at debug level;
- it cannot be used (missing, or built from schema files other than the ones
  jsonschema would load: the digest recorded in it differs from the files'
  digest on disk): jsonschema decides everything, as before.

The digest of the schema files is computed once per process (15 small files,
sha256 from the interpreter's built-in module), so a checkout whose schemas
were edited without re-running the build can never accept by stale rules.
"""

from __future__ import annotations

import os

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
        try:
            digest = schema_digest(schema_directory())
        except OSError as err:
            _why_not = f"cannot read the schema files ({err.strerror})"
            return None
        except Exception as err:  # ConfigError from schemas_dir: jsonschema will say it too
            _why_not = str(err)
            return None
        if digest != gen.SCHEMA_DIGEST:
            _why_not = ("schema files differ from the ones it was generated from; run "
                        "`python -m pyocijail.spec.build`")
            return None
        _entries = gen.ENTRY_POINTS
    return _entries


def schema_directory() -> str:
    """The directory `schema.schemas_dir()` reads (package data beside this module)."""
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "schemas")


def schema_digest(directory: str) -> str:
    """sha256 over the sorted names and contents of `directory/*.json` (as build.py)."""
    from pyocijail.digest import sha256

    h = sha256()
    names = sorted(n for n in os.listdir(directory)
                   if n.endswith(".json") and not n.startswith("."))  # as glob("*.json")
    for name in names:
        with open(os.path.join(directory, name), "rb") as f:
            data = f.read()
        h.update(name.encode() + b"\0" + str(len(data)).encode() + b"\0" + data)
    return h.hexdigest()
