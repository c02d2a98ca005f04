"""Run a process in a running container (from --process JSON, or CMD ARGS...)."""

from __future__ import annotations

from pyocijail.cli import ID, Args, Flag, Option, Rest

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pyocijail.lifecycle.context import Context

OPTIONS = (
    Option("--process", "-p", help="process.json (runtime-spec process object)"),
    Flag("--detach", "-d", help="do not wait"),
    Option("--pid-file", help="write the new process's pid here"),
    Option("--console-socket", help="AF_UNIX socket that receives the pty master"),
    Flag("--tty", "-t", help="allocate a terminal"),
    Option("--preserve-fds", type=int, default=0),
    Option("--cwd", help="working directory in the container"),
    Option("--env", "-e", repeat=True, help="KEY=VALUE"),
    Option("--user", "-u", help="UID[:GID]"),
    Option("--additional-gids", "-g", type=int, repeat=True),
    ID,
    Rest("command", help="CMD ARGS..."),
)


def run(args: Args, ctx: Context) -> int:
    from pyocijail.lifecycle.exec_ import exec_process
    from pyocijail.lifecycle.process_args import build_process

    process = build_process(ctx, args.id, process_file=args.process, command=args.command,
                            cwd=args.cwd, env=args.env, user=args.user,
                            additional_gids=args.additional_gids, tty=args.tty)
    return exec_process(ctx, args.id, process, detach=args.detach, pid_file=args.pid_file,
                        console_socket=args.console_socket, preserve_fds=args.preserve_fds)
