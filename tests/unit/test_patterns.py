"""Hand-written matchers that replace `re` on the create path agree with the regexes."""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyocijail.backends.linux import capabilities, cgroups
from pyocijail.spec import _fastcheck_gen, patterns, schema

SCHEMA_PATTERNS = sorted(_fastcheck_gen.PATTERNS)


def _corpus(pattern: str) -> list[str]:
    """Short strings over the pattern's own characters, plus edges: newlines, case, empty."""
    alphabet = sorted(set(pattern) - set("^$[]{}+*?\\") | set("aZ09_ \n-,B"))
    words = ["", "\n", "RLIMIT_NOFILE", "RLIMIT_NOFILE\n", "CAP_SYS_ADMIN", "CAP_\n",
             "rlimit_x", "1GB", "10MB\n", "0KB", "2TB", "0-3,5", "0-3\n", "\n\n", "a\nb"]
    words += ["".join(p) for n in range(4) for p in itertools.product(alphabet[:12], repeat=n)]
    return words


@pytest.mark.parametrize("pattern", SCHEMA_PATTERNS)
def test_every_schema_pattern_runs_without_re(pattern):
    assert isinstance(_fastcheck_gen.PATTERNS[pattern], patterns.Runs), \
        "a schema pattern fell back to re: extend spec/patterns.py"


@pytest.mark.parametrize("pattern", SCHEMA_PATTERNS)
def test_schema_patterns_match_as_re_search_does(pattern):
    compiled, runs = re.compile(pattern), _fastcheck_gen.PATTERNS[pattern]
    for s in _corpus(pattern):
        assert bool(runs.search(s)) == bool(compiled.search(s)), (pattern, s)


@settings(max_examples=300, derandomize=True, database=None)
@given(st.sampled_from(SCHEMA_PATTERNS), st.text(alphabet="ABCRLIMT_P0129KMGB ,-\nx",
                                                 max_size=14))
def test_schema_patterns_on_generated_strings(pattern, s):
    assert bool(_fastcheck_gen.PATTERNS[pattern].search(s)) == bool(re.search(pattern, s))


@pytest.mark.parametrize("pattern", [
    "^a*a$", "^[ab]+b$", "(x)", "a|b", r"\d+", "^[^a]$", "a*?", "^.*x$", "[a-", r"^a\.b$",
    "^x{2,3}$", "^x{2}y?$", "^$", "", "^.{2,}$", "[a-", "a{,2}",
])
def test_translate_refuses_what_greedy_matching_would_get_wrong(pattern):
    """Whatever translate accepts must agree with re; what it refuses stays on re (Lazy)."""
    parts = patterns.translate(pattern)
    if pattern in ("[a-", "a{,2}"):
        assert parts is None
        return
    matcher = patterns.Runs(*parts) if parts is not None else patterns.Lazy(pattern)
    for s in [*_corpus(pattern), "aa", "ab", "abb", "x", "xx", "xxx", "xxxx", "xxy", "a.b",
              "axb", "1234", "q\nx"]:
        assert bool(matcher.search(s)) == bool(re.search(pattern, s)), (pattern, s)
    if pattern in ("^a*a$", "^[ab]+b$", "(x)", "a|b", r"\d+", "^[^a]$", "a*?", "^.*x$"):
        assert parts is None


SEMVER = re.compile(  # the expression schema.is_semver replaced
    r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)"
    r"(?:-(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)"
    r"(?:\.(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*))*)?"
    r"(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?")

VERSIONS = ["1.0.0", "1.0.2-dev", "1.3.0", "01.0.0", "1.0", "1.0.0-", "1.0.0+", "1.0.0-rc.1",
            "1.0.0-rc.01", "1.0.0-0rc", "1.0.0-rc-1+build.5", "1.0.0+a..b", "1.0.0-a..b",
            "1.0.0\n", "1.٠.0", "1.0.0-α", "10.20.30", "1.0.0-0", "1.0.0-00",  # noqa: RUF001 - on purpose
            "1.0.0+00",
            "1.0.0-x+y+z", "v1.0.0", " 1.0.0", "1.0.0.0", "1..0", "1.0.0-rc.1-2.--"]


@pytest.mark.parametrize("version", VERSIONS)
def test_semver_check_agrees_with_the_regex(version):
    assert schema.is_semver(version) == bool(SEMVER.fullmatch(version))


@settings(max_examples=500, derandomize=True, database=None)
@given(st.text(alphabet="0123.-+aZ", max_size=16))
def test_semver_check_agrees_on_generated_versions(version):
    assert schema.is_semver(version) == bool(SEMVER.fullmatch(version))


@given(st.text(alphabet="CAP_SYADMINxz09\n", max_size=12))
@settings(max_examples=300, derandomize=True, database=None)
def test_capability_names_as_the_regex_saw_them(name):
    expected = bool(re.match(r"^CAP_[A-Z0-9_]+$", name)) and not name.endswith("\n")
    assert capabilities.well_formed(name) == expected


@given(st.text(alphabet="\\0123478a ", max_size=12))
@settings(max_examples=300, derandomize=True, database=None)
def test_mountinfo_unescape_as_re_sub(field):
    expected = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)
    assert cgroups.unescape(field) == expected


@pytest.mark.parametrize("path", ["machine.slice:libpod:abc", ":libpod:abc", "a:b:", "a/b:c:d",
                                  "/a/b", "a:b:c:d", "a::c", "system.slice:x:y\n", "::x", ""])
def test_systemd_cgroups_path_form(path):
    expected = re.match(r"^([^/:]*):([^/:]*):([^/:]+)$", path)
    assert cgroups.systemd_fields(path) == (expected.groups() if expected else None)
