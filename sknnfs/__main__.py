"""``python -m sknnfs``: the spiral demo (see `sknnfs._demo`).

The guard keeps importing this module (e.g. by pytest's doctest collector)
from running the demo.
"""

import sys

from ._demo import main

if __name__ == "__main__":
    sys.exit(main())
