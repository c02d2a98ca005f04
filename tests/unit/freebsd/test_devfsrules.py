"""Reading `devfs rule show` lines, and the hide-everything-first walk on its own."""

from __future__ import annotations

import pytest

from pyocijail.backends.freebsd.devfsrules import ShownRule, hides_everything_first


def test_a_shown_rule_reads_rulespec_outfp_fields() -> None:
    """sbin/devfs/rule.c rulespec_outfp: number, types, path, then hide, unhide, user,
    group, mode, include, in that order."""
    rule = ShownRule("300 type disk type tty path ada* hide unhide user root group "
                     "operator mode 640 include 7\n")
    assert (rule.types, rule.path, rule.hide, rule.unhide, rule.include) == (
        ["disk", "tty"], "ada*", True, True, 7)
    assert rule.text.startswith("300 type disk") and not rule.matches_every_path
    assert ShownRule("100 hide").matches_every_path
    assert ShownRule("100 path * hide").matches_every_path
    assert not ShownRule("100 path ** hide").matches_every_path


@pytest.mark.parametrize("line", [
    "", "path * hide", "100 hide path *", "100 unhide hide", "100 include one",
    "100 mode", "100 type block hide", "100 path * hide hide", "100 path a b hide"])
def test_lines_rule_show_would_not_print_are_not_guessed_at(line: str) -> None:
    """Anything out of rulespec_outfp's shape (no number, wrong order, a repeated or
    unknown word, a pattern with a blank) is an error, not a best guess."""
    with pytest.raises(ValueError):
        ShownRule(line)


def test_an_unreadable_rule_refuses_the_ruleset() -> None:
    """The check fails closed on a line it cannot read."""
    why = hides_everything_first(9, lambda n: ["100 path a b unhide mode 600"], 1)
    assert why is not None and "cannot read" in why


def test_the_walk_asks_for_each_included_ruleset() -> None:
    """Includes are read on demand; the walk stops at the first hide-all."""
    asked: list[int] = []
    sets = {9: ["100 path log mode 600", "200 include 1", "300 include 2"],
            1: ["100 hide"], 2: ["100 path null unhide"]}

    def rules_of(number: int) -> list[str]:
        asked.append(number)
        return sets[number]

    assert hides_everything_first(9, rules_of, 1) is None
    assert asked == [9, 1]
