# lean layer: a hot command loads this module; its imports keep pyocijail/lean.py's rules
"""`<root>/<id>/`: one directory per container, locked with flock.

- create is exclusive: `mkdir` either makes the directory or fails, so of
  many racing creates of one id exactly one wins;
- every read-modify-write holds an flock on the directory itself; a waiter
  that gets the lock after the directory was removed sees it is gone;
- state.json is written to a temporary file and renamed over it, so a
  runtime killed at any point leaves the old state or the new one, never a
  torn file (the page cache survives the death of a process).

No fsync: what guards against a runtime crash is the rename, not the disk.
fsync only matters after a power loss or kernel crash, and the state root
(/run/pyocijail, tmpfs on Linux) describes processes, namespaces, mounts and
jails that do not survive one: every container it names is dead after the
reboot. On a root that is on disk, a reboot may leave a state.json that is
empty or torn; reading it then fails with "state is corrupt" and
`delete --force` removes what is left, as for any other damaged state (and
the undo journal is replayed, whose entries name things that are gone too).
The same holds for the pid file (`write_atomic`): it names a process of this
boot. Skipping the three fsyncs of a create saves 1-3 ms each.

Every command goes through here, so this module uses `posix`, not `os`
(which costs every call ~2 ms: tests/unit/test_import_budget.py).
"""

import errno
import fcntl
import posix

from pyocijail import jsonlite, pathlite
from pyocijail.errors import (
    ContainerExists,
    ContainerNotFound,
    PyocijailError,
    StateCorrupt,
    StateMissing,
)
from pyocijail.state.ids import check_id
from pyocijail.state.record import Record

STATE = "state.json"


class Store:
    def __init__(self, root: str) -> None:
        self.root = pathlite.abspath(root)
        self._root_checked = False

    def path(self, container_id: str) -> str:
        return f"{self.root}/{check_id(container_id)}"

    def ensure_root(self) -> None:
        """Create the root 0700; refuse one that others could write into."""
        import os  # (create, which needs it anyway)

        try:
            os.makedirs(self.root, mode=0o700, exist_ok=True)
            st = os.stat(self.root)
        except OSError as err:
            raise PyocijailError(f"state root {self.root}: {err.strerror}") from err
        refuse_untrusted("state root", self.root, st)
        self._root_checked = True

    def check_root(self) -> bool:
        """Refuse a root someone else could have written (every command, not only
        create: see `refuse_untrusted`). False if there is no root at all."""
        if self._root_checked:
            return True
        try:
            st = posix.stat(self.root)
        except FileNotFoundError:
            return False
        except OSError as err:
            raise PyocijailError(f"state root {self.root}: {err.strerror}") from err
        refuse_untrusted("state root", self.root, st)
        self._root_checked = True
        return True

    def create(self, container_id: str) -> "ContainerDir":
        """A new, locked container directory; ContainerExists if the id is taken."""
        path = self.path(container_id)
        self.ensure_root()
        try:
            posix.mkdir(path, 0o700)
        except FileExistsError:
            raise ContainerExists(container_id) from None
        cdir = ContainerDir(container_id, path)
        cdir.lock(exclusive=True)
        return cdir

    def open(self, container_id: str, *, lock: bool = True) -> "ContainerDir":
        """An existing container's directory, exclusively locked unless lock=False."""
        cdir = ContainerDir(container_id, self.path(container_id))
        if not self.check_root():
            raise ContainerNotFound(container_id)
        try:
            st = posix.lstat(cdir.path)
        except (FileNotFoundError, NotADirectoryError):
            raise ContainerNotFound(container_id) from None
        # The root is trusted now: nobody else can swap the folder after this.
        refuse_untrusted(f'container "{container_id}": folder', cdir.path, st)
        if lock:
            cdir.lock(exclusive=True)
        return cdir

    def ids(self) -> list[str]:
        if not self.check_root():
            return []
        try:
            names = posix.listdir(self.root)
        except FileNotFoundError:
            return []
        return sorted(n for n in names if pathlite.isfile(f"{self.root}/{n}/{STATE}"))


def refuse_untrusted(what: str, path: str, st: "posix.stat_result") -> None:
    """The state root and each container's folder must be a directory of root's (or
    the caller's) that nobody else can write: what they hold decides which
    processes `kill` and `delete` signal and what the undo journal removes. A root
    another user owns could name any process (runc trusts it: attack 7e)."""
    if st.st_mode & 0o170000 != 0o040000:
        raise PyocijailError(f"{what} {path} is not a directory; refusing to use it")
    if st.st_uid not in (0, posix.geteuid()):
        raise PyocijailError(f"{what} {path} is owned by uid {st.st_uid}, not by root; "
                             "refusing to use it")
    if st.st_mode & 0o022:
        raise PyocijailError(f"{what} {path} is writable by other users; "
                             "refusing to use it (chmod 700 it)")


class ContainerDir:
    def __init__(self, container_id: str, path: str) -> None:
        self.id, self.path = container_id, path
        self.fd: int | None = None

    def file(self, name: str) -> str:
        return f"{self.path}/{name}"

    def lock(self, *, exclusive: bool = True) -> None:
        try:
            fd = posix.open(self.path, posix.O_RDONLY | posix.O_DIRECTORY | posix.O_CLOEXEC)
        except (FileNotFoundError, NotADirectoryError):
            raise ContainerNotFound(self.id) from None
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        if posix.fstat(fd).st_nlink == 0:  # removed while we waited
            posix.close(fd)
            raise ContainerNotFound(self.id)
        self.fd = fd

    def locked_by_other(self) -> bool:
        """True while another process holds the lock (create in progress)."""
        try:
            fd = posix.open(self.path, posix.O_RDONLY | posix.O_DIRECTORY | posix.O_CLOEXEC)
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            posix.close(fd)
        return False

    def unlock(self) -> None:
        if self.fd is not None:
            posix.close(self.fd)
            self.fd = None

    def __enter__(self) -> "ContainerDir":
        return self

    def __exit__(self, *exc: object) -> None:
        self.unlock()

    def read(self) -> Record:
        """The record; ContainerNotFound once the folder is gone, StateMissing or
        StateCorrupt for a folder whose state.json cannot be used."""
        try:
            with open(self.file(STATE), "rb") as f:
                return Record.from_json(jsonlite.loads(f.read()))
        except FileNotFoundError:
            if not pathlite.isdir(self.path):
                raise ContainerNotFound(self.id) from None
            raise StateMissing(self.id) from None
        except (ValueError, KeyError, TypeError) as err:
            raise StateCorrupt(self.id, str(err)) from None

    def write(self, record: Record) -> None:
        write_atomic(self.file(STATE), jsonlite.dumps(record.to_json()).encode())

    def remove(self) -> None:
        """Remove the directory and everything in it (the lock goes with it)."""
        _rmtree(self.path)
        self.unlock()


def write_atomic(path: str, data: bytes, mode: int = 0o600) -> None:
    """Write a new file and rename it over `path`.

    The pid file's directory may be writable by others (buildah puts it in
    the bundle, people in /tmp): the temporary name is predictable, so a
    stale entry there is removed and the new one made O_EXCL|O_NOFOLLOW, so
    a planted symlink can never redirect the write; it is removed on failure.
    """
    from pyocijail.process.stream import write_all  # (state, which only reads, skips it)

    tmp = f"{path}.tmp{posix.getpid()}"
    try:
        posix.unlink(tmp)
    except FileNotFoundError:
        pass
    fd = posix.open(tmp, posix.O_WRONLY | posix.O_CREAT | posix.O_EXCL | posix.O_NOFOLLOW
                    | posix.O_CLOEXEC, mode)
    try:
        try:
            write_all(fd, data)  # no fsync: see the module docstring
        finally:
            posix.close(fd)
        posix.rename(tmp, path)
    except BaseException:
        try:
            posix.unlink(tmp)
        except OSError:
            pass
        raise


def _rmtree(path: str) -> None:
    """rm -r without following symlinks or crossing into mounts."""
    try:
        entries = list(posix.scandir(path))
    except FileNotFoundError:
        return
    except NotADirectoryError:
        posix.unlink(path)
        return
    dev = posix.lstat(path).st_dev
    for entry in entries:
        if entry.is_dir(follow_symlinks=False) and entry.stat(follow_symlinks=False).st_dev == dev:
            _rmtree(entry.path)
        else:
            try:
                posix.unlink(entry.path)
            except IsADirectoryError:  # a mount point left behind: leave it visible
                pass
            except FileNotFoundError:
                pass
    try:
        posix.rmdir(path)
    except OSError as err:
        if err.errno != errno.ENOENT:
            raise PyocijailError(f"cannot remove {path}: {err.strerror}") from err


