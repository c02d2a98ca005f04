"""`python -m pyocijail.testing.demo`: the demo's old name, kept for release 0.1.

The demo is `python -m pyocijail.demo` (pyocijail/demo.py); this alias only
runs it, so a README copied before the move still works. Remove after 0.1.
"""

from __future__ import annotations

import sys

from pyocijail.demo import main

if __name__ == "__main__":
    sys.exit(main())
