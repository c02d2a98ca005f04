"""Which hooks run when (runtime-spec v1.3.0 lifecycle) and how failures count."""

from __future__ import annotations

from pyocijail.process.hooks import run_hooks

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pyocijail.lifecycle.context import Context
    from pyocijail.spec.model import Spec

STAGES = ("prestart", "createRuntime", "createContainer", "startContainer", "poststart",
          "poststop")


def hook_lists(spec: Spec) -> dict[str, list[dict[str, Any]]]:
    """Each stage's hooks as plain JSON, so later commands need no model imports."""
    from pyocijail.spec.convert import unstructure

    hooks = unstructure(spec.hooks) or {}
    return {stage: list(hooks.get(stage, [])) for stage in STAGES}


def run_stage(ctx: Context, stage: str, hooks: dict[str, list[dict[str, Any]]],
              state: dict[str, Any]) -> None:
    """Run one runtime-namespace stage; HookError propagates (fatal) except poststop."""
    entries = hooks.get(stage) or []
    if not entries:
        return
    if stage == "poststop":
        try:
            run_hooks(stage, entries, state, log=ctx.log)
        except Exception as err:  # noqa: BLE001 - poststop failures only warn (spec)
            ctx.log.warn(str(err))
        return
    run_hooks(stage, entries, state, log=ctx.log)
