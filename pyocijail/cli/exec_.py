"""Run a process in a running container (from --process JSON, or CMD ARGS...)."""

from __future__ import annotations

from pyocijail.cli import ID, Args, Flag, Option, Rest

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

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pyocijail.lifecycle.context import Context


def run(args: Args, ctx: Context) -> int:
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
