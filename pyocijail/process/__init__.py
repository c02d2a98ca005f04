# lean layer: a hot command loads this module; its imports keep pyocijail/lean.py's rules
"""process."""
