"""``python -m cdgraph``: the command line (see :mod:`cdgraph.cli`)."""
from __future__ import annotations

import sys

from cdgraph.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
