"""docs/freebsd.md stays in step with the code."""

from __future__ import annotations

from pathlib import Path

from pyocijail.backends.freebsd.params import render_field_table

DOC = Path(__file__).parents[3] / "docs" / "freebsd.md"


def test_field_table_matches_the_code() -> None:
    """The config-field → jail-parameter table is the rendered FIELD_TABLE."""
    text = DOC.read_text()
    begin = text.index("<!-- BEGIN FIELD TABLE -->\n") + len("<!-- BEGIN FIELD TABLE -->\n")
    end = text.index("<!-- END FIELD TABLE -->")
    assert text[begin:end] == render_field_table()


def test_every_tool_path_is_documented() -> None:
    """The tools the libc kernel runs are named, by absolute path, in the doc."""
    from pyocijail.backends.freebsd import libc

    text = DOC.read_text()
    for tool in (libc.DEVFS, libc.RCTL, libc.CPUSET, libc.IFCONFIG, libc.PS):
        assert tool in text
