"""Platform-neutral operations, one module per verb. No argparse here."""
