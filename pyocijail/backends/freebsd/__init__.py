# lean layer: a hot command loads this module; its imports keep pyocijail/lean.py's rules
"""The FreeBSD jail backend: plan (pure), kernel seam, libc kernel, backend."""
