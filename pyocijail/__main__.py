"""`python -m pyocijail`."""

import sys

from pyocijail.cli import main

sys.exit(main())
