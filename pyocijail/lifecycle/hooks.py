"""Which hooks run when (runtime-spec v1.3.0 lifecycle) and how failures count."""

from __future__ import annotations

import os

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
    """Run one runtime-namespace stage in the bundle directory (runc's cwd: it
    changes into the bundle, so a hook may open `config.json` relatively).

    HookError propagates (fatal), except in poststop: there each failing hook
    is a warning and the rest still run (runtime-spec "Lifecycle" step 12;
    runc 1.1 fails delete and skips the rest instead)."""
    entries = hooks.get(stage) or []
    if not entries:
        return
    poststop = stage == "poststop"
    cwd = state.get("bundle") or None
    if poststop and cwd is not None and not os.path.isdir(cwd):
        cwd = None  # a bundle removed before delete must not cost the clean-up hooks
    try:
        run_hooks(stage, entries, state, log=ctx.log, cwd=cwd, keep_going=poststop)
    except Exception as err:  # poststop failures only warn (spec)
        if not poststop:
            raise
        ctx.log.warn(str(err))
