"""Generate the compiled schema check: `spec/schemas/` -> `spec/_fastcheck_gen.py`.

    python tools/gen_fastcheck.py            # rewrite the generated modules
    python tools/gen_fastcheck.py --check    # exit 1 if one is stale (.ci/run does this)

(It writes `spec/_keys_gen.py` too: see tools/gen_keys.py.)

The generated module holds one plain-Python predicate per entry point
(`config`, `process`, `state`, `features`) that answers "would jsonschema's
Draft4Validator accept this parsed JSON document?" with True/False, using
only the stdlib. It mirrors jsonschema 4's draft-04 keyword functions
(`_keywords`, `_legacy_keywords`, `_types`) for exactly the keywords our
schema files use; any other keyword (or a form of one we do not translate)
stops the generation, so the generated code cannot silently ignore a rule.
Keywords that only annotate (`description`, `$schema`, `definitions`,
`title`) are skipped, as jsonschema skips them.

jsonschema remains the source of truth: the runtime (`spec/fastcheck.py`)
calls it for every document the generated code rejects (for the message, and
to accept when the two disagree), and a test runs both on the fixture corpus
and on generated documents.

A developer tool, not part of the installed package: the generated module is
committed, and staleness is CI's to catch (`--check` in `.ci/run`, and
`tests/unit/test_fastcheck.py`), as crun's generated sources are make's. The
runtime no longer hashes the schema files on every create to find out.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:  # run as a script from anywhere: this checkout's pyocijail
    sys.path.insert(0, ROOT)

from pyocijail.spec import patterns  # noqa: E402
from pyocijail.spec import schema as _schema  # noqa: E402

GENERATED = os.path.join(ROOT, "pyocijail", "spec", "_fastcheck_gen.py")

#: entry point name -> $ref, as `schema.py` validates them.
ENTRY_POINTS = {
    "config": "config-schema.json",
    "process": "config-schema.json#/definitions/Process",
    "state": "state-schema.json",
    "features": "features-schema.json",
}

_ANNOTATIONS = {"description", "$schema", "definitions", "title"}
_HANDLED = {"$ref", "type", "properties", "required", "items", "minItems", "enum", "pattern",
            "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "allOf", "anyOf",
            "oneOf", "additionalProperties", "patternProperties"}

#: draft-04 type name -> expression on `{v}` (jsonschema `_types`, draft4_type_checker).
#: "number" there is numbers.Number minus bool; parsed JSON holds only int and float.
_TYPES = {
    "object": "isinstance({v}, dict)",
    "array": "isinstance({v}, list)",
    "string": "isinstance({v}, str)",
    "boolean": "isinstance({v}, bool)",
    "null": "{v} is None",
    "integer": "(isinstance({v}, int) and not isinstance({v}, bool))",
    "number": "(isinstance({v}, (int, float)) and not isinstance({v}, bool))",
}


class BuildError(Exception):
    pass


class _Generator:
    def __init__(self, directory: str) -> None:
        self.directory = directory
        self.files: dict[str, Any] = {}
        self.funcs: dict[tuple[str, str], str] = {}  # (file, pointer) -> function name
        self.bodies: list[list[str]] = []
        self.pending: list[tuple[str, str, str]] = []
        self.patterns: dict[str, str] = {}
        self.consts: dict[str, str] = {}
        self.counter = 0

    # -- schema documents
    def doc(self, name: str) -> Any:
        if name not in self.files:
            with open(os.path.join(self.directory, name), "rb") as f:
                self.files[name] = json.loads(f.read())
        return self.files[name]

    def resolve(self, base: str, ref: str) -> tuple[str, str]:
        file, _, pointer = ref.partition("#")
        return (file or base, pointer)

    def node(self, file: str, pointer: str) -> Any:
        value = self.doc(file)
        for part in pointer.lstrip("/").split("/") if pointer.strip("/") else []:
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(value, dict) or part not in value:
                raise BuildError(f"unresolvable $ref {file}#{pointer}")
            value = value[part]
        return value

    # -- functions
    def func_for(self, file: str, pointer: str) -> str:
        key = (file, pointer)
        if key not in self.funcs:
            safe = "".join(c if c.isalnum() else "_" for c in f"{file[:-5]}{pointer}")
            name = f"_s_{safe}".replace("__", "_")
            while name in self.funcs.values():
                name += "_"
            self.funcs[key] = name
            self.pending.append((name, file, pointer))
        return self.funcs[key]

    def anon_func(self, file: str, schema: Any) -> str:
        self.counter += 1
        name = f"_a{self.counter}"
        self.bodies.append(self.function(name, file, schema))
        return name

    def function(self, name: str, file: str, schema: Any) -> list[str]:
        lines = [f"def {name}(x):"]
        lines += self.checks(file, schema, "x", 1, 0)
        lines.append("    return True")
        return lines

    def drain(self) -> None:
        while self.pending:
            name, file, pointer = self.pending.pop(0)
            self.bodies.append(self.function(name, file, self.node(file, pointer)))

    def var(self, depth: int) -> str:
        return f"v{depth}"

    def pattern(self, text: str) -> str:
        if text not in self.patterns:
            self.patterns[text] = f"_P{len(self.patterns)}"
        return self.patterns[text]

    def const(self, value: Any) -> str:
        if isinstance(value, frozenset):  # a stable text, whatever the hash seed
            text = "frozenset((" + "".join(f"{e!r}, " for e in sorted(value)) + "))"
        else:
            text = repr(value)
        if text not in self.consts:
            self.consts[text] = f"_C{len(self.consts)}"
        return self.consts[text]

    # -- one schema node: statements that `return False` when `v` fails it
    def checks(self, file: str, schema: Any, v: str, indent: int, depth: int) -> list[str]:  # noqa: C901 - one branch per JSON Schema keyword
        pad = "    " * indent
        if not isinstance(schema, dict):
            raise BuildError(f"{file}: schema {schema!r} is not an object (draft-04)")
        unknown = set(schema) - _HANDLED - _ANNOTATIONS
        if unknown:
            raise BuildError(f"{file}: keywords {sorted(unknown)} are not translated")
        if "$ref" in schema:  # draft-04: $ref's siblings are ignored (ignore_ref_siblings)
            target = self.func_for(*self.resolve(file, schema["$ref"]))
            return [f"{pad}if not {target}({v}): return False"]
        out: list[str] = []
        known = None  # the one type `v` is known to have after the type check
        if "type" in schema:
            types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
            if not types or any(t not in _TYPES for t in types):
                raise BuildError(f"{file}: type {schema['type']!r}")
            cond = " or ".join(_TYPES[t].format(v=v) for t in types)
            out.append(f"{pad}if not ({cond}): return False")
            known = types[0] if len(types) == 1 else None
        # Each keyword applies only to its own type; after a single-type check
        # the guard is either always true ("True") or always false.
        is_dict = "True" if known == "object" else f"isinstance({v}, dict)"
        is_list = "True" if known == "array" else f"isinstance({v}, list)"
        is_num = ("True" if known in ("integer", "number") else
                  f"(isinstance({v}, (int, float)) and not isinstance({v}, bool))")
        is_str = "True" if known == "string" else f"isinstance({v}, str)"
        if "enum" in schema:
            values = schema["enum"]
            if not isinstance(values, list):
                raise BuildError(f"{file}: enum {values!r}")
            if values and all(isinstance(e, str) for e in values):
                out.append(f"{pad}if not ({is_str} and {v} in "
                           f"{self.const(frozenset(values))}): return False")
            else:
                out.append(f"{pad}if not any(_equal(e, {v}) for e in "
                           f"{self.const(tuple(values))}): return False")
        if "pattern" in schema:
            out.append(f"{pad}if {is_str} and not "
                       f"{self.pattern(schema['pattern'])}.search({v}): return False")
        for key, op, excl in (("minimum", "<", "exclusiveMinimum"),
                              ("maximum", ">", "exclusiveMaximum")):
            if key in schema:
                bound = schema[key]
                if isinstance(bound, bool) or not isinstance(bound, (int, float)):
                    raise BuildError(f"{file}: {key} {bound!r}")
                cmp = op + "=" if schema.get(excl, False) else op
                out.append(f"{pad}if {is_num} and {v} {cmp} {bound!r}: return False")
        if "minItems" in schema:
            n = schema["minItems"]
            out.append(f"{pad}if {is_list} and len({v}) < {n!r}: return False")
        if "required" in schema:
            req = schema["required"]
            if not isinstance(req, list) or not all(isinstance(r, str) for r in req):
                raise BuildError(f"{file}: required {req!r}")
            if req:
                cond = " or ".join(f"{r!r} not in {v}" for r in req)
                out.append(f"{pad}if {is_dict} and ({cond}): return False")
        props = schema.get("properties", {})
        pprops = schema.get("patternProperties", {})
        if not isinstance(props, dict) or not isinstance(pprops, dict):
            raise BuildError(f"{file}: properties/patternProperties must be objects")
        if props:
            w = self.var(depth + 1)
            inner: list[str] = []
            for name, sub in props.items():
                body = self.checks(file, sub, w, indent + 2, depth + 1)
                if body:
                    inner.append(f"{pad}    if {name!r} in {v}:")
                    inner.append(f"{pad}        {w} = {v}[{name!r}]")
                    inner += body
            if inner:
                out += [f"{pad}if {is_dict}:", *inner]
        if pprops:
            w = self.var(depth + 1)
            inner = []
            for pat, sub in pprops.items():
                body = self.checks(file, sub, w, indent + 3, depth + 1)
                if body:
                    inner.append(f"{pad}    for k, {w} in {v}.items():")
                    inner.append(f"{pad}        if {self.pattern(pat)}.search(k):")
                    inner += body
            if inner:
                out += [f"{pad}if {is_dict}:", *inner]
        if "additionalProperties" in schema:
            ap = schema["additionalProperties"]
            w = self.var(depth + 1)
            joined = "|".join(pprops)  # jsonschema's find_additional_properties
            test = f"k not in {self.const(frozenset(props))}"
            if joined:
                test += f" and not {self.pattern(joined)}.search(k)"
            if ap is False:
                out.append(f"{pad}if {is_dict}:")
                out.append(f"{pad}    for k in {v}:")
                out.append(f"{pad}        if {test}: return False")
            elif isinstance(ap, dict):
                body = self.checks(file, ap, w, indent + 3, depth + 1)
                if body:
                    out.append(f"{pad}if {is_dict}:")
                    out.append(f"{pad}    for k, {w} in {v}.items():")
                    out.append(f"{pad}        if {test}:")
                    out += body
            elif ap is not True:
                raise BuildError(f"{file}: additionalProperties {ap!r}")
        if "items" in schema:
            items = schema["items"]
            w = self.var(depth + 1)
            if isinstance(items, dict):
                body = self.checks(file, items, w, indent + 2, depth + 1)
                if body:
                    out.append(f"{pad}if {is_list}:")
                    out.append(f"{pad}    for {w} in {v}:")
                    out += body
            elif isinstance(items, list):
                inner = []
                for i, sub in enumerate(items):
                    body = self.checks(file, sub, w, indent + 2, depth + 1)
                    if body:
                        inner.append(f"{pad}    if len({v}) > {i}:")
                        inner.append(f"{pad}        {w} = {v}[{i}]")
                        inner += body
                if inner:
                    out += [f"{pad}if {is_list}:", *inner]
            else:
                raise BuildError(f"{file}: items {items!r}")
        for key in ("allOf", "anyOf", "oneOf"):
            if key not in schema:
                continue
            subs = schema[key]
            if not isinstance(subs, list) or not subs:
                raise BuildError(f"{file}: {key} {subs!r}")
            if key == "allOf":
                for sub in subs:
                    out += self.checks(file, sub, v, indent, depth)
                continue
            names = [self.anon_func(file, sub) for sub in subs]
            calls = ", ".join(f"{n}({v})" for n in names)
            if key == "anyOf":
                out.append(f"{pad}if not ({' or '.join(f'{n}({v})' for n in names)}): "
                           "return False")
            else:
                out.append(f"{pad}if [{calls}].count(True) != 1: return False")
        return out

    def module(self) -> str:
        entries = {name: self.func_for(*self.resolve("", ref))
                   for name, ref in ENTRY_POINTS.items()}
        self.drain()
        lines = [
            '"""GENERATED by `python tools/gen_fastcheck.py` from pyocijail/spec/schemas/:',
            "do not edit. CI fails when it is stale (`tools/gen_fastcheck.py --check`).",
            "",
            "Plain-Python accept/reject of parsed JSON against our draft-04 schemas, as",
            "jsonschema's Draft4Validator decides it; see tools/gen_fastcheck.py.",
            '"""',
            "",
            "# ruff: noqa",
            "from pyocijail.spec.patterns import Lazy as _Lazy, Runs as _Runs",
            "",
        ]
        for text, name in self.patterns.items():
            lines.append(f"{name} = {patterns.source(text)}")
        lines.append("PATTERNS = {" + ", ".join(f"{t!r}: {n}" for t, n in self.patterns.items())
                     + "}  # for tests/unit/test_patterns.py")
        for text, name in self.consts.items():
            lines.append(f"{name} = {text}")
        lines += ["", "", _EQUAL.strip(), ""]
        for body in self.bodies:
            lines += ["", *body, ""]
        lines = [line.replace("if True and ", "if ").replace("(True and ", "(")
                 for line in lines]
        lines += ["", "ENTRY_POINTS = {"]
        lines += [f"    {name!r}: {fn}," for name, fn in entries.items()]
        lines += ["}", ""]
        return "\n".join(lines)


#: jsonschema._utils.equal (enum), for enums that are not all strings.
_EQUAL = '''
def _unbool(e, true=object(), false=object()):
    if e is True:
        return true
    if e is False:
        return false
    return e


def _equal(one, two):
    if one is two:
        return True
    if isinstance(one, str) or isinstance(two, str):
        return one == two
    if isinstance(one, (list, tuple)) and isinstance(two, (list, tuple)):
        return len(one) == len(two) and all(_equal(a, b) for a, b in zip(one, two))
    if isinstance(one, dict) and isinstance(two, dict):
        return one.keys() == two.keys() and all(_equal(one[k], two[k]) for k in one)
    return _unbool(one) == _unbool(two)
'''


def generate(directory: str | None = None) -> str:
    """The text of the generated module for the schema files in `directory`."""
    directory = directory or str(_schema.schemas_dir())
    return _Generator(directory).module()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    from tools import gen_keys

    outputs = {GENERATED: generate(), gen_keys.GENERATED: gen_keys.generate()}
    stale = 0
    for path, text in outputs.items():
        try:
            with open(path) as f:
                current = f.read()
        except FileNotFoundError:
            current = ""
        if current == text:
            continue
        if "--check" in argv:
            print(f"{path} is stale: run python tools/gen_fastcheck.py", file=sys.stderr)
            stale = 1
            continue
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, path)
        print(f"wrote {path}")
    return stale


if __name__ == "__main__":
    sys.exit(main())
