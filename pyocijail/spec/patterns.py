"""Schema `pattern`s as plain Python, so the compiled schema check needs no `re`.

`re` costs `create` an import (it builds enums), and our schemas' patterns
are all of one simple kind: optional `^`, a sequence of character sets
(a literal, `[...]`, `.`) each repeated `*`, `+`, `?`, `{n}`, `{n,}` or
`{n,m}`, optional `$`. `translate` turns such a pattern into atoms that
`Runs.search` matches greedily, which gives exactly `re.search`'s answer
when a repeated set shares no character with the sets that may follow it
(checked here; otherwise, or for any other syntax, the generated code keeps
`re`). `$` is Python's: the end, or just before a final newline.
`tests/unit/test_patterns.py` compares both on every schema pattern.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    import re
    from typing import Any

    #: (characters, negated, at least, at most or -1 for no limit)
    Atom = tuple[str, bool, int, int]

_SPECIAL = set("()|?*+{}[]^$.\\")


class Runs:
    """`re.search(pattern, s)` for a translated pattern (truthy/falsy, not a match)."""

    __slots__ = ("anchored", "atoms", "to_end")

    def __init__(self, anchored: bool, atoms: tuple[Atom, ...], to_end: bool) -> None:
        self.anchored, self.atoms, self.to_end = anchored, atoms, to_end

    def search(self, s: str) -> bool:
        n = len(s)
        for start in ((0,) if self.anchored else range(n + 1)):
            i = start
            for chars, negated, least, most in self.atoms:
                limit = n if most < 0 else min(n, i + most)
                j = i
                while j < limit and (s[j] in chars) != negated:
                    j += 1
                if j - i < least:
                    break
                i = j
            else:
                if not self.to_end or i == n or (i == n - 1 and s[i] == "\n"):
                    return True
        return False


def translate(pattern: str) -> tuple[bool, tuple[Atom, ...], bool] | None:
    """(anchored at start, atoms, anchored at end), or None if `Runs` cannot match it."""
    text = pattern
    anchored = text.startswith("^")
    text = text[1:] if anchored else text
    to_end = text.endswith("$") and not text.endswith("\\$")
    text = text[:-1] if to_end else text
    atoms: list[Atom] = []
    i = 0
    while i < len(text):
        parsed = _charset(text, i)
        if parsed is None:
            return None
        chars, negated, i = parsed
        least, most, i = _quantifier(text, i)
        if least < 0:
            return None
        atoms.append((chars, negated, least, most))
    if not _greedy_is_exact(atoms):
        return None
    return anchored, tuple(atoms), to_end


def _charset(text: str, i: int) -> tuple[str, bool, int] | None:
    c = text[i]
    if c == ".":
        return "\n", True, i + 1
    if c == "\\":
        nxt = text[i + 1:i + 2]
        if nxt and not nxt.isalnum():  # \. \- ...: the character itself
            return nxt, False, i + 2
        return None  # \d, \w, \b ...: classes and assertions this does not model
    if c == "[":
        end = text.find("]", i + 2)
        body = text[i + 1:end] if end > 0 else ""
        if not body or body.startswith("^") or "\\" in body or "[" in body:
            return None
        chars, k = [], 0
        while k < len(body):
            if k + 2 < len(body) and body[k + 1] == "-":
                lo, hi = ord(body[k]), ord(body[k + 2])
                if lo > hi:
                    return None
                chars += [chr(x) for x in range(lo, hi + 1)]
                k += 3
            else:
                chars.append(body[k])
                k += 1
        return "".join(sorted(set(chars))), False, end + 1
    if c in _SPECIAL:
        return None
    return c, False, i + 1


def _quantifier(text: str, i: int) -> tuple[int, int, int]:
    """(least, most or -1, next index); least -1 if the syntax is not handled."""
    q = text[i:i + 1]
    if q == "*":
        least, most, i = 0, -1, i + 1
    elif q == "+":
        least, most, i = 1, -1, i + 1
    elif q == "?":
        least, most, i = 0, 1, i + 1
    elif q == "{":
        end = text.find("}", i)
        lo, comma, hi = text[i + 1:end].partition(",")
        if end < 0 or not lo.isdigit() or not (hi.isdigit() or hi == ""):
            return -1, 0, i
        least = int(lo)
        most = least if not comma else (int(hi) if hi else -1)
        i = end + 1
    else:
        return 1, 1, i
    if text[i:i + 1] in ("*", "+", "?", "{"):  # lazy or possessive forms, nested repeats
        return -1, 0, i
    return least, most, i


def _greedy_is_exact(atoms: list[Atom]) -> bool:
    """No repeated set may share a character with a set that could match after it."""
    for k, (chars, negated, least, most) in enumerate(atoms):
        if least == most:
            continue
        for later in atoms[k + 1:]:
            if negated or later[1] or set(chars) & set(later[0]):
                return False
            if later[2] > 0:
                break
    return True


def source(pattern: str) -> str:
    """Python source for the generated module: a `Runs`, or a lazily compiled regex."""
    parts = translate(pattern)
    if parts is None:
        return f"_Lazy({pattern!r})"
    return f"_Runs{parts!r}"


class Lazy:
    """A regex compiled (and `re` imported) at first use, for patterns `Runs` cannot do."""

    __slots__ = ("pattern", "compiled")

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self.compiled: re.Pattern[str] | None = None

    def search(self, s: str) -> Any:
        if self.compiled is None:
            import re

            self.compiled = re.compile(self.pattern)
        return self.compiled.search(s)
