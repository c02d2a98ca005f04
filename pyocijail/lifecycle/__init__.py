# lean layer: a hot command loads this module; its imports keep pyocijail/lean.py's rules
"""Platform-neutral operations, one module per verb. No argparse here."""
