"""Run a process in a running container (from --process JSON, or CMD ARGS...)."""

from __future__ import annotations

import gc

from pyocijail.cli._common import add_id

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pyocijail.lifecycle.context import Context


# The plain forms are parsed by hand (`_SIMPLE["exec"]` in cli/__init__.py, the
# same flags); argparse only sees help, unusual forms and usage errors.
def add_arguments(parser, name):  # type: ignore[no-untyped-def]
    import argparse

    parser.add_argument("--process", "-p", help="process.json (runtime-spec process object)")
    parser.add_argument("--detach", "-d", action="store_true", help="do not wait")
    parser.add_argument("--pid-file", help="write the new process's pid here")
    parser.add_argument("--console-socket", help="AF_UNIX socket that receives the pty master")
    parser.add_argument("--tty", "-t", action="store_true", help="allocate a terminal")
    parser.add_argument("--preserve-fds", type=int, default=0)
    parser.add_argument("--cwd", help="working directory in the container")
    parser.add_argument("--env", "-e", action="append", default=[], help="KEY=VALUE")
    parser.add_argument("--user", "-u", help="UID[:GID]")
    parser.add_argument("--additional-gids", "-g", action="append", type=int, default=[])
    add_id(parser)
    parser.add_argument("command", nargs=argparse.REMAINDER, help="CMD ARGS...")


def run(args, ctx):  # type: ignore[no-untyped-def]
    # exec --detach is over in milliseconds: no cyclic garbage collection while it
    # imports and forks (its passes were 5 % of the runtime's instructions, and one in
    # the forked process would copy the pages it touches). Restored for an in-process
    # caller; an attached exec, which may relay a terminal for hours, keeps it.
    paused = gc.isenabled() and args.detach
    if paused:
        gc.disable()
    try:
        return _run(args, ctx)
    finally:
        if paused:
            if not gc.get_freeze_count():  # (a caller's frozen objects stay frozen)
                # What was made meanwhile goes to the oldest generation, so the GC
                # back on does not start at once a pass over all of it (~0.8 ms,
                # just before the process ends).
                gc.freeze()
                gc.unfreeze()
            gc.enable()


def _run(args: Any, ctx: Context) -> int:
    from pyocijail.process.preserved import check_preserved_fds

    check_preserved_fds(args.preserve_fds)  # before the warm-up thread opens its fds
    # Then the cgroup lock's warm-up (LinuxBackend.warm_up): it waits for the
    # kernel while the imports, the process file and the state are read.
    ctx.backend.warm_up()
    from pyocijail.lifecycle.exec_ import exec_process
    from pyocijail.lifecycle.process_args import build_process

    process = build_process(ctx, args.id, process_file=args.process, command=args.command,
                            cwd=args.cwd, env=args.env, user=args.user,
                            additional_gids=args.additional_gids, tty=args.tty)
    return exec_process(ctx, args.id, process, detach=args.detach, pid_file=args.pid_file,
                        console_socket=args.console_socket, preserve_fds=args.preserve_fds)
