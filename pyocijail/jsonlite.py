# lean layer: a hot command loads this module; its imports keep pyocijail/lean.py's rules
"""`json.loads`/`json.dumps` for the hot commands, without importing `json`.

`import json` pulls in `re` (and with it `enum`): about 6 ms, more than
half of what `state` may cost in total. The C accelerator `_json` that
`json` itself uses needs neither, so this module drives it directly and
produces exactly what `json.loads`/`json.dumps` would (ensure_ascii, default
separators, `indent=2` as `state` prints it). A test proves that against
`json` on generated documents. Anything unusual (non-str keys, other types,
a missing `_json`) falls back to the real `json` module, so the result never
differs, only the cost.
"""

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

try:
    import _json
except ImportError:  # pragma: no cover - every CPython has it
    _json = None  # type: ignore[assignment]


class _Context:
    """What `_json.make_scanner` reads from a `json.JSONDecoder`."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int

    @staticmethod
    def parse_constant(name: str) -> float:
        return {"-Infinity": float("-inf"), "Infinity": float("inf"), "NaN": float("nan")}[name]


_WS = " \t\n\r"
_scanner = None
_encoders: "dict[bool, Any]" = {}


def loads(data: bytes | str, **hooks: "Any") -> "Any":
    """`json.loads(data, **hooks)` for UTF-8 text; ValueError on bad JSON, like json.

    `hooks`: `object_pairs_hook` and `parse_constant`, as json takes them.
    """
    global _scanner
    if _json is None or not hooks.keys() <= {"object_pairs_hook", "parse_constant"}:
        import json

        return json.loads(data, **hooks)
    try:
        text = data.decode("utf-8") if isinstance(data, (bytes, bytearray)) else data
    except UnicodeDecodeError:
        text = "\ufeff"  # json.loads knows other encodings: let it decide
    if text.startswith("\ufeff"):
        import json

        return json.loads(data, **hooks)  # a BOM or another encoding: json's own rules
    if hooks:
        context = _Context()
        for name, hook in hooks.items():
            setattr(context, name, hook)
        # typeshed types the context as a make_scanner (its TODO: a duck type, as here)
        scanner = _json.make_scanner(context)  # type: ignore[arg-type]
    else:
        if _scanner is None:
            _scanner = _json.make_scanner(_Context)  # type: ignore[arg-type]  # (as above)
        scanner = _scanner
    begin = len(text) - len(text.lstrip(_WS))
    try:
        value, end = scanner(text, begin)
    except Exception:  # noqa: BLE001 - StopIteration, or the scanner's own error path
        # failing outside json.decoder (a SystemError on a truncated string):
        # json.loads below gives the real JSONDecodeError.
        value, end = None, -1
    if end < 0 or text[end:].strip(_WS):
        import json

        return json.loads(data, **hooks)  # raises json's exact JSONDecodeError (a ValueError)
    return value


def dumps(value: "Any", indent: int | None = None, compact: bool = False) -> str:
    """`json.dumps(value)`, with `indent=indent`, or (compact) with `separators=(",", ":")`."""
    if _json is not None and not (indent is not None and compact):
        try:
            if indent is None:
                return "".join(_encoder(compact)(value, 0))
            parts: list[str] = []
            _pretty(value, parts, "\n", " " * indent)
            return "".join(parts)
        except _Unusual:
            pass
    import json

    return json.dumps(value, indent=indent, separators=(",", ":") if compact else None)


class _Unusual(Exception):
    pass


def _default(value: "Any") -> "Any":
    raise _Unusual


def _encoder(compact: bool) -> "Any":
    if compact not in _encoders:
        key_sep, item_sep = (":", ",") if compact else (": ", ", ")
        _encoders[compact] = _json.make_encoder(None, _default, _json.encode_basestring_ascii,
                                                None, key_sep, item_sep, False, False, True)
    return _encoders[compact]


def _pretty(value: "Any", out: list[str], newline: str, step: str) -> None:
    kind = type(value)
    if kind is str:
        out.append(_json.encode_basestring_ascii(value))
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif kind is int:
        out.append(int.__repr__(value))
    elif kind is float:
        if value != value or value in (float("inf"), float("-inf")):
            raise _Unusual
        out.append(float.__repr__(value))
    elif kind is dict:
        if not value:
            out.append("{}")
            return
        inner = newline + step
        sep = "{" + inner
        for key, item in value.items():
            if type(key) is not str:
                raise _Unusual
            out.append(sep)
            out.append(_json.encode_basestring_ascii(key))
            out.append(": ")
            _pretty(item, out, inner, step)
            sep = "," + inner
        out.append(newline + "}")
    elif kind is list or kind is tuple:
        if not value:
            out.append("[]")
            return
        inner = newline + step
        sep = "[" + inner
        for item in value:
            out.append(sep)
            _pretty(item, out, inner, step)
            sep = "," + inner
        out.append(newline + "]")
    else:
        raise _Unusual
