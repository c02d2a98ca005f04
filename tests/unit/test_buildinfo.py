"""buildinfo.checkout_commit: the commit of a checkout, read from its files as git lays them out."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from pyocijail.buildinfo import checkout_commit

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def git(cwd, *args: str) -> str:  # type: ignore[no-untyped-def]
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid",
           "HOME": str(cwd), "GIT_CONFIG_NOSYSTEM": "1", "PATH": "/usr/bin:/bin"}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True,
                          capture_output=True, text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path):  # type: ignore[no-untyped-def]
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    (path / "f").write_text("1")
    git(path, "add", "f")
    git(path, "commit", "-q", "-m", "one")
    return path


def test_a_branch_checkout(repo):
    assert checkout_commit(str(repo)) == git(repo, "rev-parse", "HEAD")


def test_packed_refs(repo):
    git(repo, "pack-refs", "--all")
    assert not (repo / ".git" / "refs" / "heads" / "main").exists()
    assert checkout_commit(str(repo)) == git(repo, "rev-parse", "HEAD")


def test_a_detached_head(repo):
    first = git(repo, "rev-parse", "HEAD")
    (repo / "f").write_text("2")
    git(repo, "commit", "-q", "-am", "two")
    git(repo, "checkout", "-q", "--detach", first)
    assert checkout_commit(str(repo)) == first


def test_a_worktree_on_its_own_branch(repo, tmp_path):
    wt = tmp_path / "wt"
    git(repo, "worktree", "add", "-q", "-b", "side", str(wt))
    (wt / "f").write_text("3")
    git(wt, "commit", "-q", "-am", "side")
    assert (wt / ".git").is_file()
    assert checkout_commit(str(wt)) == git(wt, "rev-parse", "HEAD")
    assert checkout_commit(str(wt)) != checkout_commit(str(repo))


def test_no_checkout_or_a_damaged_one(tmp_path):
    assert checkout_commit(str(tmp_path)) is None
    (tmp_path / ".git").write_text("not a gitdir line")
    assert checkout_commit(str(tmp_path)) is None
