"""backends/linux."""
