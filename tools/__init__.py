"""Developer tools run from a checkout (code generators); not installed."""
