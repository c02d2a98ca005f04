# lean layer: a hot command loads this module; its imports keep pyocijail/lean.py's rules
"""pyocijail: an OCI runtime for FreeBSD jails and Linux namespaces.

Imports nothing: every runtime call pays for what this file imports.
"""

__version__ = "0.1.0"
#: The runtime-spec version this runtime implements.
SPEC_VERSION = "1.3.0"
#: Where state lives unless --root says otherwise (podman never passes --root).
DEFAULT_ROOT = "/var/run/pyocijail"
