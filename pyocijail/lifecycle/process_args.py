"""The process an `exec` runs: a --process file, or the container's own process
with CMD ARGS and the --cwd/--env/--user/--tty a person typed."""

from __future__ import annotations

from pyocijail import values
from pyocijail.errors import ConfigError, UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pyocijail.lifecycle.context import Context
    from pyocijail.spec.model import Process


def build_process(ctx: Context, container_id: str, *, process_file: str | None,
                  command: list[str], cwd: str | None, env: list[str], user: str | None,
                  additional_gids: list[int], tty: bool) -> Process:
    from pyocijail.spec.convert import process_from_json

    if process_file is not None:
        if command:
            raise UsageError("give either --process or a command, not both")
        from pyocijail.spec.load import load_process

        process = load_process(process_file, debug=ctx.log.debug)
    else:
        if not command:
            raise UsageError("exec needs --process FILE or a command")
        from pyocijail.lifecycle.query import load

        _, record, _ = load(ctx, container_id)
        base = process_from_json(record.process) if record.process else None
        if base is None:
            raise ConfigError(f'container "{container_id}" has no process to base exec on')
        process = values.evolve(base, args=tuple(command), terminal=False, console_size=None)
    if cwd is not None:
        process = values.evolve(process, cwd=cwd)
    if env:
        merged = dict(e.partition("=")[::2] for e in process.env)
        merged.update(e.partition("=")[::2] for e in env)
        process = values.evolve(process, env=tuple(f"{k}={v}" for k, v in merged.items()))
    if user is not None or additional_gids:
        process = values.evolve(process, user=_user(process, user, additional_gids))
    if tty:
        process = values.evolve(process, terminal=True)
    return process


def _user(process: Process, text: str | None, gids: list[int]) -> object:
    u = process.user
    if text is not None:
        uid, _, gid = text.partition(":")
        try:
            u = values.evolve(u, uid=int(uid), gid=int(gid) if gid else u.gid)
        except ValueError:
            raise UsageError(f"--user {text!r}: use numeric UID[:GID]") from None
    if gids:
        u = values.evolve(u, additional_gids=tuple(gids))
    return u
