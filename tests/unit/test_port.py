"""contrib/freebsd is a port that would build (F18, issue 16 item 6): its Makefile's
invariants, the launcher its post-install writes, the sdist it fetches, and the
containers.conf files that must agree with each other and with the docs."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
PORT = ROOT / "contrib" / "freebsd"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PREFIX = "/usr/local"


def make_vars(text: str) -> dict[str, str]:
    """VAR= / VAR+= assignments of a bsd.port.mk Makefile, continuations joined."""
    text = re.sub(r"\\\n[ \t]*", " ", text)
    out: dict[str, str] = {}
    for line in text.splitlines():
        m = re.match(r"^([A-Z_]+)\s*(\+?=)\s*(.*)$", line)
        if m:
            name, op, value = m.groups()
            out[name] = (out.get(name, "") + " " + value).strip() if op == "+=" else value
    return out


def recipe(text: str, target: str) -> list[str]:
    """The command lines of `target`, continuations joined as make(1) joins them."""
    text = re.sub(r"\\\n[ \t]*", " ", text)
    lines = text.splitlines()
    start = lines.index(f"{target}:") + 1
    out = []
    for line in lines[start:]:
        if not line.startswith("\t"):
            break
        out.append(line[1:])
    return out


MAKEFILE = (PORT / "Makefile").read_text()
VARS = make_vars(MAKEFILE)


def deps(name: str) -> dict[str, tuple[str, str]]:
    """pkgname -> (version constraint, origin) of a *_DEPENDS variable."""
    out = {}
    for item in VARS[name].split():
        m = re.fullmatch(r"\$\{PYTHON_PKGNAMEPREFIX\}([a-z0-9_-]+)([<>=]+[0-9.]+):"
                         r"([a-z]+/py-[a-z0-9_-]+)@\$\{PY_FLAVOR\}", item)
        assert m, f"{name}: {item!r} is not a flavored Python dependency"
        out[m.group(1)] = (m.group(2), m.group(3))
    return out


def test_distfile_is_the_pypi_sdist_of_this_version() -> None:
    """PORTNAME/DISTVERSION are pyproject's name and version, fetched from PYPI."""
    assert VARS["PORTNAME"] == PYPROJECT["project"]["name"]
    assert VARS["DISTVERSION"] == PYPROJECT["project"]["version"]
    assert VARS["MASTER_SITES"] == "PYPI"
    assert "USE_GITHUB" not in VARS and "DISTNAME" not in VARS  # the sdist's own name
    assert VARS["PKGNAMEPREFIX"] == "${PYTHON_PKGNAMEPREFIX}"


def test_build_depends_on_the_pep517_backend() -> None:
    """USE_PYTHON=pep517 builds the wheel without isolation: the backend pyproject
    names (setuptools>=61) and wheel must be BUILD_DEPENDS."""
    assert set(VARS["USE_PYTHON"].split()) >= {"pep517", "autoplist"}
    assert PYPROJECT["build-system"]["build-backend"] == "setuptools.build_meta"
    build = deps("BUILD_DEPENDS")
    [requirement] = PYPROJECT["build-system"]["requires"]
    assert requirement == "setuptools>=61"
    assert build["setuptools"] == (">=61", "devel/py-setuptools")
    assert build["wheel"][1] == "devel/py-wheel"


def test_run_depends_cover_pyproject_dependencies() -> None:
    """Every pyproject dependency (py-referencing included) with the same minimum."""
    run = deps("RUN_DEPENDS")
    for requirement in PYPROJECT["project"]["dependencies"]:
        name, version = re.fullmatch(r"([a-z0-9_-]+)(>=[0-9.]+)", requirement).groups()
        assert run[name][0] == version, name
    assert run["referencing"][1] == "devel/py-referencing"
    python = re.fullmatch(r"python:(3\.\d+)\+", VARS["USES"])
    assert python and f">={python.group(1)}" == PYPROJECT["project"]["requires-python"]


def test_license_file_is_bsd2() -> None:
    """LICENSE=BSD2CLAUSE with the repository's LICENSE file (shipped in the sdist)."""
    assert VARS["LICENSE"] == "BSD2CLAUSE" and VARS["LICENSE_FILE"] == "${WRKSRC}/LICENSE"
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("BSD 2-Clause License")
    assert "Copyright (c) 2026, the pyocijail authors" in text
    assert PYPROJECT["project"]["license"] == {"text": "BSD-2-Clause"}


def test_plist_has_what_post_install_adds() -> None:
    """autoplist covers the wheel; pkg-plist lists the man page and the
    containers.conf sample (@sample), and post-install installs exactly those."""
    plist = (PORT / "pkg-plist").read_text().split("\n")
    assert "share/man/man8/pyocijail.8.gz" in plist
    sample = "etc/containers/containers.conf.d/50-pyocijail.conf.sample"
    assert f"@sample {sample}" in plist
    steps = "\n".join(" ".join(step.split()) for step in recipe(MAKEFILE, "post-install"))
    assert "${INSTALL_MAN} ${WRKSRC}/contrib/pyocijail.8 ${STAGEDIR}${PREFIX}/share/man/man8/" \
        in steps
    assert f"${{FILESDIR}}/containers.conf.sample ${{STAGEDIR}}${{PREFIX}}/{sample}" in steps
    assert (ROOT / "contrib" / "pyocijail.8").is_file()


def test_pkg_message() -> None:
    """SUB_FILES=pkg-message from files/pkg-message.in: enable the runtime, racct, linux64."""
    assert VARS["SUB_FILES"] == "pkg-message"
    text = (PORT / "files" / "pkg-message.in").read_text()
    assert text.lstrip().startswith("[") and "type: install" in text
    for words in ("%%PREFIX%%/etc/containers/containers.conf.d/50-pyocijail.conf",
                  'runtime = "pyocijail"', "kern.racct.enable=1", "/boot/loader.conf",
                  "linux_enable=YES", "linux64"):
        assert words in text, words


def _post_install_launcher(stagedir: str, values: dict[str, str]) -> str:
    """Run the post-install command that writes bin/pyocijail, with make's variables."""
    [step] = [s for s in recipe(MAKEFILE, "post-install") if "launcher_text" in s]
    values = {**values, "STAGEDIR": stagedir, "PREFIX": PREFIX}
    assert set(re.findall(r"\$\{(\w+)\}", step)) == set(values)
    command = re.sub(r"\$\{(\w+)\}", lambda m: values[m.group(1)], step)
    os.makedirs(f"{stagedir}{PREFIX}/bin", exist_ok=True)
    subprocess.run(["/bin/sh", "-c", command], check=True, timeout=60)
    return f"{stagedir}{PREFIX}/bin/pyocijail"


@pytest.mark.parametrize("same", [True, False])
def test_post_install_writes_the_launcher_for_python_cmd(tmp_path, same: bool) -> None:
    """The shebang rewrite: bin/pyocijail becomes pyocijail's launcher with
    `#!${PYTHON_CMD} -IS`, the package's site-packages (PYTHONPREFIX_SITELIBDIR,
    here a copy of the package) and the dependencies' (PYTHON_SITELIBDIR, here the
    venv's) baked in, once each; it runs with no environment (podman's kill/delete)."""
    import sysconfig

    stagedir = str(tmp_path / "stage")
    sitelib = str(tmp_path / "site")
    for root in (sitelib, stagedir + sitelib):  # installed, and in the stage
        shutil.copytree(ROOT / "pyocijail", Path(root) / "pyocijail",
                        ignore=shutil.ignore_patterns("__pycache__"))
    # --version imports none of the dependencies: with one directory for both, the
    # launcher still runs.
    deps = sitelib if same else sysconfig.get_paths()["purelib"]
    launcher = _post_install_launcher(stagedir, {"PYTHON_CMD": sys.executable,
                                                 "PYTHONPREFIX_SITELIBDIR": sitelib,
                                                 "PYTHON_SITELIBDIR": deps})
    text = Path(launcher).read_text()
    assert text.splitlines()[0] == f"#!{os.path.realpath(sys.executable)} -IS"
    assert f"PATHS = {list(dict.fromkeys([sitelib, deps]))!r}" in text
    assert stagedir not in text  # final paths only
    assert f"{PREFIX}/bin/pyocijail" in text  # names itself by its installed path
    os.chmod(launcher, 0o755)
    res = subprocess.run([launcher, "--version"], env={}, capture_output=True, text=True,
                         timeout=60, check=False)
    assert res.returncode == 0 and res.stdout.startswith("pyocijail version"), res


def _tree_copy(dest: Path) -> Path:
    skip = shutil.ignore_patterns(".venv", ".git", "__pycache__", "*.egg-info", "build",
                                  "dist", ".pytest_cache", ".hypothesis", "benchmarks")
    shutil.copytree(ROOT, dest, ignore=skip)
    return dest


def _check_sdist(path: Path) -> None:
    version = f"{VARS['PORTNAME']}-{VARS['DISTVERSION']}"
    assert path.name == f"{version}.tar.gz"  # what MASTER_SITES=PYPI fetches
    with tarfile.open(path) as tar:
        names = set(tar.getnames())
    wanted = {"contrib/pyocijail.8", "LICENSE", "pyocijail/py.typed", "pyproject.toml",
              "contrib/freebsd/files/containers.conf.sample",
              *(f"schemas/{p.name}" for p in (ROOT / "schemas").glob("*.json"))}
    assert {f"{version}/{n}" for n in wanted} <= names


def test_documented_sdist_command_ships_the_man_page_and_schemas(tmp_path) -> None:
    """docs/freebsd.md's command (setuptools alone, the port's own build dependency)
    makes the distfile the port expects, with the man page and the schemas."""
    doc = (ROOT / "docs" / "freebsd.md").read_text()
    command = ("python3.11 -c 'from setuptools import build_meta as b; "
               "b.build_sdist(\"/usr/ports/distfiles\")'")
    assert command in doc and "make makesum" in doc
    src = _tree_copy(tmp_path / "src")
    out = tmp_path / "distfiles"
    out.mkdir()
    subprocess.run([sys.executable, "-c", ("from setuptools import build_meta as b; "
                    f"b.build_sdist({str(out)!r})")], cwd=src, check=True, timeout=300,
                   capture_output=True)
    [sdist] = out.iterdir()
    _check_sdist(sdist)


def test_python_build_sdist_ships_the_man_page_and_schemas(tmp_path) -> None:
    """`python -m build --sdist` (the PyPI upload path) ships the same files."""
    pytest.importorskip("build")
    src = _tree_copy(tmp_path / "src")
    out = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "build", "--sdist", "--no-isolation",
                    "--outdir", str(out), str(src)], check=True, timeout=300,
                   capture_output=True)
    [sdist] = out.iterdir()
    _check_sdist(sdist)


# --- containers.conf: contrib, the port's sample, the docs agree -----------------------

def _docs_block() -> dict:
    doc = (ROOT / "docs" / "freebsd.md").read_text()
    section = doc[doc.index("## Podman"):]
    block = re.search(r"\n((?:    .*\n|\n)+)", section[section.index("50-pyocijail.conf"):])
    assert block
    return tomllib.loads("\n".join(line[4:] for line in block.group(1).splitlines()))


def test_containers_conf_files_agree() -> None:
    """contrib/containers.conf.freebsd, the port's sample and docs/freebsd.md say the
    same: podman 5's `{append=true}` list (never runj: no --log), the port's path."""
    contrib = (ROOT / "contrib" / "containers.conf.freebsd").read_text()
    sample = (PORT / "files" / "containers.conf.sample").read_text()
    assert tomllib.loads(contrib) == tomllib.loads(sample) == _docs_block()
    engine = tomllib.loads(sample)["engine"]
    assert engine["runtime_supports_json"] == ["pyocijail", {"append": True}]
    assert engine["runtimes"] == {"pyocijail": [f"{PREFIX}/bin/pyocijail"]}
    assert "runtime" not in engine  # installing the port must not switch podman's default
    for text in (contrib, sample):
        assert '# runtime = "pyocijail"' in text
        assert "runj" not in str(tomllib.loads(text))
    readme = (ROOT / "README.md").read_text()
    assert 'runtime_supports_json = ["pyocijail", {append=true}]' in readme
    assert "/usr/local/etc/containers/containers.conf.d/50-pyocijail.conf" in readme


# --- the man page: freebsd-callers.md §6 ---------------------------------------------

def test_man_page_points() -> None:
    """--log-level and --version described; linprocfs/linsysfs cross-referenced; runc
    with Xr, not Nm (another program's name)."""
    text = (ROOT / "contrib" / "pyocijail.8").read_text()
    options = text[text.index(".Sh OPTIONS"):text.index(".Sh CONFIGURATION")]
    for flag in ("--version", "--root", "--log", "--log-format", "--log-level"):
        assert f".It Fl {flag[1:]}" in options, flag  # mdoc's Fl writes one dash
    assert ".Xr linprocfs 5 , Xr linsysfs 5" in text
    assert ".Nm runc" not in text and ".Xr runc 8" in text


def test_man_page_is_clean_mdoc() -> None:
    """groff -mdoc -ww reports nothing (mandoc -Tlint where it exists)."""
    page = str(ROOT / "contrib" / "pyocijail.8")
    if shutil.which("mandoc"):
        res = subprocess.run(["mandoc", "-Tlint", "-Wwarning", page], capture_output=True,
                             text=True, check=False)
        assert res.returncode == 0 and not res.stdout.strip(), res.stdout
    elif shutil.which("groff"):
        res = subprocess.run(["groff", "-mdoc", "-ww", "-z", page], capture_output=True,
                             text=True, check=False)
        assert res.returncode == 0 and not res.stderr.strip(), res.stderr
    else:
        pytest.skip("neither mandoc nor groff")
