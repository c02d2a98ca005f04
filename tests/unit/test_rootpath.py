"""rootpath: every resolution stays inside the root, whatever the image plants."""

from __future__ import annotations

import errno
import os

import pytest

from pyocijail import rootpath
from pyocijail.errors import KernelError


@pytest.fixture
def tree(tmp_path):
    """A root with an outside sibling that escapes would land in."""
    root = tmp_path / "root"
    outside = tmp_path / "outside"
    for d in (root / "etc", root / "usr/lib", root / "var", outside / "etc"):
        d.mkdir(parents=True)
    (root / "etc/passwd").write_text("inside")
    (outside / "etc/passwd").write_text("outside")
    return str(root), str(outside)


def inside(root: str, path: str) -> bool:
    return path == root or path.startswith(root + "/")


CORPUS = [
    # (symlink name inside root, its target, path to resolve, expected relative result)
    ("abs", "/etc", "abs/passwd", "etc/passwd"),
    ("rel", "../../../../../../etc", "rel/passwd", "etc/passwd"),
    ("dotdot", "..", "dotdot/dotdot/etc", "etc"),
    ("hostroot", "/", "hostroot/../../etc/passwd", "etc/passwd"),
    ("var/up", "../../../..", "var/up/etc", "etc"),
    ("usr/lib/deep", "../../../../../../../../outside", "usr/lib/deep/etc", "outside/etc"),
    ("dangling", "/nonexistent/x", "dangling/y", "nonexistent/x/y"),
]


@pytest.mark.parametrize("name,target,path,expected", CORPUS)
def test_escape_corpus_stays_inside(tree, name, target, path, expected):
    """Absolute and relative symlinks are re-rooted/clamped at the root."""
    root, _ = tree
    os.symlink(target, os.path.join(root, name))
    for p in (path, "/" + path):
        got = rootpath.resolve(root, p)
        assert inside(root, got)
        assert got == os.path.join(root, expected)


def test_dotdot_at_root_is_clamped(tree):
    """`..` at the root stays at the root, also in a tail that does not exist."""
    root, _ = tree
    assert rootpath.resolve(root, "/../../..") == root
    assert rootpath.resolve(root, "../../etc/passwd") == root + "/etc/passwd"
    assert rootpath.resolve(root, "missing/../../../etc") == root + "/etc"
    assert rootpath.resolve(root, "") == root


def test_symlink_chain_is_followed(tree):
    """A chain of links is followed link by link, each re-rooted."""
    root, _ = tree
    os.symlink("/l2", root + "/l1")
    os.symlink("l3/..//./etc", root + "/l2")
    os.symlink("/usr/lib", root + "/l3")
    assert rootpath.resolve(root, "/l1/passwd") == root + "/usr/etc/passwd"


def test_loop_raises_eloop(tree):
    """A symlink loop ends with KernelError(ELOOP), not recursion."""
    root, _ = tree
    os.symlink("b", root + "/a")
    os.symlink("/a", root + "/b")
    with pytest.raises(KernelError) as info:
        rootpath.resolve(root, "a/x")
    assert info.value.errno == errno.ELOOP


def test_max_links_counts_every_link(tree):
    """max_links bounds the total number of links followed."""
    root, _ = tree
    prev = "etc"
    for i in range(5):
        os.symlink(prev, f"{root}/c{i}")
        prev = f"c{i}"
    assert rootpath.resolve(root, "c4", max_links=5) == root + "/etc"
    with pytest.raises(KernelError) as info:
        rootpath.resolve(root, "c4", max_links=4)
    assert info.value.errno == errno.ELOOP


def test_file_as_intermediate_component(tree):
    """A path through a regular file is ENOTDIR (nothing could be mounted there)."""
    root, _ = tree
    with pytest.raises(KernelError) as info:
        rootpath.resolve(root, "etc/passwd/x/../y")
    assert info.value.errno == errno.ENOTDIR


def test_very_long_paths(tree):
    """Long paths stay inside; one beyond PATH_MAX is refused with ENAMETOOLONG."""
    root, _ = tree
    assert rootpath.resolve(root, "a/../" * 2000 + "etc") == root + "/etc"
    assert rootpath.resolve(root, "../" * 5000 + "etc") == root + "/etc"
    with pytest.raises(KernelError) as info:
        rootpath.resolve(root, "/".join(["x" * 200] * 30))
    assert info.value.errno == errno.ENAMETOOLONG


def test_make_mountpoint_creates_levels_and_reports_them(tree):
    """Missing directories are created one per level and listed deepest last."""
    root, _ = tree
    host, created = rootpath.make_mountpoint(root, "/var/a/b/c", directory=True)
    assert host == root + "/var/a/b/c" and os.path.isdir(host)
    assert created == [root + "/var/a", root + "/var/a/b", root + "/var/a/b/c"]
    again, created2 = rootpath.make_mountpoint(root, "/var/a/b/c", directory=True)
    assert again == host and created2 == []


def test_make_mountpoint_file(tree):
    """directory=False creates an empty file (its parents as directories)."""
    root, _ = tree
    host, created = rootpath.make_mountpoint(root, "/run/secrets/token", directory=False)
    assert os.path.isfile(host) and os.path.getsize(host) == 0
    assert created == [root + "/run", root + "/run/secrets", host]


def test_make_mountpoint_through_escaping_symlink(tree):
    """Creation through an absolute symlink happens inside the root."""
    root, outside = tree
    os.symlink(outside, root + "/link")
    host, created = rootpath.make_mountpoint(root, "/link/new", directory=True)
    assert inside(root, host) and all(inside(root, p) for p in created)
    assert os.listdir(outside) == ["etc"]


def test_ensure_mountpoint_finds_existing_and_makes_missing(tree):
    """What make_mountpoint creates, and nothing for a mount point already there,
    also when it is reached through a symlink that escapes (it lands inside)."""
    root, outside = tree
    assert rootpath.ensure_mountpoint(root, "/etc", directory=True) == []
    assert rootpath.ensure_mountpoint(root, "/etc/passwd", directory=False) == []
    assert rootpath.ensure_mountpoint(root, "/var/a/b", directory=True) == [
        root + "/var/a", root + "/var/a/b"]
    os.symlink("/var", root + "/varlink")
    assert rootpath.ensure_mountpoint(root, "/varlink/a", directory=True) == []
    os.symlink(outside, root + "/out")
    created = rootpath.ensure_mountpoint(root, "/out/etc/new", directory=True)
    assert created and all(inside(root, p) for p in created)
    assert os.listdir(outside + "/etc") == ["passwd"]


def test_ensure_mountpoint_fails_as_make_mountpoint_does(tree):
    root, _ = tree
    for path, directory, code in (("/etc/passwd", True, errno.ENOTDIR),
                                  ("/etc", False, errno.EISDIR)):
        with pytest.raises(KernelError) as info:
            rootpath.ensure_mountpoint(root, path, directory=directory)
        assert info.value.errno == code


def test_make_mountpoint_type_mismatch(tree):
    """An existing file where a directory is wanted (and vice versa) is an error."""
    root, _ = tree
    with pytest.raises(KernelError) as info:
        rootpath.make_mountpoint(root, "/etc/passwd", directory=True)
    assert info.value.errno == errno.ENOTDIR
    with pytest.raises(KernelError) as info:
        rootpath.make_mountpoint(root, "/etc", directory=False)
    assert info.value.errno == errno.EISDIR
    with pytest.raises(KernelError):
        rootpath.make_mountpoint(root, "/etc/passwd/sub", directory=True)


def test_make_mountpoint_symlink_planted_midway(tree, monkeypatch):
    """A directory swapped for a symlink after it was created cannot redirect
    the next mkdir outside the root."""
    root, outside = tree
    real_mkdir = os.mkdir
    planted = []

    def mkdir(name, mode=0o777, *, dir_fd=None):
        real_mkdir(name, mode, dir_fd=dir_fd)
        if name == "a" and not planted:
            planted.append(True)
            os.rmdir(root + "/a")
            os.symlink(outside, root + "/a")  # the attacker's swap

    monkeypatch.setattr(rootpath.os, "mkdir", mkdir)
    host, created = rootpath.make_mountpoint(root, "/a/b/c", directory=True)
    assert inside(root, host) and os.path.isdir(host)
    assert all(inside(root, p) for p in created)
    assert sorted(os.listdir(outside)) == ["etc"]


def test_make_mountpoint_stale_resolution_is_detected(tree, monkeypatch):
    """If a component becomes a symlink between resolve() and the walk, the
    O_NOFOLLOW walk notices and resolution starts over."""
    root, outside = tree
    os.makedirs(root + "/d")
    real_resolve = rootpath.resolve
    calls = []

    def resolve(r, p, max_links=40):
        result = real_resolve(r, p, max_links)
        if not calls:
            calls.append(result)
            os.rmdir(root + "/d")
            os.symlink(outside, root + "/d")
        return result

    monkeypatch.setattr(rootpath, "resolve", resolve)
    host, _ = rootpath.make_mountpoint(root, "/d/x", directory=True)
    assert host == root + outside + "/x"
    assert sorted(os.listdir(outside)) == ["etc"]


@pytest.mark.parametrize("swap, expected", [("remove", "missing"), ("directory", "dir"),
                                            ("always", None)])
def test_host_node_link_swapped_before_readlink(tmp_path, monkeypatch, swap, expected):
    """A link the bundle's owner removes or replaces between the lstat and the readlink
    is looked at again (FreeBSD's planning walk met this in the reliability race test:
    a FileNotFoundError traceback); one that keeps changing is a clean ResolveError."""
    link = str(tmp_path / "flip")
    os.symlink("/somewhere", link)
    real_readlink = os.readlink

    def readlink(path, *, dir_fd=None):
        if path == link and swap != "always":
            os.unlink(link)  # the racing writer, just before the read
            if swap == "directory":
                os.mkdir(link)
        return real_readlink(path, dir_fd=dir_fd) if swap != "always" else _raise_enoent()

    def _raise_enoent():
        raise FileNotFoundError(errno.ENOENT, "No such file or directory")

    monkeypatch.setattr(rootpath.os, "readlink", readlink)
    if expected is None:
        with pytest.raises(rootpath.ResolveError):
            rootpath.host_node(link)
    else:
        assert rootpath.host_node(link).kind == expected


@pytest.mark.linux  # openat2
@pytest.mark.parametrize("name,target,path,expected", CORPUS[:-1])
def test_open_in_root_matches_resolve(tree, name, target, path, expected):
    """The kernel's RESOLVE_IN_ROOT walk and resolve() agree on existing paths."""
    root, _ = tree
    if not os.path.exists(os.path.join(root, expected)):
        os.makedirs(os.path.join(root, expected))
    os.symlink(target, os.path.join(root, name))
    from pyocijail.backends.linux.libc import open_in_root as openat2_in_root

    fd = rootpath.open_in_root(root, path, os.O_PATH, openat2_in_root)
    try:
        assert os.readlink(f"/proc/self/fd/{fd}") == rootpath.resolve(root, path)
    finally:
        os.close(fd)


def test_open_in_root_fallback_without_openat2(tree):
    """An opener that has no in-root walk (None: openat2's ENOSYS) gets the
    resolve()+O_NOFOLLOW path, which gives the same file."""
    root, _ = tree
    os.symlink("/etc", root + "/abs")
    asked = []

    def no_walk(r, p, flags):
        asked.append((r, p))
        return

    fd = rootpath.open_in_root(root, "/abs/passwd", os.O_RDONLY, no_walk)
    try:
        assert os.read(fd, 100) == b"inside"
    finally:
        os.close(fd)
    assert asked == [(root, "/abs/passwd")]


def test_open_in_root_uses_the_opener_given(tree):
    """The caller's opener does the walk, with O_CLOEXEC added; its fd is returned
    as it is (rootpath knows no platform: the Linux backend passes openat2's)."""
    root, _ = tree
    seen = []

    def opener(r, p, flags):
        seen.append((r, p, flags))
        return os.open(root + "/etc", os.O_PATH | os.O_CLOEXEC)

    fd = rootpath.open_in_root(root, "/anything", os.O_PATH, opener)
    try:
        assert os.readlink(f"/proc/self/fd/{fd}") == root + "/etc"
    finally:
        os.close(fd)
    assert seen == [(root, "/anything", os.O_PATH | os.O_CLOEXEC)]


def test_rootpath_imports_no_backend_and_no_platform_check():
    """rootpath is platform-neutral: no import of a backend, no sys.platform."""
    import ast

    tree = ast.parse(open(rootpath.__file__).read())
    names = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    names += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    assert not [n for n in names if n.startswith("pyocijail.backends") or n == "sys"]
    assert "sys.platform" not in open(rootpath.__file__).read()


def test_open_in_root_missing(tree):
    """A missing path is a KernelError carrying ENOENT."""
    root, _ = tree
    with pytest.raises(KernelError) as info:
        rootpath.open_in_root(root, "/nope", os.O_RDONLY)
    assert info.value.errno == errno.ENOENT


def test_remove_created_undoes_make_mountpoint(tree):
    """remove_created removes what make_mountpoint made, deepest first, keeping
    anything that has content now."""
    root, _ = tree
    _, created = rootpath.make_mountpoint(root, "/a/b/c", directory=True)
    _, created2 = rootpath.make_mountpoint(root, "/a/keep/file", directory=False)
    with open(root + "/a/keep/file", "w") as f:
        f.write("data")
    removed = rootpath.remove_created(root, created + created2)
    assert removed == [root + "/a/b/c", root + "/a/b"]
    assert os.path.exists(root + "/a/keep/file")


def test_remove_created_cannot_escape_through_planted_symlink(tree):
    """If the container swapped a created parent for a symlink to the host, the
    removal happens inside the root (or not at all), never on the host."""
    root, outside = tree
    _, created = rootpath.make_mountpoint(root, "/a/b", directory=True)
    os.makedirs(outside + "/b")
    os.rename(root + "/a", root + "/a.old")
    os.symlink(outside, root + "/a")
    rootpath.remove_created(root, created)
    assert os.path.isdir(outside + "/b")


def test_open_parent_beneath_refuses_a_link_below_the_anchor(tmp_path):
    """A directory swapped for a link (to outside) after a plan resolved the path is
    not followed: the walk fails instead of creating anything out there."""
    anchor, outside = tmp_path / "root", tmp_path / "outside"
    (anchor / "a").mkdir(parents=True)
    outside.mkdir()
    fd, name = rootpath.open_parent_beneath(str(anchor), str(anchor / "a" / "m"))
    os.close(fd)
    assert name == "m"
    (anchor / "a").rmdir()
    os.symlink(str(outside), anchor / "a")
    with pytest.raises(OSError):
        rootpath.open_parent_beneath(str(anchor), str(anchor / "a" / "m"))
    with pytest.raises(KernelError):
        rootpath.open_parent_beneath(str(anchor), str(tmp_path / "elsewhere" / "m"))
    assert list(outside.iterdir()) == []
