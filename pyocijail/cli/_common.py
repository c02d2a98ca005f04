# lean layer: a hot command loads this module; its imports keep pyocijail/lean.py's rules
"""Argument helpers shared by the command modules."""

TYPE_CHECKING = False  # argparse is imported by the parser itself, only when needed
if TYPE_CHECKING:
    import argparse


def add_id(parser: "argparse.ArgumentParser") -> None:
    parser.add_argument("id", metavar="ID", help="container id")


def add_create_options(parser: "argparse.ArgumentParser") -> None:
    import argparse

    parser.add_argument("--bundle", "-b", default=".", help="bundle directory (default: .)")
    parser.add_argument("--pid-file", help="write the container process's pid here")
    parser.add_argument("--console-socket", help="AF_UNIX socket that receives the pty master")
    parser.add_argument("--preserve-fds", type=int, default=0,
                        help="pass N extra fds (3..3+N-1) to the container")
    for ignored in ("--no-pivot", "--no-new-keyring"):
        parser.add_argument(ignored, action="store_true", help=argparse.SUPPRESS)


def create_request(args: "argparse.Namespace") -> object:
    from pyocijail.lifecycle.create import CreateRequest

    return CreateRequest(args.id, args.bundle, pid_file=args.pid_file,
                         console_socket=args.console_socket, preserve_fds=args.preserve_fds)


def print_json(data: object) -> None:
    import sys

    from pyocijail import jsonlite

    sys.stdout.write(jsonlite.dumps(data, indent=2) + "\n")
