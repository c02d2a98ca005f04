# lean layer: a hot command loads this module; its imports keep pyocijail/lean.py's rules
"""`python -m pyocijail`."""

import sys

from pyocijail.cli import main

sys.exit(main())
