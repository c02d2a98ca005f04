"""backends/freebsd."""
