"""Golden plans: configs as podman generates them (and the `freebsd` section),
planned against a small rootfs, compared with reviewed JSON in
tests/fixtures/freebsd/golden (see README.md there for what was checked).

Paths are written with placeholders: $BUNDLE, $HOST, $STATE.
Regenerate with PYOCIJAIL_REGEN_GOLDEN=1 and review the diff by hand.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from .conftest import plan_of

GOLDEN = Path(__file__).parents[2] / "fixtures" / "freebsd" / "golden"
CASES = sorted(p.name[: -len(".config.json")] for p in GOLDEN.glob("*.config.json"))


def _subst(text: str, layout: dict[str, Path], back: bool = False) -> str:
    pairs = [("$BUNDLE", str(layout["bundle"])), ("$HOST", str(layout["host"])),
             ("$STATE", str(layout["state"]))]
    for key, value in pairs:
        text = text.replace(value, key) if back else text.replace(key, value)
    return text


@pytest.mark.parametrize("case", CASES)
def test_golden_plan(case: str, layout: dict[str, Path], planner: Any) -> None:
    """The plan for each reviewed config is exactly the reviewed JSON."""
    config = json.loads(_subst((GOLDEN / f"{case}.config.json").read_text(), layout))
    plan = plan_of(planner, layout, config)
    got = json.loads(_subst(json.dumps(plan.to_json()), layout, back=True))
    expected_file = GOLDEN / f"{case}.plan.json"
    if os.environ.get("PYOCIJAIL_REGEN_GOLDEN"):
        expected_file.write_text(json.dumps(got, indent=2) + "\n")
    assert got == json.loads(expected_file.read_text())


def test_every_case_has_a_reviewed_plan() -> None:
    """No config is left without its golden plan, and the README covers each case."""
    readme = (GOLDEN / "README.md").read_text()
    for case in CASES:
        assert (GOLDEN / f"{case}.plan.json").exists(), case
        assert f"`{case}`" in readme, case
