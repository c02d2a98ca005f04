"""Does a devfs ruleset hide every host device before it shows any?

A ruleset that holds rules can still hide nothing: FreeBSD's stock ruleset 2
(devfsrules_unhide_basic) and 3 (devfsrules_unhide_login) only unhide, and
are meant to be included after ruleset 1 (devfsrules_hide_all, `add hide`).
Mounting a jail's /dev with one of them alone shows every host device.

What counts, from the kernel (sys/fs/devfs/devfs_rule.c):
- Rules run in rule-number order on every node (devfs_ruleset_applyde); a
  rule runs only on nodes its conditions match (devfs_rule_match): `type`
  never matches a directory or link, `path` is fnmatch(3) with FNM_PATHNAME
  on the name below /dev. Within one rule devfs_rule_run sets the hide bit,
  then clears it for unhide (so `hide unhide` unhides), then sets
  user/group/mode, then runs the included ruleset.
- `include N` runs N's rules on the node only while the depth left is above
  0; it starts at vfs.devfs.rule_depth (default 1, devfs_devs.c) and drops by
  one per include, so with the default an included ruleset's own includes are
  skipped. Ruleset 4 (`include 1` first) works; a custom `include 4` first
  does not hide anything. The check follows includes to that same depth.

The rule: walking the effective rules in that order, a rule that hides every
path must come before any rule that unhides anything. Hiding every path is a
`hide` with no `type` and no `path` or path `*`, reached through includes
whose own conditions are just as wide (`path *` matches only names without a
`/`; deeper nodes sit under a hidden directory and stay unreachable until a
later rule unhides it, the admin's choice). Refused as well:
- An unhide before the hide-all, even though the hide-all would override it:
  every stock or documented jail ruleset starts by hiding, and such an unhide
  does nothing, so the ruleset does not do what its author meant (typically a
  rule numbered below the `include 1`); saying so beats a device that is
  silently missing. It also keeps the check a plain prefix walk.
- An include loop reached before the hide-all (a ruleset including itself,
  directly or not; the kernel then re-runs it until the depth runs out): no
  real ruleset needs one, and refusing keeps the walk finite.

Rules are read from `devfs rule -s N show` (sbin/devfs/rule.c
rulespec_outfp): `<number>[ type T]...[ path P][ hide][ unhide][ user U]
[ group G][ mode M][ include N]`, in that order. A pattern containing blanks
is printed unquoted and cannot be told apart from keywords; any line that
does not parse this way is refused rather than guessed at.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

_TYPES = ("disk", "mem", "tape", "tty")
_VALUED_ACTIONS = ("user", "group", "mode", "include")


class ShownRule:
    """One line of `devfs rule show`, as the fields the check needs."""

    __slots__ = ("hide", "include", "path", "text", "types", "unhide")

    def __init__(self, line: str) -> None:
        self.text = line.strip()
        tokens = self.text.split()
        if not tokens or not tokens[0].isdigit():
            raise ValueError(f"not a numbered rule: {line!r}")
        self.types: list[str] = []
        self.path: str | None = None
        self.hide = self.unhide = False
        self.include: int | None = None
        i = 1
        while i + 1 < len(tokens) and tokens[i] == "type" and tokens[i + 1] in _TYPES:
            self.types.append(tokens[i + 1])
            i += 2
        if i + 1 < len(tokens) and tokens[i] == "path":
            self.path = tokens[i + 1]
            i += 2
        # Actions in rulespec_outfp's fixed order; each at most once.
        order = ["hide", "unhide", *_VALUED_ACTIONS]
        while i < len(tokens):
            word = tokens[i]
            if word not in order:
                raise ValueError(f"unexpected {word!r} in rule {self.text!r}")
            order = order[order.index(word) + 1:]
            if word in ("hide", "unhide"):
                setattr(self, word, True)
                i += 1
                continue
            if i + 1 >= len(tokens):
                raise ValueError(f"{word} without a value in rule {self.text!r}")
            if word == "include":
                if not tokens[i + 1].isdigit():
                    raise ValueError(f"include of {tokens[i + 1]!r} in rule {self.text!r}")
                self.include = int(tokens[i + 1])
            i += 2

    @property
    def matches_every_path(self) -> bool:
        return not self.types and self.path in (None, "*")


class _Refused(Exception):
    """Why the walk stopped at a rule that shows devices before the hide-all."""


def hides_everything_first(number: int, rules_of: Callable[[int], list[str]],
                           depth: int) -> str | None:
    """None when ruleset `number` hides every path before any unhide, else why not
    (to follow "devfs ruleset N"). `rules_of(n)` gives `devfs rule -s n show`
    lines; `depth` is vfs.devfs.rule_depth."""
    skipped: list[str] = []

    def walk(current: int, depth_left: int, wide: bool, chain: tuple[int, ...]) -> bool:
        """True once a rule hiding every path has run; _Refused at an unhide first."""
        where = "" if current == number else f" (in ruleset {current}, included)"
        for line in rules_of(current):
            try:
                rule = ShownRule(line)
            except ValueError as err:
                raise _Refused(f"has a rule this check cannot read ({err})") from None
            if rule.unhide:
                raise _Refused(f"unhides before any rule hides every device: "
                               f"`{rule.text}`{where} comes first")
            if rule.hide and wide and rule.matches_every_path:
                return True
            if rule.include is None:
                continue
            if depth_left <= 0:
                skipped.append(f"`{rule.text}`{where}")
            elif rule.include in chain:
                loop = " -> ".join(map(str, (*chain, rule.include)))
                raise _Refused(f"includes itself before any rule hides every device: "
                               f"`{rule.text}`{where} closes the loop {loop}")
            elif walk(rule.include, depth_left - 1, wide and rule.matches_every_path,
                      (*chain, rule.include)):
                return True
        return False

    try:
        if walk(number, depth, True, (number,)):
            return None
        why = "never hides every device (no `hide` without a path, or with path `*`)"
    except _Refused as refused:
        why = str(refused)
    if skipped:
        why += (f"; the kernel skips {', '.join(skipped)}: includes deeper than "
                f"vfs.devfs.rule_depth={depth} are not run")
    return why
